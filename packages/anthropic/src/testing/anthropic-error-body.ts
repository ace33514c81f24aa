import type { LoopbackErrorDetails } from '@tinyllm/testing'

/** The body Anthropic answers errors with. */
export interface AnthropicErrorBody {
  readonly type: 'error'
  readonly error: { readonly type: string; readonly message: string }
  readonly request_id?: string | undefined
}

const errorTypes: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
}

/** Anthropic's error type for an HTTP status. */
export function anthropicErrorType(status: number): string {
  return errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
}

/** Builds an error body in Anthropic's shape; used for route misses and injected status faults. */
export function anthropicErrorBody(details: LoopbackErrorDetails, requestId?: string): AnthropicErrorBody {
  return {
    type: 'error',
    error: { type: anthropicErrorType(details.status), message: details.message },
    ...(requestId === undefined ? {} : { request_id: requestId }),
  }
}
