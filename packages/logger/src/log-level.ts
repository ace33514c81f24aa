import { readEnvironment } from './environment.js'
import { quoteGiven } from './known-options.js'
import type { LogLevel } from './logger.js'

/** A level a line can be written at: every level except `silent`. */
export type WritableLevel = Exclude<LogLevel, 'silent'>

/** Severity per level, as in pino; a line is written when its value is at least the logger's threshold. */
export const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  silent: Number.POSITIVE_INFINITY,
}

/** The environment variable that sets the console logger's level when no `level` option is given. */
export const LOG_LEVEL_ENVIRONMENT_VARIABLE = 'TINYLLM_LOG_LEVEL'

/** Whether `value` names a level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(LEVEL_VALUES, value)
}

/**
 * The level a logger runs at: the option when given (a wrong one throws, naming `owner`: it is a programming error), else
 * `TINYLLM_LOG_LEVEL` when it names a level (case-insensitive; a typo there must not crash an application), else
 * `fallback`.
 */
export function resolveLogLevel(
  option: LogLevel | undefined,
  fallback: LogLevel,
  readEnvironmentVariable: boolean,
  owner: string,
): LogLevel {
  if (option !== undefined) {
    if (!isLogLevel(option)) {
      // In the words of every option check: `<owner>: <option> must be …, got …`.
      const levels = Object.keys(LEVEL_VALUES).map((level) => `'${level}'`)
      throw new TypeError(`${owner}: level must be one of ${levels.join(', ')}, got ${quoteGiven(option)}`)
    }
    return option
  }
  if (readEnvironmentVariable) {
    const fromEnvironment = readEnvironment(LOG_LEVEL_ENVIRONMENT_VARIABLE)?.trim().toLowerCase()
    if (isLogLevel(fromEnvironment)) return fromEnvironment
  }
  return fallback
}
