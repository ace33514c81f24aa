import {
  type ClientOptions,
  type ExistingClientOptions,
  type ProviderConnectionOptions,
  providerConnectionKeys,
} from '@tinyllm/llm'
import type { OpenAI } from 'openai'

/**
 * How to reach OpenAI (or any OpenAI-compatible server) when tinyllm creates the SDK client itself: the options every
 * provider takes, and OpenAI's organization and project. The API key defaults to `OPENAI_API_KEY`; `baseURL` (default:
 * OpenAI's, or `OPENAI_BASE_URL`) includes `/v1`, as for Azure, vLLM, Ollama, LM Studio or the loopback server.
 */
export interface OpenAIConnectionOptions extends ProviderConnectionOptions {
  /** OpenAI organization id; default: `OPENAI_ORG_ID`. */
  readonly organization?: string | undefined
  /** OpenAI project id; default: `OPENAI_PROJECT_ID`. */
  readonly project?: string | undefined
}

/** Use an SDK client you built; tinyllm still sends every request with `maxRetries: 0` (it owns retries). */
export type OpenAIExistingClientOptions = ExistingClientOptions<OpenAI, OpenAIConnectionOptions>

/** Either an existing SDK client or the options to create one. */
export type OpenAIClientOptions = ClientOptions<OpenAI, OpenAIConnectionOptions>

/** The names of {@link OpenAIClientOptions}, for the shared option checks. */
export const openAIConnectionKeys = [
  ...providerConnectionKeys,
  'organization',
  'project',
] as const satisfies ReadonlyArray<keyof OpenAIConnectionOptions | 'client'>
