import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionDeveloperMessageParam,
  ChatCompletionFunctionMessageParam,
  ChatCompletionSystemMessageParam,
  ChatCompletionToolMessageParam,
  ChatCompletionUserMessageParam,
} from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/** The roles of `ChatCompletionMessageParam`, the union of the message types OpenAI's API reference lists. */
const roles: ReadonlySet<unknown> = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function'])

/** The keys each role's message type has in the SDK: OpenAI refuses another ("Additional properties are not allowed"). */
const messageKeys: Readonly<Record<string, ReadonlySet<string>>> = {
  system: keysOf({ role: 0, content: 0, name: 0 } satisfies Record<keyof ChatCompletionSystemMessageParam, 0>),
  developer: keysOf({ role: 0, content: 0, name: 0 } satisfies Record<keyof ChatCompletionDeveloperMessageParam, 0>),
  user: keysOf({ role: 0, content: 0, name: 0 } satisfies Record<keyof ChatCompletionUserMessageParam, 0>),
  assistant: keysOf({
    role: 0,
    audio: 0,
    content: 0,
    function_call: 0,
    name: 0,
    refusal: 0,
    tool_calls: 0,
  } satisfies Record<keyof ChatCompletionAssistantMessageParam, 0>),
  tool: keysOf({ role: 0, content: 0, tool_call_id: 0 } satisfies Record<keyof ChatCompletionToolMessageParam, 0>),
  function: keysOf({ role: 0, content: 0, name: 0 } satisfies Record<keyof ChatCompletionFunctionMessageParam, 0>),
}

function keysOf(fields: object): ReadonlySet<string> {
  return new Set(Object.keys(fields))
}

/**
 * What OpenAI answers a message it cannot take, worded as OpenAI words it, or `undefined`: a message that is not an
 * object, a role it does not know, a key its role's message type does not have, `tool_calls` that are not a list of objects or are an empty list, another message without content or with
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
    // A key of another role (`tool_calls` on a user message) or of another provider: "…('x' was unexpected)".
    const extra = Object.keys(message).find((key) => !messageKeys[role as string]?.has(key))
    if (extra !== undefined) {
      return invalid(
        `Additional properties are not allowed ('${extra}' was unexpected) - 'messages.${index}'`,
        null,
        null,
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
      for (const [call, item] of toolCalls.entries()) {
        const problem = toolCallError(item, `messages[${index}].tool_calls[${call}]`)
        if (problem !== undefined) return problem
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
      const part = Array.isArray(content) ? content.findIndex((item) => !isObject(item)) : -1
      if (typeof content !== 'string' && (!Array.isArray(content) || part !== -1)) {
        const where = part === -1 ? `messages[${index}].content` : `messages[${index}].content[${part}]`
        return invalid(
          `Invalid type for '${where}': expected one of a string or array of objects, but got ${describe(part === -1 ? content : (content as unknown[])[part])} instead.`,
          where,
          'invalid_type',
        )
      }
    }
    if (Array.isArray(content)) {
      const problem = partsError(content, `messages[${index}].content`, role as string, index)
      if (problem !== undefined) return problem
    }
    const name = (message as Record<string, unknown>).name
    if (role !== 'function' && name !== undefined && name !== null) {
      const problem = stringError(name, `messages[${index}].name`)
      if (problem !== undefined) return problem
      // A participant's name: no white space, `<`, `|`, `\`, `/` or `>`.
      if (!participantName.test(name as string)) {
        return invalid(
          `Invalid 'messages[${index}].name': string does not match pattern. Expected a string that matches the pattern '${participantName.source}'.`,
          `messages[${index}].name`,
          'invalid_value',
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

/** The pattern of a message's `name`, as OpenAI quotes it when it refuses one. */
const participantName = /^[^\s<|\\/>]+$/

/** The types of a content part, as `ChatCompletionContentPart` and its assistant's refusal list them. */
const partTypes: ReadonlySet<unknown> = new Set(['text', 'image_url', 'input_audio', 'file', 'refusal'])

/**
 * A list of content parts must hold one at least, each of a known type, a text part its `text` and an image part its
 * `image_url.url` (the SDK's `ChatCompletionContentPartImage`); only a user message may carry an image (OpenAI's 400
 * for an image in an assistant message or a tool result says so).
 */
function partsError(
  parts: readonly unknown[],
  where: string,
  role: string,
  message: number,
): ErrorReply['error'] | undefined {
  if (parts.length === 0) {
    return invalid(
      `Invalid '${where}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
      where,
      'empty_array',
    )
  }
  for (const [index, part] of parts.entries()) {
    if (!isObject(part)) continue
    if (!partTypes.has(part.type)) {
      return invalid(
        `Invalid value: '${String(part.type)}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', and 'file'.`,
        `${where}[${index}].type`,
        'invalid_value',
      )
    }
    if (part.type === 'image_url' && role !== 'user') {
      return invalid(
        `Invalid 'messages[${message}]'. Image URLs are only allowed for messages with role 'user', but this message with role '${role}' contains an image URL.`,
        `messages[${message}]`,
        null,
      )
    }
    if (part.type === 'text') {
      const problem = stringError(part.text, `${where}[${index}].text`)
      if (problem !== undefined) return problem
    }
    if (part.type === 'image_url') {
      const image = part.image_url
      const problem = isObject(image)
        ? stringError(image.url, `${where}[${index}].image_url.url`)
        : stringError(image, `${where}[${index}].image_url`, 'an object')
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/**
 * The longest tool call id OpenAI takes in a conversation, as its 400 says ("Invalid 'messages[2].tool_calls[0].id':
 * string too long. Expected a string with maximum length 40, but got a string with length 46 instead.").
 */
const maxToolCallIdLength = 40

/** A call an assistant made: an object with an `id`, `type: 'function'` and a `function` with `name` and `arguments` strings. */
function toolCallError(call: unknown, where: string): ErrorReply['error'] | undefined {
  if (!isObject(call)) {
    return invalid(
      `Invalid type for '${where}': expected an object, but got ${describe(call)} instead.`,
      where,
      'invalid_type',
    )
  }
  const id = stringError(call.id, `${where}.id`)
  if (id !== undefined) return id
  // Ids other providers give (an Anthropic or Gemini id, a `call_…|fc_…` pair) can be longer than OpenAI takes.
  const length = (call.id as string).length
  if (length > maxToolCallIdLength) {
    return invalid(
      `Invalid '${where}.id': string too long. Expected a string with maximum length ${maxToolCallIdLength}, but got a string with length ${length} instead.`,
      `${where}.id`,
      'string_above_max_length',
    )
  }
  if (call.type === 'custom') return undefined
  if (call.type !== 'function') {
    return invalid(
      `Invalid value: '${String(call.type)}'. Supported values are: 'function' and 'custom'.`,
      `${where}.type`,
      'invalid_value',
    )
  }
  if (!isObject(call.function)) return stringError(call.function, `${where}.function`, 'an object')
  return (
    stringError(call.function.name, `${where}.function.name`) ??
    stringError(call.function.arguments, `${where}.function.arguments`)
  )
}

/** A required field: missing, or not of the type expected (a string by default). */
function stringError(value: unknown, param: string, expected = 'a string'): ErrorReply['error'] | undefined {
  if (value === undefined || value === null) {
    return invalid(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter')
  }
  if (expected === 'a string' && typeof value === 'string') return undefined
  return invalid(
    `Invalid type for '${param}': expected ${expected}, but got ${describe(value)} instead.`,
    param,
    'invalid_type',
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function invalid(message: string, param: string | null, code: string | null): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param, code }
}
