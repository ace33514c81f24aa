import type { ErrorReply } from './scripted-reply.js'

/** The roles of `ChatCompletionMessageParam`, the union of the message types OpenAI's API reference lists. */
const roles: ReadonlySet<unknown> = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function'])

/**
 * What OpenAI answers a message it cannot take, worded as OpenAI words it, or `undefined`: a message that is not an
 * object, a role it does not know, `tool_calls` that are not a list of objects or are an empty list, another message without content or with
 * content that is neither a string nor a list of objects, or an assistant message without content, `tool_calls` or
 * `function_call` (its content is "Required unless `tool_calls` or `function_call` is specified").
 */
export function messageError(messages: readonly unknown[]): ErrorReply['error'] | undefined {
  for (const [index, message] of messages.entries()) {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return invalid(
        `Invalid type for 'messages[${index}]': expected an object, but got ${describe(message)} instead.`,
        `messages[${index}]`,
        'invalid_type',
      )
    }
    const { role, content, tool_calls: toolCalls, function_call: functionCall } = message as Record<string, unknown>
    if (!roles.has(role)) {
      return invalid(
        `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${index}].role`,
        'invalid_value',
      )
    }
    if (toolCalls !== undefined && toolCalls !== null) {
      if (!Array.isArray(toolCalls)) {
        return invalid(
          `Invalid type for 'messages[${index}].tool_calls': expected an array, but got ${describe(toolCalls)} instead.`,
          `messages[${index}].tool_calls`,
          'invalid_type',
        )
      }
      // The API wants at least one call: an empty list is refused, not read as no calls.
      if (toolCalls.length === 0) {
        return invalid(
          `Invalid 'messages[${index}].tool_calls': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
          `messages[${index}].tool_calls`,
          'empty_array',
        )
      }
      const call = toolCalls.findIndex((item) => typeof item !== 'object' || item === null || Array.isArray(item))
      if (call !== -1) {
        return invalid(
          `Invalid type for 'messages[${index}].tool_calls[${call}]': expected an object, but got ${describe(toolCalls[call])} instead.`,
          `messages[${index}].tool_calls[${call}]`,
          'invalid_type',
        )
      }
    }
    // Every other message's content is required: a string or a list of content parts (`null` only for `function`).
    if (role !== 'assistant' && !(role === 'function' && content === null)) {
      if (content === undefined || content === null) {
        return invalid(
          `Missing required parameter: 'messages[${index}].content'.`,
          `messages[${index}].content`,
          'missing_required_parameter',
        )
      }
      const part = Array.isArray(content)
        ? content.findIndex((item) => typeof item !== 'object' || item === null || Array.isArray(item))
        : -1
      if (typeof content !== 'string' && (!Array.isArray(content) || part !== -1)) {
        const where = part === -1 ? `messages[${index}].content` : `messages[${index}].content[${part}]`
        return invalid(
          `Invalid type for '${where}': expected one of a string or array of objects, but got ${describe(part === -1 ? content : (content as unknown[])[part])} instead.`,
          where,
          'invalid_type',
        )
      }
    }
    const calls = Array.isArray(toolCalls) && toolCalls.length > 0
    if (role === 'assistant' && content == null && !calls && functionCall == null) {
      return invalid(
        `Missing required parameter: 'messages[${index}].content'.`,
        `messages[${index}].content`,
        'missing_required_parameter',
      )
    }
  }
  return undefined
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
}

function invalid(message: string, param: string, code: string): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param, code }
}
