import { ConfigurationError } from '@tinyllm/core'
import { isSecretQueryName } from '@tinyllm/logger'
import type { ProviderProfile } from './provider-profile.js'

/** Where a provider's chat requests go, as errors show it: credentials left out. */
export interface ProviderEndpoint {
  /** `POST http://127.0.0.1:8080/v1/chat/completions`, without user information or secret query values. */
  readonly description: string
  /** What to say when the endpoint answers 404 because of how the base URL was written, if anything. */
  readonly notFoundHint: string | undefined
}

/**
 * The endpoint a client built on `baseURL` sends chat requests to, for error messages: connection failures name it,
 * and a 404 that a misplaced `/v1` explains says so.
 *
 * @example
 * providerEndpoint(openAIProfile, 'http://user:pw@127.0.0.1:8080/v1?key=abc').description
 * // 'POST http://127.0.0.1:8080/v1/chat/completions?key=[REDACTED]'
 */
export function providerEndpoint(profile: ProviderProfile, baseURL: string): ProviderEndpoint {
  let url: URL
  try {
    url = new URL(baseURL)
  } catch {
    return { description: `POST ${profile.chatPath}`, notFoundHint: undefined }
  }
  const basePath = url.pathname.replace(/\/+$/, '')
  const endpoint = new URL(url.href)
  endpoint.pathname = `${basePath}${profile.chatPath}`
  return { description: `POST ${displayURL(endpoint)}`, notFoundHint: notFoundHint(profile, url, basePath) }
}

/**
 * A URL without its user information and its fragment (never sent, and free to hold a `#token=…`), with the values of
 * query parameters named like credentials replaced. What is not a `URL` object (a string, say) is a
 * `ConfigurationError`, never shown: it may hold a key.
 */
export function displayURL(url: URL): string {
  if (!(url instanceof URL)) {
    throw new ConfigurationError({
      option: 'url',
      message: `url must be a URL object, got ${url === null ? 'null' : typeof url}`,
      functionName: 'displayURL',
    })
  }
  const shown = new URL(url.href)
  shown.username = ''
  shown.password = ''
  shown.hash = ''
  for (const name of [...shown.searchParams.keys()]) {
    if (isSecretQueryName(name)) shown.searchParams.set(name, '[REDACTED]')
  }
  // URLSearchParams escapes the brackets; they read better as they are.
  return shown.href.replaceAll('%5BREDACTED%5D', '[REDACTED]').replace(/\/$/, '')
}

/**
 * The refusal of a base URL no request can be sent to, or `undefined` for one it can: a URL that is not an absolute
 * `http://` or `https://` URL (`localhost:11434/v1`, which reads as the scheme `localhost:`, or `file:///…`), which
 * would fail as a retried connection failure at every attempt of every call; and one with a user or password in it
 * (`http://user:password@host/v1`), which `fetch` refuses to send — said with what to do instead (the URL without them,
 * and the credentials as a header). The URL itself is never shown: it may hold a key. `source` names where it came
 * from: the `baseURL` option, or the environment variable the SDK read it from (`OPENAI_BASE_URL`).
 */
export function baseURLError(baseURL: string, source: string, owner?: string): ConfigurationError | undefined {
  let url: URL | undefined
  try {
    url = new URL(baseURL)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return new ConfigurationError({
      option: 'baseURL',
      // Without the URL or its scheme: `token:secret` reads as the scheme `token:`.
      message: `${source} must be an absolute http:// or https:// URL, such as http://localhost:8080/v1 (not host:port/v1)`,
      functionName: owner,
    })
  }
  if (url.username === '' && url.password === '') return undefined
  return new ConfigurationError({
    option: 'baseURL',
    message:
      `${source} has credentials in it (user:password@), which fetch refuses to send: leave them out of the URL and` +
      ` send them as a header, e.g. headers: { authorization: 'Basic ' + btoa('user:password') }`,
    functionName: owner,
  })
}

/**
 * The credentials a URL carries, to register for redaction: the password (as written and decoded), or a user name
 * standing alone when it is long enough to be a token (`https://<token>@host`) — a plain user name such as `admin`
 * would shred every log line that mentions it — and the values of secret query parameters.
 */
export function urlSecrets(baseURL: string | undefined | null): string[] {
  if (typeof baseURL !== 'string' || baseURL === '') return []
  let url: URL
  try {
    url = new URL(baseURL)
  } catch {
    return []
  }
  const secrets: string[] = []
  const credential = url.password !== '' ? url.password : url.username.length >= 16 ? url.username : ''
  if (credential !== '') secrets.push(decode(credential), credential)
  for (const [name, value] of url.searchParams) if (isSecretQueryName(name) && value !== '') secrets.push(value)
  return secrets
}

/**
 * What to say of a 404 that the base URL's `/v1` explains: missing where the API is served under it (the suggested URL
 * has it in its path, the query kept after it), or doubled where the SDK adds it. Azure's deployment URLs
 * (`/openai/deployments/<name>?api-version=…`, or the `/openai` base of the SDK's `AzureOpenAI` client) have no `/v1`
 * and need none: their 404 (a deployment that does not exist) gets no hint.
 */
function notFoundHint(profile: ProviderProfile, url: URL, basePath: string): string | undefined {
  const endsInVersion = /\/v\d+$/.test(basePath)
  if (profile.baseURLVersion === 'included' && !/\/v\d+(?:\/|$)/.test(basePath) && !isAzureDeploymentURL(url)) {
    const suggested = new URL(url.href)
    suggested.pathname = `${basePath}/v1`
    return `the base URL ${displayURL(url)} has no /v1: ${profile.displayName}-compatible servers serve the API under it (${displayURL(suggested)})`
  }
  if (profile.baseURLVersion === 'added-by-sdk' && endsInVersion) {
    return `the base URL ${displayURL(url)} ends in /v1, but the SDK adds ${profile.chatPath} itself: leave /v1 out`
  }
  return undefined
}

/** Azure OpenAI's resource hosts, and the path and query of its deployment API, which take no `/v1`. */
const azureHost = /\.(?:openai|cognitiveservices)\.azure\.com$/i
const azureDeploymentPath = /^\/openai\/deployments(?:\/|$)/

function isAzureDeploymentURL(url: URL): boolean {
  return azureHost.test(url.hostname) || azureDeploymentPath.test(url.pathname) || url.searchParams.has('api-version')
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
