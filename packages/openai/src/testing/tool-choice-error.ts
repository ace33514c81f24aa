import type { ChatCompletionCreateParams, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/** The modes a string `tool_choice` can name. */
const toolChoiceModes: ReadonlySet<unknown> = new Set(['none', 'auto', 'required'])

/**
 * What OpenAI answers a `tool_choice` it cannot take, worded as OpenAI words it, or `undefined`: a string other than
 * `none`, `auto` or `required` (Anthropic's `any`, say), an object of no shape the API has (Anthropic's
 * `{ type: 'tool', name }`, a function's name beside its `type`), a `tool_choice` without `tools` (absent or empty; `none`
 * too: any `tool_choice`), and a function named in `{ type: 'function', function: { name } }` (or a custom tool in
 * `{ type: 'custom', custom: { name } }`) that no tool of that type in `tools` has.
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
  if (typeof choice !== 'object' || choice.type === 'allowed_tools') return undefined
  // A named function or custom tool must be one `tools` offers, of that type.
  const type = choice.type as 'function' | 'custom'
  const name = nameIn(choice, type)
  if (tools.some((tool) => tool.type === type && nameIn(tool, type) === name)) return undefined
  const named = type === 'function' ? 'function' : 'custom tool'
  return invalid(
    `Invalid value for 'tool_choice': no ${named} named '${String(name)}' was specified in the 'tools' parameter.`,
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
 * Whether `choice` has the shape of one of the object forms: a known `type`, and the object its type is named after
 * (`{ type: 'function', function: { name } }`, `{ type: 'custom', custom: { name } }`, `{ type: 'allowed_tools',
 * allowed_tools: { mode, tools } }`); `{ type: 'function', name }` has not.
 */
function isToolChoiceObject(choice: unknown): choice is Record<string, unknown> {
  if (!isRecord(choice)) return false
  const { type } = choice
  return toolChoiceTypes.has(type) && isRecord(choice[type as string])
}

/** The `name` of the object `type` names in `choice` or a tool (`function.name`, `custom.name`). */
function nameIn(value: unknown, type: string): unknown {
  const named = isRecord(value) ? value[type] : undefined
  return isRecord(named) ? named.name : undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
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
