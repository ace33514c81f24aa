import {
  AbortError,
  abortErrorFor,
  ProviderCallError,
  type ProviderCallErrorOptions,
  RateLimitError,
  TinyLLMError,
} from '@tinyllm/core'
import { type HeaderReader, isRetryableStatus, redactErrorInPlace, retryAfterMs } from '@tinyllm/llm'
import { redactString } from '@tinyllm/logger'

const provider = 'anthropic'
/** Error messages quote the provider's text up to this length: an HTML error page does not belong in a log line. */
const maxQuotedLength = 500

/** What the SDK's `APIError` carries that the mapping reads; read structurally, so any copy of the SDK works. */
interface ApiErrorShape {
  readonly name: string
  readonly message: string
  readonly status?: number | undefined
  readonly headers?: HeaderReader | undefined
  readonly type?: string | null | undefined
  readonly error?: unknown
}

/** Error types Anthropic sends in a stream's `error` event, with the HTTP status they stand for. */
const statusOfErrorType: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
}

/**
 * Turns whatever a call to the Anthropic SDK threw into a typed tinyllm error:
 *
 * - cancelled through `signal` → the signal's {@link AbortError} (or the `TimeoutError` it was aborted with);
 * - HTTP 429 → {@link RateLimitError} with `retryAfterMs` from `retry-after-ms` / `retry-after`;
 * - any other HTTP status → {@link ProviderCallError}, retryable for 408, 409 and 5xx (529 "overloaded" included);
 *   Anthropic's `x-should-retry` header overrides that;
 * - an `error` event inside a stream → {@link ProviderCallError}, retryable when its type says the server failed;
 * - connection failures, the SDK's request timeout, connections cut mid-body → retryable {@link ProviderCallError};
 * - a body that is not JSON → retryable {@link ProviderCallError} (`malformed_response`).
 *
 * Every error keeps `status`, `requestId` (`request-id`), the provider's error type, and the SDK's error as `cause`.
 * Errors are recognised by name and shape, so a client from another copy of the SDK maps the same way.
 */
export function toTinyLLMError(error: unknown, signal?: AbortSignal): TinyLLMError {
  if (signal?.aborted) return abortErrorFor(signal)
  if (TinyLLMError.isInstance(error)) return error
  if (error instanceof Error) redactErrorInPlace(error)
  const shape = (typeof error === 'object' && error !== null ? error : {}) as Partial<ApiErrorShape>
  switch (shape.name) {
    case 'APIUserAbortError':
    case 'AbortError':
      return new AbortError({ reason: error })
    case 'APIConnectionTimeoutError':
      return providerError({
        message: 'request timed out',
        retryable: true,
        providerErrorType: 'timeout',
        cause: error,
      })
    case 'APIConnectionError':
      return providerError({ message: `connection failed: ${describeCause(error)}`, retryable: true, cause: error })
  }
  if (typeof shape.status === 'number' || (shape.name === 'APIError' && typeof shape.type === 'string')) {
    return fromApiError(shape as ApiErrorShape, error)
  }
  if (error instanceof SyntaxError) {
    return providerError({
      message: `malformed response: ${quote(error.message)}`,
      retryable: true,
      providerErrorType: 'malformed_response',
      cause: error,
    })
  }
  if (shape.name === 'AnthropicError')
    return providerError({ message: quote(String(shape.message)), retryable: false, cause: error })
  // Anything else comes from the transport while reading a body (undici's "terminated" on a reset connection, …).
  return providerError({
    message: `connection failed while reading the response: ${describeCause(error)}`,
    retryable: true,
    cause: error,
  })
}

function fromApiError(apiError: ApiErrorShape, cause: unknown): ProviderCallError {
  const providerErrorType = apiError.type ?? bodyErrorType(apiError.error)
  // A stream's `error` event has no HTTP status of its own; its type says which status it stands for.
  const effectiveStatus = apiError.status ?? (providerErrorType ? statusOfErrorType[providerErrorType] : undefined)
  const headers = apiError.headers
  const requestId = headers?.get('request-id') ?? headers?.get('x-request-id') ?? undefined
  const retryAfter = retryAfterMs(headers)
  const where = requestId === undefined ? '' : ` (request ${requestId})`
  const what = apiError.status === undefined ? 'error in stream' : `HTTP ${apiError.status}`
  const options: ProviderCallErrorOptions = {
    provider,
    status: apiError.status,
    requestId,
    providerErrorType,
    retryAfterMs: retryAfter,
    retryable: isRetryable(effectiveStatus, headers),
    cause,
    message: `anthropic: ${what}${providerErrorType ? ` ${providerErrorType}` : ''}: ${quote(
      bodyMessage(apiError.error) ?? apiError.message,
    )}${where}`,
  }
  return effectiveStatus === 429 ? new RateLimitError(options) : new ProviderCallError(options)
}

function providerError(options: {
  message: string
  retryable: boolean
  cause: unknown
  providerErrorType?: string | undefined
}): ProviderCallError {
  return new ProviderCallError({ provider, ...options, message: `anthropic: ${redactString(options.message)}` })
}

function quote(text: string): string {
  const redacted = redactString(text)
  return redacted.length > maxQuotedLength ? `${redacted.slice(0, maxQuotedLength)}…` : redacted
}

/** 408, 409, 429 and 5xx (529 "overloaded" included) are worth another attempt; Anthropic's `x-should-retry` wins. */
function isRetryable(status: number | undefined, headers: HeaderReader | undefined): boolean {
  const shouldRetry = headers?.get('x-should-retry')
  if (shouldRetry === 'true') return true
  if (shouldRetry === 'false') return false
  return status !== undefined && isRetryableStatus(status)
}

function bodyErrorType(body: unknown): string | undefined {
  const type = (body as { error?: { type?: unknown } } | null | undefined)?.error?.type
  return typeof type === 'string' ? type : undefined
}

function bodyMessage(body: unknown): string | undefined {
  const message = (body as { error?: { message?: unknown } } | null | undefined)?.error?.message
  return typeof message === 'string' ? message : undefined
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return quote(String(error))
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return quote(`${error.message}${cause}`)
}
