import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const run = promisify(execFile)

/** The child's environment: no keys, base URLs or models from the machine running the tests. */
function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra }
  for (const name of ['API_KEY', 'BASE_URL', 'MODEL']) {
    if (!(`OPENAI_${name}` in extra)) delete env[`OPENAI_${name}`]
    if (!(`ANTHROPIC_${name}` in extra)) delete env[`ANTHROPIC_${name}`]
  }
  return env
}

async function example(args: string[], extra: Record<string, string> = {}) {
  return run(process.execPath, [main, ...args], { env: environment(extra), encoding: 'utf8' })
}

/** Everything the pipeline prints for both applications, whichever provider answered. */
function expectBothBranches(output: string, chat: string) {
  expect(output).toContain('Credit classification: good')
  expect(output).toContain('Approving the application...')
  expect(output).toContain('Branch taken: good → Approval (function)')
  expect(output).toContain('Outcome: approved')
  expect(output).toContain('Credit classification: bad')
  expect(output).toContain('Sending email notification...')
  expect(output).toContain('Performing further analysis...')
  expect(output).toContain('Branch taken: bad → Bad credit analysis (parallel)')
  expect(output).toContain('Outcome: referred: email sent, further analysis completed')
  expect(output).toMatch(/^✔ Credit analysis \(chain\) .* tokens=\d+ cost=\$\d+\.\d{6}$/m)
  expect(output).toMatch(/^├─ ✔ CreditClassification \(decision\) .* choice=good /m)
  expect(output).toMatch(/^├─ ✔ CreditClassification \(decision\) .* choice=bad /m)
  expect(output).toMatch(new RegExp(`^│  ├─ ✔ ${chat} .* tokens=\\d+ cost=\\$`, 'm'))
  expect(output).toMatch(/^│ {5}├─ ✔ EmailNotification \(function\)/m)
  expect(output).toMatch(/^│ {5}└─ ✔ FurtherAnalysis \(function\)/m)
  expect(output).toContain('Graph (Mermaid):\nflowchart TD\n  subgraph n0["Credit analysis (chain)"]')
  expect(output).toContain('  n1 -->|"good"| n2\n  n1 -->|"bad"| n3')
}

