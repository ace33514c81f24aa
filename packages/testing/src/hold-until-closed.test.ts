import { ConfigurationError } from '@tinyllm/core'
import { afterEach, describe, expect, it } from 'vitest'
import { holdUntilClosed } from './hold-until-closed.js'
import { type LoopbackServer, startLoopbackServer } from './loopback-server.js'

let server: LoopbackServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('holdUntilClosed', () => {
  it('resolves when the request arrives, answers nothing, and lets it end when the client leaves', async () => {
    server = await startLoopbackServer({ routes: { 'POST /v1/work': () => ({ json: { done: true } }) } })
    const arrived = holdUntilClosed(server, 'POST /v1/work')
    const controller = new AbortController()
    const call = fetch(`${server.url}/v1/work`, { method: 'POST', signal: controller.signal })
    await arrived
    expect(server.inFlight).toBe(1)
    controller.abort()
    await expect(call).rejects.toMatchObject({ name: 'AbortError' })
    await server.whenIdle()
    expect(server.requests.map((request) => request.outcome)).toEqual(['client-closed'])
  })

  it('rejects with a ConfigurationError a server that is none, or a route it refuses, never a TypeError', async () => {
    const unreadable = new Proxy(
      {},
      {
        get() {
          throw new Error('gone')
        },
      },
    )
    const cases: Array<[unknown, string, string]> = [
      [null, 'POST /x', 'holdUntilClosed: server must be a LoopbackServer (with setHandler), got null'],
      [{}, 'POST /x', 'holdUntilClosed: server must be a LoopbackServer (with setHandler)'],
      [unreadable, 'POST /x', 'holdUntilClosed: server could not be read: Error: gone'],
    ]
    for (const [given, route, message] of cases) {
      const held = holdUntilClosed(given as never, route as never)
      await expect(held).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(held).rejects.toThrow(message)
    }
    server = await startLoopbackServer({})
    await expect(holdUntilClosed(server, 'FETCH /x' as never)).rejects.toThrow(/^setHandler: route must be/)
  })
})
