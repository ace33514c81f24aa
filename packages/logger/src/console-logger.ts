import { BaseLogger } from './base-logger.js'
import { readEnvironment } from './environment.js'
import { formatJsonLine } from './json-line.js'
import { checkKnownOptions, quoteGiven, unreadableOptions } from './known-options.js'
import { reportFailure } from './leveled-logger.js'
import { resolveLogLevel, type WritableLevel } from './log-level.js'
import type { LogFields, Logger, LogLevel } from './logger.js'
import { formatPrettyLine } from './pretty-line.js'
import { mergeRedacted, redactMessage } from './redact.js'

/**
 * Where a console logger writes: anything with `write(string)`, such as `process.stderr` or a file stream. A `write`
 * that throws, or returns a promise that rejects, drops the line (the first such failure is reported on stderr), and so
 * does a Node stream's `error` event, which the logger listens for. While a Node stream holds more than 16 MiB its
 * reader has not taken (or its own `highWaterMark`, when larger), lines are dropped, and counted in one line once it
 * drains (a `warn`, or an `error` when the loggers that dropped lines write only errors).
 */
export interface LogStream {
  write(line: string): unknown
  /** When `true` and the format is `auto`, lines are pretty and coloured. */
  readonly isTTY?: boolean | undefined
}

/** How a console logger writes lines: `pretty` for people, `json` (one object per line) for machines. */
export type ConsoleLogFormat = 'pretty' | 'json' | 'auto'

/** Options of `createConsoleLogger`. */
export interface ConsoleLoggerOptions {
  /** Least severe level written. Default: `TINYLLM_LOG_LEVEL` when it names a level, else `info`. */
  readonly level?: LogLevel
  /** Default: `process.stderr` (`console.error` where there is no `process`). */
  readonly stream?: LogStream
  /** Default `auto`: `pretty` when the stream is a TTY, else `json`. */
  readonly format?: ConsoleLogFormat
  /** Colour pretty lines. Default: when the stream is a TTY and `NO_COLOR` is not set. JSON is never coloured. */
  readonly colors?: boolean
  /** Fields added to every line. */
  readonly bindings?: LogFields
}

const OPTION_NAMES: Readonly<Record<keyof ConsoleLoggerOptions, true>> = {
  level: true,
  stream: true,
  format: true,
  colors: true,
  bindings: true,
}

/** What a console logger and all its children share. */
interface ConsoleOutput {
  readonly stream: LogStream
  readonly pretty: boolean
  readonly colors: boolean
  /** A Node stream in object mode: it counts the lines it holds, not their bytes, so the logger counts those. */
  readonly objectMode: boolean
}

class ConsoleLogger extends BaseLogger {
  readonly #output: ConsoleOutput

  constructor(output: ConsoleOutput, level: LogLevel, bindings: readonly LogFields[]) {
    super(level, bindings)
    this.#output = output
  }

