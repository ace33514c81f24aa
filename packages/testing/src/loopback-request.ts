import type { Fault } from './fault.js'

/** A request as the loopback server received it and as route handlers see it (headers not redacted). */
export interface LoopbackRequest {
  /** Upper-case HTTP method. */
  readonly method: string
  /** The path without its query string, e.g. `/v1/chat/completions`. */
  readonly path: string
  /** The query string with its leading `?`, or `''`. */
  readonly query: string
  /** Header names lower-cased; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>
  /** The body parsed as JSON when it is JSON, the text otherwise, `undefined` when empty. */
  readonly body: unknown
  /** The body exactly as received. */
  readonly rawBody: Buffer
}

/**
 * How a logged request ended: `pending` while in flight; `completed` when the whole response was sent; `client-closed`
 * when the client went away first; `fault` when an injected fault shaped the answer; `server-closed` when `close()` cut it,
 * or the answer failed after its headers were sent (an SSE source that threw, an item JSON cannot encode), so the
 * server cut the connection.
 */
export type RequestOutcome = 'pending' | 'completed' | 'client-closed' | 'fault' | 'server-closed'

/**
 * One entry of the server's request log, redacted as it was written: credential headers, fields named like a secret,
 * key-shaped strings and every secret registered with `@tinyllm/logger` (the API key of the model that sent it) are
 * `[REDACTED]` in every field — the path, query, headers, body and injected fault alike. Route handlers see the
 * request as it came ({@link LoopbackRequest}).
 */
export interface LoggedRequest {
  /** Zero-based arrival order. */
  readonly index: number
  /** The `x-request-id` the server sent (unless a response overrode it), `req_<index>`. */
  readonly requestId: string
  readonly method: string
  readonly path: string
  readonly query: string
  /** Headers with `authorization`, api-key, cookie and token headers redacted. */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed body (see {@link LoopbackRequest.body}), redacted; `undefined` until the body has been read. */
  readonly body: unknown
  /** `Date.now()` when the request arrived. */
  readonly receivedAt: number
  readonly outcome: RequestOutcome
  /** The status code sent, if headers were sent. */
  readonly status: number | undefined
  /** The fault injected into this request, if any (a redacted copy). */
  readonly fault: Fault | undefined
  /** `Date.now()` when the exchange ended, while pending `undefined`. */
  readonly endedAt: number | undefined
}
