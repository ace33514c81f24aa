import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { ConfigurationError } from '@tinyllm/core'
import { registerSecret } from '@tinyllm/logger'
import { afterEach, describe, expect, it } from 'vitest'
import type { LoopbackServer, LoopbackServerOptions } from './loopback-server.js'
import { startLoopbackServer } from './loopback-server.js'
import { sseEvent } from './sse.js'

let server: LoopbackServer | undefined

async function start(options: LoopbackServerOptions = {}): Promise<LoopbackServer> {
  server = await startLoopbackServer(options)
  return server
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

/** Waits for the server to reach a state on its own schedule: a generous bound, not a timing assertion. */
async function waitFor(predicate: () => boolean): Promise<void> {
  const until = Date.now() + 30_000
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not reached in 30 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('startLoopbackServer', () => {
  it('refuses option keys it does not know, suggesting the right name', async () => {
    const started = startLoopbackServer({ rotues: {} } as never)
    await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(started).rejects.toThrow(/^startLoopbackServer: rotues is not an option; did you mean routes\?/)
    const running = await start()
    expect(() => running.injectFaults({ faultrate: 1 } as never)).toThrow(
      /faultrate is not an option; did you mean faultRate\?/,
    )
  })

  it('refuses a faultRate outside [0, 1] and a negative or inverted latency, instead of clamping them', async () => {
    const cases: Array<[object, string]> = [
      [{ faultRate: 1.5 }, 'startLoopbackServer: faultRate must be a number ≥ 0 and ≤ 1, got 1.5'],
      [{ faultRate: -0.1 }, 'startLoopbackServer: faultRate must be a number ≥ 0 and ≤ 1, got -0.1'],
      [{ faultRate: Number.POSITIVE_INFINITY }, 'startLoopbackServer: faultRate must be a number ≥ 0 and ≤ 1'],
      [
        { latency: -5 },
        'startLoopbackServer: latency must be a number of ms from 0 to 2147483647 (the longest a timer waits), Infinity, or { minMs, maxMs } with 0 ≤ minMs ≤ maxMs ≤ 2147483647, got -5',
      ],
      [
        { latency: { minMs: -1, maxMs: 5 } },
        'startLoopbackServer: latency must be a number of ms from 0 to 2147483647',
      ],
      [
        { latency: { minMs: 10, maxMs: 5 } },
        'startLoopbackServer: latency must be a number of ms from 0 to 2147483647',
      ],
      [
        { latency: { minMs: 0, maxMs: Number.POSITIVE_INFINITY } },
        'startLoopbackServer: latency must be a number of ms from 0 to 2147483647',
      ],
    ]
    for (const [options, message] of cases) {
      const started = startLoopbackServer(options)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started, JSON.stringify(options)).rejects.toThrow(message)
    }
    const running = await start({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    expect(() => running.injectFaults({ faultRate: 2 })).toThrow('injectFaults: faultRate must be a number ≥ 0 and ≤ 1')
    expect(() => running.setLatency(-1)).toThrow('setLatency: latency must be a number of ms from 0 to 2147483647')
    // Longer than a timer can wait, a delay would be answered after 1 ms: refused, as a single delay or a range's end.
    expect(() => running.setLatency(2 ** 40)).toThrow('setLatency: latency must be a number of ms from 0 to 2147483647')
    expect(() => running.setLatency({ minMs: 0, maxMs: 2 ** 31 })).toThrow(ConfigurationError)
    running.setLatency(2_147_483_647)
    running.setLatency(Number.POSITIVE_INFINITY)
    // The edges stay valid: a rate of 0 or 1, no latency, and a range of one value.
    running.injectFaults({ faultRate: 0 })
    running.injectFaults({ faultRate: 1, faultMix: [{ fault: { kind: 'status', status: 503 } }] })
    running.setLatency({ minMs: 0, maxMs: 0 })
    running.setLatency(0)
    expect((await fetch(`${running.url}/x`)).status).toBe(503)
  })

  it('refuses a fault of no known kind, a NaN rate or latency, and a malformed route, instead of ignoring them', async () => {
    const cases: Array<[object, string]> = [
      [{ faults: [null, { kind: 'reset-before-header' }] }, 'startLoopbackServer: faults[1] must be a fault of kind'],
      [{ faultRate: 0.5, faultMix: [{ fault: { kind: 'stall' } }] }, 'faultMix[0].fault must be a fault of kind'],
      [{ faultRate: Number.NaN }, 'startLoopbackServer: faultRate must be a number ≥ 0 and ≤ 1, got NaN'],
      [
        { faultRate: 0.5, faultMix: [] },
        'faultMix must be a list with a fault of weight above 0 when faultRate is 0.5',
      ],
      [
        { faultRate: 1, faultMix: [{ fault: { kind: 'reset-before-headers' }, weight: 0 }] },
        'startLoopbackServer: faultMix must be a list with a fault of weight above 0 when faultRate is 1',
      ],
      [
        { latency: Number.NaN },
        'startLoopbackServer: latency must be a number of ms from 0 to 2147483647 (the longest a timer waits), Infinity, or { minMs, maxMs } with 0 ≤ minMs ≤ maxMs ≤ 2147483647, got NaN',
      ],
      [{ latency: { minMs: 1 } }, 'startLoopbackServer: latency must be a number of ms from 0 to 2147483647'],
      [{ routes: { 'GET/x': () => ({ json: {} }) } }, 'routes must be an object whose keys look like "METHOD /path"'],
    ]
    for (const [options, message] of cases) {
      const started = startLoopbackServer(options)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
    const running = await start({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    expect(() => running.injectFaults([{ kind: 'timeout' } as never])).toThrow(
      'injectFaults: faults[0] must be a fault',
    )
    expect(() => running.setLatency(Number.NaN)).toThrow(
      'setLatency: latency must be a number of ms from 0 to 2147483647',
    )
    // A schedule function's fault is checked as it is used: the request fails with a 500 that says why.
    running.injectFaults(() => ({ kind: 'reset' }) as never)
    const answer = await fetch(`${running.url}/x`)
    expect(answer.status).toBe(500)
    expect(await answer.text()).toContain('the fault for request 0 must be a fault of kind')
    expect(running.faultCounts).toEqual(Object.fromEntries(Object.keys(running.faultCounts).map((kind) => [kind, 0])))
  })

  it('refuses a fault whose fields are missing, misspelt or not numbers, instead of answering normally', async () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: 'cut-stream' }, 'startLoopbackServer: faults[0].afterEvents must be set'],
      [{ kind: 'cut-stream', afterEvent: 1 }, 'afterEvent is not an option; did you mean afterEvents?'],
      [{ kind: 'stall-stream', afterEvents: 'one' }, 'faults[0].afterEvents must be an integer'],
      [{ kind: 'stall-headers', ms: 'x' }, 'faults[0].ms must be a number of ms'],
      [{ kind: 'status', status: 1000 }, 'faults[0].status must be an integer ≥ 200'],
      [{ kind: 'status', status: 103 }, 'faults[0].status must be an integer ≥ 200 and ≤ 999, got 103'],
      [{ kind: 'status', statuss: 429 }, 'statuss is not an option; did you mean status?'],
      [{ kind: 'oversized' }, 'faults[0].bytes must be set'],
    ]
    for (const [fault, message] of cases) {
      const started = startLoopbackServer({ faults: [fault as never] })
      await expect(started, JSON.stringify(fault)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
    const running = await start({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    expect(() =>
      running.injectFaults({ faultRate: 1, faultMix: [{ fault: { kind: 'cut-stream' } as never }] }),
    ).toThrow('injectFaults: faultMix[0].fault.afterEvents must be set')
    // A schedule function's fault is checked as it is used: the request fails with a 500 that says why, and no fault
    // is counted as injected.
    running.injectFaults(() => ({ kind: 'cut-stream', afterEvent: 1 }) as never)
    const answer = await fetch(`${running.url}/x`)
    expect(answer.status).toBe(500)
    expect(await answer.text()).toContain('afterEvent is not an option; did you mean afterEvents?')
    expect(running.faultCounts['cut-stream']).toBe(0)
  })

  it('refuses faults that are not a list or a function, a faultMix that is not a list and bad weights or headers', async () => {
    const cases: Array<[object, string]> = [
      [
        { faults: { kind: 'status', status: 429 } },
        'startLoopbackServer: faults must be a list of faults or a function',
      ],
      [{ faults: 'status' }, 'faults must be a list of faults or a function of the request, got "status"'],
      [{ faultRate: 1, faultMix: { fault: { kind: 'status', status: 503 } } }, 'faultMix must be a list'],
      [{ faultRate: 1, faultMix: [{ fault: { kind: 'status', status: 503 }, weight: 'heavy' }] }, 'weight must be'],
      [
        { faultRate: 1, faultMix: [{ fault: { kind: 'status', status: 503 }, weight: -1 }] },
        'weight must be a number ≥ 0',
      ],
      [{ faults: [{ kind: 'status', status: 429, headers: 'retry-after: 1' }] }, 'faults[0].headers must be an object'],
      [
        { faults: [{ kind: 'status', status: 429, headers: { 'retry-after': 1 } }] },
        'faults[0].headers["retry-after"]',
      ],
      [{ faults: [{ kind: 'status', status: 429, headers: { 'retry-after': '1\r\nx: y' } }] }, 'without line breaks'],
      [{ faults: [{ kind: 'status', status: 429, headers: { 'retry after': '1' } }] }, 'under a valid header name'],
      // The server frames the body: a content-length would be replaced, a transfer-encoding beside it unreadable.
      [
        { faults: [{ kind: 'status', status: 503, headers: { 'Transfer-Encoding': 'chunked' } }] },
        'faults[0].headers["Transfer-Encoding"] must be absent (the server sets the framing of the body it sends)',
      ],
      [{ faults: [{ kind: 'status', status: 503, headers: { 'content-length': '0' } }] }, 'must be absent'],
    ]
    for (const [options, message] of cases) {
      const started = startLoopbackServer(options)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
    const running = await start({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    expect(() => running.injectFaults({ kind: 'status', status: 429 } as never)).toThrow('kind is not an option')
    expect(() => running.injectFaults(5 as never)).toThrow('injectFaults: options must be an object, got 5')
    expect(() => running.injectFaults({ faults: 'x' } as never)).toThrow('injectFaults: faults must be a list')
    expect((await fetch(`${running.url}/x`)).status).toBe(200)
    expect(running.faultCounts).toEqual(Object.fromEntries(Object.keys(running.faultCounts).map((kind) => [kind, 0])))
  })

  it('refuses a port, seed, fallback, formatError or cassette of the wrong type, before listening', async () => {
    const cases: Array<[object, string]> = [
      [{ fallback: { json: {} } }, 'startLoopbackServer: fallback must be a function, got an object'],
      [{ routes: 5 }, "startLoopbackServer: routes must be an object of 'METHOD /path' handlers, got 5"],
      [{ port: 'abc' }, 'startLoopbackServer: port must be an integer ≥ 0 and ≤ 65535, got "abc"'],
      [{ port: -1 }, 'port must be an integer ≥ 0 and ≤ 65535, got -1'],
      [{ port: 70_000 }, 'port must be an integer ≥ 0 and ≤ 65535, got 70000'],
      [{ seed: 'abc', faultRate: 0.5 }, 'startLoopbackServer: seed must be an integer ≥ 0 and ≤ 4294967295, got "abc"'],
      [{ seed: Number.NaN }, 'seed must be an integer ≥ 0 and ≤ 4294967295, got NaN'],
      [{ seed: 2 ** 32 }, 'seed must be an integer ≥ 0 and ≤ 4294967295, got 4294967296'],
      [{ seed: 2 ** 63 }, 'seed must be an integer ≥ 0 and ≤ 4294967295, got 9223372036854776000'],
      [{ seed: 1.5 }, 'seed must be an integer ≥ 0 and ≤ 4294967295, got 1.5'],
      [{ seed: -1 }, 'seed must be an integer ≥ 0 and ≤ 4294967295, got -1'],
      [{ formatError: 'openai' }, 'startLoopbackServer: formatError must be a function, got "openai"'],
      [{ cassette: { path: 'x.cassette.json' } }, 'cassette must be a cassette made with createCassette'],
      [{ keepAliveTimeoutMs: 0 }, 'startLoopbackServer: keepAliveTimeoutMs must be an integer ≥ 1 and ≤ 2147483647'],
      [{ keepAliveTimeoutMs: '60s' }, 'keepAliveTimeoutMs must be an integer ≥ 1 and ≤ 2147483647, got "60s"'],
    ]
    for (const [options, message] of cases) {
      const started = startLoopbackServer(options)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
  })

  it('refuses a port another server holds with a ConfigurationError naming it, not a bare listen error', async () => {
    const holder = await start()
    const started = startLoopbackServer({ port: holder.port })
    await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(started).rejects.toThrow(
      `startLoopbackServer: port ${holder.port} cannot be listened on: listen EADDRINUSE`,
    )
  })

  it('refuses an option whose getter or Proxy throws with a ConfigurationError, and reads a latency range once', async () => {
    const fail = (): never => {
      throw new Error('getter failed')
    }
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const cases: Array<[object, string]> = [
      [
        {
          get routes() {
            return fail()
          },
        },
        'startLoopbackServer: options could not be read: Error: getter failed',
      ],
      [
        {
          routes: {
            get 'GET /x'() {
              return fail()
            },
          },
        },
        'startLoopbackServer: options could not be read',
      ],
      [
        {
          faultRate: 1,
          faultMix: [
            {
              fault: { kind: 'status', status: 500 },
              get weight() {
                return fail()
              },
            },
          ],
        },
        'could not be read',
      ],
      [
        {
          latency: {
            minMs: 1,
            get maxMs() {
              return fail()
            },
          },
        },
        'startLoopbackServer: latency could not be read',
      ],
      [revoked.proxy, 'startLoopbackServer: options could not be read: TypeError'],
    ]
    for (const [options, message] of cases) {
      const started = startLoopbackServer(options)
      await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
    const running = await start({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    expect(() => running.injectFaults(revoked.proxy as never)).toThrow(
      'injectFaults: faults could not be read: TypeError',
    )
    expect(() =>
      running.injectFaults({
        get faults() {
          return fail()
        },
      }),
    ).toThrow(ConfigurationError)
    expect(() =>
      running.setLatency({
        minMs: 0,
        get maxMs() {
          return fail()
        },
      }),
    ).toThrow('setLatency: latency could not be read')
    // A range is read when it is set, not again as each request draws its delay (an exception there would be uncaught).
    let reads = 0
    running.setLatency({
      minMs: 0,
      get maxMs() {
        reads += 1
        return reads > 1 ? fail() : 1
      },
    })
    expect((await fetch(`${running.url}/x`)).status).toBe(200)
    expect(reads).toBe(1)
  })

  it('names its owner and the option when a route or handler is wrong, and refuses a method no request can have', async () => {
    const started = startLoopbackServer({ routes: { 'GET/x': () => ({ json: {} }) } })
    await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(started).rejects.toThrow(
      /^startLoopbackServer: routes must be an object whose keys look like "METHOD \/path".*, got "GET\/x"$/,
    )
    const fetchRoute = startLoopbackServer({ routes: { 'FETCH /x': () => ({ json: {} }) } })
    await expect(fetchRoute).rejects.toThrow(
      /^startLoopbackServer: routes must be an object whose keys look like "METHOD \/path"/,
    )
    const answer = startLoopbackServer({ routes: { 'GET /x': { json: {} } as never } })
    await expect(answer).rejects.toThrow(
      /^startLoopbackServer: routes\["GET \/x"\] must be a route handler \(a function\), got an object$/,
    )
    const running = await start()
    for (const route of [5, null, 'FETCH /x', 'GET/x']) {
      expect(() => running.setHandler(route as never, () => ({ json: {} })), String(route)).toThrow(ConfigurationError)
      expect(() => running.setHandler(route as never, () => ({ json: {} }))).toThrow(
        /^setHandler: route must be a string like "METHOD \/path".*, got /,
      )
    }
    expect(() => running.setHandler('GET /y', 'handler' as never)).toThrow(
      /^setHandler: handler must be a route handler \(a function\), got "handler"$/,
    )
    running.setHandler('purge /x', () => ({ json: { purged: true } }))
    expect(await (await fetch(`${running.url}/x`, { method: 'PURGE' })).json()).toEqual({ purged: true })
  })

  it('refuses a route that could never match: no leading slash, a query string, white space, no method', async () => {
    for (const route of ['GET health', 'GET /x?y=1', 'GET /x#top', 'GET /a b', 'GET ', ' /x', 'G@T /x']) {
      const started = startLoopbackServer({ routes: { [route]: () => ({ json: {} }) } })
      await expect(started, route).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(`, got ${JSON.stringify(route)}`)
    }
    const answer = startLoopbackServer({ routes: { 'GET /x': { json: { ok: true } } as never } })
    await expect(answer).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(answer).rejects.toThrow('routes["GET /x"] must be a route handler (a function), got an object')
    const running = await start()
    expect(() => running.setHandler('POST v1/chat', () => ({ json: {} }))).toThrow('like "METHOD /path"')
    expect(() => running.setHandler('GET /y', 'handler' as never)).toThrow('handler must be a route handler')
    running.setHandler(' get  /x ', () => ({ json: { ok: true } }))
    expect(await (await fetch(`${running.url}/x?ignored=1`)).json()).toEqual({ ok: true })
  })

  it('listens on 127.0.0.1 on a free port and routes by method and path', async () => {
    const running = await start({
      routes: {
        'POST /echo': ({ request, requestIndex }) => ({ status: 201, json: { got: request.body, requestIndex } }),
        'get /text': () => ({ raw: 'plain', headers: { 'x-custom': 'yes' } }),
      },
    })
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`)
    expect(running.port).toBeGreaterThan(0)

    const echoed = await fetch(`${running.url}/echo?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    })
    expect(echoed.status).toBe(201)
    expect(echoed.headers.get('content-type')).toBe('application/json')
    expect(await echoed.json()).toEqual({ got: { hello: 'world' }, requestIndex: 0 })

    const text = await fetch(`${running.url}/text`)
    expect(await text.text()).toBe('plain')
    expect(text.headers.get('x-custom')).toBe('yes')
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8')
  })

  it('tells the client how long it keeps an idle connection: keepAliveTimeoutMs, by default 5 s', async () => {
    const keepAliveOf = async (running: LoopbackServer): Promise<string | null> =>
      (await fetch(`${running.url}/text`)).headers.get('keep-alive')
    const routes = { 'GET /text': () => ({ raw: 'plain' }) }
    expect(await keepAliveOf(await start({ routes }))).toBe('timeout=5')
    await server?.close()
    expect(await keepAliveOf(await start({ routes, keepAliveTimeoutMs: 120_000 }))).toBe('timeout=120')
  })

  it('answers an unknown route with a 404 JSON error in the configured shape', async () => {
    const running = await start({ formatError: ({ message, type }) => ({ type: 'error', error: { type, message } }) })
    const response = await fetch(`${running.url}/nowhere`)
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'No loopback route for GET /nowhere' },
    })
  })

  it('never quotes a key the path carries in the 404 of an unknown route, as its log does not', async () => {
    const key = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789'
    const running = await start()
    const response = await fetch(`${running.url}/v1/${key}/chat/completions`, { method: 'POST' })
    expect(response.status).toBe(404)
    const body = await response.text()
    expect(body).not.toContain(key)
    expect(JSON.parse(body)).toMatchObject({
      error: { message: 'No loopback route for POST /v1/[REDACTED]/chat/completions', type: 'not_found_error' },
    })
    expect(running.requests[0]?.path).toBe('/v1/[REDACTED]/chat/completions')
  })

  it('answers a throwing handler with a 500 error body naming the failure', async () => {
    const running = await start({
      routes: {
        'GET /boom': () => {
          throw new Error('kaput')
        },
      },
    })
    const response = await fetch(`${running.url}/boom`)
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ error: { message: 'Loopback handler failed: kaput' } })
  })

  it('cuts the message of a handler that throws to 1,000 characters, and never sends the key it quotes', async () => {
    const secret = 'sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd'
    const running = await start({
      routes: {
        'GET /long': () => {
          throw new Error(`${'x'.repeat(10_000_000)} ${secret}`)
        },
      },
    })
    const response = await fetch(`${running.url}/long`)
    expect(response.status).toBe(500)
    const text = await response.text()
    expect(text.length).toBeLessThan(2_000)
    expect(text).toContain('Loopback handler failed: xxx')
    expect(text).not.toContain(secret)
  })

  it('answers a 500 saying why, instead of cutting the connection or sending null, when a handler answers no response', async () => {
    const answers: Array<[unknown, string]> = [
      [{ sse: 5 }, 'the handler answered sse that is not a list or an iterable of events'],
      [{ sse: null }, 'the handler answered sse that is not a list or an iterable of events'],
      [{ raw: 5 }, 'the handler answered raw that is neither a string nor bytes'],
      [{ jsno: {} }, "the handler's answer must hold one of json, sse and raw; it holds none"],
      [{ json: {}, sse: ['x'] }, "the handler's answer must hold one of json, sse and raw; it holds json and sse"],
      [undefined, 'the handler answered undefined, not { json }, { sse } or { raw }'],
      [null, 'the handler answered null, not { json }, { sse } or { raw }'],
      [{ json: {}, status: 101 }, 'the handler answered status 101, not a final HTTP status from 200 to 999'],
      [{ sse: [], status: 1000 }, 'the handler answered status 1000, not a final HTTP status from 200 to 999'],
      [{ raw: 'x', status: '200' }, 'the handler answered status "200", not a final HTTP status from 200 to 999'],
      // An event no stream can carry: before, the headers went out and the connection was cut, saying nothing.
      [{ sse: ['first', undefined] }, 'the handler answered sse whose item 1 cannot be sent as an event (undefined)'],
      [{ sse: [() => 1] }, 'the handler answered sse whose item 0 cannot be sent as an event (a function)'],
      [{ sse: ['a', 'b', 10n] }, 'the handler answered sse whose item 2 cannot be sent as an event (a bigint)'],
      [
        { sse: [sseEvent({ event: 'delta', data: undefined })] },
        'the handler answered sse whose item 0 cannot be sent as an event (undefined)',
      ],
      // A pause between events that is no number of ms ≥ 0 was taken as none, or a string as a timer's delay.
      [{ sse: ['a', 'b'], sseEventDelayMs: -5 }, 'the handler answered sseEventDelayMs -5, not a number of ms ≥ 0'],
      [
        { sse: ['a', 'b'], sseEventDelayMs: Number.NaN },
        'the handler answered sseEventDelayMs NaN, not a number of ms ≥ 0',
      ],
      [{ sse: ['a', 'b'], sseEventDelayMs: '30' }, 'the handler answered sseEventDelayMs "30", not a number of ms ≥ 0'],
    ]
    const running = await start({
      routes: { 'GET /answer': ({ requestIndex }) => answers[requestIndex]?.[0] as never },
    })
    for (const [, message] of answers) {
      const response = await fetch(`${running.url}/answer`)
      expect(response.status, message).toBe(500)
      expect(await response.json()).toMatchObject({ error: { message: `Loopback handler failed: ${message}` } })
    }
    expect(running.requests.map((request) => request.outcome)).toEqual(answers.map(() => 'completed'))
  })

  it('answers a 500, and stays up, when a handler throws something no string can be made of', async () => {
    const messageless = new Error('hidden')
    Object.defineProperty(messageless, 'message', {
      get() {
        throw new Error('message getter failed')
      },
    })
    const thrown: Record<string, unknown> = {
      '/bare': Object.create(null),
      '/trapped': new Proxy(new Error('x'), {
        get() {
          throw new Error('trap')
        },
      }),
      '/messageless': messageless,
    }
    const routes = Object.fromEntries(
      Object.entries(thrown).map(([path, value]) => [
        `GET ${path}`,
        () => {
          throw value
        },
      ]),
    )
    const running = await start({ routes })
    const answers = []
    for (const path of Object.keys(thrown)) {
      const response = await fetch(`${running.url}${path}`)
      answers.push([response.status, ((await response.json()) as { error: { message: string } }).error.message])
    }
    expect(answers).toEqual([
      [500, 'Loopback handler failed: {}'],
      [500, 'Loopback handler failed: [an unreadable value]'],
      [500, 'Loopback handler failed: {}'],
    ])
  })

  it('logs and answers a request whose target is no URL, instead of throwing in its request listener', async () => {
    const running = await start({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = connect(running.port, '127.0.0.1', () => {
        socket.write('GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
      })
      let received = ''
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1')
      })
      socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''))
      socket.on('error', reject)
    })
    expect(statusLine).toBe('HTTP/1.1 404 Not Found')
    expect((await fetch(`${running.url}/x`)).status).toBe(200)
    await running.whenIdle()
    expect(running.requests.map((request) => [request.path, request.status])).toEqual([
      ['/http%3A%2F%2F%5B', 404],
      ['/x', 200],
    ])
  })

  it('answers in the default shape, and stays up, when formatError throws or builds no JSON', async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const running = await start({
      routes: { 'GET /ok': () => ({ json: { ok: true } }) },
      formatError: ({ status }) => {
        if (status === 404 || status === 500) throw new Error('formatter broke')
        return status === 429 ? cyclic : { ours: status }
      },
    })
    const missing = await fetch(`${running.url}/nowhere`)
    expect(missing.status).toBe(500)
    expect(await missing.json()).toEqual({
      error: {
        message: 'Loopback handler failed: formatter broke (formatError failed: formatter broke)',
        type: 'server_error',
        param: null,
        code: null,
      },
    })
    running.injectFaults([{ kind: 'status', status: 429 }])
    const limited = await fetch(`${running.url}/ok`)
    expect(limited.status).toBe(500)
    expect(await limited.json()).toMatchObject({ error: { message: expect.stringContaining('formatError failed') } })
    expect(await (await fetch(`${running.url}/ok`)).json()).toEqual({ ok: true })
    await running.whenIdle()
    expect(running.requests.map((request) => request.outcome)).toEqual(['completed', 'fault', 'completed'])
  })

  it('replaces secrets in the message of a throwing handler as in a log line', async () => {
    const secret = 'handler-canary-7d2e9b'
    const release = registerSecret(secret)
    try {
      const running = await start({
        routes: {
          'GET /boom': () => {
            throw new Error(`upstream refused ${secret} and key sk-proj-Abc123def456ghi789jkl`)
          },
        },
      })
      const response = await fetch(`${running.url}/boom`)
      expect(response.status).toBe(500)
      const text = await response.text()
      expect(text).not.toContain(secret)
      expect(text).not.toContain('sk-proj-Abc123def456ghi789jkl')
      expect(JSON.parse(text)).toMatchObject({
        error: { message: 'Loopback handler failed: upstream refused [REDACTED] and key [REDACTED]' },
      })
    } finally {
      release()
    }
  })

  it('sends x-request-id req_<n> on every response unless the response overrides it or leaves it out', async () => {
    const running = await start({
      routes: {
        'GET /a': () => ({ json: {} }),
        'GET /b': () => ({ json: {}, headers: { 'X-Request-Id': 'custom' } }),
        'GET /c': () => ({ json: {}, headers: { 'x-request-id': null } }),
      },
    })
    expect((await fetch(`${running.url}/a`)).headers.get('x-request-id')).toBe('req_0')
    expect((await fetch(`${running.url}/b`)).headers.get('x-request-id')).toBe('custom')
    expect((await fetch(`${running.url}/c`)).headers.has('x-request-id')).toBe(false)
    expect((await fetch(`${running.url}/missing`)).headers.get('x-request-id')).toBe('req_3')
    expect(running.requests.map((entry) => entry.requestId)).toEqual(['req_0', 'req_1', 'req_2', 'req_3'])
  })

  it('streams server-sent events: JSON objects, raw strings and named events', async () => {
    const running = await start({
      routes: {
        'GET /stream': () => ({
          sse: [
            { n: 1 },
            sseEvent({ event: 'message_stop', data: { type: 'message_stop' } }),
            sseEvent({ event: 'ping', id: '7', data: 'two\nlines' }),
            '[DONE]',
          ],
        }),
      },
    })
    const response = await fetch(`${running.url}/stream`)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(await response.text()).toBe(
      'data: {"n":1}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n' +
        'event: ping\nid: 7\ndata: two\ndata: lines\n\n' +
        'data: [DONE]\n\n',
    )
  })

  it('streams from an async iterable with a delay between events', async () => {
    async function* events() {
      yield { n: 1 }
      yield { n: 2 }
    }
    const running = await start({ routes: { 'GET /stream': () => ({ sse: events(), sseEventDelayMs: 30 }) } })
    const started = performance.now()
    expect(await (await fetch(`${running.url}/stream`)).text()).toBe('data: {"n":1}\n\ndata: {"n":2}\n\n')
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
  })

  it('logs method, path, query, parsed body, redacted headers and outcome', async () => {
    const running = await start({ routes: { 'POST /v1/things': () => ({ json: { ok: true } }) } })
    await fetch(`${running.url}/v1/things?limit=2`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sk-live-123',
        'x-api-key': 'key',
        'api-key': 'azure-key',
        'content-type': 'application/json',
        'x-trace': 'kept',
      },
      body: JSON.stringify({ b: 2, a: 1 }),
    })
    await running.whenIdle()
    const [entry] = running.requests
    expect(entry).toMatchObject({
      index: 0,
      method: 'POST',
      path: '/v1/things',
      query: '?limit=2',
      body: { b: 2, a: 1 },
      outcome: 'completed',
      status: 200,
      fault: undefined,
    })
    expect(entry?.headers).toMatchObject({
      authorization: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      'api-key': '[REDACTED]',
      'x-trace': 'kept',
    })
    expect(JSON.stringify(running.requests)).not.toContain('sk-live-123')
    expect(entry?.receivedAt).toBeTypeOf('number')
    expect(entry?.endedAt).toBeGreaterThanOrEqual(entry?.receivedAt ?? 0)
  })

  it('redacts every field of its log: registered secrets in the path, query, headers, body and injected fault', async () => {
    const secret = 'loopback-canary-3f9a1c'
    const release = registerSecret(secret)
    try {
      const seen: string[] = []
      const running = await start({
        fallback: ({ request }) => {
          seen.push(request.path, request.query, String((request.body as { note: string }).note))
          return { json: { ok: true } }
        },
      })
      const send = () =>
        fetch(`${running.url}/v1/${secret}?api-key=${secret}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-custom': secret },
          body: JSON.stringify({ note: `a ${secret}`, password: 'hunter2' }),
        })
      running.injectFaults([{ kind: 'status', status: 401, headers: { 'x-echo': secret }, body: `bad key ${secret}` }])
      await send()
      await send()
      await running.whenIdle()
      expect(JSON.stringify(running.requests)).not.toContain(secret)
      expect(running.requests[0]).toMatchObject({
        path: '/v1/[REDACTED]',
        query: '?api-key=[REDACTED]',
        headers: { 'x-custom': '[REDACTED]' },
        body: { note: 'a [REDACTED]', password: '[REDACTED]' },
        fault: { kind: 'status', status: 401, headers: { 'x-echo': '[REDACTED]' }, body: 'bad key [REDACTED]' },
        outcome: 'fault',
      })
      // What the server does with the request is unchanged: handlers see it as it came.
      expect(seen).toEqual([`/v1/${secret}`, `?api-key=${secret}`, `a ${secret}`])
    } finally {
      release()
    }
  })

  it('lets handlers see the unredacted headers', async () => {
    const running = await start({ routes: { 'GET /auth': ({ request }) => ({ json: request.headers.authorization }) } })
    const response = await fetch(`${running.url}/auth`, { headers: { authorization: 'Bearer secret' } })
    expect(await response.json()).toBe('Bearer secret')
  })

  it('logs client-closed when the client aborts before the response is complete', async () => {
    const running = await start({
      routes: {
        'GET /slow': () => ({ sse: Array.from({ length: 100 }, (_, n) => ({ n })), sseEventDelayMs: 20 }),
      },
    })
    const controller = new AbortController()
    const response = await fetch(`${running.url}/slow`, { signal: controller.signal })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    await waitFor(() => running.requests[0]?.outcome !== 'pending')
    expect(running.requests[0]?.outcome).toBe('client-closed')
    expect(running.inFlight).toBe(0)
  })

  it('logs client-closed when the client aborts during latency', async () => {
    const running = await start({ latency: 5_000, routes: { 'GET /x': () => ({ json: {} }) } })
    // Aborted once the server has the request (not on a client timer, which a busy machine could fire first).
    const controller = new AbortController()
    const pending = fetch(`${running.url}/x`, { signal: controller.signal })
    await waitFor(() => running.requests.length === 1)
    controller.abort()
    await expect(pending).rejects.toThrow()
    await waitFor(() => running.requests[0]?.outcome !== 'pending')
    expect(running.requests[0]?.outcome).toBe('client-closed')
    expect(running.requests[0]?.status).toBeUndefined()
  })

  it('delays responses by a fixed latency, and setLatency changes it mid-test', async () => {
    const running = await start({ latency: 80, routes: { 'GET /x': () => ({ json: {} }) } })
    let started = performance.now()
    await fetch(`${running.url}/x`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(75)

    running.setLatency({ minMs: 120, maxMs: 140 })
    started = performance.now()
    await fetch(`${running.url}/x`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(115)
  })

  it('counts in-flight requests and open sockets', async () => {
    let release: (() => void) | undefined
    const running = await start({
      routes: {
        'GET /wait': () =>
          new Promise((resolve) => {
            release = () => resolve({ json: { released: true } })
          }),
      },
    })
    expect(running.inFlight).toBe(0)
    expect(running.openSockets).toBe(0)
    const pending = fetch(`${running.url}/wait`)
    await waitFor(() => release !== undefined)
    expect(running.inFlight).toBe(1)
    expect(running.openSockets).toBe(1)
    release?.()
    expect(await (await pending).json()).toEqual({ released: true })
    await running.whenIdle()
    expect(running.inFlight).toBe(0)
  })

  it('setHandler adds, replaces and removes routes mid-test', async () => {
    const running = await start({ routes: { 'GET /x': () => ({ json: 1 }) } })
    expect(await (await fetch(`${running.url}/x`)).json()).toBe(1)
    running.setHandler('GET /x', () => ({ json: 2 }))
    expect(await (await fetch(`${running.url}/x`)).json()).toBe(2)
    running.setHandler('GET /x', undefined)
    expect((await fetch(`${running.url}/x`)).status).toBe(404)
  })

  it('uses the fallback for requests no route matches', async () => {
    const running = await start({ fallback: ({ request }) => ({ json: { fallback: request.path } }) })
    expect(await (await fetch(`${running.url}/any/where`)).json()).toEqual({ fallback: '/any/where' })
  })

  it('close() resolves promptly with idle keep-alive sockets and stalled requests, and is idempotent', async () => {
    const running = await startLoopbackServer({
      routes: {
        'GET /ok': () => ({ json: {} }),
        'GET /never': ({ signal }) =>
          new Promise((resolve) => signal.addEventListener('abort', () => resolve({ json: {} }))),
        'GET /stream': () => ({ sse: Array.from({ length: 1_000 }, (_, n) => ({ n })), sseEventDelayMs: 50 }),
      },
      faults: [undefined, { kind: 'stall-headers' }],
    })
    await (await fetch(`${running.url}/ok`)).text()
    const settle = (promise: Promise<Response>) =>
      promise.then(
        () => 'answered',
        () => 'failed',
      )
    const stalled = settle(fetch(`${running.url}/ok`))
    const never = settle(fetch(`${running.url}/never`))
    const streaming = await fetch(`${running.url}/stream`)
    await waitFor(() => running.inFlight === 3)
    expect(running.openSockets).toBeGreaterThanOrEqual(3)

    const first = running.close()
    expect(running.close()).toBe(first)
    await first
    expect(await stalled).toBe('failed')
    expect(await never).toBe('failed')
    await expect(streaming.text()).rejects.toThrow()
    expect(running.inFlight).toBe(0)
    expect(running.openSockets).toBe(0)
    expect(running.requests.map((entry) => entry.outcome)).toEqual([
      'completed',
      'fault',
      'server-closed',
      'server-closed',
    ])
    await expect(fetch(`${running.url}/ok`)).rejects.toThrow()
  })

  it('close() resolves only once every socket has closed and every logged request has its outcome', async () => {
    let entered: () => void = () => {}
    const handlerEntered = new Promise<void>((resolve) => {
      entered = resolve
    })
    const running = await start({
      routes: {
        'GET /ok': () => ({ json: {} }),
        'GET /stalled': () => {
          entered()
          return new Promise(() => {})
        },
      },
    })
    // One idle keep-alive connection, and one request whose handler never answers.
    await (await fetch(`${running.url}/ok`)).text()
    const stalled = fetch(`${running.url}/stalled`).catch(() => 'failed')
    await handlerEntered
    await running.close()
    expect(running.openSockets).toBe(0)
    expect(running.inFlight).toBe(0)
    expect(running.requests.map((entry) => entry.outcome)).toEqual(['completed', 'server-closed'])
    expect(running.requests[1]?.endedAt).toBeTypeOf('number')
    expect(await stalled).toBe('failed')
  })

  it('logs an answer that fails after its headers as server-closed, never as the client going away', async () => {
    const running = await start({
      routes: {
        'GET /source-throws': () => ({
          sse: (async function* () {
            yield { n: 1 }
            throw new Error('the event source broke')
          })(),
        }),
        // An event JSON cannot write, found only as it is sent (an undefined one is a 500 before the headers).
        'GET /unencodable': () => ({ sse: [{ n: 1 }, { n: 2n }] }),
      },
    })
    for (const path of ['/source-throws', '/unencodable']) {
      const read = await fetch(`${running.url}${path}`).then(
        (response) => response.text(),
        (error: unknown) => error,
      )
      expect(read).toBeInstanceOf(Error)
    }
    await running.whenIdle()
    expect(running.requests.map((entry) => entry.outcome)).toEqual(['server-closed', 'server-closed'])
  })

  it('answers 413 to a request body over maxRequestBytes, declared or sent, without reading it whole or calling the route', async () => {
    let routed = 0
    const routes = {
      'POST /echo': ({ request }: { request: { rawBody: Buffer } }) => {
        routed++
        return { json: { bytes: request.rawBody.length } }
      },
    }
    const running = await start({ routes, maxRequestBytes: 1_024 })
    const post = (body: string) => fetch(`${running.url}/echo`, { method: 'POST', body })
    expect(await (await post('x'.repeat(1_024))).json()).toEqual({ bytes: 1_024 })
    const refused = await post('x'.repeat(1_025))
    expect(refused.status).toBe(413)
    expect(await refused.json()).toEqual({
      error: {
        message: 'Request body too large: more than 1,024 bytes (maxRequestBytes)',
        type: 'request_too_large',
        param: null,
        code: null,
      },
    })
    // A chunked body that says nothing of its length is refused once more than the bound has come, while it is sent.
    const chunked = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const outgoing = httpRequest(`${running.url}/echo`, { method: 'POST' }, (incoming) => {
        let text = ''
        incoming.setEncoding('utf8')
        incoming.on('data', (chunk: string) => {
          text += chunk
        })
        incoming.on('end', () => {
          outgoing.end()
          resolve({ status: incoming.statusCode, body: text })
        })
      })
      outgoing.on('error', reject)
      // The request is never ended until the answer came: the server answers without waiting for the rest.
      outgoing.write('y'.repeat(2_048))
    })
    expect(chunked.status).toBe(413)
    expect(chunked.body).toContain('more than 1,024 bytes')
    expect(routed).toBe(1)
    await running.whenIdle()
    expect(running.requests.map((entry) => [entry.status, entry.outcome, entry.body])).toEqual([
      [200, 'completed', 'x'.repeat(1_024)],
      [413, 'completed', undefined],
      [413, 'completed', undefined],
    ])
    // The server is still up and answers the next request.
    expect(await (await post('ok')).json()).toEqual({ bytes: 2 })
  })

  it('refuses a body declared longer than 32 MiB by default, before any of it comes', async () => {
    const running = await start({ routes: { 'POST /echo': () => ({ json: {} }) } })
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(running.port, '127.0.0.1', () => {
        socket.write(`POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${32 * 1024 * 1024 + 1}\r\n\r\n`)
      })
      let text = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        text += chunk
        if (text.includes('request_too_large')) {
          socket.destroy()
          resolve(text)
        }
      })
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer).toContain('more than 33,554,432 bytes')
  })

  it('refuses a maxRequestBytes that is not a whole number of bytes ≥ 1', async () => {
    for (const maxRequestBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1024'] as never[]) {
      const started = startLoopbackServer({ maxRequestBytes })
      await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(/maxRequestBytes/)
    }
  })

  it('works with a plain node:http client', async () => {
    const running = await start({ routes: { 'PUT /raw': ({ request }) => ({ raw: Buffer.from(request.rawBody) }) } })
    const body = await new Promise<string>((resolve, reject) => {
      const outgoing = httpRequest(`${running.url}/raw`, { method: 'PUT' }, (incoming) => {
        let text = ''
        incoming.setEncoding('utf8')
        incoming.on('data', (chunk: string) => {
          text += chunk
        })
        incoming.on('end', () => resolve(text))
      })
      outgoing.on('error', reject)
      outgoing.end('not json')
    })
    expect(body).toBe('not json')
    expect(running.requests[0]?.body).toBe('not json')
  })
})
