import { getEventListeners } from 'node:events'
import Anthropic from '@anthropic-ai/sdk'
import { AbortError, ConfigurationError, TimeoutError, type TinyLLMError, ValidationError } from '@tinyllm/core'
import {
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  LLMCall,
  ProviderCallError,
  RateLimitError,
  resultText,
} from '@tinyllm/llm'
import { createMemoryLogger, registeredSecretCount, setDefaultLogger } from '@tinyllm/logger'
import { holdUntilClosed, type SseItem, sseEvent } from '@tinyllm/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AnthropicChat } from './anthropic-chat.js'
import { AnthropicChatModel, defaultAnthropicMaxTokens } from './anthropic-chat-model.js'
import type { AnthropicCompatibleServer, AnthropicCompatibleServerOptions } from './testing/index.js'
import { startAnthropicCompatibleServer } from './testing/index.js'

let server: AnthropicCompatibleServer | undefined

async function start(options: AnthropicCompatibleServerOptions = {}): Promise<AnthropicCompatibleServer> {
  server = await startAnthropicCompatibleServer(options)
  return server
}

afterEach(async () => {
  vi.unstubAllEnvs()
  await server?.close()
  server = undefined
})

const hello: ChatRequest = { messages: [{ role: 'user', content: 'Hello' }] }

const modelId = 'claude-haiku-4-5'

function modelFor(
  running: AnthropicCompatibleServer,
  options: { model?: string; maxTokens?: number; maxResponseBytes?: number } = {},
) {
  return new AnthropicChatModel({ model: modelId, apiKey: 'test-key', baseURL: running.baseURL, ...options })
}

async function collect(
  stream: AsyncIterable<ChatStreamPart>,
): Promise<{ parts: ChatStreamPart[]; result: ChatResult }> {
  const parts: ChatStreamPart[] = []
  for await (const part of stream) parts.push(part)
  const last = parts.at(-1)
  if (last?.type !== 'finish') throw new Error('no finish part')
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

/** A Messages stream that sends two words, then nothing more until `signal` says the exchange ended. */
async function* wordsUntilClosed(signal: AbortSignal): AsyncIterable<SseItem> {
  const event = (data: { type: string } & Record<string, unknown>) => sseEvent({ event: data.type, data })
  yield event({ type: 'message_start', message: messageStart() })
  yield event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  for (const word of ['one ', 'two ']) {
    yield event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } })
  }
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
}

describe('AnthropicChatModel: API key', () => {
  it('reads ANTHROPIC_API_KEY at the first call, not at construction, and sends it as a bearer token', async () => {
    const running = await start({ apiKey: 'sk-ant-from-env', replies: ['hi'] })
    const saved = process.env.ANTHROPIC_API_KEY
    delete process.env.ANTHROPIC_API_KEY
    try {
      const model = new AnthropicChatModel({ model: modelId, baseURL: running.baseURL })
      const missing = await model.doGenerate(hello).catch((error: unknown) => error)
      expect(ConfigurationError.isInstance(missing)).toBe(true)
      expect((missing as ConfigurationError).option).toBe('apiKey')
      expect((missing as Error).message).toContain('ANTHROPIC_API_KEY')
      expect(running.requests).toHaveLength(0)

      process.env.ANTHROPIC_API_KEY = 'sk-ant-from-env'
      expect(resultText(await model.doGenerate(hello))).toBe('hi')
      expect(running.requests[0]?.headers.authorization).toBe('[REDACTED]')
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY
      else process.env.ANTHROPIC_API_KEY = saved
    }
  })

  it('a wrong key is a 401 ProviderCallError that names no secret', async () => {
    const running = await start({ apiKey: 'the-right-key' })
    const model = new AnthropicChatModel({ model: modelId, apiKey: 'sk-ant-wrong-canary', baseURL: running.baseURL })
    const error = await model.doGenerate(hello).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ status: 401, retryable: false, providerErrorType: 'authentication_error' })
    expect(JSON.stringify((error as TinyLLMError).toJSON())).not.toContain('sk-ant-wrong-canary')
    expect((error as Error).message).not.toContain('sk-ant-wrong-canary')
  })
})

