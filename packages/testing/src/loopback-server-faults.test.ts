import { request as httpRequest } from 'node:http'
import { ConfigurationError } from '@tinyllm/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Fault } from './fault.js'
import type { RouteContext } from './loopback-response.js'
import type { LoopbackServer, LoopbackServerOptions } from './loopback-server.js'
import { startLoopbackServer } from './loopback-server.js'
import { parseSseEvents, sseEvent } from './sse.js'

let server: LoopbackServer | undefined

const threeEvents = () => ({ sse: [{ n: 1 }, { n: 2 }, { n: 3 }, '[DONE]'] })
const jsonAnswer = () => ({ json: { answer: 'a fairly long answer so that half of it is still something' } })

async function start(options: LoopbackServerOptions): Promise<LoopbackServer> {
  server = await startLoopbackServer({ routes: { 'GET /json': jsonAnswer, 'GET /stream': threeEvents }, ...options })
  return server
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

/** Reads a body until it ends or fails, returning what arrived and how it ended. */
async function readAll(response: Response): Promise<{ text: string; error: unknown }> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text, error: undefined }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

/** A raw node:http GET that reports whether headers arrived and what error ended it. */
function rawGet(
  url: string,
): Promise<{ status: number | undefined; body: string; error: NodeJS.ErrnoException | undefined }> {
  return new Promise((resolve) => {
    let status: number | undefined
    let body = ''
    const outgoing = httpRequest(url, (incoming) => {
      status = incoming.statusCode
      incoming.setEncoding('utf8')
      incoming.on('data', (chunk: string) => {
        body += chunk
      })
      incoming.on('end', () => resolve({ status, body, error: undefined }))
      incoming.on('error', (error) => resolve({ status, body, error }))
    })
    outgoing.on('error', (error) => resolve({ status, body, error }))
    outgoing.end()
  })
}

