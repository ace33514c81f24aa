import { hasMethods } from './has-methods.js'
import { LeveledLogger, reportFailure } from './leveled-logger.js'
import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger } from './logger.js'
import { describeChild } from './method-logger.js'
import { mergeRedacted, redactMessage } from './redact.js'

/** A pino logging method: fields first, then the message. */
export type PinoLogMethod = (fields: Record<string, unknown>, message: string) => void

/** The part of a pino logger that `toLogger` uses; a pino instance fits it as is. */
export interface PinoLike {
  readonly levels: { readonly values: Readonly<Record<string, number>> }
  bindings(): Record<string, unknown>
  child(bindings: Record<string, unknown>): PinoLike
  isLevelEnabled(level: string): boolean
  trace: PinoLogMethod
  debug: PinoLogMethod
  info: PinoLogMethod
  warn: PinoLogMethod
  error: PinoLogMethod
}

const NO_BINDINGS: readonly LogFields[] = []

/** Whether `candidate` is a pino logger, whose methods take `(fields, message)` rather than `(message, fields)`. */
export function isPinoLike(candidate: unknown): candidate is PinoLike {
  if (!hasMethods(candidate, ['bindings', 'child', 'isLevelEnabled', 'info'])) return false
  const levels = (candidate as { levels?: unknown }).levels
  return typeof levels === 'object' && levels !== null
}

/**
 * Logs through a pino instance: redacted fields and message in pino's order; bindings and levels are pino's own. Should
 * pino's `child` throw (or return no logger), the bindings are merged into each line's fields here instead.
 */
export class PinoLogger extends LeveledLogger {
  readonly #pino: PinoLike
  readonly #bindings: readonly LogFields[]

  constructor(pino: PinoLike, bindings: readonly LogFields[] = NO_BINDINGS) {
    super()
    this.#pino = pino
    this.#bindings = bindings
  }

  child(bindings: LogFields): Logger {
    if (this.#bindings.length === 0) {
      try {
        const child: unknown = this.#pino.child(mergeRedacted(NO_BINDINGS, bindings))
        // A `child` that returns no pino logger would drop every line written through the child: not one to use.
        if (!isPinoLike(child)) throw new TypeError(`the logger's child() returned ${describeChild(child)}`)
        return new PinoLogger(child)
      } catch (error) {
        reportFailure(error)
      }
    }
    return new PinoLogger(this.#pino, [...this.#bindings, bindings])
  }

  /** Pino's answer; every level counts as enabled should that throw. */
  protected levelEnabled(level: WritableLevel): boolean {
    try {
      return this.#pino.isLevelEnabled(level)
    } catch (error) {
      reportFailure(error)
      return true
    }
  }

  protected log(level: WritableLevel, message: string, fields: LogFields | undefined): unknown {
    if (!this.isLevelEnabled(level)) return undefined
    return this.#pino[level](mergeRedacted(this.#bindings, fields), redactMessage(message))
  }
}