describe('AnthropicChatModel: every setting reaches the wire', () => {
  it('sends model, max_tokens, system, stop sequences, tools, tool choice, user and output format', async () => {
    const running = await start({ replies: ['ok'] })
    await modelFor(running).doGenerate({
      model: 'claude-sonnet-4-6',
      maxTokens: 300,
      stop: ['STOP'],
      user: 'user-42',
      toolChoice: { name: 'lookup' },
      tools: [
        {
          name: 'lookup',
          description: 'Looks a word up',
          parameters: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
          strict: true,
        },
      ],
      responseFormat: { type: 'json_schema', name: 'entry', schema: { type: 'object', properties: {} } },
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Define "loop".' },
      ],
    })
    expect(running.messageRequests[0]).toEqual({
      model: 'claude-sonnet-4-6',
      max_tokens: 300,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Define "loop".' }],
      stop_sequences: ['STOP'],
      metadata: { user_id: 'user-42' },
      tool_choice: { type: 'tool', name: 'lookup' },
      tools: [
        {
          name: 'lookup',
          description: 'Looks a word up',
          // strict: the schema is made strict-mode valid on the way
          input_schema: {
            type: 'object',
            properties: { word: { type: 'string' } },
            required: ['word'],
            additionalProperties: false,
          },
          strict: true,
        },
      ],
      // Anthropic always enforces an output format: its schema is made strict-mode valid
      output_config: {
        format: {
          type: 'json_schema',
          schema: { type: 'object', properties: {}, required: [], additionalProperties: false },
        },
      },
    })
  })

  it('sends the default model and max_tokens, and anthropic-version 2026-10-21 with the SDK', async () => {
    const running = await start({ replies: ['ok'] })
    const model = modelFor(running)
    expect(model.modelId).toBe(modelId)
    await model.doGenerate(hello)
    expect(running.messageRequests[0]).toMatchObject({
      model: modelId,
      max_tokens: defaultAnthropicMaxTokens,
    })
    expect(defaultAnthropicMaxTokens).toBe(4096) // as the README says
    expect(running.requests[0]?.headers['anthropic-version']).toBe('2026-10-21')
    await modelFor(running, { model: 'claude-opus-4-7', maxTokens: 64 })
      .doGenerate(hello)
      .catch(() => undefined)
    expect(running.messageRequests[1]).toMatchObject({ model: 'claude-opus-4-7', max_tokens: 64 })
  })

  it('maps each tool choice', async () => {
    const running = await start({ replies: ['a', 'b', 'c', 'd', 'e', 'f'] })
    const model = modelFor(running)
    const tools = [{ name: 'f', parameters: { type: 'object' } }]
    for (const toolChoice of ['auto', 'none', 'required', { name: 'f' }] as const) {
      await model.doGenerate({ ...hello, tools, toolChoice })
    }
    expect(running.messageRequests.map((request) => request.tool_choice)).toEqual([
      { type: 'auto' },
      { type: 'none' },
      { type: 'any' },
      { type: 'tool', name: 'f' },
    ])
    // Without tools, `auto` and `none` ask for nothing, and the API refuses a tool_choice then: they are left out.
    for (const toolChoice of ['auto', 'none'] as const) await model.doGenerate({ ...hello, toolChoice, tools: [] })
    expect(running.messageRequests.slice(4).map((request) => [request.tools, request.tool_choice])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ])
  })

  it('tells an estimate of the tool-use system prompt Anthropic adds to a request with tools, and of nothing else', () => {
    const model = new AnthropicChatModel({ model: 'claude-sonnet-4-5', apiKey: 'sk-ant-test' })
    const tools = [{ name: 'f', parameters: { type: 'object' } }]
    // Above the largest figure Anthropic documents (530 tokens).
    expect(model.addedInputTokens({ ...hello, tools })).toBe(600)
    expect(model.addedInputTokens(hello)).toBe(0)
    expect(model.addedInputTokens({ ...hello, tools: [] })).toBe(0)
    // Tools sent through providerOptions are tools all the same: the prompt is added for them too.
    const bash = { anthropic: { tools: [{ type: 'bash_20250124', name: 'bash' }] } }
    expect(model.addedInputTokens({ ...hello, providerOptions: bash })).toBe(600)
    expect(model.addedInputTokens({ ...hello, tools, providerOptions: bash })).toBe(600)
    expect(model.addedInputTokens({ ...hello, providerOptions: { anthropic: { tools: [] } } })).toBe(0)
  })

  it('passes providerOptions.anthropic through, merging output_config with the JSON-schema format', async () => {
    const running = await start({ replies: ['{}'] })
    await modelFor(running).doGenerate({
      ...hello,
      responseFormat: { type: 'json_schema', name: 'x', schema: { type: 'object', properties: {} } },
      providerOptions: { anthropic: { output_config: { effort: 'low' }, service_tier: 'standard_only' } },
    })
    expect(running.messageRequests[0]).toMatchObject({
      service_tier: 'standard_only',
      output_config: { effort: 'low', format: { type: 'json_schema', schema: { type: 'object', properties: {} } } },
    })
  })

  it('never lets providerOptions change the messages, model or maxTokens, nor make doGenerate stream', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    // (max_tokens there is refused: see "refuses max_tokens in providerOptions".)
    const extras = {
      messages: [{ role: 'user', content: 'other' }],
      model: 'claude-opus-4-1',
      stream: true,
      service_tier: 'standard_only',
    }
    const result = await modelFor(running).doGenerate({
      ...hello,
      maxTokens: 10,
      providerOptions: { anthropic: extras },
    })
    expect(resultText(result)).toBe('ok')
    expect(running.messageRequests).toHaveLength(1)
    expect(running.messageRequests[0]).toMatchObject({
      messages: [{ role: 'user', content: 'Hello' }],
      model: modelId,
      max_tokens: 10,
      service_tier: 'standard_only',
    })
    expect(running.messageRequests[0]).not.toHaveProperty('stream')
  })

  it('sends the headers option with every request', async () => {
    const running = await start({ replies: ['ok'] })
    const model = new AnthropicChatModel({
      model: modelId,
      apiKey: 'k',
      baseURL: running.baseURL,
      headers: { 'x-tenant': 'acme' },
    })
    await model.doGenerate(hello)
    expect(running.requests[0]?.headers['x-tenant']).toBe('acme')
  })

  it('sends a beta tool given through providerOptions, which the server takes only with its anthropic-beta header', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const computer = { type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 }
    const request = { ...hello, providerOptions: { anthropic: { tools: [computer] } } }
    const plain = modelFor(running)
    await expect(plain.doGenerate(request)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("tools.0: Input tag 'computer_20250124'"),
    })
    const beta = new AnthropicChatModel({
      model: modelId,
      apiKey: 'k',
      baseURL: running.baseURL,
      headers: { 'anthropic-beta': 'computer-use-2025-01-24' },
    })
    expect(resultText(await beta.doGenerate(request))).toBe('ok')
    expect(running.messageRequests.at(-1)?.tools).toEqual([computer])
  })

  it('keeps leading system messages in the system field and a later one in place', async () => {
    const running = await start({ replies: ['ok'] })
    await modelFor(running).doGenerate({
      messages: [
        { role: 'system', content: 'Rule one.' },
        { role: 'system', content: 'Rule two.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'system', content: 'From now on, answer in French.' },
        { role: 'user', content: 'Bye' },
      ],
    })
    expect(running.messageRequests[0]).toMatchObject({
      system: 'Rule one.\n\nRule two.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'system', content: 'From now on, answer in French.' },
        { role: 'user', content: 'Bye' },
      ],
    })
  })

  it('puts consecutive tool results, and the user text after them, into one user turn', async () => {
    const running = await start({ replies: ['done'] })
    await modelFor(running).doGenerate({
      messages: [
        { role: 'user', content: 'Look up a and b' },
        {
          role: 'assistant',
          content: 'Looking.',
          toolCalls: [
            { id: 'toolu_a', name: 'lookup', arguments: '{"q":"a"}' },
            { id: 'toolu_b', name: 'lookup', arguments: '' },
          ],
        },
        { role: 'tool', toolCallId: 'toolu_a', content: 'A' },
        { role: 'tool', toolCallId: 'toolu_b', content: 'B' },
        { role: 'user', content: 'Summarise.' },
      ],
    })
    expect(running.messageRequests[0]?.messages).toEqual([
      { role: 'user', content: 'Look up a and b' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Looking.' },
          { type: 'tool_use', id: 'toolu_a', name: 'lookup', input: { q: 'a' } },
          { type: 'tool_use', id: 'toolu_b', name: 'lookup', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' },
          { type: 'tool_result', tool_use_id: 'toolu_b', content: 'B' },
          { type: 'text', text: 'Summarise.' },
        ],
      },
    ])
  })
})

describe('AnthropicChatModel: a conversation holding an empty answer', () => {
  it('sends a conversation with an empty or blank answer in it, which the API refuses anywhere but last, without that turn', async () => {
    // Anthropic answers with no content at times (an empty answer, mapped to ''); the conversation is carried on.
    const running = await start({ replies: ['one', 'two'] })
    await modelFor(running).doGenerate({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'Anyone there?' },
      ],
    })
    const { result } = await collect(
      modelFor(running).doStream({
        messages: [
          { role: 'user', content: 'Look a up' },
          { role: 'assistant', content: null, toolCalls: [{ id: 'toolu_a', name: 'lookup', arguments: '{}' }] },
          { role: 'tool', toolCallId: 'toolu_a', content: 'A' },
          { role: 'assistant', content: '\n\n' },
          { role: 'user', content: 'And?' },
        ],
      }),
    )
    expect(resultText(result)).toBe('two')
    expect(running.messageRequests[0]?.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'user', content: 'Anyone there?' },
    ])
    expect(running.messageRequests[1]?.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' },
        { type: 'text', text: 'And?' },
      ],
    })
  })
})

describe('AnthropicChatModel: a conversation holding an empty system message', () => {
  it('leaves out an empty or blank system message, which the API refuses as a turn, leading or later, streamed or not', async () => {
    // A prompt template may render an optional instruction as ''; OpenAI takes it, Anthropic answers 400 "all messages
    // must have non-empty content" to it as a turn. It says nothing, so it is left out.
    const running = await start({ replies: ['one', 'two'] })
    const messages = [
      { role: 'system', content: '' },
      { role: 'system', content: 'Rule one.' },
      { role: 'user', content: 'Hi' },
      { role: 'system', content: '' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'system', content: ' \n' },
      { role: 'user', content: 'Again' },
    ] as const
    await modelFor(running).doGenerate({ messages })
    const { result } = await collect(modelFor(running).doStream({ messages }))
    expect(resultText(result)).toBe('two')
    for (const body of running.messageRequests) {
      expect(body.system).toBe('Rule one.')
      expect(body.messages).toEqual([
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Again' },
      ])
    }
  })
})

