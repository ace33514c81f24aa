import { PassThrough, Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { captureStream, jsonLines } from './__fixtures__/capture-stream.js'
import { type ConsoleLoggerOptions, createConsoleLogger } from './console-logger.js'
import { createMemoryLogger } from './memory-logger.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('createConsoleLogger levels', () => {
  it('writes info and above by default', () => {
    vi.stubEnv('TINYLLM_LOG_LEVEL', undefined)
    const stream = captureStream()
    const logger = createConsoleLogger({ stream })
    logger.trace('t')
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    expect(jsonLines(stream).map((line) => line.level)).toEqual(['info', 'warn', 'error'])
    expect(logger.isLevelEnabled('debug')).toBe(false)
    expect(logger.isLevelEnabled('info')).toBe(true)
  })

  it('takes its level from TINYLLM_LOG_LEVEL, case-insensitively, when no level is given', () => {
    vi.stubEnv('TINYLLM_LOG_LEVEL', ' DEBUG ')
    const stream = captureStream()
    const logger = createConsoleLogger({ stream })
    logger.trace('t')
    logger.debug('d')
    expect(jsonLines(stream).map((line) => line.msg)).toEqual(['d'])
  })

  it('prefers the level option to the environment and ignores an unknown environment value', () => {
    vi.stubEnv('TINYLLM_LOG_LEVEL', 'trace')
    expect(createConsoleLogger({ level: 'error', stream: captureStream() }).isLevelEnabled('warn')).toBe(false)
    vi.stubEnv('TINYLLM_LOG_LEVEL', 'loud')
    const logger = createConsoleLogger({ stream: captureStream() })
    expect(logger.isLevelEnabled('info')).toBe(true)
    expect(logger.isLevelEnabled('debug')).toBe(false)
  })

  it('refuses an unknown level in the words of every option check: <function>: level must be …, got …', () => {
    const levels = "'trace', 'debug', 'info', 'warn', 'error', 'silent'"
    expect(() => createConsoleLogger({ level: 'loud' as 'info' })).toThrow(
      `createConsoleLogger: level must be one of ${levels}, got "loud"`,
    )
    expect(() => createMemoryLogger({ level: 'verbose' as 'info' })).toThrow(
      `createMemoryLogger: level must be one of ${levels}, got "verbose"`,
    )
  })

  it('rejects an unknown format', () => {
    expect(() => createConsoleLogger({ format: 'prety' as 'pretty' })).toThrow(
      "createConsoleLogger: format must be one of 'auto', 'pretty', 'json', got \"prety\"",
    )
  })

  it('quotes what an option error was given with its secrets replaced, cut short', () => {
    const key = 'sk-proj-Q7xv93Lm2ZpKa8Rt51WdYb'
    const long = 'x'.repeat(10_000_000)
    const refusals = [
      () => createConsoleLogger({ level: key as 'info' }),
      () => createConsoleLogger({ format: key as 'json' }),
      () => createConsoleLogger({ [key]: true } as ConsoleLoggerOptions),
      () => createConsoleLogger({ level: long as 'info' }),
      () => createConsoleLogger({ format: long as 'json' }),
      () => createConsoleLogger({ [long]: true } as ConsoleLoggerOptions),
      () => createMemoryLogger({ level: { toString: () => key } as unknown as 'info' }),
    ]
    for (const refuse of refusals) {
      const error = (() => {
        try {
          refuse()
        } catch (caught) {
          return caught as Error
        }
        throw new Error('not refused')
      })()
      expect(error).toBeInstanceOf(TypeError)
      expect(error.message).not.toContain('Q7xv')
      expect(error.message.length).toBeLessThan(1_000)
    }
    expect(() => createConsoleLogger({ level: 20 as unknown as 'info' })).toThrow(/, got 20$/)
  })

  it('quotes 64 characters of what an option error was given, then an ellipsis', () => {
    const quoted = `"${'x'.repeat(64)}…"`
    expect(() => createConsoleLogger({ level: 'x'.repeat(1_000) as 'info' })).toThrow(`, got ${quoted}`)
    expect(() => createConsoleLogger({ format: 'x'.repeat(1_000) as 'json' })).toThrow(`, got ${quoted}`)
    const unreadable = {
      get level(): 'info' {
        throw new Error('z'.repeat(1_000))
      },
    }
    expect(() => createMemoryLogger(unreadable)).toThrow(
      new TypeError(`createMemoryLogger: options could not be read: Error: ${'z'.repeat(57)}…`),
    )
  })

  it('refuses an option it does not know, suggesting the one meant', () => {
    const stream = captureStream()
    const unknown = (options: object) => () => createConsoleLogger({ stream, ...options } as ConsoleLoggerOptions)
    expect(unknown({ levle: 'debug' })).toThrow(
      new TypeError(
        'createConsoleLogger: levle is not an option; did you mean level? (known: level, stream, format, colors, bindings)',
      ),
    )
    expect(unknown({ color: false })).toThrow(/color is not an option; did you mean colors\?/)
    expect(unknown({ transport: 'pino-pretty' })).toThrow(/^createConsoleLogger: transport is not an option \(known: /)
    expect(unknown({ levle: undefined })).not.toThrow()
  })

  it('refuses options that are not an object with a TypeError that says so', () => {
    expect(() => createConsoleLogger(null as unknown as ConsoleLoggerOptions)).toThrow(
      new TypeError('createConsoleLogger: options must be an object, got null'),
    )
    expect(() => createConsoleLogger('debug' as unknown as ConsoleLoggerOptions)).toThrow(
      new TypeError('createConsoleLogger: options must be an object, got string'),
    )
  })

  it('refuses a stream without write, colors that are not a boolean, and options whose reading throws, with a TypeError', () => {
    for (const stream of [{}, 5, 'stderr']) {
      expect(() => createConsoleLogger({ stream } as unknown as ConsoleLoggerOptions)).toThrow(
        /^createConsoleLogger: stream must have a write method, got /,
      )
    }
    expect(() => createConsoleLogger({ stream: captureStream(), colors: 'yes' as unknown as boolean })).toThrow(
      new TypeError('createConsoleLogger: colors must be true or false, got "yes"'),
    )
    const unreadable = Object.defineProperty({}, 'level', {
      enumerable: true,
      get() {
        throw new Error('not readable')
      },
    })
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('not readable')
        },
      },
    )
    for (const options of [unreadable, trap]) {
      expect(() => createConsoleLogger(options)).toThrow(
        new TypeError('createConsoleLogger: options could not be read: Error: not readable'),
      )
      expect(() => createMemoryLogger(options)).toThrow(
        new TypeError('createMemoryLogger: options could not be read: Error: not readable'),
      )
    }
  })

  it('refuses a stream whose write or isTTY throws when read with a TypeError, the secret in what it threw replaced', () => {
    const key = 'sk-proj-Abc123def456ghi789jkl012'
    const throwingWrite = Object.defineProperty({}, 'write', {
      get() {
        throw new Error(`no write for ${key}`)
      },
    })
    const throwingTerminal = Object.defineProperty({ write() {} }, 'isTTY', {
      get() {
        throw new Error(`no tty for ${key}`)
      },
    })
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error(`no write for ${key}`)
        },
      },
    )
    for (const stream of [throwingWrite, trap, throwingTerminal]) {
      let thrown: unknown
      try {
        createConsoleLogger({ stream } as unknown as ConsoleLoggerOptions)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(TypeError)
      expect((thrown as Error).message).toMatch(
        /^createConsoleLogger: options could not be read: Error: no (write|tty) for \[REDACTED\]$/,
      )
    }
  })

  it('writes to a stream whose on is not an event emitter’s, and listens once to a stream many loggers share', () => {
    const lines: string[] = []
    const odd = {
      write: (line: string) => lines.push(line),
      on() {
        throw new Error('not an emitter')
      },
    }
    createConsoleLogger({ stream: odd, format: 'json' }).info('written')
    expect(lines).toHaveLength(1)
    const shared = new PassThrough()
    for (let index = 0; index < 20; index++) createConsoleLogger({ stream: shared })
    expect(shared.listenerCount('error')).toBe(1)
  })

  it('drops lines while its stream holds 16 MiB unwritten, and says how many once the stream drains', async () => {
    const held: Array<() => void> = []
    const written: string[] = []
    // A reader that fell behind: nothing written completes until it catches up.
    const behind = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString())
        held.push(done)
      },
    })
    // Loggers made one per request, on one stream: one count and one listener for them all.
    const loggers = Array.from({ length: 20 }, () => createConsoleLogger({ stream: behind, format: 'json' }))
    const page = 'x'.repeat(1024 * 1024)
    for (let line = 0; line < 40; line++) loggers[line % 20]!.info(page, { line })
    expect(behind.writableLength).toBeLessThan(20 * 1024 * 1024)
    expect(behind.listenerCount('drain')).toBe(1)
    const drained = new Promise<void>((resolve) => behind.once('drain', () => setImmediate(resolve)))
    while (held.length > 0) held.shift()!()
    await drained
    while (held.length > 0) held.shift()!()
    const lines = written.map((text) => JSON.parse(text) as Record<string, unknown>)
    const kept = lines.filter((line) => line.msg === page)
    expect(kept.length).toBeGreaterThanOrEqual(16)
    expect(kept.length).toBeLessThan(40)
    expect(lines.at(-1)).toMatchObject({ level: 'warn', msg: 'log lines dropped while the stream was behind' })
    expect(lines.at(-1)!.dropped).toBe(40 - kept.length)
  })

  it('drops lines while an object-mode stream holds 16 MiB unwritten, though such a stream counts lines, not bytes', async () => {
    const held: Array<() => void> = []
    const written: string[] = []
    // A stream that takes each line as an object (one that ships lines elsewhere), whose reader fell behind.
    const behind = new Writable({
      objectMode: true,
      write(line: string, _encoding, done) {
        written.push(line)
        held.push(done)
      },
    })
    const logger = createConsoleLogger({ stream: behind, format: 'json' })
    const page = 'x'.repeat(1024 * 1024)
    for (let line = 0; line < 40; line++) logger.info(page, { line })
    expect(behind.listenerCount('drain')).toBe(1)
    const drained = new Promise<void>((resolve) => behind.once('drain', () => setImmediate(resolve)))
    while (held.length > 0) held.shift()!()
    await drained
    while (held.length > 0) held.shift()!()
    const lines = written.map((text) => JSON.parse(text) as Record<string, unknown>)
    const kept = lines.filter((line) => line.msg === page)
    // What the stream held at once: 16 MiB and the line that passed it, not all 40 MiB.
    expect(kept.length).toBeGreaterThanOrEqual(16)
    expect(kept.length).toBeLessThanOrEqual(17)
    expect(lines.at(-1)).toMatchObject({ level: 'warn', msg: 'log lines dropped while the stream was behind' })
    expect(lines.at(-1)!.dropped).toBe(40 - kept.length)
    // Once drained, it is written to again.
    logger.info('after')
    held.shift()?.()
    expect(JSON.parse(written.at(-1)!)).toMatchObject({ msg: 'after' })
  })

  it('says how many lines it dropped at a level its loggers write: error for loggers that write only errors', () => {
    // A stream that holds 17 MiB its reader has not taken, as a Node stream says it, and drains when told.
    const behindStream = () => {
      const lines: string[] = []
      const drains: Array<() => void> = []
      const stream = {
        writableLength: 17 * 1024 * 1024,
        writableNeedDrain: true,
        write(line: string) {
          lines.push(line)
        },
        once(event: string, listener: () => void) {
          if (event === 'drain') drains.push(listener)
        },
        on() {},
      }
      const drain = () => {
        stream.writableLength = 0
        stream.writableNeedDrain = false
        for (const listener of drains.splice(0)) listener()
        return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      }
      return { stream, drain }
    }
    const summary = 'log lines dropped while the stream was behind'

    const quiet = behindStream()
    const errorsOnly = createConsoleLogger({ stream: quiet.stream, format: 'json', level: 'error' })
    for (let line = 0; line < 5; line++) errorsOnly.error('lost', { line })
    expect(quiet.drain()).toEqual([expect.objectContaining({ level: 'error', msg: summary, dropped: 5 })])

    // A logger that writes warnings beside it on the same stream: the summary is the warning it says.
    const shared = behindStream()
    const warns = createConsoleLogger({ stream: shared.stream, format: 'json', level: 'warn' })
    const errors = createConsoleLogger({ stream: shared.stream, format: 'json', level: 'error' })
    errors.error('lost')
    warns.error('lost')
    errors.error('lost')
    expect(shared.drain()).toEqual([expect.objectContaining({ level: 'warn', msg: summary, dropped: 3 })])
  })

  it('writes to a stream whose own bound is above 16 MiB until that bound, which says when it drains: no line lost unsaid', async () => {
    const held: Array<() => void> = []
    const written: string[] = []
    // A stream made to hold 64 MiB: it asks for no drain below that, so lines dropped past 16 MiB would never be counted.
    const roomy = new Writable({
      highWaterMark: 64 * 1024 * 1024,
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString())
        held.push(done)
      },
    })
    const logger = createConsoleLogger({ stream: roomy, format: 'json' })
    const page = 'x'.repeat(1024 * 1024)
    for (let line = 0; line < 40; line++) logger.info(page, { line })
    while (held.length > 0) held.shift()!()
    await new Promise((resolve) => setImmediate(resolve))
    while (held.length > 0) held.shift()!()
    const lines = written.map((text) => JSON.parse(text) as Record<string, unknown>)
    const kept = lines.filter((line) => line.msg === page)
    const dropped = lines.find((line) => line.msg === 'log lines dropped while the stream was behind')?.dropped ?? 0
    expect(kept.length + Number(dropped)).toBe(40)
    expect(kept).toHaveLength(40)
  })

  it('writes nothing at silent', () => {
    const stream = captureStream()
    const logger = createConsoleLogger({ level: 'silent', stream })
    logger.error('e')
    expect(stream.lines).toEqual([])
    expect(logger.isLevelEnabled('error')).toBe(false)
  })

  it('does no work for a disabled level: fields are never read', () => {
    const stream = captureStream()
    const logger = createConsoleLogger({ level: 'warn', stream }).child({ runId: 'r1' })
    let reads = 0
    const fields = new Proxy(
      { a: 1 },
      {
        ownKeys(target) {
          reads++
          return Reflect.ownKeys(target)
        },
        get(target, key) {
          reads++
          return Reflect.get(target, key)
        },
      },
    )
    logger.info('skipped', fields)
    logger.debug('skipped', fields)
    expect(reads).toBe(0)
    expect(stream.lines).toEqual([])
  })
})

