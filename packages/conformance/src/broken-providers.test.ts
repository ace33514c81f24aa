import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const packageDirectory = fileURLToPath(new URL('..', import.meta.url))

/** Runs the suite against a broken provider in a vitest of its own; resolves with its exit code and output. */
function runFixture(fixture: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'pnpm',
      ['exec', 'vitest', 'run', '--testTimeout=30000'],
      {
        cwd: packageDirectory,
        env: { ...process.env, TINYLLM_CONFORMANCE_FIXTURE: fixture, FORCE_COLOR: '0', NO_COLOR: '1' },
        encoding: 'utf8',
        // Generous: the child runs the whole suite, and a busy machine may take minutes over it.
        timeout: 600_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, output: `${stdout}\n${stderr}` })
      },
    )
  })
}

it('fails a provider that streams only the first of several choices, n left off the wire', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/streamed-choices-broken.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(
    /× .*multiple choices: n reaches the wire and every choice comes back, indexed, with its own finish reason, streamed or not/,
  )
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})

it("fails a provider that leaves stop and maxTokens off, and sends another provider's reasoning, only when streaming", {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/streamed-request-broken.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*stop sequences and max tokens reach the wire.*\(doStream\)/)
  expect(output).toMatch(/× .*another provider's reasoning in an assistant turn is not sent.*\(doStream\)/)
  expect(output).toMatch(/× .*a streamed request reaches the wire as the same request generated does/)
  expect(output).toMatch(/Tests +3 failed \| \d+ passed/)
})

it('fails a provider that leaves the system instructions and the request’s model off only its streamed requests', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/streamed-system-broken.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*a streamed request reaches the wire as the same request generated does/)
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})

it('fails a provider that puts its API key in the message of an error', { timeout: 660_000 }, async () => {
  const { code, output } = await runFixture('src/__fixtures__/key-in-error.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*an error never shows the key the model sent.*\(doGenerate\)/)
  expect(output).toMatch(/× .*an error never shows the key the model sent.*\(doStream\)/)
  expect(output).toMatch(/Tests +2 failed \| \d+ passed/)
})

it('fails a provider whose stream ignores an abort until its first event has arrived', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/abort-before-first-event.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*abort before the first streamed event: rejects with AbortError/)
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})

it('fails a provider that keeps its API key out of a 401’s error but puts it in a 429’s, a 500’s or a reset’s', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/key-in-other-errors.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*an error never shows the key the model sent.*\(doGenerate\)/)
  expect(output).toMatch(/× .*an error never shows the key the model sent.*\(doStream\)/)
  expect(output).toMatch(/Tests +2 failed \| \d+ passed/)
})

it('fails a provider that maps a 400 to a retryable error when streaming', { timeout: 660_000 }, async () => {
  const { code, output } = await runFixture('src/__fixtures__/bad-request-retryable-streamed.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*refuses a tool call left without a result.*\(doStream\)/)
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})

it('fails a provider that reports every streamed choice as finishing as the first did', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/streamed-choice-finish-broken.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(
    /× .*multiple choices: n reaches the wire and every choice comes back, indexed, with its own finish reason/,
  )
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})

it('fails a provider that reports no tokens used when the answer has tool calls, streamed or not', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/tool-call-usage-broken.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(
    /× .*usage: input and output tokens are reported on a tool-call turn too, the same when streaming/,
  )
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})

it('fails a provider that leaves a strict answer’s nulls for optional properties in when streaming', {
  timeout: 660_000,
}, async () => {
  const { code, output } = await runFixture('src/__fixtures__/strict-answer-streamed-broken.fixture.ts')
  expect(code, output).not.toBe(0)
  expect(output).toMatch(/× .*JSON-schema output with strict: .*the answer reads back, streamed or not/)
  expect(output).toMatch(/Tests +1 failed \| \d+ passed/)
})
