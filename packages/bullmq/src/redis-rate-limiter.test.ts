import { AbortError, ConfigurationError } from '@tinyllm/core'
import { RateLimitError } from '@tinyllm/llm'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { busiestWindow, type GrantRecord } from './__fixtures__/sliding-window.ts'
import { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js'
import { type RedisServer, startRedisServer } from './testing/index.js'

let redis: RedisServer
let admin: Redis

beforeAll(async () => {
  redis = await startRedisServer()
  admin = new Redis(redis.url)
})

afterAll(async () => {
  admin?.disconnect()
  await redis?.stop()
})

const open: RedisRateLimiter[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((limiter) => limiter.close()))
})

/** `count` limiters sharing one name, as separate processes would (each its own connection). */
function limiters(count: number, options: Omit<RedisRateLimiterOptions, 'connection' | 'name'>) {
  const name = `limiter-${Math.random().toString(36).slice(2)}`
  return Array.from({ length: count }, () => {
    const limiter = new RedisRateLimiter({ connection: redis.url, name, ...options })
    open.push(limiter)
    return limiter
  })
}

async function serverTimeMs(): Promise<number> {
  const [seconds, micros] = await admin.time()
  return Number(seconds) * 1000 + Number(micros) / 1000
}

describe('RedisRateLimiter', () => {
  it('never grants more requests than the limit in any window, across every limiter sharing its name', async () => {
    const windowMs = 1_000
    const shared = limiters(3, { requestsPerMinute: 10, windowMs })
    const grants: GrantRecord[] = []
    await Promise.all(
      Array.from({ length: 36 }, async (_, index) => {
        const permit = await shared[index % 3]!.acquire()
        grants.push({ at: permit.grantedAt, tokens: permit.tokens })
      }),
    )
    expect(grants).toHaveLength(36)
    expect(busiestWindow(grants, windowMs).requests).toBe(10)
  })

  it('never grants more tokens than the limit in any window; settling for less frees room', async () => {
    const windowMs = 1_000
    const [first, second] = limiters(2, { tokensPerMinute: 100, windowMs })
    const grants: GrantRecord[] = []
    await Promise.all(
      Array.from({ length: 9 }, async (_, index) => {
        const permit = await (index % 2 === 0 ? first! : second!).acquire({ tokens: 30 })
        grants.push({ at: permit.grantedAt, tokens: permit.tokens })
      }),
    )
    expect(busiestWindow(grants, windowMs).tokens).toBeLessThanOrEqual(100)
    const status = await first!.status()
    expect(status.tokens).toBeLessThanOrEqual(100)
  })

  it('never grants past tokensPerMinute when fractional grants leave the running sum above the sum of its parts', async () => {
    const [limiter] = limiters(1, { tokensPerMinute: 10, windowMs: 60_000 })
    // A hundred grants of 0.1 fill the window: Redis sums them to 10, the script adds them up to a hair below.
    for (let index = 0; index < 100; index++) await limiter!.acquire({ tokens: 0.1 })
    const controller = new AbortController()
    const full = limiter!.acquire({ tokens: 10 }, controller.signal).catch((error: unknown) => error)
    // Asked after the acquisition, on the same connection: answered after the server has decided it.
    const status = await limiter!.status()
    expect(status.requests).toBe(100)
    expect(status.tokens).toBeLessThanOrEqual(10)
    controller.abort()
    expect(AbortError.isInstance(await full)).toBe(true)
  })

  it('counts what a call really used once it is settled', async () => {
    const [limiter] = limiters(1, { tokensPerMinute: 100, windowMs: 60_000 })
    const permit = await limiter!.acquire({ tokens: 80 })
    limiter!.settle(permit, 10)
    // The settled figure frees 70 tokens at once: a call of 85 fits in the same window.
    const next = await limiter!.acquire({ tokens: 85 })
    expect(next.tokens).toBe(85)
    expect((await limiter!.status()).tokens).toBe(95)
  })

  it('refuses to settle or cool down for a count that is not a number ≥ 0, as the in-process limiter does', async () => {
    const [limiter] = limiters(1, { tokensPerMinute: 100, windowMs: 60_000 })
    const permit = await limiter!.acquire({ tokens: 10 })
    for (const bad of [Number.NaN, -1, '5', Number.POSITIVE_INFINITY]) {
      expect(() => limiter!.settle(permit, bad as never)).toThrow(ConfigurationError)
      expect(() => limiter!.coolDown(bad as never)).toThrow(ConfigurationError)
    }
    expect(() => limiter!.coolDown(0)).not.toThrow()
    expect((await limiter!.status()).coolDownMs).toBe(0)
  })

  it('keeps granting when the server clock is set back an hour, and still holds the limit across the jump', async () => {
    const windowMs = 1_000
    const [limiter] = limiters(1, { requestsPerMinute: 2, windowMs })
    // Two grants stamped an hour ahead of the server's clock: what the window holds once that clock is set back an hour.
    const keys = `{tinyllm:limiter:${limiter!.name}}`
    const stampedAt = Math.round((await serverTimeMs()) * 1000) + 3_600_000_000
    await admin
      .multi()
      .zadd(`${keys}:grants`, stampedAt, '1', stampedAt, '2')
      .hset(`${keys}:tokens`, '1', 0, '2', 0)
      .hset(`${keys}:state`, 'seq', 2, 'tokens', 0)
      .exec()
    // Served within a window of its clock, not once the server's clock has caught up with the grants an hour later.
    const permit = await limiter!.acquire()
    expect(permit.grantedAt).toBeGreaterThanOrEqual(stampedAt / 1000 + windowMs)
  }, 60_000)

  it('one cool-down pauses every limiter sharing the name', async () => {
    const [first, second] = limiters(2, { requestsPerMinute: 1_000, windowMs: 60_000 })
    await first!.acquire()
    const before = await serverTimeMs()
    first!.coolDown(300)
    // The cool-down reaches Redis in the background, on the first limiter's connection: a command sent after it there
    // answers once it has landed, however slow the machine (a poll for the cool-down could miss all of its 300 ms).
    await first!.status()
    const permit = await second!.acquire()
    expect(permit.grantedAt).toBeGreaterThanOrEqual(before + 300)
  })

  it('shares a window only with limiters of its own prefix and name: a prefix with a ":limiter" part is refused', async () => {
    // Keys are {<prefix>:limiter:<name>}: prefix "a" with name "b:limiter:c" and prefix "a:limiter:b" with name "c" would
    // be one limiter, each counting the other's grants and pausing for its cool-downs.
    for (const prefix of ['a:limiter:b', 'a:limiter', 'limiter:x:limiter']) {
      expect(() => new RedisRateLimiter({ connection: redis.url, prefix, name: 'c', requestsPerMinute: 5 })).toThrow(
        ConfigurationError,
      )
    }
    expect(() => new RedisRateLimiter({ connection: redis.url, prefix: 'a:limiter:b', name: 'c' })).toThrow(
      /^RedisRateLimiter: prefix must be a prefix without a ":limiter" part/,
    )
    const limiter = new RedisRateLimiter({ connection: redis.url, prefix: 'a:limiters', name: 'b:limiter:c' })
    open.push(limiter)
    expect(await limiter.status()).toMatchObject({ requests: 0 })
  })

  it('a waiter whose signal aborts leaves at once, and the others are still served', async () => {
    const [limiter] = limiters(1, { requestsPerMinute: 1, windowMs: 500 })
    await limiter!.acquire()
    const controller = new AbortController()
    const abandoned = limiter!.acquire({}, controller.signal).catch((error: unknown) => error)
    const next = limiter!.acquire()
    controller.abort('not needed')
    const error = await abandoned
    expect(AbortError.isInstance(error)).toBe(true)
    const permit = await next
    expect(permit.tokens).toBe(0)
    expect((await limiter!.status()).requests).toBe(1)
  })

  it('counts only the waiters still waiting: cancelled ones behind the head leave the queue at once', async () => {
    const [limiter] = limiters(1, { requestsPerMinute: 1, windowMs: 60_000 })
    await limiter!.acquire()
    const head = limiter!.acquire().catch((error: unknown) => error)
    const controllers = Array.from({ length: 100 }, () => new AbortController())
    const behind = controllers.map((controller) => limiter!.acquire({}, controller.signal).catch((e: unknown) => e))
    expect((await limiter!.status()).waiting).toBe(101)
    for (const controller of controllers) controller.abort('not needed')
    expect((await Promise.all(behind)).every((error) => AbortError.isInstance(error))).toBe(true)
    expect((await limiter!.status()).waiting).toBe(1)
    await limiter!.close()
    expect(AbortError.isInstance(await head)).toBe(true)
  })

  it('refuses a signal that is not one with a rejected ConfigurationError, whether or not the call would wait', async () => {
    const [limiter] = limiters(1, { requestsPerMinute: 1, windowMs: 60_000 })
    for (let call = 0; call < 2; call++) {
      // The first call would be granted at once, the second would queue: both are refused the same way, unsent.
      let acquired: Promise<unknown> | undefined
      expect(() => {
        acquired = limiter!.acquire({}, {} as AbortSignal)
      }).not.toThrow()
      const error = await (acquired as Promise<unknown>).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/signal must be an AbortSignal, got an object$/)
    }
    expect((await limiter!.status()).requests).toBe(0)
    expect(() => limiter!.settle({} as never, 1)).toThrow(
      /permit must be a permit this limiter granted, got an object$/,
    )
  })

  it('rejects, never throws, when a signal that passed its check fails when read again or listened to', async () => {
    const [limiter] = limiters(1, { requestsPerMinute: 1, windowMs: 60_000 })
    await limiter!.acquire()
    const refusing = {
      aborted: false,
      addEventListener(): never {
        throw new Error('no listeners here')
      },
      removeEventListener(): void {},
    }
    let reads = 0
    const fickle = {
      get aborted(): boolean {
        reads += 1
        if (reads > 1) throw new Error('aborted read twice')
        return false
      },
      addEventListener(): void {},
      removeEventListener(): void {},
    }
    for (const signal of [refusing, fickle]) {
      let acquired: Promise<unknown> | undefined
      expect(() => {
        acquired = limiter!.acquire({}, signal as never)
      }).not.toThrow()
      const error = await (acquired as Promise<unknown>).then(
        () => 'granted',
        (thrown: unknown) => thrown,
      )
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^RedisRateLimiter limiter-\w+: signal /)
      expect((await limiter!.status()).waiting).toBe(0)
    }
  })

  it('refuses at once a call that could never fit, and bad options', async () => {
    const [limiter] = limiters(1, { tokensPerMinute: 100 })
    const error = await limiter!.acquire({ tokens: 101 }).catch((thrown: unknown) => thrown)
    expect(RateLimitError.isInstance(error)).toBe(true)
    expect((error as RateLimitError).retryable).toBe(false)
    expect(() => new RedisRateLimiter({ connection: redis.url, name: 'x', requestsPerMinute: 1.5 })).toThrow(
      /requestsPerMinute must be an integer/,
    )
    // A window or a cool-down longer than a timer can hold, as RateLimiter refuses it (Redis could not keep its keys).
    for (const option of ['windowMs', 'maxCoolDownMs'] as const) {
      expect(() => new RedisRateLimiter({ connection: redis.url, name: 'x', [option]: 1e19 })).toThrow(
        new RegExp(`${option} must be an integer ≥ \\d and ≤ 2147483647, got 10000000000000000000$`),
      )
    }
  })

  it('fails an acquisition with a typed error when Redis answers the limiter with an error, instead of waiting forever', async () => {
    const [limiter] = limiters(1, { requestsPerMinute: 10 })
    // Another program wrote a value of another type under one of the limiter's keys.
    await admin.set(`{tinyllm:limiter:${limiter!.name}}:grants`, 'not a sorted set')
    const [first, second] = await Promise.all([
      limiter!.acquire({ tokens: 1 }).catch((thrown: unknown) => thrown),
      limiter!.acquire({ tokens: 1 }).catch((thrown: unknown) => thrown),
    ])
    for (const error of [first, second, await limiter!.status().catch((thrown: unknown) => thrown)]) {
      expect(RateLimitError.isInstance(error)).toBe(true)
      expect((error as RateLimitError).retryable).toBe(false)
      expect((error as Error).message).toMatch(
        /Redis answered the limiter's script \(on \{tinyllm:limiter:.*:grants, .*\) with an error: WRONGTYPE/,
      )
    }
    await admin.del(`{tinyllm:limiter:${limiter!.name}}:grants`)
    expect(await limiter!.status()).toMatchObject({ requests: 0, waiting: 0 })
  })

  it('closed while Redis is away, fails a status waiting for it as closed, not as Redis answering with an error', async () => {
    const away = await startRedisServer()
    const limiter = new RedisRateLimiter({ connection: away.url, name: 'away', requestsPerMinute: 10 })
    try {
      expect(await limiter.status()).toMatchObject({ requests: 0 })
      await away.kill()
      const waiting = limiter.status().catch((thrown: unknown) => thrown)
      await limiter.close()
      const error = await waiting
      expect(AbortError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/rate limiter away was closed/)
    } finally {
      await limiter.close()
      await away.stop()
    }
  })
})
