import type { ClientOptions, ExistingClientOptions } from '@tinyllm/llm'
import type { OpenAI } from 'openai'

/** How to reach OpenAI (or any OpenAI-compatible server) when tinyllm creates the SDK client itself. */
export interface OpenAIConnectionOptions {
  /** API key; default: the `OPENAI_API_KEY` environment variable, read at the first call. */
  readonly apiKey?: string | undefined
  /** Base URL of an OpenAI-compatible API (Azure, vLLM, Ollama, LM Studio, the loopback server); default: OpenAI's, or `OPENAI_BASE_URL`. */
  readonly baseURL?: string | undefined
  /** OpenAI organization id; default: `OPENAI_ORG_ID`. */
  readonly organization?: string | undefined
  /** OpenAI project id; default: `OPENAI_PROJECT_ID`. */
  readonly project?: string | undefined
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Largest response body read, in bytes (a stream counts whole); bigger bodies fail with a ProviderCallError. Default 8 MiB. */
  readonly maxResponseBytes?: number | undefined
}

/** Use an SDK client you built; tinyllm still sends every request with `maxRetries: 0` (it owns retries). */
export type OpenAIExistingClientOptions = ExistingClientOptions<OpenAI, OpenAIConnectionOptions>

/** Either an existing SDK client or the options to create one. */
export type OpenAIClientOptions = ClientOptions<OpenAI, OpenAIConnectionOptions>

/** The names of {@link OpenAIClientOptions}, for the shared option checks. */
export const openAIConnectionKeys = [
  'client',
  'apiKey',
  'baseURL',
  'organization',
  'project',
  'headers',
  'maxResponseBytes',
] as const satisfies ReadonlyArray<keyof OpenAIConnectionOptions | 'client'>
