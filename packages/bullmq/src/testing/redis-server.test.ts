import { ConfigurationError } from '@tinyllm/core'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startRedisServer } from './redis-server.js'

describe('startRedisServer', () => {
  it('refuses options it does not know or of the wrong type with a ConfigurationError, starting nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ prot: 6379 }, 'startRedisServer: prot is not an option; did you mean port?'],
      [{ port: 'abc' }, 'startRedisServer: port must be an integer ≥ 1 and ≤ 65535, got "abc"'],
      [{ port: -1 }, 'port must be an integer ≥ 1 and ≤ 65535, got -1'],
      [{ port: 1.5 }, 'port must be an integer ≥ 1 and ≤ 65535, got 1.5'],
      [{ appendOnly: 'no' }, 'startRedisServer: appendOnly must be true or false, got "no"'],
      [{ directory: 5 }, 'startRedisServer: directory must be a non-empty string, got 5'],
      [{ binary: '' }, 'startRedisServer: binary must be a non-empty string, got ""'],
      [null, 'startRedisServer: options must be an object, got null'],
    ]
    for (const [options, message] of cases) {
      const started = startRedisServer(options as never)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
  })

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
