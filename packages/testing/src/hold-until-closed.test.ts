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
})
