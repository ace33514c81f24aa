import { describe, expect, it, vi } from 'vitest'
import { createMemoryLogger, type MemoryLoggerOptions } from './memory-logger.js'

describe('createMemoryLogger', () => {
  it('keeps every level by default, in order, with merged bindings and fields', () => {
    const logger = createMemoryLogger({ bindings: { app: 'a' } })
    logger.trace('t')
    logger.child({ runId: 'r1' }).info('done', { ms: 3 })
    expect(logger.entries).toEqual([
      { level: 'trace', message: 't', fields: { app: 'a' } },
      { level: 'info', message: 'done', fields: { app: 'a', runId: 'r1', ms: 3 } },
    ])
  })

  it('ignores TINYLLM_LOG_LEVEL, so tests see every line whatever the environment', () => {
    vi.stubEnv('TINYLLM_LOG_LEVEL', 'error')
    try {
      expect(createMemoryLogger().isLevelEnabled('trace')).toBe(true)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('refuses an option it does not know, suggesting the one meant', () => {
    expect(() => createMemoryLogger({ levle: 'debug' } as MemoryLoggerOptions)).toThrow(
      new TypeError('createMemoryLogger: levle is not an option; did you mean level? (known: level, bindings)'),
    )
    expect(() => createMemoryLogger({ level: 'debug', bindings: { a: 1 } })).not.toThrow()
    expect(() => createMemoryLogger(null as unknown as MemoryLoggerOptions)).toThrow(
      new TypeError('createMemoryLogger: options must be an object, got null'),
    )
  })

  it('keeps only lines at or above its level', () => {
    const logger = createMemoryLogger({ level: 'warn' })
    logger.info('no')
    logger.warn('yes')
    expect(logger.entries.map((entry) => entry.message)).toEqual(['yes'])
    expect(logger.child({}).isLevelEnabled('info')).toBe(false)
  })

  it('shares entries between a logger and its children, and clear() empties them for all', () => {
    const logger = createMemoryLogger()
    const child = logger.child({ a: 1 })
    const grandchild = child.child({ b: 2 })
    grandchild.warn('deep')
    expect(logger.entries).toBe(grandchild.entries)
    expect(logger.entries[0]?.fields).toEqual({ a: 1, b: 2 })
    child.clear()
    expect(logger.entries).toEqual([])
  })

  it('stores redacted, JSON-safe copies rather than the objects passed in', () => {
    const logger = createMemoryLogger()
    const fields = { apiKey: 'secret-value', error: new Error('boom'), list: [1] }
    logger.error('failed', fields)
    const stored = logger.entries[0]?.fields as Record<string, unknown>
    expect(stored.apiKey).toBe('[REDACTED]')
    expect(stored.error).toMatchObject({ name: 'Error', message: 'boom' })
    expect(stored.list).not.toBe(fields.list)
  })

  it('keeps fields given as an error or as a lone value, redacted, instead of dropping them', () => {
    const logger = createMemoryLogger()
    const fieldsOf = (log: () => void): unknown => {
      logger.clear()
      log()
      return logger.entries[0]?.fields
    }
    const error = Object.assign(new Error('socket hang up, key sk-proj-Abc123XyZ789Def456Gh'), { status: 502 })
    // What plain JavaScript (or `catch (error: any)`) passes: an error has no enumerable key of its own but `status`.
    expect(fieldsOf(() => logger.error('call failed', error as never))).toMatchObject({
      error: { name: 'Error', message: 'socket hang up, key [REDACTED]', status: 502 },
    })
    expect(fieldsOf(() => logger.child({ runId: 'r1' }).info('retrying', 3 as never))).toEqual({
      runId: 'r1',
      fields: 3,
    })
    expect(fieldsOf(() => logger.warn('slow', 'password=hunter2' as never))).toEqual({ fields: 'password=[REDACTED]' })
    expect(fieldsOf(() => logger.child('tenant-7' as never).info('ready', { ms: 1 }))).toEqual({
      fields: 'tenant-7',
      ms: 1,
    })
    // Nothing given stays nothing.
    expect(fieldsOf(() => logger.info('done', null as never))).toEqual({})
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    expect(fieldsOf(() => logger.info('done', revoked.proxy))).toEqual({})
  })
})
