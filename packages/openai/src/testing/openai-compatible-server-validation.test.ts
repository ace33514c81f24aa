import OpenAI, { BadRequestError } from 'openai'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OpenAICompatibleServer } from './openai-compatible-server.js'
import { startOpenAICompatibleServer } from './openai-compatible-server.js'

let server: OpenAICompatibleServer
let client: OpenAI

beforeAll(async () => {
  server = await startOpenAICompatibleServer({ replies: ['{}'], cycleReplies: true })
  client = new OpenAI({ apiKey: 'test', baseURL: server.baseURL, maxRetries: 0 })
})

afterAll(async () => {
  await server.close()
})

const base = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hi' }] }

/** Sends `base` with `change` over HTTP; the status and error body the server answered. */
async function send(change: Record<string, unknown>): Promise<{ status: number; error?: unknown }> {
  const request = { ...base, ...change } as ChatCompletionCreateParams
  try {
    const answer = await client.chat.completions.create(request)
    if (request.stream === true) {
      for await (const _chunk of answer as AsyncIterable<unknown>) {
        // drain
      }
    }
    return { status: 200 }
  } catch (caught) {
    if (!(caught instanceof BadRequestError)) throw caught
    return { status: caught.status, error: caught.error }
  }
}

const closed = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
})
/** An object schema with `levels` levels of objects nested in one another. */
function nested(levels: number): Record<string, unknown> {
  let schema = closed({ leaf: { type: 'string' } })
  for (let level = 1; level < levels; level++) schema = closed({ inner: schema })
  return schema
}
const properties = (count: number) =>
  closed(Object.fromEntries(Array.from({ length: count }, (_, index) => [`p${index}`, { type: 'string' }])))
const enumValues = (count: number) =>
  closed({ e: { type: 'string', enum: Array.from({ length: count }, (_, index) => `v${index}`) } })
const strictFormat = (schema: Record<string, unknown>, name = 'out') => ({
  response_format: { type: 'json_schema', json_schema: { name, strict: true, schema } },
})
/** An assistant turn with `call`, answered by a tool message. */
const called = (call: Record<string, unknown>) => ({ role: 'assistant', content: null, tool_calls: [call] })
const tool = (name: string) => ({
  type: 'function',
  function: { name, parameters: { type: 'object', properties: {} } },
})
/** A custom tool, whose input is free text. */
const customTool = (name: string) => ({ type: 'custom', custom: { name } })