describe('createConsoleLogger JSON lines', () => {
  it('writes one JSON object per line: time, level, msg, bindings, then fields', () => {
    const stream = captureStream()
    const logger = createConsoleLogger({ stream, level: 'info', bindings: { service: 'svc' } })
    logger.info('classified', { label: 'credit', ms: 412 })
    expect(stream.lines).toHaveLength(1)
    expect(stream.lines[0]).toMatch(
      /^\{"time":"[^"]+","level":"info","msg":"classified","service":"svc","label":"credit","ms":412\}\n$/,
    )
    const [line] = jsonLines(stream)
    expect(new Date(String(line?.time)).toISOString()).toBe(line?.time)
  })

  it('is the format of a stream that is not a TTY, and of format json even on a TTY', () => {
    const pipe = captureStream(false)
    createConsoleLogger({ stream: pipe }).info('x')
    const terminal = captureStream(true)
    createConsoleLogger({ stream: terminal, format: 'json' }).info('x')
    expect(jsonLines(pipe)[0]?.msg).toBe('x')
    expect(jsonLines(terminal)[0]?.msg).toBe('x')
  })

  it('writes a line without fields as just time, level and msg', () => {
    const stream = captureStream()
    createConsoleLogger({ stream }).warn('careful')
    expect(Object.keys(jsonLines(stream)[0] ?? {})).toEqual(['time', 'level', 'msg'])
  })

  it('keeps fields named time, level or msg under fields.<name> rather than corrupting the line', () => {
    const stream = captureStream()
    createConsoleLogger({ stream }).info('real', { level: 'fake', msg: 'fake', time: 0 })
    expect(jsonLines(stream)[0]).toMatchObject({
      level: 'info',
      msg: 'real',
      'fields.level': 'fake',
      'fields.msg': 'fake',
      'fields.time': 0,
    })
  })

  it('merges child bindings outermost first; later bindings and fields win', () => {
    const stream = captureStream()
    const root = createConsoleLogger({ stream, bindings: { app: 'a', scope: 'root' } })
    const run = root.child({ runId: 'r1', scope: 'run' })
    run.child({ function: 'classify' }).info('step', { scope: 'line' })
    root.info('root line')
    const [childLine, rootLine] = jsonLines(stream)
    expect(childLine).toMatchObject({ app: 'a', runId: 'r1', function: 'classify', scope: 'line' })
    expect(rootLine).not.toHaveProperty('runId')
  })

  it('reads bindings when a line is written, not when the child is made', () => {
    const stream = captureStream()
    const bindings: Record<string, unknown> = { attempt: 1 }
    const child = createConsoleLogger({ stream }).child(bindings)
    bindings.attempt = 2
    child.info('x')
    expect(jsonLines(stream)[0]?.attempt).toBe(2)
  })

  it('serialises errors with name, message, stack, cause and own properties, never {}', () => {
    const stream = captureStream()
    const cause = new Error('socket hang up')
    const error = Object.assign(new Error('Provider call failed', { cause }), { status: 503, requestId: 'req_1' })
    createConsoleLogger({ stream }).error('call failed', { error })
    const written = jsonLines(stream)[0]?.error as Record<string, unknown>
    expect(written).toMatchObject({
      name: 'Error',
      message: 'Provider call failed',
      status: 503,
      requestId: 'req_1',
      cause: { name: 'Error', message: 'socket hang up' },
    })
    expect(written.stack).toMatch(/^Error: Provider call failed\n\s+at /)
  })

  it('writes a line of a few kilobytes, not megabytes, for an error caused by a 10 MB thrown string', () => {
    for (const format of ['json', 'pretty'] as const) {
      const stream = captureStream()
      const error = new Error('step failed', { cause: 'z'.repeat(10_000_000) })
      createConsoleLogger({ stream, format }).error('call failed', { error })
      expect(stream.text().length).toBeLessThan(20_000)
      expect(stream.text()).toContain(`${'z'.repeat(1_000)}…`)
    }
  }, 60_000)

  it('does not throw on circular structures or bigints', () => {
    const stream = captureStream()
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    const logger = createConsoleLogger({ stream }).child({ big: 2n ** 64n })
    expect(() => logger.info('odd values', { circular, count: 10n })).not.toThrow()
    expect(jsonLines(stream)[0]).toMatchObject({
      big: '18446744073709551616',
      count: '10',
      circular: { name: 'loop', self: '[Circular]' },
    })
  })

  it('writes one line whatever the keys hold: no raw newline, carriage return or escape', () => {
    const evil = '\u001b[2J\r\nFORGED 12:00:00.000 INFO  admin logged in'
    const stream = captureStream(false)
    const logger = createConsoleLogger({ stream, format: 'json' })
    logger.info('fields', { [evil]: 1 })
    logger.child({ [evil]: 1 }).info('bindings')
    logger.info('error', { error: Object.assign(new Error('x'), { [evil]: 1 }) })
    expect(stream.lines).toHaveLength(3)
    for (const line of stream.lines) {
      expect(line.indexOf('\n')).toBe(line.length - 1)
      expect(line).not.toContain('\r')
      expect(line).not.toContain('\u001b')
    }
    const [fields, bindings, error] = jsonLines(stream)
    expect(fields).toMatchObject({ msg: 'fields', [evil]: 1 })
    expect(bindings).toMatchObject({ msg: 'bindings', [evil]: 1 })
    expect(error).toMatchObject({ msg: 'error', error: { message: 'x', [evil]: 1 } })
  })
  it('writes a line whose message cannot be made text with "[Unserializable]" for it and its fields kept', () => {
    // A null-prototype object (what querystring.parse returns) and a toString that throws, as plain JavaScript may pass.
    const unprintable = [
      Object.create(null),
      {
        toString: () => {
          throw new Error('no text')
        },
      },
    ]
    const stream = captureStream(false)
    const logger = createConsoleLogger({ stream, format: 'json' })
    const memory = createMemoryLogger()
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      for (const message of unprintable) {
        logger.info(message as never, { request: 7 })
        memory.info(message as never, { request: 7 })
      }
    } finally {
      stderr.mockRestore()
    }
    expect(jsonLines(stream)).toEqual([
      expect.objectContaining({ msg: '[Unserializable]', request: 7 }),
      expect.objectContaining({ msg: '[Unserializable]', request: 7 }),
    ])
    expect(memory.entries).toEqual([
      { level: 'info', message: '[Unserializable]', fields: { request: 7 } },
      { level: 'info', message: '[Unserializable]', fields: { request: 7 } },
    ])
    // Not a failure of the stream: the one report a process makes of a logger that cannot write is kept for one.
    expect(stderr).not.toHaveBeenCalled()
  })

  it('writes C1 control characters, DEL and line separators as escapes: an 8-bit CSI or NEL forges nothing', () => {
    // U+009B is an 8-bit CSI that some terminals read as ESC [; U+0085 (NEL), U+2028 and U+2029 end a line for some
    // readers. JSON.stringify writes all of them raw.
    const evil = 'a\u009b2J\u0085FORGED\u2028b\u2029c\u007fd\u0080e\u009f'
    const stream = captureStream(false)
    const logger = createConsoleLogger({ stream, format: 'json' })
    logger.child({ [evil]: evil }).info(evil, { [evil]: evil, error: Object.assign(new Error(evil), { [evil]: evil }) })
    const [line] = stream.lines
    expect(line).not.toMatch(/[\u007f-\u009f\u2028\u2029]/)
    expect(line).toContain(String.raw`a\u009b2J\u0085FORGED\u2028b\u2029c\u007fd\u0080e\u009f`)
    const [parsed] = jsonLines(stream)
    expect(parsed).toMatchObject({ msg: evil, [evil]: evil, error: { message: evil, [evil]: evil } })
  })
})

