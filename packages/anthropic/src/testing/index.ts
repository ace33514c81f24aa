export type { AnthropicCompatibleServer, AnthropicCompatibleServerOptions } from './anthropic-compatible-server.js'
export { startAnthropicCompatibleServer } from './anthropic-compatible-server.js'
export type { AnthropicErrorBody } from './anthropic-error-body.js'
export { anthropicErrorBody, anthropicErrorType } from './anthropic-error-body.js'
export type { MessageEventOptions } from './message-events.js'
export { toMessageEvents } from './message-events.js'
export type { ResolvedMessage } from './resolved-message.js'
export { estimateTokens, resolveMessage, thinkingSignature } from './resolved-message.js'
export type {
  ErrorReply,
  MessageReply,
  ReplyContext,
  ReplyFunction,
  ReplySource,
  ScriptedReply,
  ScriptedThinking,
  ScriptedToolUse,
  ScriptedUsage,
} from './scripted-reply.js'
