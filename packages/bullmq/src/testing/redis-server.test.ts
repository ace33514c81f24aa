import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startRedisServer } from './redis-server.js'

describe('startRedisServer', () => {
  it('rejects when another Redis holds the port, instead of handing out that server as its own', async () => {
    const first = await startRedisServer()
    const client = new Redis(first.url)
    try {
      await client.set('owner', 'first')
      const taken = await startRedisServer({ port: first.port }).catch((error: unknown) => error)
      expect(taken).toBeInstanceOf(Error)
      expect((taken as Error).message).toMatch(/exited \(code 1\) before answering/)
      // The port is taken between a kill and a start (another test's server got it): the start rejects, rather than
      // a "restarted" server that is someone else's, whose kill would kill nothing.
      const second = await startRedisServer()
      await second.kill()
      const thief = await startRedisServer({ port: second.port })
      try {
        const restarted = await second.start().catch((error: unknown) => error)
        expect(restarted).toBeInstanceOf(Error)
        expect((restarted as Error).message).toMatch(/exited \(code 1\) before answering/)
      } finally {
        await thief.stop()
        await second.stop()
      }
      expect(await client.get('owner')).toBe('first')
    } finally {
      client.disconnect()
      await first.stop()
    }
  })
})
