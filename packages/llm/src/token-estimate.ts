import type { ChatRequest } from './chat-model.js'

/** Characters per token assumed by the estimate: a little pessimistic for English, so budgets err on the safe side. */
const charactersPerToken = 3
/** Per-message framing tokens most chat formats add. */
const tokensPerMessage = 4

/**
 * A quick, tokenizer-free estimate of a request's input tokens (about 3 characters per token, plus message framing,
 * tool calls and tool definitions), used for budget checks and rate-limit reservations before a call is sent. Real usage
 * from the provider replaces it afterwards. Pass `estimateInputTokens` to LLMCall for an exact tokenizer.
 */
export function estimateInputTokens(request: ChatRequest): number {
  let characters = 0
  let messages = 0
  for (const message of request.messages) {
    messages += 1
    if (typeof message.content === 'string') characters += message.content.length
    if (message.role === 'assistant' && message.toolCalls !== undefined) {
      for (const call of message.toolCalls) characters += call.name.length + call.arguments.length
    }
  }
  if (request.tools !== undefined) {
    for (const tool of request.tools) {
      characters += tool.name.length + (tool.description?.length ?? 0) + jsonLength(tool.parameters)
    }
  }
  if (request.responseFormat?.type === 'json_schema') characters += jsonLength(request.responseFormat.schema)
  return Math.ceil(characters / charactersPerToken) + messages * tokensPerMessage + 3
}

function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0
  } catch {
    return 0
  }
}
