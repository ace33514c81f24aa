import type {
  ChatCompletionCreateParams,
  ChatCompletionCreateParamsBase,
  ChatCompletionTool,
} from 'openai/resources/chat/completions'
import type { ReasoningEffort } from 'openai/resources/shared'
import { isOpenAIReasoningModel } from '../reasoning-model.js'
import { outputTokenLimitError } from './output-token-limit.js'
import type { ErrorReply } from './scripted-reply.js'

/**
 * Every top-level parameter of a chat completion request, as the `openai` SDK's types list them (the type check fails
 * when the SDK adds or drops one): OpenAI refuses any other with "Unrecognized request argument supplied".
 */
const knownParameters: ReadonlySet<string> = new Set(
  Object.keys({
    messages: 0,
    model: 0,
    audio: 0,
    frequency_penalty: 0,
    function_call: 0,
    functions: 0,
    logit_bias: 0,
    logprobs: 0,
    max_completion_tokens: 0,
    max_tokens: 0,
    metadata: 0,
    modalities: 0,
    moderation: 0,
    n: 0,
    parallel_tool_calls: 0,
    prediction: 0,
    presence_penalty: 0,
    prompt_cache_key: 0,
    prompt_cache_options: 0,
    prompt_cache_retention: 0,
    reasoning_effort: 0,
    response_format: 0,
    safety_identifier: 0,
    seed: 0,
    service_tier: 0,
    stop: 0,
    store: 0,
    stream: 0,
    stream_options: 0,
    temperature: 0,
    tool_choice: 0,
    tools: 0,
    top_logprobs: 0,
    top_p: 0,
    user: 0,
    verbosity: 0,
    web_search_options: 0,
  } satisfies Record<keyof ChatCompletionCreateParamsBase, 0>),
)

interface Range {
  readonly min: number
  readonly max: number
  readonly integer?: boolean
}

/**
 * The numeric parameters whose range OpenAI's API reference gives (the text bundled with the `openai` SDK,
 * `resources/chat/completions/completions.d.ts`), with its sentence.
 */
const ranges: Readonly<Record<string, Range>> = {
  // "What sampling temperature to use, between 0 and 2."
  temperature: { min: 0, max: 2 },
  // "Number between -2.0 and 2.0. Positive values penalize new tokens based on whether they appear in the text so far"
  presence_penalty: { min: -2, max: 2 },
  // "Number between -2.0 and 2.0. Positive values penalize new tokens based on their existing frequency"
  frequency_penalty: { min: -2, max: 2 },
  // "An integer between 0 and 20 specifying the maximum number of most likely tokens to return at each token position"
  top_logprobs: { min: 0, max: 20, integer: true },
  // Not in the SDK's text; OpenAI's OpenAPI description of the request: `top_p` "minimum: 0, maximum: 1" (a
  // probability mass) and `n` an "integer, minimum: 1, maximum: 128".
  top_p: { min: 0, max: 1 },
  n: { min: 1, max: 128, integer: true },
  // The same description: `max_tokens` and `max_completion_tokens` are integers of at least 1 (a count of tokens to
  // generate), and `seed` an integer (a 64-bit one).
  max_tokens: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true },
  max_completion_tokens: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true },
  seed: { min: -(2 ** 63), max: 2 ** 63 - 1, integer: true },
}

/** "maps tokens (specified by their token ID in the tokenizer) to an associated bias value from -100 to 100" */
const logitBiasRange: Range = { min: -100, max: 100 }

/**
 * `metadata`: "Set of 16 key-value pairs … Keys are strings with a maximum length of 64 characters. Values are strings
 * with a maximum length of 512 characters."
 */
const metadataLimits = { pairs: 16, keyLength: 64, valueLength: 512 }

