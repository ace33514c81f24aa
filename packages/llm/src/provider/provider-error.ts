import { AbortError, abortErrorFor, TinyLLMError } from '@tinyllm/core'
import { redactString } from '@tinyllm/logger'
import { isError } from '../is-error.js'
import { ProviderCallError, type ProviderCallErrorOptions, RateLimitError } from '../provider-errors.js'
import type { ProviderEndpoint } from './endpoint.js'
import type { ProviderProfile } from './provider-profile.js'
import { redactErrorInPlace } from './redact-error.js'
import { type HeaderReader, retryAfterMs } from './retry-after.js'
import { isRetryableStatus } from './retryable-status.js'

/** Error messages quote the provider's text up to this length: an HTML error page does not belong in a log line. */
const maxQuotedLength = 500

/** Stream error types that say the server, not the request, failed (for types no status table knows). */
const serverSideErrorType = /server_error|overloaded|rate_limit|timeout|api_error/i

/**
 * Stream error types that report a rate limit, whatever the provider calls it (OpenAI's `rate_limit_exceeded`,
 * Anthropic's `rate_limit_error`): they stand for a 429 on every provider, status table or not.
 */
const rateLimitErrorType = /rate_limit/i

/** What the mapping knows about the call that failed. */
export interface ProviderCallContext {
  /** The signal the call was made with: once it aborted, its reason is the error. */
  readonly signal?: AbortSignal | undefined
  /** Where the call went, for connection failures and 404s. */
  readonly endpoint?: ProviderEndpoint | undefined
  /**
   * The server's answer (its status and headers) had arrived: what fails now and is no SDK error happened while its
   * body was read, through whatever `fetch` the client has — the request was sent.
   */
  readonly answered?: boolean | undefined
}

/**
 * Turns whatever a provider SDK (or the transport under it) threw into a typed tinyllm error, the same way for every
 * provider. SDK errors are recognised by their name and shape — status, headers, error body — never by `instanceof`,
 * so a client from another copy of the SDK maps the same way:
 *
 * - cancelled through `signal` → the signal's {@link AbortError} (or the `TimeoutError` it was aborted with);
 * - HTTP 429 → {@link RateLimitError} with `retryAfterMs` from `retry-after-ms` / `retry-after`;
 * - any other HTTP status → {@link ProviderCallError}, retryable for 408, 409 and 5xx; an `x-should-retry` header from
 *   the server overrides that; a retryable answer keeps its `retry-after` hint;
 * - an error event inside a stream → the same, its type standing for a status (`profile.streamErrorStatus`; a rate
 *   limit's type — `rate_limit_exceeded`, `rate_limit_error` — for a 429 on every provider);
 * - connection failures (named with the endpoint and the cause's code, e.g. `ECONNREFUSED`), the SDK's timeout, a
 *   connection cut mid-body (undici's `terminated`, or whatever a body read through a client's own `fetch` failed with
 *   once the answer had arrived, `call.answered`) → retryable {@link ProviderCallError};
 * - a body that is not JSON (`SyntaxError`) → retryable {@link ProviderCallError} of type `malformed_response`;
 * - anything else — in practice a request the SDK could not build or send, such as a BigInt in `providerOptions`, or
 *   one the transport refused before connecting, such as a header value with a control character — → non-retryable
 *   {@link ProviderCallError} of type `invalid_request`: sending it again would fail the same way.
 *
 * Every error keeps `status`, `requestId` and the provider's error type, and the SDK's error as `cause`, scrubbed of
 * secrets in place. Messages quote the provider's text redacted and cut at 500 characters.
 */
export function toProviderError(
  profile: ProviderProfile,
  error: unknown,
  call: ProviderCallContext = {},
): TinyLLMError {
  const signal = call.signal
  if (signal?.aborted) return abortErrorFor(signal)
  try {
    return mapError(profile, error, call)
  } catch {
    // What was thrown cannot be read (a revoked Proxy, traps that throw): nothing says the request could ever be sent.
    return providerError(profile, {
      message: 'the request could not be sent: the SDK threw a value that cannot be read',
      retryable: false,
      providerErrorType: 'invalid_request',
      cause: error,
    })
  }
}

