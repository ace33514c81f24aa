import { getEventListeners } from 'node:events'
import { AbortError, ConfigurationError, TimeoutError, ValidationError } from '@tinyllm/core'
import {
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  LLMCall,
  ProviderCallError,
  RateLimitError,
  toJsonSchema,
} from '@tinyllm/llm'
import { createMemoryLogger, registeredSecretCount, setDefaultLogger } from '@tinyllm/logger'
import { holdUntilClosed } from '@tinyllm/testing'
import { OpenAI } from 'openai'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { OpenAIChat } from './openai-chat.js'
import { OpenAIChatModel, type OpenAIChatModelOptions } from './openai-chat-model.js'
import type { OpenAICompatibleServer, OpenAICompatibleServerOptions } from './testing/index.js'
import { startOpenAICompatibleServer } from './testing/index.js'

let server: OpenAICompatibleServer | undefined

afterEach(async () => {
  vi.unstubAllEnvs()
  await server?.close()
  server = undefined
})

async function start(
  serverOptions: OpenAICompatibleServerOptions = {},
  modelOptions: Partial<OpenAIChatModelOptions> = {},
): Promise<{ server: OpenAICompatibleServer; model: OpenAIChatModel }> {
  const started = await startOpenAICompatibleServer({ created: 1_700_000_000, ...serverOptions })
  server = started
  const options = { model: 'gpt-4o-mini', apiKey: 'test-key', baseURL: started.baseURL, ...modelOptions }
  return { server: started, model: new OpenAIChatModel(options as OpenAIChatModelOptions) }
}

const ask = (content: string, settings: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content }],
  ...settings,
})

async function collect(
  stream: AsyncIterable<ChatStreamPart>,
): Promise<{ parts: ChatStreamPart[]; result: ChatResult }> {
  const parts: ChatStreamPart[] = []
  for await (const part of stream) parts.push(part)
  const last = parts.at(-1)
  if (last?.type !== 'finish') throw new Error('stream did not end with a finish part')
  return { parts, result: last.result }
}

/** A `fetch` of the caller's own whose body fails after its first bytes, with what a runtime's `fetch` may fail with. */
function bodyFailingFetch(failure: unknown): typeof fetch {
  return async (input, init) => {
    const answer = await fetch(input, init)
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader()
    let sent = false
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value } = await reader.read()
        if (!sent && value !== undefined) {
          sent = true
          controller.enqueue(value.slice(0, 10))
          return
        }
        reader.cancel().catch(() => {})
        controller.error(failure)
      },
    })
    return new Response(body, { status: answer.status, headers: answer.headers })
  }
}

/**
 * The refusal of a setting given with a call's input: invalid input, whose cause is the provider's refusal, named after
 * the call as at construction.
 */
function inputRefusal(error: unknown): ConfigurationError {
  expect(ValidationError.isInstance(error), String(error)).toBe(true)
  const cause = (error as ValidationError).cause
  expect(ConfigurationError.isInstance(cause)).toBe(true)
  return cause as ConfigurationError
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
} as const

