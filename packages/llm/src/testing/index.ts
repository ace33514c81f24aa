export {
  ScriptedChatModel,
  type ScriptedChatModelOptions,
  type ScriptedReply,
  type ScriptedResponder,
} from './scripted-chat-model.js'