describe('startOpenAICompatibleServer refuses what the API reference says OpenAI refuses', () => {
  it.each<[string, Record<string, unknown>, { param: string | null; code: string | null; message: string }]>([
    [
      'temperature above 2',
      { temperature: 2.5 },
      {
        param: 'temperature',
        code: 'decimal_above_max_value',
        message: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
      },
    ],
    [
      'temperature below 0',
      { temperature: -0.5 },
      { param: 'temperature', code: 'decimal_below_min_value', message: 'Expected a value >= 0, but got -0.5' },
    ],
    [
      'temperature that is not a number',
      { temperature: 'hot' },
      { param: 'temperature', code: 'invalid_type', message: 'expected a decimal, but got a string' },
    ],
    [
      'top_p above 1',
      { top_p: 1.5 },
      { param: 'top_p', code: 'decimal_above_max_value', message: 'Expected a value <= 1, but got 1.5' },
    ],
    [
      'top_p below 0',
      { top_p: -0.1 },
      { param: 'top_p', code: 'decimal_below_min_value', message: 'Expected a value >= 0' },
    ],
    [
      'a tool call id longer than 40 characters (an id another provider gave)',
      {
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: `call_${'x'.repeat(36)}`, type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: `call_${'x'.repeat(36)}`, content: '20 °C' },
        ],
      },
      {
        param: 'messages[1].tool_calls[0].id',
        code: 'string_above_max_length',
        message:
          "Invalid 'messages[1].tool_calls[0].id': string too long. Expected a string with maximum length 40, but got a string with length 41 instead.",
      },
    ],
    ['n of 0', { n: 0 }, { param: 'n', code: 'integer_below_min_value', message: 'Expected a value >= 1' }],
    ['n above 128', { n: 129 }, { param: 'n', code: 'integer_above_max_value', message: 'Expected a value <= 128' }],
    ['n that is not a whole number', { n: 1.5 }, { param: 'n', code: 'invalid_type', message: 'expected an integer' }],
    [
      'max_tokens of 0',
      { max_tokens: 0 },
      { param: 'max_tokens', code: 'integer_below_min_value', message: 'Expected a value >= 1, but got 0' },
    ],
    [
      'a negative max_completion_tokens',
      { max_completion_tokens: -5 },
      { param: 'max_completion_tokens', code: 'integer_below_min_value', message: 'Expected a value >= 1' },
    ],
    [
      'max_completion_tokens that is not a whole number',
      { max_completion_tokens: 1.5 },
      { param: 'max_completion_tokens', code: 'invalid_type', message: 'expected an integer, but got a decimal' },
    ],
    [
      'max_tokens given as a string',
      { max_tokens: '5' },
      { param: 'max_tokens', code: 'invalid_type', message: 'expected an integer, but got a string' },
    ],
    [
      'seed that is not a whole number',
      { seed: 1.5 },
      { param: 'seed', code: 'invalid_type', message: 'expected an integer' },
    ],
    [
      'logprobs given as a count',
      { logprobs: 1 },
      { param: 'logprobs', code: 'invalid_type', message: 'expected a boolean' },
    ],
    [
      'stream given as a string',
      { stream: 'true' },
      {
        param: 'stream',
        code: 'invalid_type',
        message: "Invalid type for 'stream': expected a boolean, but got a string",
      },
    ],
    [
      'store given as a string',
      { store: 'yes' },
      { param: 'store', code: 'invalid_type', message: 'expected a boolean' },
    ],
    ['user given as a number', { user: 5 }, { param: 'user', code: 'invalid_type', message: 'expected a string' }],
    [
      'prompt_cache_key given as a number',
      { prompt_cache_key: 5 },
      { param: 'prompt_cache_key', code: 'invalid_type', message: 'expected a string' },
    ],
    [
      'logit_bias given as a list',
      { logit_bias: [] },
      { param: 'logit_bias', code: 'invalid_type', message: "Invalid type for 'logit_bias': expected an object" },
    ],
    ['audio given as a number', { audio: 5 }, { param: 'audio', code: 'invalid_type', message: 'expected an object' }],
    [
      'prediction given as a string',
      { prediction: 'x' },
      { param: 'prediction', code: 'invalid_type', message: 'expected an object, but got a string' },
    ],
    [
      'stream_options given as a number',
      { stream: true, stream_options: 5 },
      { param: 'stream_options', code: 'invalid_type', message: 'expected an object, but got an integer' },
    ],
    [
      'a verbosity the API does not have',
      { verbosity: 'verbose' },
      { param: 'verbosity', code: 'invalid_value', message: "Supported values are: 'low', 'medium', and 'high'." },
    ],
    [
      'presence_penalty above 2',
      { presence_penalty: 3 },
      { param: 'presence_penalty', code: 'decimal_above_max_value', message: 'Expected a value <= 2' },
    ],
    [
      'frequency_penalty below -2',
      { frequency_penalty: -3 },
      { param: 'frequency_penalty', code: 'decimal_below_min_value', message: 'Expected a value >= -2' },
    ],
    [
      'a logit_bias value above 100',
      { logit_bias: { '50256': 500 } },
      { param: 'logit_bias.50256', code: 'decimal_above_max_value', message: 'Expected a value <= 100' },
    ],
    [
      'a logit_bias value below -100',
      { logit_bias: { '50256': -101 } },
      { param: 'logit_bias.50256', code: 'decimal_below_min_value', message: 'Expected a value >= -100' },
    ],
    [
      'top_logprobs without logprobs: true',
      { top_logprobs: 5 },
      { param: 'top_logprobs', code: 'invalid_value', message: "'logprobs' must be set to true" },
    ],
    [
      'top_logprobs above 20',
      { logprobs: true, top_logprobs: 21 },
      { param: 'top_logprobs', code: 'integer_above_max_value', message: 'Expected a value <= 20' },
    ],
    [
      'more than 4 stop sequences',
      { stop: ['a', 'b', 'c', 'd', 'e'] },
      {
        param: 'stop',
        code: 'array_above_max_length',
        message: "Invalid 'stop': array too long. Expected an array with maximum length 4",
      },
    ],
    [
      'a stop sequence that is not a string',
      { stop: ['a', null] },
      {
        param: 'stop[1]',
        code: 'invalid_type',
        message: "Invalid type for 'stop[1]': expected a string, but got null",
      },
    ],
    [
      'a stop that is neither a string nor a list',
      { stop: 5 },
      {
        param: 'stop',
        code: 'invalid_type',
        message: "Invalid type for 'stop': expected a string or an array of strings",
      },
    ],
    [
      'stream_options without stream: true',
      { stream_options: { include_usage: true } },
      { param: 'stream_options', code: null, message: "'stream_options' parameter is only allowed when 'stream'" },
    ],
    ['an empty model', { model: '' }, { param: 'model', code: 'missing_required_parameter', message: "'model'" }],
    [
      'an unknown message role',
      { messages: [{ role: 'bogus', content: 'x' }] },
      { param: 'messages[0].role', code: 'invalid_value', message: "Invalid value: 'bogus'. Supported values are" },
    ],
    [
      'a user message with tool_calls, a key only an assistant message has',
      { messages: [{ role: 'user', content: 'x', tool_calls: [] }] },
      {
        param: null,
        code: null,
        message: "Additional properties are not allowed ('tool_calls' was unexpected) - 'messages.0'",
      },
    ],
    [
      'a tool message with a camelCase toolCallId',
      {
        messages: [
          ...base.messages,
          called({ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }),
          { role: 'tool', content: 'r', tool_call_id: 'c', toolCallId: 'c' },
        ],
      },
      { param: null, code: null, message: "('toolCallId' was unexpected) - 'messages.2'" },
    ],
    [
      'an assistant message with neither content nor tool_calls',
      { messages: [...base.messages, { role: 'assistant' }, { role: 'user', content: 'again' }] },
      {
        param: 'messages[1].content',
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'messages[1].content'.",
      },
    ],
    [
      'a tool function name with a space',
      { tools: [tool('lookup'), tool('get weather')] },
      {
        param: 'tools[1].function.name',
        code: 'invalid_value',
        message: "string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'",
      },
    ],
    [
      'a tool function name longer than 64',
      { tools: [tool('a'.repeat(65))] },
      { param: 'tools[0].function.name', code: 'string_above_max_length', message: 'maximum length 64' },
    ],
    [
      'an empty tool function name',
      { tools: [tool('')] },
      { param: 'tools[0].function.name', code: 'empty_string', message: 'minimum length 1' },
    ],
    [
      'a response format name with spaces',
      strictFormat(closed({}), 'my schema!'),
      { param: 'response_format.json_schema.name', code: 'invalid_value', message: 'does not match pattern' },
    ],
    [
      'a response format whose strict is not a boolean',
      { response_format: { type: 'json_schema', json_schema: { name: 'out', strict: 1, schema: closed({}) } } },
      {
        param: 'response_format.json_schema.strict',
        code: 'invalid_type',
        message:
          "Invalid type for 'response_format.json_schema.strict': expected a boolean, but got an integer instead.",
      },
    ],
    [
      'a function whose strict is not a boolean',
      { tools: [{ type: 'function', function: { name: 'lookup', parameters: closed({}), strict: 'true' } }] },
      {
        param: 'tools[0].function.strict',
        code: 'invalid_type',
        message: "Invalid type for 'tools[0].function.strict': expected a boolean, but got a string instead.",
      },
    ],
    [
      'a strict schema with 11 levels of nesting',
      strictFormat(nested(11)),
      {
        param: 'response_format',
        code: null,
        message: "Invalid schema for response_format 'out': 11 levels of nesting exceeds limit of 10.",
      },
    ],
    [
      'a strict schema requiring a key that is no property',
      strictFormat({ ...closed({ a: { type: 'string' } }), required: ['a', 'b'] }),
      {
        param: 'response_format',
        code: null,
        message:
          "Invalid schema for response_format 'out': In context=(), 'required' is required to be supplied and to be an array including every key in properties. Extra required key 'b' supplied.",
      },
    ],
    [
      'a strict schema with 5001 object properties',
      strictFormat(properties(5001)),
      { param: 'response_format', code: null, message: '5001 object properties exceeds limit of 5000.' },
    ],
    [
      'a strict schema with 1001 enum values',
      strictFormat(enumValues(1001)),
      { param: 'response_format', code: null, message: '1001 enum values exceeds limit of 1000.' },
    ],
    [
      // 200 values of 601 characters: fewer than 250 values, but 120,200 characters of enum values in all.
      'a strict schema whose names, enum and const values add up to more than 120,000 characters',
      strictFormat(
        closed({ e: { type: 'string', enum: Array.from({ length: 200 }, (_, index) => `${index}`.padEnd(601, '.')) } }),
      ),
      {
        param: 'response_format',
        code: null,
        message:
          "Invalid schema for response_format 'out': 120201 characters of property names, definition names, enum values and const values exceeds limit of 120000.",
      },
    ],
    [
      // 251 values of 60 characters: 15,060 characters in one enum of more than 250 string values.
      'a strict schema with one string enum of more than 250 values over 15,000 characters',
      strictFormat(
        closed({ e: { type: 'string', enum: Array.from({ length: 251 }, (_, index) => `${index}`.padEnd(60, '.')) } }),
      ),
      {
        param: 'response_format',
        code: null,
        message:
          "Invalid schema for response_format 'out': In context=('properties', 'e'), 15060 characters of enum values exceeds limit of 15000 for an enum of more than 250 string values.",
      },
    ],
    [
      'a strict tool schema over a limit',
      { tools: [{ type: 'function', function: { name: 'deep', parameters: nested(11), strict: true } }] },
      {
        param: 'tools[0].function.parameters',
        code: 'invalid_function_parameters',
        message: "Invalid schema for function 'deep': 11 levels of nesting exceeds limit of 10.",
      },
    ],
    [
      'metadata with 17 pairs',
      { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, 'v'])) },
      { param: 'metadata', code: 'object_above_max_properties', message: 'at most 16 properties, but got' },
    ],
    [
      'a metadata key longer than 64',
      { metadata: { ['k'.repeat(65)]: 'v' } },
      { param: 'metadata', code: 'string_above_max_length', message: 'key too long' },
    ],
    [
      'a metadata value longer than 512',
      { metadata: { note: 'v'.repeat(513) } },
      { param: 'metadata.note', code: 'string_above_max_length', message: 'maximum length 512' },
    ],
    [
      'a metadata value that is not a string',
      { metadata: { count: 3 } },
      { param: 'metadata.count', code: 'invalid_type', message: 'expected a string, but got an integer' },
    ],
    [
      'a safety_identifier longer than 128',
      { safety_identifier: 'u'.repeat(129) },
      { param: 'safety_identifier', code: 'string_above_max_length', message: 'maximum length 128' },
    ],
    [
      'tools that are not a list',
      { tools: 5 },
      { param: 'tools', code: 'invalid_type', message: 'expected an array, but got an integer' },
    ],
    [
      'a tool that is not an object',
      { tools: [tool('lookup'), null] },
      { param: 'tools[1]', code: 'invalid_type', message: 'expected an object, but got null' },
    ],
    [
      'tool_calls that are not a list',
      { messages: [...base.messages, { role: 'assistant', content: 'x', tool_calls: 'call' }] },
      { param: 'messages[1].tool_calls', code: 'invalid_type', message: 'expected an array, but got a string' },
    ],
    [
      "a tool_choice mode OpenAI does not have (Anthropic's any)",
      { tools: [tool('lookup')], tool_choice: 'any' },
      {
        param: 'tool_choice',
        code: 'invalid_value',
        message: "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'.",
      },
    ],
    [
      'a response_format of another type',
      { response_format: { type: 'json' } },
      {
        param: 'response_format.type',
        code: 'invalid_value',
        message: "Invalid value: 'json'. Supported values are: 'text', 'json_object', and 'json_schema'.",
      },
    ],
    [
      'an empty list of tool_calls',
      { messages: [...base.messages, { role: 'assistant', content: 'x', tool_calls: [] }] },
      { param: 'messages[1].tool_calls', code: 'empty_array', message: 'Expected an array with minimum length 1' },
    ],
    [
      'a tool call that is not an object',
      { messages: [...base.messages, { role: 'assistant', content: null, tool_calls: [null] }] },
      { param: 'messages[1].tool_calls[0]', code: 'invalid_type', message: 'expected an object, but got null' },
    ],
    [
      'a tool of a type the API does not have',
      { tools: [{ type: 'retrieval', function: { name: 'f' } }] },
      {
        param: 'tools[0].type',
        code: 'invalid_value',
        message: "Invalid value: 'retrieval'. Supported values are: 'function' and 'custom'.",
      },
    ],
    [
      'function parameters whose root is not an object schema',
      { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] },
      {
        param: 'tools[0].function.parameters',
        code: 'invalid_function_parameters',
        message: `Invalid schema for function 'f': schema must be a JSON Schema of 'type: "object"', got 'type: "string"'.`,
      },
    ],
    [
      'a reasoning_effort the API does not have',
      { reasoning_effort: 'extreme' },
      { param: 'reasoning_effort', code: 'invalid_value', message: "Invalid value: 'extreme'. Supported values are:" },
    ],
    [
      'a service_tier the API does not have',
      { service_tier: 'gold' },
      { param: 'service_tier', code: 'invalid_value', message: "Invalid value: 'gold'." },
    ],
    [
      'a message name with white space',
      { messages: [{ role: 'user', content: 'Hi', name: 'Ada Lovelace' }] },
      {
        param: 'messages[0].name',
        code: 'invalid_value',
        message: "Invalid 'messages[0].name': string does not match pattern.",
      },
    ],
    [
      'a tool call without an id',
      { messages: [...base.messages, called({ type: 'function', function: { name: 'f', arguments: '{}' } })] },
      {
        param: 'messages[1].tool_calls[0].id',
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'messages[1].tool_calls[0].id'.",
      },
    ],
    [
      'a tool call whose arguments are an object, not JSON text',
      { messages: [...base.messages, called({ id: 'c1', type: 'function', function: { name: 'f', arguments: {} } })] },
      {
        param: 'messages[1].tool_calls[0].function.arguments',
        code: 'invalid_type',
        message: 'expected a string, but got an object',
      },
    ],
    [
      'a tool call without a function name',
      { messages: [...base.messages, called({ id: 'c1', type: 'function', function: { arguments: '{}' } })] },
      {
        param: 'messages[1].tool_calls[0].function.name',
        code: 'missing_required_parameter',
        message: 'Missing required parameter',
      },
    ],
    [
      'an empty list of content parts',
      { messages: [{ role: 'user', content: [] }] },
      { param: 'messages[0].content', code: 'empty_array', message: 'Expected an array with minimum length 1' },
    ],
    [
      'a content part of a type the API does not have',
      { messages: [{ role: 'user', content: [{ type: 'bogus', text: 'x' }] }] },
      { param: 'messages[0].content[0].type', code: 'invalid_value', message: "Invalid value: 'bogus'." },
    ],
    [
      'a text part without its text',
      { messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      { param: 'messages[0].content[0].text', code: 'missing_required_parameter', message: 'Missing required' },
    ],
    [
      'a tool_choice naming a function that tools does not offer',
      { tools: [tool('lookup')], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
      {
        param: 'tool_choice',
        code: null,
        message:
          "Invalid value for 'tool_choice': no function named 'get_weather' was specified in the 'tools' parameter.",
      },
    ],
    [
      'a named tool_choice without tools',
      { tool_choice: { type: 'function', function: { name: 'lookup' } } },
      {
        param: 'tool_choice',
        code: null,
        message: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      },
    ],
    [
      'tool_choice required with an empty tools list',
      { tools: [], tool_choice: 'required' },
      { param: 'tools', code: 'empty_array', message: "Invalid 'tools': empty array." },
    ],
    [
      'tool_choice auto without tools',
      { tool_choice: 'auto' },
      { param: 'tool_choice', code: null, message: "'tool_choice' is only allowed when 'tools' are specified." },
    ],
    [
      'tool_choice none without tools',
      { tool_choice: 'none' },
      { param: 'tool_choice', code: null, message: "'tool_choice' is only allowed when 'tools' are specified." },
    ],
    [
      'a user message without content',
      { messages: [{ role: 'user' }] },
      {
        param: 'messages[0].content',
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'messages[0].content'.",
      },
    ],
    [
      'a user message whose content holds no object',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [null] },
        ],
      },
      {
        param: 'messages[1].content[0]',
        code: 'invalid_type',
        message:
          "Invalid type for 'messages[1].content[0]': expected one of a string or array of objects, but got null",
      },
    ],
    [
      'more than 128 tools',
      { tools: Array.from({ length: 129 }, (_, index) => tool(`t${index}`)) },
      {
        param: 'tools',
        code: 'array_above_max_length',
        message:
          "Invalid 'tools': array too long. Expected an array with maximum length 128, but got an array with length 129 instead.",
      },
    ],
    [
      'an empty list of tools',
      { tools: [] },
      {
        param: 'tools',
        code: 'empty_array',
        message:
          "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      },
    ],
    [
      'max_tokens beside max_completion_tokens',
      { max_tokens: 50, max_completion_tokens: 60 },
      {
        param: 'max_tokens',
        code: 'invalid_parameter_combination',
        message: "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
      },
    ],
    [
      'parallel_tool_calls without tools',
      { parallel_tool_calls: false, tools: [] },
      {
        param: 'parallel_tool_calls',
        code: null,
        message:
          "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
      },
    ],
    [
      'JSON mode with messages that never say json',
      {
        response_format: { type: 'json_object' },
        messages: [{ role: 'user', content: [{ type: 'text', text: 'An object, please' }] }],
      },
      {
        param: 'messages',
        code: null,
        message:
          "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
      },
    ],
    [
      // OpenAI's own error for an image in an assistant message (openai/openai-node#1030) and in a tool result
      // (OpenHands/OpenHands#7700): only a user message may carry one.
      'an image in a system message',
      {
        messages: [
          { role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
          ...base.messages,
        ],
      },
      {
        param: 'messages[0]',
        code: null,
        message:
          "Invalid 'messages[0]'. Image URLs are only allowed for messages with role 'user', but this message with role 'system' contains an image URL.",
      },
    ],
    [
      'an image in an assistant message',
      {
        messages: [
          ...base.messages,
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Here it is.' },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            ],
          },
          { role: 'user', content: 'Describe it.' },
        ],
      },
      {
        param: 'messages[1]',
        code: null,
        message:
          "Invalid 'messages[1]'. Image URLs are only allowed for messages with role 'user', but this message with role 'assistant' contains an image URL.",
      },
    ],
    [
      'an image in a tool result',
      {
        messages: [
          ...base.messages,
          called({ id: 'call_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } }),
          {
            role: 'tool',
            tool_call_id: 'call_1',
            content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }],
          },
        ],
      },
      {
        param: 'messages[2]',
        code: null,
        message:
          "Invalid 'messages[2]'. Image URLs are only allowed for messages with role 'user', but this message with role 'tool' contains an image URL.",
      },
    ],
    [
      // A tool_choice object of no shape the API has (Azure/azure-sdk-for-js#28325: `name` beside `type`, not in
      // `function`; langchain-ai/langchain#16767): OpenAI answers that the parameter is invalid.
      "a tool_choice of Anthropic's shape",
      { tools: [tool('lookup')], tool_choice: { type: 'tool', name: 'lookup' } },
      {
        param: null,
        code: null,
        message:
          "'$.tool_choice' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      },
    ],
    [
      // The custom tool's form of the rule above: a named tool must be one `tools` offers, of that type.
      'a custom tool_choice naming no custom tool that tools offers',
      { tools: [tool('lookup'), customTool('grammar')], tool_choice: { type: 'custom', custom: { name: 'lookup' } } },
      {
        param: 'tool_choice',
        code: null,
        message:
          "Invalid value for 'tool_choice': no custom tool named 'lookup' was specified in the 'tools' parameter.",
      },
    ],
    [
      'a custom tool_choice with its name beside the type',
      { tools: [customTool('grammar')], tool_choice: { type: 'custom', name: 'grammar' } },
      {
        param: null,
        code: null,
        message:
          "'$.tool_choice' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      },
    ],
    [
      'an allowed_tools tool_choice without its allowed_tools',
      { tools: [tool('lookup')], tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [tool('lookup')] } },
      {
        param: null,
        code: null,
        message:
          "'$.tool_choice' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      },
    ],
    [
      'a function tool_choice with its name beside the type',
      { tools: [tool('lookup')], tool_choice: { type: 'function', name: 'lookup' } },
      {
        param: null,
        code: null,
        message:
          "'$.tool_choice' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      },
    ],
    [
      'a tool_choice that is neither a string nor an object',
      { tools: [tool('lookup')], tool_choice: 1 },
      {
        param: null,
        code: null,
        message:
          "'$.tool_choice' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      },
    ],
    [
      // The deprecated function calling's own rule, as OpenAI words it (Azure-Samples/azure-search-openai-demo#1175).
      'a function_call without functions',
      { function_call: { name: 'lookup' } },
      {
        param: 'function_call',
        code: null,
        message: "Invalid value for 'function_call': 'function_call' is only allowed when 'functions' are specified.",
      },
    ],
    [
      // `parallel_tool_calls` is a boolean in the SDK's ChatCompletionCreateParamsBase, as `stream` and `store` are.
      'a parallel_tool_calls that is not a boolean',
      { tools: [tool('lookup')], parallel_tool_calls: 'yes' },
      {
        param: 'parallel_tool_calls',
        code: 'invalid_type',
        message: "Invalid type for 'parallel_tool_calls': expected a boolean, but got a string instead.",
      },
    ],
    [
      // The SDK's ChatCompletionContentPartImage: `image_url: { url: string; detail? }`, both required.
      'an image part without its image_url',
      { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
      {
        param: 'messages[0].content[0].image_url',
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'messages[0].content[0].image_url'.",
      },
    ],
    [
      'an image part whose image_url has no url',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { detail: 'low' } }] }] },
      {
        param: 'messages[0].content[0].image_url.url',
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'messages[0].content[0].image_url.url'.",
      },
    ],
    [
      "a parameter the API does not have (Anthropic's top_k)",
      { top_k: 40 },
      { param: null, code: null, message: 'Unrecognized request argument supplied: top_k' },
    ],
    [
      'a misspelt parameter',
      { max_token: 10 },
      { param: null, code: null, message: 'Unrecognized request argument supplied: max_token' },
    ],
  ])('refuses %s with a 400', async (_name, change, expected) => {
    const { status, error } = await send(change)
    expect(status).toBe(400)
    expect(error).toEqual({
      type: 'invalid_request_error',
      param: expected.param,
      code: expected.code,
      message: expect.stringContaining(expected.message),
    })
  })

  it('refuses max_completion_tokens or max_tokens over the most output tokens of a model it knows, as OpenAI does', async () => {
    for (const [model, limit] of [
      ['gpt-4o', 16_384],
      ['gpt-4o-2024-08-06', 16_384],
      ['gpt-4o-2024-05-13', 4_096],
      ['gpt-4o-mini', 16_384],
      ['gpt-4.1', 32_768],
      ['gpt-4.1-mini-2025-04-14', 32_768],
      ['gpt-4.1-nano', 32_768],
      ['o3', 100_000],
      ['o4-mini', 100_000],
    ] as const) {
      // A reasoning model takes no max_tokens at all (see below).
      const params = /^o\d/.test(model) ? ['max_completion_tokens'] : ['max_completion_tokens', 'max_tokens']
      for (const param of params) {
        const over = limit + 1
        expect(await send({ model, [param]: over }), `${model} ${param}`).toEqual({
          status: 400,
          error: {
            type: 'invalid_request_error',
            param,
            code: 'invalid_value',
            message: `${param} is too large: ${over}. This model supports at most ${limit} completion tokens, whereas you provided ${over}.`,
          },
        })
        expect(await send({ model, [param]: limit }), `${model} ${param}`).toEqual({ status: 200 })
      }
    }
    // A model it does not know (another provider's, behind an OpenAI-compatible API) is not held to any limit.
    expect(await send({ model: 'llama-3.3-70b', max_completion_tokens: 1_000_000 })).toEqual({ status: 200 })
  })

  it('refuses a temperature or top_p other than the default 1 for a reasoning model, as OpenAI does', async () => {
    const unsupported = (param: string, value: number) => ({
      status: 400,
      error: {
        type: 'invalid_request_error',
        param,
        code: 'unsupported_value',
        message: `Unsupported value: '${param}' does not support ${value} with this model. Only the default (1) value is supported.`,
      },
    })
    for (const model of ['o1', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5.1', 'ft:o4-mini-2025-04-16:acme::abc123']) {
      expect(await send({ model, temperature: 0 }), model).toEqual(unsupported('temperature', 0))
      expect(await send({ model, temperature: 0.7 }), model).toEqual(unsupported('temperature', 0.7))
      expect(await send({ model, top_p: 0.5 }), model).toEqual(unsupported('top_p', 0.5))
      expect(await send({ model, temperature: 1, top_p: 1 }), model).toEqual({ status: 200 })
      expect(await send({ model, temperature: null, top_p: null }), model).toEqual({ status: 200 })
      // With the reasoning turned off, they sample as the other models do.
      expect(await send({ model, temperature: 0, reasoning_effort: 'none' }), model).toEqual({ status: 200 })
    }
    // The range comes first: a temperature no model takes is named as out of range.
    expect((await send({ model: 'o3', temperature: 3 })).error).toMatchObject({ code: 'decimal_above_max_value' })
    for (const model of ['gpt-4o', 'gpt-4.1-mini', 'llama-3.3-70b'])
      expect(await send({ model, temperature: 0, top_p: 0.5 }), model).toEqual({ status: 200 })
  })

  it('refuses max_tokens, whatever its value, for a reasoning model, which takes only max_completion_tokens, as OpenAI does', async () => {
    const unsupported = {
      status: 400,
      error: {
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: 'unsupported_parameter',
        message:
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      },
    }
    for (const model of [
      'o1',
      'o1-mini',
      'o3',
      'o3-mini',
      'o3-2025-04-16',
      'o4-mini',
      'gpt-5',
      'gpt-5-mini',
      'gpt-5-nano',
      'gpt-5-2025-08-07',
      'gpt-5.1',
      'ft:o4-mini-2025-04-16:acme::abc123',
    ]) {
      expect(await send({ model, max_tokens: 100 }), model).toEqual(unsupported)
      expect(await send({ model, max_tokens: 1 }), model).toEqual(unsupported)
      // The parameter the model does not have is named, not the combination.
      expect(await send({ model, max_tokens: 100, max_completion_tokens: 100 }), model).toEqual(unsupported)
      expect(await send({ model, max_completion_tokens: 100 }), model).toEqual({ status: 200 })
      expect(await send({ model, max_completion_tokens: 100, max_tokens: null }), model).toEqual({ status: 200 })
    }
    // The other models still take the deprecated name.
    for (const model of [
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4.1-mini',
      'gpt-3.5-turbo',
      'ft:gpt-4o-mini-2024-07-18:acme::abc123',
      'llama-3.3-70b',
    ]) {
      expect(await send({ model, max_tokens: 100 }), model).toEqual({ status: 200 })
    }
  })

  it('accepts the same parameters at the edge of what is documented', async () => {
    const accepted = [
      { temperature: 0, presence_penalty: -2, frequency_penalty: 2 },
      { temperature: 2, presence_penalty: null, frequency_penalty: null, logit_bias: { '1': 100, '2': -100 } },
      { logprobs: true, top_logprobs: 20 },
      { logprobs: true, top_logprobs: 0, top_p: 1 },
      { top_p: 0, n: 1 },
      {
        max_tokens: 1,
        seed: -42,
        logprobs: false,
        messages: [{ role: 'user', content: 'Hi', name: 'ada_lovelace-1' }],
      },
      { max_completion_tokens: 4096, seed: 0, reasoning_effort: 'low', service_tier: 'auto' },
      { top_p: 0.5, n: 128 },
      { top_p: null, n: null },
      { top_logprobs: null, stream_options: null },
      { stop: ['a', 'b', 'c', 'd'] },
      { stop: 'a' },
      { stream: true, stream_options: { include_usage: true } },
      {
        metadata: {
          ...Object.fromEntries(Array.from({ length: 15 }, (_, index) => [`k${index}`, 'v'])),
          ['k'.repeat(64)]: 'v'.repeat(512),
        },
        safety_identifier: 'u'.repeat(128),
      },
      { metadata: null, safety_identifier: null, tools: null },
      {
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'system', content: 'Be kind.' },
          ...base.messages,
          { role: 'assistant', content: 'Hello.' },
          // A null list of tool calls is no calls: nothing to answer before the next message.
          { role: 'assistant', content: 'Hello again.', tool_calls: null },
          { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } },
          { role: 'function', name: 'f', content: 'done' },
          { role: 'user', content: 'Thanks' },
        ],
      },
      { tools: [tool('a'.repeat(64)), tool('get_weather-2')], ...strictFormat(closed({}), 'Out_put-1') },
      { tools: [tool('lookup'), tool('get_weather')], tool_choice: { type: 'function', function: { name: 'lookup' } } },
      { tools: [tool('lookup')], tool_choice: 'required' },
      { tools: [tool('lookup'), customTool('grammar')], tool_choice: { type: 'custom', custom: { name: 'grammar' } } },
      { tools: [tool('lookup')], tool_choice: 'auto', stream: true },
      { tools: [tool('lookup')], tool_choice: 'none' },
      { response_format: { type: 'text' } },
      { response_format: null },
      { tool_choice: null },
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in it?' },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            ],
          },
        ],
      },
      {
        tools: [tool('lookup')],
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [tool('lookup')] } },
      },
      { tools: [tool('lookup')], tool_choice: { type: 'function', function: { name: 'lookup' } }, function_call: null },
      { functions: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }], function_call: 'auto' },
      { tools: [tool('lookup')], parallel_tool_calls: false },
      { parallel_tool_calls: null },
      { tools: Array.from({ length: 128 }, (_, index) => tool(`t${index}`)) },
      { max_tokens: 50 },
      { max_completion_tokens: 60, max_tokens: null },
      {
        response_format: { type: 'json_object' },
        messages: [{ role: 'system', content: 'Answer in JSON.' }, ...base.messages],
      },
      {
        response_format: { type: 'json_object' },
        messages: [{ role: 'user', content: [{ type: 'text', text: 'as Json' }] }],
      },
      strictFormat(nested(10)),
      strictFormat(properties(5000)),
      strictFormat(enumValues(1000)),
      // A schema that is not strict is not held to strict mode's limits.
      { response_format: { type: 'json_schema', json_schema: { name: 'loose', schema: nested(11) } } },
    ]
    for (const change of accepted)
      expect(await send(change), JSON.stringify(change).slice(0, 80)).toEqual({ status: 200 })
  })
})
