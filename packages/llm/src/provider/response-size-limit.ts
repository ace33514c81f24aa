import { ProviderCallError } from '../provider-errors.js'

/** The `fetch` signature the SDK calls. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Default cap on one response body (JSON or a whole stream): 8 MiB, far above any real chat response. */
export const defaultMaxResponseBytes = 8 * 1024 * 1024

/**
 * The most one byte of a gzip or deflate body can inflate to: DEFLATE's longest match (258 bytes) from a code of at
 * least 2 bits, about 1,032:1. A body whose declared length times this fits the cap cannot inflate past it.
 */
export const maxDeflateExpansion = 1032

/** What the cap needs to name a response it refuses. */
export interface ResponseSizeCap {
  readonly maxBytes: number
  readonly provider: string
  readonly requestIdHeaders: ReadonlyArray<string>
}

/**
 * Whether a body of `declaredBytes` (the `content-length` header, `NaN` when absent) sent with `encoding` can be read
 * without counting: the HTTP client reads no more than a declared length, and a gzip or deflate body cannot inflate
 * past {@link maxDeflateExpansion} times it. Streams, chunked bodies, other encodings (brotli's ratio has no such
 * bound) and anything that could outgrow the cap are counted.
 */
export function fitsUncounted(declaredBytes: number, encoding: string | null, maxBytes: number): boolean {
  if (!Number.isFinite(declaredBytes)) return false
  if (encoding === null) return declaredBytes <= maxBytes
  const coding = encoding.trim().toLowerCase()
  if (coding === 'identity' || coding === '') return declaredBytes <= maxBytes
  if (coding === 'gzip' || coding === 'x-gzip' || coding === 'deflate') {
    return declaredBytes * maxDeflateExpansion <= maxBytes
  }
  return false
}

/** The non-retryable `response_too_large` error of a response over the cap. */
export function responseTooLarge(cap: ResponseSizeCap, status: number, headers: Headers): ProviderCallError {
  return new ProviderCallError({
    provider: cap.provider,
    status,
    requestId: requestIdOf(headers, cap.requestIdHeaders),
    providerErrorType: 'response_too_large',
    message: `${cap.provider}: response body larger than ${cap.maxBytes} bytes (maxResponseBytes); the connection was closed`,
    retryable: false,
  })
}

/**
 * The error of an answer whose status is none HTTP gives a final response (`600`, say, from a broken proxy), or
 * `undefined` for one in 200–599: a `Response` cannot hold any other, so the body is not read but closed, and the call
 * fails as a malformed response does (retryable), never with a RangeError and a connection left open.
 */
export function unexpectedStatus(
  cap: ResponseSizeCap,
  status: number,
  headers: Headers,
): ProviderCallError | undefined {
  if (status >= 200 && status <= 599) return undefined
  return new ProviderCallError({
    provider: cap.provider,
    status,
    requestId: requestIdOf(headers, cap.requestIdHeaders),
    providerErrorType: 'malformed_response',
    message: `${cap.provider}: malformed response: HTTP status ${status} is not one of an answer (200–599); the connection was closed`,
    retryable: true,
  })
}

/**
 * `body` as it is read, failing with `tooLarge()` once more than `maxBytes` have arrived (what the client decoded, so
 * an inflated body counts whole); `onEnd` runs once the body ends, fails or is cancelled.
 */
export function countedBody(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
  onEnd?: () => void,
): ReadableStream<Uint8Array> {
  let received = 0
  const end = (): void => onEnd?.()
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength
        if (received > maxBytes) {
          end()
          controller.error(tooLarge())
        } else controller.enqueue(chunk)
      },
      flush: end,
      // Called when the reader cancels the stream (runtimes that know it; elsewhere the scope goes with its call).
      ...{ cancel: end },
    }),
  )
}

/**
 * Caps one fetched response: passes it through untouched when its declared length settles the question
 * ({@link fitsUncounted}), fails a bigger declared length at once, and counts everything else as it is read. An
 * answer of a status outside 200–599 fails at once ({@link unexpectedStatus}).
 * `onEnd` runs when a counted body ends; an uncounted one needs no watching.
 */
export function capResponse(response: Response, cap: ResponseSizeCap, onEnd?: () => void): Response {
  const body = response.body
  const headers = response.headers
  const refused = unexpectedStatus(cap, response.status, headers)
  if (refused !== undefined) {
    void body?.cancel().catch(() => {})
    onEnd?.()
    throw refused
  }
  if (body === null) return response
  const declared = Number(headers.get('content-length') ?? Number.NaN)
  const encoding = headers.get('content-encoding')
  if (fitsUncounted(declared, encoding, cap.maxBytes)) return response
  const tooLarge = (): ProviderCallError => responseTooLarge(cap, response.status, headers)
  let limited: ReadableStream<Uint8Array>
  if (Number.isFinite(declared) && declared > cap.maxBytes) {
    void body.cancel().catch(() => {})
    onEnd?.()
    limited = new ReadableStream({ start: (controller) => controller.error(tooLarge()) })
  } else limited = countedBody(body, cap.maxBytes, tooLarge, onEnd)
  return new Response(limited, { status: response.status, statusText: response.statusText, headers })
}

/**
 * Wraps `fetch` so that no response body larger than `maxBytes` is read: a bigger declared `content-length`, or more
 * bytes than that arriving, fails the body with a non-retryable {@link ProviderCallError} (`response_too_large`) and
 * closes the connection, instead of buffering whatever a misbehaving server sends. A body whose declared length
 * settles it — uncompressed within the cap, or gzip or deflate whose length times 1,032 (the most DEFLATE can
 * inflate a byte to) is within it — is passed through untouched. Provider packages install it as their SDK's `fetch`.
 */
export function limitResponseSize(
  fetchFunction: FetchFunction,
  maxBytes: number,
  provider: string,
  requestIdHeaders: ReadonlyArray<string> = ['x-request-id'],
): FetchFunction {
  const cap: ResponseSizeCap = { maxBytes, provider, requestIdHeaders }
  const limit = (response: Response): Response => capResponse(response, cap)
  return (input, init) => fetchFunction(input, init).then(limit)
}

function requestIdOf(headers: Headers, names: ReadonlyArray<string>): string | undefined {
  for (const name of names) {
    const value = headers.get(name)
    if (value !== null) return value
  }
  return undefined
}
