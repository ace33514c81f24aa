import type { LLMCallOptions, LLMCallOutputMode, StandardSchemaV1 } from '@tinyllm/core'
import { ConfigurationError, LLMCall } from '@tinyllm/core'
import { AnthropicChatModel, type AnthropicChatModelOptions } from './anthropic-chat-model.js'
import type { AnthropicClientOptions } from './anthropic-client-options.js'

/**
 * Options of {@link AnthropicChat}: an LLMCall's options (retry, rate limiter, prices, budget, structured output…),
 * where `model` is an Anthropic model id (or an {@link AnthropicChatModel} you built), plus how to reach Anthropic.
 */
export type AnthropicChatOptions<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> = Omit<LLMCallOptions<Mode, Schema>, 'model' | 'name'> &
  AnthropicClientOptions & {
    /** Shown in errors, logs, events and run trees. Default `AnthropicChat`. */
    readonly name?: string | undefined
    /** A model id such as `claude-haiku-4-5`, or a model you built (then leave the connection options out). */
    readonly model: string | AnthropicChatModel
    /** `max_tokens` for calls whose settings set no `maxTokens`. Default 4096. */
    readonly maxTokens?: number | undefined
  }

/**
 * An LLMCall bound to Anthropic's Messages API: the Function that calls Claude with retries of what is retryable
 * (429 after its `retry-after`, 5xx and 529, connection failures), rate limits, token and cost accounting, budgets,
 * structured output, streaming and tool calls. Swapping providers is changing this one constructor.
 *
 * @example
 * const chat = new AnthropicChat({ model: 'claude-haiku-4-5' }) // key from ANTHROPIC_API_KEY
 * const answer = await chat.invoke({ messages: [{ role: 'user', content: 'Say hello' }] })
 */
export class AnthropicChat<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> extends LLMCall<Mode, Schema> {
  constructor(options: AnthropicChatOptions<Mode, Schema>) {
    super(toLLMCallOptions(options))
  }
}

function toLLMCallOptions<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1>(
  options: AnthropicChatOptions<Mode, Schema>,
): LLMCallOptions<Mode, Schema> {
  const { model, name, client, apiKey, baseURL, headers, maxResponseBytes, maxTokens, ...call } = options
  let chatModel: AnthropicChatModel
  if (typeof model !== 'string') {
    const clash = Object.entries({ client, apiKey, baseURL, headers, maxResponseBytes, maxTokens }).find(
      ([, value]) => value !== undefined,
    )
    if (clash !== undefined) {
      throw new ConfigurationError({
        option: clash[0],
        message: 'cannot be combined with a model instance: configure the AnthropicChatModel you pass instead',
        functionName: name ?? 'AnthropicChat',
      })
    }
    chatModel = model
  } else {
    const connection = (
      client === undefined ? { apiKey, baseURL, headers, maxResponseBytes } : { client }
    ) as AnthropicClientOptions
    const modelOptions: AnthropicChatModelOptions = { ...connection, model, maxTokens }
    chatModel = new AnthropicChatModel(modelOptions)
  }
  return { ...call, name: name ?? 'AnthropicChat', model: chatModel }
}
