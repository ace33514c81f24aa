import { optionError } from '@tinyllm/core'
import type { ChatRequest, ToolChoice, ToolDefinition } from '../chat-model.js'

/** What a tool choice may be, for `LLMCall`'s settings and for every provider's request. */
export const toolChoiceShape = {
  expected: "'auto', 'none', 'required' or { name: string }",
  accepts: (value: unknown): boolean =>
    value === 'auto' ||
    value === 'none' ||
    value === 'required' ||
    (typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof (value as { name?: unknown }).name === 'string'),
} as const

/**
 * The tools and tool choice a provider sends for `request`: the tools when there are any, and the tool choice with
 * them. Without tools, `auto` and `none` ask for nothing a model could do, and the APIs refuse a `tool_choice` then, so
 * it is left out; `required` or a tool's name is sent, for the provider to refuse as it does. A `request` that is not an
 * object, `tools` that are not a list, or a `toolChoice` that is none of these, is a `ConfigurationError`.
 */
export function toolsToSend(request: Pick<ChatRequest, 'tools' | 'toolChoice'>): {
  readonly tools: ReadonlyArray<ToolDefinition> | undefined
  readonly toolChoice: ToolChoice | undefined
} {
  if (typeof request !== 'object' || request === null) throw optionError('request', 'an object', request, 'toolsToSend')
  if (request.tools !== undefined && !Array.isArray(request.tools)) {
    throw optionError('tools', 'a list of tool definitions or undefined', request.tools, 'toolsToSend')
  }
  const tools = request.tools !== undefined && request.tools.length > 0 ? request.tools : undefined
  const choice = request.toolChoice
  // Read here, before a provider builds its request from it: `null` or `'any'` (Anthropic's word) would fail there as
  // a request that could not be sent.
  if (choice !== undefined && !toolChoiceShape.accepts(choice))
    throw optionError('toolChoice', toolChoiceShape.expected, choice, 'toolsToSend')
  const toolChoice = tools === undefined && (choice === 'auto' || choice === 'none') ? undefined : choice
  return { tools, toolChoice }
}

/**
 * Refuses tools whose `parameters` are not an object schema, which the providers' APIs answer with a 400: a list, or a
 * schema whose `type` is not `'object'` (`['object', 'null']` included). One without a `type` passes: a provider sends
 * it as an object. `api` names how the provider takes them, for the message (`OpenAI takes a function's parameters`).
 *
 * @example
 * assertObjectParameters(settings.tools, "Anthropic's input_schema is one", name)
 */
export function assertObjectParameters(
  tools: ReadonlyArray<ToolDefinition> | undefined,
  api: string,
  owner: string | undefined,
): void {
  if (!Array.isArray(tools)) return
  for (const [index, tool] of tools.entries()) {
    const parameters: unknown = tool?.parameters
    if (Array.isArray(parameters))
      throw optionError(`tools[${index}].parameters`, `an object schema (${api})`, parameters, owner)
    const type = (parameters as { type?: unknown } | null | undefined)?.type
    if (type !== undefined && type !== 'object')
      throw optionError(`tools[${index}].parameters.type`, `'object' (${api}; wrap the value in one)`, type, owner)
  }
}
