import type { Logger } from './logger.js'

/**
 * Marks loggers that already redact what they write, so `toLogger` returns them unchanged. A `Symbol.for` key, so a
 * logger from a duplicated copy of this package is recognised too.
 */
export const LOGGER_BRAND = Symbol.for('tinyllm.logger')

/** Whether `candidate` is a logger built by (any copy of) this package. */
export function isBrandedLogger(candidate: unknown): candidate is Logger {
  return (
    typeof candidate === 'object' && candidate !== null && (candidate as Record<symbol, unknown>)[LOGGER_BRAND] === true
  )
}
