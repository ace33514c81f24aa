import type { StandardSchemaV1 } from '@tinyllm/core'
import {
  type LLMCallOutputMode,
  ProviderChat,
  type ProviderChatDefinition,
  type ProviderChatOptions,
} from '@tinyllm/llm'
import { AnthropicChatModel, type AnthropicChatModelOptions } from './anthropic-chat-model.js'
import { type AnthropicClientOptions, anthropicConnectionKeys } from './anthropic-client-options.js'

/**
 * Options of {@link AnthropicChat}, the same as OpenAIChat's so that swapping providers is changing the constructor:
 * the Claude model id, any call settings (`maxTokens`, `stop`, `tools`, …), a client or how to reach the API, and the
 * LLMCall options (`retry`, `rateLimiter`, `prices`, `output`, `structuredOutput`, timeouts). `name` defaults to
 * `AnthropicChat`. An option it does not know (`max_tokens`, `top_k`, a typo) is a ConfigurationError that suggests the
 * right name.
 */
export type AnthropicChatOptions<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> = ProviderChatOptions<Mode, Schema, AnthropicClientOptions>

/** How {@link AnthropicChat} builds its chat model from its options. */
const anthropicChat: ProviderChatDefinition<AnthropicChatModelOptions, AnthropicChatModel> = {
  defaultName: 'AnthropicChat',
  connectionKeys: anthropicConnectionKeys,
  createModel: (options) => new AnthropicChatModel(options),
}

/**
 * An LLMCall bound to Anthropic's Messages API through the official `@anthropic-ai/sdk`: retries of what is
 * retryable (429 after its `retry-after`, 5xx and 529, dropped connections) happen here and never in the SDK, usage
 * and cost are recorded on the run tree, and structured output, streaming and tool calls work as with any LLMCall.
 * Settings Anthropic cannot honour (`n > 1`, `temperature`, `topP`, `seed`, penalties, a blank `stop` sequence) are a ConfigurationError here,
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
> extends ProviderChat<Mode, Schema, AnthropicChatModel> {
  override readonly kind: string = 'anthropic-chat'

  constructor(options: AnthropicChatOptions<Mode, Schema>) {
    super(options, anthropicChat)
  }
}
