import type Anthropic from '@anthropic-ai/sdk'

/** How to reach Anthropic (or an Anthropic-compatible server) when tinyllm creates the SDK client itself. */
export interface AnthropicConnectionOptions {
  /** API key; default: the `ANTHROPIC_API_KEY` environment variable, read at the first call. */
  readonly apiKey?: string | undefined
  /** Base URL of an Anthropic-compatible API (the loopback server's `baseURL`, a proxy); default: Anthropic's, or `ANTHROPIC_BASE_URL`. */
  readonly baseURL?: string | undefined
  /** Headers sent with every request, e.g. `{ 'anthropic-version': '2023-06-01' }` for an older API version. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Largest response body read, in bytes (a stream counts whole); bigger bodies fail with a ProviderCallError. Default 8 MiB. */
  readonly maxResponseBytes?: number | undefined
}

/** Use an SDK client you built; tinyllm still sends every request with `maxRetries: 0` (it owns retries). */
export interface AnthropicExistingClientOptions {
  readonly client: Anthropic
  readonly apiKey?: never
  readonly baseURL?: never
  readonly headers?: never
  readonly maxResponseBytes?: never
}

/** Either an existing SDK client or the options to create one. */
export type AnthropicClientOptions =
  | AnthropicExistingClientOptions
  | (AnthropicConnectionOptions & { readonly client?: undefined })
