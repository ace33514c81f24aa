export { OpenAIChatModel, type OpenAIChatModelOptions } from './openai-chat-model.js'
export type {
  OpenAIClientOptions,
  OpenAIConnectionOptions,
  OpenAIExistingClientOptions,
} from './openai-client-options.js'
export { retryAfterMs } from './retry-after.js'