/** The values of the SDK's `ReasoningEffort`, `service_tier`, `verbosity` and tool `type`: another is refused. */
const enumerations: Readonly<Record<string, ReadonlySet<unknown>>> = {
  reasoning_effort: new Set(
    Object.keys({ none: 0, minimal: 0, low: 0, medium: 0, high: 0, xhigh: 0, max: 0 } satisfies Record<
      NonNullable<ReasoningEffort>,
      0
    >),
  ),
  service_tier: new Set(
    Object.keys({ auto: 0, default: 0, flex: 0, scale: 0, priority: 0, fast: 0 } satisfies Record<
      NonNullable<ChatCompletionCreateParamsBase['service_tier']>,
      0
    >),
  ),
  verbosity: new Set(
    Object.keys({ low: 0, medium: 0, high: 0 } satisfies Record<
      NonNullable<ChatCompletionCreateParamsBase['verbosity']>,
      0
    >),
  ),
}
/**
 * Parameters of one JSON type in the SDK's `ChatCompletionCreateParamsBase` (each `| null`): `stream`, `store` and
 * `parallel_tool_calls` are booleans, `user` and `prompt_cache_key` strings. OpenAI refuses another type ("Invalid
 * type for 'stream'…").
 */
const typedParameters: Readonly<Record<string, 'boolean' | 'string'>> = {
  stream: 'boolean',
  store: 'boolean',
  parallel_tool_calls: 'boolean',
  user: 'string',
  prompt_cache_key: 'string',
}

/**
 * Parameters that are JSON objects in the SDK's `ChatCompletionCreateParamsBase` (each `| null`): `logit_bias`, `audio`,
 * `prediction`, `web_search_options` and `stream_options`. OpenAI refuses another type ("Invalid type for 'audio'…").
 */
const objectParameters: ReadonlyArray<string> = [
  'logit_bias',
  'audio',
  'prediction',
  'web_search_options',
  'stream_options',
]

const toolTypes: ReadonlySet<unknown> = new Set(
  Object.keys({ function: 0, custom: 0 } satisfies Record<ChatCompletionTool['type'], 0>),
)

/** The types of `response_format`. */
const responseFormatTypes: ReadonlySet<unknown> = new Set(['text', 'json_object', 'json_schema'])

/** `safety_identifier`: "a string that uniquely identifies each user, with a maximum length of 128 characters". */
const maxSafetyIdentifierLength = 128

/** "Up to 4 sequences where the API will stop generating further tokens." */
const maxStopSequences = 4

/** The function-calling guide: "A max of 128 functions are supported." */
const maxTools = 128

/**
 * Function and response-format names: "Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum
 * length of 64."
 */
const namePattern = /^[a-zA-Z0-9_-]+$/
const maxNameLength = 64

/**
 * What OpenAI answers a request whose parameters break its API reference, worded as OpenAI words it, or `undefined`:
 * a parameter the API does not have (a misspelling, another provider's), a number out of its documented range (`temperature`, `top_p`, `n`, the penalties, `logit_bias` values, `top_logprobs`),
 * `max_tokens` or `max_completion_tokens` that is not an integer ≥ 1, a `seed` that is not an integer, a `logprobs`, `stream`, `store` or `parallel_tool_calls` that is not a boolean,
 * a `user` or `prompt_cache_key` that is not a string, a `logit_bias`, `audio`, `prediction`, `web_search_options` or
 * `stream_options` that is not an object, a `verbosity` other than `low`, `medium` or `high`,
 * `top_logprobs` without `logprobs: true`, a `response_format` of a type other than `text`, `json_object` or `json_schema`, more than 4 `stop` sequences or one that is not a string, `stream_options` without `stream: true`,
 * more than 128 `tools`, `max_tokens`, or a `temperature` or `top_p` other than 1, for a reasoning model (the o-series,
 * the gpt-5 family; `temperature` and `top_p` are taken with `reasoning_effort: 'none'`), `max_tokens` beside
 * `max_completion_tokens`, either over the model's most output tokens (see `outputTokenLimitError`),
 * `parallel_tool_calls` without `tools`, `function_call` without `functions`, a `json_object` response format whose messages never say "json",
 * `metadata` beyond 16 pairs (keys up to 64 characters, string values up to 512), a `safety_identifier` over 128
 * characters, `tools` that are not a list of objects (or an empty list), and a function or response-format name that is not 1–64
 * letters, digits, `_` or `-`.
 */
