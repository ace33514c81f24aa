import { BaseLogger } from './base-logger.js'
import { checkKnownOptions } from './known-options.js'
import { resolveLogLevel, type WritableLevel } from './log-level.js'
import type { LogFields, Logger, LogLevel } from './logger.js'
import { mergeRedacted, redactMessage } from './redact.js'

/** One line kept by a memory logger. */
export interface MemoryLogEntry {
  readonly level: Exclude<LogLevel, 'silent'>
  /** The message, redacted. */
  readonly message: string
  /** Bindings and fields merged (fields win), redacted and JSON-safe: errors are plain `{ name, message, stack, ... }`. */
  readonly fields: LogFields
}

/** A logger that keeps its lines in memory, for tests and for showing a run's log afterwards. */
export interface MemoryLogger extends Logger {
  /** Lines in the order they were written, shared with every child of the logger. */
  readonly entries: readonly MemoryLogEntry[]
  /** Forgets every entry, for this logger and its children. */
  clear(): void
  child(bindings: LogFields): MemoryLogger
}

/** Options of `createMemoryLogger`. */
export interface MemoryLoggerOptions {
  /** Least severe level kept. Default `trace`: everything. */
  readonly level?: LogLevel
  /** Fields added to every entry. */
  readonly bindings?: LogFields
}

const OPTION_NAMES: Readonly<Record<keyof MemoryLoggerOptions, true>> = { level: true, bindings: true }

class InMemoryLogger extends BaseLogger implements MemoryLogger {
  readonly entries: MemoryLogEntry[]

  constructor(entries: MemoryLogEntry[], level: LogLevel, bindings: readonly LogFields[]) {
    super(level, bindings)
    this.entries = entries
  }

  clear(): void {
    this.entries.length = 0
  }

  child(bindings: LogFields): MemoryLogger {
    return new InMemoryLogger(this.entries, this.level, [...this.bindings, bindings])
  }

  protected write(level: WritableLevel, message: string, fields: LogFields | undefined): void {
    this.entries.push({ level, message: redactMessage(message), fields: mergeRedacted(this.bindings, fields) })
  }
}

/**
 * A logger that keeps what it is given in `entries`, redacted exactly as a console logger would write it.
 *
 * @example
 * ```ts
 * const logger = createMemoryLogger()
 * logger.child({ runId: 'r1' }).info('done', { ms: 3 })
 * logger.entries // [{ level: 'info', message: 'done', fields: { runId: 'r1', ms: 3 } }]
 * ```
 *
 * @throws TypeError on an unknown `level` or an option key it does not know (`levle`: did you mean `level`?).
 */
export function createMemoryLogger(options: MemoryLoggerOptions = {}): MemoryLogger {
  const given = checkKnownOptions(options, OPTION_NAMES, 'createMemoryLogger')
  const bindings = given.bindings === undefined ? [] : [given.bindings]
  return new InMemoryLogger([], resolveLogLevel(given.level, 'trace', false, 'createMemoryLogger'), bindings)
}
