/**
 * How to reach a provider when tinyllm creates the SDK client itself; the same for every provider, which adds its own
 * fields by extending it (OpenAI's `organization` and `project`).
 */
export interface ProviderConnectionOptions {
  /** API key; default: the provider's environment variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`), read at the first call. */
  readonly apiKey?: string | undefined
  /**
   * Base URL of the provider's API or of a compatible server (the loopback server's `baseURL`, a proxy); default: the
   * provider's, or its `*_BASE_URL` environment variable. Whether it ends in `/v1` is the provider's rule.
   */
  readonly baseURL?: string | undefined
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Largest response body read, in bytes (a stream counts whole); bigger bodies fail with a ProviderCallError. Default 8 MiB. */
  readonly maxResponseBytes?: number | undefined
  /**
   * How requests reach the server under the SDK: `undici` — undici's `request` API over a keep-alive pool, the default
   * — or `fetch`, the runtime's global `fetch`. Both send the same requests, cap responses the same way and fail the
   * same way; `fetch` is the fallback for runtimes or proxies undici does not fit.
   */
  readonly transport?: 'undici' | 'fetch' | undefined
}

/** The values of {@link ProviderConnectionOptions.transport}. */
export const transports = Object.freeze(['undici', 'fetch'] as const)

/**
 * The names of {@link ProviderConnectionOptions} and `client`, for the shared option checks; a provider with fields of
 * its own appends their names.
 *
 * @example
 * const openAIConnectionKeys = [...providerConnectionKeys, 'organization', 'project'] as const
 */
export const providerConnectionKeys = Object.freeze([
  'client',
  'apiKey',
  'baseURL',
  'headers',
  'maxResponseBytes',
  'transport',
] as const satisfies ReadonlyArray<keyof ProviderConnectionOptions | 'client'>)
