import { ProviderCallError } from '../provider-errors.js'
import type { FetchFunction } from './response-size-limit.js'

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** What `fetch` follows at most. */
const maxRedirects = 20
/** The headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const bodyHeaders = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']

/**
 * `fetchFunction` (which must not follow redirects itself: tinyllm's transports ask for `redirect: 'manual'`) following
 * redirects as `fetch` does — at most 20; a 303, or a 301 or 302 answering a POST, turns the request into a GET
 * without its body — but only within the origin the request was sent to; more than 20 fail it with a non-retryable
 * {@link ProviderCallError} of type `redirect_loop`. A redirect to another origin fails the request with a non-retryable
 * {@link ProviderCallError} of type `cross_origin_redirect`: the request's headers carry the API key (`Authorization`, `x-api-key`, Azure's
 * `api-key`…), and `fetch` would send all but `Authorization` on to the other host.
 */
export function sameOriginRedirects(fetchFunction: FetchFunction, provider: string): FetchFunction {
  // The common answer is no redirect: it costs one status check, no URL parsed and no request copied.
  return (input, init) =>
    fetchFunction(input, init).then((response) =>
      redirectStatuses.has(response.status) && response.headers.has('location')
        ? follow(fetchFunction, provider, input, init, response)
        : response,
    )
}

async function follow(
  fetchFunction: FetchFunction,
  provider: string,
  input: string | URL | Request,
  init: RequestInit | undefined,
  first: Response,
): Promise<Response> {
  // A Request carries its own URL and body: its redirect is handed back as it came, not followed.
  if (typeof input !== 'string' && !(input instanceof URL)) return first
  let url = new URL(input)
  let request: RequestInit = { ...init }
  let response = first
  for (let redirects = 1; ; redirects++) {
    const next = new URL(response.headers.get('location') as string, url)
    await response.body?.cancel().catch(() => {})
    if (next.origin !== url.origin) throw crossOriginRedirect(provider, response.status, url, next)
    if (redirects > maxRedirects) throw redirectLoop(provider, url)
    const method = (request.method ?? 'GET').toUpperCase()
    if (
      (response.status === 303 && method !== 'GET' && method !== 'HEAD') ||
      (response.status <= 302 && method === 'POST')
    )
      request = withoutBody(request)
    url = next
    response = await fetchFunction(url.href, request)
    if (!redirectStatuses.has(response.status) || !response.headers.has('location')) return response
  }
}

function withoutBody(request: RequestInit): RequestInit {
  const headers = new Headers(request.headers)
  for (const name of bodyHeaders) headers.delete(name)
  return { ...request, method: 'GET', body: null, headers }
}

/** More redirects than `fetch` follows: the server's configuration, which no retry mends. */
function redirectLoop(provider: string, url: URL): ProviderCallError {
  return new ProviderCallError({
    provider,
    providerErrorType: 'redirect_loop',
    message: `${provider}: the server at ${url.origin} redirected the request more than ${maxRedirects} times (a redirect loop); it is not retried. Point baseURL at where the API is`,
    retryable: false,
  })
}

function crossOriginRedirect(provider: string, status: number, from: URL, to: URL): ProviderCallError {
  return new ProviderCallError({
    provider,
    status,
    providerErrorType: 'cross_origin_redirect',
    message: `${provider}: the server at ${from.origin} redirected the request (${status}) to another origin, ${to.origin}; it was not followed, so the API key in its headers is not sent there. Point baseURL at where the API is`,
    retryable: false,
  })
}
