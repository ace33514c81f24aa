import { ProviderCallError } from '@tinyllm/core'

/** The `fetch` signature the SDK calls. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Default cap on one response body (JSON or a whole stream): 8 MiB, far above any real chat response. */
export const defaultMaxResponseBytes = 8 * 1024 * 1024

/**
 * Wraps `fetch` so that no response body larger than `maxBytes` is read: a bigger declared `content-length`, or more
 * bytes than that arriving, fails the body with a non-retryable {@link ProviderCallError} (`response_too_large`) and
 * closes the connection, instead of buffering whatever a misbehaving server sends. Provider packages install it as
 * their SDK's `fetch`.
 */
export function limitResponseSize(
  fetchFunction: FetchFunction,
  maxBytes: number,
  provider: string,
  requestIdHeaders: ReadonlyArray<string> = ['x-request-id'],
): FetchFunction {
  const limit = (response: Response): Response => {
    const body = response.body
    if (body === null) return response
    const declared = Number(response.headers.get('content-length') ?? Number.NaN)
    const encoding = response.headers.get('content-encoding')
    // A declared, uncompressed length within the cap needs no watching: the HTTP client reads no more than it declares.
    // Streams, chunked bodies and compressed ones (whose inflated size the header does not tell) are counted.
    if (Number.isFinite(declared) && declared <= maxBytes && (encoding === null || encoding === 'identity')) {
      return response
    }
    const tooLarge = (): ProviderCallError =>
      new ProviderCallError({
        provider,
        status: response.status,
        requestId: requestIdOf(response.headers, requestIdHeaders),
        providerErrorType: 'response_too_large',
        message: `${provider}: response body larger than ${maxBytes} bytes (maxResponseBytes); the connection was closed`,
        retryable: false,
      })
    let received = Number.isFinite(declared) ? declared : 0
    let limited: ReadableStream<Uint8Array>
    if (received > maxBytes) {
      void body.cancel().catch(() => {})
      limited = new ReadableStream({ start: (controller) => controller.error(tooLarge()) })
    } else {
      received = 0
      limited = body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            received += chunk.byteLength
            if (received > maxBytes) controller.error(tooLarge())
            else controller.enqueue(chunk)
          },
        }),
      )
    }
    return new Response(limited, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
  return (input, init) => fetchFunction(input, init).then(limit)
}

function requestIdOf(headers: Headers, names: ReadonlyArray<string>): string | undefined {
  for (const name of names) {
    const value = headers.get(name)
    if (value !== null) return value
  }
  return undefined
}
