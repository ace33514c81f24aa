import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'
import { mergeRedacted, redactString } from './redact.js'

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
  if (typeof candidate !== 'object' || candidate === null) return false
  const pino = candidate as Record<string, unknown>
  return (
    typeof pino.levels === 'object' &&
    pino.levels !== null &&
    typeof pino.bindings === 'function' &&
    typeof pino.child === 'function' &&
    typeof pino.isLevelEnabled === 'function' &&
    typeof pino.info === 'function'
  )
}

/** Logs through a pino instance: redacted fields and message in pino's order; bindings and levels are pino's own. */
export class PinoLogger implements Logger {
  readonly [LOGGER_BRAND] = true
  readonly #pino: PinoLike

  constructor(pino: PinoLike) {
    this.#pino = pino
  }

  trace(message: string, fields?: LogFields): void {
    this.#write('trace', message, fields)
  }

  debug(message: string, fields?: LogFields): void {
    this.#write('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.#write('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.#write('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.#write('error', message, fields)
  }

  child(bindings: LogFields): Logger {
    return new PinoLogger(this.#pino.child(mergeRedacted(NO_BINDINGS, bindings)))
  }

  isLevelEnabled(level: WritableLevel): boolean {
    return this.#pino.isLevelEnabled(level)
  }

  #write(level: WritableLevel, message: string, fields: LogFields | undefined): void {
    const pino = this.#pino
    if (!pino.isLevelEnabled(level)) return
    pino[level](mergeRedacted(NO_BINDINGS, fields), redactString(String(message)))
  }
}