describe('loopback server faults', () => {
  it('status: any status with headers and the default error body', async () => {
    const running = await start({
      faults: [
        {
          kind: 'status',
          status: 429,
          headers: { 'retry-after': '2', 'retry-after-ms': '1500', 'x-request-id': 'req_custom' },
        },
        { kind: 'status', status: 503, body: 'upstream unavailable' },
      ],
    })
    const limited = await fetch(`${running.url}/json`)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('2')
    expect(limited.headers.get('retry-after-ms')).toBe('1500')
    expect(limited.headers.get('x-request-id')).toBe('req_custom')
    expect(await limited.json()).toEqual({
      error: { message: 'Injected fault: HTTP 429', type: 'rate_limit_error', param: null, code: null },
    })

    const unavailable = await fetch(`${running.url}/json`)
    expect(unavailable.status).toBe(503)
    expect(unavailable.headers.get('x-request-id')).toBe('req_1')
    expect(await unavailable.text()).toBe('upstream unavailable')

    expect((await fetch(`${running.url}/json`)).status).toBe(200)
    await running.whenIdle()
    expect(running.requests.map((entry) => entry.outcome)).toEqual(['fault', 'fault', 'completed'])
    expect(running.requests[0]?.fault).toMatchObject({ kind: 'status', status: 429 })
    expect(running.faultCounts.status).toBe(2)
  })

  it('reset-before-headers: the client gets a connection error and no status', async () => {
    const running = await start({ faults: [{ kind: 'reset-before-headers' }, { kind: 'reset-before-headers' }] })
    await expect(fetch(`${running.url}/json`)).rejects.toThrow(TypeError)
    const raw = await rawGet(`${running.url}/json`)
    expect(raw.status).toBeUndefined()
    expect(raw.error?.code).toMatch(/ECONNRESET|EPIPE/)
    expect(running.faultCounts['reset-before-headers']).toBe(2)
  })

  it('reset-after-headers: headers and part of the body arrive, then the connection dies', async () => {
    const running = await start({ faults: [{ kind: 'reset-after-headers' }, { kind: 'reset-after-headers' }] })
    const response = await fetch(`${running.url}/json`)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-request-id')).toBe('req_0')
    const { text, error } = await readAll(response)
    expect(error).toBeDefined()
    const full = JSON.stringify(jsonAnswer().json)
    expect(text.length).toBeGreaterThan(0)
    expect(full.startsWith(text)).toBe(true)
    expect(text.length).toBeLessThan(full.length)

    const stream = await fetch(`${running.url}/stream`)
    expect(stream.headers.get('content-type')).toContain('text/event-stream')
    const streamed = await readAll(stream)
    expect(streamed.error).toBeDefined()
    expect(streamed.text).toBe('data: {') // half of 'data: {"n":1}\n\n'
  })

  it('stall-headers with ms: the response comes after the stall', async () => {
    const running = await start({ faults: [{ kind: 'stall-headers', ms: 100 }] })
    const started = performance.now()
    const response = await fetch(`${running.url}/json`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(95)
    expect(await response.json()).toEqual(jsonAnswer().json)
    await running.whenIdle()
    expect(running.requests[0]?.outcome).toBe('fault')
  })

  it('stall-headers without ms: no response until the client gives up', async () => {
    const running = await start({ faults: [{ kind: 'stall-headers' }] })
    // The client gives up once the server holds the request (not on a timer a busy machine could fire first).
    const controller = new AbortController()
    const pending = fetch(`${running.url}/json`, { signal: controller.signal })
    while (running.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    await expect(pending).rejects.toThrow()
    await running.whenIdle()
    expect(running.requests[0]).toMatchObject({ outcome: 'fault', status: undefined })
  })

  it('stall-stream: events before the stall arrive, the rest after it', async () => {
    const running = await start({ faults: [{ kind: 'stall-stream', afterEvents: 2, ms: 100 }] })
    const started = performance.now()
    const response = await fetch(`${running.url}/stream`)
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let received = ''
    while (!received.includes('{"n":2}')) received += decoder.decode((await reader.read()).value)
    expect(received).toBe('data: {"n":1}\n\ndata: {"n":2}\n\n')
    const beforeStall = performance.now()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      received += decoder.decode(value)
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(95)
    expect(performance.now() - beforeStall).toBeGreaterThan(0)
    expect(received).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: {"n":3}\n\ndata: [DONE]\n\n')
  })

  it('stall-stream without ms: the stream hangs after afterEvents until the client aborts', async () => {
    const running = await start({ faults: [{ kind: 'stall-stream', afterEvents: 1 }] })
    const controller = new AbortController()
    const response = await fetch(`${running.url}/stream`, { signal: controller.signal })
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"n":1}\n\n')
    const next = reader.read()
    setTimeout(() => controller.abort(), 50)
    await expect(next).rejects.toThrow()
    await running.whenIdle()
    expect(running.requests[0]?.outcome).toBe('fault')
  })

  it('cut-stream: whole events, then half an event, then the connection dies', async () => {
    const running = await start({ faults: [{ kind: 'cut-stream', afterEvents: 2 }] })
    const { text, error } = await readAll(await fetch(`${running.url}/stream`))
    expect(error).toBeDefined()
    expect(text).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: {')
    expect(running.faultCounts['cut-stream']).toBe(1)
  })

  it('cut-stream and stall-stream past the one chunk of a plain body still fail it: never a whole answer', async () => {
    const running = await start({
      keepAliveTimeoutMs: 60_000,
      faults: [
        { kind: 'cut-stream', afterEvents: 1 },
        { kind: 'cut-stream', afterEvents: 5 },
        { kind: 'stall-stream', afterEvents: 3 },
      ],
    })
    const full = JSON.stringify(jsonAnswer().json)
    for (const _cut of [1, 5]) {
      const { text, error } = await readAll(await fetch(`${running.url}/json`))
      expect(error).toBeDefined()
      expect(text).toBe(full.slice(0, Math.floor(full.length / 2)))
    }
    // The stall holds the body back: the client waits for it until it gives up, and the request ends then.
    const controller = new AbortController()
    const response = await fetch(`${running.url}/json`, { signal: controller.signal })
    const body = response.text()
    while (running.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    await expect(body).rejects.toThrow()
    await running.whenIdle()
    expect(running.requests.map((request) => request.outcome)).toEqual(['fault', 'fault', 'fault'])
    expect(running.inFlight).toBe(0)
  })

  it('malformed-json: a 200 whose JSON body does not parse; for streams a broken first event', async () => {
    const running = await start({ faults: [{ kind: 'malformed-json' }, { kind: 'malformed-json' }] })
    const response = await fetch(`${running.url}/json`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    await expect(response.json()).rejects.toThrow(SyntaxError)

    const stream = await (await fetch(`${running.url}/stream`)).text()
    const firstData = stream.split('\n\n')[0]?.replace(/^data: /, '') ?? ''
    expect(() => JSON.parse(firstData)).toThrow(SyntaxError)
    expect(stream).toContain('data: [DONE]')
  })

  it('malformed-json: a named stream gets a broken first event of the same name, which a client reading names meets', async () => {
    const named = () => ({ sse: [sseEvent({ event: 'message_start', data: { type: 'message_start' } })] })
    const running = await start({ faults: [{ kind: 'malformed-json' }], routes: { 'GET /named': named } })
    const events = parseSseEvents(await (await fetch(`${running.url}/named`)).text())
    expect(events.map((event) => event.event)).toEqual(['message_start', 'message_start'])
    expect(() => JSON.parse(events[0]?.data ?? '')).toThrow(SyntaxError)
    expect(JSON.parse(events[1]?.data ?? '')).toEqual({ type: 'message_start' })
  })

  it('oversized: a valid JSON body of exactly the requested size', async () => {
    const running = await start({ faults: [{ kind: 'oversized', bytes: 5_000_000 }] })
    const response = await fetch(`${running.url}/json`)
    expect(response.headers.get('content-length')).toBe('5000000')
    const text = await response.text()
    expect(text.length).toBe(5_000_000)
    expect(JSON.parse(text)).toHaveProperty('padding')
  })

  it('faults can come from a function of the request index and request', async () => {
    const running = await start({
      faults: (index, request) =>
        request.path === '/stream' || index === 2 ? { kind: 'status', status: 500 } : undefined,
    })
    const statuses = []
    for (const path of ['/json', '/stream', '/json', '/json'])
      statuses.push((await fetch(`${running.url}${path}`)).status)
    expect(statuses).toEqual([200, 500, 500, 200])
  })

  it('injectFaults schedules relative to the next request; clearFaults removes every setting', async () => {
    const running = await start({})
    expect((await fetch(`${running.url}/json`)).status).toBe(200)
    running.injectFaults([{ kind: 'status', status: 502 }, undefined, { kind: 'status', status: 504 }])
    const statuses = []
    for (let index = 0; index < 4; index++) statuses.push((await fetch(`${running.url}/json`)).status)
    expect(statuses).toEqual([502, 200, 504, 200])

    running.injectFaults({ faultRate: 1, faultMix: [{ fault: { kind: 'status', status: 418 } }] })
    expect((await fetch(`${running.url}/json`)).status).toBe(418)
    running.clearFaults()
    expect((await fetch(`${running.url}/json`)).status).toBe(200)
  })

  it('refuses a fault mix entry with a key it does not know: a misspelt weight would be drawn at weight 1', async () => {
    const running = await start({})
    const misspelt = { faultRate: 0.5, faultMix: [{ fault: { kind: 'status', status: 503 }, wieght: 0 }] }
    let error: unknown
    try {
      running.injectFaults(misspelt as never)
    } catch (thrown) {
      error = thrown
    }
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toBe(
      'injectFaults: faultMix[0].wieght is not an option; did you mean faultMix[0].weight? (known: fault, weight)',
    )
    // Nothing changed: the server answers as before.
    expect((await fetch(`${running.url}/json`)).status).toBe(200)
  })

  it('keeps the faults it checked: a list, a mix or a fault changed afterwards changes nothing', async () => {
    const status: { kind: 'status'; status: number; headers: Record<string, string> } = {
      kind: 'status',
      status: 503,
      headers: { 'retry-after': '1' },
    }
    const faults: Array<Fault | undefined> = [status]
    const running = await start({ faults })
    faults.push({ kind: 'typo' } as never, { kind: 'stall-headers', ms: 'forever' } as never)
    status.status = 200
    status.headers['retry-after'] = 'a\nb'
    const first = await fetch(`${running.url}/json`)
    expect([first.status, first.headers.get('retry-after')]).toEqual([503, '1'])
    expect((await fetch(`${running.url}/json`)).status).toBe(200)
    expect((await fetch(`${running.url}/json`)).status).toBe(200)

    const mix = [{ fault: { kind: 'status', status: 418 } as Fault }]
    running.injectFaults({ faultRate: 1, faultMix: mix })
    mix[0] = { fault: { kind: 'nonsense' } as never }
    expect((await fetch(`${running.url}/json`)).status).toBe(418)
    await running.whenIdle()
    expect(running.requests.map((request) => request.outcome)).toEqual(['fault', 'completed', 'completed', 'fault'])
    expect(Object.keys(running.faultCounts)).toHaveLength(8)
  })

  it("keeps a status fault's body as the JSON it checked, and refuses one that is no JSON", async () => {
    const body: Record<string, unknown> = { error: { message: 'as injected' } }
    const running = await start({ faults: [{ kind: 'status', status: 503, body }] })
    body.error = { message: 'changed afterwards' }
    const answer = await fetch(`${running.url}/json`)
    expect([answer.status, await answer.json()]).toEqual([503, { error: { message: 'as injected' } }])
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const throwing = {
      get message(): never {
        throw new Error('unreadable')
      },
    }
    for (const bad of [cyclic, throwing, 1n, Symbol('body')]) {
      expect(() => running.injectFaults([{ kind: 'status', status: 500, body: bad }])).toThrow(
        'injectFaults: faults[0].body must be a string or a JSON value',
      )
    }
    expect((await fetch(`${running.url}/json`)).status).toBe(200)
  })

  it('hands route handlers the fault frozen: changing it cannot change how this request or later ones fail', async () => {
    const refused: string[] = []
    const handler = ({ fault }: RouteContext) => {
      try {
        Object.assign(fault as object, { afterEvents: 2 })
      } catch (error) {
        refused.push((error as Error).name)
      }
      return { sse: [{ n: 1 }, { n: 2 }, { n: 3 }, '[DONE]'] }
    }
    const running = await start({
      routes: { 'GET /stream': handler },
      faultRate: 1,
      faultMix: [{ fault: { kind: 'cut-stream', afterEvents: 1 } }],
    })
    for (let index = 0; index < 2; index++) {
      const { text, error } = await readAll(await fetch(`${running.url}/stream`))
      expect(error).toBeDefined()
      expect([text.includes('"n":1'), text.includes('"n":2')], `request ${index}`).toEqual([true, false])
    }
    expect(refused).toEqual(['TypeError', 'TypeError'])
  })

  it('reads a sparse list of faults as long as a list can be at once, by its entries', async () => {
    const faults: Array<Fault | undefined> = []
    faults.length = 2 ** 32 - 1
    faults[1] = { kind: 'status', status: 500 }
    const running = await start({})
    running.injectFaults(faults)
    const statuses = []
    for (let index = 0; index < 3; index++) statuses.push((await fetch(`${running.url}/json`)).status)
    expect(statuses).toEqual([200, 500, 200])
    faults[2] = { kind: 'typo' } as never
    expect(() => running.injectFaults(faults)).toThrow("injectFaults: faults[2] must be a fault of kind 'status'")
  })

  it('faultRate draws from a weighted mix, reproducibly for a given seed', async () => {
    const sequence = async (seed: number): Promise<number[]> => {
      const running = await startLoopbackServer({
        routes: { 'GET /json': jsonAnswer },
        seed,
        faultRate: 0.5,
        faultMix: [
          { fault: { kind: 'status', status: 500 }, weight: 3 },
          { fault: { kind: 'status', status: 429 }, weight: 1 },
          { fault: { kind: 'status', status: 418 }, weight: 0 },
        ],
      })
      const statuses: number[] = []
      for (let index = 0; index < 40; index++) statuses.push((await fetch(`${running.url}/json`)).status)
      expect(running.faultCounts.status).toBe(statuses.filter((status) => status !== 200).length)
      await running.close()
      return statuses
    }
    const first = await sequence(42)
    expect(await sequence(42)).toEqual(first)
    expect(first).toContain(200)
    expect(first).toContain(500)
    expect(first).not.toContain(418)
    expect(new Set(first)).toEqual(new Set([200, 500, 429]))
  })

  it('counts faults by kind, every kind starting at zero', async () => {
    const faults: Fault[] = [{ kind: 'malformed-json' }, { kind: 'status', status: 500 }]
    const running = await start({ faults })
    await (await fetch(`${running.url}/json`)).text()
    await (await fetch(`${running.url}/json`)).text()
    expect(running.faultCounts).toEqual({
      status: 1,
      'reset-before-headers': 0,
      'reset-after-headers': 0,
      'stall-headers': 0,
      'stall-stream': 0,
      'cut-stream': 0,
      'malformed-json': 1,
      oversized: 0,
    })
  })
})