describe('the credit-classification example', () => {
  it('runs offline on OpenAI by default, replaying the synthetic cassette, and says so', async () => {
    const { stdout } = await example([])
    expect(stdout).toContain('tinyllm credit classification: openai, model gpt-4o-mini')
    expect(stdout).toContain('replays cassettes/openai.cassette.json')
    expect(stdout).toContain('The recording is synthetic')
    expect(stdout).toContain('Set OPENAI_API_KEY to call OpenAI for real.')
    expectBothBranches(stdout, 'openai_chat \\(openai-chat\\)')
    // The synthetic recording rate-limits the first call once: the tree shows the retry, and why.
    expect(stdout).toMatch(/openai_chat \(openai-chat\) .* attempts=2 /)
    expect(stdout).toContain('init → input_validation → running → retrying → running → output_validation')
    expect(stdout).toContain('↻ attempt 1 failed, retrying: RateLimitError: openai: 429 Rate limit reached')
    // Both runs in one report, the retry in it.
    const report = readFileSync(/^Run report: (.+\.html)$/m.exec(stdout)![1]!, 'utf8')
    expect(report).toContain('<title>Credit classification · tinyllm run report</title>')
    expect(report).toContain('attempt 1 failed: RateLimitError')
  })

  it('runs offline on Anthropic with --provider anthropic', async () => {
    const { stdout } = await example(['--provider', 'anthropic'])
    expect(stdout).toContain('tinyllm credit classification: anthropic, model claude-haiku-4-5')
    expect(stdout).toContain('replays cassettes/anthropic.cassette.json')
    expect(stdout).toContain('The recording is synthetic')
    expectBothBranches(stdout, 'anthropic_chat \\(anthropic-chat\\)')
  })

  it('calls the API when the key is set (here an OpenAI-compatible loopback server, through OPENAI_BASE_URL)', async () => {
    const server = await startOpenAICompatibleServer({
      replies: (request) => (String(request.messages.at(-1)?.content).includes('excellent') ? 'Good' : 'bad\n'),
    })
    try {
      const { stdout } = await example(['--model', 'gpt-4o'], {
        OPENAI_API_KEY: 'sk-test-key',
        OPENAI_BASE_URL: server.baseURL,
      })
      expect(stdout).toContain(
        `Live: calling the OpenAI-compatible server at ${server.baseURL} (OPENAI_BASE_URL), model gpt-4o, with the key in OPENAI_API_KEY.`,
      )
      expect(stdout).not.toContain('synthetic')
      expectBothBranches(stdout.replace('Credit classification: Good', 'Credit classification: good'), 'openai_chat')
      expect(server.chatRequests.map(({ model, temperature, n }) => ({ model, temperature, n }))).toEqual([
        { model: 'gpt-4o', temperature: 0, n: 1 },
        { model: 'gpt-4o', temperature: 0, n: 1 },
      ])
    } finally {
      await server.close()
    }
  })

  it('prints the base URL without the credentials it carries (a password, an api-key query value)', async () => {
    const server = await startOpenAICompatibleServer({ replies: () => 'good' })
    try {
      const inQuery = await example([], {
        OPENAI_API_KEY: 'sk-test-key',
        OPENAI_BASE_URL: `${server.baseURL}?api-key=QueryValue7f3e9a`,
      }).catch((caught: { stdout: string }) => caught)
      expect(inQuery.stdout).toContain(`server at ${server.baseURL}?api-key=[REDACTED] (OPENAI_BASE_URL)`)
      expect(inQuery.stdout).not.toContain('QueryValue7f3e9a')
      // A password in the URL fails the calls with a ConfigurationError; the line before them must not show it.
      const inUserInfo = await example([], {
        OPENAI_API_KEY: 'sk-test-key',
        OPENAI_BASE_URL: server.baseURL.replace('http://', 'http://ada:Password7f3e9a@'),
      }).catch((caught: { stdout: string }) => caught)
      expect(inUserInfo.stdout).toContain('Live: calling the OpenAI-compatible server at http://[REDACTED]@127.0.0.1:')
      expect(inUserInfo.stdout).not.toContain('Password7f3e9a')
    } finally {
      await server.close()
    }
  })

  it('replaces the cassette with a recording only when both applications went through', async () => {
    // A copy of the example, so that the cassette it records is its own: src/ and cassettes/ side by side, as here.
    const copy = mkdtempSync(join(fileURLToPath(new URL('..', import.meta.url)), '.record-test-'))
    try {
      cpSync(fileURLToPath(new URL('.', import.meta.url)), join(copy, 'src'), { recursive: true })
      cpSync(fileURLToPath(new URL('../cassettes', import.meta.url)), join(copy, 'cassettes'), { recursive: true })
      const cassette = join(copy, 'cassettes', 'openai.cassette.json')
      const shipped = readFileSync(cassette, 'utf8')
      const record = (upstream: string) =>
        run(process.execPath, [join(copy, 'src', 'main.ts'), '--record', '--upstream', upstream], {
          env: environment({ OPENAI_API_KEY: 'sk-test-recording' }),
          encoding: 'utf8',
        }).catch((caught: { code: number; stdout: string }) => caught)

      // A wrong key: the API answers 401, the run fails, and the cassette stays the one that was there.
      const refusing = await startOpenAICompatibleServer({ faults: () => ({ kind: 'status', status: 401 }) })
      try {
        const refused = await record(new URL(refusing.baseURL).origin)
        expect(refused).toMatchObject({
          code: 1,
          stdout: expect.stringContaining('Failed: ProviderCallError: openai: 401'),
        })
        expect(refused.stdout).toContain(
          'Not recorded: an application failed, so cassettes/openai.cassette.json is left',
        )
      } finally {
        await refusing.close()
      }
      expect(readFileSync(cassette, 'utf8')).toBe(shipped)
      expect(readdirSync(join(copy, 'cassettes')).sort()).toEqual(['anthropic.cassette.json', 'openai.cassette.json'])

      // An API that answers: both applications go through and the recording replaces the cassette.
      const answering = await startOpenAICompatibleServer({
        replies: (request) => (JSON.stringify(request.messages).includes('excellent') ? 'good' : 'bad'),
      })
      try {
        expect(await record(new URL(answering.baseURL).origin)).toMatchObject({
          stdout: expect.stringContaining('Outcome: approved'),
        })
      } finally {
        await answering.close()
      }
      const recorded = JSON.parse(readFileSync(cassette, 'utf8')) as { synthetic?: string; interactions: unknown[] }
      expect(recorded.synthetic).toBeUndefined()
      expect(recorded.interactions).toHaveLength(2)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  })

  it('calls Anthropic when its key is set, with the model from ANTHROPIC_MODEL', async () => {
    const server = await startAnthropicCompatibleServer({
      replies: (request) => (JSON.stringify(request.messages).includes('excellent') ? 'good' : 'bad'),
    })
    try {
      const { stdout } = await example(['--provider', 'anthropic'], {
        ANTHROPIC_API_KEY: 'sk-ant-test-key',
        ANTHROPIC_BASE_URL: server.baseURL,
        ANTHROPIC_MODEL: 'claude-sonnet-4-5',
      })
      expect(stdout).toContain(
        `Live: calling the Anthropic-compatible server at ${server.baseURL} (ANTHROPIC_BASE_URL), model claude-sonnet-4-5`,
      )
      expectBothBranches(stdout, 'anthropic_chat')
      expect(server.messageRequests.map((request) => request.model)).toEqual(['claude-sonnet-4-5', 'claude-sonnet-4-5'])
    } finally {
      await server.close()
    }
  })

  it('refuses a command line it cannot run, with the reason and the usage', async () => {
    const error = await example(['--model', 'gpt-4o']).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 2 })
    expect((error as { stderr: string }).stderr).toContain(
      'offline, the cassette answers for gpt-4o-mini only; --model gpt-4o needs OPENAI_API_KEY',
    )
    expect((error as { stderr: string }).stderr).toContain('--provider openai|anthropic')
    for (const upstream of ['not a url', 'ftp://127.0.0.1:1', '127.0.0.1:8000']) {
      const refused = await example(['--record', '--upstream', upstream], { OPENAI_API_KEY: 'sk-test' }).catch(
        (caught: unknown) => caught,
      )
      expect(refused, upstream).toMatchObject({ code: 2 })
      expect((refused as { stderr: string }).stderr, upstream).toMatch(
        new RegExp(`^--upstream must be an http or https URL, got "${upstream}"\n\nUsage: `),
      )
    }
  })

  it('refuses an empty --model or OPENAI_MODEL with a line saying so, offline or live, instead of a stack', async () => {
    for (const [args, extra, reason] of [
      [['--model', ''], {}, '--model must be a model id, got ""'],
      [
        ['--model', ' '],
        { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' },
        '--model must be a model id, got " "',
      ],
      [
        [],
        { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', OPENAI_MODEL: ' ' },
        'OPENAI_MODEL must be a model id, got " "',
      ],
    ] as const) {
      const refused = await example([...args], { ...extra }).catch((caught: unknown) => caught)
      expect(refused, reason).toMatchObject({ code: 2 })
      const { stderr } = refused as { stderr: string }
      expect(stderr.slice(0, stderr.indexOf('Usage: ') + 7), reason).toBe(`${reason}\n\nUsage: `)
    }
  })

  it('refuses an --upstream with a user or password in it, and never quotes them', async () => {
    for (const [upstream, reason] of [
      [
        'ftp://ada:hunter2-upstream@127.0.0.1:1',
        '--upstream must be an http or https URL, got "ftp://[REDACTED]@127.0.0.1:1"',
      ],
      ['https://ada:hunter2-upstream@127.0.0.1:1/v1', '--upstream must not hold a user or password'],
    ] as const) {
      const refused = await example(['--record', '--upstream', upstream], { OPENAI_API_KEY: 'sk-test' }).catch(
        (caught: unknown) => caught,
      )
      expect(refused, upstream).toMatchObject({ code: 2 })
      expect((refused as { stderr: string }).stderr, upstream).toContain(reason)
      expect((refused as { stderr: string }).stderr, upstream).not.toContain('hunter2')
    }
  })
})
