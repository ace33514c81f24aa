import { ConfigurationError } from '@tinyllm/core'
import { afterEach, describe, expect, it } from 'vitest'
import { DelegatingLoopbackServer } from './delegating-loopback-server.js'
import type { LoopbackServer } from './loopback-server.js'
import { startLoopbackServer } from './loopback-server.js'

const servers: LoopbackServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('DelegatingLoopbackServer', () => {
  it('refuses at construction a server that is not a LoopbackServer, instead of failing at each later use', () => {
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const throwing = Object.defineProperty({}, 'setHandler', {
      get() {
        throw new Error('getter')
      },
    })
    const candidates = [null, undefined, 5, 'http://127.0.0.1', {}, { setHandler: 1 }, revoked.proxy, throwing]
    for (const [index, server] of candidates.entries()) {
      expect(() => new DelegatingLoopbackServer(server as never), `server ${index}`).toThrow(ConfigurationError)
      expect(() => new DelegatingLoopbackServer(server as never)).toThrow(
        /^DelegatingLoopbackServer: server (must be a LoopbackServer|could not be read)/,
      )
    }
  })

  it('forwards to the server it was given', async () => {
    const server = await startLoopbackServer({ routes: { 'GET /x': () => ({ json: { ok: true } }) } })
    servers.push(server)
    const delegating = new DelegatingLoopbackServer(server)
    expect(delegating.url).toBe(server.url)
    expect(await (await fetch(`${delegating.url}/x`)).json()).toEqual({ ok: true })
    expect(delegating.requests).toHaveLength(1)
  })
})
