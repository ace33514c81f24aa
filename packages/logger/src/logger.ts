/** Severity of a log line, from most to least verbose. `silent` turns a logger off. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'

/** Structured fields attached to a log line. */
export type LogFields = Readonly<Record<string, unknown>>

/**
 * What tinyllm logs through. Anything with these methods plugs in; pino instances are adapted by `toLogger`.
 */
export interface Logger {
  trace(message: string, fields?: LogFields): void
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `bindings` to every line it writes. */
  child(bindings: LogFields): Logger
  /** Whether a line at `level` would be written; lets callers skip building fields nobody reads. */
  isLevelEnabled(level: Exclude<LogLevel, 'silent'>): boolean
}
