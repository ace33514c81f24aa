import { optionError } from '@tinyllm/core'
import type { AssistantMessage, ReasoningPart, ToolCall } from '../chat-model.js'

/**
 * The assistant message of one choice, the same for every provider and whether streamed or not: an answer with no tool
 * calls always has text (`''` when the model said nothing, where a server may send `null` or no text block at all); one
 * with tool calls has the text it came with, or `null`. Reasoning the provider needs back is kept when there is any.
 * Arguments of the wrong kind are a `ConfigurationError`.
 */
export function toAssistantMessage(
  text: string | null | undefined,
  toolCalls: ReadonlyArray<ToolCall>,
  reasoning: ReadonlyArray<ReasoningPart> = [],
): AssistantMessage {
  if (text !== undefined && text !== null && typeof text !== 'string') {
    throw optionError('text', 'a string, null or undefined', text, 'toAssistantMessage')
  }
  if (!Array.isArray(toolCalls))
    throw optionError('toolCalls', 'an array of tool calls', toolCalls, 'toAssistantMessage')
  if (!Array.isArray(reasoning)) {
    throw optionError('reasoning', 'an array of reasoning parts', reasoning, 'toAssistantMessage')
  }
  const message: AssistantMessage =
    toolCalls.length === 0
      ? { role: 'assistant', content: text ?? '' }
      : { role: 'assistant', content: text ?? null, toolCalls }
  return reasoning.length === 0 ? message : { ...message, reasoning }
}
