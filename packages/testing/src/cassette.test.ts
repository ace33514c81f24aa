import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError } from '@tinyllm/core'
import { registeredSecretCount } from '@tinyllm/logger'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson } from './canonical-json.js'
import type { CassetteOptions } from './cassette.js'
import { createCassette } from './cassette.js'
import { CassetteFileError } from './cassette-file-error.js'
import type { CassetteFile } from './cassette-format.js'
import { CassetteMissError } from './cassette-miss-error.js'
import type { Fault } from './fault.js'
import type { LoopbackServer } from './loopback-server.js'
import { startLoopbackServer } from './loopback-server.js'
import { sseEvent } from './sse.js'

const canaryKey = 'sk-canary-0123456789abcdef'
let directory: string
const servers: LoopbackServer[] = []

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tinyllm-cassette-'))
})

afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function serve(options: Parameters<typeof startLoopbackServer>[0]): Promise<LoopbackServer> {
  const server = await startLoopbackServer(options)
  servers.push(server)
  return server
}

/** A stand-in for a real provider: answers depend on the body, and one answer leaks the caller's credential. */
async function startUpstream(): Promise<LoopbackServer> {
  let counter = 0
  return serve({
    routes: {
      'POST /v1/chat': ({ request }) => {
        const body = request.body as { messages: { content: string }[]; stream?: boolean }
        const content = body.messages.map((message) => message.content).join(' ')
        if (body.stream) {
          return {
            headers: { 'x-request-id': 'upstream_stream' },
            sse: [
              sseEvent({ event: 'start', data: { type: 'start' } }),
              { delta: content },
              { delta: `seen ${request.headers.authorization}` },
              '[DONE]',
            ],
          }
        }
        counter++
        return {
          headers: { 'x-request-id': `upstream_${counter}`, 'x-api-key-echo': 'secret', 'set-cookie': 'a=b' },
          json: { reply: `you said: ${content}`, call: counter, leaked: request.headers.authorization },
        }
      },
      'GET /v1/models': ({ request }) => ({ json: { data: ['m1'], query: request.query } }),
      'GET /v1/text': () => ({ status: 202, raw: 'plain text answer' }),
    },
  })
}

const chatRequest = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'm1',
  messages: [{ role: 'user', content }],
  ...extra,
})

async function send(
  baseUrl: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; requestId: string | null; contentType: string | null; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${canaryKey}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return {
    status: response.status,
    requestId: response.headers.get('x-request-id'),
    contentType: response.headers.get('content-type'),
    text: await response.text(),
  }
}

