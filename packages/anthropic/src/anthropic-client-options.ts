import type Anthropic from '@anthropic-ai/sdk'
import type { ClientOptions, ExistingClientOptions } from '@tinyllm/llm'

/** How to reach Anthropic (or an Anthropic-compatible server) when tinyllm creates the SDK client itself. */
export interface AnthropicConnectionOptions {
  /** API key; default: the `ANTHROPIC_API_KEY` environment variable, read at the first call. */
  readonly apiKey?: string | undefined
  /** Base URL of an Anthropic-compatible API (the loopback server's `baseURL`, a proxy), without `/v1`; default: Anthropic's, or `ANTHROPIC_BASE_URL`. */
  readonly baseURL?: string | undefined
  /** Headers sent with every request, e.g. `{ 'anthropic-version': '2023-06-01' }` for an older API version. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Largest response body read, in bytes (a stream counts whole); bigger bodies fail with a ProviderCallError. Default 8 MiB. */
  readonly maxResponseBytes?: number | undefined
}

/** Use an SDK client you built; tinyllm still sends every request with `maxRetries: 0` (it owns retries). */
export type AnthropicExistingClientOptions = ExistingClientOptions<Anthropic, AnthropicConnectionOptions>

/** Either an existing SDK client or the options to create one. */
export type AnthropicClientOptions = ClientOptions<Anthropic, AnthropicConnectionOptions>

/** The names of {@link AnthropicClientOptions}, for the shared option checks. */
export const anthropicConnectionKeys = [
  'client',
  'apiKey',
  'baseURL',
  'headers',
  'maxResponseBytes',
] as const satisfies ReadonlyArray<keyof AnthropicConnectionOptions | 'client'>
