import type { StandardSchemaV1 } from '@tinyllm/core'
import {
  type ChatSettings,
  LLMCall,
  type LLMCallOptions,
  type LLMCallOutputMode,
  splitChatSettings,
} from '@tinyllm/llm'
import { AnthropicChatModel, type AnthropicChatModelOptions } from './anthropic-chat-model.js'
import type { AnthropicClientOptions } from './anthropic-client-options.js'
import { assertSupportedSettings } from './anthropic-request.js'

/** The call settings AnthropicChat takes at the top level of its options (the model id is `model`). */
type AnthropicChatSettings = Omit<ChatSettings, 'model'>

/**
 * Options of {@link AnthropicChat}, shaped like OpenAIChat's so that swapping providers is changing the constructor:
 * the Claude model id, any call settings (`maxTokens`, `stop`, `tools`, …), a client or how to reach the API, and the
 * LLMCall options (`retry`, `rateLimiter`, `prices`, `output`, `structuredOutput`, timeouts). `name` defaults to
 * `AnthropicChat`.
 */
export type AnthropicChatOptions<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> = Omit<LLMCallOptions<Mode, Schema>, 'model' | 'settings' | 'name'> &
  AnthropicChatSettings &
  AnthropicClientOptions & {
    /** Shown in errors, logs, events and run trees. Default `AnthropicChat`. */
    readonly name?: string | undefined
    /** The Claude model id, e.g. `claude-haiku-4-5`; an input's `model` overrides it for one call. */
    readonly model: string
    /** Limit on one HTTP request, in ms, enforced by the SDK. Prefer `attemptTimeoutMs`, which also covers streams. */
    readonly requestTimeoutMs?: number | undefined
  }

/**
 * An {@link LLMCall} bound to Anthropic's Messages API through the official `@anthropic-ai/sdk`: retries of what is
 * retryable (429 after its `retry-after`, 5xx and 529, dropped connections) happen here and never in the SDK, usage
 * and cost are recorded on the run tree, and structured output, streaming and tool calls work as with any LLMCall.
 * Settings Anthropic cannot honour (`n > 1`, `temperature`, `topP`, `seed`, penalties) are a ConfigurationError here,
 * at construction. Invoke it with `{ messages }`, which is what a prompt template returns.
 *
 * Without `apiKey`, the key is read from `ANTHROPIC_API_KEY` at the first call. Pass `baseURL` for the loopback server
 * of `@tinyllm/anthropic/testing` or a proxy, or an SDK `client` you configured yourself.
 *
 * @example
 * const chat = new AnthropicChat({ model: 'claude-haiku-4-5', maxTokens: 512 })
 * const answer = await chat.invoke({ messages: [{ role: 'user', content: 'Say hi' }] }) // 'Hi!'
 */
export class AnthropicChat<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> extends LLMCall<Mode, Schema> {
  override readonly kind: string = 'anthropic-chat'
  /** The chat model behind this call; its SDK client is created at the first call. */
  declare readonly model: AnthropicChatModel

  constructor(options: AnthropicChatOptions<Mode, Schema>) {
    super(toLLMCallOptions(options))
  }
}

function toLLMCallOptions<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1>(
  options: AnthropicChatOptions<Mode, Schema>,
): LLMCallOptions<Mode, Schema> {
  const { name, model, client, apiKey, baseURL, headers, maxResponseBytes, requestTimeoutMs, ...rest } = options
  const functionName = name ?? 'AnthropicChat'
  const split = splitChatSettings(rest)
  const settings: ChatSettings = { ...split.settings, model }
  const callOptions = split.rest
  assertSupportedSettings(settings, functionName)
  const connection = client === undefined ? { apiKey, baseURL, headers, maxResponseBytes } : { client }
  const modelOptions = { model, timeoutMs: requestTimeoutMs, ...connection } as AnthropicChatModelOptions
  return {
    ...(callOptions as Omit<LLMCallOptions<Mode, Schema>, 'model' | 'settings' | 'name'>),
    name: functionName,
    model: new AnthropicChatModel(modelOptions),
    settings,
  }
}