describe('cassettes', () => {
  it('records through a proxy, redacts credentials, and replays identical responses offline', async () => {
    const path = join(directory, 'nested', 'identity.cassette.json')
    const upstream = await startUpstream()
    const recorder = createCassette({ path, mode: 'record', upstream: upstream.url, secrets: ['literal-secret'] })
    const proxy = await serve({ cassette: recorder })

    const script = [
      ['/v1/chat', chatRequest('hello', { user: canaryKey, note: 'literal-secret here' })],
      ['/v1/chat', chatRequest('hello', { user: canaryKey, note: 'literal-secret here' })],
      ['/v1/chat', chatRequest('stream me', { stream: true })],
      ['/v1/models?limit=1', undefined],
      ['/v1/text', undefined],
    ] as const
    const recorded = []
    for (const [path, body] of script) recorded.push(await send(proxy.url, path, body))
    expect(recorded[0]?.text).toContain(canaryKey) // the client got the real, unredacted answer
    expect(recorded[0]?.requestId).toBe('upstream_1')
    expect(recorded[1]?.requestId).toBe('upstream_2')
    expect(recorder.interactions).toHaveLength(5)

    await proxy.close()
    await upstream.close()
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain(canaryKey)
    expect(text).not.toContain('canary')
    expect(text).not.toContain('literal-secret')
    expect(text).not.toContain('set-cookie')
    expect(text).not.toContain('x-api-key-echo')
    expect(text).toContain('[REDACTED]')
    expect(await readdir(join(directory, 'nested'))).toEqual(['identity.cassette.json'])
    const file = JSON.parse(text) as CassetteFile
    expect(file.version).toBe(1)
    expect(file.interactions[0]?.request).toEqual({
      method: 'POST',
      path: '/v1/chat',
      body: chatRequest('hello', { user: '[REDACTED]', note: '[REDACTED] here' }),
    })
    expect(file.interactions[2]?.response.sse?.[0]).toEqual({ event: 'start', data: '{"type":"start"}' })
    expect(file.interactions[3]?.request).toEqual({ method: 'GET', path: '/v1/models?limit=1' })
    expect(file.interactions[4]?.response).toMatchObject({ status: 202, text: 'plain text answer' })

    // Literal secrets are redacted before matching, so replay needs the same list.
    const replayer = createCassette({ path, mode: 'replay', secrets: ['literal-secret'] })
    const replay = await serve({ cassette: replayer })
    const replayed = []
    for (const [path, body] of script) replayed.push(await send(replay.url, path, body))
    // Replay serves what was stored: identical except where recording redacted the leaked credential.
    const redactedRecording = recorded.map((answer) => ({
      ...answer,
      // The whole header value is a credential too: a passphrase with a space is no `<scheme> <credential>`.
      text: answer.text.replaceAll(`Bearer ${canaryKey}`, '[REDACTED]').replaceAll(canaryKey, '[REDACTED]'),
    }))
    expect(replayed).toEqual(redactedRecording)
    expect(replayed[2]?.text).toBe(
      'event: start\ndata: {"type":"start"}\n\ndata: {"delta":"stream me"}\n\ndata: {"delta":"seen [REDACTED]"}\n\ndata: [DONE]\n\n',
    )
    expect(replayer.misses).toEqual([])
  })

  it('redacts a literal secret URL-encoded in the path, the query and a body, and releases it when closed', async () => {
    const secret = 'tenant+pass/word=Q9'
    const encoded = encodeURIComponent(secret)
    const path = join(directory, 'encoded-secret.cassette.json')
    const upstream = await serve({
      routes: { 'GET /v1/next': ({ request }) => ({ json: { next: `/v1/next${request.query}` } }) },
    })
    const before = registeredSecretCount()
    const recorder = createCassette({ path, mode: 'record', upstream: upstream.url, secrets: [secret] })
    const proxy = await serve({ cassette: recorder })
    const answer = await fetch(`${proxy.url}/v1/next?q=${encoded}`)
    expect(await answer.json()).toEqual({ next: `/v1/next?q=${encoded}` }) // the client got the real answer
    await proxy.close()
    expect(registeredSecretCount()).toBe(before)
    const text = await readFile(path, 'utf8')
    // Booleans, so a failure does not print the secret.
    expect(text.includes(encoded)).toBe(false)
    expect(text.includes('tenant')).toBe(false)
    expect((JSON.parse(text) as CassetteFile).interactions[0]?.request.path).toBe('/v1/next?q=[REDACTED]')

    const replay = await serve({ cassette: createCassette({ path, mode: 'replay', secrets: [secret] }) })
    const replayed = await fetch(`${replay.url}/v1/next?q=${encoded}`)
    expect(replayed.status).toBe(200)
    expect(await replayed.json()).toEqual({ next: '/v1/next?q=[REDACTED]' })
  })

  it('never stores the credentials a recorded request carries in its headers, shaped like a key or not, when the upstream echoes them', async () => {
    const credentials = {
      authorization: 'Bearer plain-token-4417',
      'x-api-key': 'anthropic-plain-8823',
      'api-key': 'azure-plain-5590',
      'proxy-authorization': `Basic ${btoa('proxy-user:proxy-pw-3306')}`,
      // A passphrase with a space, not `<scheme> <credential>`: its first word is as secret as its second.
      'x-auth-token': 'staple-7731 battery-5512',
    }
    const echoed = [
      'plain-token-4417',
      'anthropic-plain-8823',
      'azure-plain-5590',
      'proxy-pw-3306',
      'staple-7731 battery-5512',
    ]
    const upstream = await serve({
      routes: {
        'POST /v1/echo': ({ request }) => ({
          status: 401,
          headers: { 'x-echo': String(request.headers['api-key']) },
          json: { error: { message: `Incorrect API key provided: ${echoed.join(', ')}` } },
        }),
        'POST /v1/stream': () => ({ sse: echoed.map((text) => ({ text })) }),
      },
    })
    const path = join(directory, 'request-credentials.cassette.json')
    const before = registeredSecretCount()
    const proxy = await serve({ cassette: createCassette({ path, mode: 'record', upstream: upstream.url }) })
    for (const route of ['/v1/echo', '/v1/stream']) {
      const answer = await fetch(`${proxy.url}${route}`, { method: 'POST', headers: credentials, body: '{}' })
      // The client got the real answer.
      expect((await answer.text()).includes('azure-plain-5590')).toBe(true)
    }
    await proxy.close()
    await upstream.close()
    expect(registeredSecretCount()).toBe(before)
    const text = await readFile(path, 'utf8')
    // Booleans, so a failure does not print the secret.
    const stored = [...echoed.slice(0, 4), 'staple-7731'].map((secret) => text.includes(secret))
    expect(stored).toEqual([false, false, false, false, false])
  })

  it('replays a request whose header credential also sits in its query or body, never quoting the credential in a miss', async () => {
    const credential = 'plain-credential-9931'
    const upstream = await serve({
      routes: {
        'GET /v1/models': () => ({ json: { data: ['m1'] } }),
        'POST /v1/chat': () => ({ json: { reply: 'ok' } }),
      },
    })
    const path = join(directory, 'credential-in-query.cassette.json')
    const headers = { 'x-api-key': credential, 'content-type': 'application/json' }
    const ask = (url: string, user: string) => [
      fetch(`${url}/v1/models?k=${user}`, { headers }),
      fetch(`${url}/v1/chat`, { method: 'POST', headers, body: JSON.stringify({ user }) }),
    ]
    const recorder = await serve({ cassette: createCassette({ path, mode: 'record', upstream: upstream.url }) })
    for (const answer of ask(recorder.url, credential)) await (await answer).text()
    await recorder.close()
    const cassette = createCassette({ path, mode: 'replay' })
    const replay = await serve({ cassette })
    const replayed = await Promise.all(ask(replay.url, credential).map(async (answer) => (await answer).status))
    // Requests that were not recorded: their misses quote the query and body, with the credential replaced.
    const missed = await Promise.all(ask(replay.url, `${credential}-other`).map(async (answer) => await answer))
    const missTexts = await Promise.all(missed.map((answer) => answer.text()))
    await replay.close()
    expect(replayed).toEqual([200, 200])
    expect(missed.map((answer) => answer.status)).toEqual([404, 404])
    const printed = [...missTexts, ...cassette.misses.flatMap((miss) => [miss.message, JSON.stringify(miss)])]
    // Booleans, so a failure does not print the credential.
    expect(printed.map((text) => text.includes(credential))).toEqual(printed.map(() => false))
  })

  it('redacts a secret a stream sends in pieces across its events, and keeps the rest of the stream as it came', async () => {
    const secret = 'tenant-Passphrase-7781'
    const path = join(directory, 'split-secret.cassette.json')
    const pieces = ['the key is ', secret.slice(0, 9), secret.slice(9, 15), `${secret.slice(15)} ok`]
    const upstream = await serve({
      routes: {
        'POST /v1/chat': () => ({ sse: [...pieces.map((content) => ({ id: 'c1', delta: { content } })), '[DONE]'] }),
      },
    })
    const recorder = createCassette({ path, mode: 'record', upstream: upstream.url, secrets: [secret] })
    const proxy = await serve({ cassette: recorder })
    const answer = await fetch(`${proxy.url}/v1/chat`, { method: 'POST', body: '{}' })
    expect((await answer.text()).includes(secret.slice(0, 9))).toBe(true) // the client got the real stream
    await proxy.close()
    const stored = (JSON.parse(await readFile(path, 'utf8')) as CassetteFile).interactions[0]?.response.sse ?? []
    // Booleans, so a failure does not print the secret.
    expect(
      stored.some((event) => [secret.slice(0, 9), secret.slice(9, 15)].some((part) => event.data.includes(part))),
    ).toBe(false)
    const contents = stored
      .slice(0, 4)
      .map((event) => (JSON.parse(event.data) as { delta: { content: string } }).delta.content)
    expect(contents.join('')).toBe('the key is [REDACTED] ok')
    expect(stored.map((event) => (event.data === '[DONE]' ? event.data : JSON.parse(event.data).id))).toEqual([
      'c1',
      'c1',
      'c1',
      'c1',
      '[DONE]',
    ])
  })

  it('matches on canonical JSON (key order ignored) and replays repeats in recorded order', async () => {
    const path = join(directory, 'order.cassette.json')
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        interactions: [
          {
            request: { method: 'POST', path: '/v1/chat', body: { a: 1, b: { c: 2, d: 3 } } },
            response: { status: 200, headers: {}, body: { call: 1 } },
          },
          {
            request: { method: 'POST', path: '/v1/chat', body: { a: 2 } },
            response: { status: 200, headers: {}, body: { other: true } },
          },
          {
            request: { method: 'POST', path: '/v1/chat', body: { b: { d: 3, c: 2 }, a: 1 } },
            response: { status: 200, headers: {}, body: { call: 2 } },
          },
        ],
      }),
    )
    const cassette = createCassette({ path, mode: 'replay' })
    const server = await serve({ cassette })
    const post = async (body: string) =>
      (
        await fetch(`${server.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      ).json()
    expect(await post('{"b":{"d":3,"c":2},"a":1}')).toEqual({ call: 1 })
    expect(await post('{"a":1,"b":{"c":2,"d":3}}')).toEqual({ call: 2 })
    expect(await post('{"a":2}')).toEqual({ other: true })
    const exhausted = await fetch(`${server.url}/v1/chat`, { method: 'POST', body: '{"a":1,"b":{"c":2,"d":3}}' })
    expect(exhausted.status).toBe(404)
    expect(await exhausted.json()).toMatchObject({ error: { type: 'cassette_miss', code: 'cassette_exhausted' } })
    expect(cassette.misses[0]?.reason).toBe('exhausted')
  })

  it('leaves the recording of a faulted request for the request after it, whatever the fault', async () => {
    const path = join(directory, 'faulted.cassette.json')
    const recorded = { method: 'POST', path: '/v1/chat', body: { q: 1 } }
    const response = { status: 200, headers: {}, body: { answer: 'recorded, and long enough to be cut in half' } }
    await writeFile(path, JSON.stringify({ version: 1, interactions: [{ request: recorded, response }] }))
    const faults: Fault[] = [
      { kind: 'status', status: 503 },
      { kind: 'reset-after-headers' },
      { kind: 'cut-stream', afterEvents: 0 },
      { kind: 'malformed-json' },
      { kind: 'stall-stream', afterEvents: 0, ms: 0 },
    ]
    for (const fault of faults) {
      const cassette = createCassette({ path, mode: 'replay' })
      const server = await serve({ cassette, faults: [fault] })
      const send = () => fetch(`${server.url}/v1/chat`, { method: 'POST', body: '{"q":1}' })
      await send()
        .then((answer) => answer.text())
        .catch(() => 'cut')
      expect(await (await send()).json(), fault.kind).toEqual(response.body)
      expect((await send()).status, fault.kind).toBe(404)
      expect(cassette.misses.map((miss) => miss.reason)).toEqual(['exhausted'])
    }
  })

  it('answers a request with no recording with a 404 naming the nearest recording and the differences', async () => {
    const path = join(directory, 'miss.cassette.json')
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        interactions: [
          {
            request: { method: 'POST', path: '/v1/chat', body: chatRequest('What is the capital of France?') },
            response: { status: 200, headers: {}, body: {} },
          },
          {
            request: { method: 'POST', path: '/v1/chat', body: chatRequest('Tell me a joke', { temperature: 0 }) },
            response: { status: 200, headers: {}, body: {} },
          },
          { request: { method: 'GET', path: '/v1/models' }, response: { status: 200, headers: {}, body: {} } },
        ],
      }),
    )
    const cassette = createCassette({ path, mode: 'replay' })
    const server = await serve({ cassette })
    const response = await fetch(`${server.url}/v1/chat`, {
      method: 'POST',
      body: JSON.stringify(chatRequest('What is the capital of Spain?')),
    })
    expect(response.status).toBe(404)
    const body = (await response.json()) as { error: { message: string; nearest: unknown; differences: unknown } }
    expect(body.error.nearest).toEqual({
      method: 'POST',
      path: '/v1/chat',
      bodyDigest: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
      body: canonicalJson(chatRequest('What is the capital of France?')),
    })
    expect(body.error.differences).toEqual([
      {
        path: '$.body.messages[0].content',
        expected: '"What is the capital of France?"',
        actual: '"What is the capital of Spain?"',
      },
    ])
    expect(body.error.message).toContain('has no recording of POST /v1/chat')
    expect(body.error.message).toContain('What is the capital of Spain?')
    expect(body.error.message).toContain('nearest recorded: POST /v1/chat')
    expect(body.error.message).toContain(
      '$.body.messages[0].content: "What is the capital of France?" → "What is the capital of Spain?"',
    )

    const [miss] = cassette.misses
    expect(miss).toBeInstanceOf(CassetteMissError)
    expect(CassetteMissError.isInstance(miss)).toBe(true)
    expect(miss?.name).toBe('CassetteMissError')
    expect(miss?.request.body).toEqual(chatRequest('What is the capital of Spain?'))
    expect(miss?.nearest?.body).toEqual(chatRequest('What is the capital of France?'))

    expect(() => cassette.match({ method: 'DELETE', path: '/v1/files' })).toThrow(CassetteMissError)
  })

  it('bounds what a miss says of a large request — message, JSON and 404 body alike — with secrets redacted', async () => {
    const path = join(directory, 'large.cassette.json')
    const longChat = (letter: string) =>
      chatRequest(`${letter.repeat(50_000)} token=hunter2-secret`, {
        tools: Array.from({ length: 40 }, (_, index) => ({ name: `${letter}${index}` })),
      })
    const recorded = { method: 'POST', path: '/v1/chat', body: longChat('a') }
    const response = { status: 200, headers: {}, body: {} }
    await writeFile(path, JSON.stringify({ version: 1, interactions: [{ request: recorded, response }] }))
    const cassette = createCassette({ path, mode: 'replay' })
    const server = await serve({ cassette })
    const sent = longChat('b')
    const answer = await fetch(`${server.url}/v1/chat?api_key=sk-live-0123456789abcdefghij`, {
      method: 'POST',
      body: JSON.stringify(sent),
    })
    expect(answer.status).toBe(404)
    const text = await answer.text()
    const [miss] = cassette.misses
    if (!miss) throw new Error('no miss was recorded')
    const json = JSON.stringify(miss)
    for (const quoted of [miss.message, json, text]) {
      expect(quoted.length).toBeLessThan(8_000)
      expect(quoted).not.toContain('hunter2-secret')
      expect(quoted).not.toContain('0123456789abcdefghij')
    }
    // What was missed: method, path, a digest of the whole body and the start of it; the same in the JSON.
    const digest = miss.toJSON().request as { bodyDigest: string; body: string }
    expect(digest.bodyDigest).toMatch(/^sha256:[0-9a-f]{16}$/)
    expect(miss.message).toContain(`has no recording of POST /v1/chat?api_key=[REDACTED].`)
    expect(miss.message).toContain(`request: POST /v1/chat?api_key=[REDACTED] body ${digest.bodyDigest} ${digest.body}`)
    expect(digest.body.startsWith(canonicalJson(sent).slice(0, 100))).toBe(true)
    expect(miss.message).toContain('… and ')
    expect(JSON.parse(text).error).toMatchObject({ request: miss.toJSON().request, differenceCount: 42 })
    // The error still holds the request as matched, for a test to inspect.
    expect(miss.request.body).toMatchObject({ model: 'm1' })
  })

  it('quotes 200 characters of a path, 300 of a body and 100 of each side of a difference, as the README says', async () => {
    const path = join(directory, 'excerpt-lengths.cassette.json')
    const longPath = `/v1/${'p'.repeat(1_000)}`
    const recorded = { method: 'POST', path: longPath, body: chatRequest('a'.repeat(1_000)) }
    const response = { status: 200, headers: {}, body: {} }
    await writeFile(path, JSON.stringify({ version: 1, interactions: [{ request: recorded, response }] }))
    const cassette = createCassette({ path, mode: 'replay' })
    const sent = chatRequest('b'.repeat(1_000))
    const miss = (() => {
      try {
        cassette.match({ method: 'POST', path: longPath, body: sent })
      } catch (error) {
        return error as CassetteMissError
      }
      throw new Error('no miss')
    })()
    const { request, differences } = miss.toJSON() as {
      request: { path: string; body: string }
      differences: Array<{ path: string; expected: string; actual: string }>
    }
    expect(request.path).toBe(`${longPath.slice(0, 200)}…`)
    expect(request.body).toBe(`${canonicalJson(sent).slice(0, 300)}…`)
    expect(differences).toEqual([
      {
        path: '$.body.messages[0].content',
        expected: `${JSON.stringify('a'.repeat(1_000)).slice(0, 100)}…`,
        actual: `${JSON.stringify('b'.repeat(1_000)).slice(0, 100)}…`,
      },
    ])
    expect(miss.message).toContain(`${request.path} body `)
    expect(miss.message).toContain(`: ${differences[0]?.expected} → ${differences[0]?.actual}`)
  })

  it('counts every difference of a miss, past the 50 it keeps: its message, JSON and 404 body say how many', async () => {
    const path = join(directory, 'many-differences.cassette.json')
    const numbers = (sign: number) =>
      Object.fromEntries(Array.from({ length: 200 }, (_, index) => [`k${index}`, sign * index]))
    const recorded = { method: 'POST', path: '/v1/chat', body: numbers(1) }
    const response = { status: 200, headers: {}, body: {} }
    await writeFile(path, JSON.stringify({ version: 1, interactions: [{ request: recorded, response }] }))
    const cassette = createCassette({ path, mode: 'replay' })
    const server = await serve({ cassette })
    const answer = await fetch(`${server.url}/v1/chat`, { method: 'POST', body: JSON.stringify(numbers(-1)) })
    const [miss] = cassette.misses
    if (!miss) throw new Error('no miss was recorded')
    // k0 is 0 on both sides: 199 places differ.
    expect([miss.differenceCount, miss.differences.length]).toEqual([199, 50])
    expect(miss.message).toContain('… and 194 more')
    expect(((await answer.json()) as { error: unknown }).error).toMatchObject({ differenceCount: 199 })
  })

  it('explains a missing or malformed cassette file, and record mode without an upstream', async () => {
    expect(() => createCassette({ path: join(directory, 'absent.cassette.json'), mode: 'replay' })).toThrow(
      /cannot be read; record it first/,
    )
    const invalid = join(directory, 'invalid.cassette.json')
    await writeFile(invalid, JSON.stringify({ version: 2, interactions: [] }))
    expect(() => createCassette({ path: invalid, mode: 'replay' })).toThrow(/version is 2, expected 1/)
    expect(() => createCassette({ path: invalid, mode: 'record' })).toThrow(/needs an "upstream"/)
  })

  it('refuses a misspelt option, an unknown mode and a record mode without a usable upstream, with a typed error', async () => {
    const path = join(directory, 'options.cassette.json')
    const cases: Array<[object, string]> = [
      [
        { path, mode: 'record', upstream: 'http://127.0.0.1:1', secret: ['hide-me'] },
        'secret is not an option; did you mean secrets?',
      ],
      [{ path, mode: 'recrod', upstream: 'http://127.0.0.1:1' }, "createCassette: mode must be 'record' or 'replay'"],
      [{ path, mode: 'record' }, 'createCassette: upstream must be a base URL'],
      [{ path, mode: 'record', upstream: 'not a url' }, 'createCassette: upstream must be a base URL'],
      [
        { path, mode: 'record', upstream: 'http://127.0.0.1:1', secrets: 'hide-me' },
        'secrets must be a list of strings',
      ],
      // A hole is not a secret: let through, it failed every redaction and the server's close.
      [
        {
          path,
          mode: 'record',
          upstream: 'http://127.0.0.1:1',
          secrets: Object.assign(new Array(3), { 0: 'hide-me-0123456789', 2: 'and-me-0123456789' }),
        },
        'secrets must be a list of strings',
      ],
      [{ mode: 'replay' }, 'createCassette: path must be a file path'],
    ]
    for (const [options, message] of cases) {
      expect(() => createCassette(options as never), JSON.stringify(options)).toThrow(message)
      expect(() => createCassette(options as never)).toThrow(ConfigurationError)
    }
    const unreadable = {
      path,
      mode: 'record',
      upstream: 'http://127.0.0.1:1',
      get secrets(): string[] {
        throw new Error('getter failed')
      },
    } as const
    expect(() => createCassette(unreadable)).toThrow('createCassette: options could not be read: Error: getter failed')
    expect(() => createCassette(unreadable)).toThrow(ConfigurationError)
  })

  it('reads each option once: a getter cannot pass the check with one value and open the cassette with another', async () => {
    const path = join(directory, 'read-once.cassette.json')
    await writeFile(path, JSON.stringify({ version: 1, interactions: [] }))
    /** Options whose `key` reads as `checked` the first time and as `used` after. */
    const changing = (base: object, key: string, checked: unknown, used: unknown): CassetteOptions => {
      let reads = 0
      return Object.defineProperty({ ...base }, key, {
        enumerable: true,
        get: () => (++reads === 1 ? checked : used),
      }) as CassetteOptions
    }
    const opened = [
      changing({ path }, 'mode', 'replay', 'recrod'),
      changing({ mode: 'replay' }, 'path', path, ''),
      changing({ path, mode: 'replay' }, 'secrets', ['hide-me-0123456789'], [42]),
    ].map((options) => {
      try {
        const cassette = createCassette(options)
        return { mode: cassette.mode, path: cassette.path }
      } catch (error) {
        return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }
    })
    expect(opened).toEqual([
      { mode: 'replay', path },
      { mode: 'replay', path },
      { mode: 'replay', path },
    ])
  })

  it('refuses a truncated, empty or misshapen file when it is opened, with a typed error naming the file', async () => {
    const interaction = (response: object) => ({ request: { method: 'GET', path: '/' }, response })
    const files: [string, string, RegExp][] = [
      ['truncated', '{"version":1,"interactions":[', /not valid JSON .*truncated/],
      ['empty', '', /the file is empty/],
      [
        'sse-not-array',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, sse: 'x' })] }),
        /interactions\[0\]\.response\.sse is not an array/,
      ],
      [
        'sse-data',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, sse: [{ data: 1 }] })] }),
        /\.response\.sse\[0\]\.data is not a string/,
      ],
      [
        'sse-event',
        JSON.stringify({
          version: 1,
          interactions: [interaction({ status: 200, sse: [{ event: 'a\nb', data: '' }] })],
        }),
        /\.response\.sse\[0\]\.event holds a line break/,
      ],
      [
        'headers',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, headers: { a: 1 } })] }),
        /\.response\.headers\["a"\] is not a string/,
      ],
      [
        'header-name',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, headers: { 'x a': 'b' } })] }),
        /\.response\.headers\["x a"\] is not a header a response can carry/,
      ],
      [
        'header-value',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, headers: { 'x-a': 'b\nc' } })] }),
        /\.response\.headers\["x-a"\] is not a header a response can carry/,
      ],
      [
        'content-length',
        JSON.stringify({
          version: 1,
          interactions: [interaction({ status: 200, headers: { 'Content-Length': '3' } })],
        }),
        /\.response\.headers\["Content-Length"\] frames the body/,
      ],
      [
        'transfer-encoding',
        JSON.stringify({
          version: 1,
          interactions: [interaction({ status: 200, headers: { 'transfer-encoding': 'chunked' } })],
        }),
        /\.response\.headers\["transfer-encoding"\] frames the body/,
      ],
      [
        'text',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, text: {} })] }),
        /\.response\.text is not a string/,
      ],
      [
        'two-bodies',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 200, text: 'a', sse: [] })] }),
        /has text and sse; it may have at most one/,
      ],
      [
        'status',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 42 })] }),
        /numeric "status" from 200 to 999/,
      ],
      [
        // An informational status is no answer: replayed, every request would get a 500 instead.
        'status-informational',
        JSON.stringify({ version: 1, interactions: [interaction({ status: 101, body: {} })] }),
        /interactions\[0\]\.response needs a numeric "status" from 200 to 999/,
      ],
      ['interaction', JSON.stringify({ version: 1, interactions: [null] }), /interactions\[0\] is not an object/],
    ]
    for (const [name, text, problem] of files) {
      const path = join(directory, `${name}.cassette.json`)
      await writeFile(path, text)
      let error: unknown
      try {
        createCassette({ path, mode: 'replay' })
      } catch (caught) {
        error = caught
      }
      expect(CassetteFileError.isInstance(error), name).toBe(true)
      const fileError = error as CassetteFileError
      expect(fileError.cassettePath).toBe(path)
      expect(fileError.message).toContain(path)
      expect(fileError.problem).toMatch(problem)
    }
    const absent = join(directory, 'absent.cassette.json')
    expect(() => createCassette({ path: absent, mode: 'replay' })).toThrow(CassetteFileError)
  })

  it('refuses a file too large to read as text, or a directory, with a typed error saying so, without reading it', async () => {
    // Sparse: 3 GiB long, nothing written. Read, it would take seconds and gigabytes before failing.
    const huge = join(directory, 'huge.cassette.json')
    await writeFile(huge, '')
    await truncate(huge, 3 * 1024 ** 3)
    const folder = join(directory, 'folder.cassette.json')
    await mkdir(folder)
    const problems = [huge, folder].map((path) => {
      try {
        createCassette({ path, mode: 'replay' })
      } catch (error) {
        expect(CassetteFileError.isInstance(error)).toBe(true)
        expect((error as CassetteFileError).cassettePath).toBe(path)
        return (error as CassetteFileError).problem
      }
      return undefined
    })
    expect(problems[0]).toMatch(/^the file is 3221225472 bytes, more than the \d+ a cassette file can be read in/)
    expect(problems[1]).toMatch(/^not a file/)
  })

  it('stores the value of every field named like a secret as [REDACTED], in both bodies and in event streams', async () => {
    const upstream = await serve({
      routes: {
        'POST /v1/login': ({ request }) => ({
          json: { echoedPassword: (request.body as { password: string }).password, apiKey: 'plain-api-key-value' },
        }),
        'GET /v1/events': () => ({
          headers: { 'content-type': 'text/event-stream', 'x-ratelimit-remaining-tokens': '99' },
          raw: 'id: password=hunter2\nevent: client_secret=cs-plain\ndata: {"credential":"plain-credential","n":1}\n\ndata: plain text\n\n',
        }),
      },
    })
    const path = join(directory, 'field-secrets.cassette.json')
    const recorder = await serve({ cassette: createCassette({ path, mode: 'record', upstream: upstream.url }) })
    const login = (url: string) =>
      fetch(`${url}/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'me', password: 'hunter2', client_secret: 'cs-plain' }),
      })
    const live = await (await login(recorder.url)).json()
    expect(live).toEqual({ echoedPassword: 'hunter2', apiKey: 'plain-api-key-value' })
    await (await fetch(`${recorder.url}/v1/events`)).text()
    await recorder.close()

    const text = await readFile(path, 'utf8')
    for (const secret of ['hunter2', 'cs-plain', 'plain-api-key-value', 'plain-credential']) {
      expect(text).not.toContain(secret)
    }
    const file = JSON.parse(text) as CassetteFile
    const [loginInteraction, eventsInteraction] = file.interactions
    expect(loginInteraction?.request.body).toEqual({ user: 'me', password: '[REDACTED]', client_secret: '[REDACTED]' })
    expect(loginInteraction?.response.body).toEqual({ echoedPassword: '[REDACTED]', apiKey: '[REDACTED]' })
    expect(eventsInteraction?.response.sse).toEqual([
      { id: 'password=[REDACTED]', event: 'client_secret=[REDACTED]', data: '{"credential":"[REDACTED]","n":1}' },
      { data: 'plain text' },
    ])
    // A rate-limit header counting tokens is not a credential, and is kept.
    expect(eventsInteraction?.response.headers['x-ratelimit-remaining-tokens']).toBe('99')

    const replay = await serve({ cassette: createCassette({ path, mode: 'replay' }) })
    expect((await login(replay.url)).status).toBe(200)
  })

  it('saves concurrently without failing: one save at a time per cassette, a temporary file of its own each', async () => {
    const path = join(directory, 'concurrent', 'saves.cassette.json')
    const upstream = await startUpstream()
    const first = createCassette({ path, mode: 'record', upstream: upstream.url })
    const second = createCassette({ path, mode: 'record', upstream: upstream.url })
    const proxy = await serve({ cassette: first })
    await send(proxy.url, '/v1/models?limit=1')
    // Saves of one cassette, and of two cassettes writing the same file, all at once.
    const saves = Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? first : second).save())
    await expect(Promise.all(saves)).resolves.toHaveLength(8)
    expect(await readdir(join(directory, 'concurrent'))).toEqual(['saves.cassette.json'])
    const saved = JSON.parse(await readFile(path, 'utf8')) as CassetteFile
    expect(saved.version).toBe(1)
    expect([[], first.interactions]).toContainEqual(saved.interactions)
    await first.save()
    expect((JSON.parse(await readFile(path, 'utf8')) as CassetteFile).interactions).toEqual(first.interactions)
  })

  it('answers 502 and records nothing when the upstream cannot be reached', async () => {
    const unreachable = await serve({})
    const upstreamUrl = unreachable.url
    await unreachable.close()
    const cassette = createCassette({
      path: join(directory, 'down.cassette.json'),
      mode: 'record',
      upstream: upstreamUrl,
    })
    const proxy = await serve({ cassette })
    const response = await fetch(`${proxy.url}/v1/models`)
    expect(response.status).toBe(502)
    expect(await response.json()).toMatchObject({ error: { type: 'cassette_upstream_error' } })
    expect(cassette.interactions).toEqual([])
  })

  it('records a redirect and hands it back, never following it to another origin with the credentials', async () => {
    const elsewhere = await serve({ routes: { 'POST /v1/chat': () => ({ json: { taken: true } }) } })
    const upstream = await serve({
      routes: { 'POST /v1/chat': () => ({ status: 307, headers: { location: `${elsewhere.url}/v1/chat` }, raw: '' }) },
    })
    const cassette = createCassette({
      path: join(directory, 'redirect.cassette.json'),
      mode: 'record',
      upstream: upstream.url,
    })
    const proxy = await serve({ cassette })
    const response = await fetch(`${proxy.url}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': canaryKey },
      body: JSON.stringify({ messages: [{ content: 'hi' }] }),
      redirect: 'manual',
    })
    expect(response.status).toBe(307)
    expect(response.headers.get('location')).toBe(`${elsewhere.url}/v1/chat`)
    expect(elsewhere.requests).toHaveLength(0)
    expect(cassette.interactions[0]?.response).toMatchObject({
      status: 307,
      headers: { location: `${elsewhere.url}/v1/chat` },
    })
  })

  it('answers 502 without the credentials of an upstream URL that fetch refuses and quotes', async () => {
    const upstream = await startUpstream()
    const cassette = createCassette({
      path: join(directory, 'userinfo.cassette.json'),
      mode: 'record',
      upstream: upstream.url.replace('http://', 'http://user:cassette-pw-9f3k@'),
    })
    const proxy = await serve({ cassette })
    const response = await fetch(`${proxy.url}/v1/models`)
    expect(response.status).toBe(502)
    const text = await response.text()
    expect(text).not.toContain('cassette-pw-9f3k')
    expect(JSON.parse(text)).toMatchObject({
      error: { type: 'cassette_upstream_error', message: expect.stringContaining('http://[REDACTED]@127.0.0.1') },
    })
  })
  it('answers a request nested 5,000 deep with a 400 in both modes, and records a response that deep as text', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    const path = join(directory, 'deep.cassette.json')
    const deepAnswer = await serve({
      routes: { 'POST /v1/deep': () => ({ raw: nested(5000), headers: { 'content-type': 'application/json' } }) },
    })
    const recorder = createCassette({ path, mode: 'record', upstream: deepAnswer.url })
    const proxy = await serve({ cassette: recorder })
    const recorded = await fetch(`${proxy.url}/v1/deep`, { method: 'POST', body: '{"q":1}' })
    expect(recorded.status).toBe(200)
    expect(await recorded.text()).toBe(nested(5000))
    await recorder.close()
    const deepRequest = await fetch(`${proxy.url}/v1/deep`, { method: 'POST', body: nested(5000) })
    expect(deepRequest.status).toBe(400)
    const replayer = createCassette({ path, mode: 'replay' })
    const replay = await serve({ cassette: replayer })
    expect(await (await fetch(`${replay.url}/v1/deep`, { method: 'POST', body: '{"q":1}' })).text()).toBe(nested(5000))
    const refused = await fetch(`${replay.url}/v1/deep`, { method: 'POST', body: nested(5000) })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({
      error: { code: 'body_too_deep', message: expect.stringContaining('more than 1000 levels deep') },
    })
    const deepFile = join(directory, 'deep-file.cassette.json')
    const interaction = `{"request":{"method":"POST","path":"/v1/deep","body":${nested(5000)}},"response":{"status":200}}`
    await writeFile(deepFile, `{"version":1,"interactions":[${interaction}]}`)
    expect(() => createCassette({ path: deepFile, mode: 'replay' })).toThrow(/request\.body nests more than 1000/)
  })

  it('records a response too deep to walk as JSON without the values of its fields named like secrets', async () => {
    const nested = (inner: string) => `${'{"a":'.repeat(2000)}${inner}${'}'.repeat(2000)}`
    const secrets =
      '{"token":"tok-deep-4f9a","credentials":{"user":"u","pw":"pw-deep-7c2e"},"cookie":"sid=ck-deep-1b8d","n":null}'
    const path = join(directory, 'deep-secrets.cassette.json')
    const deepAnswer = await serve({
      routes: {
        'POST /v1/deep': () => ({ raw: nested(secrets), headers: { 'content-type': 'application/json' } }),
        'POST /v1/deep-stream': () => ({ sse: [nested(secrets)] }),
      },
    })
    const recorder = createCassette({ path, mode: 'record', upstream: deepAnswer.url })
    const proxy = await serve({ cassette: recorder })
    expect((await fetch(`${proxy.url}/v1/deep`, { method: 'POST', body: '{}' })).status).toBe(200)
    expect((await fetch(`${proxy.url}/v1/deep-stream`, { method: 'POST', body: '{}' })).status).toBe(200)
    await recorder.close()
    const file = await readFile(path, 'utf8')
    for (const secret of ['tok-deep-4f9a', 'pw-deep-7c2e', 'ck-deep-1b8d']) expect(file.includes(secret)).toBe(false)
    expect(file).toContain('\\"n\\":null')
  })
})
