import { ProviderCallError } from '../provider-errors.js'
import type { FetchFunction } from './response-size-limit.js'

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** What `fetch` follows at most. */
const maxRedirects = 20
/** The headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const bodyHeaders = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']

/**
 * `fetchFunction` (which must not follow redirects itself) following redirects as `fetch` does — at most 20; a 303, or
 * a 301 or 302 answering a POST, turns the request into a GET without its body — but only within the origin the
 * request was sent to. A redirect to another origin fails the request with a non-retryable {@link ProviderCallError}
 * of type `cross_origin_redirect`: the request's headers carry the API key (`Authorization`, `x-api-key`, Azure's
 * `api-key`…), and `fetch` would send all but `Authorization` on to the other host.
 */
export function sameOriginRedirects(fetchFunction: FetchFunction, provider: string): FetchFunction {
  return async (input, init) => {
    if (typeof input !== 'string' && !(input instanceof URL))
      return fetchFunction(input, { ...init, redirect: 'manual' })
    let url = new URL(input)
    let request: RequestInit = { ...init, redirect: 'manual' }
    for (let redirects = 0; ; redirects++) {
      const response = await fetchFunction(url.href, request)
      const location = redirectStatuses.has(response.status) ? response.headers.get('location') : null
      if (location === null) return response
      await response.body?.cancel().catch(() => {})
      const next = new URL(location, url)
      if (next.origin !== url.origin) throw crossOriginRedirect(provider, response.status, url, next)
      if (redirects === maxRedirects)
        throw new TypeError('fetch failed', { cause: new Error(`more than ${maxRedirects} redirects`) })
      const method = (request.method ?? 'GET').toUpperCase()
      if (
        (response.status === 303 && method !== 'GET' && method !== 'HEAD') ||
        (response.status <= 302 && method === 'POST')
      )
        request = withoutBody(request)
      url = next
    }
  }
}

function withoutBody(request: RequestInit): RequestInit {
  const headers = new Headers(request.headers)
  for (const name of bodyHeaders) headers.delete(name)
  return { ...request, method: 'GET', body: null, headers }
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