describe('OpenAIChatModel settings', () => {
  it('sends every setting to the wire under the names the API expects', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    await model.doGenerate({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        },
        { role: 'tool', toolCallId: 'call_1', content: '{"celsius":21}' },
      ],
      model: 'gpt-4.1-mini',
      temperature: 0.3,
      topP: 0.9,
      maxTokens: 55,
      n: 2,
      stop: ['\n\n', 'END'],
      seed: 42,
      presencePenalty: 0.5,
      frequencyPenalty: -0.25,
      responseFormat: {
        type: 'json_schema',
        name: 'weather',
        description: 'a weather report',
        schema: { type: 'object', properties: { celsius: { type: 'number' } } },
        strict: true,
      },
      tools: [weatherTool],
      toolChoice: { name: 'get_weather' },
      user: 'user-1234',
      providerOptions: { openai: { reasoning_effort: 'low', service_tier: 'flex', logprobs: true } },
    })
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]?.body).toEqual({
      model: 'gpt-4.1-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":21}' },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_completion_tokens: 55,
      n: 2,
      stop: ['\n\n', 'END'],
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: -0.25,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'weather',
          description: 'a weather report',
          // strict: the schema is made strict-mode valid on the way
          schema: {
            type: 'object',
            properties: { celsius: { type: ['number', 'null'] } },
            required: ['celsius'],
            additionalProperties: false,
          },
          strict: true,
        },
      },
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: { ...weatherTool.parameters, additionalProperties: false },
            strict: true,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      user: 'user-1234',
      reasoning_effort: 'low',
      service_tier: 'flex',
      logprobs: true,
      stream: false,
    })
  })

  it('sends the default model, string tool choices and json_object, and nothing that was not set or asks for nothing', async () => {
    const { server, model } = await start({ replies: ['a', 'b', 'c'] })
    await model.doGenerate(ask('one'))
    await model.doGenerate(
      ask('two, as JSON', { toolChoice: 'required', tools: [weatherTool], responseFormat: { type: 'json_object' } }),
    )
    await model.doGenerate(ask('three', { toolChoice: 'none', temperature: 0, responseFormat: { type: 'text' } }))
    expect(server.requests.map((request) => request.body)).toEqual([
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }], stream: false },
      expect.objectContaining({ tool_choice: 'required', response_format: { type: 'json_object' } }),
      // `none` without tools asks for nothing, and the API refuses a tool_choice then: it is left out.
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'three' }],
        stream: false,
        temperature: 0,
        response_format: { type: 'text' },
      },
    ])
  })

  it('lets typed settings win over providerOptions, and never lets providerOptions change messages or stream', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true })
    await model.doGenerate(
      ask('hi', {
        temperature: 1,
        providerOptions: { openai: { temperature: 0, messages: [], stream: true, max_tokens: 7 }, other: { x: 1 } },
      }),
    )
    const body = server.requests[0]?.body as Record<string, unknown>
    expect(body.temperature).toBe(1)
    expect(body.messages).toEqual([{ role: 'user', content: 'hi' }])
    expect(body.stream).toBe(false)
    expect(body.max_tokens).toBe(7)
    expect(body).not.toHaveProperty('x')
  })

  it('refuses an n in providerOptions, which a budget would not count, at construction and per call', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    const settings = { maxTokens: 100, providerOptions: { openai: { n: 8 } } }
    expect(() => new LLMCall({ name: 'chat', model, settings })).toThrow(
      'chat: providerOptions.openai.n must be absent (set n instead), got 8',
    )
    const error = await rejection(new LLMCall({ name: 'chat', model }).invoke(ask('a', settings)))
    const refusal = inputRefusal(error)
    expect(refusal.message).toBe('chat: providerOptions.openai.n must be absent (set n instead), got 8')
    expect(server.requests).toHaveLength(0)
  })

  it('refuses tools in providerOptions, whose every call would fail as unknown-tool, at construction and per call', async () => {
    const { server, model } = await start({ replies: [{ toolCalls: [{ name: 'get_weather', arguments: '{}' }] }] })
    const wireTool = { type: 'function', function: { name: 'get_weather', parameters: weatherTool.parameters } }
    const settings = { providerOptions: { openai: { tools: [wireTool] } } }
    const expected = 'chat: providerOptions.openai.tools must be absent (set tools instead'
    expect(() => new LLMCall({ name: 'chat', model, settings })).toThrow(expected)
    const error = await rejection(new LLMCall({ name: 'chat', model }).invoke(ask('weather?', settings)))
    const refusal = inputRefusal(error)
    expect(refusal.message).toContain(expected)
    expect(server.requests).toHaveLength(0)
  })

  it('refuses more than 128 tools, which OpenAI refuses, at construction and per call', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    const tools = Array.from({ length: 129 }, (_, index) => ({ ...weatherTool, name: `tool_${index}` }))
    expect(() => new LLMCall({ name: 'chat', model, settings: { tools } })).toThrow(
      'chat: tools must be at most 128 for OpenAI, got 129',
    )
    const error = await rejection(new LLMCall({ name: 'chat', model }).invoke(ask('a', { tools })))
    expect(inputRefusal(error).option).toBe('tools')
    expect(server.requests).toHaveLength(0)
    await model.doGenerate(ask('a', { tools: tools.slice(0, 128) }))
    expect(server.chatRequests[0]?.tools).toHaveLength(128)
  })

  it('refuses tool parameters that are not an object schema, which OpenAI refuses, at construction and per call, streamed or not, unsent; sends one without a type as an object', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    const cases = [
      [{ type: 'array', items: { type: 'string' } }, "chat: tools[0].parameters.type must be 'object'"],
      [{ type: ['object', 'null'], properties: {} }, "chat: tools[0].parameters.type must be 'object'"],
      [[], 'chat: tools[0].parameters must be an object schema'],
    ] as const
    for (const [parameters, message] of cases) {
      const tools = [{ name: 'lookup', parameters: parameters as unknown as Record<string, unknown> }]
      expect(() => new LLMCall({ name: 'chat', model, settings: { tools } })).toThrow(message)
      const call = new LLMCall({ name: 'chat', model, retry: { attempts: 3, initialDelayMs: 1 } })
      const stream = call.stream(ask('a', { tools }))
      for (const error of [await rejection(call.invoke(ask('a', { tools }))), await rejection(stream.result)]) {
        const refusal = inputRefusal(error)
        expect(refusal.message).toContain(message)
      }
    }
    expect(server.requests).toHaveLength(0)
    const typeless = { properties: { city: { type: 'string' } } }
    expect(
      await new LLMCall({ name: 'chat', model }).invoke(
        ask('a', { tools: [{ name: 'lookup', parameters: typeless }] }),
      ),
    ).toBe('ok')
    expect(server.chatRequests[0]?.tools?.[0]).toEqual({
      type: 'function',
      function: { name: 'lookup', parameters: { type: 'object', ...typeless } },
    })
  })

  it('refuses a response format name OpenAI refuses (a space, over 64 characters), at construction and per call, streamed or not, unsent', async () => {
    const { server, model } = await start({ replies: ['{}'] })
    const schema = { type: 'object', properties: {} }
    for (const name of ['credit decision', 'a'.repeat(65), '']) {
      const responseFormat = { type: 'json_schema', name, schema } as const
      const message = 'chat: responseFormat.name must be 1–64 letters, digits, _ or -'
      expect(() => new LLMCall({ name: 'chat', model, settings: { responseFormat } })).toThrow(message)
      const call = new LLMCall({ name: 'chat', model, retry: { attempts: 3, initialDelayMs: 1 } })
      const stream = call.stream(ask('a', { responseFormat }))
      for (const error of [
        await rejection(call.invoke(ask('a', { responseFormat }))),
        await rejection(stream.result),
      ]) {
        const refusal = inputRefusal(error)
        expect(refusal.message).toContain(message)
      }
    }
    expect(server.requests).toHaveLength(0)
    const longest = { type: 'json_schema', name: 'a'.repeat(64), schema } as const
    await new LLMCall({ name: 'chat', model }).invoke(ask('a', { responseFormat: longest }))
    expect(server.requests).toHaveLength(1)
  })

  it('refuses a client that is not an object at construction, naming the call or the model, never showing it', () => {
    for (const client of [null, 'sk-given-as-the-client', 5]) {
      const refusals = [
        () => new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', client: client as unknown as OpenAI }),
        () => new OpenAIChatModel({ model: 'gpt-4o-mini', client: client as unknown as OpenAI }),
      ]
      for (const [index, refuse] of refusals.entries()) {
        const error = (() => {
          try {
            refuse()
          } catch (caught) {
            return caught
          }
          return undefined
        })()
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as ConfigurationError).option).toBe('client')
        expect((error as Error).message).toMatch(
          index === 0 ? /^chat: client must be/ : /^OpenAIChatModel: client must be/,
        )
        expect((error as Error).message).not.toContain('sk-given')
      }
    }
  })

  it('refuses an n above 128 and a top_logprobs outside 0-20 or without logprobs, which OpenAI refuses, before sending', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true })
    const refused: Array<[Partial<ChatRequest>, string]> = [
      [{ n: 200 }, 'chat: n must be an integer ≥ 1 and ≤ 128, got 200'],
      [
        { providerOptions: { openai: { logprobs: true, top_logprobs: 50 } } },
        'chat: providerOptions.openai.top_logprobs must be an integer ≥ 0 and ≤ 20, got 50',
      ],
      [
        { providerOptions: { openai: { logprobs: true, top_logprobs: 1.5 } } },
        'chat: providerOptions.openai.top_logprobs must be an integer ≥ 0 and ≤ 20, got 1.5',
      ],
      [
        { providerOptions: { openai: { top_logprobs: 3 } } },
        'chat: providerOptions.openai.logprobs must be true when top_logprobs is set (OpenAI refuses it otherwise), got undefined',
      ],
    ]
    for (const [settings, message] of refused) {
      expect(() => new LLMCall({ name: 'chat', model, settings })).toThrow(message)
      const error = await rejection(new LLMCall({ name: 'chat', model }).invoke(ask('a', settings)))
      const refusal = inputRefusal(error)
      expect(refusal.message).toBe(message)
    }
    expect(server.requests).toHaveLength(0)
    await model.doGenerate(ask('a', { n: 128, providerOptions: { openai: { logprobs: true, top_logprobs: 20 } } }))
    expect(server.chatRequests[0]).toMatchObject({ n: 128, logprobs: true, top_logprobs: 20 })
  })

  it('refuses a setting given under its wire name in providerOptions.openai (temperature, top_p…) outside the range OpenAI takes, as the typed setting is, unsent', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true })
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ temperature: 5 }, 'chat: providerOptions.openai.temperature must be a number ≥ 0 and ≤ 2, got 5'],
      [{ top_p: 3 }, 'chat: providerOptions.openai.top_p must be a number ≥ 0 and ≤ 1, got 3'],
      [{ presence_penalty: 9 }, 'chat: providerOptions.openai.presence_penalty must be a number ≥ -2 and ≤ 2, got 9'],
      [
        { frequency_penalty: -3 },
        'chat: providerOptions.openai.frequency_penalty must be a number ≥ -2 and ≤ 2, got -3',
      ],
      [{ seed: 1.5 }, 'chat: providerOptions.openai.seed must be an integer, got 1.5'],
      [
        { max_completion_tokens: 0 },
        'chat: providerOptions.openai.max_completion_tokens must be an integer ≥ 1 and ≤ 100000000, got 0',
      ],
      [{ max_tokens: 2.5 }, 'chat: providerOptions.openai.max_tokens must be an integer ≥ 1 and ≤ 100000000, got 2.5'],
    ]
    for (const [openai, message] of refused) {
      const settings = { providerOptions: { openai } }
      expect(() => new LLMCall({ name: 'chat', model, settings }), message).toThrow(message)
      const error = await rejection(new LLMCall({ name: 'chat', model }).invoke(ask('a', settings)))
      expect(inputRefusal(error).message).toBe(message)
    }
    expect(server.requests).toHaveLength(0)
    // In range, or null (OpenAI's absent), they are sent as they are.
    const accepted = { temperature: 2, top_p: 0, presence_penalty: -2, seed: null, max_completion_tokens: 10 }
    await model.doGenerate(ask('a', { providerOptions: { openai: accepted } }))
    expect(server.chatRequests[0]).toMatchObject(accepted)
  })

  it('refuses a maxTokens above 100,000,000 (1e20) in a request it is given directly, in the format of every option, unsent', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true })
    for (const maxTokens of [1e20, 100_000_001]) {
      const message = `chat: maxTokens must be an integer ≥ 1 and ≤ 100000000, got ${maxTokens}`
      expect(() => model.checkSettings({ maxTokens }, 'chat')).toThrow(message)
      const generated = await rejection(model.doGenerate(ask('a', { maxTokens })))
      const streamed = await rejection(collect(model.doStream(ask('a', { maxTokens }))))
      for (const error of [generated, streamed]) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ option: 'maxTokens' })
        expect((error as Error).message).toBe(message.slice('chat: '.length))
      }
    }
    expect(server.requests).toHaveLength(0)
    // The bound itself passes (the API then says what the model takes).
    expect(() => model.checkSettings({ maxTokens: 100_000_000 }, 'chat')).not.toThrow()
  })

  it('refuses max_tokens in providerOptions beside maxTokens, which OpenAI refuses together, before sending', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true })
    const message =
      'chat: providerOptions.openai.max_tokens must be absent when maxTokens is set (OpenAI refuses max_tokens and max_completion_tokens together), got 50'
    for (const settings of [
      { maxTokens: 100, providerOptions: { openai: { max_tokens: 50 } } },
      { providerOptions: { openai: { max_tokens: 50, max_completion_tokens: 60 } } },
    ]) {
      expect(() => new LLMCall({ name: 'chat', model, settings })).toThrow(message)
      const error = await rejection(new LLMCall({ name: 'chat', model }).invoke(ask('a', settings)))
      const refusal = inputRefusal(error)
      expect(refusal.message).toBe(message)
    }
    expect(server.requests).toHaveLength(0)
    // Either one alone still reaches the wire.
    await model.doGenerate(ask('a', { providerOptions: { openai: { max_tokens: 50 } } }))
    await model.doGenerate(ask('a', { maxTokens: 100 }))
    expect(server.chatRequests.map((body) => [body.max_tokens, body.max_completion_tokens])).toEqual([
      [50, undefined],
      [undefined, 100],
    ])
  })

  it('refuses max_tokens in providerOptions for a reasoning model, which OpenAI refuses, before sending', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true }, { model: 'o3' })
    const settings = { providerOptions: { openai: { max_tokens: 50 } } }
    const message = (id: string) =>
      `chat: providerOptions.openai.max_tokens must be absent for ${id} (OpenAI's reasoning models refuse max_tokens; set maxTokens, sent as max_completion_tokens), got 50`
    expect(() => new LLMCall({ name: 'chat', model, settings })).toThrow(message('o3'))
    // The model a request names, not the default, is the one that would refuse it.
    const other = new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 'test-key', baseURL: server.baseURL })
    for (const [chatModel, request, id] of [
      [model, ask('a', settings), 'o3'],
      [other, ask('a', { ...settings, model: 'gpt-5-mini' }), 'gpt-5-mini'],
    ] as const) {
      const error = await rejection(new LLMCall({ name: 'chat', model: chatModel }).invoke(request))
      const refusal = inputRefusal(error)
      expect(refusal.message).toBe(message(id))
      expect(await rejection(chatModel.doGenerate(request))).toBeInstanceOf(ConfigurationError)
    }
    expect(server.requests).toHaveLength(0)
    // maxTokens reaches a reasoning model as the parameter it takes, and another model still gets max_tokens as given.
    await model.doGenerate(ask('a', { maxTokens: 100 }))
    await collect(model.doStream(ask('a', { maxTokens: 100 })))
    await other.doGenerate(ask('a', settings))
    expect(server.chatRequests.map((body) => [body.model, body.max_tokens, body.max_completion_tokens])).toEqual([
      ['o3', undefined, 100],
      ['o3', undefined, 100],
      ['gpt-4o-mini', 50, undefined],
    ])
  })

  it('refuses a temperature or top_p other than 1 for a reasoning model, which OpenAI refuses, before sending', async () => {
    const { server, model } = await start({ replies: ['ok'], cycleReplies: true }, { model: 'o3' })
    const hint =
      "OpenAI's reasoning models take only the default; or set providerOptions.openai.reasoning_effort to 'none'"
    expect(() => new LLMCall({ name: 'chat', model, settings: { temperature: 0 } })).toThrow(
      `chat: temperature must be 1 or absent for o3 (${hint}), got 0`,
    )
    const other = new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 'test-key', baseURL: server.baseURL })
    for (const [chatModel, request, message] of [
      [model, ask('a', { topP: 0.5 }), `chat: topP must be 1 or absent for o3 (${hint}), got 0.5`],
      [
        model,
        ask('a', { providerOptions: { openai: { temperature: 0.2 } } }),
        `chat: providerOptions.openai.temperature must be 1 or absent for o3 (${hint}), got 0.2`,
      ],
      [
        other,
        ask('a', { model: 'gpt-5-mini', providerOptions: { openai: { top_p: 0 } } }),
        `chat: providerOptions.openai.top_p must be 1 or absent for gpt-5-mini (${hint}), got 0`,
      ],
    ] as const) {
      const error = await rejection(new LLMCall({ name: 'chat', model: chatModel }).invoke(request))
      expect(inputRefusal(error).message).toBe(message)
      expect(await rejection(chatModel.doGenerate(request))).toBeInstanceOf(ConfigurationError)
    }
    expect(server.requests).toHaveLength(0)
    // The default 1 is taken, as are any values with the reasoning turned off, and any on another model.
    await model.doGenerate(ask('a', { temperature: 1, topP: 1 }))
    await model.doGenerate(ask('a', { temperature: 0, providerOptions: { openai: { reasoning_effort: 'none' } } }))
    await other.doGenerate(ask('a', { temperature: 0, topP: 0.5 }))
    expect(server.chatRequests.map((body) => [body.model, body.temperature, body.top_p])).toEqual([
      ['o3', 1, 1],
      ['o3', 0, undefined],
      ['gpt-4o-mini', 0, 0.5],
    ])
  })

  it('streams with include_usage, keeping other stream_options passed through providerOptions', async () => {
    const { server, model } = await start({ replies: ['streamed'] })
    await collect(
      model.doStream(
        ask('hi', { seed: 1, providerOptions: { openai: { stream_options: { include_obfuscation: false } } } }),
      ),
    )
    expect(server.requests[0]?.body).toMatchObject({
      stream: true,
      seed: 1,
      stream_options: { include_obfuscation: false, include_usage: true },
    })
  })
})

