import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // TINYLLM_RELIABILITY_FIXTURE runs one fixture under this same configuration instead of the suite.
    include: process.env.TINYLLM_RELIABILITY_FIXTURE ? [process.env.TINYLLM_RELIABILITY_FIXTURE] : ['src/**/*.test.ts'],
    pool: 'forks',
    // A promise rejection nobody handles is raised as an uncaught exception in the worker, and the run fails
    // (unhandled-rejection.test.ts proves it on a fixture).
    execArgv: ['--unhandled-rejections=strict'],
    globalSetup: process.env.TINYLLM_RELIABILITY_FIXTURE ? [] : ['src/figures-report.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
