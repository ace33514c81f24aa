import Anthropic from '@anthropic-ai/sdk'
import type { MessageCreateParamsNonStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import { abortErrorFor, ConfigurationError } from '@tinyllm/core'
import {
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  defaultMaxResponseBytes,
  limitResponseSize,
  readEnvironment,
  resolveApiKey,
  streamProviderParts,
} from '@tinyllm/llm'
import { registerSecret } from '@tinyllm/logger'
import type { AnthropicClientOptions } from './anthropic-client-options.js'
import { toTinyLLMError } from './anthropic-error.js'
import { toMessageCreateParams } from './anthropic-request.js'
import { toChatResult } from './anthropic-response.js'
import { MessageStreamAssembler } from './anthropic-stream.js'

/** `max_tokens` sent when a request sets no `maxTokens` (Anthropic requires one). */
export const defaultAnthropicMaxTokens = 4096

/** The SDK's own limit on one HTTP request, used unless `timeoutMs` says otherwise: 10 minutes. */
const defaultTimeoutMs = 600_000

/** Options of {@link AnthropicChatModel}: the default model, `max_tokens`, and a client or how to create one. */
export type AnthropicChatModelOptions = AnthropicClientOptions & {
  /** Default model id, e.g. `claude-haiku-4-5`; a request's `model` overrides it. */
  readonly model: string
  /** `max_tokens` for requests that set no `maxTokens`. Default {@link defaultAnthropicMaxTokens}. */
  readonly maxTokens?: number | undefined
  /** Limit on one HTTP request, in ms, enforced by the SDK (one attempt; tinyllm retries). Default 600,000. */
  readonly timeoutMs?: number | undefined
}

type RequestOptions = NonNullable<Parameters<Anthropic['messages']['create']>[1]>

const connectionOptionNames = ['apiKey', 'baseURL', 'headers', 'maxResponseBytes'] as const

/**
 * Anthropic's Messages API as a tinyllm {@link ChatModel}, over the official `@anthropic-ai/sdk` (API version
 * 2026-10-21). System messages go to the `system` field, tool calls and results to `tool_use`/`tool_result` blocks, a
 * JSON-schema response format to `output_config.format`; `max_tokens` is always sent. Settings the API does not accept
 * (`n > 1`, `temperature`, `topP`, `seed`, penalties, `json_object`) are a {@link ConfigurationError} before anything
 * is sent. The SDK's own retries are off, so the calling Function's retry policy is the only one. The SDK client is
 * created at the first call, so a missing `ANTHROPIC_API_KEY` is an error of that call, not of the import.
 *
 * You rarely call it directly: {@link AnthropicChat} wraps it in an LLMCall with retries, rate limits and cost.
 *
 * @example
 * const model = new AnthropicChatModel({ model: 'claude-haiku-4-5', baseURL: server.baseURL, apiKey: 'test' })
 * const result = await model.doGenerate({ messages: [{ role: 'user', content: 'Hello' }] })
 */
export class AnthropicChatModel implements ChatModel {
  readonly specificationVersion = 'v1' as const
  readonly provider = 'anthropic'
  readonly modelId: string
  readonly #options: AnthropicChatModelOptions
  readonly #maxTokens: number
  readonly #timeoutMs: number
  #client: Anthropic | undefined

  constructor(options: AnthropicChatModelOptions) {
    if (typeof options?.model !== 'string' || options.model.trim() === '') {
      throw new ConfigurationError({
        option: 'model',
        message: 'an Anthropic model id is required, e.g. "claude-haiku-4-5"',
      })
    }
    if (options.client !== undefined) {
      const clash = connectionOptionNames.find((name) => options[name] !== undefined)
      if (clash !== undefined) {
        throw new ConfigurationError({
          option: clash,
          message: 'cannot be combined with `client`: configure the client you pass instead',
        })
      }
    }
    const maxTokens = options.maxTokens ?? defaultAnthropicMaxTokens
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new ConfigurationError({ option: 'maxTokens', message: `must be an integer ≥ 1, got ${maxTokens}` })
    }
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigurationError({ option: 'timeoutMs', message: `must be a number of ms > 0, got ${timeoutMs}` })
    }
    const { maxResponseBytes } = options
    if (maxResponseBytes !== undefined && !(Number.isInteger(maxResponseBytes) && maxResponseBytes > 0)) {
      throw new ConfigurationError({
        option: 'maxResponseBytes',
        message: `must be an integer > 0, got ${maxResponseBytes}`,
      })
    }
    this.modelId = options.model
    this.#options = options
    this.#maxTokens = maxTokens
    this.#timeoutMs = timeoutMs
    this.#client = options.client
    // The key of a client you pass is scrubbed from tinyllm's errors and logs like one tinyllm read itself.
    if (typeof options.client?.apiKey === 'string') registerSecret(options.client.apiKey)
  }

  async doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    const signal = options?.signal
    const body = this.#body(request)
    if (signal?.aborted) throw abortErrorFor(signal)
    const client = this.#getClient()
    try {
      const { data, request_id, response } = await client.messages
        .create(body, this.#requestOptions(signal))
        .withResponse()
      return toChatResult(data, request_id ?? response.headers.get('x-request-id') ?? undefined)
    } catch (error) {
      throw toTinyLLMError(error, signal)
    }
  }

  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const outer = options?.signal
    const body = this.#body(request)
    if (outer?.aborted) throw abortErrorFor(outer)
    const client = this.#getClient()
    yield* streamProviderParts<RawMessageStreamEvent>({
      signal: outer,
      idleTimeoutMs: options?.idleTimeoutMs,
      open: async (signal) => {
        const { data, request_id, response } = await client.messages
          .create({ ...body, stream: true }, this.#requestOptions(signal))
          .withResponse()
        return {
          events: data[Symbol.asyncIterator](),
          requestId: request_id ?? response.headers.get('x-request-id') ?? undefined,
        }
      },
      toError: toTinyLLMError,
      createAssembler: (requestId) => new MessageStreamAssembler(requestId),
    })
  }

  #body(request: ChatRequest): MessageCreateParamsNonStreaming {
    return toMessageCreateParams(request, { model: this.modelId, maxTokens: this.#maxTokens })
  }

  #requestOptions(signal: AbortSignal | undefined): RequestOptions {
    // An explicit timeout also skips the SDK's refusal of non-streamed calls with a large max_tokens: tinyllm's
    // timeouts decide how long a call may take.
    const options: RequestOptions = { maxRetries: 0, timeout: this.#timeoutMs }
    if (signal !== undefined) options.signal = signal
    return options
  }

  #getClient(): Anthropic {
    if (this.#client !== undefined) return this.#client
    const options = this.#options
    const apiKey = resolveApiKey({ apiKey: options.apiKey, variable: 'ANTHROPIC_API_KEY', provider: 'Anthropic' })
    const client = new Anthropic({
      apiKey,
      baseURL: options.baseURL,
      defaultHeaders: options.headers,
      maxRetries: 0,
      timeout: this.#timeoutMs,
      fetch: limitResponseSize(globalThis.fetch, options.maxResponseBytes ?? defaultMaxResponseBytes, 'anthropic', [
        'request-id',
        'x-request-id',
      ]),
      // tinyllm reports failures as typed errors and through its own logger; ANTHROPIC_LOG still turns SDK logs on.
      logLevel: readEnvironment('ANTHROPIC_LOG') === undefined ? 'off' : undefined,
    })
    this.#client = client
    return client
  }
}