function mapError(profile: ProviderProfile, error: unknown, call: ProviderCallContext): TinyLLMError {
  if (TinyLLMError.isInstance(error)) return error
  if (isError(error)) redactErrorInPlace(error)
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape
  const where = call.endpoint === undefined ? '' : `${call.endpoint.description}: `
  // What the transport refused before connecting (undici's invalid argument: an API key or header value with a control
  // character in it) was never sent, and would be refused again: no connection failure to retry.
  const refused = refusedBeforeSending(error)
  if (refused !== undefined) {
    return providerError(profile, {
      message: `the request could not be sent: ${quote(refused)}`,
      retryable: false,
      providerErrorType: 'invalid_request',
      cause: error,
    })
  }
  switch (sdkErrorName(shape)) {
    case 'APIUserAbortError':
    case 'AbortError':
      return new AbortError({ reason: error })
    case 'APIConnectionTimeoutError':
      return providerError(profile, {
        message: `request timed out${call.endpoint === undefined ? '' : `: ${call.endpoint.description}`}`,
        retryable: true,
        providerErrorType: 'timeout',
        cause: error,
      })
    case 'APIConnectionError':
      // A request the transport refused with a tinyllm error (a redirect to another origin) fails with that error.
      if (TinyLLMError.isInstance(shape.cause)) return shape.cause
      return providerError(profile, {
        message: `connection failed: ${where}${transportDetail(shape.cause ?? error)}`,
        retryable: true,
        cause: error,
      })
  }
  if (typeof shape.status === 'number' || isStreamErrorEvent(shape)) return fromHttpError(profile, shape, error, call)
  if (shape.name === 'SyntaxError') {
    return malformedResponse(profile, quote(String(shape.message)), { cause: error })
  }
  // The connection dropped while the body was read (undici's "terminated", with the socket error as its cause; or any
  // failure of a body read through a client's own `fetch`, once the answer had arrived).
  if (call.answered === true || isTransportFailure(shape)) {
    return providerError(profile, {
      message: `connection failed while reading the response: ${where}${transportDetail(error)}`,
      retryable: true,
      cause: error,
    })
  }
  return providerError(profile, {
    message: `the request could not be sent: ${quote(describe(error))}`,
    retryable: false,
    providerErrorType: 'invalid_request',
    cause: error,
  })
}

/**
 * A response that is not what the API promises — no JSON, `null`, a body without choices — as a retryable
 * {@link ProviderCallError} of type `malformed_response`: a cut or garbled body is usually transient, and a
 * misconfigured server fails again quickly. `what` is quoted as it is (redacted).
 */
export function malformedResponse(
  profile: ProviderProfile,
  what: string,
  details: {
    readonly status?: number | undefined
    readonly requestId?: string | undefined
    readonly cause?: unknown
  } = {},
): ProviderCallError {
  return providerError(profile, {
    message: `malformed response: ${what}${requestSuffix(details.requestId)}`,
    retryable: true,
    providerErrorType: 'malformed_response',
    status: details.status,
    requestId: details.requestId,
    cause: details.cause,
  })
}

/** A stream that ended before it was complete (a dropped connection, a proxy's timeout): retryable, `incomplete_stream`. */
export function incompleteStream(
  profile: ProviderProfile,
  what: string,
  requestId: string | undefined,
): ProviderCallError {
  return providerError(profile, {
    message: `${what}${requestSuffix(requestId)}`,
    retryable: true,
    providerErrorType: 'incomplete_stream',
    requestId,
  })
}

/** What the mapping reads of an SDK error: both official SDKs' `APIError` carry these. */
interface SdkErrorShape {
  readonly name?: unknown
  readonly message?: unknown
  readonly status?: unknown
  readonly headers?: unknown
  readonly error?: unknown
  readonly code?: unknown
  readonly type?: unknown
  readonly requestID?: unknown
  readonly cause?: unknown
  readonly constructor?: { readonly name?: unknown }
}

const sdkErrorNames = new Set(['APIUserAbortError', 'AbortError', 'APIConnectionTimeoutError', 'APIConnectionError'])

/** The error's SDK class, by `name` (Anthropic's SDK sets it) or by its constructor's name (OpenAI's does not). */
function sdkErrorName(shape: SdkErrorShape): string | undefined {
  if (typeof shape.name === 'string' && sdkErrorNames.has(shape.name)) return shape.name
  const constructorName = shape.constructor?.name
  return typeof constructorName === 'string' && sdkErrorNames.has(constructorName) ? constructorName : undefined
}

/**
 * An `APIError` without a status but with an error body: the server accepted the request, then sent an error event in
 * the stream — with a type or without one (an OpenAI-compatible server may send only `{ "error": { "message" } }`).
 */
function isStreamErrorEvent(shape: SdkErrorShape): boolean {
  return shape.status === undefined && shape.error !== undefined && shape.error !== null
}

