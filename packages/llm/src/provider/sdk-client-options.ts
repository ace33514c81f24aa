import { readEnvironment, resolveApiKey } from './api-key.js'
import { fetchTransport } from './fetch-transport.js'
import type { ProviderConnectionOptions } from './provider-connection-options.js'
import type { ProviderProfile } from './provider-profile.js'
import { sameOriginRedirects } from './redirects.js'
import { defaultMaxResponseBytes, type FetchFunction, type ResponseSizeCap } from './response-size-limit.js'
import { type SdkLogger, sdkLogger } from './sdk-logger.js'
import { loadUndici, undiciTransport } from './undici-transport.js'

/** The options every SDK client tinyllm creates is given, whatever the provider. */
export interface SdkClientOptions {
  readonly apiKey: string
  /** Retries belong to the calling Function's policy, never to the SDK. */
  readonly maxRetries: 0
  /** The transport (`undici` or `fetch`), with the response size cap. */
  readonly fetch: FetchFunction
  /** The SDK's own log lines, through tinyllm's redacting logger. */
  readonly logger: SdkLogger
  /** Off, unless the provider's log variable (`OPENAI_LOG`…) is set: then the SDK reads it. */
  readonly logLevel: 'off' | undefined
  /** The `baseURL` option; when it is `undefined`, the SDK reads its environment variable or uses the provider's. */
  readonly baseURL: string | undefined
  /** The `headers` option, sent with every request. */
  readonly defaultHeaders: Readonly<Record<string, string>> | undefined
}

/**
 * The provider-neutral part of creating an SDK client, at the first call: the API key (passed, or read from the
 * provider's environment variable and registered for redaction for as long as `owner` lives), no SDK retries, the
 * transport and its response size cap, the SDK's logs routed through tinyllm's logger, and the base URL and headers of `options`.
 *
 * @example
 * const client = new OpenAI({ ...sdkClientOptions(openAIProfile, this, options), organization: options.organization })
 */
export function sdkClientOptions(
  profile: ProviderProfile,
  owner: object,
  options: ProviderConnectionOptions,
): SdkClientOptions {
  return {
    apiKey: resolveApiKey({
      apiKey: options.apiKey,
      variable: profile.apiKeyVariable,
      provider: profile.displayName,
      owner,
    }),
    maxRetries: 0,
    fetch: transportFor(options.transport, {
      maxBytes: options.maxResponseBytes ?? defaultMaxResponseBytes,
      provider: profile.provider,
      requestIdHeaders: profile.requestIdHeaders,
    }),
    logger: sdkLogger(profile.provider),
    logLevel: readEnvironment(profile.logVariable) === undefined ? 'off' : undefined,
    baseURL: options.baseURL,
    defaultHeaders: options.headers,
  }
}

/**
 * Starts loading the transport a provider's client will use (undici, unless `transport` is `fetch` or a client is
 * passed in), so that the model's first call does not wait for it. A provider's chat model calls it when it is created.
 *
 * @example
 * prepareTransport(options) // in the chat model's constructor
 */
export function prepareTransport(options: ProviderConnectionOptions & { readonly client?: unknown }): void {
  // A failed load is not this moment's error: the transport falls back to `fetch` without undici.
  if (options.client === undefined && options.transport !== 'fetch') loadUndici().then(undefined, () => {})
}

/**
 * The `fetch` an SDK client is given: undici's `request` API (the default), or the global `fetch`; either follows
 * redirects within the API's origin only.
 */
function transportFor(transport: 'undici' | 'fetch' | undefined, cap: ResponseSizeCap): FetchFunction {
  const fetch = fetchTransport(cap)
  return sameOriginRedirects(transport === 'fetch' ? fetch : undiciTransport(cap, fetch), cap.provider)
}

/** The per-request options tinyllm sends with every SDK call: no retries, and the call's signal, if it can abort. */
export function sdkRequestOptions(signal: AbortSignal | undefined): { maxRetries: 0; signal?: AbortSignal } {
  return signal === undefined ? { maxRetries: 0 } : { maxRetries: 0, signal }
}
