import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'

/**
 * The five level methods of `Logger`, written once for every logger of this package: each hands its level to `log`,
 * where the logger decides whether and how the line is written. It carries the brand that tells `toLogger` a logger
 * already redacts what it writes.
 */
export abstract class LeveledLogger implements Logger {
  readonly [LOGGER_BRAND] = true

  trace(message: string, fields?: LogFields): void {
    this.log('trace', message, fields)
  }

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields)
  }

  abstract child(bindings: LogFields): Logger

  abstract isLevelEnabled(level: WritableLevel): boolean

  /** Writes one line at `level`, unless that level is disabled. */
  protected abstract log(level: WritableLevel, message: string, fields: LogFields | undefined): void
}
