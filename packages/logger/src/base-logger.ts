import { LEVEL_VALUES, type WritableLevel } from './log-level.js'
import type { LogFields, Logger, LogLevel } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'

/**
 * Level filtering and child bindings shared by the built-in loggers; subclasses only write lines. Bindings are kept as
 * the list of objects given to `child` and merged when a line is written, so creating a child per run costs one small
 * array and a disabled level costs one comparison.
 */
export abstract class BaseLogger implements Logger {
  readonly [LOGGER_BRAND] = true
  protected readonly level: LogLevel
  protected readonly threshold: number
  protected readonly bindings: readonly LogFields[]

  constructor(level: LogLevel, bindings: readonly LogFields[]) {
    this.level = level
    this.threshold = LEVEL_VALUES[level]
    this.bindings = bindings
  }

  trace(message: string, fields?: LogFields): void {
    if (this.threshold > LEVEL_VALUES.trace) return
    this.write('trace', message, fields)
  }

  debug(message: string, fields?: LogFields): void {
    if (this.threshold > LEVEL_VALUES.debug) return
    this.write('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    if (this.threshold > LEVEL_VALUES.info) return
    this.write('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    if (this.threshold > LEVEL_VALUES.warn) return
    this.write('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    if (this.threshold > LEVEL_VALUES.error) return
    this.write('error', message, fields)
  }

  isLevelEnabled(level: WritableLevel): boolean {
    return LEVEL_VALUES[level] >= this.threshold
  }

  abstract child(bindings: LogFields): Logger

  /** Writes one line that has passed the level check. */
  protected abstract write(level: WritableLevel, message: string, fields: LogFields | undefined): void
}