export function parameterError(body: ChatCompletionCreateParams): ErrorReply['error'] | undefined {
  const fields = body as unknown as Record<string, unknown>
  for (const param of Object.keys(fields)) {
    if (!knownParameters.has(param))
      return {
        status: 400,
        message: `Unrecognized request argument supplied: ${param}`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      }
  }
  for (const [param, range] of Object.entries(ranges)) {
    const problem = rangeError(fields[param], param, range)
    if (problem !== undefined) return problem
  }
  if (isObject(body.logit_bias)) {
    for (const [token, bias] of Object.entries(body.logit_bias)) {
      const problem = rangeError(bias, `logit_bias.${token}`, logitBiasRange)
      if (problem !== undefined) return problem
    }
  }
  for (const [param, type] of Object.entries(typedParameters)) {
    const value = fields[param]
    if (value != null && typeof value !== type) return typeError(param, `a ${type}`, value)
  }
  for (const param of objectParameters) {
    const value = fields[param]
    if (value != null && !isObject(value)) return typeError(param, 'an object', value)
  }
  // "Whether to return log probabilities of the output tokens or not": a boolean, not a count.
  if (body.logprobs != null && typeof body.logprobs !== 'boolean')
    return typeError('logprobs', 'a boolean', body.logprobs)
  // "`logprobs` must be set to `true` if this parameter is used."
  if (body.top_logprobs != null && body.logprobs !== true) {
    return invalid("'logprobs' must be set to true when 'top_logprobs' is used.", 'top_logprobs', 'invalid_value')
  }
  if (Array.isArray(body.stop) && body.stop.length > maxStopSequences) {
    return invalid(
      `Invalid 'stop': array too long. Expected an array with maximum length ${maxStopSequences}, but got an array with length ${body.stop.length} instead.`,
      'stop',
      'array_above_max_length',
    )
  }
  // "string / array / null": a list holds strings only.
  if (Array.isArray(body.stop)) {
    for (let index = 0; index < body.stop.length; index++)
      if (typeof body.stop[index] !== 'string') return typeError(`stop[${index}]`, 'a string', body.stop[index])
  } else if (body.stop != null && typeof body.stop !== 'string')
    return typeError('stop', 'a string or an array of strings', body.stop)
  // "Options for streaming response. Only set this when you set `stream: true`."
  if (body.stream_options != null && body.stream !== true) {
    return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', null)
  }
  // The reasoning models never took the deprecated `max_tokens`, whatever its value (and beside
  // `max_completion_tokens` too): it is the parameter they do not have that OpenAI names, not the combination.
  if (body.max_tokens != null && isOpenAIReasoningModel(body.model)) {
    return invalid(
      "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      'max_tokens',
      'unsupported_parameter',
    )
  }
  // The reasoning models sample at their own settings: a `temperature` or `top_p` other than the default 1 is refused
  // (with `reasoning_effort: 'none'`, which turns reasoning off where a model has it, they are taken).
  if (isOpenAIReasoningModel(body.model) && body.reasoning_effort !== 'none') {
    for (const param of ['temperature', 'top_p'] as const) {
      const value = body[param]
      if (value != null && value !== 1)
        return invalid(
          `Unsupported value: '${param}' does not support ${value} with this model. Only the default (1) value is supported.`,
          param,
          'unsupported_value',
        )
    }
  }
  // `max_tokens` is the deprecated name of `max_completion_tokens`: OpenAI refuses a request that sets both.
  if (body.max_tokens != null && body.max_completion_tokens != null) {
    return invalid(
      "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
      'max_tokens',
      'invalid_parameter_combination',
    )
  }
  const overLimit = outputTokenLimitError(fields)
  if (overLimit !== undefined) return overLimit
  // "Whether to enable parallel function calling during tool use": OpenAI refuses it when there are no tools.
  const tools = fields.tools
  if (body.parallel_tool_calls != null && !(Array.isArray(tools) && tools.length > 0)) {
    return invalid(
      "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
      'parallel_tool_calls',
      null,
    )
  }
  // The deprecated `function_call` chooses among `functions`, as `tool_choice` among `tools`: OpenAI refuses it without them.
  const functions = fields.functions
  if (body.function_call != null && !(Array.isArray(functions) && functions.length > 0)) {
    return invalid(
      "Invalid value for 'function_call': 'function_call' is only allowed when 'functions' are specified.",
      'function_call',
      null,
    )
  }
  // The SDK's `response_format` is `ResponseFormatText | ResponseFormatJSONSchema | ResponseFormatJSONObject`: a
  // format of another type (`json`) is refused.
  const formatType = isObject(body.response_format) ? body.response_format.type : undefined
  if (body.response_format != null && !responseFormatTypes.has(formatType)) {
    return invalid(
      `Invalid value: '${String(formatType)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`,
      'response_format.type',
      'invalid_value',
    )
  }
  // JSON mode: "the model will not generate JSON without a system or user message instructing it to do so" (the
  // SDK's `ResponseFormatJSONObject`); OpenAI refuses a request whose messages never say "json".
  if (body.response_format?.type === 'json_object' && !mentionsJson(body.messages)) {
    return invalid(
      "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
      'messages',
      null,
    )
  }
  const metadata = metadataError(fields.metadata)
  if (metadata !== undefined) return metadata
  const identifier = fields.safety_identifier
  if (identifier !== undefined && identifier !== null) {
    if (typeof identifier !== 'string') return typeError('safety_identifier', 'a string', identifier)
    if (identifier.length > maxSafetyIdentifierLength) {
      return tooLong('safety_identifier', maxSafetyIdentifierLength, identifier.length)
    }
  }
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) return typeError('tools', 'an array', tools)
  if (Array.isArray(tools) && tools.length === 0) {
    return invalid(
      "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'tools',
      'empty_array',
    )
  }
  if (Array.isArray(tools) && tools.length > maxTools) {
    return invalid(
      `Invalid 'tools': array too long. Expected an array with maximum length ${maxTools}, but got an array with length ${tools.length} instead.`,
      'tools',
      'array_above_max_length',
    )
  }
  for (const [param, values] of Object.entries(enumerations)) {
    const value = fields[param]
    if (value !== undefined && value !== null && !values.has(value)) return valueError(param, value, values)
  }
  for (const [index, tool] of (Array.isArray(tools) ? tools : []).entries()) {
    if (!isObject(tool)) return typeError(`tools[${index}]`, 'an object', tool)
    if (!toolTypes.has(tool.type)) return valueError(`tools[${index}].type`, tool.type, toolTypes)
    if (tool.type !== 'function') continue
    const definition = tool.function as { name?: unknown; parameters?: unknown; strict?: unknown } | undefined
    const problem =
      nameError(definition?.name, `tools[${index}].function.name`) ??
      booleanError(definition?.strict, `tools[${index}].function.strict`)
    if (problem !== undefined) return problem
    // "The parameters the functions accepts, described as a JSON Schema object": its root is an object schema.
    const parameters = definition?.parameters
    if (parameters !== undefined && !(isObject(parameters) && parameters.type === 'object')) {
      const type = isObject(parameters) && typeof parameters.type === 'string' ? parameters.type : 'none'
      return invalid(
        `Invalid schema for function '${String(definition?.name)}': schema must be a JSON Schema of 'type: "object"', got 'type: "${type}"'.`,
        `tools[${index}].function.parameters`,
        'invalid_function_parameters',
      )
    }
  }
  for (const [index, definition] of (Array.isArray(body.functions) ? body.functions : []).entries()) {
    const problem = nameError(definition?.name, `functions[${index}].name`)
    if (problem !== undefined) return problem
  }
  const format = body.response_format
  if (format?.type !== 'json_schema') return undefined
  return (
    nameError(format.json_schema?.name, 'response_format.json_schema.name') ??
    booleanError(format.json_schema?.strict, 'response_format.json_schema.strict')
  )
}

