import Anthropic from '@anthropic-ai/sdk'
import type { MessageCreateParamsNonStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import { abortErrorFor, checkNumber } from '@tinyllm/core'
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResult, ChatSettings, ChatStreamPart } from '@tinyllm/llm'
import {
  checkChatModelOptions,
  maxTokensRule,
  type ProviderChatModelOptions,
  ProviderClient,
  prepareTransport,
  restoreStrictAnswers,
  sdkRequestOptions,
  streamProviderParts,
} from '@tinyllm/llm'
import { type AnthropicClientOptions, anthropicConnectionKeys } from './anthropic-client-options.js'
import { anthropicProfile } from './anthropic-profile.js'
import { assertSupportedSettings, providerToolNames, toMessageCreateParams } from './anthropic-request.js'
import { toChatResult } from './anthropic-response.js'
import { MessageStreamAssembler } from './anthropic-stream.js'

/** `max_tokens` sent when a request sets no `maxTokens` (Anthropic requires one). */
export const defaultAnthropicMaxTokens = 4096

/**
 * What an estimate counts for the system prompt Anthropic adds to a request that sends tools: more than the largest
 * figure its documentation lists (530 tokens, Claude 3 Opus with `tool_choice: auto`).
 */
const toolUseSystemPromptTokens = 600

/** The SDK's own limit on one HTTP request, a last resort under tinyllm's time limits: 10 minutes. */
const sdkTimeoutMs = 600_000

/** Options of {@link AnthropicChatModel}: the default model, `max_tokens`, and a client or how to create one. */
export type AnthropicChatModelOptions = ProviderChatModelOptions<AnthropicClientOptions> & {
  /** `max_tokens` for requests that set no `maxTokens`. Default {@link defaultAnthropicMaxTokens}. */
  readonly maxTokens?: number | undefined
}

const owner = 'AnthropicChatModel'

/**
 * Anthropic's Messages API as a tinyllm {@link ChatModel}, over the official `@anthropic-ai/sdk` (API version
 * 2026-10-21). System messages go to the `system` field, tool calls and results to `tool_use`/`tool_result` blocks, a
 * JSON-schema response format to `output_config.format`; `max_tokens` is always sent. Settings the API does not accept
 * (`n > 1`, `temperature`, `topP`, `seed`, penalties, `json_object`, a blank `stop` sequence) are a {@link @tinyllm/core!ConfigurationError} before anything
 * is sent. The SDK's own retries are off, so the calling Function's retry policy is the only one. The SDK client is
 * created at the first call, so a missing `ANTHROPIC_API_KEY` is an error of that call, not of the import. The API key
 * and any credentials in the base URL are redacted from tinyllm's errors and logs for as long as the model lives.
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
  /** `max_tokens` sent with a request that sets no `maxTokens`; LLMCall's estimate counts it. */
  readonly defaultMaxTokens: number
  readonly #sdk: ProviderClient<Anthropic>

  constructor(options: AnthropicChatModelOptions) {
    options = checkChatModelOptions(options, anthropicConnectionKeys, owner, ['maxTokens'])
    prepareTransport(options)
    this.modelId = options.model
    this.defaultMaxTokens =
      checkNumber(options.maxTokens, 'maxTokens', maxTokensRule, owner) ?? defaultAnthropicMaxTokens
    // An explicit timeout also skips the SDK's refusal of non-streamed calls with a large max_tokens: tinyllm's
    // timeouts decide how long a call may take.
    this.#sdk = new ProviderClient(
      anthropicProfile,
      options,
      (common) => new Anthropic({ ...common, timeout: sdkTimeoutMs }),
    )
  }

  /** Refuses settings Anthropic's Messages API cannot honour (`n > 1`, `temperature`, `seed`…), naming `owner`. */
  checkSettings(settings: ChatSettings, owner: string): void {
    assertSupportedSettings(settings, owner)
  }

  /**
   * The tool-use system prompt Anthropic adds to a request that sends tools (its own or through providerOptions), and
   * bills as input: 159 to 530 tokens by model and tool choice in its documentation (tool use pricing), so 600 for any.
   */
  addedInputTokens(request: ChatRequest): number {
    if (request.tools !== undefined && request.tools.length > 0) return toolUseSystemPromptTokens
    // Tools sent through providerOptions (web search, bash…) bring the prompt all the same.
    const extraTools = (request.providerOptions?.anthropic as { tools?: unknown } | undefined)?.tools
    return Array.isArray(extraTools) && extraTools.length > 0 ? toolUseSystemPromptTokens : 0
  }

  /**
   * The tools `providerOptions.anthropic.tools` offers beside the request's own, so that a call of `bash` offered
   * there is taken as a call of a tool offered. Called by the framework.
   */
  providerToolNames(request: ChatRequest): ReadonlyArray<string> {
    return providerToolNames(request)
  }

  /**
   * Sends one Messages request (never retried here) and returns its choice, usage and the request id (the `request-id`
   * header, else the message's `id`). Rejects with a typed tinyllm error; cancelling the call closes the HTTP request.
   * Called by the framework.
   */
  async doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    const sdk = this.#sdk
    const cancelled = sdk.cancellation(options)
    if (cancelled !== undefined) throw cancelled
    let pending: unknown
    try {
      // Inside the try: a request that cannot be read (a getter that throws) fails as one that could not be sent.
      const body = this.#body(request)
      const call = sdk.client.messages.create(body, sdk.requestOptions(options))
      pending = call
      const { data, request_id, response } = await call.withResponse()
      const result = toChatResult(data, request_id || response.headers.get('x-request-id') || undefined)
      return restoreStrictAnswers(result, request, anthropicProfile)
    } catch (error) {
      return sdk.rejectCall(pending, error, options)
    }
  }

  /**
   * Streams one Messages request: text and tool-call deltas, then one `finish` part with the assembled result, the same
   * as the call would have returned without streaming; `options.onActivity` hears of every event the SDK hands on (a
   * server tool's progress included; it keeps `ping`s to itself). Called by the framework.
   */
  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const { signal: outer, onActivity } = this.#sdk.streamOptions(options)
    if (outer?.aborted) throw abortErrorFor(outer)
    yield* streamProviderParts<RawMessageStreamEvent>({
      signal: outer,
      onActivity,
      // The body is built here, so that a request that cannot be read fails as one that could not be sent.
      open: async (signal) => {
        const { data, request_id, response } = await this.#sdk.client.messages
          .create({ ...this.#body(request), stream: true }, sdkRequestOptions(signal))
          .withResponse()
        return {
          events: data[Symbol.asyncIterator](),
          requestId: request_id || response.headers.get('x-request-id') || undefined,
        }
      },
      toError: (error, signal, answered) => this.#sdk.toError(error, signal, answered),
      createAssembler: (requestId) => new MessageStreamAssembler(requestId),
      complete: (result) => restoreStrictAnswers(result, request, anthropicProfile),
    })
  }

  #body(request: ChatRequest): MessageCreateParamsNonStreaming {
    return toMessageCreateParams(request, { model: this.modelId, maxTokens: this.defaultMaxTokens })
  }
}