describe('createConsoleLogger pretty lines', () => {
  const TIME = String.raw`\d\d:\d\d:\d\d\.\d{3}`
  const ESCAPE = '\u001b'

  it('writes time, level, message, then key=value fields when forced to pretty', () => {
    const stream = captureStream(false)
    const logger = createConsoleLogger({ stream, format: 'pretty', bindings: { runId: 'r1' } })
    logger.info('classified', { label: 'credit', note: 'two words', n: 3, ok: true, nested: { a: [1] } })
    logger.warn('slow')
    expect(stream.lines[0]).toMatch(
      new RegExp(
        `^${TIME} INFO  classified runId=r1 label=credit note="two words" n=3 ok=true nested=\\{"a":\\[1\\]\\}\\n$`,
      ),
    )
    expect(stream.lines[1]).toMatch(new RegExp(`^${TIME} WARN  slow runId=r1\\n$`))
    expect(stream.text()).not.toContain(ESCAPE)
  })

  it('is the format of a TTY, coloured by level', () => {
    const LEVEL_COLOUR = new RegExp(`${ESCAPE}\\[(\\d+)m(?:TRACE|DEBUG|INFO|WARN|ERROR)`)
    vi.stubEnv('NO_COLOR', '')
    const stream = captureStream(true)
    const logger = createConsoleLogger({ stream, level: 'trace' })
    logger.trace('t')
    logger.debug('d')
    logger.info('i', { key: 'value' })
    logger.warn('w')
    logger.error('e')
    const colours = stream.lines.map((line) => LEVEL_COLOUR.exec(line)?.[1])
    expect(colours).toEqual(['90', '36', '32', '33', '31'])
    expect(stream.lines[2]).toContain('key=')
  })

  it('is not coloured when NO_COLOR is set or colors is false', () => {
    vi.stubEnv('NO_COLOR', '1')
    const noColor = captureStream(true)
    createConsoleLogger({ stream: noColor }).info('i')
    vi.stubEnv('NO_COLOR', '')
    const optionOff = captureStream(true)
    createConsoleLogger({ stream: optionOff, colors: false }).info('i')
    expect(noColor.text()).toMatch(new RegExp(`^${TIME} INFO  i\\n$`))
    expect(optionOff.text()).toMatch(new RegExp(`^${TIME} INFO  i\\n$`))
  })

  it('writes an error field inline with its own properties, then its stack and causes indented', () => {
    const stream = captureStream()
    const cause = new TypeError('fetch failed')
    const error = Object.assign(new RangeError('Provider call failed', { cause }), { status: 503 })
    createConsoleLogger({ stream, format: 'pretty' }).error('call failed', { error })
    const [first, ...rest] = stream.text().trimEnd().split('\n')
    expect(first).toMatch(
      new RegExp(`^${TIME} ERROR call failed error="RangeError: Provider call failed" error.status=503$`),
    )
    expect(rest[0]).toBe('    RangeError: Provider call failed')
    expect(rest).toContain('    Caused by: TypeError: fetch failed')
    expect(rest.every((line) => line.startsWith('    '))).toBe(true)
  })

  it('quotes strings with spaces, quotes, equals signs or control characters', () => {
    const stream = captureStream()
    createConsoleLogger({ stream, format: 'pretty' }).info('m', {
      a: 'plain',
      b: 'x=y',
      c: 'say "hi"',
      d: 'line\nbreak',
      e: '',
      f: null,
      g: undefined,
    })
    expect(stream.text()).toContain(' a=plain b="x=y" c="say \\"hi\\"" d="line\\nbreak" e="" f=null g=undefined\n')
  })

  it('escapes control characters of messages and stacks: no terminal escape, no forged log line', () => {
    const stream = captureStream(false)
    const forged = `done\n12:00:00.000 ERROR forged line${ESCAPE}[31m red`
    const error = new Error(`bad\n12:00:00.000 INFO  also forged${ESCAPE}]0;title\u0007`)
    createConsoleLogger({ stream, format: 'pretty' }).info(forged, { error })
    const text = stream.text()
    expect(text).not.toContain(ESCAPE)
    expect(text).not.toContain('\u0007')
    expect(text).toContain('done\\n12:00:00.000 ERROR forged line\\u001b[31m red')
    // Every line after the first is indented: nothing in a message or stack passes for a line of its own.
    const [, ...rest] = text.trimEnd().split('\n')
    expect(rest.length).toBeGreaterThan(0)
    for (const line of rest) expect(line.startsWith('    ')).toBe(true)
  })

  it('escapes the line and paragraph separators in pretty lines, as in JSON lines: an editor reads them as line ends', () => {
    const stream = captureStream(false)
    const forged = 'done\u202812:00:00.000 ERROR forged\u2029'
    const error = new Error(`bad${forged}`)
    createConsoleLogger({ stream, format: 'pretty', colors: false }).info(forged, { [forged]: forged, error })
    const text = stream.text()
    expect(text).not.toMatch(/[\u2028\u2029]/)
    expect(text).toContain(String.raw`done\u202812:00:00.000 ERROR forged\u2029`)
  })

  it('escapes and quotes keys as it does values: field, binding and error property keys forge nothing', () => {
    const evil = `${ESCAPE}[2J\r\nFORGED 12:00:00.000 INFO  admin logged in`
    const stream = captureStream(false)
    const logger = createConsoleLogger({ stream, format: 'pretty', colors: false })
    logger.info('fields', { [evil]: 1, 'a b': 2, 'x=y': 3 })
    logger.child({ [evil]: 1 }).info('bindings')
    logger.info('error', { error: Object.assign(new Error('x'), { [evil]: 1 }) })
    logger.info('c1', { 'csi\u009b31m': 'value\u009b31m', nested: { '\u009b': '\u007f' } })
    const text = stream.text()
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what must not get through.
    expect(text).not.toMatch(/[\u001b\u007f-\u009f\r]/)
    expect(text.split('\n').some((line) => line.startsWith('FORGED'))).toBe(false)
    const quoted = String.raw`"\u001b[2J\r\nFORGED 12:00:00.000 INFO  admin logged in"`
    // Each line without its time: `12:04:05.123 ` is 13 characters.
    const [fields, bindings, error, c1] = text
      .split('\n')
      .filter((line) => /^\d/.test(line))
      .map((line) => line.slice(13))
    expect(fields).toBe(`INFO  fields ${quoted}=1 "a b"=2 "x=y"=3`)
    expect(bindings).toBe(`INFO  bindings ${quoted}=1`)
    expect(error).toBe(
      String.raw`INFO  error error="Error: x" "error.\u001b[2J\r\nFORGED 12:00:00.000 INFO  admin logged in"=1`,
    )
    expect(c1).toBe(String.raw`INFO  c1 "csi\u009b31m"="value\u009b31m" nested={"\u009b":"\u007f"}`)
  })
})

describe("the process's own streams", () => {
  it('are not listened to for error events: a closed stdout or stderr pipe ends the process as without the logger', () => {
    const before = [process.stdout.listenerCount('error'), process.stderr.listenerCount('error')]
    createConsoleLogger({ stream: process.stdout })
    createConsoleLogger()
    expect([process.stdout.listenerCount('error'), process.stderr.listenerCount('error')]).toEqual(before)
  })
})
