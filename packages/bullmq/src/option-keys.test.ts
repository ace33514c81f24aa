import { AbortError, ConfigurationError, defineFunction } from '@tinyllm/core'
import { Cluster } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { BullMQExecutor } from './bullmq-executor.js'
import { graphFingerprint } from './graph-fingerprint.js'
import { RedisJournal } from './redis-journal.js'
import { RedisRateLimiter } from './redis-rate-limiter.js'
import { serve } from './serve.js'

// A misspelt option must not be dropped: `requestPerMinute` would leave a shared limiter with no request limit at all.
// Every check here fails before any connection is opened, so no Redis is needed.
const connection = 'redis://127.0.0.1:1'

function refusal(build: () => unknown): ConfigurationError {
  try {
    build()
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error
    throw error
  }
  throw new Error('the options were accepted')
}

describe('the classes of @tinyllm/bullmq refuse options they do not know, with a suggestion', () => {
  it('RedisRateLimiter', () => {
    const error = refusal(() => new RedisRateLimiter({ connection, name: 'l', requestPerMinute: 2 } as never))
    expect(error.message).toMatch(
      /^RedisRateLimiter: requestPerMinute is not an option; did you mean requestsPerMinute\?/,
    )
  })

  it('BullMQExecutor, and no options at all', () => {
    const error = refusal(() => new BullMQExecutor({ connection, keepResultSeconds: 5 } as never))
    expect(error.message).toMatch(
      /^BullMQExecutor: keepResultSeconds is not an option; did you mean keepResultsSeconds\?/,
    )
    expect(refusal(() => new (BullMQExecutor as new () => unknown)()).message).toBe(
      'BullMQExecutor: options must be an object, got undefined',
    )
  })

  it('RedisJournal', () => {
    const error = refusal(() => new RedisJournal({ connection, ttlMS: 5 } as never))
    expect(error.message).toMatch(/^RedisJournal: ttlMS is not an option; did you mean ttlMs\?/)
  })

  it('serve, as a rejected promise', async () => {
    const error = await serve({ connection, graphs: [], concurency: 2 } as never).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/^serve: concurency is not an option; did you mean concurrency\?/)
  })

  it('checks the values of options in the one message format', async () => {
    expect(refusal(() => new RedisRateLimiter({ connection, name: '' })).message).toBe(
      'RedisRateLimiter: name must be a non-empty string without a lone surrogate, got ""',
    )
    // Redis keeps keys as UTF-8, where a lone surrogate is U+FFFD: limiters "team-\uD800" and "team-\uD801" would
    // share one window, and a prefix that is not a string would name keys nobody asked for.
    for (const [options, message] of [
      [{ name: 'team-\uD800' }, 'name must be a non-empty string without a lone surrogate, got "team-\\ud800"'],
      [{ prefix: 42 }, 'prefix must be a non-empty string without a lone surrogate, got 42'],
      [{ prefix: '' }, 'prefix must be a non-empty string without a lone surrogate, got ""'],
      [{ prefix: 'x\uDC00' }, 'prefix must be a non-empty string without a lone surrogate, got "x\\udc00"'],
    ] as const) {
      expect(refusal(() => new RedisRateLimiter({ connection, name: 'l', ...(options as object) })).message).toBe(
        `RedisRateLimiter: ${message}`,
      )
    }
    expect(refusal(() => new BullMQExecutor({ connection, context: {} as never })).message).toBe(
      'BullMQExecutor: context must be a ContextCarrier, with inject() and extract(), got an object',
    )
    const error = await serve({ connection, graphs: [5 as never] }).catch((caught: unknown) => caught)
    expect((error as Error).message).toBe('serve: graphs must be a list of tinyllm Functions, got 5')
  })

  it('refuses options whose reading throws (a getter, a Proxy) with a ConfigurationError, in every class alike', async () => {
    const unreadable = <Options extends object>(options: Options, key: string): Options =>
      Object.defineProperty({ ...options }, key, {
        enumerable: true,
        get() {
          throw new Error('no reading this option')
        },
      })
    const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
    const executor = new BullMQExecutor({ connection })
    try {
      const errors = [
        await Promise.resolve()
          .then(() => new RedisJournal(unreadable({ connection }, 'prefix')))
          .catch((caught: unknown) => caught),
        await Promise.resolve()
          .then(() => new RedisRateLimiter(unreadable({ connection, name: 'l' }, 'requestsPerMinute')))
          .catch((caught: unknown) => caught),
        await Promise.resolve()
          .then(() => new BullMQExecutor(unreadable({ connection }, 'version')))
          .catch((caught: unknown) => caught),
        await serve(unreadable({ connection, graphs }, 'concurrency')).catch((caught: unknown) => caught),
        await executor.map(graphs[0]!, [1], unreadable({}, 'signal')).catch((caught: unknown) => caught),
      ]
      expect(errors.map((error) => ConfigurationError.isInstance(error) && error.message)).toEqual(
        ['RedisJournal', 'RedisRateLimiter', 'BullMQExecutor', 'serve', 'BullMQExecutor'].map(
          (owner) => `${owner}: options could not be read: Error: no reading this option`,
        ),
      )
    } finally {
      await executor.close()
    }
  })

  it('serve refuses graphs, a journal or a carrier that cannot be read (a revoked Proxy, a getter) with a ConfigurationError', async () => {
    const revoked = (): never => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return proxy as never
    }
    const graph = defineFunction({ name: 'graph', run: () => 1 })
    const nameless = Object.create(graph, {
      name: {
        get() {
          throw new Error('no reading this name')
        },
      },
    })
    const cases = [
      [{ graphs: revoked() }, 'graphs'],
      [{ graphs: [revoked()] }, 'graphs'],
      [{ graphs: [nameless] }, 'graphs'],
      [{ graphs: [graph], journal: revoked() }, 'journal'],
      [{ graphs: [graph], context: revoked() }, 'context'],
    ] as const
    for (const [options, option] of cases) {
      const error = await serve({ connection, ...(options as { graphs: never }) }).catch((caught: unknown) => caught)
      expect([option, ConfigurationError.isInstance(error)]).toEqual([option, true])
      expect((error as ConfigurationError).message).toMatch(new RegExp(`^serve: ${option} could not be read: `))
    }
  })

  it('BullMQExecutor refuses a carrier that cannot be read (a revoked Proxy, a getter) with a ConfigurationError, as serve does', () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    const unreadable = {
      get inject(): never {
        throw new Error('no reading this carrier')
      },
      extract: <R>(_carried: unknown, call: () => R) => call(),
    }
    for (const context of [proxy, unreadable]) {
      const error = refusal(() => new BullMQExecutor({ connection, context: context as never }))
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect(error.message).toMatch(/^BullMQExecutor: context could not be read: /)
    }
  })

  it('serve refuses a logger that is none before any worker starts, rather than fail every run it takes', async () => {
    const graph = defineFunction({ name: 'graph', run: () => 1 })
    for (const logger of [{}, 5, { info: () => {} }]) {
      const error = await serve({ connection, graphs: [graph], logger: logger as never }).catch(
        (caught: unknown) => caught,
      )
      expect(ConfigurationError.isInstance(error) && error.option).toBe('logger')
      expect((error as Error).message).toMatch(
        /^serve: logger must be a tinyllm Logger, a pino logger, or an object with/,
      )
    }
  })

  it('refuses a connection with ioredis’s keyPrefix, which BullMQ refuses, in every class alike', async () => {
    const message =
      /connection has the keyPrefix "app:", which BullMQ refuses; name tinyllm's keys with the prefix option instead$/
    const withPrefix = [
      { host: '127.0.0.1', port: 1, keyPrefix: 'app:' },
      'redis://127.0.0.1:1/0?keyPrefix=app:',
    ] as const
    for (const connection of withPrefix) {
      for (const build of [
        () => new BullMQExecutor({ connection }),
        () => new RedisJournal({ connection }),
        () => new RedisRateLimiter({ connection, name: 'x' }),
      ]) {
        expect(refusal(build).message).toMatch(message)
      }
      const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
      const error = await serve({ connection, graphs }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/^serve: connection has the keyPrefix "app:"/)
    }
  })

  it('refuses values of the wrong kind before opening a connection, in the one message format', async () => {
    const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
    const served = [
      [{ queue: 5 }, 'queue must be a non-empty string without ":" or a lone surrogate, other than "journal", got 5'],
      [
        { queue: 'a:b' },
        'queue must be a non-empty string without ":" or a lone surrogate, other than "journal", got "a:b"',
      ],
      // Its jobs' keys would be the journal's: tinyllm:journal:<run id> is a job's hash and a durable step's entry.
      [
        { queue: 'journal' },
        'queue must be a non-empty string without ":" or a lone surrogate, other than "journal", got "journal"',
      ],
      [{ prefix: '' }, 'prefix must be a non-empty string without a lone surrogate, got ""'],
      // Its journal's keys, app:journal:journal:<key>, would be those of prefix app's journal.
      [
        { prefix: 'app:journal' },
        'prefix must be a prefix without a ":journal" part, where the journal keys of a shorter prefix are (<prefix>:journal:<key>), got "app:journal"',
      ],
      // Redis keeps keys as UTF-8, where a lone surrogate is U+FFFD: the queue of another prefix. Refused before the
      // worker opens its connections, which a refusal must not leave open.
      [{ prefix: 'tiny\uD800' }, 'prefix must be a non-empty string without a lone surrogate, got "tiny\\ud800"'],
      [
        { queue: 'runs\uDC00' },
        'queue must be a non-empty string without ":" or a lone surrogate, other than "journal", got "runs\\udc00"',
      ],
      [{ version: 5 }, 'version must be a string without a lone surrogate, got 5'],
      [{ onError: 5 }, 'onError must be a function, got 5'],
      [{ journal: {} }, 'journal must be a StepJournal (with read and write), got an object'],
    ] as const
    for (const [options, message] of served) {
      const error = await serve({ connection, graphs, ...(options as object) }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(`serve: ${message}`)
    }
    const produced = [
      [{ queue: 5 }, 'queue must be a non-empty string without ":" or a lone surrogate, other than "journal", got 5'],
      [
        { queue: 'journal' },
        'queue must be a non-empty string without ":" or a lone surrogate, other than "journal", got "journal"',
      ],
      [{ version: 5 }, 'version must be a string without a lone surrogate, got 5'],
      [{ rerunFailed: 'yes' }, 'rerunFailed must be true or false, got "yes"'],
      [{ prefix: 'tiny\uD800' }, 'prefix must be a non-empty string without a lone surrogate, got "tiny\\ud800"'],
    ] as const
    for (const [options, message] of produced) {
      expect(refusal(() => new BullMQExecutor({ connection, ...(options as object) })).message).toBe(
        `BullMQExecutor: ${message}`,
      )
    }
    for (const graph of [null, 5, { name: 'no-describe' }]) {
      expect(refusal(() => graphFingerprint(graph as never)).message).toMatch(
        /^graphFingerprint: graph must be a tinyllm Function, which can describe\(\) itself, got /,
      )
    }
    expect(refusal(() => graphFingerprint(graphs[0]!, 5 as never)).message).toBe(
      'graphFingerprint: version must be a string without a lone surrogate, got 5',
    )
    // Hashed as UTF-8, v\uD800 and v\uD801 would be one fingerprint: a worker of one would run the other's jobs.
    expect(refusal(() => graphFingerprint(graphs[0]!, 'v\uD800')).message).toBe(
      'graphFingerprint: version must be a string without a lone surrogate, got "v\\ud800"',
    )
    expect(refusal(() => new BullMQExecutor({ connection, version: 'v\uDC00' })).message).toBe(
      'BullMQExecutor: version must be a string without a lone surrogate, got "v\\udc00"',
    )
  })

  it('refuses a connection that is not one, or a URL ioredis cannot read, never showing the URL', async () => {
    const cases = [
      [undefined, 'connection must be a redis:// URL, ioredis options or an ioredis client, got undefined'],
      [6379, 'connection must be a redis:// URL, ioredis options or an ioredis client, got 6379'],
      [null, 'connection must be a redis:// URL, ioredis options or an ioredis client, got null'],
      // Read as options, a Cluster names no host: ioredis would connect to 127.0.0.1:6379, another server.
      [
        new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true }),
        'connection must be a redis:// URL, ioredis options or an ioredis client, got an object',
      ],
      ['redis://default:s3cret-pw@127.0.0.1:99999', 'connection is not a URL ioredis can use (Invalid URL)'],
    ] as const
    for (const [connection, message] of cases) {
      for (const [owner, build] of [
        ['BullMQExecutor', () => new BullMQExecutor({ connection: connection as never })],
        ['RedisJournal', () => new RedisJournal({ connection: connection as never })],
        ['RedisRateLimiter', () => new RedisRateLimiter({ connection: connection as never, name: 'x' })],
      ] as const) {
        const error = refusal(build)
        expect(error.message).toBe(`${owner}: ${message}`)
        expect(JSON.stringify(error) + String(error.stack)).not.toContain('s3cret-pw')
      }
      const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
      const error = await serve({ connection: connection as never, graphs }).catch((caught: unknown) => caught)
      expect((error as Error).message).toBe(`serve: ${message}`)
    }
  })

  it('refuses a connection whose db is no database number, which ioredis would select as db 0 or fail unhandled, never showing the URL', async () => {
    const cases = [
      ['redis://default:s3cret-pw@127.0.0.1:1/abc', 'NaN'],
      ['redis://default:s3cret-pw@127.0.0.1:1/-1', '-1'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', db: Number.NaN }, 'NaN'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', db: 'x' }, 'NaN'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', db: 1.5 }, '1.5'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', db: -1 }, '-1'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', db: 2 ** 31 }, '2147483648'],
    ] as const
    for (const [connection, shown] of cases) {
      const message = `connection.db must be a database number, a whole number from 0 to 2147483647, got ${shown}`
      for (const [owner, build] of [
        ['BullMQExecutor', () => new BullMQExecutor({ connection: connection as never })],
        ['RedisJournal', () => new RedisJournal({ connection: connection as never })],
        ['RedisRateLimiter', () => new RedisRateLimiter({ connection: connection as never, name: 'x' })],
      ] as const) {
        const error = refusal(build)
        expect(ConfigurationError.isInstance(error) && error.option).toBe('connection.db')
        expect(error.message).toBe(`${owner}: ${message}`)
        expect(JSON.stringify(error) + String(error.stack)).not.toContain('s3cret-pw')
      }
      const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
      const error = await serve({ connection: connection as never, graphs }).catch((caught: unknown) => caught)
      expect((error as Error).message).toBe(`serve: ${message}`)
    }
    // A database number, as a number or as the text of a URL's path, is taken.
    for (const connection of ['redis://127.0.0.1:1/3', { host: '127.0.0.1', port: 1, db: 2 }, { port: 1, db: '4' }]) {
      await new RedisJournal({ connection: connection as never }).close()
    }
  })

  it('refuses a connectTimeout no socket takes, which ioredis would throw uncaught as it connects, never showing the URL', async () => {
    const cases = [
      ['redis://default:s3cret-pw@127.0.0.1:1?connectTimeout=soon', '"soon"'],
      ['redis://default:s3cret-pw@127.0.0.1:1?connectTimeout=-1', '"-1"'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', connectTimeout: -1 }, '-1'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', connectTimeout: Number.POSITIVE_INFINITY }, 'Infinity'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', connectTimeout: 2 ** 31 }, '2147483648'],
      [{ host: '127.0.0.1', port: 1, password: 's3cret-pw', connectTimeout: '5s' }, '"5s"'],
    ] as const
    for (const [connection, shown] of cases) {
      const message = `connection.connectTimeout must be a whole number of ms from 0 to 2147483647, got ${shown}`
      for (const [owner, build] of [
        ['BullMQExecutor', () => new BullMQExecutor({ connection: connection as never })],
        ['RedisJournal', () => new RedisJournal({ connection: connection as never })],
        ['RedisRateLimiter', () => new RedisRateLimiter({ connection: connection as never, name: 'x' })],
      ] as const) {
        const error = refusal(build)
        expect(ConfigurationError.isInstance(error) && error.option).toBe('connection.connectTimeout')
        expect(error.message).toBe(`${owner}: ${message}`)
        expect(JSON.stringify(error) + String(error.stack)).not.toContain('s3cret-pw')
      }
      const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
      const error = await serve({ connection: connection as never, graphs }).catch((caught: unknown) => caught)
      expect((error as Error).message).toBe(`serve: ${message}`)
    }
  })

  it('refuses a connection whose port is no port number, which failed every run as a RunJobError, never showing the URL', async () => {
    const cases = [
      ['redis://default:s3cret-pw@127.0.0.1/0?port=x', 'NaN'],
      ['redis://default:s3cret-pw@127.0.0.1?port=70000', '70000'],
      [{ host: '127.0.0.1', port: 'abc', password: 's3cret-pw' }, 'NaN'],
      [{ host: '127.0.0.1', port: 99_999, password: 's3cret-pw' }, '99999'],
      [{ host: '127.0.0.1', port: 0, password: 's3cret-pw' }, '0'],
      [{ host: '127.0.0.1', port: 63.5, password: 's3cret-pw' }, '63.5'],
    ] as const
    for (const [connection, shown] of cases) {
      const message = `connection.port must be a port number, a whole number from 1 to 65535, got ${shown}`
      for (const [owner, build] of [
        ['BullMQExecutor', () => new BullMQExecutor({ connection: connection as never })],
        ['RedisJournal', () => new RedisJournal({ connection: connection as never })],
        ['RedisRateLimiter', () => new RedisRateLimiter({ connection: connection as never, name: 'x' })],
      ] as const) {
        const error = refusal(build)
        expect(ConfigurationError.isInstance(error) && error.option).toBe('connection.port')
        expect(error.message).toBe(`${owner}: ${message}`)
        expect(JSON.stringify(error) + String(error.stack)).not.toContain('s3cret-pw')
      }
      const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
      const error = await serve({ connection: connection as never, graphs }).catch((caught: unknown) => caught)
      expect((error as Error).message).toBe(`serve: ${message}`)
    }
    // A port as a number or as the text of one is taken, and none is read beside a Unix socket's path.
    for (const connection of [
      'redis://127.0.0.1:1/3',
      { host: '127.0.0.1', port: 1 },
      { host: '127.0.0.1', port: '6380' },
      { path: '/tmp/no-redis.sock', port: 'unused' },
    ]) {
      await new RedisJournal({ connection: connection as never }).close()
    }
  })

  it('refuses a graph that cannot describe itself as JSON with a ConfigurationError, in serve and in the executor', async () => {
    const throwing = defineFunction({ name: 'throwing', run: () => 1 })
    throwing.describe = () => {
      throw new Error('describe broke')
    }
    const cyclic = defineFunction({ name: 'cyclic', run: () => 1 })
    cyclic.describe = () => {
      const node: Record<string, unknown> = { kind: 'function', name: 'cyclic' }
      node.self = node
      return node as never
    }
    const empty = defineFunction({ name: 'empty', run: () => 1 })
    empty.describe = () => undefined as never
    const cases = [
      [throwing, 'throwing: describe() could not be read: Error: describe broke'],
      [cyclic, /^cyclic: describe\(\) could not be read: TypeError: Converting circular structure to JSON/],
      [empty, 'empty: describe() could not be read: TypeError: it gave nothing JSON can hold'],
    ] as const
    const executor = new BullMQExecutor({ connection })
    try {
      for (const [graph, message] of cases) {
        const errors = [
          await Promise.resolve()
            .then(() => graphFingerprint(graph))
            .catch((caught: unknown) => caught),
          await serve({ connection, graphs: [graph] }).catch((caught: unknown) => caught),
          await graph.invoke(undefined, { executor, runId: 'never-queued' }).catch((caught: unknown) => caught),
        ]
        for (const error of errors) {
          expect(ConfigurationError.isInstance(error)).toBe(true)
          expect((error as Error).message).toMatch(message)
        }
      }
    } finally {
      await executor.close()
    }
  })

  it('a closed executor rejects result and cancel with an AbortError, as it does invoke, not a Redis client error', async () => {
    const executor = new BullMQExecutor({ connection })
    await executor.close()
    const graph = defineFunction({ name: 'graph', run: () => 1 })
    const errors = [
      await executor.result('run-1').catch((caught: unknown) => caught),
      await executor.cancel('run-1').catch((caught: unknown) => caught),
      await graph.invoke(undefined, { executor, runId: 'run-1' }).catch((caught: unknown) => caught),
    ]
    for (const error of errors) {
      expect(AbortError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/the executor is closed/)
    }
    // A run id no run can have is still refused as such.
    expect(ConfigurationError.isInstance(await executor.result('a:b').catch((caught: unknown) => caught))).toBe(true)
  })

  it('refuses intervals longer than a timer can hold, which Node would run every millisecond', async () => {
    const graphs = [defineFunction({ name: 'graph', run: () => 1 })]
    for (const option of ['lockDurationMs', 'stalledIntervalMs'] as const) {
      const error = await serve({ connection, graphs, [option]: 3e9 }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(
        `serve: ${option} must be an integer ≥ 100 and ≤ 2147483647, got 3000000000`,
      )
    }
    expect(refusal(() => new BullMQExecutor({ connection, pollIntervalMs: 3e9 })).message).toBe(
      'BullMQExecutor: pollIntervalMs must be an integer ≥ 10 and ≤ 2147483647, got 3000000000',
    )
  })
})
