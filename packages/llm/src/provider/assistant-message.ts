import type { AssistantMessage, ToolCall } from '../chat-model.js'

/**
 * The assistant message of one choice, the same for every provider and whether streamed or not: an answer with no tool
 * calls always has text (`''` when the model said nothing, where a server may send `null` or no text block at all); one
 * with tool calls has the text it came with, or `null`.
 */
export function toAssistantMessage(
  text: string | null | undefined,
  toolCalls: ReadonlyArray<ToolCall>,
): AssistantMessage {
  if (toolCalls.length === 0) return { role: 'assistant', content: text ?? '' }
  return { role: 'assistant', content: text ?? null, toolCalls }
}
