import { getLogger, type Logger } from '@tinyllm/logger'

/** The logger interface both official SDKs accept as their `logger` option. */
export interface SdkLogger {
  error(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
  info(message: string, ...details: unknown[]): void
  debug(message: string, ...details: unknown[]): void
}

/**
 * A logger for a provider SDK's own log lines (turned on with `OPENAI_LOG=debug`, `ANTHROPIC_LOG=info` …) that writes
 * them through tinyllm's default logger — under `{ logger: '<provider>-sdk' }`, at the SDK's level — instead of the
 * console, so they are redacted like every tinyllm line: a key the server echoes, the request headers the SDK dumps.
 * They appear when the default logger's level lets them through (`TINYLLM_LOG_LEVEL=debug` for debug lines).
 */
export function sdkLogger(provider: string): SdkLogger {
  const logger = getLogger(`${provider}-sdk`)
  return {
    error: forward(logger, 'error'),
    warn: forward(logger, 'warn'),
    info: forward(logger, 'info'),
    debug: forward(logger, 'debug'),
  }
}

function forward(logger: Logger, level: 'error' | 'warn' | 'info' | 'debug') {
  return (message: string, ...details: unknown[]): void => {
    if (!logger.isLevelEnabled(level)) return
    logger[level](
      String(message),
      details.length === 0 ? undefined : { details: details.length === 1 ? details[0] : details },
    )
  }
}