describe('OpenAIChatModel results', () => {
  it('reports every chunk of a stream as activity, a refusal streamed without text included', async () => {
    const { server, model } = await start()
    const chunk = (delta: object, finishReason: string | null = null) => ({
      id: 'chatcmpl-refused',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    })
    const refusal = ["I'm ", 'sorry, ', 'I ', 'cannot ', 'help.'].map((piece) => chunk({ refusal: piece }))
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [chunk({ role: 'assistant', content: null }), ...refusal, chunk({}, 'stop'), '[DONE]'],
    }))
    let heard = 0
    const { parts, result } = await collect(model.doStream(ask('hi'), { onActivity: () => (heard += 1) }))
    // No part but the finish: without activity, a refusal that takes a while to stream would look like a silent stream.
    expect(parts.map((part) => part.type)).toEqual(['finish'])
    expect(heard).toBe(7)
    expect(result.choices[0]?.finishReason).toBe('content_filter')
  })

  it('returns text, usage, model and request id', async () => {
    const { model } = await start({
      replies: [{ content: 'Hello!', usage: { promptTokens: 11, completionTokens: 3 } }],
    })
    const result = await model.doGenerate(ask('hi'))
    expect(result.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: 'Hello!' }, finishReason: 'stop' },
    ])
    expect(result.usage).toEqual({ inputTokens: 11, outputTokens: 3, totalTokens: 14 })
    expect(result.model).toBe('gpt-4o-mini')
    expect(result.requestId).toBe('req_0')
    expect(result.raw).toMatchObject({ object: 'chat.completion', id: 'chatcmpl-loopback-0' })
  })

  it('returns every choice when n > 1', async () => {
    const { model } = await start({
      replies: [{ choices: [{ content: 'good' }, { content: 'bad' }, { content: 'good' }] }],
    })
    const result = await model.doGenerate(ask('classify', { n: 3 }))
    expect(result.choices.map((choice) => [choice.index, choice.message.content])).toEqual([
      [0, 'good'],
      [1, 'bad'],
      [2, 'good'],
    ])
  })

  it('returns tool calls typed, and sends the tool round trip back', async () => {
    const { server, model } = await start({
      replies: [
        { toolCalls: [{ id: 'call_7', name: 'get_weather', arguments: { city: 'Paris' } }] },
        'It is 21°C in Paris.',
      ],
    })
    const first = await model.doGenerate(ask('Weather in Paris?', { tools: [weatherTool] }))
    const call = first.choices[0]?.message.toolCalls?.[0]
    expect(first.choices[0]?.finishReason).toBe('tool_calls')
    expect(first.choices[0]?.message.content).toBeNull()
    expect(call).toEqual({ id: 'call_7', name: 'get_weather', arguments: '{"city":"Paris"}' })
    if (call === undefined) throw new Error('no tool call')
    const second = await model.doGenerate({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        first.choices[0]!.message,
        { role: 'tool', toolCallId: call.id, content: JSON.stringify({ celsius: 21 }) },
      ],
      tools: [weatherTool],
    })
    expect(second.choices[0]?.message.content).toBe('It is 21°C in Paris.')
    expect(server.chatRequests[1]?.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_7', content: '{"celsius":21}' },
    ])
  })

  it('assembles a stream into the same result as the JSON call: text, tool calls, n choices, usage', async () => {
    const reply = {
      choices: [
        { content: 'The quick brown fox jumps over the lazy dog.' },
        { content: 'Let me check.', toolCalls: [{ id: 'call_a', name: 'get_weather', arguments: { city: 'Lyon' } }] },
      ],
    }
    const { model } = await start({ replies: [reply, reply], chunkChars: 3 })
    const json = await model.doGenerate(ask('hi', { n: 2 }))
    const { parts, result } = await collect(model.doStream(ask('hi', { n: 2 })))
    // Each response has an id of its own; everything else is the same.
    const { raw: _jsonRaw, requestId: _jsonId, responseId: jsonResponseId, ...expected } = json
    const { raw: streamRaw, requestId, responseId, ...actual } = result
    expect(actual).toEqual(expected)
    expect(requestId).toBe('req_1')
    expect([jsonResponseId, responseId]).toEqual(['chatcmpl-loopback-0', 'chatcmpl-loopback-1'])
    expect(streamRaw).toMatchObject({ object: 'chat.completion', usage: { total_tokens: json.usage?.totalTokens } })
    expect(json.usage?.totalTokens).toBeGreaterThan(0)
    const text = parts.flatMap((part) => (part.type === 'text-delta' && part.choiceIndex === 0 ? [part.text] : []))
    expect(text.length).toBeGreaterThan(5)
    expect(text.join('')).toBe('The quick brown fox jumps over the lazy dog.')
    const toolDeltas = parts.filter((part) => part.type === 'tool-call-delta')
    expect(toolDeltas[0]).toEqual({
      type: 'tool-call-delta',
      choiceIndex: 1,
      toolCallIndex: 0,
      id: 'call_a',
      name: 'get_weather',
      argumentsDelta: '',
    })
    expect(toolDeltas.map((part) => part.argumentsDelta).join('')).toBe('{"city":"Lyon"}')
    expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1)
  })
})

describe('OpenAIChatModel tool call ids another provider gave', () => {
  it('sends an id longer than OpenAI takes (40 characters) as one it takes, paired with its result, two ids never made one', async () => {
    const { server, model } = await start({ replies: ['done'] })
    const ids = [`call_${'a'.repeat(40)}|fc_1`, `call_${'a'.repeat(40)}|fc_2`, 'toolu_01A09q90qw90lq917835lq9']
    const answer = await model.doGenerate({
      messages: [
        { role: 'user', content: 'Weather in Paris, Rome and Oslo?' },
        {
          role: 'assistant',
          content: null,
          toolCalls: ids.map((id, index) => ({ id, name: 'get_weather', arguments: `{"city":${index}}` })),
        },
        ...ids.map((id) => ({ role: 'tool' as const, toolCallId: id, content: '20 °C' })),
      ],
    })
    expect(answer.choices[0]?.message.content).toBe('done')
    const body = server.requests[0]?.body as { messages: Array<Record<string, unknown>> } | undefined
    const messages = body?.messages ?? []
    const sent = ((messages[1]?.tool_calls ?? []) as Array<{ id: string }>).map((call) => call.id)
    expect(sent.every((id) => id.length <= 40)).toBe(true)
    expect(new Set(sent).size).toBe(3)
    expect(sent[2]).toBe('toolu_01A09q90qw90lq917835lq9')
    expect(messages.slice(2).map((message) => message.tool_call_id)).toEqual(sent)
  })
})

/** A chat completion stream that sends two words, then nothing more until `signal` says the exchange ended. */
async function* wordsUntilClosed(signal: AbortSignal): AsyncIterable<object> {
  for (const word of ['one ', 'two ']) {
    yield {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { role: 'assistant', content: word }, finish_reason: null }],
    }
  }
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
}

