import type { ProviderProfile } from '@tinyllm/llm'

/** What the shared provider helpers need to know about Anthropic's Messages API. */
export const anthropicProfile: ProviderProfile = {
  provider: 'anthropic',
  displayName: 'Anthropic',
  apiKeyVariable: 'ANTHROPIC_API_KEY',
  baseURLVariable: 'ANTHROPIC_BASE_URL',
  headersVariable: 'ANTHROPIC_CUSTOM_HEADERS',
  logVariable: 'ANTHROPIC_LOG',
  requestIdHeaders: ['request-id', 'x-request-id'],
  chatPath: '/v1/messages',
  baseURLVersion: 'added-by-sdk',
  strictResponseFormat: 'always',
  // The error types a stream's `error` event carries, with the HTTP status each stands for.
  streamErrorStatus: {
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
  },
}
