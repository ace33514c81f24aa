import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'
import { redactString } from './redact.js'

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

  abstract isLevelEnabled(level: WritableLevel): boolean

  /** Writes one line at `level`, unless that level is disabled. */
  protected abstract log(level: WritableLevel, message: string, fields: LogFields | undefined): void

  /**
   * A log call never throws into the code that logs: a line the logger underneath fails to write (a pino transport
   * gone, a method of your own that throws) is dropped, and the first such failure in the process is reported on stderr.
   */
  private writeGuarded(level: WritableLevel, message: string, fields: LogFields | undefined): void {
    try {
      this.log(level, message, fields)
    } catch (error) {
      if (reported) return
      reported = true
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      try {
        globalThis.process?.stderr?.write(
          `tinyllm: a logger failed to write a line and dropped it (${redactString(detail)})\n`,
        )
      } catch {
        // Nowhere left to report to.
      }
    }
  }
}

/** Whether a logger's failure was reported already: once per process is enough to say the logger is broken. */
let reported = false
