import { createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { captureStream, jsonLines } from './__fixtures__/capture-stream.js'
import { createConsoleLogger, type LogStream } from './console-logger.js'
import { getLogger } from './default-logger.js'
import type { LogFields, Logger } from './logger.js'
import { createMemoryLogger } from './memory-logger.js'
import type { LogMethods } from './method-logger.js'
import { createSilentLogger } from './silent-logger.js'
import { toLogger } from './to-logger.js'

function pinoWithCapture(level = 'info') {
  const stream = captureStream()
  return { stream, pino: pino({ level, base: { service: 'svc' } }, stream) }
}

describe('toLogger with pino', () => {
  it('uses a pino instance unchanged: fields first, message second, pino bindings and levels', () => {
    const { stream, pino: instance } = pinoWithCapture()
    const logger = toLogger(instance)
    logger.child({ runId: 'r1' }).info('started', { model: 'gpt-4o', attempt: 1 })
    const [line] = jsonLines(stream)
    expect(line).toMatchObject({ level: 30, msg: 'started', service: 'svc', runId: 'r1', model: 'gpt-4o', attempt: 1 })
  })

  it('maps isLevelEnabled to pino and follows a level changed on the pino instance', () => {
    const { stream, pino: instance } = pinoWithCapture('warn')
    const logger = toLogger(instance)
    expect(logger.isLevelEnabled('info')).toBe(false)
    logger.info('hidden')
    instance.level = 'trace'
    expect(logger.isLevelEnabled('trace')).toBe(true)
    logger.trace('shown')
    expect(jsonLines(stream).map((line) => line.msg)).toEqual(['shown'])
  })

  it('writes every level at pino level numbers', () => {
    const { stream, pino: instance } = pinoWithCapture('trace')
    const logger = toLogger(instance)
    logger.trace('t')
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    expect(jsonLines(stream).map((line) => line.level)).toEqual([10, 20, 30, 40, 50])
  })

  it('passes redacted fields, bindings and message, and errors as objects', () => {
    const { stream, pino: instance } = pinoWithCapture()
    const logger = toLogger(instance).child({ apiKey: 'canary-binding-value' })
    logger.error('failed with Bearer abcdef0123456789abcdef', {
      headers: { authorization: 'canary-header-value' },
      error: Object.assign(new Error('boom'), { status: 500 }),
    })
    const [line] = jsonLines(stream)
    expect(line).toMatchObject({
      msg: 'failed with Bearer [REDACTED]',
      apiKey: '[REDACTED]',
      headers: { authorization: '[REDACTED]' },
      error: { message: 'boom', status: 500 },
    })
    expect(stream.text()).not.toContain('canary')
  })

  it('leaves % in messages alone (pino formats only when given arguments)', () => {
    const { stream, pino: instance } = pinoWithCapture()
    toLogger(instance).info('100% done %s %d')
    expect(jsonLines(stream)[0]?.msg).toBe('100% done %s %d')
  })
  it('gives pino and a logger of (message, fields) methods "[Unserializable]" for a message that cannot be made text', () => {
    const { stream, pino: instance } = pinoWithCapture()
    toLogger(instance).info(Object.create(null), { request: 7 })
    expect(jsonLines(stream)[0]).toMatchObject({ msg: '[Unserializable]', request: 7 })
    const calls: unknown[][] = []
    const methods = { debug() {}, info: (...args: unknown[]) => calls.push(args), warn() {}, error() {} }
    toLogger(methods).info(Object.create(null), { request: 7 })
    expect(calls).toEqual([['[Unserializable]', { request: 7 }]])
  })
})

describe('toLogger with other loggers', () => {
  it('returns loggers of this package unchanged', () => {
    for (const logger of [
      createMemoryLogger(),
      createSilentLogger(),
      createConsoleLogger({ stream: captureStream() }),
    ]) {
      expect(toLogger(logger)).toBe(logger)
    }
    const adapted = toLogger(console)
    expect(toLogger(adapted)).toBe(adapted)
  })

  it('wraps an object with debug/info/warn/error(message, fields), emulating child bindings and trace', () => {
    const calls: unknown[][] = []
    const record =
      (level: string) =>
      (...args: unknown[]) => {
        calls.push([level, ...args])
      }
    const target = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
    const logger = toLogger(target)
    logger.info('plain')
    logger.child({ runId: 'r1' }).trace('traced', { password: 'p' })
    expect(logger.isLevelEnabled('trace')).toBe(true)
    expect(calls).toEqual([
      ['info', 'plain'],
      ['debug', 'traced', { runId: 'r1', password: '[REDACTED]' }],
    ])
  })

  it('calls the methods on their object, so class-based loggers keep `this`', () => {
    class Collector {
      readonly lines: string[] = []
      debug(message: string): void {
        this.lines.push(message)
      }
      info(message: string): void {
        this.lines.push(message)
      }
      warn(message: string): void {
        this.lines.push(message)
      }
      error(message: string): void {
        this.lines.push(message)
      }
    }
    const collector = new Collector()
    toLogger(collector).warn('kept')
    expect(collector.lines).toEqual(['kept'])
  })

  it("uses a foreign full Logger's own child and isLevelEnabled, redacting what it passes", () => {
    const seen: { bindings: LogFields[]; lines: unknown[][] } = { bindings: [], lines: [] }
    function foreign(bindings: LogFields): Logger {
      const write = (level: string) => (message: string, fields?: LogFields) => {
        seen.lines.push([level, message, bindings, fields])
      }
      return {
        trace: write('trace'),
        debug: write('debug'),
        info: write('info'),
        warn: write('warn'),
        error: write('error'),
        isLevelEnabled: (level) => level !== 'trace',
        child(childBindings) {
          seen.bindings.push(childBindings)
          return foreign({ ...bindings, ...childBindings })
        },
      }
    }
    const logger = toLogger(foreign({}))
    const child = logger.child({ token: 'x' })
    child.trace('hidden')
    child.info('shown', { n: 1 })
    expect(seen.bindings).toEqual([{ token: '[REDACTED]' }])
    expect(seen.lines).toEqual([['info', 'shown', { token: '[REDACTED]' }, { n: 1 }]])
  })

  it('rejects something that is not a logger', () => {
    expect(() => toLogger({ info() {} } as unknown as Logger)).toThrow(TypeError)
  })
})

describe('a logger that throws', () => {
  it('never throws into the code that logs: the line is dropped and the failure reported once on stderr', () => {
    const boom = (): never => {
      throw new Error('transport gone')
    }
    const logger = toLogger({ debug: boom, info: boom, warn: boom, error: boom })
    const written: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    try {
      expect(() => logger.info('one')).not.toThrow()
      expect(() => logger.error('two', { key: 'sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa' })).not.toThrow()
      expect(() => logger.child({ runId: 'r' }).warn('three')).not.toThrow()
    } finally {
      process.stderr.write = write
    }
    expect(written.filter((line) => line.includes('a logger failed to write a line')).length).toBeGreaterThanOrEqual(1)
    expect(written.join('')).toContain('transport gone')
  })
})

describe('a logger whose child or isLevelEnabled throws', () => {
  /** Runs `body` with stderr captured, so the once-per-process failure report does not reach the test output. */
  function quietly(body: () => void): void {
    const write = process.stderr.write
    process.stderr.write = (() => true) as typeof process.stderr.write
    try {
      body()
    } finally {
      process.stderr.write = write
    }
  }
  const boom = (): never => {
    throw new Error('transport gone')
  }

  it('makes the child itself, merging its bindings into each line, and counts every level as enabled', () => {
    const lines: unknown[][] = []
    const record =
      (level: string) =>
      (...args: unknown[]) =>
        lines.push([level, ...args])
    const full = {
      trace: record('trace'),
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      isLevelEnabled: boom,
      child: boom,
    }
    quietly(() => {
      const logger = toLogger(full)
      expect(logger.isLevelEnabled('debug')).toBe(true)
      const child = logger.child({ runId: 'r1', apiKey: 'k' })
      child.child({ step: 2 }).info('started')
    })
    expect(lines).toEqual([['info', 'started', { runId: 'r1', apiKey: '[REDACTED]', step: 2 }]])
  })

  it('does the same for a pino logger whose child throws', () => {
    const lines: unknown[][] = []
    const pinoLike = {
      levels: { values: { info: 30 } },
      bindings: () => ({}),
      child: boom,
      isLevelEnabled: boom,
      trace: boom,
      debug: boom,
      info: (fields: unknown, message: unknown) => lines.push([fields, message]),
      warn: boom,
      error: boom,
    }
    quietly(() => {
      const logger = toLogger(pinoLike)
      expect(logger.isLevelEnabled('info')).toBe(true)
      logger.child({ runId: 'r1' }).child({ step: 2 }).info('started', { ms: 3 })
    })
    expect(lines).toEqual([[{ runId: 'r1', step: 2, ms: 3 }, 'started']])
  })

  it('does the same for a child that returns no logger (a `child` that forgot its `return`), pino-like or not', () => {
    const lines: unknown[][] = []
    const record =
      (level: string) =>
      (...args: unknown[]) =>
        lines.push([level, ...args])
    const forgetful = {
      trace: record('trace'),
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      isLevelEnabled: () => true,
      child() {},
    }
    const pinoLike = {
      levels: { values: { info: 30 } },
      bindings: () => ({}),
      child: () => null,
      isLevelEnabled: () => true,
      trace: record('pino trace'),
      debug: record('pino debug'),
      info: record('pino info'),
      warn: record('pino warn'),
      error: record('pino error'),
    }
    quietly(() => {
      toLogger(forgetful as never)
        .child({ runId: 'r1' })
        .info('started', { ms: 3 })
      toLogger(pinoLike as never)
        .child({ runId: 'r2' })
        .warn('slow', { ms: 4 })
    })
    expect(lines).toEqual([
      ['info', 'started', { runId: 'r1', ms: 3 }],
      ['pino warn', { runId: 'r2', ms: 4 }, 'slow'],
    ])
  })
})

describe('a logger whose methods are async', () => {
  /**
   * Logs through `target` with a fresh copy of this package (its once-per-process report not spent yet) and returns
   * what reached stderr and the unhandled rejections the process saw meanwhile, once `settled` (an event) is.
   */
  async function logThrough(target: LogMethods | LogStream, log: (logger: Logger) => void, settled?: Promise<unknown>) {
    vi.resetModules()
    const fresh = await import('./index.js')
    const unhandled: unknown[] = []
    const onUnhandledRejection = (reason: unknown) => unhandled.push(reason)
    const written: string[] = []
    const write = process.stderr.write
    process.on('unhandledRejection', onUnhandledRejection)
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    try {
      const logger =
        'write' in target ? fresh.createConsoleLogger({ stream: target, format: 'json' }) : fresh.toLogger(target)
      expect(() => log(logger)).not.toThrow()
      // Unhandled rejections are detected once the microtask queue drains; a timer runs after that.
      await new Promise((resolve) => setTimeout(resolve, 20))
      await settled
    } finally {
      process.stderr.write = write
      process.off('unhandledRejection', onUnhandledRejection)
    }
    return { stderr: written.join(''), unhandled }
  }

  const ignore = async (): Promise<void> => {}

  it('treats a method whose promise rejects like one that throws: dropped, reported once, never unhandled', async () => {
    const asyncLogger = {
      debug: ignore,
      info: async () => {
        throw new Error('log transport down')
      },
      warn: ignore,
      error: ignore,
    }
    const { stderr, unhandled } = await logThrough(asyncLogger, (logger) => {
      logger.debug('written')
      logger.info('one')
      logger.child({ runId: 'r' }).info('two')
    })
    expect(unhandled).toEqual([])
    expect(stderr).toBe('tinyllm: a logger failed to write a line and dropped it (Error: log transport down)\n')
  })

  it('does the same for a console logger whose stream writes asynchronously and rejects', async () => {
    const stream = {
      write: async (_line: string) => {
        throw new Error('disk full')
      },
    }
    const { stderr, unhandled } = await logThrough(stream, (logger) => {
      logger.info('one')
      logger.child({ runId: 'r' }).warn('two')
    })
    expect(unhandled).toEqual([])
    expect(stderr).toBe('tinyllm: a logger failed to write a line and dropped it (Error: disk full)\n')
  })

  it('does the same for a Node stream that fails by an error event: a file it cannot open, a write after its end', async () => {
    const failing = new Writable({
      write(_chunk, _encoding, done) {
        done(new Error('disk full, key sk-proj-Abc123Def456Ghi789Jkl012Mno345'))
      },
    })
    const { stderr, unhandled } = await logThrough(failing, (logger) => {
      logger.info('one')
      logger.child({ runId: 'r' }).warn('two')
    })
    expect(unhandled).toEqual([])
    expect(stderr).toBe('tinyllm: a logger failed to write a line and dropped it (Error: disk full, key [REDACTED])\n')
    expect(failing.destroyed).toBe(true)

    const ended = new PassThrough()
    ended.end()
    const afterEnd = await logThrough(ended, (logger) => logger.info('late'))
    expect(afterEnd.stderr).toContain('(Error: write after end)')

    const unopened = createWriteStream(join(tmpdir(), `tinyllm-${process.pid}-missing`, 'missing', 'run.log'))
    const closed = new Promise<void>((resolve) => unopened.once('close', () => resolve()))
    const missing = await logThrough(unopened, (logger) => logger.info('lost'), closed)
    expect(missing.stderr).toContain('ENOENT')
  })

  it('reports a failure that quotes the line it dropped cut, with no terminal escape and no line of its own', async () => {
    const quoting = {
      debug: ignore,
      info: (message: string) => {
        throw new Error(`cannot write ${message}`)
      },
      warn: ignore,
      error: ignore,
    }
    const { stderr } = await logThrough(quoting, (logger) => {
      logger.info(`model said \u001b[2J\u009b31m\r\n12:00:00.000 ERROR forged ${'x'.repeat(5_000)}`)
    })
    expect(stderr).toBe(
      `tinyllm: a logger failed to write a line and dropped it (Error: cannot write model said \\u001b[2J\\u009b31m\\r\\n12:00:00.000 ERROR forged ${'x'.repeat(933)}…)\n`,
    )
  })

  it('does the same for a thenable that rejects and for one whose then throws', async () => {
    const rejecting = () => ({
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about.
      then(_onFulfilled: unknown, onRejected: (reason: unknown) => void) {
        queueMicrotask(() => onRejected(new Error('thenable rejected')))
      },
    })
    const throwingThen = () => ({
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about.
      get then(): never {
        throw new Error('then getter threw')
      },
    })
    for (const [method, reason] of [
      [rejecting, 'thenable rejected'],
      [throwingThen, 'then getter threw'],
    ] as const) {
      const { stderr, unhandled } = await logThrough(
        { debug: method, info: method, warn: method, error: method },
        (logger) => logger.warn('line'),
      )
      expect(unhandled).toEqual([])
      expect(stderr).toContain(`(Error: ${reason})`)
    }
  })
})

describe("isLevelEnabled('silent')", () => {
  it('answers false for every logger of this package, at every level it runs at, nothing being written at silent', () => {
    const loggers: Logger[] = []
    for (const level of ['trace', 'info', 'error', 'silent'] as const) {
      loggers.push(createConsoleLogger({ level, stream: captureStream() }), createMemoryLogger({ level }))
      loggers.push(toLogger(pinoWithCapture(level).pino))
    }
    const everything = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => true }
    loggers.push(toLogger(everything), toLogger(console), createSilentLogger(), getLogger('named'))
    loggers.push(...loggers.map((logger) => logger.child({ a: 1 })))
    for (const logger of loggers) {
      // JavaScript callers (and `LogLevel` values) can ask about 'silent', which the type leaves out.
      expect(logger.isLevelEnabled('silent' as 'error')).toBe(false)
    }
    expect(loggers).toHaveLength(32)
  })
})
