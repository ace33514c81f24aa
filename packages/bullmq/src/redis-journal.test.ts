import {
  AbortError,
  ConfigurationError,
  defineFunction,
  type JournalEntry,
  keptJournalEntry,
  type RunContext,
} from '@tinyllm/core'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { RedisJournal } from './redis-journal.js'
import { RedisRateLimiter } from './redis-rate-limiter.js'
import { type RedisServer, startRedisServer } from './testing/index.js'

let redis: RedisServer
let journal: RedisJournal

beforeAll(async () => {
  redis = await startRedisServer()
  journal = new RedisJournal({ connection: redis.url, prefix: 'journal-test' })
})

afterAll(async () => {
  await journal?.close()
  await redis?.stop()
})

describe('RedisJournal', () => {
  it('keeps the first entry written under a key, and answers it to every later writer', async () => {
    const first = { function: 'classify', kind: 'llm-call', input: 'sha256:x', output: 'good', at: 1 }
    const second = { function: 'classify', kind: 'llm-call', input: 'sha256:y', output: 'bad', at: 2 }
    expect(await journal.read('run-1/0')).toBeUndefined()
    const [a, b] = await Promise.all([journal.write('run-1/0', first), journal.write('run-1/0', second)])
    expect(a).toEqual(b)
    expect(await journal.read('run-1/0')).toEqual(a)
  })

  it('takes a connectTimeout given in the URL, where ioredis keeps it as text that its socket throws on uncaught', async () => {
    const timed = new RedisJournal({ connection: `${redis.url}?connectTimeout=5000`, prefix: 'journal-timeout' })
    const entry = { function: 'classify', kind: 'llm-call', input: 'sha256:x', output: 'good', at: 1 }
    expect(await timed.write('run-timeout/0', entry)).toEqual(entry)
    expect(await timed.read('run-timeout/0')).toEqual(entry)
    await timed.close()
  })

  it('keeps what it checked: a getter answering another value on a later read is never written unchecked', async () => {
    const usage = { calls: 1, inputTokens: 2, outputTokens: 1, totalTokens: 3, costUsd: 0, unpricedCalls: 0 }
    for (let turn = 1; turn <= 8; turn++) {
      let reads = 0
      const output = {
        get text() {
          reads += 1
          // Small for the first reads, 2 MB (more than any journal keeps) from read `turn` on.
          return reads >= turn ? 'x'.repeat(2 * 1024 * 1024) : 'small'
        },
      }
      const hostile = {
        function: 'f',
        kind: 'function',
        input: 'sha256:x',
        output,
        at: 0,
        usage: { ...usage, extra: 'x' },
        extra: 'not an entry field',
      }
      const key = `checked/${turn}`
      let written: JournalEntry | undefined
      try {
        written = await journal.write(key, hostile)
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        continue
      }
      // What it wrote and answers is an entry every journal replays: reading it back is not refused.
      expect([turn, typeof keptJournalEntry(written)]).toEqual([turn, 'object'])
      const read = await journal.read(key)
      expect([turn, typeof keptJournalEntry(read)]).toEqual([turn, 'object'])
      // The fields the check measured, and only those.
      expect(read).not.toHaveProperty('extra')
      expect(read?.usage).toEqual(usage)
    }
  })

  it('writes only the fields of an entry whose toJSON answers more, and answers what a read gives back', async () => {
    const usage = { calls: 1, inputTokens: 2, outputTokens: 1, totalTokens: 3, costUsd: 0, unpricedCalls: 0 }
    const fields = { function: 'f', kind: 'function', input: 'sha256:x', output: 'good', at: 0, usage }
    // JSON writes what toJSON answers: fields of other names, and megabytes of them, that no check measured.
    const padded = {
      ...fields,
      toJSON: () => ({ ...fields, usage: { ...usage, extra: 'x' }, padding: 'x'.repeat(4 * 1024 * 1024) }),
    }
    const written = await journal.write('padded/0', padded as JournalEntry)
    expect(written).toEqual(fields)
    expect(await journal.read('padded/0')).toEqual(written)
    const client = new Redis(redis.url)
    try {
      expect(await client.strlen('journal-test:journal:padded/0')).toBe(JSON.stringify(fields).length)
    } finally {
      client.disconnect()
    }
  })

  it('refuses options or a connection that are a revoked Proxy with a ConfigurationError, not a TypeError', () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    for (const [options, option] of [
      [proxy, 'options'],
      [{ connection: proxy }, 'connection'],
    ] as const) {
      const error = (() => {
        try {
          return new RedisJournal(options as never)
        } catch (caught) {
          return caught
        }
      })()
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ option })
      expect((error as Error).message).toMatch(new RegExp(`^RedisJournal: ${option} could not be read: TypeError: `))
    }
  })

  it('is shared by every client of the server: a second journal replays what the first wrote', async () => {
    let calls = 0
    const step = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number, context: RunContext) => {
        calls += 1
        context.annotate('usageEstimated', true)
        return { charged: amount, key: context.idempotencyKey }
      },
    })
    const other = new RedisJournal({ connection: redis.url, prefix: 'journal-test' })
    try {
      const before = await step.invoke(5, { runId: 'order/7', journal })
      const after = await step.trace(5, { runId: 'order/7', journal: other })
      expect(after.output).toEqual(before)
      expect(after.annotations).toEqual({ usageEstimated: true, replayed: true })
      expect(before).toEqual({ charged: 5, key: 'order%2f7' })
      expect(calls).toBe(1)
    } finally {
      await other.close()
    }
  })

  it('refuses a step key with a lone surrogate before its step runs, instead of replaying another run', async () => {
    // Redis keeps keys as UTF-8, where a lone surrogate is U+FFFD: both orders would be one key, one charge.
    let charges = 0
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number) => {
        charges += 1
        return { charged: amount }
      },
    })
    for (const runId of ['order-\uD800', 'order-\uDC00']) {
      const error = await charge.invoke(40, { runId, journal }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      // Refused where the run id is read (core), before the journal sees it; the journal refuses such a key too (below).
      expect((error as Error).message).toMatch(/lone surrogate/)
    }
    expect(charges).toBe(0)
    await expect(journal.read('run/\uD83D')).rejects.toThrow(ConfigurationError)
    // Its error quotes a long key cut short, as every error quotes what it was given.
    const long = await journal.read(`${'k'.repeat(1_000_000)}\uD800`).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(long)).toBe(true)
    expect((long as Error).message.length).toBeLessThan(1_000)
    expect(await journal.read('order-\uFFFD')).toBeUndefined()
    // A whole pair is a character like any other.
    const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0 }
    expect(await journal.write('run/\uD83D\uDE00', entry)).toEqual(entry)
    expect(await journal.read('run/\uD83D\uDE00')).toEqual(entry)
  })

  it('fails a step whose entry is not JSON with a ConfigurationError that quotes none of it', async () => {
    // What another program left under the key, an API key first: the parser's message would quote "sk-proj-A1", a
    // piece of the key too short for redaction to recognise.
    const apiKey = `sk-proj-${'A1b2C3d4E5'.repeat(4)}`
    const client = new Redis(redis.url)
    try {
      await client.set('journal-test:journal:not-json', `${apiKey} was here`)
    } finally {
      client.disconnect()
    }
    const step = defineFunction({ name: 'step', durable: true, run: (value: number) => value })
    const record = await step.trace(1, { runId: 'not-json', journal })
    expect(record.status).toBe('failed')
    expect(ConfigurationError.isInstance(record.error), String(record.error)).toBe(true)
    expect(record.error?.message).toMatch(/the entry at "not-json" is not a journal entry: it is not JSON/)
    expect(JSON.stringify(record) + String(record.error?.stack)).not.toContain('sk-proj')
    // A long key is quoted cut short, as every error quotes what it was given.
    const long = 'k'.repeat(200_000)
    const client2 = new Redis(redis.url)
    try {
      await client2.set(`journal-test:journal:${long}`, 'not JSON')
    } finally {
      client2.disconnect()
    }
    const error = await journal.read(long).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message.length).toBeLessThan(1_000)
  })

  it('a closed journal refuses reads and writes with an AbortError, as a closed limiter does status, not a client error', async () => {
    const closed = new RedisJournal({ connection: redis.url, prefix: 'journal-test' })
    const limiter = new RedisRateLimiter({ connection: redis.url, name: 'closed-test', requestsPerMinute: 1 })
    await closed.close()
    await limiter.close()
    const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0 }
    const errors = [
      await closed.read('closed/0').catch((caught: unknown) => caught),
      await closed.write('closed/0', entry).catch((caught: unknown) => caught),
      await limiter.status().catch((caught: unknown) => caught),
    ]
    expect(errors.map((error) => AbortError.isInstance(error) && (error as Error).message)).toEqual([
      expect.stringMatching(/the journal is closed/),
      expect.stringMatching(/the journal is closed/),
      expect.stringMatching(/rate limiter closed-test was closed/),
    ])
  })

  it('closed while Redis is away, fails the reads and writes waiting for it with an AbortError, instead of never', async () => {
    const away = await startRedisServer()
    const closing = new RedisJournal({ connection: away.url, prefix: 'journal-test' })
    try {
      expect(await closing.read('away/0')).toBeUndefined()
      await away.kill()
      const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0 }
      const waiting = [closing.read('away/1'), closing.write('away/1', entry)].map((pending) =>
        pending.then(
          () => 'answered',
          (error: unknown) => AbortError.isInstance(error) && (error as Error).message,
        ),
      )
      await closing.close()
      expect(await Promise.all(waiting)).toEqual([
        expect.stringMatching(/the journal is closed/),
        expect.stringMatching(/the journal is closed/),
      ])
    } finally {
      await closing.close()
      await away.stop()
    }
  })

  it('closes when Redis stops answering with its connection open, instead of waiting for ever for QUIT', async () => {
    const frozen = await startRedisServer()
    const closing = new RedisJournal({ connection: frozen.url, prefix: 'journal-test' })
    try {
      expect(await closing.read('frozen/0')).toBeUndefined()
      process.kill(frozen.pid as number, 'SIGSTOP')
      const waiting = closing.read('frozen/1').catch((error: unknown) => AbortError.isInstance(error))
      const closed = closing.close().then(() => 'closed')
      const late = new Promise((resolve) => setTimeout(resolve, 20_000, 'still waiting').unref())
      expect(await Promise.race([closed, late])).toBe('closed')
      expect(await waiting).toBe(true)
    } finally {
      process.kill(frozen.pid as number, 'SIGCONT')
      await frozen.stop()
    }
  })

  it('waits for Redis when the connection options turn the offline queue of ioredis off, instead of failing as refused', async () => {
    // Its first read is sent while the client still connects: a client without an offline queue fails it at once.
    const offline = new RedisJournal({
      connection: { host: '127.0.0.1', port: redis.port, enableOfflineQueue: false },
      prefix: 'journal-test',
    })
    try {
      expect(await offline.read('offline/0')).toBeUndefined()
    } finally {
      await offline.close()
    }
  })

  it('waits through a lost connection when the connection options set a commandTimeout, instead of failing as refused', async () => {
    const blip = await startRedisServer({ appendOnly: true })
    const waiting = new RedisJournal({
      connection: { host: '127.0.0.1', port: blip.port, commandTimeout: 100 },
      prefix: 'journal-test',
    })
    try {
      expect(await waiting.read('blip/0')).toBeUndefined()
      await blip.kill()
      const read = waiting.read('blip/1').catch((error: unknown) => error)
      // Far longer than the commandTimeout: a client that keeps it fails the read meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      await blip.start()
      expect(await read).toBeUndefined()
    } finally {
      await waiting.close()
      await blip.stop()
    }
  })

  it('fails a step whose key holds another type of value with a ConfigurationError, not a retryable Redis error', async () => {
    const client = new Redis(redis.url)
    try {
      await client.rpush('journal-test:journal:wrong-type', 'a list')
    } finally {
      client.disconnect()
    }
    const step = defineFunction({ name: 'step', durable: true, run: (value: number) => value })
    const record = await step.trace(1, { runId: 'wrong-type', journal })
    expect(ConfigurationError.isInstance(record.error), String(record.error)).toBe(true)
    expect(record.error?.retryable).toBe(false)
    expect(record.error?.message).toMatch(/on "wrong-type" with an error: WRONGTYPE/)
    const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0 }
    await expect(journal.write('wrong-type', entry)).rejects.toThrow(ConfigurationError)
  })

  it('refuses a prefix that is not a non-empty string of whole characters', () => {
    for (const prefix of [42, '', 'tiny\uD800']) {
      const error = (() => {
        try {
          return new RedisJournal({ connection: redis.url, prefix: prefix as string })
        } catch (caught) {
          return caught
        }
      })()
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ option: 'prefix' })
    }
  })

  it('refuses a prefix with a :journal part, whose keys would be the journal keys of a shorter prefix', async () => {
    // Run `r` under `app:journal:x` would be run `x:journal:r` under `app`: one would replay the other's steps.
    let charges = 0
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number) => {
        charges += 1
        return amount
      },
    })
    const app = new RedisJournal({ connection: redis.url, prefix: 'app' })
    try {
      for (const prefix of ['app:journal:x', 'app:journal']) {
        let error: unknown
        try {
          const nested = new RedisJournal({ connection: redis.url, prefix })
          await charge.invoke(40, { runId: 'r', journal: nested })
          await nested.close()
        } catch (caught) {
          error = caught
        }
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect(error).toMatchObject({
          option: 'prefix',
          message: `RedisJournal: prefix must be a prefix without a ":journal" part, where the journal keys of a shorter prefix are (<prefix>:journal:<key>), got "${prefix}"`,
        })
      }
      await charge.invoke(40, { runId: 'x:journal:r', journal: app })
      await charge.invoke(40, { runId: 'journal:r', journal: app })
      expect(charges).toBe(2)
      // Prefixes that only look alike are kept apart, and taken.
      for (const prefix of ['app:journals', 'app:my-journal:x', 'journal', 'journal:app']) {
        await new RedisJournal({ connection: redis.url, prefix }).close()
      }
    } finally {
      await app.close()
    }
  })

  it('keeps an entry for 7 days by default, under <prefix>:journal:<key>, as its README says', async () => {
    await journal.write('kept/0', { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0 })
    const client = new Redis(redis.url)
    try {
      const left = await client.pttl('journal-test:journal:kept/0')
      const week = 7 * 24 * 60 * 60 * 1000
      // A generous margin below: the write and the read may be far apart on a loaded machine.
      expect(left).toBeGreaterThan(week - 10 * 60 * 1000)
      expect(left).toBeLessThanOrEqual(week)
    } finally {
      client.disconnect()
    }
  })

  it('expires entries after its ttl', async () => {
    const short = new RedisJournal({ connection: redis.url, prefix: 'journal-test', ttlMs: 50 })
    const client = new Redis(redis.url)
    try {
      await short.write('brief/0', { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0 })
      // Written with a ttl of 50 ms: what is left of it, or gone already (-2) on a machine slow to ask.
      const left = await client.pttl('journal-test:journal:brief/0')
      expect(left === -2 || (left > 0 && left <= 50), String(left)).toBe(true)
      await vi.waitFor(async () => expect(await short.read('brief/0')).toBeUndefined(), { timeout: 20_000 })
    } finally {
      client.disconnect()
      await short.close()
    }
  })

  it('refuses a ttl that is not a whole number of ms, or more than Redis can hold, before any step runs', () => {
    expect(() => new RedisJournal({ connection: redis.url, ttlMs: 0.5 })).toThrow(/ttlMs must be an integer/)
    // Redis would refuse the write of such an entry only once its step had run (and paid, or sent its email).
    expect(() => new RedisJournal({ connection: redis.url, ttlMs: 1e19 })).toThrow(
      'RedisJournal: ttlMs must be an integer ≥ 1 and ≤ 9007199254740991, got 10000000000000000000',
    )
  })
})
