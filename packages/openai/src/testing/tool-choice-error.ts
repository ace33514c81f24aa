import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/** The modes a string `tool_choice` can name. */
const toolChoiceModes: ReadonlySet<unknown> = new Set(['none', 'auto', 'required'])

/**
 * What OpenAI answers a `tool_choice` it cannot take, worded as OpenAI words it, or `undefined`: a string other than
 * `none`, `auto` or `required` (Anthropic's `any`, say), a `tool_choice` without `tools` (absent or empty), and a
 * function named in `{ type: 'function', function: { name } }` that no function tool in `tools` has (`none` too: any
 * `tool_choice`).
 */
export function toolChoiceError(body: ChatCompletionCreateParams): ErrorReply['error'] | undefined {
  const choice = body.tool_choice
  if (choice === undefined || choice === null) return undefined
  if (typeof choice === 'string' && !toolChoiceModes.has(choice)) {
    return invalid(`Invalid value: '${choice}'. Supported values are: 'none', 'auto', and 'required'.`, 'invalid_value')
  }
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

function invalid(message: string, code: string | null = null): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param: 'tool_choice', code }
}
