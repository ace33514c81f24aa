export { AnthropicChat, type AnthropicChatOptions } from './anthropic-chat.js'
export {
  AnthropicChatModel,
  type AnthropicChatModelOptions,
  defaultAnthropicMaxTokens,
} from './anthropic-chat-model.js'
export type {
  AnthropicClientOptions,
  AnthropicConnectionOptions,
  AnthropicExistingClientOptions,
} from './anthropic-client-options.js'
