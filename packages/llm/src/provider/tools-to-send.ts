import { optionError } from '@tinyllm/core'
import type { ChatRequest, ToolChoice, ToolDefinition } from '../chat-model.js'

/**
 * The tools and tool choice a provider sends for `request`: the tools when there are any, and the tool choice with
 * them. Without tools, `auto` and `none` ask for nothing a model could do, and the APIs refuse a `tool_choice` then, so
 * it is left out; `required` or a tool's name is sent, for the provider to refuse as it does. A `request` that is not an
 * object, or `tools` that are not a list, is a `ConfigurationError`.
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
  const toolChoice = tools === undefined && (choice === 'auto' || choice === 'none') ? undefined : choice
  return { tools, toolChoice }
}
