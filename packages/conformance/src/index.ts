export { type ChatModelConformanceAdapter, describeChatModelConformance } from './chat-model-conformance.js'
export { replyTurnAt, stallFaults } from './loopback-script.js'
export type {
  ChoicesTurn,
  ErrorTurn,
  ReplyTurn,
  ScriptedToolCall,
  ScriptedTurn,
  ScriptedUsage,
  StallTurn,
  TextTurn,
  ToolCallsTurn,
} from './scripted-turn.js'
export type { WireMessage, WireRequest, WireToolCall } from './wire-request.js'
