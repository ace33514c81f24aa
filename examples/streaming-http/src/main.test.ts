import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type IncomingMessage, request } from 'node:http'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { parseSseEvents } from '@tinyllm/testing'
import { afterEach, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
let child: ChildProcess | undefined
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
})

/**
 * Starts the example on a free port and answers its /chat URL: offline, or "live" against `upstream` (a loopback
 * server standing in for the API, reached through OPENAI_BASE_URL as the real one would be).
 */
async function start(upstream?: { readonly baseURL: string }): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' }
  delete env.OPENAI_API_KEY
  delete env.OPENAI_BASE_URL
  if (upstream !== undefined)
    Object.assign(env, { OPENAI_API_KEY: 'sk-test-streaming', OPENAI_BASE_URL: upstream.baseURL })
  child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /^Listening on (\S+) \((?:offline|live)/.exec(line)?.[1]
    if (url) return url
  }
  throw new Error('the example exited before listening')
}

it('streams the answer as server-sent events, one per delta, then done', async () => {
  const url = await start()
  const response = await fetch(url, { method: 'POST', body: JSON.stringify({ message: 'Hello' }) })
  expect(response.headers.get('content-type')).toBe('text/event-stream')
  const events = parseSseEvents(await response.text())
  const deltas = events.filter((event) => event.event === undefined).map((event) => JSON.parse(event.data).text)
  expect(deltas.length).toBeGreaterThan(1)
  expect(deltas.join('')).toBe('A streamed answer to "Hello", word by word.')
  expect(events.at(-1)).toMatchObject({ event: 'done' })
})

it('answers 400 to a request without a message', async () => {
  const url = await start()
  expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(400)
})

it('answers 413 to a body over a million bytes without reading the rest, and serves the next request', async () => {
  const url = await start()
  const tooLong = await fetch(url, { method: 'POST', body: JSON.stringify({ message: 'x'.repeat(2_000_000) }) }).then(
    (response) => response.status,
    (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
  )
  // The server answers 413 and closes the connection; a client still sending may see the reset instead.
  expect([413, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']).toContain(tooLong)
  const response = await fetch(url, { method: 'POST', body: JSON.stringify({ message: 'Hello' }) })
  expect(parseSseEvents(await response.text()).at(-1)).toMatchObject({ event: 'done' })
})

it('refuses a PORT that is not a port number, saying so, before it starts anything', async () => {
  for (const port of ['abc', '', '3000x', '70000', '-1']) {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const refused = execFile(process.execPath, [main], { env: { ...process.env, PORT: port } }, (_error, _out, err) =>
        resolve({ code: refused.exitCode, stderr: err }),
      )
    })
    expect(code, port).toBe(2)
    expect(stderr, port).toBe(`PORT must be a port number, 0 to 65535 (0: any free port), got "${port}"\n`)
  }
})

it('refuses a blank OPENAI_MODEL, saying so, before it starts anything', async () => {
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const env = { ...process.env, PORT: '0', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' }
    const refused = execFile(process.execPath, [main], { env: { ...env, OPENAI_MODEL: ' ' } }, (_error, _out, err) =>
      resolve({ code: refused.exitCode, stderr: err }),
    )
  })
  expect(code).toBe(2)
  expect(stderr).toBe('OPENAI_MODEL must be a model id, got " "\n')
})

it('says a PORT that is in use is in use, exits 2 and prints no stack', async () => {
  const taken = createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  const port = String((taken.address() as { port: number }).port)
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const refused = execFile(process.execPath, [main], { env: { ...process.env, PORT: port } }, (_error, _out, err) =>
        resolve({ code: refused.exitCode, stderr: err }),
      )
    })
    expect(code).toBe(2)
    expect(stderr).toBe(`port ${port} on 127.0.0.1 is in use: set PORT to another port (0: any free port)\n`)
  } finally {
    taken.close()
  }
})

it('answers 404 to anything but POST /chat', async () => {
  const url = await start()
  expect((await fetch(url)).status).toBe(404)
  expect((await fetch(new URL('/other', url), { method: 'POST', body: '{"message":"Hi"}' })).status).toBe(404)
})

it('ends the stream with event: error when the call fails', async () => {
  const upstream = await startOpenAICompatibleServer({ faults: [{ kind: 'status', status: 400 }] })
  try {
    const url = await start(upstream)
    const response = await fetch(url, { method: 'POST', body: JSON.stringify({ message: 'Hello' }) })
    const events = parseSseEvents(await response.text())
    expect(events).toHaveLength(1)
    expect(events[0]?.event).toBe('error')
    expect(JSON.parse(events[0]?.data ?? '')).toEqual({
      message: expect.stringMatching(/^ProviderCallError: openai: 400 /),
    })
  } finally {
    await upstream.close()
  }
})

it('closes the request to the model when the client hangs up', async () => {
  // A slow stream (about ten seconds): the client reads the first delta and hangs up long before the last one.
  const upstream = await startOpenAICompatibleServer({
    replies: ['one two three four five six seven eight nine ten'],
    chunkChars: 4,
    streamEventDelayMs: 1_000,
  })
  try {
    const url = await start(upstream)
    const firstEvent = await new Promise<string>((resolve, reject) => {
      const outgoing = request(url, { method: 'POST' }, (response) => {
        response.once('data', (chunk: Buffer) => {
          outgoing.destroy()
          resolve(chunk.toString('utf8'))
        })
      })
      outgoing.once('error', reject)
      outgoing.end(JSON.stringify({ message: 'Hello' }))
    })
    expect(firstEvent).toMatch(/^data: /)
    await upstream.whenIdle()
    expect(upstream.requests.map((logged) => logged.outcome)).toEqual(['client-closed'])
  } finally {
    await upstream.close()
  }
})

it('stops at Ctrl-C with a request still arriving and a stream in flight, closing the request to the model', async () => {
  // A stream of about a minute: Ctrl-C comes after its first delta.
  const upstream = await startOpenAICompatibleServer({
    replies: ['one two three four five six seven eight nine ten'],
    chunkChars: 4,
    streamEventDelayMs: 5_000,
  })
  try {
    const url = new URL(await start(upstream))
    // One client has sent its headers and part of its body, and stops there.
    const arriving = connect(Number(url.port), url.hostname)
    arriving.once('error', () => {})
    await once(arriving, 'connect')
    arriving.write(`POST /chat HTTP/1.1\r\nhost: ${url.host}\r\ncontent-length: 100\r\n\r\n{"mess`)
    // Another reads a stream that has started.
    const streaming = request(url, { method: 'POST' })
    streaming.once('error', () => {})
    streaming.end(JSON.stringify({ message: 'Hello' }))
    const [response] = (await once(streaming, 'response')) as [IncomingMessage]
    response.once('error', () => {})
    await once(response, 'data')
    child?.kill('SIGINT')
    const [code] = await once(child as ChildProcess, 'exit')
    expect(code).toBe(0)
    arriving.destroy()
    await upstream.whenIdle()
    expect(upstream.requests.map((logged) => logged.outcome)).toEqual(['client-closed'])
  } finally {
    await upstream.close()
  }
})
