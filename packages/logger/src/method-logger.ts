import { hasMethods } from './has-methods.js'
import { LeveledLogger, reportFailure } from './leveled-logger.js'
import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger, LogLevel } from './logger.js'
import { mergeRedacted, redactMessage } from './redact.js'

/** A logging method that takes the message first, as `console.info` does. */
export type LogMethod = (message: string, fields?: LogFields) => void

/**
 * The least a logger needs to plug into tinyllm: `debug`, `info`, `warn` and `error` taking `(message, fields)`, such
 * as `console`. `trace` falls back to `debug`; without `isLevelEnabled` every level counts as enabled. A method may be
 * async: a promise it rejects is handled like an error it throws (the line is dropped and the failure reported).
 */
export interface LogMethods {
  trace?: LogMethod
  debug: LogMethod
  info: LogMethod
  warn: LogMethod
  error: LogMethod
  isLevelEnabled?(level: Exclude<LogLevel, 'silent'>): boolean
  child?(bindings: LogFields): LogMethods
}

/** Whether `candidate` has the methods of `LogMethods`. */
export function hasLogMethods(candidate: unknown): candidate is LogMethods {
  return hasMethods(candidate, ['debug', 'info', 'warn', 'error'])
}

/** Whether `candidate` implements the whole `Logger` interface, so its own `child` can be trusted. */
function isCompleteLogger(candidate: LogMethods): candidate is LogMethods & Logger {
  return hasMethods(candidate, ['trace', 'child', 'isLevelEnabled'])
}

/**
 * Logs through a foreign logger, redacting what it passes on. Child bindings go to the target's own `child` when it
 * implements the whole `Logger` interface; otherwise they are kept here and merged into each line's fields.
 */
export class MethodLogger extends LeveledLogger {
  readonly #target: LogMethods
  readonly #bindings: readonly LogFields[]

  constructor(target: LogMethods, bindings: readonly LogFields[]) {
    super()
    this.#target = target
    this.#bindings = bindings
  }

  /**
   * The target's own child when it has one; when it has none, or its `child` throws or returns no logger, bindings
   * merged here.
   */
  child(bindings: LogFields): Logger {
    const target = this.#target
    if (this.#bindings.length === 0 && isCompleteLogger(target)) {
      try {
        const child: unknown = target.child(mergeRedacted([], bindings))
        // A `child` that forgot its `return` would drop every line written through the child: not a logger to use.
        if (!hasLogMethods(child)) throw new TypeError(`the logger's child() returned ${describeChild(child)}`)
        return new MethodLogger(child, [])
      } catch (error) {
        reportFailure(error)
      }
    }
    return new MethodLogger(target, [...this.#bindings, bindings])
  }

  /** The target's answer; every level counts as enabled when it has no `isLevelEnabled`, or when that throws. */
  protected levelEnabled(level: WritableLevel): boolean {
    const target = this.#target
    if (target.isLevelEnabled === undefined) return true
    try {
      return target.isLevelEnabled(level)
    } catch (error) {
      reportFailure(error)
      return true
    }
  }

  /**
   * Writes through the target's method of `level`; `trace` falls back to `debug` when the target has none. Returns
   * what the method returned: an async method's promise.
   */
  protected log(level: WritableLevel, message: string, fields: LogFields | undefined): unknown {
    if (!this.isLevelEnabled(level)) return undefined
    const target = this.#target
    const method = target[level] ?? target.debug
    const safeMessage = redactMessage(message)
    if (fields === undefined && this.#bindings.length === 0) return method.call(target, safeMessage)
    return method.call(target, safeMessage, mergeRedacted(this.#bindings, fields))
  }
}

/** What a `child` returned instead of a logger, as a failure report names it: its type, which reading cannot throw. */
export function describeChild(child: unknown): string {
  return child === null || child === undefined ? String(child) : `${typeof child} without logging methods`
}
