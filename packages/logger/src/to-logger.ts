import type { Logger } from './logger.js'
import { isBrandedLogger } from './logger-brand.js'
import { hasLogMethods, type LogMethods, MethodLogger } from './method-logger.js'
import { isPinoLike, type PinoLike, PinoLogger } from './pino-logger.js'

/** Anything `toLogger` accepts: a tinyllm `Logger`, a pino instance, or an object with `LogMethods` (`console`). */
export type LoggerLike = Logger | PinoLike | LogMethods

/**
 * Adapts a logger to tinyllm's `Logger`. Loggers from this package are returned unchanged. A pino instance is used as
 * is: lines become `pino.info(fields, message)`, `child` is pino's `child`, `isLevelEnabled` is pino's. Any other
 * object with `debug`/`info`/`warn`/`error(message, fields)` methods is wrapped. Whatever the adapted logger receives
 * is redacted first.
 *
 * @throws TypeError when `candidate` has none of these shapes.
 * @example
 * ```ts
 * import pino from 'pino'
 * const logger = toLogger(pino())
 * logger.child({ runId: 'r1' }).info('started', { model: 'gpt-4o' })
 * ```
 */
export function toLogger(candidate: LoggerLike): Logger {
  if (isBrandedLogger(candidate)) return candidate
  if (isPinoLike(candidate)) return new PinoLogger(candidate)
  if (hasLogMethods(candidate)) return new MethodLogger(candidate, [])
  throw new TypeError(
    'toLogger expects a tinyllm Logger, a pino logger, or an object with debug, info, warn and error methods',
  )
}
