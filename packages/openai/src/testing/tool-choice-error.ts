import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/**
 * What OpenAI answers a `tool_choice` that asks for a tool it was not offered, worded as OpenAI words it, or
 * `undefined`: a `tool_choice` without `tools` (absent or empty), and a function named in
 * `{ type: 'function', function: { name } }` that no function tool in `tools` has (`none` too: any `tool_choice`).
 */
export function toolChoiceError(body: ChatCompletionCreateParams): ErrorReply['error'] | undefined {
  const choice = body.tool_choice
  if (choice === undefined || choice === null) return undefined
  const tools = Array.isArray(body.tools) ? body.tools : []
  if (tools.length === 0) {
    return invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.")
  }
  if (typeof choice !== 'object' || choice.type !== 'function') return undefined
  const name = choice.function?.name
  if (tools.some((tool) => tool.type === 'function' && tool.function?.name === name)) return undefined
  return invalid(
    `Invalid value for 'tool_choice': no function named '${String(name)}' was specified in the 'tools' parameter.`,
  )
}

function invalid(message: string): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param: 'tool_choice', code: null }
}