describe('AnthropicChatModel: tool call ids another provider gave', () => {
  it('sends an id Anthropic refuses (functions.get_weather:0, call_1|fc_1) as one it takes, paired with its result, two ids never made one', async () => {
    const running = await start({ replies: ['done'] })
    const ids = ['functions.get_weather:0', 'functions.get_weather.0', 'call_1|fc_1']
    const answer = await modelFor(running).doGenerate({
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
    expect(resultText(answer)).toBe('done')
    const [assistant, results] = (running.messageRequests[0]?.messages ?? []).slice(1) as Array<{
      content: Array<{ id?: string; tool_use_id?: string }>
    }>
    const sent = assistant?.content.map((block) => block.id) ?? []
    expect(sent.every((id) => /^[a-zA-Z0-9_-]+$/.test(id ?? ''))).toBe(true)
    expect(new Set(sent).size).toBe(3)
    expect(results?.content.map((block) => block.tool_use_id)).toEqual(sent)
    // What can be kept of the id is: a log line of either provider reads the same call.
    expect(sent[0]?.startsWith('functions_get_weather_0_')).toBe(true)
  })
})

describe('AnthropicChatModel: settings Anthropic does not accept are typed errors, and nothing is sent', () => {
  const cases: ReadonlyArray<readonly [string, Partial<ChatRequest>]> = [
    ['n', { n: 3 }],
    ['temperature', { temperature: 0 }],
    ['topP', { topP: 0.9 }],
    ['seed', { seed: 7 }],
    ['presencePenalty', { presencePenalty: 0.5 }],
    ['frequencyPenalty', { frequencyPenalty: 0.5 }],
    ['responseFormat', { responseFormat: { type: 'json_object' } }],
    ['maxTokens', { maxTokens: 0 }],
    [
      'messages[1].toolCalls[0].arguments',
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: null, toolCalls: [{ id: 't', name: 'f', arguments: '{not json' }] },
        ],
      },
    ],
  ]
  for (const [option, settings] of cases) {
    it(`${option}`, async () => {
      const running = await start({ replies: ['never'] })
      const model = modelFor(running)
      for (const call of [
        () => model.doGenerate({ ...hello, ...settings }),
        () => collect(model.doStream({ ...hello, ...settings })),
      ]) {
        const error = await call().catch((caught: unknown) => caught)
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect((error as ConfigurationError).option).toBe(option)
        expect((error as ConfigurationError).retryable).toBe(false)
      }
      expect(running.requests).toHaveLength(0)
    })
  }

  it('names the tool call whose arguments Anthropic cannot take, in its message', async () => {
    const running = await start({ replies: ['never'] })
    const model = modelFor(running)
    for (const [text, problem] of [
      ['{not json', 'is not valid JSON'],
      ['[1, 2]', 'must be a JSON object: Anthropic takes tool input as an object'],
    ]) {
      const messages = [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, toolCalls: [{ id: 't', name: 'f', arguments: text }] },
        { role: 'tool', toolCallId: 't', content: 'r' },
      ] as const
      const error = await model.doGenerate({ messages: messages as never }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/^messages\[1\]\.toolCalls\[0\]\.arguments /)
      expect((error as Error).message).toContain(problem)
    }
    expect(running.requests).toHaveLength(0)
  })

  it('refuses tool parameters that are not an object schema, which Anthropic refuses, at construction and per call, streamed or not, unsent', async () => {
    const running = await start({ replies: ['ok'] })
    const model = modelFor(running)
    const cases = [
      [{ type: 'array', items: { type: 'string' } }, "chat: tools[0].parameters.type must be 'object'"],
      [{ type: ['object', 'null'], properties: {} }, "chat: tools[0].parameters.type must be 'object'"],
      // A list would be sent as an object without properties, the schema lost.
      [[{ type: 'string' }], 'chat: tools[0].parameters must be an object schema'],
    ] as const
    for (const [parameters, message] of cases) {
      const tools = [{ name: 'lookup', parameters: parameters as unknown as Record<string, unknown> }]
      expect(() => new LLMCall({ name: 'chat', model, settings: { tools } })).toThrow(message)
      const call = new LLMCall({ name: 'chat', model, retry: { attempts: 3, initialDelayMs: 1 } })
      const stream = call.stream({ ...hello, tools })
      for (const error of [
        await call.invoke({ ...hello, tools }).catch((caught: unknown) => caught),
        await stream.result.catch((caught: unknown) => caught),
      ]) {
        // Given with the input, invalid input; the refusal, named after the call as at construction, is its cause.
        expect(ValidationError.isInstance(error)).toBe(true)
        expect(((error as ValidationError).cause as Error).message).toContain(message)
      }
    }
    expect(running.requests).toHaveLength(0)
  })

  it('refuses a client that is not an object at construction, naming the call or the model, never showing it', () => {
    for (const client of [null, 'sk-ant-given-as-the-client', 5]) {
      const refusals = [
        () => new AnthropicChat({ name: 'chat', model: modelId, client: client as unknown as Anthropic }),
        () => new AnthropicChatModel({ model: modelId, client: client as unknown as Anthropic }),
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
          index === 0 ? /^chat: client must be/ : /^AnthropicChatModel: client must be/,
        )
        expect((error as Error).message).not.toContain('sk-ant-given')
      }
    }
  })

  it('names the unsupported choice count and what to do instead', async () => {
    const running = await start()
    const error = (await modelFor(running)
      .doGenerate({ ...hello, n: 2 })
      .catch((caught: unknown) => caught)) as Error
    expect(error.message).toContain('unsupported')
    expect(error.message).toContain('one choice per call')
  })

  it('rejects invalid constructor options at construction', () => {
    const options = (extra: object) =>
      ({ model: modelId, ...extra }) as ConstructorParameters<typeof AnthropicChatModel>[0]
    const optionOf = (extra: object) => {
      try {
        new AnthropicChatModel(options(extra))
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        return (error as ConfigurationError).option
      }
      return undefined
    }
    expect(optionOf({ model: '' })).toBe('model')
    expect(optionOf({ maxTokens: 1.5 })).toBe('maxTokens')
    expect(optionOf({ timeoutMs: 1_000 } as never)).toBe('timeoutMs')
    expect(optionOf({ maxResponseBytes: -1 })).toBe('maxResponseBytes')
    expect(optionOf({ client: new Anthropic({ apiKey: 'k' }), apiKey: 'other' })).toBe('apiKey')
    expect(optionOf({ client: new Anthropic({ apiKey: 'k' }), baseURL: 'http://127.0.0.1:1' })).toBe('baseURL')
  })
})

describe('AnthropicChatModel: maxTokens has an upper bound', () => {
  it('refuses a maxTokens above 100,000,000 (1e20), as its own option and per request, in the format of every option, unsent', async () => {
    const running = await start({ replies: ['ok'] })
    for (const maxTokens of [1e20, 100_000_001]) {
      const expected = `must be an integer ≥ 1 and ≤ 100000000, got ${maxTokens}`
      expect(() => modelFor(running, { maxTokens })).toThrow(`AnthropicChatModel: maxTokens ${expected}`)
      const model = modelFor(running)
      expect(() => model.checkSettings({ maxTokens }, 'chat')).toThrow(`chat: maxTokens ${expected}`)
      const generated = await model.doGenerate({ ...hello, maxTokens }).catch((error: unknown) => error)
      const streamed = await (async () => {
        for await (const _part of model.doStream({ ...hello, maxTokens })) {
          // No part comes: the request is refused before it is sent.
        }
      })().catch((error: unknown) => error)
      for (const error of [generated, streamed]) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect((error as Error).message).toBe(`maxTokens ${expected}`)
      }
    }
    expect(running.requests).toHaveLength(0)
    // The bound itself passes (the API then says what the model takes).
    expect(() =>
      modelFor(running, { maxTokens: 100_000_000 }).checkSettings({ maxTokens: 100_000_000 }, 'chat'),
    ).not.toThrow()
  })
})

