import { brandError, TinyLLMError } from '@tinyllm/core'

/**
 * The context a {@link ContextCarrier} gave for a run cannot travel in its job: it is not an object of strings, it is
 * larger than a context may be, it could not be read, or `inject()` threw. Raised by the producer before anything is queued.
 */
export class CarriedContextError extends TinyLLMError {
  override readonly name = 'CarriedContextError'
  declare static isInstance: (error: unknown) => error is CarriedContextError
  /** What is wrong with it. */
  readonly reason: string

  constructor(options: { reason: string; functionName?: string | undefined; cause?: unknown }) {
    super({
      message: `${options.functionName ?? 'run'}: the context carried to the worker cannot travel: ${options.reason}`,
      functionName: options.functionName,
      state: 'init',
      cause: options.cause,
    })
    this.reason = options.reason
  }
}
brandError(CarriedContextError, 'CarriedContextError')
