import { AbortError, ProviderCallError, RateLimitError, TimeoutError, TinyLLMError } from '@tinyllm/core'
import type { HeaderReader } from './retry-after.js'
import { parseRetryAfterMs } from './retry-after.js'

const provider = 'anthropic'

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
 * Turns whatever a call to the Anthropic SDK threw into a tinyllm error: HTTP failures become `ProviderCallError`
 * (429: `RateLimitError`) with status, request id, provider error type, `retry-after` and the SDK's error as `cause`;
 * a cancelled call becomes `AbortError`; the SDK's own request timeout a retryable `TimeoutError`.
 */
export function toTinyLLMError(
  error: unknown,
  context: { readonly signal?: AbortSignal | undefined; readonly timeoutMs?: number | undefined } = {},
): TinyLLMError {
  if (TinyLLMError.isInstance(error)) return error
  if (context.signal?.aborted) return new AbortError({ reason: context.signal.reason })
  const shape = (typeof error === 'object' && error !== null ? error : {}) as Partial<ApiErrorShape>
  switch (shape.name) {
    case 'APIUserAbortError':
    case 'AbortError':
      return new AbortError({ reason: error })
    case 'APIConnectionTimeoutError':
      return new TimeoutError({ kind: 'attempt', timeoutMs: context.timeoutMs ?? 0, functionName: provider })
    case 'APIConnectionError':
      return new ProviderCallError({
        provider,
        message: `anthropic: connection failed: ${describeCause(error)}`,
        retryable: true,
        cause: error,
      })
  }
  if (typeof shape.status === 'number' || (shape.name === 'APIError' && typeof shape.type === 'string')) {
    return fromApiError(shape as ApiErrorShape, error)
  }
  if (error instanceof SyntaxError) {
    return new ProviderCallError({
      provider,
      message: `anthropic: malformed response: ${error.message}`,
      retryable: true,
      cause: error,
    })
  }
  const network = isNetworkFailure(error)
  return new ProviderCallError({
    provider,
    message: `anthropic: ${network ? 'connection lost: ' : ''}${describeCause(error)}`,
    retryable: network,
    cause: error,
  })
}

function fromApiError(apiError: ApiErrorShape, cause: unknown): ProviderCallError {
  const providerErrorType = apiError.type ?? bodyErrorType(apiError.error)
  // A stream's `error` event has no HTTP status of its own; its type says which status it stands for.
  const effectiveStatus = apiError.status ?? (providerErrorType ? statusOfErrorType[providerErrorType] : undefined)
  const headers = apiError.headers
  const requestId = headers?.get('request-id') ?? headers?.get('x-request-id') ?? undefined
  const retryAfterMs = parseRetryAfterMs(headers)
  const options = {
    provider,
    status: apiError.status,
    requestId,
    providerErrorType,
    retryAfterMs,
    retryable: isRetryable(effectiveStatus, headers),
    cause,
    message: `anthropic: ${apiError.status === undefined ? 'stream error' : `HTTP ${apiError.status}`}${
      providerErrorType ? ` ${providerErrorType}` : ''
    }: ${bodyMessage(apiError.error) ?? apiError.message}${requestId ? ` (request ${requestId})` : ''}`,
  }
  return effectiveStatus === 429 ? new RateLimitError(options) : new ProviderCallError(options)
}

/** 408, 409, 429 and 5xx (529 "overloaded" included) are worth another attempt; Anthropic's `x-should-retry` wins. */
function isRetryable(status: number | undefined, headers: HeaderReader | undefined): boolean {
  const shouldRetry = headers?.get('x-should-retry')
  if (shouldRetry === 'true') return true
  if (shouldRetry === 'false') return false
  if (status === undefined) return false
  return status === 408 || status === 409 || status === 429 || status >= 500
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
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${error.message}${cause}`
}

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'TypeError' && /terminated|fetch failed|network|socket/i.test(error.message)) return true
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && (code.startsWith('E') || code.startsWith('UND_ERR'))
}