describe('AnthropicChatModel: extended thinking and max_tokens', () => {
  const thinking = (budget_tokens: unknown) => ({ anthropic: { thinking: { type: 'enabled', budget_tokens } } })
  const refusals: ReadonlyArray<readonly [Partial<ChatRequest>, string]> = [
    // "budget_tokens: Input should be greater than or equal to 1024".
    [{ maxTokens: 8000, providerOptions: thinking(512) }, '≥ 1024'],
    [{ providerOptions: thinking(1024.5) }, '≥ 1024'],
    [{ maxTokens: 8000, providerOptions: thinking('2000') }, '≥ 1024'],
  ]

  it('refuses a thinking budget under 1024 or not an integer, streamed or not, unsent', async () => {
    const running = await start({ replies: ['never'] })
    const model = modelFor(running)
    for (const [settings, expected] of refusals) {
      for (const call of [
        () => model.doGenerate({ ...hello, ...settings }),
        () => collect(model.doStream({ ...hello, ...settings })),
      ]) {
        const error = await call().catch((caught: unknown) => caught)
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as ConfigurationError).option).toBe('providerOptions.anthropic.thinking.budget_tokens')
        expect((error as Error).message).toContain(expected)
      }
      expect(() => model.checkSettings(settings, 'chat')).toThrow(/^chat: providerOptions\.anthropic\.thinking\./)
    }
    expect(running.requests).toHaveLength(0)
  })

  it('refuses them at construction of AnthropicChat, and given with the input as invalid input, unsent', async () => {
    const running = await start({ replies: ['never'] })
    const connection = { model: modelId, apiKey: 'test-key', baseURL: running.baseURL }
    for (const [settings] of refusals) {
      expect(() => new AnthropicChat({ ...connection, ...settings })).toThrow(ConfigurationError)
      const chat = new AnthropicChat(connection)
      const error = await chat.invoke({ ...hello, ...settings }).catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(error), String(error)).toBe(true)
      expect(ConfigurationError.isInstance((error as ValidationError).cause)).toBe(true)
    }
    expect(running.requests).toHaveLength(0)
  })

  it('refuses max_tokens in providerOptions, which maxTokens (or the default) always overrides, unsent', async () => {
    const running = await start({ replies: ['never'] })
    const model = modelFor(running)
    const settings = { maxTokens: 100, providerOptions: { anthropic: { max_tokens: 50 } } }
    const message =
      'chat: providerOptions.anthropic.max_tokens must be absent (set maxTokens, which is sent as max_tokens and which a budget counts), got 50'
    expect(() => model.checkSettings(settings, 'chat')).toThrow(message)
    expect(() => new AnthropicChat({ name: 'chat', model: modelId, apiKey: 'test-key', ...settings })).toThrow(message)
    for (const call of [
      () => model.doGenerate({ ...hello, providerOptions: settings.providerOptions }),
      () => collect(model.doStream({ ...hello, providerOptions: settings.providerOptions })),
    ]) {
      const error = await call().catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as ConfigurationError).option).toBe('providerOptions.anthropic.max_tokens')
    }
    expect(running.requests).toHaveLength(0)
  })

  it('sends a thinking budget of 1024 or more as it is', async () => {
    const running = await start({ replies: ['one', 'two'] })
    const model = modelFor(running)
    await model.doGenerate({ ...hello, providerOptions: thinking(1024) })
    await model.doGenerate({ ...hello, maxTokens: 16_000, providerOptions: thinking(10_000) })
    expect(running.messageRequests.map((body) => [body.max_tokens, body.thinking])).toEqual([
      [defaultAnthropicMaxTokens, { type: 'enabled', budget_tokens: 1024 }],
      [16_000, { type: 'enabled', budget_tokens: 10_000 }],
    ])
  })
})

describe('AnthropicChatModel: results', () => {
  it('maps stop reasons to finish reasons', async () => {
    const running = await start({
      replies: [
        { text: 'cut', stopReason: 'max_tokens' },
        { text: 'no', stopReason: 'refusal' },
        { text: 'wait', stopReason: 'pause_turn' },
        { text: 'too long', stopReason: 'model_context_window_exceeded' },
        'one two STOP three',
      ],
    })
    const model = modelFor(running)
    const reasons = []
    for (let call = 0; call < 4; call++) reasons.push((await model.doGenerate(hello)).choices[0]?.finishReason)
    expect(reasons).toEqual(['length', 'content_filter', 'other', 'length'])
    const stopped = await model.doGenerate({ ...hello, stop: ['STOP'] })
    expect(stopped.choices[0]).toMatchObject({ finishReason: 'stop', message: { content: 'one two ' } })
  })

  it('counts prompt-cache tokens as input tokens', async () => {
    const usage = { inputTokens: 10, outputTokens: 5, cacheCreationInputTokens: 100, cacheReadInputTokens: 1000 }
    const running = await start({
      replies: [
        { text: 'cached', usage },
        { text: 'cached', usage },
      ],
    })
    const model = modelFor(running)
    const expected = { inputTokens: 1110, outputTokens: 5, totalTokens: 1115 }
    expect((await model.doGenerate(hello)).usage).toEqual(expected)
    expect((await collect(model.doStream(hello))).result.usage).toEqual(expected)
  })

  it('keeps the request id and the raw message', async () => {
    const running = await start({ replies: ['raw'] })
    const result = await modelFor(running).doGenerate(hello)
    expect(result.requestId).toBe('req_0')
    expect(result.raw).toMatchObject({
      id: 'msg_loopback_0',
      type: 'message',
      content: [{ type: 'text', text: 'raw' }],
    })
  })

  it('returns text and tool calls together, and null content for tool calls alone', async () => {
    const running = await start({
      replies: [
        { text: 'Let me check.', toolUses: [{ id: 'toolu_1', name: 'f', input: { a: 1 } }] },
        { toolUses: [{ id: 'toolu_2', name: 'f', input: {} }] },
      ],
    })
    const model = modelFor(running)
    expect((await model.doGenerate(hello)).choices[0]?.message).toEqual({
      role: 'assistant',
      content: 'Let me check.',
      toolCalls: [{ id: 'toolu_1', name: 'f', arguments: '{"a":1}' }],
    })
    expect((await model.doGenerate(hello)).choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      toolCalls: [{ id: 'toolu_2', name: 'f', arguments: '{}' }],
    })
  })

  it('never shows the bearer token of a client passed in, given when it was built or later', async () => {
    const running = await start()
    running.setHandler('POST /v1/messages', ({ request }) => ({
      status: 401,
      json: {
        type: 'error',
        error: { type: 'authentication_error', message: `invalid token ${request.headers.authorization?.slice(7)}` },
      },
    }))
    const first = 'first-bearer-token-7Kq2m'
    const rotated = 'rotated-bearer-token-4Vn8x'
    const client = new Anthropic({ apiKey: null, authToken: first, baseURL: running.baseURL })
    const model = new AnthropicChatModel({ model: modelId, client })
    for (const token of [first, rotated]) {
      client.authToken = token
      const error = await model.doGenerate(hello).catch((caught: unknown) => caught)
      expect((error as Error).message).toContain('invalid token [REDACTED]')
      expect(JSON.stringify(error)).not.toContain(token)
    }
  })

  it('uses an existing client as it is, with its retries turned off for every call', async () => {
    const running = await start({ replies: [{ error: { status: 503, message: 'busy' } }, 'late'] })
    const client = new Anthropic({ apiKey: 'k', baseURL: running.baseURL, maxRetries: 5 })
    const error = await new AnthropicChatModel({ model: modelId, client })
      .doGenerate(hello)
      .catch((caught: unknown) => caught)
    expect(error).toMatchObject({ status: 503, retryable: true })
    expect(running.requests).toHaveLength(1)
  })
})