function fromHttpError(
  profile: ProviderProfile,
  shape: SdkErrorShape,
  cause: unknown,
  call: ProviderCallContext,
): ProviderCallError {
  const status = typeof shape.status === 'number' ? shape.status : undefined
  const headers = headerReader(shape.headers)
  const type = errorType(shape)
  const requestId = nonEmpty(shape.requestID) ?? headerValue(headers, profile.requestIdHeaders)
  // A stream's error event has no HTTP status of its own; its type says which status it stands for.
  const effectiveStatus = status ?? (type === undefined ? undefined : streamErrorStatus(profile, type))
  const shouldRetry = headers?.get('x-should-retry')
  const retryable =
    shouldRetry === 'true'
      ? true
      : shouldRetry === 'false'
        ? false
        : effectiveStatus !== undefined
          ? isRetryableStatus(effectiveStatus)
          : serverSideErrorType.test(type ?? '')
  const hint = status === 404 && call.endpoint?.notFoundHint !== undefined ? ` (${call.endpoint.notFoundHint})` : ''
  const what =
    status === undefined
      ? `error in stream${type === undefined ? '' : ` (${quote(type)})`}: ${quote(bodyMessage(shape) ?? String(shape.message))}`
      : quote(statusMessage(status, shape))
  const options: ProviderCallErrorOptions = {
    provider: profile.provider,
    message: `${profile.provider}: ${what}${hint}${requestSuffix(requestId)}`,
    status,
    requestId,
    providerErrorType: type,
    retryable,
    // A server may say when to come back on any retryable answer (503 with retry-after is plain HTTP), and a 429 says
    // how long the limit it reports holds even when this request is not to be sent again (`x-should-retry: false`):
    // the shared rate limiter cools down for it all the same.
    retryAfterMs: retryable || effectiveStatus === 429 ? retryAfterMs(headers) : undefined,
    cause,
  }
  return effectiveStatus === 429 ? new RateLimitError(options) : new ProviderCallError(options)
}

/** The HTTP status a stream error event's type stands for: the profile's table, else 429 for a rate limit. */
function streamErrorStatus(profile: ProviderProfile, type: string): number | undefined {
  const table = profile.streamErrorStatus
  const listed = table !== undefined && Object.hasOwn(table, type) ? table[type] : undefined
  if (typeof listed === 'number') return listed
  return rateLimitErrorType.test(type) ? 429 : undefined
}

/** The provider's error code or type: OpenAI's `code` (`rate_limit_exceeded`) before its `type`; Anthropic's `type`. */
function errorType(shape: SdkErrorShape): string | undefined {
  const body = shape.error as { code?: unknown; type?: unknown; error?: { type?: unknown } } | null | undefined
  return (
    nonEmpty(shape.code) ??
    nonEmpty(shape.type) ??
    nonEmpty(body?.code) ??
    nonEmpty(body?.error?.type) ??
    nonEmpty(body?.type === 'error' ? undefined : body?.type)
  )
}

/** The server's own words: the error body's message, if it has one (or the body, when it is only text). */
function bodyMessage(shape: SdkErrorShape): string | undefined {
  const body = shape.error as { message?: unknown; error?: { message?: unknown } | string } | string | null | undefined
  if (typeof body === 'string') return nonEmpty(body)
  const inner = body?.error
  return nonEmpty(typeof inner === 'string' ? inner : inner?.message) ?? nonEmpty(body?.message)
}

/** `429 Rate limit reached…`: the status, then the server's words (or the SDK's, which start with the status). */
function statusMessage(status: number, shape: SdkErrorShape): string {
  const said = bodyMessage(shape)
  if (said !== undefined) return `${status} ${said}`
  const message = String(shape.message ?? '')
  return message.startsWith(String(status)) ? message : `${status} ${message}`.trimEnd()
}

function providerError(
  profile: ProviderProfile,
  options: Omit<ProviderCallErrorOptions, 'provider'> & { readonly message: string },
): ProviderCallError {
  return new ProviderCallError({
    ...options,
    provider: profile.provider,
    message: `${profile.provider}: ${options.message}`,
  })
}

/** `ECONNREFUSED`, or the innermost cause's message: what went wrong on the way, quoted. */
function transportDetail(error: unknown): string {
  let innermost: unknown = error
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && code !== '') return quote(code)
    innermost = current
    current = (current as { cause?: unknown }).cause
  }
  return quote(describe(innermost))
}

/**
 * The message of the undici error (`UND_ERR_INVALID_ARG`) in `error` or its causes, which undici throws for a request
 * it refuses to send; `undefined` when there is none.
 */
function refusedBeforeSending(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    if ((current as { code?: unknown }).code === 'UND_ERR_INVALID_ARG') return describe(current)
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function isTransportFailure(shape: SdkErrorShape): boolean {
  if (shape.message === 'terminated') return true
  const cause = shape.cause
  return typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string'
}

function describe(error: unknown): string {
  if (isError(error)) return error.message
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message
  }
  return String(error)
}

/** Redacted, and cut at {@link maxQuotedLength} characters. */
function quote(text: string): string {
  const redacted = redactString(text)
  return redacted.length > maxQuotedLength ? `${redacted.slice(0, maxQuotedLength)}…` : redacted
}

/** ` (request <id>)`, the id quoted as the server's other words are: a body's `id` may be anything it sent. */
function requestSuffix(requestId: string | undefined): string {
  return requestId === undefined ? '' : ` (request ${quote(requestId)})`
}

function headerReader(headers: unknown): HeaderReader | undefined {
  return typeof (headers as HeaderReader | undefined)?.get === 'function' ? (headers as HeaderReader) : undefined
}

function headerValue(headers: HeaderReader | undefined, names: ReadonlyArray<string>): string | undefined {
  if (headers === undefined) return undefined
  for (const name of names) {
    const value = nonEmpty(headers.get(name))
    if (value !== undefined) return value
  }
  return undefined
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
