import type { Logger } from './logger.js'
import { LOGGER_BRAND } from './logger-brand.js'

function ignore(): void {}

const SILENT_LOGGER: Logger = Object.freeze({
  [LOGGER_BRAND]: true,
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  isLevelEnabled: () => false,
  child: () => SILENT_LOGGER,
})

/**
 * A logger that writes nothing and reports every level disabled, so callers that check `isLevelEnabled` skip their
 * work too.
 */
export function createSilentLogger(): Logger {
  return SILENT_LOGGER
}
