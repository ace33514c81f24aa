import { ConfigurationError, checkNumber, optionError, safeStringify } from '@tinyllm/core'
import {
  assertObjectParameters,
  assertStrictSchemaAccepted,
  type ChatMessage,
  type ChatRequest,
  type ChatSettings,
  maxTokensRule,
  type ResponseFormat,
  type ToolCallIdRule,
  type ToolChoice,
  type ToolDefinition,
  toolsToSend,
  toProviderToolCallId,
  toStopSequences,
  toStrictJsonSchema,
} from '@tinyllm/llm'
import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions'
import { openAIStrictRules, openAIStrictSchemaProblem } from './openai-schema.js'
import { isOpenAIReasoningModel } from './reasoning-model.js'

/** The chat-completions body of a request, streaming or not (the caller sets `stream`). */
export type OpenAIChatBody = Omit<ChatCompletionCreateParamsBase, 'stream' | 'stream_options'>

/** "Up to 4 sequences where the API will stop generating further tokens." */
const maxStopSequences = 4

/** OpenAI's OpenAPI description of the request: `n` has "maximum: 128". */
const maxChoices = 128

/** The function-calling guide: "A max of 128 functions are supported." */
const maxTools = 128

/**
 * The ranges OpenAI's API reference gives the numeric fields of a request, by wire name: a typed setting is sent under
 * one of them (`topP` as `top_p`, `maxTokens` as `max_completion_tokens`), and `providerOptions.openai` may give it
 * there directly (`max_tokens` for servers that want it), where it is held to the same range.
 */
const wireNumberRules = {
  temperature: { min: 0, max: 2 },
  top_p: { min: 0, max: 1 },
  presence_penalty: { min: -2, max: 2 },
  frequency_penalty: { min: -2, max: 2 },
  seed: { integer: true },
  max_completion_tokens: maxTokensRule,
  max_tokens: maxTokensRule,
} as const satisfies Record<string, Parameters<typeof checkNumber>[2]>

