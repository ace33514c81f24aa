export type { ConsoleLogFormat, ConsoleLoggerOptions, LogStream } from './console-logger.js'
export { createConsoleLogger } from './console-logger.js'
export { getDefaultLogger, getLogger, setDefaultLogger } from './default-logger.js'
export { headerCredentials } from './header-credentials.js'
export { closestName } from './known-options.js'
export type { LogFields, Logger, LogLevel } from './logger.js'
export type { MemoryLogEntry, MemoryLogger, MemoryLoggerOptions } from './memory-logger.js'
export { createMemoryLogger } from './memory-logger.js'
export type { LogMethod, LogMethods } from './method-logger.js'
export type { PinoLike, PinoLogMethod } from './pino-logger.js'
export { escapeControls } from './pretty-line.js'
export {
  createRedactBudget,
  isSecretFieldName,
  REDACTED,
  type RedactBudget,
  redact,
  redactAndCut,
  redactQuoted,
  redactString,
  redactWithin,
} from './redact.js'
export { registeredSecretCount, registerSecret } from './registered-secrets.js'
export { isSecretQueryName, isSecretStringField } from './secret-patterns.js'
export { createSilentLogger } from './silent-logger.js'
export type { LoggerLike } from './to-logger.js'
export { toLogger } from './to-logger.js'