describe('AnthropicChatModel: streaming', () => {
  it('streams text word by word and tool input in pieces, tool calls announced with id and name', async () => {
    const running = await start({
      replies: [{ text: 'Two words', toolUses: [{ id: 'toolu_s', name: 'f', input: { city: 'Paris' } }] }],
    })
    const { parts, result } = await collect(modelFor(running).doStream(hello))
    expect(parts.filter((part) => part.type === 'text-delta').map((part) => part.text)).toEqual(['Two', ' words'])
    const calls = parts.filter((part) => part.type === 'tool-call-delta')
    expect(calls[0]).toMatchObject({ toolCallIndex: 0, id: 'toolu_s', name: 'f', argumentsDelta: '' })
    expect(calls.map((part) => part.argumentsDelta).join('')).toBe('{"city":"Paris"}')
    expect(result.choices[0]).toMatchObject({
      finishReason: 'tool_calls',
      message: { content: 'Two words', toolCalls: [{ id: 'toolu_s', name: 'f', arguments: '{"city":"Paris"}' }] },
    })
    expect(result.requestId).toBe('req_0')
    expect(running.messageRequests[0]?.stream).toBe(true)
  })

  it('reports every event as activity, a server tool at work included, before the first part', async () => {
    const running = await start()
    const event = (data: { type: string } & Record<string, unknown>) => sseEvent({ event: data.type, data })
    const search = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }
    const events = [
      event({ type: 'message_start', message: messageStart() }),
      event({ type: 'content_block_start', index: 0, content_block: search }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query":' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"tinyllm"}' } }),
      event({ type: 'content_block_stop', index: 0 }),
      event({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
      event({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Found.' } }),
      event({ type: 'content_block_stop', index: 1 }),
      event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }),
      event({ type: 'message_stop' }),
    ]
    running.setHandler('POST /v1/messages', () => ({ sse: events }))
    const heard: string[] = []
    const stream = modelFor(running).doStream(hello, { onActivity: () => heard.push('activity') })
    for await (const part of stream) heard.push(part.type)
    // Seven events come before the text: each one shows the stream is alive, though none is a part.
    expect(heard.indexOf('text-delta')).toBe(7)
    expect(heard.filter((entry) => entry === 'activity')).toHaveLength(events.length)
  })

  it('passes tool input that is not JSON on as the model wrote it', async () => {
    const running = await start({ replies: [{ toolUses: [{ id: 't', name: 'f', input: '{"broken": ' }] }] })
    const { result } = await collect(modelFor(running).doStream(hello))
    expect(result.choices[0]?.message.toolCalls?.[0]?.arguments).toBe('{"broken": ')
  })

  it('an error event mid-stream becomes a ProviderCallError with its type', async () => {
    const running = await start()
    running.setHandler('POST /v1/messages', () => ({
      sse: [
        sseEvent({ event: 'message_start', data: { type: 'message_start', message: messageStart() } }),
        sseEvent({
          event: 'error',
          data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
        }),
      ],
    }))
    const error = await collect(modelFor(running).doStream(hello)).catch((caught: unknown) => caught)
    expect(ProviderCallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ providerErrorType: 'overloaded_error', retryable: true, status: undefined })
  })

  it('a stream that ends before message_stop is a retryable ProviderCallError', async () => {
    const running = await start()
    running.setHandler('POST /v1/messages', () => ({
      sse: [sseEvent({ event: 'message_start', data: { type: 'message_start', message: messageStart() } })],
    }))
    const error = await collect(modelFor(running).doStream(hello)).catch((caught: unknown) => caught)
    expect(ProviderCallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ retryable: true, requestId: 'req_0' })
    expect((error as Error).message).toContain('message_stop')
  })

  it('ignores what a stream sends after message_stop, as the OpenAI stream does after [DONE]', async () => {
    const running = await start()
    const event = (data: { type: string } & Record<string, unknown>) => sseEvent({ event: data.type, data })
    const text = (index: number, value: string) =>
      event({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: value } })
    running.setHandler('POST /v1/messages', () => ({
      sse: [
        event({ type: 'message_start', message: messageStart() }),
        event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        text(0, 'Hello'),
        event({ type: 'content_block_stop', index: 0 }),
        event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }),
        event({ type: 'message_stop' }),
        text(0, ' and more'),
        event({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: {} }),
      ],
    }))
    const { parts, result } = await collect(modelFor(running).doStream(hello))
    expect(parts.filter((part) => part.type === 'text-delta')).toEqual([
      { type: 'text-delta', choiceIndex: 0, text: 'Hello' },
    ])
    expect(result.choices[0]).toMatchObject({ message: { content: 'Hello' }, finishReason: 'stop' })
  })

  it('a consumer that stops early closes the request', async () => {
    // The stream stops after its first words until the client leaves, so only the consumer's leaving can end it,
    // however slow the machine.
    const running = await start()
    running.setHandler('POST /v1/messages', ({ signal }) => ({ sse: wordsUntilClosed(signal) }))
    for await (const part of modelFor(running).doStream(hello)) {
      if (part.type === 'text-delta') break
    }
    await running.whenIdle()
    expect(running.requests[0]?.outcome).toBe('client-closed')
  })

  it('a rate limit while streaming is a RateLimitError with retry-after-ms', async () => {
    const running = await start({
      replies: [{ error: { status: 429, message: 'slow', headers: { 'retry-after-ms': '1500' } } }],
    })
    const error = await collect(modelFor(running).doStream(hello)).catch((caught: unknown) => caught)
    expect(RateLimitError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ retryAfterMs: 1500, requestId: 'req_0', providerErrorType: 'rate_limit_error' })
  })
})

it('fails a body cut while read through a client’s own fetch as a retryable connection failure, streamed or not', async () => {
  const running = await start({ replies: ['one two three'], cycleReplies: true })
  for (const failure of [new Error('socket hang up'), new TypeError('network error')]) {
    const client = new Anthropic({
      apiKey: 'test-key',
      baseURL: running.baseURL,
      fetch: bodyFailingFetch(failure),
      maxRetries: 0,
    })
    const model = new AnthropicChatModel({ model: modelId, client })
    const failures = [
      await model.doGenerate(hello).catch((caught: unknown) => caught),
      await collect(model.doStream(hello)).catch((caught: unknown) => caught),
    ]
    for (const failed of failures) {
      expect(failed).toMatchObject({ name: 'ProviderCallError', retryable: true })
      expect((failed as Error).message).toContain('connection failed while reading the response')
    }
  }
})

