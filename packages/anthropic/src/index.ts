export {
  AnthropicChatModel,
  type AnthropicChatModelOptions,
  defaultAnthropicMaxTokens,
  defaultAnthropicModel,
} from './anthropic-chat-model.js'