/** The SDK's `strict?: boolean | null` of a function and of a JSON-schema response format: another type is refused. */
function booleanError(value: unknown, param: string): ErrorReply['error'] | undefined {
  return value === undefined || value === null || typeof value === 'boolean'
    ? undefined
    : typeError(param, 'a boolean', value)
}

/** Whether some message's text (a string, or the text of its parts) says "json", in any case. */
function mentionsJson(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false
  return messages.some((message) => {
    const content = (message as { content?: unknown } | null)?.content
    const parts = Array.isArray(content) ? content : [content]
    return parts.some((part) => {
      const text = typeof part === 'string' ? part : (part as { text?: unknown } | null)?.text
      return typeof text === 'string' && text.toLowerCase().includes('json')
    })
  })
}

function metadataError(metadata: unknown): ErrorReply['error'] | undefined {
  if (metadata === undefined || metadata === null) return undefined
  if (!isObject(metadata)) return typeError('metadata', 'an object', metadata)
  const entries = Object.entries(metadata)
  if (entries.length > metadataLimits.pairs) {
    return invalid(
      `Invalid 'metadata': too many properties. Expected an object with at most ${metadataLimits.pairs} properties, but got an object with ${entries.length} properties instead.`,
      'metadata',
      'object_above_max_properties',
    )
  }
  for (const [key, value] of entries) {
    if (key.length > metadataLimits.keyLength) return tooLong('metadata', metadataLimits.keyLength, key.length, 'key')
    if (typeof value !== 'string') return typeError(`metadata.${key}`, 'a string', value)
    if (value.length > metadataLimits.valueLength) {
      return tooLong(`metadata.${key}`, metadataLimits.valueLength, value.length)
    }
  }
  return undefined
}

