import { createConsoleLogger } from './console-logger.js'
import { LeveledLogger } from './leveled-logger.js'
import type { WritableLevel } from './log-level.js'
import type { LogFields, Logger } from './logger.js'
import { type LoggerLike, toLogger } from './to-logger.js'

/** On `globalThis` under a `Symbol.for` key, so duplicated copies of this package share one default. */
const DEFAULT_LOGGER_KEY = Symbol.for('tinyllm.logger.default')

type DefaultLoggerStore = { [DEFAULT_LOGGER_KEY]?: Logger }

/**
 * Replaces the process-wide default logger, used wherever no logger is passed in. Accepts anything `toLogger` does,
 * pino included. `undefined` restores the built-in console logger.
 *
 * @example
 * ```ts
 * setDefaultLogger(createConsoleLogger({ level: 'debug' }))
 * ```
 */
export function setDefaultLogger(logger: LoggerLike | undefined): void {
  const store = globalThis as DefaultLoggerStore
  if (logger instanceof DefaultLoggerChild) {
    throw new TypeError('setDefaultLogger needs a concrete logger, not one from getLogger, which follows the default')
  }
  if (logger === undefined) delete store[DEFAULT_LOGGER_KEY]
  else store[DEFAULT_LOGGER_KEY] = toLogger(logger)
}

/** The process-wide default logger: what `setDefaultLogger` set, else a console logger created on first use. */
export function getDefaultLogger(): Logger {
  const store = globalThis as DefaultLoggerStore
  let logger = store[DEFAULT_LOGGER_KEY]
  if (logger === undefined) {
    logger = createConsoleLogger()
    store[DEFAULT_LOGGER_KEY] = logger
  }
  return logger
}

/**
 * A named logger: the default logger's child with `{ logger: name }`. It follows the default, so a module-level
 * `const log = getLogger('openai')` writes to whatever `setDefaultLogger` installs later, even after import.
 *
 * @example
 * ```ts
 * const log = getLogger('classifier')
 * log.info('ready') // ... "logger":"classifier","msg":"ready"
 * ```
 */
export function getLogger(name: string): Logger {
  return new DefaultLoggerChild([{ logger: name }])
}

/** A child of whichever logger is the default when a line is written; rebuilt only when the default changes. */
class DefaultLoggerChild extends LeveledLogger {
  readonly #bindings: readonly LogFields[]
  #parent: Logger | undefined
  #logger: Logger | undefined

  constructor(bindings: readonly LogFields[]) {
    super()
    this.#bindings = bindings
  }

  child(bindings: LogFields): Logger {
    return new DefaultLoggerChild([...this.#bindings, bindings])
  }

  protected levelEnabled(level: WritableLevel): boolean {
    return this.#resolve().isLevelEnabled(level)
  }

  protected log(level: WritableLevel, message: string, fields: LogFields | undefined): void {
    this.#resolve()[level](message, fields)
  }

  #resolve(): Logger {
    const parent = getDefaultLogger()
    if (parent === this.#parent && this.#logger !== undefined) return this.#logger
    let logger = parent
    for (const bindings of this.#bindings) logger = logger.child(bindings)
    this.#parent = parent
    this.#logger = logger
    return logger
  }
}
