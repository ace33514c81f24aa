export type { OpenAICompatibleServer, OpenAICompatibleServerOptions } from './openai-compatible-server.js'
export { startOpenAICompatibleServer } from './openai-compatible-server.js'
export type { OpenAIErrorBody } from './openai-error-body.js'
export { openAIErrorBody } from './openai-error-body.js'
export type {
  ErrorReply,
  FinishReason,
  MultipleChoiceReply,
  ReplyContext,
  ReplyFunction,
  ReplySource,
  ScriptedChoice,
  ScriptedReply,
  ScriptedToolCall,
  ScriptedUsage,
  SingleChoiceReply,
} from './scripted-reply.js'
export { estimateTokens } from './token-estimate.js'
