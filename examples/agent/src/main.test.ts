import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { OpenAIChat } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { parseSseEvents } from '@tinyllm/testing'
import { describe, expect, it } from 'vitest'
import { askInTerminal } from './approval-prompt.ts'
import { connect } from './connection.ts'
import { loanReviewAgent } from './loan-review.ts'
import { createReviewServer } from './review-server.ts'
import { scriptedUpstreams } from './scripted-model.ts'

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

describe('the approval prompt', () => {
  /** Asks as in a terminal, typing `keys` once the question is shown. */
  async function ask(keys: string): Promise<boolean | undefined> {
    const input = new PassThrough()
    const output = new PassThrough()
    output.once('data', () => input.write(keys))
    return askInTerminal(input, output)
  }

  it('approves on y, denies on anything else', async () => {
    expect(await ask('y\r')).toBe(true)
    expect(await ask('Yes\r')).toBe(true)
    expect(await ask('n\r')).toBe(false)
    expect(await ask('\r')).toBe(false)
  })

  it('takes Ctrl-D, no answer, as the default N, and Ctrl-C as stopping, instead of throwing', async () => {
    expect(await ask('\x04')).toBe(false)
    expect(await ask('\x03')).toBeUndefined()
  })
})

describe('the loan-review agent example', () => {
  it('replaces the cassette with a recording only when the run went through', async () => {
    // A copy of the example, so that the cassette it records is its own: src/ and cassettes/ side by side, as here.
    const copy = mkdtempSync(join(fileURLToPath(new URL('..', import.meta.url)), '.record-test-'))
    try {
      cpSync(fileURLToPath(new URL('.', import.meta.url)), join(copy, 'src'), { recursive: true })
      cpSync(fileURLToPath(new URL('../cassettes', import.meta.url)), join(copy, 'cassettes'), { recursive: true })
      const cassette = join(copy, 'cassettes', 'openai.cassette.json')
      const shipped = readFileSync(cassette, 'utf8')
      const record = (upstream: string) =>
        run(process.execPath, [join(copy, 'src', 'main.ts'), '--record', '--upstream', upstream, '--approve'], {
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
          'Not recorded: the run failed, so cassettes/openai.cassette.json is left as it was.',
        )
      } finally {
        await refusing.close()
      }
      expect(readFileSync(cassette, 'utf8')).toBe(shipped)
      expect(readdirSync(join(copy, 'cassettes')).sort()).toEqual(['anthropic.cassette.json', 'openai.cassette.json'])

      // The scripted model answers: the run goes through and the recording replaces the cassette.
      const answering = await scriptedUpstreams.openai()
      try {
        expect(await record(answering.url)).toMatchObject({ stdout: expect.stringContaining('emailed: yes') })
      } finally {
        await answering.close()
      }
      const recorded = JSON.parse(readFileSync(cassette, 'utf8')) as { synthetic?: string; interactions: unknown[] }
      expect(recorded.synthetic).toBeUndefined()
      expect(recorded.interactions.length).toBeGreaterThan(0)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  })

  it('runs offline on OpenAI: tools, a pause for approval, the email approved, the answer and both run trees', async () => {
    const { stdout } = await example([])
    expect(stdout).toContain('tinyllm loan-review agent: openai, model gpt-4o-mini')
    expect(stdout).toContain('replays cassettes/openai.cassette.json')
    expect(stdout).toContain('→ lookup_applicant_records {"applicantId":"A-17"}')
    expect(stdout).toContain('← compute_debt_ratio {"debtToIncome":0.3}')
    expect(stdout).toContain('⏸ send_decision_email awaits approval')
    expect(stdout).toMatch(/^✔ loan-review \(agent\) .* outcome=awaiting-approval steps=3 tokens=\d+ cost=\$/m)
    expect(stdout).toContain('(no terminal to ask: approving; pass --deny to deny)')
    expect(stdout).toContain('← send_decision_email {"sent":true}')
    expect(stdout).toContain('Decision: approve (debt-to-income 0.3), emailed: yes')
    expect(stdout).toContain('Outbox: to ada@example.com (approve, key loan-review-A-17/turn-3-0)')
    expect(stdout).toMatch(/^✔ loan-review \(agent\) .* outcome=final-answer steps=4 /m)
    expect(stdout).toMatch(/^├─ ✔ approval \(approval\) .* tool=send_decision_email approved=true$/m)
    expect(stdout).toMatch(/^└─ ✔ model \(openai-chat\) .* tokens=\d+ cost=\$/m)
    expect(stdout).not.toContain('no recording')
  })

  it('runs offline on Anthropic, and --deny tells the model, which answers without the email', async () => {
    const { stdout } = await example(['--provider', 'anthropic', '--deny'])
    expect(stdout).toContain('tinyllm loan-review agent: anthropic, model claude-haiku-4-5')
    expect(stdout).toContain('✖ send_decision_email denied: the user denied this call')
    expect(stdout).toContain('Decision: approve (debt-to-income 0.3), emailed: no')
    expect(stdout).not.toContain('Outbox:')
    expect(stdout).toMatch(/^├─ ✔ approval \(approval\) .* approved=false$/m)
  })

  it('calls the API when the key is set (here the scripted model on a loopback server, through OPENAI_BASE_URL)', async () => {
    const server = await scriptedUpstreams.openai()
    try {
      const { stdout } = await example(['--approve'], {
        OPENAI_API_KEY: 'sk-test-key',
        OPENAI_BASE_URL: `${server.url}/v1`,
      })
      expect(stdout).toContain('Live: calling OpenAI (gpt-4o-mini) with the key in OPENAI_API_KEY.')
      expect(stdout).toContain('Decision: approve (debt-to-income 0.3), emailed: yes')
    } finally {
      await server.close()
    }
  })

  it('streams its progress over HTTP as server-sent events, and resumes on POST /approvals', async () => {
    const connection = await connect({
      provider: 'openai',
      mode: 'offline',
      model: 'gpt-4o-mini',
      upstream: '',
      keyVariable: 'OPENAI_API_KEY',
      approval: undefined,
    })
    const model = new OpenAIChat({
      name: 'model',
      model: 'gpt-4o-mini',
      temperature: 0,
      output: 'result',
      ...connection.client,
    })
    const server = createReviewServer(loanReviewAgent(model)).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const address = server.address() as { port: number }
      const base = `http://127.0.0.1:${address.port}`
      const first = await fetch(`${base}/review?applicant=A-17`)
      expect(first.headers.get('content-type')).toBe('text/event-stream')
      const events = parseSseEvents(await first.text())
      expect(events.map((event) => event.event)).toEqual([
        'step-started',
        'step-finished',
        'tool-call-started',
        'tool-call-finished',
        'step-started',
        'step-finished',
        'tool-call-started',
        'tool-call-finished',
        'step-started',
        'step-finished',
        'approval-requested',
        'outcome',
      ])
      const outcome = JSON.parse(events.at(-1)?.data ?? '{}') as {
        runId: string
        status: string
        approvals: Array<{ toolCallId: string }>
      }
      expect(outcome).toMatchObject({ status: 'awaiting-approval', approvals: [{ toolCallId: 'call_email' }] })
      const resumed = await fetch(`${base}/approvals/${encodeURIComponent(outcome.runId)}`, {
        method: 'POST',
        body: JSON.stringify({ call_email: { approved: true } }),
      })
      const more = parseSseEvents(await resumed.text())
      expect(more.find((event) => event.event === 'tool-call-finished')?.data).toContain('"status":"ok"')
      expect(JSON.parse(more.at(-1)?.data ?? '{}')).toMatchObject({
        status: 'complete',
        output: { decision: 'approve', emailed: true },
      })
    } finally {
      server.close()
      await connection.close(true)
    }
  })

  it('answers a bad approval request (a malformed escape, a body that is not decisions, one over 1 MiB) and keeps the run waiting', async () => {
    const connection = await connect({
      provider: 'openai',
      mode: 'offline',
      model: 'gpt-4o-mini',
      upstream: '',
      keyVariable: 'OPENAI_API_KEY',
      approval: undefined,
    })
    const model = new OpenAIChat({
      name: 'model',
      model: 'gpt-4o-mini',
      temperature: 0,
      output: 'result',
      ...connection.client,
    })
    const server = createReviewServer(loanReviewAgent(model)).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const paused = parseSseEvents(await (await fetch(`${base}/review?applicant=A-17`)).text())
      const { runId } = JSON.parse(paused.at(-1)?.data ?? '{}') as { runId: string }
      const approve = (path: string, body: string) => fetch(`${base}${path}`, { method: 'POST', body })
      const malformed = await approve('/approvals/review%E0%A4%A', '{}')
      expect([malformed.status, await malformed.json()]).toEqual([
        404,
        { error: 'no run review%E0%A4%A awaits approval' },
      ])
      for (const body of [
        'not json',
        'null',
        '[]',
        '{"call_email":"yes"}',
        '{"call_email":{"approved":"yes"}}',
        '{"call_email":{"approved":true,"arguments":5}}',
        '{}',
        '{"call_other":{"approved":true}}',
        '{"call_email":{"approved":true},"call_other":{"approved":false}}',
      ]) {
        const refused = await approve(`/approvals/${encodeURIComponent(runId)}`, body)
        expect(refused.status, body).toBe(400)
        expect(await refused.json(), body).toEqual({ error: expect.stringContaining('expected the decisions') })
      }
      // A body past 1 MiB is refused without being kept (a valid decision padded with spaces).
      const padded = `${JSON.stringify({ call_email: { approved: true } })}${' '.repeat(1 << 20)}`
      const oversized = await approve(`/approvals/${encodeURIComponent(runId)}`, padded)
      expect([oversized.status, await oversized.json()]).toEqual([
        413,
        { error: 'an approval body is at most 1048576 bytes' },
      ])
      // The run still waits; of two approvals sent at once, one resumes it and the other finds it gone.
      const decisions = JSON.stringify({ call_email: { approved: true } })
      const both = await Promise.all([0, 1].map(() => approve(`/approvals/${encodeURIComponent(runId)}`, decisions)))
      expect(both.map((response) => response.status).sort()).toEqual([200, 404])
      const resumed = both.find((response) => response.status === 200) as Response
      expect(JSON.parse(parseSseEvents(await resumed.text()).at(-1)?.data ?? '{}')).toMatchObject({
        status: 'complete',
        output: { decision: 'approve', emailed: true },
      })
    } finally {
      server.close()
      await connection.close(true)
    }
  })
  it('reads an approval body whose characters arrive split across packets whole', async () => {
    const connection = await connect({
      provider: 'openai',
      mode: 'offline',
      model: 'gpt-4o-mini',
      upstream: '',
      keyVariable: 'OPENAI_API_KEY',
      approval: undefined,
    })
    const model = new OpenAIChat({
      name: 'model',
      model: 'gpt-4o-mini',
      temperature: 0,
      output: 'result',
      ...connection.client,
    })
    const server = createReviewServer(loanReviewAgent(model)).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const paused = parseSseEvents(await (await fetch(`${base}/review?applicant=A-17`)).text())
      const { runId } = JSON.parse(paused.at(-1)?.data ?? '{}') as { runId: string }
      const message = 'Dear Zoë, your loan application A-17 is approved.'
      const body = Buffer.from(
        JSON.stringify({
          call_email: { approved: true, arguments: { applicantId: 'A-17', decision: 'approve', message } },
        }),
      )
      // The body is sent in two writes that split the two bytes of "ë".
      const middle = body.indexOf(Buffer.from('ë')) + 1
      const resumed = await new Promise<string>((resolve, reject) => {
        const outgoing = request(
          `${base}/approvals/${encodeURIComponent(runId)}`,
          { method: 'POST', headers: { 'content-length': body.length } },
          (response) => {
            let text = ''
            response.setEncoding('utf8')
            response.on('data', (chunk: string) => {
              text += chunk
            })
            response.once('end', () => resolve(text))
          },
        )
        outgoing.once('error', reject)
        outgoing.flushHeaders()
        outgoing.write(body.subarray(0, middle), () => {
          setTimeout(() => outgoing.end(body.subarray(middle)), 50)
        })
      })
      const started = parseSseEvents(resumed).find((event) => event.event === 'tool-call-started')
      expect(JSON.parse(started?.data ?? '{}')).toMatchObject({ arguments: { message } })
    } finally {
      server.close()
      await connection.close(true)
    }
  })

  it('refuses an --upstream that is not an http or https URL, with the reason and the usage', async () => {
    for (const upstream of ['not a url', 'ftp://127.0.0.1:1']) {
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

  it('serve refuses a bad PORT, a port in use and a bad command line with a line saying so, and prints the port it got', async () => {
    const serve = fileURLToPath(new URL('./serve.ts', import.meta.url))
    const refused = (args: string[], extra: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [serve, ...args], { env: environment(extra) }, (_error, _out, err) =>
          resolve({ code: child.exitCode, stderr: err }),
        )
      })
    for (const port of ['abc', '', '70000', '-1']) {
      expect(await refused([], { PORT: port }), port).toEqual({
        code: 2,
        stderr: `PORT must be a port number, 0 to 65535 (0: any free port), got "${port}"\n`,
      })
    }
    const bad = await refused(['--provider', 'foo'], { PORT: '0' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^--provider must be openai or anthropic, got "foo"\n\nUsage: /)
    const taken = createServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    const port = String((taken.address() as { port: number }).port)
    try {
      expect(await refused([], { PORT: port })).toEqual({
        code: 2,
        stderr: `port ${port} on 127.0.0.1 is in use: set PORT to another port (0: any free port)\n`,
      })
    } finally {
      taken.close()
    }
    const child = spawn(process.execPath, [serve], {
      env: environment({ PORT: '0' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      let url: string | undefined
      for await (const line of createInterface({ input: child.stdout })) {
        url = /^Streaming reviews on (\S+) /.exec(line)?.[1]
        if (url) break
      }
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/review\?applicant=A-17$/)
      expect((await fetch(new URL('/nothing', url))).status).toBe(404)
    } finally {
      child.kill('SIGTERM')
      if (child.exitCode === null) await once(child, 'exit')
    }
  })
})
