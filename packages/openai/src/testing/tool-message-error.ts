import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/**
 * What OpenAI answers a conversation whose tool turns do not pair up, or `undefined`: an assistant message with
 * `tool_calls` must be followed by a `tool` message for each call id, and a `tool` message must answer a call of the
 * assistant message before it, one not answered yet. Multi-turn tool use (an agent) fails here the way it would against the API.
 */
export function toolMessageError(messages: readonly ChatCompletionMessageParam[]): ErrorReply['error'] | undefined {
  let open: Set<string> | undefined
  // The calls of the open turn answered so far, and where: a second answer is a duplicate, not a stray.
  const answered = new Map<string, number>()
  for (const [index, message] of messages.entries()) {
    if (message.role === 'tool') {
      const first = answered.get(message.tool_call_id)
      if (first !== undefined) {
        return invalid(
          `Invalid parameter: Duplicate value for 'tool_call_id' of '${message.tool_call_id}', in messages[${first}] and messages[${index}].`,
          `messages.[${index}].tool_call_id`,
        )
      }
      if (open === undefined || !open.has(message.tool_call_id)) {
        return invalid(
          `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`,
          `messages.[${index}].role`,
        )
      }
      open.delete(message.tool_call_id)
      answered.set(message.tool_call_id, index)
      continue
    }
    if (open !== undefined && open.size > 0) return unanswered(open)
    open = undefined
    answered.clear()
    // `tool_calls: null` is no calls, as `messageError` reads it.
    if (message.role === 'assistant' && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
      open = new Set(message.tool_calls.map((call) => call.id))
    }
  }
  return open !== undefined && open.size > 0 ? unanswered(open) : undefined
}

function unanswered(open: ReadonlySet<string>): ErrorReply['error'] {
  return invalid(
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open].join(', ')}`,
    'messages',
  )
}

function invalid(message: string, param: string): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param, code: null }
}
