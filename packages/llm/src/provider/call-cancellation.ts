import { abortErrorFor, CancelScope, optionError, type TinyLLMError, unreadableOption } from '@tinyllm/core'
import type { ChatCallOptions } from '../chat-model.js'
import { checkSignal } from '../rate-limiter.js'

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

/**
 * What a model reads of its call options: the caller's scope (tinyllm's callers), else its signal; and, for a stream,
 * whom to tell of its activity.
 */
export interface ReadCallOptions {
  readonly scope?: CancelScope | undefined
  readonly signal?: AbortSignal | undefined
  readonly onActivity?: (() => void) | undefined
}

/**
 * Reads `options` once, as every provider reads them: options that are not an object, a getter or Proxy that throws,
 * a `signal` that is not an AbortSignal, a cancel scope that is not one, or an `onActivity` that is not a function, are a
 * ConfigurationError naming `owner`, never a plain error or a sync throw from the provider's call. A scope is taken as
 * it is, and its signal (made only when read) left unread.
 */
export function readCallOptions(options: ChatCallOptions | undefined, owner: string): ReadCallOptions {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  try {
    const onActivity: unknown = options.onActivity
    if (onActivity !== undefined && typeof onActivity !== 'function') {
      throw optionError('options.onActivity', 'a function', onActivity, owner)
    }
    const told = onActivity as (() => void) | undefined
    const scope: unknown = (options as ScopedCallOptions)[cancelScopeField]
    if (scope instanceof CancelScope) return { scope, onActivity: told }
    // The field's key is public (Symbol.for): anything but a scope there is refused, not read as one.
    if (scope !== undefined) throw optionError('options[cancelScope]', 'a CancelScope', scope, owner)
    return { signal: checkSignal(options.signal, owner), onActivity: told }
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
}

/** The signal that cancels a call with these options, read once: its scope's, else the caller's. */
export function callSignal(options: ReadCallOptions): AbortSignal | undefined {
  return options.scope === undefined ? options.signal : options.scope.signal
}

/** The call's cancellation, as an AbortError (or the TimeoutError it was cancelled with), once it was cancelled. */
export function cancellationError(options: ReadCallOptions): TinyLLMError | undefined {
  const scope = options.scope
  if (scope !== undefined) return scope.cancelled ? abortErrorFor(scope.reason) : undefined
  const signal = options.signal
  return signal?.aborted === true ? abortErrorFor(signal) : undefined
}
