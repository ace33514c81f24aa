export { type ChatModelConformanceAdapter, describeChatModelConformance } from './chat-model-conformance.js'
export { replyTurnAt, scriptFaults } from './loopback-script.js'
export type {
  ChoicesTurn,
  CutTurn,
  ErrorTurn,
  MalformedTurn,
  ReplyTurn,
  ResetTurn,
  ScriptedFinishReason,
  ScriptedToolCall,
  ScriptedTurn,
  ScriptedUsage,
  StallTurn,
  TextTurn,
  ToolCallsTurn,
} from './scripted-turn.js'
export type { WireMessage, WireRequest, WireToolCall } from './wire-request.js'
