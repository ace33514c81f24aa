import { abortErrorFor, type CancelScope } from '@tinyllm/core'
import { cancelScopeField, type ScopedCallOptions } from './call-cancellation.js'
import { capResponse, type FetchFunction, type ResponseSizeCap } from './response-size-limit.js'

/** A request's init as tinyllm's providers hand it to their SDK's `fetch`: maybe with the call's cancel scope. */
export type ScopedRequestInit = RequestInit & Pick<ScopedCallOptions, typeof cancelScopeField>

/**
 * The cancellation of one HTTP request, from the call's scope (cancelled with it, by a direct call) and the SDK's own
 * per-request signal (its timeout). Its `signal`, the one the HTTP client is handed, aborts with a tinyllm AbortError
 * (or the TimeoutError the call ran out of time with), never with the caller's reason as it is: the HTTP client reads
 * that reason (undici destroys the response body with it), and a caller may abort with anything, even an object whose
 * every read throws. It listens to each source once and holds one controller, whatever the call's depth.
 */
export class RequestCancellation {
  /** Aborts when the request is cancelled, with a tinyllm error as its reason. */
  readonly signal: AbortSignal
  readonly #source: AbortSignal | undefined
  readonly #scope: CancelScope | undefined
  readonly #controller = new AbortController()
  readonly #onCancel = (reason: unknown): void => this.#abort(reason)

  constructor(source: AbortSignal | undefined, scope: CancelScope | undefined) {
    this.signal = this.#controller.signal
    this.#source = source
    this.#scope = scope
    if (scope?.cancelled) this.#abort(scope.reason)
    else if (source?.aborted) this.handleEvent()
    else {
      source?.addEventListener('abort', this, { once: true })
      scope?.listen(this.#onCancel)
    }
  }

  /** The SDK's signal aborted: abort the request with the tinyllm error for its reason. */
  handleEvent(): void {
    this.#abort((this.#source as AbortSignal).reason)
  }

  /** The request is over: nothing cancels it any more. */
  dispose(): void {
    this.#source?.removeEventListener('abort', this)
    this.#scope?.unlisten(this.#onCancel)
  }

  #abort(reason: unknown): void {
    this.dispose()
    this.#controller.abort(abortErrorFor(reason))
  }
}

/** The cancellation of the request `init` describes, or `undefined` when nothing can cancel it. */
export function requestCancellation(init: RequestInit | undefined): RequestCancellation | undefined {
  const call = (init as ScopedRequestInit | undefined)?.[cancelScopeField]
  const scope = call?.cancellable ? call : undefined
  const signal = init?.signal ?? undefined
  return scope === undefined && signal === undefined ? undefined : new RequestCancellation(signal, scope)
}

/**
 * The plain-`fetch` transport (the fallback of the undici one): `fetchFunction` (default: the global `fetch`) with the
 * response size cap, redirects handed back unfollowed, the request cancelled through the call's scope when the SDK was handed one in `fetchOptions`
 * instead of a signal.
 */
export function fetchTransport(cap: ResponseSizeCap, fetchFunction: FetchFunction = globalThis.fetch): FetchFunction {
  const limit = (response: Response): Response => capResponse(response, cap)
  return (input, init) => {
    const cancellation = requestCancellation(init)
    // Redirects come back as they are: the provider's transport follows those within the API's origin only.
    if (cancellation === undefined) return fetchFunction(input, { ...init, redirect: 'manual' }).then(limit)
    const end = (): void => cancellation.dispose()
    return fetchFunction(input, { ...init, signal: cancellation.signal, redirect: 'manual' }).then(
      (response) => capResponse(response, cap, end),
      (error: unknown) => {
        end()
        throw error
      },
    )
  }
}