describe('AnthropicChatModel: errors', () => {
  it('maps statuses: 400/403/404 not retryable; 408, 409, 500, 529 retryable; Anthropic error types kept', async () => {
    const statuses = [400, 403, 404, 408, 409, 500, 529]
    const running = await start({
      replies: statuses.map((status) => ({ error: { status, message: `HTTP ${status}` } })),
    })
    const model = modelFor(running)
    const seen = []
    for (const status of statuses) {
      const error = (await model.doGenerate(hello).catch((caught: unknown) => caught)) as ProviderCallError
      seen.push([error.status, error.retryable, error.providerErrorType, error.requestId])
      expect(status).toBe(error.status)
    }
    expect(seen).toEqual([
      [400, false, 'invalid_request_error', 'req_0'],
      [403, false, 'permission_error', 'req_1'],
      [404, false, 'not_found_error', 'req_2'],
      [408, true, 'invalid_request_error', 'req_3'],
      [409, true, 'invalid_request_error', 'req_4'],
      [500, true, 'api_error', 'req_5'],
      [529, true, 'overloaded_error', 'req_6'],
    ])
    expect(running.requests).toHaveLength(statuses.length)
  })

  it('a request it cannot read (a getter that throws, messages that are no list) fails with a tinyllm error, generated or streamed, unsent', async () => {
    const running = await start()
    const throwing = {
      role: 'assistant',
      content: 'Hello.',
      get reasoning(): never {
        throw new Error('unreadable reasoning')
      },
    }
    const requests = [
      { messages: [{ role: 'user', content: 'Hi' }, throwing, { role: 'user', content: 'Again' }] },
      { messages: 5 },
    ] as unknown as ChatRequest[]
    for (const request of requests) {
      for (const call of [
        () => modelFor(running).doGenerate(request),
        () => collect(modelFor(running).doStream(request)),
      ]) {
        const error = await call().catch((caught: unknown) => caught)
        expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
        expect(error).toMatchObject({ retryable: false, providerErrorType: 'invalid_request' })
        expect((error as Error).message).toContain('the request could not be sent')
      }
    }
    expect(running.requests).toHaveLength(0)
  })

  it("honours Anthropic's x-should-retry header", async () => {
    const running = await start({
      replies: [
        { error: { status: 500, message: 'permanent', headers: { 'x-should-retry': 'false' } } },
        { error: { status: 400, message: 'try again', headers: { 'x-should-retry': 'true' } } },
      ],
    })
    const model = modelFor(running)
    expect(await model.doGenerate(hello).catch((error: unknown) => error)).toMatchObject({ retryable: false })
    expect(await model.doGenerate(hello).catch((error: unknown) => error)).toMatchObject({ retryable: true })
  })

  it('maps connection resets, cut streams and malformed JSON to retryable ProviderCallErrors', async () => {
    const running = await start({ replies: ['a fine answer in several words'], cycleReplies: true })
    running.injectFaults([
      { kind: 'reset-before-headers' },
      { kind: 'malformed-json' },
      { kind: 'cut-stream', afterEvents: 3 },
      { kind: 'reset-after-headers' },
    ])
    const model = modelFor(running)
    const failures = [
      await model.doGenerate(hello).catch((error: unknown) => error),
      await model.doGenerate(hello).catch((error: unknown) => error),
      await collect(model.doStream(hello)).catch((error: unknown) => error),
      await collect(model.doStream(hello)).catch((error: unknown) => error),
    ]
    for (const failure of failures) {
      expect(ProviderCallError.isInstance(failure), String(failure)).toBe(true)
      expect((failure as ProviderCallError).retryable).toBe(true)
      expect((failure as ProviderCallError).provider).toBe('anthropic')
    }
  })

  it('fails a stream whose first event is malformed with a retryable ProviderCallError, never a finish part', async () => {
    const running = await start({ replies: ['never seen'] })
    running.injectFaults([{ kind: 'malformed-json' }])
    const parts: string[] = []
    const error = await (async () => {
      for await (const part of modelFor(running).doStream(hello)) parts.push(part.type)
    })().catch((caught: unknown) => caught)
    expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ retryable: true })
    expect(parts).not.toContain('finish')
  })

  it('leaves no abort listener on a shared signal after many calls', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const model = modelFor(running)
    const controller = new AbortController()
    for (let call = 0; call < 20; call++) {
      await model.doGenerate(hello, { signal: controller.signal })
      await collect(model.doStream(hello, { signal: controller.signal }))
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it("the SDK's request timeout is a retryable ProviderCallError", async () => {
    const running = await start()
    running.injectFaults([{ kind: 'stall-headers' }])
    // tinyllm's own limits are attemptTimeoutMs and timeoutMs; a client's SDK timeout still maps to a typed error.
    const client = new Anthropic({ apiKey: 'test-key', baseURL: running.baseURL, timeout: 50 })
    const error = await new AnthropicChatModel({ model: modelId, client })
      .doGenerate(hello)
      .catch((caught: unknown) => caught)
    expect(ProviderCallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ retryable: true, providerErrorType: 'timeout' })
  })

  it('sends a long non-streamed request the SDK on its own would refuse: its request timeout is 10 minutes, set', async () => {
    // Given no timeout, the SDK refuses a non-streamed request whose max_tokens could take over 10 minutes (64,000,
    // the most claude-haiku-4-5 writes): tinyllm sets the SDK's timeout to the 10 minutes guarantees.md names, a last
    // resort under attemptTimeoutMs and timeoutMs.
    const running = await start({ replies: ['ok'] })
    const result = await modelFor(running, { maxTokens: 64_000 }).doGenerate(hello)
    expect(result.choices[0]?.message.content).toBe('ok')
    expect(running.messageRequests).toMatchObject([{ max_tokens: 64_000 }])
  })

  it('refuses a response larger than maxResponseBytes, JSON or streamed, and does not retry it', async () => {
    const running = await start({ replies: ['x'.repeat(4_000)], cycleReplies: true })
    const model = modelFor(running, { maxResponseBytes: 1_000 })
    const generated = await model.doGenerate(hello).catch((caught: unknown) => caught)
    const streamed = await collect(model.doStream(hello)).catch((caught: unknown) => caught)
    for (const error of [generated, streamed]) {
      expect(ProviderCallError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ retryable: false, providerErrorType: 'response_too_large' })
    }
    running.injectFaults([
      { kind: 'oversized', bytes: 2_000_000 },
      { kind: 'oversized', bytes: 2_000_000 },
    ])
    const oversized = await modelFor(running)
      .doGenerate(hello)
      .catch((caught: unknown) => caught)
    expect(oversized).toMatchObject({ retryable: true, providerErrorType: 'malformed_response' })
    const capped = await modelFor(running, { maxResponseBytes: 100_000 })
      .doGenerate(hello)
      .catch((caught: unknown) => caught)
    expect(capped).toMatchObject({ providerErrorType: 'response_too_large' })
  })

  it('an abort whose reason is a tinyllm error (an attempt timeout) rejects with that error', async () => {
    const running = await start()
    for (const call of [
      (signal: AbortSignal) => modelFor(running).doGenerate(hello, { signal }),
      (signal: AbortSignal) => collect(modelFor(running).doStream(hello, { signal })),
    ]) {
      const arrived = holdUntilClosed(running, 'POST /v1/messages')
      const controller = new AbortController()
      const pending = call(controller.signal).catch((error: unknown) => error)
      await arrived
      const reason = new TimeoutError({ kind: 'attempt', timeoutMs: 10 })
      controller.abort(reason)
      expect(await pending).toBe(reason)
    }
  })

  it('an abort keeps the signal reason', async () => {
    const running = await start()
    const arrived = holdUntilClosed(running, 'POST /v1/messages')
    const controller = new AbortController()
    const pending = modelFor(running)
      .doGenerate(hello, { signal: controller.signal })
      .catch((error: unknown) => error)
    await arrived
    const reason = new Error('shutting down')
    controller.abort(reason)
    const error = await pending
    expect(AbortError.isInstance(error)).toBe(true)
    expect((error as AbortError).reason).toBe(reason)
  })
})

function messageStart() {
  return {
    id: 'msg_x',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 1 },
  }
}

