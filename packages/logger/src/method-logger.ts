import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger, LogLevel } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'
import { mergeRedacted, redactString } from './redact.js'

/** A logging method that takes the message first, as `console.info` does. */
export type LogMethod = (message: string, fields?: LogFields) => void

/**
 * The least a logger needs to plug into tinyllm: `debug`, `info`, `warn` and `error` taking `(message, fields)`, such
 * as `console`. `trace` falls back to `debug`; without `isLevelEnabled` every level counts as enabled.
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
  if (typeof candidate !== 'object' || candidate === null) return false
  const methods = candidate as Record<string, unknown>
  return (
    typeof methods.debug === 'function' &&
    typeof methods.info === 'function' &&
    typeof methods.warn === 'function' &&
    typeof methods.error === 'function'
  )
}

/** Whether `candidate` implements the whole `Logger` interface, so its own `child` can be trusted. */
function isCompleteLogger(candidate: LogMethods): candidate is LogMethods & Logger {
  return (
    typeof candidate.trace === 'function' &&
    typeof candidate.child === 'function' &&
    typeof candidate.isLevelEnabled === 'function'
  )
}

/**
 * Logs through a foreign logger, redacting what it passes on. Child bindings go to the target's own `child` when it
 * implements the whole `Logger` interface; otherwise they are kept here and merged into each line's fields.
 */
export class MethodLogger implements Logger {
  readonly [LOGGER_BRAND] = true
  readonly #target: LogMethods
  readonly #bindings: readonly LogFields[]

  constructor(target: LogMethods, bindings: readonly LogFields[]) {
    this.#target = target
    this.#bindings = bindings
  }

  trace(message: string, fields?: LogFields): void {
    if (!this.isLevelEnabled('trace')) return
    const target = this.#target
    if (target.trace === undefined) this.#write(target.debug, message, fields)
    else this.#write(target.trace, message, fields)
  }

  debug(message: string, fields?: LogFields): void {
    if (this.isLevelEnabled('debug')) this.#write(this.#target.debug, message, fields)
  }

  info(message: string, fields?: LogFields): void {
    if (this.isLevelEnabled('info')) this.#write(this.#target.info, message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    if (this.isLevelEnabled('warn')) this.#write(this.#target.warn, message, fields)
  }

  error(message: string, fields?: LogFields): void {
    if (this.isLevelEnabled('error')) this.#write(this.#target.error, message, fields)
  }

  child(bindings: LogFields): Logger {
    const target = this.#target
    if (this.#bindings.length === 0 && isCompleteLogger(target)) {
      return new MethodLogger(target.child(mergeRedacted([], bindings)), [])
    }
    return new MethodLogger(target, [...this.#bindings, bindings])
  }

  isLevelEnabled(level: WritableLevel): boolean {
    const target = this.#target
    return target.isLevelEnabled === undefined || target.isLevelEnabled(level)
  }

  #write(method: LogMethod, message: string, fields: LogFields | undefined): void {
    const safeMessage = redactString(String(message))
    if (fields === undefined && this.#bindings.length === 0) method.call(this.#target, safeMessage)
    else method.call(this.#target, safeMessage, mergeRedacted(this.#bindings, fields))
  }
}
