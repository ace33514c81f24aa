import {
  AbortError,
  abortErrorFor,
  ProviderCallError,
  type ProviderCallErrorOptions,
  RateLimitError,
  TimeoutError,
  TinyLLMError,
} from '@tinyllm/core'
import { type HeaderReader, isRetryableStatus, redactErrorInPlace, retryAfterMs } from '@tinyllm/llm'
import { redactString } from '@tinyllm/logger'
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, OpenAIError } from 'openai'

const provider = 'openai'
/** Error messages quote the provider's text up to this length: an HTML error page does not belong in a log line. */
const maxQuotedLength = 500

/**
 * Turns whatever the SDK (or the transport under it) threw into a typed tinyllm error:
 *
 * - cancelled through `signal` → the signal's {@link AbortError} or {@link TimeoutError};
 * - HTTP 429 → {@link RateLimitError} with `retryAfterMs` from `retry-after-ms` / `retry-after`;
 * - any other HTTP status → {@link ProviderCallError}, retryable for 408, 409 and 5xx (an `x-should-retry` header
 *   from the server overrides that), with `retryAfterMs` too when a retryable answer carries one;
 * - an error event inside a stream → {@link ProviderCallError}, retryable when its type says the server failed;
 * - connection failures, SDK timeouts, connections cut mid-body → retryable {@link ProviderCallError};
 * - a request that cannot be sent (not serialisable as JSON) → non-retryable {@link ProviderCallError}
 *   (`invalid_request`);
 * - a body that is not JSON → retryable {@link ProviderCallError} (`malformed_response`), as a cut or garbled body
 *   usually is transient.
 *
 * Every error keeps `status`, `requestId` (`x-request-id`) and the provider's error type, the SDK's error as `cause`,
 * and never contains a secret: messages go through `redactString`, the cause's message too.
 */
export function toTinyLLMError(error: unknown, signal?: AbortSignal): TinyLLMError {
  if (signal?.aborted) return abortErrorFor(signal)
  if (TinyLLMError.isInstance(error)) return error
  if (error instanceof APIUserAbortError) return new AbortError({ reason: error })
  if (error instanceof Error) redactErrorInPlace(error)
  if (error instanceof APIConnectionTimeoutError) {
    return providerError({ message: 'request timed out', retryable: true, providerErrorType: 'timeout', cause: error })
  }
  if (error instanceof APIConnectionError) {
    return providerError({ message: `connection failed: ${describeCause(error)}`, retryable: true, cause: error })
  }
  if (error instanceof APIError) return fromApiError(error)
  if (error instanceof SyntaxError) {
    return providerError({
      message: `malformed response: ${error.message}`,
      retryable: true,
      providerErrorType: 'malformed_response',
      cause: error,
    })
  }
  if (error instanceof OpenAIError) {
    return providerError({ message: error.message, retryable: false, cause: error })
  }
  const detail = error instanceof Error ? describeCause(error) : quote(String(error))
  // The connection dropped while the body was read (undici's "terminated", with the socket error as cause).
  if (isTransportFailure(error)) {
    return providerError({
      message: `connection failed while reading the response: ${detail}`,
      retryable: true,
      cause: error,
    })
  }
  // Anything else happened before the request left (a BigInt or a cycle in providerOptions cannot be sent as JSON):
  // sending the same request again would fail the same way.
  return providerError({
    message: `the request could not be sent: ${detail}`,
    retryable: false,
    providerErrorType: 'invalid_request',
    cause: error,
  })
}

function isTransportFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.message === 'terminated') return true
  const cause = (error as { cause?: unknown }).cause
  return typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string'
}

function fromApiError(error: APIError): ProviderCallError {
  const status = error.status
  const headers = error.headers as HeaderReader | undefined
  const providerErrorType = stringOrUndefined(error.code) ?? stringOrUndefined(error.type)
  const requestId = stringOrUndefined(error.requestID) ?? stringOrUndefined(headers?.get('x-request-id'))
  const where = requestId === undefined ? '' : ` (request ${requestId})`
  if (status === undefined) {
    // The server accepted the request, then sent an error event in the stream.
    return providerError({
      message: `error in stream${where}: ${quote(error.message)}`,
      retryable: /server_error|overloaded|rate_limit|timeout/i.test(providerErrorType ?? ''),
      providerErrorType,
      requestId,
      cause: error,
    })
  }
  const shouldRetry = headers?.get('x-should-retry')
  const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : isRetryableStatus(status)
  const options: ProviderCallErrorOptions = {
    provider,
    message: `openai: ${quote(error.message)}${where}`,
    status,
    requestId,
    providerErrorType,
    retryable,
    cause: error,
  }
  if (status === 429) return new RateLimitError({ ...options, retryAfterMs: retryAfterMs(headers) })
  // A server may say when to come back on any retryable answer (503 with retry-after is plain HTTP).
  if (retryable) return new ProviderCallError({ ...options, retryAfterMs: retryAfterMs(headers) })
  return new ProviderCallError(options)
}

function providerError(options: {
  message: string
  retryable: boolean
  cause: unknown
  providerErrorType?: string | undefined
  requestId?: string | undefined
}): ProviderCallError {
  return new ProviderCallError({ provider, ...options, message: `openai: ${redactString(options.message)}` })
}

function quote(text: string): string {
  const redacted = redactString(text)
  return redacted.length > maxQuotedLength ? `${redacted.slice(0, maxQuotedLength)}…` : redacted
}

function describeCause(error: Error): string {
  const cause = (error as { cause?: unknown }).cause
  const causeText = cause instanceof Error ? `: ${cause.message}` : ''
  return quote(`${error.message}${causeText}`)
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
