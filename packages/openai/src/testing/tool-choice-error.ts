import type { ChatCompletionCreateParams, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/** The modes a string `tool_choice` can name. */
const toolChoiceModes: ReadonlySet<unknown> = new Set(['none', 'auto', 'required'])

/**
 * What OpenAI answers a `tool_choice` it cannot take, worded as OpenAI words it, or `undefined`: a string other than
 * `none`, `auto` or `required` (Anthropic's `any`, say), an object of no shape the API has (Anthropic's
 * `{ type: 'tool', name }`, a function's name beside its `type`), a `tool_choice` without `tools` (absent or empty), and a
 * function named in `{ type: 'function', function: { name } }` that no function tool in `tools` has (`none` too: any
 * `tool_choice`).
 */
export function toolChoiceError(body: ChatCompletionCreateParams): ErrorReply['error'] | undefined {
  const choice = body.tool_choice as unknown
  if (choice === undefined || choice === null) return undefined
  if (typeof choice === 'string' && !toolChoiceModes.has(choice)) {
    return invalid(`Invalid value: '${choice}'. Supported values are: 'none', 'auto', and 'required'.`, 'invalid_value')
  }
  if (typeof choice !== 'string' && !isToolChoiceObject(choice)) return shapeError()
  const tools = Array.isArray(body.tools) ? body.tools : []
  if (tools.length === 0) {
    return invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.")
  }
  if (typeof choice !== 'object' || choice.type !== 'function') return undefined
  const name = (choice.function as { name?: unknown }).name
  if (tools.some((tool) => tool.type === 'function' && tool.function?.name === name)) return undefined
  return invalid(
    `Invalid value for 'tool_choice': no function named '${String(name)}' was specified in the 'tools' parameter.`,
  )
}

/** The object types of the SDK's `ChatCompletionToolChoiceOption`: a named function, a named custom tool, a subset of tools. */
const toolChoiceTypes: ReadonlySet<unknown> = new Set(
  Object.keys({ function: 0, custom: 0, allowed_tools: 0 } satisfies Record<
    Exclude<ChatCompletionToolChoiceOption, string>['type'],
    0
  >),
)

/**
 * Whether `choice` has the shape of one of the object forms: a known `type`, and a function choice names its function
 * in a `function` object (`{ type: 'function', name }` does not).
 */
function isToolChoiceObject(choice: unknown): choice is Record<string, unknown> {
  if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) return false
  const { type, function: named } = choice as Record<string, unknown>
  if (!toolChoiceTypes.has(type)) return false
  return type !== 'function' || (typeof named === 'object' && named !== null && !Array.isArray(named))
}

/**
 * What OpenAI answers a `tool_choice` of no shape it has, as it words it (Anthropic's `{ type: 'tool', name }`, a name
 * beside `type: 'function'` instead of in `function`, a number): no param, no code.
 */
function shapeError(): ErrorReply['error'] {
  return {
    status: 400,
    message:
      "'$.tool_choice' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
    type: 'invalid_request_error',
    param: null,
    code: null,
  }
}

function invalid(message: string, code: string | null = null): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param: 'tool_choice', code }
}
