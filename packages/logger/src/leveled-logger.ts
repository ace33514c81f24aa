import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'
import { escapeControls } from './pretty-line.js'
import { redactAndCut } from './redact.js'

/**
 * The five level methods of `Logger`, written once for every logger of this package: each hands its level to `log`,
 * where the logger decides whether and how the line is written. It carries the brand that tells `toLogger` a logger
 * already redacts what it writes.
 */
export abstract class LeveledLogger implements Logger {
  readonly [LOGGER_BRAND] = true

  trace(message: string, fields?: LogFields): void {
    this.writeGuarded('trace', message, fields)
  }

  debug(message: string, fields?: LogFields): void {
    this.writeGuarded('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.writeGuarded('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.writeGuarded('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.writeGuarded('error', message, fields)
  }

  abstract child(bindings: LogFields): Logger

  /**
   * Whether a line at `level` would be written. Nothing is ever written at `silent`, which JavaScript callers (or a
   * `LogLevel` value) can still ask about: it is never enabled, whatever the logger underneath would answer.
   */
  isLevelEnabled(level: WritableLevel): boolean {
    return (level as string) !== 'silent' && this.levelEnabled(level)
  }

  /** Whether a line at `level`, one of the five writable levels, would be written. */
  protected abstract levelEnabled(level: WritableLevel): boolean

  /**
   * Writes one line at `level`, unless that level is disabled. Returns what the logger underneath returned, so that a
   * promise it rejects is caught like an error it throws.
   */
  protected abstract log(level: WritableLevel, message: string, fields: LogFields | undefined): unknown

  /**
   * A log call never throws into the code that logs, and never leaves a rejection unhandled: a line the logger
   * underneath fails to write (a pino transport gone, a method of your own that throws or returns a promise that
   * rejects) is dropped, and the first such failure in the process is reported on stderr.
   */
  private writeGuarded(level: WritableLevel, message: string, fields: LogFields | undefined): void {
    try {
      const written = this.log(level, message, fields)
      if (written !== undefined) catchRejection(written)
    } catch (error) {
      reportFailure(error)
    }
  }
}

/** The longest failure the report quotes, as an error's strings are cut in a line. */
const MAX_DETAIL_LENGTH = 1_000

/** Whether a logger's failure was reported already: once per process is enough to say the logger is broken. */
let reported = false

/** Sends the rejection of a promise or other thenable to `reportFailure`; reading or calling its `then` may throw. */
function catchRejection(written: unknown): void {
  if ((typeof written !== 'object' && typeof written !== 'function') || written === null) return
  const then = (written as { then?: unknown }).then
  if (typeof then === 'function') then.call(written, undefined, reportFailure)
}

/**
 * Reports that the logger underneath failed (to write a line, to make a child, to say whether a level is enabled), once
 * per process, on stderr, redacted, cut at 1,000 characters and with its control characters escaped.
 */
export function reportFailure(error: unknown): void {
  if (reported) return
  reported = true
  try {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    // The failure may quote the line it could not write: cut as an error's strings are in a line, and its control
    // characters escaped as in a pretty line, so it writes no terminal escape and passes for no line of its own.
    const shown = escapeControls(redactAndCut(detail, MAX_DETAIL_LENGTH), false)
    globalThis.process?.stderr?.write(`tinyllm: a logger failed to write a line and dropped it (${shown})\n`)
  } catch {
    // Nowhere left to report to, or an error that cannot even be described.
  }
}