describe('OpenAIChatModel errors', () => {
  it('a request it cannot read (a getter that throws, messages that are no list) fails with a tinyllm error, generated or streamed, unsent', async () => {
    const { server, model } = await start()
    const throwing = {
      role: 'user',
      get content(): never {
        throw new Error('unreadable content')
      },
    }
    const requests = [{ messages: [throwing] }, { messages: 5 }] as unknown as ChatRequest[]
    for (const request of requests) {
      for (const call of [() => model.doGenerate(request), () => collect(model.doStream(request))]) {
        const error = await rejection(call())
        expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
        expect(error).toMatchObject({ retryable: false, providerErrorType: 'invalid_request' })
        expect((error as Error).message).toContain('the request could not be sent')
      }
    }
    expect(server.requests).toHaveLength(0)
  })

  it('call options it cannot read (a signal getter or Proxy that throws, a signal that is none, an onActivity that is no function) reject with a ConfigurationError, generated or streamed, unsent', async () => {
    const { server, model } = await start()
    const throwingSignal = {
      get signal(): never {
        throw new Error('unreadable signal')
      },
    }
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile proxy')
        },
      },
    )
    for (const options of [throwingSignal, proxy, { signal: 'stop' }, { onActivity: 'tick' }, 42]) {
      let generated: Promise<ChatResult> | undefined
      expect(() => {
        generated = model.doGenerate(ask('hi'), options as never)
      }).not.toThrow()
      for (const call of [() => generated, () => collect(model.doStream(ask('hi'), options as never))]) {
        const error = await rejection(call() as Promise<unknown>)
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as Error).message).toMatch(
          /^OpenAIChatModel: (options|signal|options\.onActivity must be a function)/,
        )
      }
    }
    expect(server.requests).toHaveLength(0)
  })

  it('call options holding something other than a cancel scope under its public symbol reject with a ConfigurationError, unsent', async () => {
    const { server, model } = await start()
    for (const forged of [null, 5, {}]) {
      const options = { [Symbol.for('tinyllm.cancelScope')]: forged } as never
      for (const call of [
        () => model.doGenerate(ask('hi'), options),
        () => collect(model.doStream(ask('hi'), options)),
      ]) {
        const error = await rejection(call())
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as Error).message).toMatch(/^OpenAIChatModel: options\[cancelScope\] must be a CancelScope, got /)
      }
    }
    expect(server.requests).toHaveLength(0)
  })

  it.each([400, 401, 403, 404, 422])(
    'maps %i to a non-retryable ProviderCallError with status and request id',
    async (status) => {
      const { server, model } = await start({
        faults: [{ kind: 'status', status, headers: { 'x-request-id': 'req_abc' } }],
      })
      const error = await rejection(model.doGenerate(ask('hi')))
      expect(ProviderCallError.isInstance(error)).toBe(true)
      expect(RateLimitError.isInstance(error)).toBe(false)
      const failure = error as ProviderCallError
      expect(failure).toMatchObject({ provider: 'openai', status, requestId: 'req_abc', retryable: false })
      expect(failure.providerErrorType).toBeTypeOf('string')
      expect(failure.message).toContain(String(status))
      expect(failure.message).toContain('req_abc')
      expect((failure.cause as { status?: number }).status).toBe(status)
      expect(server.requests).toHaveLength(1)
    },
  )

  it.each([408, 409, 500, 502, 503, 504])('maps %i to a retryable ProviderCallError, sent once', async (status) => {
    const { server, model } = await start({ faults: [{ kind: 'status', status }] })
    const error = await rejection(model.doGenerate(ask('hi')))
    expect(error).toMatchObject({ name: 'ProviderCallError', status, retryable: true, requestId: 'req_0' })
    expect(server.requests).toHaveLength(1)
  })

  it('maps 429 to a RateLimitError carrying retry-after, with the provider error code', async () => {
    const { model } = await start({
      faults: [
        { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
        { kind: 'status', status: 429, headers: { 'retry-after-ms': '150', 'retry-after': '9' } },
        { kind: 'status', status: 429, headers: { 'retry-after': 'soon' } },
      ],
    })
    const first = await rejection(model.doGenerate(ask('a')))
    expect(RateLimitError.isInstance(first)).toBe(true)
    expect(first).toMatchObject({
      status: 429,
      retryable: true,
      retryAfterMs: 2000,
      providerErrorType: 'rate_limit_exceeded',
    })
    expect(await rejection(model.doGenerate(ask('b')))).toMatchObject({ retryAfterMs: 150 })
    expect(await rejection(model.doGenerate(ask('c')))).toMatchObject({ retryAfterMs: undefined, retryable: true })
  })

  it('keeps a retry-after hint on retryable server errors, and none on final ones', async () => {
    const { model } = await start({
      faults: [
        { kind: 'status', status: 503, headers: { 'retry-after': '3' } },
        { kind: 'status', status: 400, headers: { 'retry-after': '3' } },
      ],
    })
    expect(await rejection(model.doGenerate(ask('a')))).toMatchObject({ status: 503, retryAfterMs: 3000 })
    expect(await rejection(model.doGenerate(ask('b')))).toMatchObject({ status: 400, retryAfterMs: undefined })
  })

  it('honours x-should-retry from the server', async () => {
    const { model } = await start({
      faults: [
        { kind: 'status', status: 400, headers: { 'x-should-retry': 'true' } },
        { kind: 'status', status: 503, headers: { 'x-should-retry': 'false' } },
      ],
    })
    expect(await rejection(model.doGenerate(ask('a')))).toMatchObject({ status: 400, retryable: true })
    expect(await rejection(model.doGenerate(ask('b')))).toMatchObject({ status: 503, retryable: false })
  })

  it('never shows the key of a client passed in, even one given a new key after the model was built', async () => {
    const started = await startOpenAICompatibleServer()
    server = started
    started.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: {
          message: `invalid key ${request.headers.authorization?.slice('Bearer '.length)}`,
          type: 'invalid_request_error',
        },
      },
    }))
    const rotated = 'rotated-client-key-6Yw2p9Qd'
    const client = new OpenAI({ apiKey: 'first-client-key-3Hs8v1Lm', baseURL: started.baseURL, logLevel: 'off' })
    const model = new OpenAIChatModel({ client, model: 'gpt-4o-mini' })
    client.apiKey = rotated
    const error = await rejection(model.doGenerate(ask('a')))
    expect(started.requests).toHaveLength(1)
    expect((error as Error).message).toContain('invalid key [REDACTED]')
    expect(JSON.stringify(error)).not.toContain(rotated)
  })

  it('never shows the key a client passed in reads from its apiKey function for each request, streamed or not', async () => {
    const started = await startOpenAICompatibleServer()
    server = started
    started.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: {
          message: `invalid key ${request.headers.authorization?.slice('Bearer '.length)}`,
          type: 'invalid_request_error',
        },
      },
    }))
    // The SDK's key rotation: a function it calls for each request's key.
    const tokens = ['rotating-token-one-no-shape', 'rotating-token-two-no-shape']
    let reads = 0
    const client = new OpenAI({
      apiKey: async () => tokens[reads++] ?? 'spent',
      baseURL: started.baseURL,
      logLevel: 'off',
    })
    const model = new OpenAIChatModel({ client, model: 'gpt-4o-mini' })
    const errors = [await rejection(model.doGenerate(ask('a'))), await rejection(collect(model.doStream(ask('b'))))]
    expect(started.requests).toHaveLength(2)
    for (const error of errors) {
      expect((error as Error).message).toContain('invalid key [REDACTED]')
      for (const token of tokens) expect(JSON.stringify(error)).not.toContain(token)
    }
  })

  it('never lets the SDK retry, even with a client built with its default retries', async () => {
    const started = await startOpenAICompatibleServer({
      faults: [{ kind: 'status', status: 503 }, { kind: 'reset-before-headers' }],
    })
    server = started
    const client = new OpenAI({ apiKey: 'test-key', baseURL: started.baseURL, logLevel: 'off' })
    const model = new OpenAIChatModel({ client, model: 'gpt-4o-mini' })
    expect(await rejection(model.doGenerate(ask('a')))).toMatchObject({ status: 503 })
    expect(await rejection(model.doGenerate(ask('b')))).toMatchObject({ name: 'ProviderCallError', retryable: true })
    expect(started.requests).toHaveLength(2)
  })

  it('maps connection resets before and after headers to retryable ProviderCallErrors', async () => {
    const { server, model } = await start({
      faults: [{ kind: 'reset-before-headers' }, { kind: 'reset-after-headers' }],
    })
    const before = await rejection(model.doGenerate(ask('a')))
    const after = await rejection(model.doGenerate(ask('b')))
    for (const error of [before, after]) {
      expect(ProviderCallError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ provider: 'openai', retryable: true, status: undefined })
      expect((error as Error).message).toMatch(/^openai: connection failed/)
    }
    expect(server.requests).toHaveLength(2)
  })

  it('refuses a request that cannot be sent as JSON, without retrying or sending it; lone surrogates go through', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    for (const openai of [{ budget: 10n }, circular]) {
      const error = await rejection(model.doGenerate(ask('a', { providerOptions: { openai } })))
      expect(error).toMatchObject({ name: 'ProviderCallError', providerErrorType: 'invalid_request', retryable: false })
    }
    expect(server.requests).toHaveLength(0)
    const result = await model.doGenerate(ask('broken \ud800 surrogate'))
    expect(result.choices[0]?.message.content).toBe('ok')
    expect(server.chatRequests[0]?.messages[0]?.content).toBe('broken \ud800 surrogate')
  })

  it('maps malformed JSON, and a body that is not a completion, to a retryable malformed_response', async () => {
    const { server, model } = await start({ faults: [{ kind: 'malformed-json' }] })
    expect(await rejection(model.doGenerate(ask('a')))).toMatchObject({
      name: 'ProviderCallError',
      providerErrorType: 'malformed_response',
      retryable: true,
    })
    server.setHandler('POST /v1/chat/completions', () => ({
      raw: '<html>Bad gateway</html>',
      headers: { 'content-type': 'text/html' },
    }))
    // A body that is not JSON at all (an HTML page from a proxy) carries no request id: the SDK attaches it to parsed
    // objects only, and doGenerate skips `.withResponse()` to keep each call light.
    const html = await rejection(model.doGenerate(ask('b')))
    expect(html).toMatchObject({ providerErrorType: 'malformed_response', retryable: true, requestId: undefined })
    expect((html as Error).message).toContain('expected a JSON object')
    server.setHandler('POST /v1/chat/completions', () => ({ json: { choices: [{ index: 0 }] } }))
    expect(await rejection(model.doGenerate(ask('c')))).toMatchObject({ providerErrorType: 'malformed_response' })
  })

  it('refuses a response larger than maxResponseBytes, streamed or not, and closes the connection', async () => {
    const { server, model } = await start(
      { faults: [{ kind: 'oversized', bytes: 200_000 }] },
      { maxResponseBytes: 50_000 },
    )
    const error = await rejection(model.doGenerate(ask('a')))
    expect(error).toMatchObject({
      name: 'ProviderCallError',
      providerErrorType: 'response_too_large',
      retryable: false,
    })
    server.setReplies(['word '.repeat(20_000)])
    const streamed = await rejection(collect(model.doStream(ask('b'))))
    expect(streamed).toMatchObject({ providerErrorType: 'response_too_large', retryable: false })
    await server.whenIdle()
  })

  it('refuses a response over 8 MiB when no maxResponseBytes is given, and reads one just under it', async () => {
    const mebibyte = 1024 * 1024
    const { server, model } = await start({
      faults: [
        { kind: 'oversized', bytes: 8 * mebibyte + 1 },
        { kind: 'oversized', bytes: 8 * mebibyte - 1024 },
      ],
    })
    expect(await rejection(model.doGenerate(ask('a')))).toMatchObject({ providerErrorType: 'response_too_large' })
    // Read whole: not a completion, so malformed, but not too large.
    expect(await rejection(model.doGenerate(ask('b')))).toMatchObject({ providerErrorType: 'malformed_response' })
    await server.whenIdle()
  })

  it('maps an error event inside a stream to a ProviderCallError', async () => {
    const { server, model } = await start()
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [{ error: { message: 'The server had an error', type: 'server_error', code: null } }],
    }))
    expect(await rejection(collect(model.doStream(ask('a'))))).toMatchObject({
      name: 'ProviderCallError',
      providerErrorType: 'server_error',
      retryable: true,
      requestId: 'req_0',
    })
    // A compatible server may send an error event with no type, or only text: still an error in the stream, not a
    // request that "could not be sent".
    for (const error of [{ message: 'The engine died' }, 'The engine died']) {
      server.setHandler('POST /v1/chat/completions', () => ({ sse: [{ error }] }))
      const failure = await rejection(collect(model.doStream(ask('b'))))
      expect(failure).toMatchObject({ name: 'ProviderCallError', status: undefined })
      expect((failure as Error).message).toMatch(/^openai: error in stream: The engine died/)
    }
  })

  it('maps a rate limit inside a stream to a RateLimitError with its retry-after, as Anthropic’s is', async () => {
    const { server, model } = await start()
    server.setHandler('POST /v1/chat/completions', () => ({
      headers: { 'retry-after-ms': '1500' },
      sse: [{ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null } }],
    }))
    const limited = await rejection(collect(model.doStream(ask('a'))))
    expect(RateLimitError.isInstance(limited)).toBe(true)
    expect(limited).toMatchObject({ retryable: true, retryAfterMs: 1500, providerErrorType: 'rate_limit_exceeded' })
  })

  it('fails a body cut while read through a client’s own fetch as a retryable connection failure, streamed or not', async () => {
    const { server: running } = await start({ replies: ['one two three'], cycleReplies: true })
    for (const failure of [new Error('socket hang up'), new TypeError('network error')]) {
      const client = new OpenAI({
        apiKey: 'test-key',
        baseURL: running.baseURL,
        fetch: bodyFailingFetch(failure),
        maxRetries: 0,
      })
      const model = new OpenAIChatModel({ model: 'gpt-4o-mini', client })
      for (const failed of [
        await rejection(model.doGenerate(ask('a'))),
        await rejection(collect(model.doStream(ask('b')))),
      ]) {
        expect(failed).toMatchObject({ name: 'ProviderCallError', retryable: true })
        expect((failed as Error).message).toContain('connection failed while reading the response')
      }
    }
  })

  it('fails a stream cut mid-event, or ended before its finish reason, with a retryable error', async () => {
    const { server, model } = await start({ replies: ['one two three four five six'], cycleReplies: true })
    server.injectFaults([{ kind: 'cut-stream', afterEvents: 3 }])
    expect(await rejection(collect(model.doStream(ask('a'))))).toMatchObject({
      name: 'ProviderCallError',
      retryable: true,
    })
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [
        {
          id: 'x',
          object: 'chat.completion.chunk',
          model: 'gpt-4o-mini',
          choices: [{ index: 0, delta: { content: 'Hel' } }],
        },
        '[DONE]',
      ],
    }))
    expect(await rejection(collect(model.doStream(ask('b'))))).toMatchObject({
      providerErrorType: 'incomplete_stream',
      retryable: true,
    })
  })

  it('fails a stream whose tool call never got an id or a name with a retryable malformed_response', async () => {
    const { server, model } = await start()
    const chunk = (toolCall: Record<string, unknown>) => ({
      id: 'x',
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall }] }, finish_reason: 'tool_calls' }],
    })
    const tools = [weatherTool]
    for (const [toolCall, missing] of [
      [{ function: { name: 'get_weather', arguments: '{}' } }, 'an id'],
      [{ id: 'call_1', function: { arguments: '{}' } }, 'a name'],
    ] as const) {
      server.setHandler('POST /v1/chat/completions', () => ({ sse: [chunk(toolCall), '[DONE]'] }))
      const error = await rejection(collect(model.doStream(ask('a', { tools }))))
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((error as Error).message).toContain(`a tool call of choice 0 without ${missing}`)
    }
    // An empty name is a name, as in a JSON response: LLMCall refuses it as a tool the request did not offer.
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [chunk({ id: 'call_1', function: { name: '', arguments: '{}' } }), '[DONE]'],
    }))
    const { result } = await collect(model.doStream(ask('a', { tools })))
    expect(result.choices[0]?.message.toolCalls).toEqual([{ id: 'call_1', name: '', arguments: '{}' }])
  })

  it('reads a custom tool call (its name and input under `custom`) streamed as it reads one in a JSON response', async () => {
    const { server, model } = await start()
    const custom = { name: 'grammar', input: 'select 1' }
    server.setHandler('POST /v1/chat/completions', () => ({
      json: {
        id: 'x',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom }] },
            finish_reason: 'tool_calls',
          },
        ],
      },
    }))
    const generated = await model.doGenerate(ask('a'))
    const chunk = (toolCall: Record<string, unknown>, finishReason: string | null) => ({
      id: 'x',
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall }] }, finish_reason: finishReason }],
    })
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [
        chunk({ id: 'call_1', type: 'custom', custom: { name: 'grammar', input: 'select' } }, null),
        chunk({ custom: { input: ' 1' } }, 'tool_calls'),
        '[DONE]',
      ],
    }))
    const { parts, result } = await collect(model.doStream(ask('b')))
    expect(result.choices[0]?.message.toolCalls).toEqual(generated.choices[0]?.message.toolCalls)
    expect(result.choices[0]?.message.toolCalls).toEqual([{ id: 'call_1', name: 'grammar', arguments: 'select 1' }])
    expect(parts.filter((part) => part.type === 'tool-call-delta').map((part) => part.argumentsDelta)).toEqual([
      'select',
      ' 1',
    ])
  })

  it('fails a stream whose content delta is not text (a number, a list of parts), or whose tool calls are not a list, with a retryable malformed_response, as a JSON answer does', async () => {
    const { server, model } = await start()
    for (const content of [5, [{ type: 'text', text: 'Hello' }]]) {
      server.setHandler('POST /v1/chat/completions', () => ({
        sse: [
          {
            id: 'x',
            object: 'chat.completion.chunk',
            model: 'gpt-4o-mini',
            choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: 'stop' }],
          },
          '[DONE]',
        ],
      }))
      const error = await rejection(collect(model.doStream(ask('a'))))
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((error as Error).message).toContain('a content delta of choice 0 that is not text')
    }
    // Tool calls that are not a list (one call as an object) would be lost the same way.
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [
        {
          id: 'x',
          object: 'chat.completion.chunk',
          model: 'gpt-4o-mini',
          choices: [
            {
              index: 0,
              delta: { tool_calls: { index: 0, id: 'c1', function: { name: 'get_weather', arguments: '{}' } } },
              finish_reason: 'tool_calls',
            },
          ],
        },
        '[DONE]',
      ],
    }))
    const error = await rejection(collect(model.doStream(ask('b', { tools: [weatherTool] }))))
    expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
    expect((error as Error).message).toContain('tool calls of choice 0 that are not a list')
  })

  it('reports a refusal as the content_filter finish reason, streamed or not, with the refusal kept in raw', async () => {
    const { server, model } = await start()
    const refusal = "I'm sorry, I can't help with that."
    server.setHandler('POST /v1/chat/completions', () => ({
      json: {
        id: 'x',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: null, refusal }, finish_reason: 'stop' }],
      },
    }))
    const generated = await model.doGenerate(ask('a'))
    expect(generated.choices[0]).toMatchObject({ finishReason: 'content_filter', message: { content: '' } })
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
      id: 'x',
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    })
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [
        chunk({ role: 'assistant', content: null, refusal: '' }, null),
        chunk({ refusal: "I'm sorry, " }, null),
        chunk({ refusal: "I can't help with that." }, null),
        chunk({}, 'stop'),
        '[DONE]',
      ],
    }))
    const { result } = await collect(model.doStream(ask('b')))
    expect(result.choices[0]).toMatchObject({ finishReason: 'content_filter', message: { content: '' } })
    expect(result.raw).toMatchObject({ choices: [{ message: { refusal }, finish_reason: 'stop' }] })
    // No refusal (null, as OpenAI sends it beside an answer) leaves the finish reason as the server gave it.
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [chunk({ role: 'assistant', content: 'Hi', refusal: null }, null), chunk({}, 'stop'), '[DONE]'],
    }))
    expect((await collect(model.doStream(ask('c')))).result.choices[0]?.finishReason).toBe('stop')
  })

  it("keeps each choice's logprobs in a streamed result's raw, as a JSON result's raw has them", async () => {
    const { server, model } = await start()
    const token = (text: string, logprob: number) => ({
      token: text,
      logprob,
      bytes: [...Buffer.from(text)],
      top_logprobs: [],
    })
    const chunk = (index: number, delta: Record<string, unknown>, logprobs: unknown, finishReason: string | null) => ({
      id: 'x',
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini',
      choices: [{ index, delta, logprobs, finish_reason: finishReason }],
    })
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [
        chunk(0, { role: 'assistant', content: 'go' }, { content: [token('go', -0.1)], refusal: null }, null),
        chunk(1, { role: 'assistant', content: 'bad' }, { content: [token('bad', -2)], refusal: null }, null),
        chunk(0, { content: 'od' }, { content: [token('od', -0.2)], refusal: null }, 'stop'),
        chunk(1, {}, null, 'stop'),
        '[DONE]',
      ],
    }))
    const { result } = await collect(
      model.doStream(ask('a', { n: 2, providerOptions: { openai: { logprobs: true } } })),
    )
    expect(result.raw).toMatchObject({
      choices: [
        { index: 0, logprobs: { content: [token('go', -0.1), token('od', -0.2)], refusal: null } },
        { index: 1, logprobs: { content: [token('bad', -2)], refusal: null } },
      ],
    })
    // Without logprobs asked for, a choice's are null, as in a JSON response.
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [chunk(0, { content: 'Hi' }, null, 'stop'), '[DONE]'],
    }))
    expect((await collect(model.doStream(ask('b')))).result.raw).toMatchObject({ choices: [{ logprobs: null }] })
  })

  it('fails tool call arguments that are not JSON text (an object, a number) with a retryable malformed_response, streamed or not, rather than dropping them', async () => {
    const { server, model } = await start()
    const tools = [weatherTool]
    for (const args of [{ city: 'Paris' }, 5]) {
      const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } }
      server.setHandler('POST /v1/chat/completions', () => ({
        json: {
          id: 'x',
          object: 'chat.completion',
          model: 'gpt-4o-mini',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: null, tool_calls: [call] },
              finish_reason: 'tool_calls',
            },
          ],
        },
      }))
      const generated = await rejection(model.doGenerate(ask('a', { tools })))
      expect(generated).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((generated as Error).message).toContain('choice 0 has malformed tool_calls')
      server.setHandler('POST /v1/chat/completions', () => ({
        sse: [
          {
            id: 'x',
            object: 'chat.completion.chunk',
            model: 'gpt-4o-mini',
            choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...call }] }, finish_reason: 'tool_calls' }],
          },
          '[DONE]',
        ],
      }))
      const streamed = await rejection(collect(model.doStream(ask('b', { tools }))))
      expect(streamed).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((streamed as Error).message).toContain('a tool call delta whose arguments are not text')
    }
    // Arguments left out are none: a tool without parameters.
    server.setHandler('POST /v1/chat/completions', () => ({
      json: {
        id: 'x',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', function: { name: 'now' } }] },
            finish_reason: 'tool_calls',
          },
        ],
      },
    }))
    const result = await model.doGenerate(ask('c'))
    expect(result.choices[0]?.message.toolCalls).toEqual([{ id: 'call_1', name: 'now', arguments: '' }])
  })

  it('fails with an idle TimeoutError when a stream stalls, and closes the request', async () => {
    const { server, model } = await start({
      replies: ['one two three four five'],
      faults: [{ kind: 'stall-stream', afterEvents: 2 }],
    })
    // The idle timeout is LLMCall's: it cancels the call, whose signal closes the model's request. (Generous, so that a
    // loaded machine's own pause before the first chunks never reaches it: only the stall, which lasts until the client
    // leaves, does.)
    const call = new LLMCall({ name: 'idle', model, idleTimeoutMs: 5_000, retry: { attempts: 1 } })
    const parts: unknown[] = []
    const error = await rejection(
      (async () => {
        for await (const part of call.stream(ask('hi'))) parts.push(part)
      })(),
    )
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ kind: 'idle', timeoutMs: 5_000, retryable: true })
    expect(parts.length).toBeGreaterThan(0)
    // The stall lasts until a side closes: the exchange ending means the client closed it.
    await server.whenIdle()
    expect(server.requests[0]?.endedAt).toBeDefined()
  })

  it('times out on stalled headers too, when idleTimeoutMs is set', async () => {
    const { server, model } = await start({ faults: [{ kind: 'stall-headers' }] })
    // The call's clock stands still until the server holds its request: on a busy machine its 100 ms could otherwise
    // pass before the request is out, and there would be no request to close (its timer, early by that clock, waits on).
    const now = Date.now
    let stoppedAt: number | undefined = now()
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => stoppedAt ?? now())
    try {
      const call = new LLMCall({ name: 'idle', model, idleTimeoutMs: 100, retry: { attempts: 1 } })
      let ended = false
      const settled = rejection(call.stream(ask('hi')).result).finally(() => {
        ended = true
      })
      // Until the server holds the request, or the call ended without sending it (the assertions below then say so).
      while (server.inFlight === 0 && !ended) await new Promise((resolve) => setTimeout(resolve, 5))
      stoppedAt = undefined
      expect(await settled).toMatchObject({ name: 'TimeoutError', kind: 'idle' })
    } finally {
      clock.mockRestore()
    }
    await server.whenIdle()
    expect(server.requests[0]?.endedAt).toBeDefined()
  })

  it('does not count the time the consumer spends between chunks as idle', async () => {
    const { model } = await start({ replies: ['one two three'] })
    // The reader keeps its first part until the call has read the whole answer: it is away for as long as the model
    // streams, however slow the machine. Were the stream to wait for its reader, the call could not finish while the
    // reader is away, and would end in an idle TimeoutError. (The idle timeout is generous, so that a loaded machine's
    // own pauses never reach it.)
    const stream = new LLMCall({ name: 'idle', model, idleTimeoutMs: 5_000, retry: { attempts: 1 } }).stream(ask('hi'))
    const parts: unknown[] = []
    for await (const part of stream) {
      parts.push(part)
      if (parts.length === 1) expect(await stream.result).toBe('one two three')
    }
    expect(parts.length).toBeGreaterThan(1)
  })

  it('aborts a call in flight with an AbortError, and the server sees the request closed', async () => {
    const { server, model } = await start()
    // Never answers on its own: only the client going away ends this exchange.
    const arrived = holdUntilClosed(server, 'POST /v1/chat/completions')
    const controller = new AbortController()
    const pending = rejection(model.doGenerate(ask('a'), { signal: controller.signal }))
    await arrived
    controller.abort(new Error('user cancelled'))
    const error = await pending
    expect(AbortError.isInstance(error)).toBe(true)
    expect((error as AbortError).reason).toEqual(new Error('user cancelled'))
    await server.whenIdle()
    expect(server.requests[0]?.outcome).toBe('client-closed')
  })

  it('aborts a stream mid-way with an AbortError, and the server sees the request closed', async () => {
    // The stream stops after its first words until the client leaves, so it cannot end before the abort, however slow
    // the machine.
    const { server, model } = await start()
    server.setHandler('POST /v1/chat/completions', ({ signal }) => ({ sse: wordsUntilClosed(signal) }))
    const streamController = new AbortController()
    const parts: ChatStreamPart[] = []
    const streamError = await rejection(
      (async () => {
        for await (const part of model.doStream(ask('b'), { signal: streamController.signal })) {
          parts.push(part)
          streamController.abort()
        }
      })(),
    )
    expect(AbortError.isInstance(streamError)).toBe(true)
    await server.whenIdle()
    expect(server.requests[0]?.outcome).toBe('client-closed')
  })

  it('rejects at once when the signal is already aborted, without sending anything', async () => {
    const { server, model } = await start()
    const signal = AbortSignal.abort('too late')
    expect(AbortError.isInstance(await rejection(model.doGenerate(ask('a'), { signal })))).toBe(true)
    expect(AbortError.isInstance(await rejection(collect(model.doStream(ask('a'), { signal }))))).toBe(true)
    expect(server.requests).toHaveLength(0)
  })

  it('keeps a TimeoutError that aborted the signal as the error', async () => {
    const { server, model } = await start()
    const arrived = holdUntilClosed(server, 'POST /v1/chat/completions')
    const controller = new AbortController()
    const timeout = new TimeoutError({ timeoutMs: 5, kind: 'attempt' })
    const pending = rejection(model.doGenerate(ask('a'), { signal: controller.signal }))
    // Aborted once the server holds the request, not after a guessed delay that a slow machine may not have reached.
    await arrived
    controller.abort(timeout)
    expect(await pending).toBe(timeout)
  })

  it('closes a stream the consumer stops reading early', async () => {
    // The stream stops after its first words until the client leaves, so only the consumer's leaving can end it,
    // however slow the machine.
    const { server, model } = await start()
    server.setHandler('POST /v1/chat/completions', ({ signal }) => ({ sse: wordsUntilClosed(signal) }))
    for await (const part of model.doStream(ask('a'))) {
      if (part.type === 'text-delta') break
    }
    await server.whenIdle()
    expect(server.requests[0]?.outcome).toBe('client-closed')
  })

  it('leaves no listener on a signal shared by many calls', async () => {
    const { model } = await start({ cycleReplies: true, replies: ['ok'] })
    const controller = new AbortController()
    for (let round = 0; round < 20; round += 1) {
      await model.doGenerate(ask('a'), { signal: controller.signal })
      await collect(model.doStream(ask('b'), { signal: controller.signal }))
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

describe('OpenAIChatModel configuration and secrets', () => {
  it('reads OPENAI_API_KEY at the first call: a missing key is a ConfigurationError then, not at construction', async () => {
    const started = await startOpenAICompatibleServer()
    server = started
    vi.stubEnv('OPENAI_API_KEY', '')
    const model = new OpenAIChatModel({ model: 'gpt-4o-mini', baseURL: started.baseURL })
    const error = await rejection(model.doGenerate(ask('a')))
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain('OPENAI_API_KEY')
    expect(started.requests).toHaveLength(0)
    vi.stubEnv('OPENAI_API_KEY', 'sk-from-the-environment-0001')
    await model.doGenerate(ask('b'))
    expect(started.requests).toHaveLength(1)
  })

  it('works with a server that needs no key given any non-empty key, as the missing-key error says', async () => {
    const started = await startOpenAICompatibleServer({ replies: ['local answer'] })
    server = started
    vi.stubEnv('OPENAI_API_KEY', '')
    const keyless = new OpenAIChatModel({ model: 'llama3.2', baseURL: started.baseURL })
    const error = await rejection(keyless.doGenerate(ask('a')))
    expect((error as Error).message).toContain(
      'a server that needs no key, such as a local Ollama or vLLM, accepts any',
    )
    const model = new OpenAIChatModel({ model: 'llama3.2', baseURL: started.baseURL, apiKey: 'unused' })
    const result = await model.doGenerate(ask('b'))
    expect(result.choices[0]?.message.content).toBe('local answer')
    expect(started.requests).toHaveLength(1)
  })

  it('refuses an organization or project that is not a string, naming the option, at construction', () => {
    for (const [key, value] of [
      ['organization', 5],
      ['project', { id: 'proj-1' }],
    ] as const) {
      const options = { model: 'gpt-4o', apiKey: 'x', [key]: value } as unknown as OpenAIChatModelOptions
      expect(() => new OpenAIChatModel(options)).toThrow(ConfigurationError)
      expect(() => new OpenAIChat(options)).toThrow(`OpenAIChat: ${key} must be a string, got a`)
    }
    expect(new OpenAIChatModel({ model: 'gpt-4o', apiKey: 'x', organization: 'org-1' }).modelId).toBe('gpt-4o')
  })

  it('reads each option once and calls with what it checked: a baseURL getter cannot swap in another URL later', async () => {
    const started = await startOpenAICompatibleServer({ replies: ['checked'] })
    server = started
    let reads = 0
    const options = {
      model: 'gpt-4o-mini',
      apiKey: 'test-key',
      get baseURL(): string {
        reads += 1
        return reads === 1 ? started.baseURL : 'file:///etc/passwd'
      },
    }
    const model = new OpenAIChatModel(options)
    const result = await model.doGenerate(ask('a'))
    expect(result.choices[0]?.message.content).toBe('checked')
    expect(reads).toBe(1)
    expect(started.requests).toHaveLength(1)
  })

  it('rejects contradictory or invalid options at construction', () => {
    const client = new OpenAI({ apiKey: 'x' })
    const contradictory = { client, apiKey: 'y', model: 'gpt-4o' } as unknown as OpenAIChatModelOptions
    expect(() => new OpenAIChatModel(contradictory)).toThrow(
      'OpenAIChatModel: apiKey cannot be combined with client: configure the client you pass instead',
    )
    expect(() => new OpenAIChatModel({ model: '' })).toThrow(ConfigurationError)
    expect(() => new OpenAIChatModel({ model: 'gpt-4o', timeoutMs: 1_000 } as never)).toThrow(
      'OpenAIChatModel: timeoutMs is not an option',
    )
    expect(() => new OpenAIChatModel({ model: 'gpt-4o', maxResponseBytes: 0 })).toThrow(
      'OpenAIChatModel: maxResponseBytes must be an integer > 0, got 0',
    )
    const typo = { model: 'gpt-4o', baseUrl: 'http://127.0.0.1:1/v1' } as unknown as OpenAIChatModelOptions
    expect(() => new OpenAIChatModel(typo)).toThrow('OpenAIChatModel: baseUrl is not an option; did you mean baseURL?')
  })

  it('never puts the API key in an error message, even when the server echoes it', async () => {
    const canary = 'sk-canary-0123456789abcdefABCDEF'
    const { server, model } = await start({}, { apiKey: canary })
    server.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: {
          message: `Incorrect API key provided: ${request.headers.authorization}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    }))
    const unauthorized = await rejection(model.doGenerate(ask('a')))
    server.setHandler('POST /v1/chat/completions', ({ request }) => ({ raw: `key=${request.headers.authorization}` }))
    const malformed = await rejection(model.doGenerate(ask('b')))
    server.setHandler('POST /v1/chat/completions', ({ request }) => ({
      sse: [
        { error: { message: `bad key ${request.headers.authorization?.slice(7)}`, type: 'invalid_request_error' } },
      ],
    }))
    const streamed = await rejection(collect(model.doStream(ask('c'))))
    for (const error of [unauthorized, malformed, streamed]) {
      expect(ProviderCallError.isInstance(error)).toBe(true)
      const failure = error as ProviderCallError
      expect(failure.message).not.toContain(canary)
      expect(JSON.stringify(failure.toJSON())).not.toContain(canary)
      expect(String((failure.cause as Error | undefined)?.message ?? '')).not.toContain(canary)
      expect(String((failure.cause as Error | undefined)?.stack ?? '')).not.toContain(canary)
    }
    expect(unauthorized).toMatchObject({ status: 401, providerErrorType: 'invalid_api_key', retryable: false })
  })
})

describe('OpenAIChatModel on the wire', () => {
  it('sends a strict response format and strict tools with strict-mode-valid schemas', async () => {
    const { server, model } = await start({ replies: ['{"city":"Paris","population":null}'] })
    const open = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        population: { type: 'integer' },
        address: { type: 'object', properties: { street: { type: 'string' } } },
      },
      required: ['city'],
    }
    const result = await model.doGenerate(
      ask('a', {
        responseFormat: { type: 'json_schema', name: 'city', schema: open, strict: true },
        tools: [{ name: 'lookup', parameters: open, strict: true }],
      }),
    )
    const closed = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        population: { type: ['integer', 'null'] },
        address: {
          anyOf: [
            {
              type: 'object',
              properties: { street: { type: ['string', 'null'] } },
              required: ['street'],
              additionalProperties: false,
            },
            { type: 'null' },
          ],
        },
      },
      required: ['city', 'population', 'address'],
      additionalProperties: false,
    }
    const body = server.chatRequests[0]
    expect(body?.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'city', schema: closed, strict: true },
    })
    expect(body?.tools?.[0]).toEqual({
      type: 'function',
      function: { name: 'lookup', parameters: closed, strict: true },
    })
    // The model's null for an optional property that does not accept null is read back as an absent property.
    expect(JSON.parse(result.choices[0]?.message.content ?? '')).toEqual({ city: 'Paris' })
  })

  it('refuses a strict schema whose root is not an object before sending it, as OpenAI would refuse it', async () => {
    const { server, model } = await start()
    const roots = [
      { type: 'array', items: { type: 'string' } },
      { anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'null' }] },
    ]
    for (const schema of roots) {
      for (const request of [
        ask('a', { responseFormat: { type: 'json_schema', name: 'out', schema, strict: true } }),
        ask('a', { tools: [{ name: 'lookup', parameters: schema, strict: true }] }),
      ]) {
        const error = await rejection(model.doGenerate(request))
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        // A tool's parameters of another type are refused as not an object, strict or not.
        expect((error as Error).message).toMatch(
          /OpenAI's strict mode needs an object schema at the root|^tools\[0\]\.parameters\.type must be 'object'/,
        )
      }
    }
    expect(server.requests).toHaveLength(0)
    // Not strict: sent as it is, for the API to judge.
    const loose = ask('a', { responseFormat: { type: 'json_schema', name: 'out', schema: roots[0] ?? {} } })
    await model.doGenerate(loose)
    expect(server.requests).toHaveLength(1)
  })

  it('refuses a strict schema past the limits of strict mode before sending it, naming where, streamed or not', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    const nested = (levels: number): Record<string, unknown> =>
      levels === 0
        ? { type: 'string' }
        : { type: 'object', properties: { inner: nested(levels - 1) }, required: ['inner'] }
    // One of 1,000 values, optional: strict mode lists null as the 1,001st.
    const values = Array.from({ length: 1000 }, (_, index) => `v${index}`) as [string, ...string[]]
    const choice = toJsonSchema(z.object({ pick: z.enum(values).optional() }))
    // 121 property names of 1,000 characters each.
    const names = Array.from({ length: 121 }, (_, index) => String(index).padEnd(1000, 'x'))
    const wide = {
      type: 'object',
      properties: Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
      required: names,
    }
    const never = toJsonSchema(z.object({ gone: z.never().optional() }))
    const call = new LLMCall({ name: 'chat', model, retry: { attempts: 3, initialDelayMs: 1 } })
    for (const [schema, problem] of [
      [nested(11), '11 levels of nesting exceeds limit of 10 at #'],
      [choice, '1001 enum values exceeds limit of 1000 at #'],
      [
        wide,
        '121000 characters of property names, definition names, enum values and const values exceeds limit of 120000 at #',
      ],
      [never, "'not' is not permitted at #/properties/gone/anyOf/0"],
    ] as const) {
      for (const [settings, option] of [
        [{ responseFormat: { type: 'json_schema', name: 'out', schema, strict: true } }, 'responseFormat.schema'],
        [{ tools: [{ name: 'lookup', parameters: schema, strict: true }] }, 'tools[0].parameters'],
      ] as const) {
        const request = ask('a', settings as Partial<ChatRequest>)
        for (const error of [
          await call.invoke(request).catch((caught: unknown) => caught),
          await call.stream(request).result.catch((caught: unknown) => caught),
          await rejection(model.doGenerate(request)),
          await rejection(collect(model.doStream(request))),
        ]) {
          expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
          expect((error as Error).message).toContain(`${option}: ${problem}`)
        }
      }
    }
    expect(server.requests).toHaveLength(0)
    // Within the limits: sent.
    await model.doGenerate(
      ask('a', { responseFormat: { type: 'json_schema', name: 'out', schema: nested(10), strict: true } }),
    )
    expect(server.requests).toHaveLength(1)
  })

  it('sends a string stop as one stop sequence', async () => {
    const { server, model } = await start({ replies: ['ok'] })
    await model.doGenerate(ask('a', { stop: 'END' as unknown as string[] }))
    expect(server.chatRequests[0]?.stop).toEqual(['END'])
  })

  it('sends the headers, organization and project options with every request', async () => {
    const { server, model } = await start(
      { replies: ['ok'] },
      { headers: { 'x-tenant': 'acme' }, organization: 'org-1', project: 'proj-1' },
    )
    await model.doGenerate(ask('a'))
    expect(server.requests[0]?.headers).toMatchObject({
      'x-tenant': 'acme',
      'openai-organization': 'org-1',
      'openai-project': 'proj-1',
    })
  })

  it('answers an empty answer with the same text, streamed or not', async () => {
    const { server, model } = await start()
    server.setHandler('POST /v1/chat/completions', ({ request }) => {
      const chunk = (delta: object, finish: string | null) => ({
        id: 'chatcmpl-empty',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
      if ((request.body as { stream?: boolean }).stream) {
        return { sse: [chunk({ role: 'assistant' }, null), chunk({}, 'stop'), '[DONE]'] }
      }
      return {
        json: {
          id: 'chatcmpl-empty',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop' }],
        },
      }
    })
    const generated = await model.doGenerate(ask('a'))
    const { result: streamed } = await collect(model.doStream(ask('b')))
    expect(generated.choices[0]?.message).toEqual({ role: 'assistant', content: '' })
    expect(streamed.choices[0]?.message).toEqual({ role: 'assistant', content: '' })
  })

  it("falls back to the body's id for the request id when the server sends no request-id header", async () => {
    const { server, model } = await start({ replies: ['one', 'two'] })
    server.setHandler('POST /v1/chat/completions', ({ request }) => {
      const streamed = (request.body as { stream?: boolean }).stream === true
      const base = { id: 'chatcmpl-no-header', created: 1, model: 'gpt-4o-mini' }
      return streamed
        ? {
            headers: { 'x-request-id': null as unknown as string },
            sse: [
              {
                ...base,
                object: 'chat.completion.chunk',
                choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
              },
              '[DONE]',
            ],
          }
        : {
            headers: { 'x-request-id': null as unknown as string },
            json: {
              ...base,
              object: 'chat.completion',
              choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
            },
          }
    })
    expect((await model.doGenerate(ask('a'))).requestId).toBe('chatcmpl-no-header')
    expect((await collect(model.doStream(ask('b')))).result.requestId).toBe('chatcmpl-no-header')
  })

  it('fails a null body, an empty body and an empty choices list with a retryable malformed_response', async () => {
    const { server, model } = await start()
    const bodies = [
      { raw: 'null', headers: { 'content-type': 'application/json' } },
      { raw: '', headers: { 'content-type': 'application/json' } },
      { json: { id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [] } },
    ]
    for (const body of bodies) {
      server.setHandler('POST /v1/chat/completions', () => body)
      const error = await rejection(model.doGenerate(ask('a')))
      expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
    }
  })

  it('names the URL and the cause code of a connection failure, and a missing /v1 on a 404', async () => {
    const closed = await startOpenAICompatibleServer()
    const unreachable = closed.baseURL
    await closed.close()
    const refused = await rejection(
      new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 'k', baseURL: unreachable }).doGenerate(ask('a')),
    )
    expect((refused as Error).message).toBe(
      `openai: connection failed: POST ${unreachable}/chat/completions: ECONNREFUSED`,
    )
    const { server: running } = await start()
    const withoutV1 = await rejection(
      new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 'k', baseURL: running.url }).doGenerate(ask('a')),
    )
    expect(withoutV1).toMatchObject({ status: 404, retryable: false })
    expect((withoutV1 as Error).message).toContain(`the base URL ${running.url} has no /v1`)
  })

  it('never shows credentials of the base URL: userinfo (read from OPENAI_BASE_URL) and secret query parameters', async () => {
    const { server: running } = await start()
    running.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: { message: `bad credentials for ${request.path}${request.query}`, type: 'invalid_request_error' },
      },
    }))
    const password = 'pw-0123-Secret'
    const queryKey = 'qk-4567-Secret'
    const host = running.url.slice('http://'.length)
    const logger = createMemoryLogger({ level: 'trace' })
    const errors: unknown[] = []
    // A baseURL option with userinfo is refused at construction; read from the environment, at the first call.
    vi.stubEnv('OPENAI_BASE_URL', `http://tenant:${password}@${host}/v1`)
    for (const baseURL of [
      undefined,
      `${running.url}/v1?api-key=${queryKey}`,
      `${running.url}/v1?key=${queryKey}`,
      `${running.url}/v1?token=${queryKey}`,
    ]) {
      const chat = new OpenAIChat({ model: 'gpt-4o-mini', apiKey: 'k', baseURL, retry: { attempts: 1 } })
      const record = await chat.trace(ask('a'), { logger })
      errors.push(record.error, JSON.stringify(record))
    }
    const seen = [
      ...errors.map((error) =>
        typeof error === 'string'
          ? error
          : `${(error as Error).message}${(error as Error).stack}${JSON.stringify((error as ProviderCallError).toJSON())}`,
      ),
      JSON.stringify(logger.entries),
    ].join('\n')
    expect(seen).not.toContain(password)
    expect(seen).not.toContain(queryKey)
  })

  it('writes the SDK’s own logs (OPENAI_LOG=debug) through tinyllm’s redacting logger, not the console', async () => {
    vi.stubEnv('OPENAI_LOG', 'debug')
    const logger = createMemoryLogger({ level: 'trace' })
    setDefaultLogger(logger)
    const consoleMethods = (['log', 'debug', 'info', 'warn', 'error'] as const).map((name) =>
      vi.spyOn(console, name).mockImplementation(() => {}),
    )
    try {
      const canary = 'sk-proj-SDKLOGCANARY0123456789abcdefghij'
      const { server, model } = await start({}, { apiKey: canary })
      server.setHandler('POST /v1/chat/completions', ({ request }) => ({
        status: 401,
        json: {
          error: { message: `Incorrect API key: ${request.headers.authorization}`, type: 'invalid_request_error' },
        },
      }))
      await rejection(model.doGenerate(ask('a')))
      expect(consoleMethods.every((method) => method.mock.calls.length === 0)).toBe(true)
      expect(logger.entries.length).toBeGreaterThan(0)
      expect(JSON.stringify(logger.entries)).not.toContain(canary)
    } finally {
      for (const method of consoleMethods) method.mockRestore()
      setDefaultLogger(undefined)
    }
  })
})

describe('OpenAIChatModel secrets are released with the model', () => {
  // This package's vitest.config.ts runs tests with --expose-gc; @tinyllm/llm tests the explicit release directly.
  const gc = (globalThis as { gc?: () => void }).gc
  it.skipIf(gc === undefined)(
    'registers the key of each model, and releases it when the model is garbage-collected',
    async () => {
      if (gc === undefined) return
      const before = registeredSecretCount()
      ;(() => {
        for (let tenant = 0; tenant < 10_000; tenant++) {
          new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: `tenant-key-${tenant}-Abc0123456789` })
        }
      })()
      expect(registeredSecretCount()).toBeGreaterThanOrEqual(before + 10_000)
      for (let round = 0; round < 200 && registeredSecretCount() > before; round++) {
        gc()
        await new Promise((resolve) => setImmediate(resolve))
      }
      expect(registeredSecretCount()).toBeLessThanOrEqual(before)
    },
  )
})
