import { LeveledLogger } from './leveled-logger.js'
import { LEVEL_VALUES, type WritableLevel } from './log-level.js'
import type { LogFields, LogLevel } from './logger.js'

/**
 * Level filtering and child bindings shared by the built-in loggers; subclasses only write lines. Bindings are kept as
 * the list of objects given to `child` and merged when a line is written, so creating a child per run costs one small
 * array and a disabled level costs one comparison.
 */
export abstract class BaseLogger extends LeveledLogger {
  protected readonly level: LogLevel
  protected readonly threshold: number
  protected readonly bindings: readonly LogFields[]

  constructor(level: LogLevel, bindings: readonly LogFields[]) {
    super()
    this.level = level
    this.threshold = LEVEL_VALUES[level]
    this.bindings = bindings
  }

  protected levelEnabled(level: WritableLevel): boolean {
    return LEVEL_VALUES[level] >= this.threshold
  }

  protected log(level: WritableLevel, message: string, fields: LogFields | undefined): unknown {
    return LEVEL_VALUES[level] >= this.threshold ? this.write(level, message, fields) : undefined
  }

  /**
   * Writes one line that has passed the level check. Returns what the destination returned (a stream whose `write` is
   * async returns a promise), so that a rejection is caught like a throw.
   */
  protected abstract write(level: WritableLevel, message: string, fields: LogFields | undefined): unknown
}
