import { CancelScope } from '@tinyllm/core'
import { cancelScopeField, type ScopedCallOptions } from './call-cancellation.js'
import { capResponse, type FetchFunction, type ResponseSizeCap } from './response-size-limit.js'

/** A request's init as tinyllm's providers hand it to their SDK's `fetch`: maybe with the call's cancel scope. */
export type ScopedRequestInit = RequestInit & Pick<ScopedCallOptions, typeof cancelScopeField>

/**
 * The cancellation of one HTTP request: a scope under the call's (cancelled with it, by a direct call) that the SDK's
 * own per-request signal (its timeout) cancels too, through one listener on that fresh signal. `undefined` when the
 * call cannot be cancelled: the SDK's signal is then the request's.
 */
export function requestScope(init: RequestInit | undefined): CancelScope | undefined {
  const call = (init as ScopedRequestInit | undefined)?.[cancelScopeField]
  if (call === undefined || !call.cancellable) return undefined
  return new CancelScope(call, { signal: init?.signal ?? undefined })
}

/**
 * The plain-`fetch` transport (the fallback of the undici one): `fetchFunction` (default: the global `fetch`) with the
 * response size cap, the request cancelled through the call's scope when the SDK was handed one in `fetchOptions`
 * instead of a signal.
 */
export function fetchTransport(cap: ResponseSizeCap, fetchFunction: FetchFunction = globalThis.fetch): FetchFunction {
  const limit = (response: Response): Response => capResponse(response, cap)
  return (input, init) => {
    const scope = requestScope(init)
    if (scope === undefined) return fetchFunction(input, init).then(limit)
    const end = (): void => scope.dispose()
    return fetchFunction(input, { ...init, signal: scope.signal }).then(
      (response) => capResponse(response, cap, end),
      (error: unknown) => {
        end()
        throw error
      },
    )
  }
}
