import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { recordFigures } from './figures.js'

const packageDirectory = fileURLToPath(new URL('..', import.meta.url))

/** Runs the fixture in a vitest of its own, with this suite's configuration; resolves with its exit code and output. */
function runFixture(handleIt: boolean): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'pnpm',
      ['exec', 'vitest', 'run'],
      {
        cwd: packageDirectory,
        env: {
          ...process.env,
          TINYLLM_RELIABILITY_FIXTURE: 'src/__fixtures__/unhandled-rejection.fixture.ts',
          TINYLLM_RELIABILITY_HANDLE_IT: handleIt ? '1' : '0',
        },
        encoding: 'utf8',
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, output: `${stdout}\n${stderr}` })
      },
    )
  })
}

it('the suite runs with --unhandled-rejections=strict', () => {
  expect(process.execArgv).toContain('--unhandled-rejections=strict')
})

it('an unhandled rejection fails the run; the same rejection handled does not', async () => {
  const [unhandled, handled] = await Promise.all([runFixture(false), runFixture(true)])
  expect(unhandled.output).toContain('nobody handles this rejection')
  expect(unhandled.code).not.toBe(0)
  expect(handled.code, handled.output).toBe(0)
  recordFigures('Unhandled rejections', 0, [
    [
      '--unhandled-rejections=strict in the workers',
      process.execArgv.includes('--unhandled-rejections=strict') ? 'yes' : 'no',
    ],
    ['a fixture with one unhandled rejection', `exit code ${unhandled.code} (the run fails)`],
    ['the same fixture, rejection handled', `exit code ${handled.code}`],
  ])
})
