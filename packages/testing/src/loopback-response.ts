import type { Fault } from './fault.js'
import type { LoopbackRequest } from './loopback-request.js'
import type { SseItem } from './sse.js'

interface LoopbackResponseBase {
  /** Defaults to 200. */
  readonly status?: number | undefined
  /**
   * Extra or overriding headers; `x-request-id` defaults to the server's `req_<n>`. `null` leaves a header out, a
   * default one included (a server that sends no request id).
   */
  readonly headers?: Readonly<Record<string, string | null>> | undefined
}

/** A JSON response: `json` is serialised with `JSON.stringify`. */
export interface JsonLoopbackResponse extends LoopbackResponseBase {
  readonly json: unknown
}

/** A `text/event-stream` response, one event per item, optionally paced. */
export interface SseLoopbackResponse extends LoopbackResponseBase {
  readonly sse: Iterable<SseItem> | AsyncIterable<SseItem>
  /** Pause before each event after the first, in ms ≥ 0 (another value answers a 500 saying so). */
  readonly sseEventDelayMs?: number | undefined
}

/** A response body sent byte for byte (content type defaults to text for strings, octet-stream for bytes). */
export interface RawLoopbackResponse extends LoopbackResponseBase {
  readonly raw: string | Uint8Array
}

/** What a route handler answers. */
export type LoopbackResponse = JsonLoopbackResponse | SseLoopbackResponse | RawLoopbackResponse

/** What a route handler receives. */
export interface RouteContext {
  readonly request: LoopbackRequest
  /** Zero-based arrival order, the same as the request log's index. */
  readonly requestIndex: number
  /** The `x-request-id` the server will send unless the response overrides it. */
  readonly requestId: string
  /** Aborted when the client goes away or the server closes: stop producing events. */
  readonly signal: AbortSignal
  /**
   * The fault injected into this request, if any, frozen (it is the server's checked copy, which later requests may
   * get too): the answer is what it damages (cuts, garbles, stalls). A cassette
   * leaves the recording it replays for such a request to the next identical one, the client's retry.
   */
  readonly fault?: Fault | undefined
}

/** Answers one request. Throwing sends a 500 error body with the error's message. */
export type RouteHandler = (context: RouteContext) => LoopbackResponse | Promise<LoopbackResponse>

/** A route key: method, one space, exact path, e.g. `'POST /v1/chat/completions'`. */
export type RouteKey = `${string} /${string}`