/** OpenAI's rule for a response format's name: "a-z, A-Z, 0-9, or … underscores and dashes, with a maximum length of 64". */
const responseFormatName = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Throws a {@link ConfigurationError} naming the first setting that OpenAI's chat completions API refuses, going by
 * its API reference (the text bundled with the `openai` SDK): a `temperature` above 2 ("What sampling temperature to
 * use, between 0 and 2"), a `maxTokens` that is not an integer from 1 to 100,000,000 (`1e20`), a numeric field given
 * under its wire name in `providerOptions.openai` (`temperature`, `top_p`, `max_tokens`…) outside the same range, or more than 4 `stop`
 * sequences, an `n` in `providerOptions.openai`, which a budget would not
 * count (the `n` setting is the number of choices), `tools` there, which the answer's tool calls are not checked
 * against (set `tools`), and a `max_tokens` there beside `maxTokens` (or
 * `max_completion_tokens`), which OpenAI refuses together, or for a reasoning model (the o-series, the gpt-5 family),
 * which refuses it alone, a `temperature` or `topP` (or their wire names there) other than 1 for a reasoning model
 * unless `reasoning_effort` there is `'none'`, more than 128 tools, an `n` above 128, and a `top_logprobs`
 * in `providerOptions.openai` that is not an integer from 0 to 20 or comes without `logprobs: true`, a response format
 * name that is not 1–64 letters, digits, `_` or `-`, and tool parameters that are a list or of a type other than
 * `'object'`. `owner` names the Function (or model) in the message; `defaultModel` is the model a request without a `model` setting goes to.
 */
export function assertSupportedSettings(settings: ChatSettings, owner?: string, defaultModel?: string): void {
  checkNumber(settings.temperature, 'temperature', wireNumberRules.temperature, owner)
  checkNumber(settings.maxTokens, 'maxTokens', maxTokensRule, owner)
  const passed = settings.providerOptions?.openai
  if (passed !== undefined) {
    // `null` is OpenAI's absent.
    for (const [field, rule] of Object.entries(wireNumberRules)) {
      checkNumber(passed[field] ?? undefined, `providerOptions.openai.${field}`, rule, owner)
    }
  }
  // OpenAI's OpenAPI description of the request: `n` is an "integer, minimum: 1, maximum: 128".
  checkNumber(settings.n, 'n', { integer: true, min: 1, max: maxChoices }, owner)
  // "An integer between 0 and 20 [...] `logprobs` must be set to `true` if this parameter is used."
  // `null` is OpenAI's absent.
  const topLogprobs = settings.providerOptions?.openai?.top_logprobs ?? undefined
  checkNumber(topLogprobs, 'providerOptions.openai.top_logprobs', { integer: true, min: 0, max: 20 }, owner)
  const logprobs = settings.providerOptions?.openai?.logprobs
  if (topLogprobs !== undefined && logprobs !== true) {
    throw optionError(
      'providerOptions.openai.logprobs',
      'true when top_logprobs is set (OpenAI refuses it otherwise)',
      logprobs,
      owner,
    )
  }
  // The number of choices is the `n` setting: a budget and a rate limiter count `maxTokens` for each of them.
  const passedChoices = settings.providerOptions?.openai?.n
  if (passedChoices !== undefined) {
    throw optionError('providerOptions.openai.n', 'absent (set n instead)', passedChoices, owner)
  }
  // The tool calls of an answer are checked against the request's tools: one offered only here would be unknown.
  const passedTools = settings.providerOptions?.openai?.tools
  if (passedTools !== undefined) {
    throw optionError(
      'providerOptions.openai.tools',
      "absent (set tools instead: the model's tool calls are checked against them, and every call of a tool given here would fail as unknown-tool)",
      passedTools,
      owner,
    )
  }
  // maxTokens goes out as max_completion_tokens, and OpenAI answers a body with max_tokens too with a 400 ("Setting
  // 'max_tokens' and 'max_completion_tokens' at the same time is not supported.").
  const legacyMaxTokens = settings.providerOptions?.openai?.max_tokens
  if (
    legacyMaxTokens !== undefined &&
    (settings.maxTokens !== undefined || settings.providerOptions?.openai?.max_completion_tokens !== undefined)
  ) {
    throw optionError(
      'providerOptions.openai.max_tokens',
      'absent when maxTokens is set (OpenAI refuses max_tokens and max_completion_tokens together)',
      legacyMaxTokens,
      owner,
    )
  }
  // The reasoning models answer any max_tokens with a 400 ("Unsupported parameter: 'max_tokens' is not supported with
  // this model. Use 'max_completion_tokens' instead."); maxTokens is sent as the one they take. `null` is OpenAI's absent.
  const model = settings.model ?? defaultModel
  if (legacyMaxTokens != null && isOpenAIReasoningModel(model)) {
    throw optionError(
      'providerOptions.openai.max_tokens',
      `absent for ${model} (OpenAI's reasoning models refuse max_tokens; set maxTokens, sent as max_completion_tokens)`,
      legacyMaxTokens,
      owner,
    )
  }
  // They also sample at their own settings: OpenAI answers a temperature or top_p other than the default 1 with a 400
  // ("Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported."),
  // unless `reasoning_effort: 'none'` turns the reasoning off.
  if (isOpenAIReasoningModel(model) && passed?.reasoning_effort !== 'none') {
    const sampling = [
      ['temperature', settings.temperature, 'providerOptions.openai.temperature', passed?.temperature],
      ['topP', settings.topP, 'providerOptions.openai.top_p', passed?.top_p],
    ] as const
    for (const [name, value, wireName, wireValue] of sampling) {
      const [option, given] = value !== undefined ? [name, value] : [wireName, wireValue]
      if (given != null && given !== 1) {
        throw optionError(
          option,
          `1 or absent for ${model} (OpenAI's reasoning models take only the default; or set providerOptions.openai.reasoning_effort to 'none')`,
          given,
          owner,
        )
      }
    }
  }
  if (Array.isArray(settings.stop) && settings.stop.length > maxStopSequences) {
    throw optionError('stop', `at most ${maxStopSequences} sequences for OpenAI`, settings.stop, owner)
  }
  if (Array.isArray(settings.tools) && settings.tools.length > maxTools) {
    throw new ConfigurationError({
      option: 'tools',
      message: `tools must be at most ${maxTools} for OpenAI, got ${settings.tools.length}`,
      functionName: owner,
    })
  }
  // "Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64", as a tool's name is (which
  // every call checks); Anthropic sends no name, so only OpenAI refuses it.
  const format = settings.responseFormat
  if (format?.type === 'json_schema' && !responseFormatName.test(format.name)) {
    throw optionError('responseFormat.name', '1–64 letters, digits, _ or - (OpenAI refuses others)', format.name, owner)
  }
  // "schema must be a JSON Schema of 'type: "object"'": a function's parameters are an object; one without a type is
  // sent as one (as Anthropic's input_schema is), one of another type is refused here rather than with a 400.
  assertObjectParameters(settings.tools, "OpenAI takes a function's parameters as an object", owner)
}

/**
 * Builds the chat-completions body for a request. Every setting of {@link ChatRequest} is mapped to its wire field;
 * `providerOptions.openai` is passed through as is, under the mapped settings (a setting given both ways is sent
 * once, from the typed setting), so fields tinyllm has no name for (`reasoning_effort`, `logprobs`, `service_tier`…)
 * still reach the API. A response format or tool with `strict: true` is sent with its schema made strict-mode valid
 * (see `toStrictJsonSchema`). Settings OpenAI refuses are a {@link ConfigurationError} (see `assertSupportedSettings`).
 */
export function toOpenAIBody(request: ChatRequest, defaultModel: string): OpenAIChatBody {
  assertSupportedSettings(request, undefined, defaultModel)
  const passthrough = request.providerOptions?.openai
  const model = request.model ?? defaultModel
  if (model === '') throw new ConfigurationError({ option: 'model', message: 'an OpenAI model id is required' })
  const body: Record<string, unknown> = { ...passthrough, model, messages: request.messages.map(toOpenAIMessage) }
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  // `max_tokens` is deprecated and rejected by reasoning models; `max_completion_tokens` is what the API wants now.
  if (request.maxTokens !== undefined) body.max_completion_tokens = request.maxTokens
  if (request.n !== undefined) body.n = request.n
  const stop = toStopSequences(request.stop)
  if (stop !== undefined) body.stop = stop
  if (request.seed !== undefined) body.seed = request.seed
  if (request.presencePenalty !== undefined) body.presence_penalty = request.presencePenalty
  if (request.frequencyPenalty !== undefined) body.frequency_penalty = request.frequencyPenalty
  if (request.responseFormat !== undefined) body.response_format = toOpenAIResponseFormat(request.responseFormat)
  const { tools, toolChoice } = toolsToSend(request)
  if (tools !== undefined) body.tools = tools.map(toOpenAITool)
  if (toolChoice !== undefined) body.tool_choice = toOpenAIToolChoice(toolChoice, tools)
  if (request.user !== undefined) body.user = request.user
  delete body.stream
  delete body.stream_options
  return body as unknown as OpenAIChatBody
}

function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content }
    case 'user':
      return { role: 'user', content: message.content }
    case 'tool':
      return { role: 'tool', tool_call_id: toOpenAIToolCallId(message.toolCallId), content: message.content }
    case 'assistant': {
      const toolCalls = message.toolCalls
      if (toolCalls === undefined || toolCalls.length === 0) return { role: 'assistant', content: message.content }
      return {
        role: 'assistant',
        content: message.content,
        tool_calls: toolCalls.map((call) => ({
          id: toOpenAIToolCallId(call.id),
          type: 'function' as const,
          function: { name: call.name, arguments: call.arguments },
        })),
      }
    }
    default:
      throw new ConfigurationError({
        option: 'messages',
        message: `unknown message role ${JSON.stringify((message as { role?: unknown }).role)}`,
      })
  }
}

