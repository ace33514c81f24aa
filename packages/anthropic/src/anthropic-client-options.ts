import type Anthropic from '@anthropic-ai/sdk'
import {
  type ClientOptions,
  type ExistingClientOptions,
  type ProviderConnectionOptions,
  providerConnectionKeys,
} from '@tinyllm/llm'

/**
 * How to reach Anthropic (or an Anthropic-compatible server) when tinyllm creates the SDK client itself: the options
 * every provider takes. The API key defaults to `ANTHROPIC_API_KEY`; `baseURL` (default: Anthropic's, or
 * `ANTHROPIC_BASE_URL`) goes without `/v1`, which the SDK adds; `headers` can pin an older API version, e.g.
 * `{ 'anthropic-version': '2023-06-01' }`.
 */
export interface AnthropicConnectionOptions extends ProviderConnectionOptions {}

/** Use an SDK client you built; tinyllm still sends every request with `maxRetries: 0` (it owns retries). */
export type AnthropicExistingClientOptions = ExistingClientOptions<Anthropic, AnthropicConnectionOptions>

/** Either an existing SDK client or the options to create one. */
export type AnthropicClientOptions = ClientOptions<Anthropic, AnthropicConnectionOptions>

/** The names of {@link AnthropicClientOptions}, for the shared option checks. */
export const anthropicConnectionKeys = providerConnectionKeys
