import { defineConfig } from 'vitest/config'

/**
 * The suite runs with `--unhandled-rejections=strict`: a promise rejection nobody handles is raised as an uncaught
 * exception in the worker, and the run fails (`unhandled-rejection.test.ts` proves it on a fixture).
 */
export const strictExecArgv = ['--unhandled-rejections=strict']

export default defineConfig({
  test: {
    include: process.env.TINYLLM_RELIABILITY_FIXTURE ? [process.env.TINYLLM_RELIABILITY_FIXTURE] : ['src/**/*.test.ts'],
    pool: 'forks',
    execArgv: strictExecArgv,
    globalSetup: process.env.TINYLLM_RELIABILITY_FIXTURE ? [] : ['src/figures-report.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