  child(bindings: LogFields): Logger {
    return new ConsoleLogger(this.#output, this.level, [...this.bindings, bindings])
  }

  protected write(level: WritableLevel, message: string, fields: LogFields | undefined): unknown {
    const output = this.#output
    if (isBehind(output)) return dropLine(output, this.isLevelEnabled('warn'))
    return writeLine(output, formatLine(output, level, redactMessage(message), mergeRedacted(this.bindings, fields)))
  }
}

/**
 * Characters written to each object-mode stream that its reader has not taken yet, by every logger writing to it: such
 * a stream's `writableLength` counts lines, whatever their size.
 */
const unwrittenCharacters = new WeakMap<object, { count: number }>()

/** Writes `line`; to an object-mode stream, counted until the stream has taken it. */
function writeLine(output: ConsoleOutput, line: string): unknown {
  const stream = output.stream
  if (!output.objectMode) return stream.write(line)
  let unwritten = unwrittenCharacters.get(stream)
  if (unwritten === undefined) {
    unwritten = { count: 0 }
    unwrittenCharacters.set(stream, unwritten)
  }
  const counter = unwritten
  const taken = (): void => {
    counter.count -= line.length
  }
  counter.count += line.length
  try {
    // `taken` runs once the stream has taken the line, or failed to (its error is heard as an `error` event).
    return (stream as LogStream & { write(line: string, done: () => void): unknown }).write(line, taken)
  } catch (error) {
    taken()
    throw error
  }
}

/** One line as the output writes them. `message` and `fields` must already be redacted. */
function formatLine(
  output: ConsoleOutput,
  level: WritableLevel,
  message: string,
  fields: Record<string, unknown>,
): string {
  const time = new Date()
  return output.pretty
    ? formatPrettyLine(time, level, message, fields, output.colors)
    : formatJsonLine(time, level, message, fields)
}

/**
 * The most a stream may hold unwritten before lines are dropped: a Node stream takes every line it is given and holds
 * what its reader has not taken yet (a file on a slow disk, a pipe nobody reads), without bound.
 */
const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024

/**
 * Whether a Node stream holds more than {@link MAX_UNWRITTEN_BYTES} unwritten, and will say when it has drained. A
 * stream made to hold more (a `highWaterMark` above it) asks for no drain until it is full, so it is written to until
 * then: lines dropped before would never be counted. What an object-mode stream holds is what the logger counted.
 */
function isBehind(output: ConsoleOutput): boolean {
  const stream = output.stream
  const { writableLength, writableNeedDrain, once } = stream as {
    writableLength?: unknown
    writableNeedDrain?: unknown
    once?: unknown
  }
  const unwritten = output.objectMode ? unwrittenCharacters.get(stream)?.count : writableLength
  return (
    typeof unwritten === 'number' &&
    unwritten > MAX_UNWRITTEN_BYTES &&
    writableNeedDrain !== false &&
    typeof once === 'function'
  )
}

/** Lines dropped from one stream since it fell behind, and the level of the line that will say so. */
interface DroppedLines {
  count: number
  /** `warn`, once a logger that writes warnings dropped a line; until then `error`, as the lines dropped were errors. */
  level: 'warn' | 'error'
}

/**
 * Lines dropped from each stream since it fell behind, by every logger writing to it: one count and one listener per
 * stream, however many loggers share it.
 */
const droppedLines = new WeakMap<object, DroppedLines>()

/**
 * Counts a line dropped while the stream is behind; once it drains, one line says how many were dropped: a warning, or
 * an error when every logger that dropped a line writes only errors, so that no logger writes below its level.
 */
function dropLine(output: ConsoleOutput, warns: boolean): undefined {
  const stream = output.stream as LogStream & { once(event: string, listener: () => void): unknown }
  const dropped = droppedLines.get(stream)
  if (dropped !== undefined) {
    dropped.count++
    if (warns) dropped.level = 'warn'
    return undefined
  }
  droppedLines.set(stream, { count: 1, level: warns ? 'warn' : 'error' })
  stream.once('drain', () => {
    const { count, level } = droppedLines.get(stream) ?? { count: 0, level: 'warn' }
    droppedLines.delete(stream)
    try {
      writeLine(output, formatLine(output, level, 'log lines dropped while the stream was behind', { dropped: count }))
    } catch (error) {
      reportFailure(error)
    }
  })
  return undefined
}

/**
 * A logger that writes to a stream (`process.stderr` by default): pretty, coloured lines in a terminal
 * (`12:04:05.123 INFO  message key=value`), JSON lines otherwise
 * (`{"time":"2025-01-01T12:04:05.123Z","level":"info","msg":"message",...bindings,...fields}`). Everything written is
 * redacted (see `redact`); errors in fields are written with name, message, stack, cause and their own properties.
 *
 * @example
 * ```ts
 * const logger = createConsoleLogger({ level: 'debug', bindings: { service: 'classifier' } })
 * logger.info('classified', { label: 'credit', ms: 412 })
 * ```
 *
 * @throws TypeError on an unknown `level` or `format`, a `stream` without `write`, a `colors` that is not a boolean, an
 * option key it does not know (`levle`: did you mean `level`?), or options whose reading throws.
 */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const given = checkKnownOptions(options, OPTION_NAMES, 'createConsoleLogger')
  const stream = given.stream ?? defaultStream()
  const { write, isTTY, on, objectMode } = readStream(stream)
  if (typeof write !== 'function')
    throw new TypeError(`createConsoleLogger: stream must have a write method, got ${quoteGiven(stream)}`)
  if (typeof on === 'function') handleErrorEvents(stream, on as Parameters<typeof handleErrorEvents>[1])
  if (given.colors != null && typeof given.colors !== 'boolean')
    throw new TypeError(`createConsoleLogger: colors must be true or false, got ${quoteGiven(given.colors)}`)
  const format = given.format ?? 'auto'
  if (format !== 'auto' && format !== 'pretty' && format !== 'json')
    throw new TypeError(
      `createConsoleLogger: format must be one of 'auto', 'pretty', 'json', got ${quoteGiven(format)}`,
    )
  const isTerminal = isTTY === true
  const output: ConsoleOutput = {
    stream,
    pretty: format === 'pretty' || (format === 'auto' && isTerminal),
    colors: given.colors ?? (isTerminal && !readEnvironment('NO_COLOR')),
    objectMode: objectMode === true && typeof on === 'function',
  }
  const bindings = given.bindings === undefined ? [] : [given.bindings]
  return new ConsoleLogger(output, resolveLogLevel(given.level, 'info', true, 'createConsoleLogger'), bindings)
}

/**
 * The stream's `write`, `isTTY`, `on` and `writableObjectMode` (a Node stream's), as read once: a stream whose reading
 * throws (a getter, a `Proxy`) is a `TypeError`.
 */
function readStream(stream: LogStream | null | undefined): {
  write: unknown
  isTTY: unknown
  on: unknown
  objectMode: unknown
} {
  try {
    const node = stream as { on?: unknown; writableObjectMode?: unknown } | null | undefined
    return { write: stream?.write, isTTY: stream?.isTTY, on: node?.on, objectMode: node?.writableObjectMode }
  } catch (error) {
    throw unreadableOptions('createConsoleLogger', error)
  }
}

/** Streams whose `error` events a console logger listens to: one listener per stream, however many loggers share it. */
const streamsHeard = new WeakSet<object>()

/**
 * A Node stream tells of a write that failed (a file it cannot open, a closed pipe, a write after its end) by an
 * `error` event rather than by throwing, and an `error` event nobody listens to ends the process: the logger listens,
 * and the line is dropped and the failure reported as for a `write` that throws.
 */
function handleErrorEvents(
  stream: LogStream,
  on: (event: string, listener: (error: unknown) => void) => unknown,
): void {
  // The process's own stdout and stderr are left as Node leaves them: a closed pipe there ends the process as it would
  // without tinyllm, not only tinyllm's lines.
  const process = globalThis.process
  if (streamsHeard.has(stream) || stream === process?.stdout || stream === process?.stderr) return
  try {
    on.call(stream, 'error', reportFailure)
    streamsHeard.add(stream)
  } catch {
    // An `on` that is not an event emitter's: the stream is written to all the same.
  }
}

function defaultStream(): LogStream {
  const stderr = globalThis.process?.stderr
  if (stderr !== undefined) return stderr
  return { write: (line: string) => console.error(line.trimEnd()) }
}