describe('AnthropicChatModel on the wire', () => {
  it('sends the output format and strict tools with strict-mode-valid schemas', async () => {
    const running = await start({ replies: ['{"city":"Paris","population":null}'] })
    const open = {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: 'integer' } },
      required: ['city'],
    }
    const result = await modelFor(running).doGenerate({
      ...hello,
      responseFormat: { type: 'json_schema', name: 'city', schema: open },
      tools: [
        { name: 'lookup', parameters: open, strict: true },
        { name: 'loose', parameters: open },
      ],
    })
    const closed = {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: ['integer', 'null'] } },
      required: ['city', 'population'],
      additionalProperties: false,
    }
    const body = running.messageRequests[0]
    expect(body?.output_config?.format).toEqual({ type: 'json_schema', schema: closed })
    expect(body?.tools).toEqual([
      { name: 'lookup', input_schema: closed, strict: true },
      { name: 'loose', input_schema: open },
    ])
    expect(JSON.parse(resultText(result))).toEqual({ city: 'Paris' })
  })

  it('refuses a recursive schema for the output format or a strict tool before sending it, naming where, streamed or not', async () => {
    const running = await start({ replies: ['ok'] })
    // What z.toJSONSchema writes for a zod tree (a schema whose getter names itself): Anthropic's structured outputs
    // and strict tools refuse recursive schemas with a 400.
    const tree = {
      type: 'object',
      properties: { root: { $ref: '#/$defs/node' } },
      required: ['root'],
      $defs: {
        node: {
          type: 'object',
          properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
          required: ['name', 'children'],
        },
      },
    }
    const call = new LLMCall({ name: 'chat', model: modelFor(running), retry: { attempts: 3, initialDelayMs: 1 } })
    for (const [settings, message] of [
      [
        { responseFormat: { type: 'json_schema', name: 'tree', schema: tree } },
        'chat: responseFormat.schema: the $ref at "#/$defs/node/properties/children/items" refers to a schema it is inside of',
      ],
      [
        { tools: [{ name: 'walk', parameters: tree, strict: true }] },
        'chat: tools[0].parameters: the $ref at "#/$defs/node/properties/children/items" refers to a schema it is inside of',
      ],
    ] as const) {
      const request = { ...hello, ...settings } as ChatRequest
      for (const error of [
        await call.invoke(request).catch((caught: unknown) => caught),
        await call.stream(request).result.catch((caught: unknown) => caught),
      ]) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect((error as Error).message).toContain(message)
      }
    }
    expect(running.requests).toHaveLength(0)
    // A tool that is not strict is sent as it is: Anthropic does not constrain its input to the schema.
    await modelFor(running).doGenerate({ ...hello, tools: [{ name: 'walk', parameters: tree }] })
    expect(running.messageRequests[0]?.tools).toEqual([{ name: 'walk', input_schema: tree }])
  })

  it('refuses a strict schema Anthropic would refuse that strict mode leaves as it is, before sending it', async () => {
    const running = await start({ replies: ['ok'] })
    // toStrictJsonSchema closes the objects a value may be, not the ones under `not`, which Anthropic refuses as open.
    const schema = {
      type: 'object',
      properties: { note: { type: 'string', not: { type: 'object', properties: { at: { type: 'string' } } } } },
      required: ['note'],
    }
    const model = modelFor(running)
    const call = new LLMCall({ name: 'chat', model, retry: { attempts: 3, initialDelayMs: 1 } })
    const problem =
      "For 'object' type, 'additionalProperties' must be explicitly set to false at #/properties/note/not, which Anthropic's strict mode refuses"
    for (const [settings, option] of [
      [{ responseFormat: { type: 'json_schema', name: 'out', schema } }, 'responseFormat.schema'],
      [{ tools: [{ name: 'lookup', parameters: schema, strict: true }] }, 'tools[0].parameters'],
    ] as const) {
      const request = { ...hello, ...settings } as ChatRequest
      for (const error of [
        await call.invoke(request).catch((caught: unknown) => caught),
        await call.stream(request).result.catch((caught: unknown) => caught),
        await model.doGenerate(request).catch((caught: unknown) => caught),
        await collect(model.doStream(request)).catch((caught: unknown) => caught),
      ]) {
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as Error).message).toContain(`${option}: ${problem}`)
      }
    }
    expect(running.requests).toHaveLength(0)
  })

  it('sends a string stop as one stop sequence', async () => {
    const running = await start({ replies: ['ok'] })
    await modelFor(running).doGenerate({ ...hello, stop: 'END' as unknown as string[] })
    expect(running.messageRequests[0]?.stop_sequences).toEqual(['END'])
  })

  it('answers an empty answer with the same text, streamed or not', async () => {
    const running = await start({ replies: [{ text: null }, { text: null }] })
    const generated = await modelFor(running).doGenerate(hello)
    const { result: streamed } = await collect(modelFor(running).doStream(hello))
    expect(generated.choices[0]?.message).toEqual({ role: 'assistant', content: '' })
    expect(streamed.choices[0]?.message).toEqual({ role: 'assistant', content: '' })
  })

  it("falls back to the body's id for the request id when the server sends no request-id header", async () => {
    const running = await start()
    const noIds = { 'request-id': null as unknown as string, 'x-request-id': null as unknown as string }
    running.setHandler('POST /v1/messages', ({ request }) =>
      (request.body as { stream?: boolean }).stream === true
        ? {
            headers: noIds,
            sse: [
              sseEvent({ event: 'message_start', data: { type: 'message_start', message: messageStart() } }),
              sseEvent({
                event: 'message_delta',
                data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} },
              }),
              sseEvent({ event: 'message_stop', data: { type: 'message_stop' } }),
            ],
          }
        : { headers: noIds, json: { ...messageStart(), stop_reason: 'end_turn' } },
    )
    expect((await modelFor(running).doGenerate(hello)).requestId).toBe('msg_x')
    expect((await collect(modelFor(running).doStream(hello))).result.requestId).toBe('msg_x')
  })

  it('fails a null body and an empty body with a retryable malformed_response', async () => {
    const running = await start()
    for (const raw of ['null', '']) {
      running.setHandler('POST /v1/messages', () => ({ raw, headers: { 'content-type': 'application/json' } }))
      const error = await modelFor(running)
        .doGenerate(hello)
        .catch((caught: unknown) => caught)
      expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
    }
  })

  it('fails content blocks and stream events it cannot read with a retryable malformed_response, never as text', async () => {
    const running = await start()
    const event = (data: Record<string, unknown>) => sseEvent({ event: data.type as string, data })
    const opening = event({ type: 'message_start', message: messageStart() })
    const end = [
      event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }),
      event({ type: 'message_stop' }),
    ]
    const answers = [
      {
        json: { ...messageStart(), content: [{ type: 'text', text: { a: 1 } }] },
        problem: 'a text block without text',
      },
      { json: { ...messageStart(), content: [{ type: 'text' }] }, problem: 'a text block without text' },
      { json: { ...messageStart(), content: [null] }, problem: 'not an object' },
      {
        json: { ...messageStart(), content: [{ type: 'tool_use', name: 'x', input: {} }] },
        problem: 'without a string id',
      },
      {
        sse: [opening, event({ type: 'content_block_start', index: 0, content_block: null }), ...end],
        problem: 'not an object',
      },
      {
        sse: [opening, event({ type: 'content_block_start', index: 0, content_block: { type: 'text' } }), ...end],
        problem: 'without text',
      },
      {
        sse: [
          opening,
          event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
          event({ type: 'content_block_delta', index: 0, delta: null }),
          ...end,
        ],
        problem: 'without a delta',
      },
      {
        sse: [
          opening,
          event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
          event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 5 } }),
          ...end,
        ],
        problem: 'text is not a string',
      },
      {
        sse: [
          opening,
          event({ type: 'content_block_start', index: -1, content_block: { type: 'text', text: '' } }),
          ...end,
        ],
        problem: 'block index of -1',
      },
      {
        sse: [opening, event({ type: 'message_delta', usage: {} }), event({ type: 'message_stop' })],
        problem: 'without a delta',
      },
      // Thinking goes back to the API as it came: a block that cannot be is refused here, not by the next turn.
      {
        json: { ...messageStart(), content: [{ type: 'thinking', signature: 's' }] },
        problem: 'a thinking block without thinking',
      },
      {
        json: { ...messageStart(), content: [{ type: 'thinking', thinking: 't', signature: 5 }] },
        problem: 'signature is not a string',
      },
      { json: { ...messageStart(), content: [{ type: 'redacted_thinking' }] }, problem: 'without data' },
      {
        sse: [
          opening,
          event({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
          event({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: null } }),
          ...end,
        ],
        problem: 'thinking is not a string',
      },
      {
        sse: [
          opening,
          event({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
          event({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: {} } }),
          ...end,
        ],
        problem: 'signature is not a string',
      },
    ]
    for (const { problem, ...answer } of answers) {
      running.setHandler('POST /v1/messages', () => answer)
      const call = 'sse' in answer ? collect(modelFor(running).doStream(hello)) : modelFor(running).doGenerate(hello)
      const error = await call.catch((caught: unknown) => caught)
      expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((error as Error).message).toContain(problem)
    }
    // A message_delta without usage is read as no new counts.
    running.setHandler('POST /v1/messages', () => ({
      sse: [
        opening,
        event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null } }),
        event({ type: 'message_stop' }),
      ],
    }))
    expect((await collect(modelFor(running).doStream(hello))).result.usage).toMatchObject({ inputTokens: 3 })
  })

  it('fails a stream whose deltas go to a block it never started, or to a block of another kind, or that starts a block twice, with a retryable malformed_response, never dropping them', async () => {
    const running = await start()
    const event = (data: Record<string, unknown>) => sseEvent({ event: data.type as string, data })
    const opening = event({ type: 'message_start', message: messageStart() })
    const end = [
      event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }),
      event({ type: 'message_stop' }),
    ]
    const startBlock = (index: number, block: Record<string, unknown>) =>
      event({ type: 'content_block_start', index, content_block: block })
    const delta = (index: number, body: Record<string, unknown>) =>
      event({ type: 'content_block_delta', index, delta: body })
    const toolUse = (id: string) => ({ type: 'tool_use', id, name: 'get_weather', input: {} })
    const streams = [
      { sse: [opening, delta(0, { type: 'text_delta', text: 'Hello' })], problem: 'block 0, which never started' },
      { sse: [opening, delta(1, { type: 'input_json_delta', partial_json: '{}' })], problem: 'block 1, which never' },
      {
        sse: [opening, startBlock(0, toolUse('t1')), delta(0, { type: 'text_delta', text: 'Hello' })],
        problem: 'a text_delta for block 0, a tool_use block',
      },
      {
        sse: [
          opening,
          startBlock(0, { type: 'text', text: '' }),
          delta(0, { type: 'input_json_delta', partial_json: '{' }),
        ],
        problem: 'an input_json_delta for block 0, a text block',
      },
      { sse: [opening, startBlock(0, toolUse('t1')), startBlock(0, toolUse('t2'))], problem: 'block 0 started twice' },
    ]
    for (const { sse, problem } of streams) {
      running.setHandler('POST /v1/messages', () => ({ sse: [...sse, ...end] }))
      const error = await collect(modelFor(running).doStream(hello)).catch((caught: unknown) => caught)
      expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((error as Error).message).toContain(problem)
    }
    // A block of a kind the specification does not read (a server tool's) takes its deltas, which are left alone.
    running.setHandler('POST /v1/messages', () => ({
      sse: [
        opening,
        startBlock(0, { type: 'server_tool_use', id: 'srv_1', name: 'web_search', input: {} }),
        delta(0, { type: 'input_json_delta', partial_json: '{"query":"tinyllm"}' }),
        startBlock(1, { type: 'text', text: '' }),
        delta(1, { type: 'text_delta', text: 'Found.' }),
        delta(1, { type: 'citations_delta', citation: { type: 'web_search_result_location' } }),
        ...end,
      ],
    }))
    const { result } = await collect(modelFor(running).doStream(hello))
    expect(result.choices[0]?.message).toEqual({ role: 'assistant', content: 'Found.' })
  })

  it('fails a stream with a second message_start, or with content before its message_start, as malformed, streaming nothing of it', async () => {
    const running = await start()
    const event = (data: Record<string, unknown>) => sseEvent({ event: data.type as string, data })
    const opening = event({ type: 'message_start', message: messageStart() })
    const text = (index: number, value: string) => [
      event({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }),
      event({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: value } }),
      event({ type: 'content_block_stop', index }),
    ]
    const end = [
      event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }),
      event({ type: 'message_stop' }),
    ]
    const streams = [
      // A second message would be read as the first one's: its usage would replace the counts of the first.
      { sse: [opening, ...text(0, 'Hello'), opening, ...text(1, ' again'), ...end], problem: 'a second message_start' },
      { sse: [opening, opening, ...text(0, 'Hello'), ...end], problem: 'a second message_start' },
      { sse: [...text(0, 'Hello'), opening, ...end], problem: 'a content_block_start before message_start' },
      {
        sse: [event({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: {} }), opening, ...end],
        problem: 'a message_delta before message_start',
      },
    ]
    for (const { sse, problem } of streams) {
      running.setHandler('POST /v1/messages', () => ({ sse }))
      const texts: string[] = []
      const error = await (async () => {
        for await (const part of modelFor(running).doStream(hello)) {
          if (part.type === 'text-delta') texts.push(part.text)
        }
      })().catch((caught: unknown) => caught)
      expect(ProviderCallError.isInstance(error), `${problem}: ${String(error)}`).toBe(true)
      expect(error).toMatchObject({ providerErrorType: 'malformed_response', retryable: true })
      expect((error as Error).message).toContain(problem)
      // Nothing after the fault reaches the caller: the second message's text is never streamed as the first one's.
      expect(texts.join('')).not.toContain('again')
    }
  })

  it('names the URL and the cause code of a connection failure, and a doubled /v1 on a 404', async () => {
    const closed = await startAnthropicCompatibleServer()
    const unreachable = closed.baseURL
    await closed.close()
    const refused = await new AnthropicChatModel({ model: modelId, apiKey: 'k', baseURL: unreachable })
      .doGenerate(hello)
      .catch((caught: unknown) => caught)
    expect((refused as Error).message).toBe(
      `anthropic: connection failed: POST ${unreachable}/v1/messages: ECONNREFUSED`,
    )
    const running = await start()
    const doubled = await new AnthropicChatModel({ model: modelId, apiKey: 'k', baseURL: `${running.baseURL}/v1` })
      .doGenerate(hello)
      .catch((caught: unknown) => caught)
    expect(doubled).toMatchObject({ status: 404, retryable: false })
    expect((doubled as Error).message).toContain(`the base URL ${running.baseURL}/v1 ends in /v1`)
  })

  it('never shows credentials of the base URL: userinfo (read from ANTHROPIC_BASE_URL) and secret query parameters', async () => {
    const running = await start()
    running.setHandler('POST /v1/messages', ({ request }) => ({
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: `bad ${request.path}${request.query}` } },
    }))
    const password = 'pw-0123-Secret'
    const queryKey = 'qk-4567-Secret'
    const host = running.url.slice('http://'.length)
    const logger = createMemoryLogger({ level: 'trace' })
    const seen: string[] = []
    // A baseURL option with userinfo is refused at construction; read from the environment, at the first call.
    vi.stubEnv('ANTHROPIC_BASE_URL', `http://tenant:${password}@${host}`)
    for (const baseURL of [
      undefined,
      `${running.url}?api-key=${queryKey}`,
      `${running.url}?key=${queryKey}`,
      `${running.url}?token=${queryKey}`,
    ]) {
      const chat = new AnthropicChat({ model: modelId, apiKey: 'k', baseURL, retry: { attempts: 1 } })
      const record = await chat.trace(hello, { logger })
      const error = record.error as ProviderCallError
      seen.push(error.message, String(error.stack), JSON.stringify(error.toJSON()), JSON.stringify(record))
    }
    seen.push(JSON.stringify(logger.entries))
    expect(seen.join('\n')).not.toContain(password)
    expect(seen.join('\n')).not.toContain(queryKey)
  })

  it('writes the SDK’s own logs (ANTHROPIC_LOG=debug) through tinyllm’s redacting logger, not the console', async () => {
    const saved = process.env.ANTHROPIC_LOG
    process.env.ANTHROPIC_LOG = 'debug'
    const logger = createMemoryLogger({ level: 'trace' })
    setDefaultLogger(logger)
    const consoleMethods = (['log', 'debug', 'info', 'warn', 'error'] as const).map((name) =>
      vi.spyOn(console, name).mockImplementation(() => {}),
    )
    try {
      const canary = 'sk-ant-api03-SDKLOGCANARY0123456789abcdefghij'
      const running = await start()
      running.setHandler('POST /v1/messages', ({ request }) => ({
        status: 401,
        json: {
          type: 'error',
          error: { type: 'authentication_error', message: `invalid x-api-key ${request.headers['x-api-key']}` },
        },
      }))
      await new AnthropicChatModel({ model: modelId, apiKey: canary, baseURL: running.baseURL })
        .doGenerate(hello)
        .catch(() => undefined)
      expect(consoleMethods.every((method) => method.mock.calls.length === 0)).toBe(true)
      expect(logger.entries.length).toBeGreaterThan(0)
      expect(JSON.stringify(logger.entries)).not.toContain(canary)
    } finally {
      for (const method of consoleMethods) method.mockRestore()
      setDefaultLogger(undefined)
      if (saved === undefined) delete process.env.ANTHROPIC_LOG
      else process.env.ANTHROPIC_LOG = saved
    }
  })
})

describe('AnthropicChatModel secrets are released with the model', () => {
  // This package's vitest.config.ts runs tests with --expose-gc; @tinyllm/llm tests the explicit release directly.
  const gc = (globalThis as { gc?: () => void }).gc
  it.skipIf(gc === undefined)(
    'registers the key of each model, and releases it when the model is garbage-collected',
    async () => {
      if (gc === undefined) return
      const before = registeredSecretCount()
      ;(() => {
        for (let tenant = 0; tenant < 10_000; tenant++) {
          new AnthropicChatModel({ model: modelId, apiKey: `tenant-key-${tenant}-Abc0123456789` })
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
