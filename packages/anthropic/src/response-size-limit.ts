import { ProviderCallError } from '@tinyllm/core'

/** The `fetch` signature the SDK calls. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Default cap on one response body (a message or a whole stream): 8 MiB, far above any real Messages response. */
export const defaultMaxResponseBytes = 8 * 1024 * 1024

/**
 * Wraps `fetch` so that no response body larger than `maxBytes` is read: a bigger declared `content-length`, or more
 * bytes than that arriving, fails the body with a non-retryable {@link ProviderCallError} (`response_too_large`) and
 * closes the connection, instead of buffering whatever a misbehaving server sends.
 */
export function limitResponseSize(fetchFunction: FetchFunction, maxBytes: number): FetchFunction {
  return async (input, init) => {
    const response = await fetchFunction(input, init)
    const body = response.body
    if (body === null) return response
    const tooLarge = (): ProviderCallError =>
      new ProviderCallError({
        provider: 'anthropic',
        status: response.status,
        requestId: response.headers.get('request-id') ?? response.headers.get('x-request-id') ?? undefined,
        providerErrorType: 'response_too_large',
        message: `anthropic: response body larger than ${maxBytes} bytes (maxResponseBytes); the connection was closed`,
        retryable: false,
      })
    const declared = Number(response.headers.get('content-length') ?? Number.NaN)
    let limited: ReadableStream<Uint8Array>
    if (Number.isFinite(declared) && declared > maxBytes) {
      void body.cancel().catch(() => {})
      limited = new ReadableStream({ start: (controller) => controller.error(tooLarge()) })
    } else {
      let received = 0
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
}
