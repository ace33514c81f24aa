import type { LoopbackErrorDetails } from '@tinyllm/testing'

/** The body OpenAI answers errors with. */
export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string
    readonly type: string
    readonly param: string | null
    readonly code: string | null
  }
}

/** Type and code OpenAI uses for the statuses a client must handle. */
const errorShapes: Readonly<Record<number, { type: string; code: string | null }>> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
}

/** Builds an error body in OpenAI's shape for a status; used for route misses and injected status faults. */
export function openAIErrorBody(details: LoopbackErrorDetails): OpenAIErrorBody {
  const shape = errorShapes[details.status] ?? {
    type: details.status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
  }
  return { error: { message: details.message, type: shape.type, param: null, code: shape.code } }
}