function typeError(param: string, expected: string, value: unknown): ErrorReply['error'] {
  return invalid(
    `Invalid type for '${param}': expected ${expected}, but got ${typeName(value)} instead.`,
    param,
    'invalid_type',
  )
}

function valueError(param: string, value: unknown, values: ReadonlySet<unknown>): ErrorReply['error'] {
  const listed = [...values].map((item) => `'${String(item)}'`)
  const supported =
    listed.length === 2 ? listed.join(' and ') : `${listed.slice(0, -1).join(', ')}, and ${listed.at(-1)}`
  return invalid(`Invalid value: '${String(value)}'. Supported values are: ${supported}.`, param, 'invalid_value')
}

function tooLong(param: string, max: number, length: number, what = 'string'): ErrorReply['error'] {
  return invalid(
    `Invalid '${param}': ${what} too long. Expected a ${what} with maximum length ${max}, but got a ${what} with length ${length} instead.`,
    param,
    'string_above_max_length',
  )
}

function rangeError(value: unknown, param: string, range: Range): ErrorReply['error'] | undefined {
  if (value === undefined || value === null) return undefined
  const kind = range.integer === true ? 'integer' : 'decimal'
  if (typeof value !== 'number' || !Number.isFinite(value) || (range.integer === true && !Number.isInteger(value))) {
    return invalid(
      `Invalid type for '${param}': expected ${kind === 'integer' ? 'an integer' : 'a decimal'}, but got ${typeName(value)} instead.`,
      param,
      'invalid_type',
    )
  }
  if (value > range.max) {
    return invalid(
      `Invalid '${param}': ${kind} above maximum value. Expected a value <= ${range.max}, but got ${value} instead.`,
      param,
      `${kind}_above_max_value`,
    )
  }
  if (value < range.min) {
    return invalid(
      `Invalid '${param}': ${kind} below minimum value. Expected a value >= ${range.min}, but got ${value} instead.`,
      param,
      `${kind}_below_min_value`,
    )
  }
  return undefined
}

function nameError(name: unknown, param: string): ErrorReply['error'] | undefined {
  if (typeof name !== 'string') return typeError(param, 'a string', name)
  if (name === '') {
    return invalid(
      `Invalid '${param}': empty string. Expected a string with minimum length 1, but got an empty string instead.`,
      param,
      'empty_string',
    )
  }
  if (name.length > maxNameLength) return tooLong(param, maxNameLength, name.length)
  if (!namePattern.test(name)) {
    return invalid(
      `Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '${namePattern.source}'.`,
      param,
      'invalid_value',
    )
  }
  return undefined
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(message: string, param: string, code: string | null): ErrorReply['error'] {
  return { status: 400, message, type: 'invalid_request_error', param, code }
}
