import { abortErrorFor, type CancelScope, type TinyLLMError } from '@tinyllm/core'
import type { ChatCallOptions } from '../chat-model.js'

/**
 * The field through which a call's {@link CancelScope} travels: on the call options LLMCall hands a model, and on the
 * per-request `fetchOptions` tinyllm's providers hand their SDK, so that tinyllm's transport — not the SDK — links the
 * request to the call's cancellation.
 */
export const cancelScopeField: unique symbol = Symbol.for('tinyllm.cancelScope')

/** Call options that carry a cancel scope as well as (on first read) its signal. */
export interface ScopedCallOptions extends ChatCallOptions {
  readonly [cancelScopeField]?: CancelScope
}

/**
 * The options LLMCall calls a model with when its run can be cancelled: the run's scope for a provider built on
 * tinyllm's transport, which cancels the HTTP request underneath its SDK without handing the SDK a signal; and, for
 * any other model, `signal`, made only when read.
 */
export class CallCancellation implements ScopedCallOptions {
  readonly [cancelScopeField]: CancelScope

  constructor(scope: CancelScope) {
    this[cancelScopeField] = scope
  }

  get signal(): AbortSignal {
    return this[cancelScopeField].signal
  }
}

/** The scope of `options`, when a tinyllm caller passed one. */
export function cancelScopeOf(options: ChatCallOptions | undefined): CancelScope | undefined {
  return (options as ScopedCallOptions | undefined)?.[cancelScopeField]
}

/** The call's cancellation, as an AbortError (or the TimeoutError it was cancelled with), once it was cancelled. */
export function cancellationError(options: ChatCallOptions | undefined): TinyLLMError | undefined {
  const scope = cancelScopeOf(options)
  if (scope !== undefined) return scope.cancelled ? abortErrorFor(scope.reason) : undefined
  const signal = options?.signal
  return signal?.aborted === true ? abortErrorFor(signal) : undefined
}
