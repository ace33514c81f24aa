import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError } from '@tinyllm/core'
import { afterEach, describe, expect, it } from 'vitest'
import { type EchoContext, type EchoReply, type EchoRequest, echoRoute } from './__fixtures__/echo-route.js'
import { createCassette } from './cassette.js'
import type { Fault } from './fault.js'
import type { RouteContext } from './loopback-response.js'
import type { LoopbackServer } from './loopback-server.js'
import {
  type ScriptedApiDefinition,
  ScriptedLoopbackServer,
  type ScriptedServerOptions,
  startScriptedApiServer,
  startScriptedLoopbackServer,
} from './scripted-server.js'

class EchoServer extends ScriptedLoopbackServer<EchoRequest, EchoContext, EchoReply> {
  get echoRequests(): readonly EchoRequest[] {
    return this.route.requests
  }
}

describe('startScriptedLoopbackServer and ScriptedLoopbackServer', () => {
  const running: LoopbackServer[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()))
  })

  async function startEcho(options: ScriptedServerOptions<unknown> = {}): Promise<EchoServer> {
    const route = echoRoute()
    const answer = async ({ request, requestIndex }: RouteContext) => {
      const reply = await route.next(request.body as EchoRequest, requestIndex)
      return typeof reply === 'string' ? { json: { text: reply } } : { status: reply.error.status, json: reply }
    }
    const server = await startScriptedLoopbackServer(options, {
      name: 'startEchoServer',
      optionKeys: ['echoPrefix'],
      routes: { 'POST /v1/echo': answer },
      formatError: ({ status, message }) => ({ problem: { status, message } }),
    })
    running.push(server)
    return new EchoServer(server, route, '/v1')
  }

  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  it('serves the API route, its baseURL and the requests it received, and takes new replies', async () => {
    const server = await startEcho()
    expect(server.baseURL).toBe(`${server.url}/v1`)
    expect(await (await post(`${server.baseURL}/echo`, { text: 'hi' })).json()).toEqual({ text: 'hi' })
    server.setReplies(['scripted'])
    expect(await (await post(`${server.baseURL}/echo`, { text: 'hi' })).json()).toEqual({ text: 'scripted' })
    expect(server.echoRequests).toEqual([{ text: 'hi' }, { text: 'hi' }])
    expect(server.requests).toHaveLength(2)
  })

  it("lets the API's routes win over the caller's on a clash, keeps the caller's others, and shapes errors", async () => {
    const server = await startEcho({
      routes: { 'POST /v1/echo': () => ({ json: 'caller' }), 'GET /v1/health': () => ({ json: { ok: true } }) },
    })
    expect(await (await post(`${server.baseURL}/echo`, { text: 'api' })).json()).toEqual({ text: 'api' })
    expect(await (await fetch(`${server.baseURL}/health`)).json()).toEqual({ ok: true })
    const missing = await fetch(`${server.url}/nowhere`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ problem: { status: 404 } })
  })

  it("refuses an option neither the toolkit nor the API knows, naming the API's start function", async () => {
    const started = startEcho({ replys: ['x'] } as never)
    await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(started).rejects.toThrow(/^startEchoServer: replys is not an option; did you mean replies\?/)
    await expect(startEcho({ echoPrefix: '>', replies: ['x'], seed: 3 } as never)).resolves.toBeDefined()
  })

  it('refuses a chunkChars, pause, replies or cycleReplies it could not use, instead of losing or mangling replies', async () => {
    const cases: Array<[object, string]> = [
      [{ chunkChars: Number.NaN }, 'startEchoServer: chunkChars must be an integer ≥ 1, got NaN'],
      [{ chunkChars: 0 }, 'chunkChars must be an integer ≥ 1, got 0'],
      [{ chunkChars: '2' }, 'chunkChars must be an integer ≥ 1, got "2"'],
      [{ streamEventDelayMs: Number.NaN }, 'startEchoServer: streamEventDelayMs must be a number of ms ≥ 0, got NaN'],
      [{ replies: 'hello' }, 'startEchoServer: replies must be a list of replies or a function of the request'],
      [{ replies: { text: 'hi' } }, 'replies must be a list of replies or a function of the request, got an object'],
      [{ replies: ['a'], cycleReplies: 'no' }, 'startEchoServer: cycleReplies must be a boolean, got "no"'],
    ]
    for (const [options, message] of cases) {
      const started = startEcho(options as never)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
    const server = await startEcho({ chunkChars: 2, streamEventDelayMs: 0, replies: ['x'], cycleReplies: false })
    expect(() => server.setReplies('hello' as never)).toThrow('setReplies: replies must be a list of replies')
    // Its options are checked as the server's are: a misspelt or mistyped cycle is not ignored.
    const badOptions: Array<[unknown, string]> = [
      [{ cylce: true }, 'setReplies: cylce is not an option; did you mean cycle?'],
      [{ cycle: 'yes' }, 'setReplies: cycle must be a boolean, got "yes"'],
      [null, 'setReplies: options must be an object'],
    ]
    for (const [options, message] of badOptions) {
      expect(() => server.setReplies(['y'], options as never), JSON.stringify(options)).toThrow(message)
      expect(() => server.setReplies(['y'], options as never)).toThrow(ConfigurationError)
    }
    server.setReplies(['x'])
    expect(await (await post(`${server.baseURL}/echo`, { text: 'hi' })).json()).toEqual({ text: 'x' })
  })

  it('leaves the reply of a faulted request for the request after it, whatever the fault', async () => {
    const faults: Fault[] = [
      { kind: 'status', status: 503 },
      { kind: 'reset-before-headers' },
      { kind: 'reset-after-headers' },
      { kind: 'cut-stream', afterEvents: 0 },
      { kind: 'malformed-json' },
      { kind: 'stall-stream', afterEvents: 0, ms: 0 },
    ]
    for (const fault of faults) {
      const server = await startEcho()
      server.setReplies(['first', 'second'])
      server.injectFaults([fault])
      await post(`${server.baseURL}/echo`, { text: 'hi' })
        .then((response) => response.text())
        .catch(() => 'cut')
      const retry = await post(`${server.baseURL}/echo`, { text: 'hi' })
      expect(await retry.json(), fault.kind).toEqual({ text: 'first' })
      expect(await (await post(`${server.baseURL}/echo`, { text: 'hi' })).json(), fault.kind).toEqual({
        text: 'second',
      })
      await server.whenIdle()
      expect(server.requests.map((request) => request.outcome)).toEqual(['fault', 'completed', 'completed'])
    }
  })

  it('leaves the API routes out when a cassette answers instead', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tinyllm-scripted-'))
    try {
      const path = join(directory, 'echo.cassette.json')
      const recorded = { method: 'POST', path: '/v1/echo', body: { text: 'hi' } }
      const response = { status: 200, headers: {}, body: { text: 'recorded' } }
      await writeFile(path, JSON.stringify({ version: 1, interactions: [{ request: recorded, response }] }))
      const server = await startEcho({ cassette: createCassette({ path, mode: 'replay' }) })
      expect(await (await post(`${server.baseURL}/echo`, { text: 'hi' })).json()).toEqual({ text: 'recorded' })
      expect(server.echoRequests).toEqual([])
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})

describe('startScriptedApiServer', () => {
  const running: LoopbackServer[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()))
  })

  const echoApi: ScriptedApiDefinition<EchoRequest, EchoContext, EchoReply, { prefix: string }, 'echoRequests'> = {
    name: 'startEchoApiServer',
    optionKeys: ['prefix'],
    readOptions: ({ prefix = '' }) => {
      if (typeof prefix !== 'string')
        throw new ConfigurationError({ option: 'prefix', message: 'prefix must be a string' })
      return { prefix }
    },
    route: 'POST /v1/echo',
    requestsName: 'echoRequests',
    baseURLPath: '/v1',
    requestName: 'echo request',
    echo: (request) => request.text,
    context: (requestIndex, echoIndex) => ({ requestIndex, echoIndex }),
    refusal: ({ request }) =>
      typeof (request.body as EchoRequest).text === 'string' ? undefined : { status: 400, message: 'no text' },
    respond: (reply, _body, _request, { prefix }) => ({ json: { text: `${prefix}${reply}` } }),
    errorResponse: (error, { requestId }) => ({ status: error.status, json: { problem: error.message, requestId } }),
    otherRoutes: ({ prefix }) => ({ 'GET /v1/prefix': () => ({ json: { prefix } }) }),
    formatError: ({ status, message }) => ({ problem: `${status} ${message}` }),
  }
  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  it("answers the API's route from the script in its wire shape, refusals and used-up scripts in its error shape", async () => {
    const options = { prefix: '> ', replies: ['one', { error: { status: 429, message: 'slow down' } }] }
    const server = await startScriptedApiServer(options, echoApi)
    running.push(server)
    expect(server.baseURL).toBe(`${server.url}/v1`)
    expect(await (await post(`${server.baseURL}/echo`, { text: 'hi' })).json()).toEqual({ text: '> one' })
    const refused = await post(`${server.baseURL}/echo`, { words: 'hi' })
    expect([refused.status, await refused.json()]).toEqual([400, { problem: 'no text', requestId: 'req_1' }])
    const scripted = await post(`${server.baseURL}/echo`, { text: 'hi' })
    expect([scripted.status, ((await scripted.json()) as { problem: string }).problem]).toEqual([429, 'slow down'])
    const usedUp = await post(`${server.baseURL}/echo`, { text: 'hi' })
    expect([usedUp.status, ((await usedUp.json()) as { problem: string }).problem]).toEqual([
      500,
      expect.stringContaining('used up'),
    ])
    expect(server.echoRequests).toEqual([{ text: 'hi' }, { text: 'hi' }, { text: 'hi' }])
    expect(await (await fetch(`${server.baseURL}/prefix`)).json()).toEqual({ prefix: '> ' })
    server.setReplies(undefined)
    expect(await (await post(`${server.baseURL}/echo`, { text: 'echoed' })).json()).toEqual({ text: '> echoed' })
  })

  it('rejects, never throws, with the ConfigurationError of an option the API or the toolkit refuses', async () => {
    const refused = startScriptedApiServer({ prefix: 3 } as never, echoApi)
    await expect(refused).rejects.toThrow(/prefix must be a string/)
    await expect(startScriptedApiServer({ prefx: '>' } as never, echoApi)).rejects.toThrow(
      /^startEchoApiServer: prefx is not an option; did you mean prefix\?/,
    )
  })
})
