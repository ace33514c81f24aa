export { LLMCall } from '@tinyllm/llm'
export { OpenAIChat, type OpenAIChatOptions } from './openai-chat.js'
export { OpenAIChatModel, type OpenAIChatModelOptions } from './openai-chat-model.js'
export type {
  OpenAIClientOptions,
  OpenAIConnectionOptions,
  OpenAIExistingClientOptions,
} from './openai-client-options.js'
export {
  OpenAIAssistantMessage,
  OpenAIPromptTemplate,
  OpenAISystemMessage,
  OpenAIUserMessage,
} from './openai-prompts.js'