/**
 * The tool call ids OpenAI takes in a conversation: at most 40 characters ("Invalid 'messages[2].tool_calls[0].id': string
 * too long. Expected a string with maximum length 40"); another provider's longer id is cut short, a digest appended.
 */
const openAIToolCallIds: ToolCallIdRule = { maxLength: 40 }

function toOpenAIToolCallId(id: string): string {
  return toProviderToolCallId(id, openAIToolCallIds)
}

function toOpenAIResponseFormat(format: ResponseFormat): ChatCompletionCreateParamsBase['response_format'] {
  if (format.type !== 'json_schema') return { type: format.type }
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name,
      schema:
        format.strict === true ? strictObjectSchema(format.schema, 'responseFormat.schema') : { ...format.schema },
      ...(format.description === undefined ? {} : { description: format.description }),
      ...(format.strict === undefined ? {} : { strict: format.strict }),
    },
  }
}

function toOpenAITool(tool: ToolDefinition, index: number): ChatCompletionTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      parameters:
        tool.strict === true
          ? strictObjectSchema(tool.parameters, `tools[${index}].parameters`)
          : { type: 'object', ...tool.parameters },
      ...(tool.description === undefined ? {} : { description: tool.description }),
      ...(tool.strict === undefined ? {} : { strict: tool.strict }),
    },
  }
}

/**
 * A schema made strict-mode valid for OpenAI, whose strict mode also wants an object schema at the root (not an array,
 * a string or an `anyOf` of objects): such a schema is a {@link ConfigurationError} before anything is sent, as an
 * object without listed properties is, and one past its limits (`openAIStrictRules`: 10 levels of nesting, 1,000 enum
 * values…) or with a keyword it refuses (`not`), instead of a 400 from the API.
 */
function strictObjectSchema(schema: Record<string, unknown>, option: string): Record<string, unknown> {
  const strict = toStrictJsonSchema(schema, option).schema
  if (strict.type !== 'object' || strict.anyOf !== undefined) {
    const root = typeof strict.type === 'string' ? `type ${JSON.stringify(strict.type)}` : 'no object type'
    throw new ConfigurationError({
      option,
      message: `${option}: OpenAI's strict mode needs an object schema at the root, and this one has ${root}; wrap the value in an object (z.object({ items: … })), or turn strict off`,
    })
  }
  assertStrictSchemaAccepted(strict, openAIStrictRules, {
    option,
    provider: 'OpenAI',
    describe: openAIStrictSchemaProblem,
  })
  return strict
}

/**
 * The wire `tool_choice`, once it chooses among the tools sent: a choice that OpenAI answers with a 400 ("no function
 * named '…' was specified in the 'tools' parameter", "'tool_choice' is only allowed when 'tools' are specified") is a
 * {@link ConfigurationError}, unsent. Checked per call, as tools given with the input may meet a constructor's choice.
 */
function toOpenAIToolChoice(
  choice: ToolChoice,
  tools: ReadonlyArray<ToolDefinition> | undefined,
): ChatCompletionToolChoiceOption {
  if (typeof choice === 'string') {
    if (tools !== undefined) return choice
    throw new ConfigurationError({
      option: 'toolChoice',
      message: `toolChoice ${safeStringify(choice, 100)} needs tools to choose from (OpenAI refuses it without them)`,
    })
  }
  const names = (tools ?? []).map((tool) => tool.name)
  if (names.includes(choice.name)) return { type: 'function', function: { name: choice.name } }
  const listed = names.length === 0 ? 'none' : names.map((name) => safeStringify(name, 100)).join(', ')
  throw new ConfigurationError({
    option: 'toolChoice',
    message: `toolChoice names tool ${safeStringify(choice.name, 100)}, which tools does not have (tools: ${listed})`,
  })
}
