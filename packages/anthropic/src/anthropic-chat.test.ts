import Anthropic from '@anthropic-ai/sdk'
import {
  BudgetExceededError,
  ConfigurationError,
  defineFunction,
  formatRunTree,
  MemoryJournal,
  ValidationError,
} from '@tinyllm/core'
import {
  type ChatMessage,
  type ChatStreamPart,
  LLMCall,
  type LLMCallInput,
  RateLimiter,
  resultText,
  toJsonSchema,
} from '@tinyllm/llm'
import { sseEvent, startLoopbackServer } from '@tinyllm/testing'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import { z } from 'zod'
import { AnthropicChat, type AnthropicChatOptions } from './anthropic-chat.js'
import { AnthropicChatModel } from './anthropic-chat-model.js'
import type { AnthropicCompatibleServer, AnthropicCompatibleServerOptions } from './testing/index.js'
import { startAnthropicCompatibleServer, thinkingSignature } from './testing/index.js'

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

const ask = (content: string) => ({ messages: [{ role: 'user', content }] as const })

describe('AnthropicChat', () => {
  it('is an LLMCall over AnthropicChatModel that answers with the text', async () => {
    const running = await start({ replies: ['Hello from Claude.'] })
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    expect(chat.name).toBe('AnthropicChat')
    expect(chat.kind).toBe('anthropic-chat')
    expect(chat.model).toBeInstanceOf(AnthropicChatModel)
    expect(await chat.invoke({ messages: [{ role: 'user', content: 'Hi' }] })).toBe('Hello from Claude.')
  })

  it('never follows a redirect to another origin, on either transport, so x-api-key goes nowhere else', async () => {
    const other = await start({ replies: ['answered by another origin'] })
    const redirecting = await startLoopbackServer({
      routes: {
        'POST /v1/messages': () => ({ status: 307, headers: { location: `${other.baseURL}/v1/messages` }, raw: '' }),
      },
    })
    try {
      for (const transport of ['undici', 'fetch'] as const) {
        const chat = new AnthropicChat({
          model: 'claude-haiku-4-5',
          apiKey: 'sk-ant-redirected-key',
          baseURL: redirecting.url,
          transport,
        })
        const error = await chat.invoke(ask('Hi')).catch((caught: unknown) => caught)
        expect(error, transport).toMatchObject({
          name: 'ProviderCallError',
          providerErrorType: 'cross_origin_redirect',
          retryable: false,
        })
      }
      expect(other.requests).toHaveLength(0)
      // Not retried: one request per transport, refused before it left the first origin.
      expect(redirecting.requests).toHaveLength(2)
    } finally {
      await redirecting.close()
    }
  })

  it('fails a redirect loop within the origin with a redirect_loop error, on either transport, not retried', async () => {
    const looping = await startLoopbackServer({
      routes: { 'POST /v1/messages': () => ({ status: 307, headers: { location: '/v1/messages' }, raw: '' }) },
    })
    try {
      for (const transport of ['undici', 'fetch'] as const) {
        const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: looping.url, transport })
        const error = await chat.invoke(ask('Hi')).catch((caught: unknown) => caught)
        expect(error, transport).toMatchObject({
          name: 'ProviderCallError',
          providerErrorType: 'redirect_loop',
          retryable: false,
        })
        expect((error as Error).message).toContain('more than 20 times (a redirect loop)')
      }
      // The first request and 20 redirects followed, once per transport: no attempt after the first.
      expect(looping.requests).toHaveLength(42)
    } finally {
      await looping.close()
    }
  })

  it('rejects options it does not know, suggesting the right one, like OpenAIChat', () => {
    for (const [option, suggestion] of [
      ['max_tokens', 'maxTokens'],
      ['stop_sequences', 'stop'],
      ['model_name', 'model'],
      ['baseUrl', 'baseURL'],
    ] as const) {
      const options = { model: 'claude-haiku-4-5', [option]: 1 } as unknown as AnthropicChatOptions
      expect(() => new AnthropicChat(options)).toThrow(
        `AnthropicChat: ${option} is not an option; did you mean ${suggestion}?`,
      )
    }
    // The SDK's request timeout did not bound a stream; tinyllm's attemptTimeoutMs bounds the whole call.
    expect(() => new AnthropicChat({ model: 'claude-haiku-4-5', requestTimeoutMs: 5_000 } as never)).toThrow(
      'AnthropicChat: requestTimeoutMs is not an option; did you mean attemptTimeoutMs?',
    )
  })

  it('names a setting it refuses as its user wrote it (maxTokens, not settings.maxTokens), like OpenAIChat', () => {
    const options = { name: 'c', model: 'claude-haiku-4-5', apiKey: 'k' }
    const refused: Array<[Partial<AnthropicChatOptions>, string, string]> = [
      [{ maxTokens: 0 }, 'maxTokens', 'c: maxTokens must be an integer ≥ 1 and ≤ 100000000, got 0'],
      [{ user: 5 as unknown as string }, 'user', 'c: user must be a string (an id of your end user), got 5'],
      [
        { providerOptions: { anthropic: 'x' as unknown as Record<string, unknown> } },
        'providerOptions',
        'c: providerOptions must be an object of objects, keyed by provider name, got an object',
      ],
      [
        { providerOptions: { antropic: { top_k: 5 } } },
        'providerOptions.antropic',
        "c: providerOptions.antropic is not the model's provider; did you mean providerOptions.anthropic?",
      ],
    ]
    for (const [settings, option, message] of refused) {
      let error: unknown
      try {
        new AnthropicChat({ ...options, ...settings } as AnthropicChatOptions)
      } catch (thrown) {
        error = thrown
      }
      expect(ConfigurationError.isInstance(error), JSON.stringify(settings)).toBe(true)
      expect((error as ConfigurationError).option).toBe(option)
      expect((error as Error).message).toContain(message)
      expect((error as Error).message).not.toContain('settings.')
    }
  })

  it('names structuredOutput, the option its user gave, when strict mode refuses its schema (a record), invoked or streamed, unsent', async () => {
    const running = await start({ replies: ['{}'] })
    const options = { name: 'c', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL }
    const cases = [
      [{ schema: z.record(z.string(), z.string()) }, 'structuredOutput.schema'],
      [{ schema: z.record(z.string(), z.string()), jsonSchema: { type: 'object' } }, 'structuredOutput.jsonSchema'],
    ] as const
    for (const [structured, option] of cases) {
      const chat = new AnthropicChat({ ...options, structuredOutput: { name: 'answer', ...structured } })
      const invoked = await chat.invoke(ask('x')).catch((caught: unknown) => caught)
      const streamed = await chat.stream(ask('x')).result.catch((caught: unknown) => caught)
      for (const error of [invoked, streamed]) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ functionName: 'c', option })
        expect((error as Error).message).toContain(`c: ${option}: strict mode needs every object's properties listed`)
        expect((error as Error).message).not.toContain('responseFormat')
      }
    }
    expect(running.requests).toHaveLength(0)
  })

  it('refuses an apiKey that is not a string at construction, like OpenAIChat', () => {
    const build = () => new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 5 } as never)
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow('AnthropicChat: apiKey must be a string, got a number')
    expect(() => new AnthropicChatModel({ model: 'claude-haiku-4-5', apiKey: 5 } as never)).toThrow(
      'AnthropicChatModel: apiKey must be a string, got a number',
    )
  })

  it('structured output with an optional field: strict schema on the wire, a null answer read back as absent', async () => {
    const running = await start({ replies: ['{"verdict":"good","note":null}'] })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      structuredOutput: {
        name: 'verdict',
        schema: z.object({ verdict: z.enum(['good', 'bad']), note: z.string().optional() }),
      },
    })
    expect(await chat.invoke(ask('Judge.'))).toEqual({ verdict: 'good' })
    expect(running.messageRequests[0]?.output_config?.format?.schema).toMatchObject({
      required: ['verdict', 'note'],
      additionalProperties: false,
      properties: { note: { type: ['string', 'null'] } },
    })
  })

  it('retries 429 and 529 after their hint, not 400; the server sees every attempt once', async () => {
    const running = await start({
      replies: [
        { error: { status: 429, message: 'slow down', headers: { 'retry-after': '0' } } },
        { error: { status: 529, message: 'overloaded', headers: { 'retry-after-ms': '1' } } },
        'third time lucky',
        { error: { status: 400, message: 'bad request' } },
      ],
    })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      retry: { attempts: 3, initialDelayMs: 1 },
    })
    expect(await chat.invoke(ask('Hi'))).toBe('third time lucky')
    expect(running.requests).toHaveLength(3)
    const failed = await chat.invoke(ask('Hi')).catch((error: unknown) => error)
    expect(failed).toMatchObject({ name: 'ProviderCallError', status: 400, retryable: false })
    expect(running.requests).toHaveLength(4)
  })

  it('records tokens and cost from the price table, and the request id', async () => {
    const running = await start({
      replies: [{ text: 'priced', usage: { inputTokens: 1_000_000, outputTokens: 100_000 } }],
    })
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    const record = await chat.trace(ask('How much?'))
    expect(record.status).toBe('complete')
    expect(record.usage).toMatchObject({ calls: 1, inputTokens: 1_000_000, outputTokens: 100_000, unpricedCalls: 0 })
    // claude-haiku-4-5: 1 USD per 1M input tokens, 5 USD per 1M output tokens.
    expect(record.usage?.costUsd).toBeCloseTo(1.5, 10)
    expect(record.annotations).toMatchObject({ model: 'claude-haiku-4-5', requestId: 'req_0' })
  })

  it('counts a system prompt passed through providerOptions in the estimate, so a budget refuses what would overrun it', async () => {
    const running = await start({ replies: ['ok'] })
    const system = 'Follow the house style. '.repeat(2_000) // about 12,000 tokens at the server
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      maxTokens: 10,
      providerOptions: { anthropic: { system } },
    })
    const error = await chat.invoke(ask('Hi'), { budget: { maxTokens: 2_000 } }).catch((caught: unknown) => caught)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect(running.requests).toHaveLength(0)
  })

  it("reserves the max_tokens a request is sent with: the model's own default when the call sets none", async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const connection = { apiKey: 'k', baseURL: running.baseURL }
    const requested = async (chat: LLMCall) => {
      const error = await chat.invoke(ask('Hi'), { budget: { maxTokens: 1 } }).catch((caught: unknown) => caught)
      expect(BudgetExceededError.isInstance(error)).toBe(true)
      return (error as BudgetExceededError).requested
    }
    // 4,096 by default: the call is counted as one that sets it.
    const byDefault = await requested(new AnthropicChat({ name: 'c', model: 'claude-haiku-4-5', ...connection }))
    expect(byDefault).toBe(
      await requested(new AnthropicChat({ name: 'c', model: 'claude-haiku-4-5', maxTokens: 4_096, ...connection })),
    )
    // The model's maxTokens option, under a plain LLMCall too; a call's own maxTokens still comes first.
    const model = new AnthropicChatModel({ model: 'claude-haiku-4-5', maxTokens: 1_000, ...connection })
    const ownDefault = await requested(new LLMCall({ name: 'c', model }))
    expect(ownDefault).toBe(await requested(new LLMCall({ name: 'c', model, settings: { maxTokens: 1_000 } })))
    expect(byDefault - ownDefault).toBe(3_096)
    const ownSetting = await requested(new LLMCall({ name: 'c', model, settings: { maxTokens: 10 } }))
    expect(ownDefault - ownSetting).toBe(990)
    expect(running.requests).toHaveLength(0)
    // A budget that holds the default admits the call.
    const admitted = new AnthropicChat({ name: 'c', model: 'claude-haiku-4-5', ...connection })
    expect(await admitted.invoke(ask('Hi'), { budget: { maxTokens: byDefault } })).toBe('ok')
  })

  it('counts an answer without usage from its estimate, streamed or not, so a budget fills', async () => {
    const running = await start()
    const message = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
    }
    running.setHandler('POST /v1/messages', ({ request }) =>
      (request.body as { stream?: boolean }).stream === true
        ? {
            sse: [
              sseEvent({ event: 'message_start', data: { type: 'message_start', message } }),
              sseEvent({
                event: 'content_block_start',
                data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'ok' } },
              }),
              sseEvent({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } }),
              sseEvent({
                event: 'message_delta',
                data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null } },
              }),
              sseEvent({ event: 'message_stop', data: { type: 'message_stop' } }),
            ],
          }
        : { json: { ...message, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn' } },
    )
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL, maxTokens: 5 })
    const loop = defineFunction({
      name: 'loop',
      run: async (streamed: boolean, context) => {
        for (let call = 0; call < 20; call++)
          await context.invoke(chat, ask('Hi'), streamed ? { stream: () => {} } : undefined)
      },
    })
    for (const streamed of [false, true]) {
      const before = running.requests.length
      const record = await loop.trace(streamed, { budget: { maxTokens: 50 } })
      expect(BudgetExceededError.isInstance(record.error)).toBe(true)
      const sent = running.requests.length - before
      expect(sent).toBeGreaterThan(0)
      expect(sent).toBeLessThan(20)
      expect((running.requests.at(-1)?.body as { stream?: boolean } | undefined)?.stream ?? false).toBe(streamed)
      expect(record.usage).toMatchObject({ calls: sent, unpricedCalls: 0 })
      expect(record.usage?.costUsd).toBeGreaterThan(0)
      expect(record.children[0]?.output).toBe('ok')
      expect(record.children[0]?.annotations.usageEstimated).toBe(true)
    }
  })

  it('ends a stream at message_stop and closes its request, even when the server holds the connection open after it', async () => {
    // A proxy that keeps the body open after the last event must not hold a finished answer: no time limit is set, so
    // only message_stop can end the call.
    const running = await start()
    const message = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 1 },
    }
    running.setHandler('POST /v1/messages', ({ signal }) => ({
      sse: (async function* () {
        yield sseEvent({ event: 'message_start', data: { type: 'message_start', message } })
        yield sseEvent({
          event: 'content_block_start',
          data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'ok' } },
        })
        yield sseEvent({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } })
        yield sseEvent({
          event: 'message_delta',
          data: {
            type: 'message_delta',
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: 2 },
          },
        })
        yield sseEvent({ event: 'message_stop', data: { type: 'message_stop' } })
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      })(),
    }))
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    const stream = chat.stream(ask('Hi'))
    let text = ''
    for await (const delta of stream) if (delta.type === 'text-delta') text += delta.text
    expect(text).toBe('ok')
    expect(await stream.result).toBe('ok')
    await running.whenIdle()
    expect(running.requests.map((request) => request.outcome)).toEqual(['client-closed'])
  })

  it('fails usage figures that are strings as a malformed response quoting them, not as concatenated text', async () => {
    const running = await start()
    running.setHandler('POST /v1/messages', () => ({
      json: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5',
        content: [{ type: 'text', text: 'hi' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: '5', cache_read_input_tokens: 0, output_tokens: 2 },
      },
    }))
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      retry: { attempts: 1 },
    })
    const record = await chat.trace(ask('Hi'))
    expect(record.error).toMatchObject({ name: 'ProviderCallError', providerErrorType: 'malformed_response' })
    expect(record.error?.message).toContain('inputTokens: "5"')
  })

  it('fails a streamed message_delta whose output_tokens is not a number as a malformed response, not as message_start’s count', async () => {
    const running = await start()
    const message = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 1 },
    }
    running.setHandler('POST /v1/messages', () => ({
      sse: [
        sseEvent({ event: 'message_start', data: { type: 'message_start', message } }),
        sseEvent({
          event: 'content_block_start',
          data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'ok' } },
        }),
        sseEvent({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } }),
        sseEvent({
          event: 'message_delta',
          data: {
            type: 'message_delta',
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: '500' },
          },
        }),
        sseEvent({ event: 'message_stop', data: { type: 'message_stop' } }),
      ],
    }))
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      retry: { attempts: 1 },
    })
    // Taken as message_start's 1 output token, 500 would pass a budget and a rate limiter uncounted.
    const error = await chat.stream(ask('Hi')).result.then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toMatchObject({ name: 'ProviderCallError', providerErrorType: 'malformed_response' })
    expect((error as Error).message).toContain('outputTokens: "500"')
  })

  it('structured output: the zod schema reaches output_config.format and the answer is parsed and typed', async () => {
    const running = await start({ replies: ['{"verdict":"good","score":0.9}'] })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']), score: z.number() }) },
    })
    const value = await chat.invoke(ask('Judge this application.'))
    expectTypeOf(value).toEqualTypeOf<{ verdict: 'good' | 'bad'; score: number }>()
    expect(value).toEqual({ verdict: 'good', score: 0.9 })
    expect(running.messageRequests[0]?.output_config?.format).toMatchObject({
      type: 'json_schema',
      schema: { type: 'object', properties: { verdict: { enum: ['good', 'bad'] } } },
    })
  })

  it('structured output and strict tools with bounds: sent in descriptions, which Anthropic takes, and still checked', async () => {
    const Verdict = z.object({
      score: z.number().min(0).max(1).describe('How sure'),
      votes: z.int(),
      name: z.string().min(2),
      tags: z.array(z.string()).min(2).max(4),
      any: z.array(z.string()).min(1),
    })
    const answer = { score: 0.5, votes: 3, name: 'ok', tags: ['a', 'b'], any: ['x'] }
    const running = await start({
      replies: [JSON.stringify(answer), JSON.stringify({ ...answer, score: 2 }), { toolUses: [] }],
    })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      structuredOutput: { name: 'verdict', schema: Verdict },
    })
    expect(await chat.invoke(ask('Judge.'))).toEqual(answer)
    const properties = running.messageRequests[0]?.output_config?.format?.schema.properties as Record<string, object>
    expect(properties.score).toEqual({ type: 'number', description: 'How sure\n\n{minimum: 0, maximum: 1}' })
    expect(properties.votes).toEqual({
      type: 'integer',
      description: '{minimum: -9007199254740991, maximum: 9007199254740991}',
    })
    expect(properties.name).toEqual({ type: 'string', description: '{minLength: 2}' })
    expect(properties.tags).toMatchObject({ type: 'array', description: '{minItems: 2, maxItems: 4}' })
    expect(properties.any).toMatchObject({ type: 'array', minItems: 1 })
    // The caller's schema still holds the model to the bounds.
    const outOfBounds = await chat.trace(ask('Judge.'))
    expect(outOfBounds.error).toMatchObject({ name: 'ValidationError' })
    expect(outOfBounds.error?.message).toContain('score')

    const tools = [{ name: 'rate', parameters: toJsonSchema(Verdict), strict: true }]
    const caller = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL, tools })
    await caller.invoke(ask('Rate.'))
    expect(running.messageRequests.at(-1)?.tools?.[0]).toMatchObject({
      strict: true,
      input_schema: { properties: { score: { type: 'number', description: 'How sure\n\n{minimum: 0, maximum: 1}' } } },
    })
  })

  it('streams deltas and resolves with the text', async () => {
    const running = await start({ replies: ['streamed word by word'] })
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    const stream = chat.stream(ask('Stream it'))
    const texts: string[] = []
    for await (const delta of stream) if (delta.type === 'text-delta') texts.push(delta.text)
    expect(texts.join('')).toBe('streamed word by word')
    expect(await stream.result).toBe('streamed word by word')
  })

  it('takes a call of a tool offered through providerOptions.anthropic.tools (an Anthropic-defined tool), and still refuses one never offered', async () => {
    const running = await start({
      replies: (body) => ({
        toolUses: [
          {
            id: 'toolu_1',
            name: String(body.messages[0]?.content) === 'edit' ? 'str_replace_based_edit_tool' : 'bash',
            input: { command: 'ls' },
          },
        ],
      }),
      cycleReplies: true,
    })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      output: 'result',
      providerOptions: { anthropic: { tools: [{ type: 'bash_20250124', name: 'bash' }] } },
    })
    for (const streamed of [false, true]) {
      const input = ask('list files')
      const result = await (streamed ? chat.stream(input).result : chat.invoke(input))
      expect(result.choices[0]?.message.toolCalls, `streamed: ${streamed}`).toEqual([
        { id: 'toolu_1', name: 'bash', arguments: '{"command":"ls"}' },
      ])
    }
    const refused = await chat.invoke(ask('edit')).catch((caught: unknown) => caught)
    expect(refused).toMatchObject({ name: 'ToolCallError', reason: 'unknown-tool', availableTools: ['bash'] })
    // Beside tools of its own, the request sends both, never one instead of the other.
    const lookup = { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }
    const both = await chat.invoke({ ...ask('list files'), tools: [lookup] })
    expect(both.choices[0]?.message.toolCalls?.[0]?.name).toBe('bash')
    expect(running.messageRequests.at(-1)?.tools).toEqual([
      { name: 'lookup', input_schema: lookup.parameters },
      { type: 'bash_20250124', name: 'bash' },
    ])
    const unknown = await chat.invoke({ ...ask('edit'), tools: [lookup] }).catch((caught: unknown) => caught)
    expect(unknown).toMatchObject({ reason: 'unknown-tool', availableTools: ['lookup', 'bash'] })
  })

  it('takes a call of a member of a toolset sent through providerOptions, but not of a member its configs turn off', async () => {
    const running = await start({
      replies: (body) => ({ toolUses: [{ id: 'toolu_1', name: String(body.messages[0]?.content), input: {} }] }),
      cycleReplies: true,
    })
    const options = { model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL, output: 'result' as const }
    const toolsets = [{ type: 'computer_toolset_20260801', configs: { zoom: { enabled: false } } }]
    const chat = new AnthropicChat({ ...options, providerOptions: { anthropic: { tools: toolsets } } })
    for (const streamed of [false, true]) {
      const result = await (streamed ? chat.stream(ask('left_click')).result : chat.invoke(ask('left_click')))
      expect(result.choices[0]?.message.toolCalls?.[0]?.name, `streamed: ${streamed}`).toBe('left_click')
    }
    for (const name of ['zoom', 'navigate']) {
      const refused = await chat.invoke(ask(name)).catch((caught: unknown) => caught)
      expect(refused, name).toMatchObject({ name: 'ToolCallError', reason: 'unknown-tool', toolName: name })
      expect((refused as { availableTools: string[] }).availableTools).toContain('left_click')
      expect((refused as { availableTools: string[] }).availableTools).not.toContain('zoom')
    }
    const browser = new AnthropicChat({
      ...options,
      providerOptions: { anthropic: { tools: [{ type: 'browser_toolset_20260801' }] } },
    })
    expect((await browser.invoke(ask('navigate'))).choices[0]?.message.toolCalls?.[0]?.name).toBe('navigate')
  })

  it('carries extended thinking through a tool loop: the next turn sends it back unchanged and is accepted, streamed or not', async () => {
    const running = await start({
      replies: (body) =>
        body.messages.length === 1
          ? {
              thinking: ['The user wants x; look it up.', { redactedData: 'EncryptedThought==' }],
              text: 'Let me check.',
              toolUses: [{ id: 'toolu_1', name: 'lookup', input: { q: 'x' } }],
            }
          : 'x is 42.',
    })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      output: 'result',
      maxTokens: 4000,
      tools: [{ name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }],
      providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 1024 } } },
    })
    const question = { role: 'user', content: 'What is x?' } as const
    for (const streamed of [false, true]) {
      const call = (input: LLMCallInput) => (streamed ? chat.stream(input).result : chat.invoke(input))
      const first = await call({ messages: [question] })
      const turn = first.choices[0]?.message
      expect(turn, `streamed: ${streamed}`).toEqual({
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [{ id: 'toolu_1', name: 'lookup', arguments: '{"q":"x"}' }],
        reasoning: [
          {
            text: 'The user wants x; look it up.',
            provider: 'anthropic',
            signature: thinkingSignature('The user wants x; look it up.'),
          },
          { text: '', provider: 'anthropic', redactedData: 'EncryptedThought==' },
        ],
      })
      // Stored as JSON between the turns, as a journal, a cassette or a job's data keeps it.
      const kept = JSON.parse(JSON.stringify(turn)) as ChatMessage
      const second = await call({ messages: [question, kept, { role: 'tool', toolCallId: 'toolu_1', content: '42' }] })
      expect(resultText(second)).toBe('x is 42.')
      expect(running.messageRequests.at(-1)?.messages[1]).toEqual({
        role: 'assistant',
        content: [
          {
            type: 'thinking',
            thinking: 'The user wants x; look it up.',
            signature: thinkingSignature('The user wants x; look it up.'),
          },
          { type: 'redacted_thinking', data: 'EncryptedThought==' },
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } },
        ],
      })
    }
    expect(running.requests.map((request) => request.status)).toEqual([200, 200, 200, 200])
  })

  // Real time: 60 thinking deltas 100 ms apart take over 6 s; the limit leaves a loaded machine room.
  it('streams thinking as reasoning-delta parts, so an idle timeout does not fire while the model thinks aloud', {
    timeout: 60_000,
  }, async () => {
    // The stream is never silent for long (100 ms against an idle limit 50 times that, so that a loaded machine's own
    // pauses never reach it), though no text comes for over six seconds, longer than the idle limit: the server's
    // pauses only lengthen that.
    const thought = Array.from({ length: 60 }, (_, index) => `step${index}`).join(' ')
    const reply = { thinking: [thought], text: 'Answer.' }
    const thinking = { thinking: { type: 'enabled', budget_tokens: 1024 } }
    const running = await start({ replies: [reply], streamEventDelayMs: 100 })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      maxTokens: 4000,
      idleTimeoutMs: 5_000,
      retry: { attempts: 1 },
      output: 'result',
      providerOptions: { anthropic: thinking },
    })
    const stream = chat.stream(ask('Think it through.'))
    const deltas: string[] = []
    for await (const delta of stream) deltas.push(delta.type)
    // The reader gets the answer's deltas; the reasoning is on the result.
    expect(new Set(deltas)).toEqual(new Set(['text-delta']))
    expect((await stream.result).choices[0]?.message.reasoning?.[0]?.text).toBe(thought)
    expect(running.requests).toHaveLength(1)
    // The model itself streams the thinking as it comes; that needs no pauses, so a server without them shows it.
    await running.close()
    const unpaced = await start({ replies: [reply] })
    const model = new AnthropicChatModel({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: unpaced.baseURL })
    const parts: ChatStreamPart[] = []
    const request = { ...ask('Think it through.'), maxTokens: 4000, providerOptions: { anthropic: thinking } }
    for await (const part of model.doStream(request)) parts.push(part)
    const reasoning = parts.flatMap((part) => (part.type === 'reasoning-delta' ? [part.text] : []))
    expect(reasoning.join('')).toBe(thought)
  })

  it('retries a stream cut while the model thinks: the reader has seen nothing of the answer yet', async () => {
    const running = await start({
      cycleReplies: true,
      replies: [{ thinking: ['one two three four five six'], text: 'Answer.' }],
    })
    running.injectFaults([{ kind: 'cut-stream', afterEvents: 6 }])
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      maxTokens: 4000,
      retry: { attempts: 2, initialDelayMs: 1 },
      providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 1024 } } },
    })
    const stream = chat.stream(ask('Think it through.'))
    const texts: string[] = []
    for await (const delta of stream) if (delta.type === 'text-delta') texts.push(delta.text)
    expect(await stream.result).toBe('Answer.')
    expect(texts.join('')).toBe('Answer.')
    expect(running.requests).toHaveLength(2)
  })

  it('a tool-use turn whose text is only white space, as the model may answer, goes back without it and is accepted', async () => {
    const running = await start({
      replies: (body) =>
        body.messages.length === 1
          ? { text: '\n\n', toolUses: [{ id: 'toolu_1', name: 'lookup', input: {} }] }
          : 'Done.',
    })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      output: 'result',
      tools: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }],
    })
    const question = { role: 'user', content: 'Look it up.' } as const
    for (const streamed of [false, true]) {
      const call = (input: LLMCallInput) => (streamed ? chat.stream(input).result : chat.invoke(input))
      const turn = (await call({ messages: [question] })).choices[0]?.message as ChatMessage
      expect(turn).toMatchObject({ content: '\n\n' })
      const second = await call({ messages: [question, turn, { role: 'tool', toolCallId: 'toolu_1', content: 'r' }] })
      expect(resultText(second)).toBe('Done.')
      expect(running.messageRequests.at(-1)?.messages[1]?.content).toEqual([
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {} },
      ])
    }
  })

  it('sends back only the reasoning Anthropic made with its signature or data, and refuses reasoning that is not a list of parts', async () => {
    const running = await start({ cycleReplies: true, replies: ['ok'] })
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    const reasoning = [
      { text: 'from another provider', provider: 'openai', signature: 's' },
      { text: 'unsigned', provider: 'anthropic' },
      { text: 'signed', provider: 'anthropic', signature: thinkingSignature('signed') },
    ]
    await chat.invoke({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.', reasoning },
        { role: 'user', content: 'Again' },
      ],
    })
    expect(running.messageRequests[0]?.messages[1]?.content).toEqual([
      { type: 'thinking', thinking: 'signed', signature: thinkingSignature('signed') },
      { type: 'text', text: 'Hello.' },
    ])
    const error = await chat
      .invoke({
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.', reasoning: [{ text: 1, provider: 'anthropic' }] as never },
        ],
      })
      .catch((caught: unknown) => caught)
    expect(error).toMatchObject({ name: 'ValidationError' })
    expect((error as Error).message).toContain('messages[1].reasoning[0]: expected a reasoning part')
    expect(running.messageRequests).toHaveLength(1)
  })

  it('settings and the input reach the wire; the default max_tokens is the constructor’s', async () => {
    const running = await start({ replies: ['ok'] })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      maxTokens: 256,
      stop: ['END'],
      rateLimiter: new RateLimiter({ requestsPerMinute: 100 }),
    })
    await chat.invoke({ ...ask('Hi'), model: 'claude-sonnet-4-5' })
    expect(running.messageRequests[0]).toMatchObject({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      stop_sequences: ['END'],
    })
  })

  it('a setting Anthropic does not accept: a ConfigurationError at construction, invalid input given with the input, unsent', async () => {
    const running = await start({ replies: ['never'] })
    const construct = (extra: object) => () =>
      new AnthropicChat({ name: 'classify', model: 'claude-haiku-4-5', apiKey: 'k', ...extra })
    for (const [option, value] of [
      ['temperature', 0],
      ['n', 2],
      ['topP', 1],
      ['seed', 1],
    ] as const) {
      expect(construct({ [option]: value })).toThrow(
        option === 'n' ? 'classify: n > 1 is unsupported' : `classify: ${option} is unsupported`,
      )
    }
    const chat = new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    const error = await chat.invoke({ ...ask('Hi'), temperature: 0 }).catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).issues[0]?.path).toEqual(['temperature'])
    // The refusal, named after the call as at construction, is its cause.
    expect(((error as ValidationError).cause as Error).message).toMatch(/^AnthropicChat: temperature is unsupported/)
    expect(running.requests).toHaveLength(0)
  })

  it('refuses a stop sequence that is only white space, which OpenAI takes and Anthropic does not, and an empty one, as every provider does', async () => {
    const running = await start({ replies: ['one\ntwo'], cycleReplies: true })
    const options = { name: 'classify', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL }
    for (const stop of [['\n'], '\n\n', ['\u3000']]) {
      expect(() => new AnthropicChat({ ...options, stop })).toThrow(
        /^classify: stop "[^"]*" is unsupported: Anthropic's Messages API refuses a stop sequence that is empty or only white space/,
      )
    }
    expect(() => new AnthropicChat({ ...options, stop: ['END', ''] })).toThrow(
      'classify: stop[1] must be a non-empty string (an empty stop sequence marks no place to stop), got ""',
    )
    expect((await new AnthropicChat(options).trace({ ...ask('Hi'), stop: '' })).error?.message).toContain(
      'stop: must be a non-empty string',
    )
    const chat = new AnthropicChat(options)
    const record = await chat.trace({ ...ask('Hi'), stop: ['END', ' \t'] })
    expect(ValidationError.isInstance(record.error)).toBe(true)
    expect(record.error?.message).toContain('stop: " \\t" is unsupported')
    expect(record.attempts).toBe(1)
    expect(running.requests).toHaveLength(0)
    expect(await chat.invoke({ ...ask('Hi'), stop: [' END\n'] })).toBe('one\ntwo')
  })

  it('refuses a tool choice that forces tool use while extended thinking is on, before anything is sent', async () => {
    const running = await start({ replies: ['never'] })
    const tools = [{ name: 'lookup', parameters: { type: 'object', properties: {} } }]
    const chat = new AnthropicChat({
      name: 'classify',
      model: 'claude-sonnet-4-5',
      apiKey: 'k',
      baseURL: running.baseURL,
      maxTokens: 4_000,
      tools,
      providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 1_024 } } },
    })
    for (const toolChoice of ['required', { name: 'lookup' }] as const) {
      const record = await chat.trace({ ...ask('Hi'), toolChoice })
      expect(ValidationError.isInstance(record.error)).toBe(true)
      expect(((record.error as ValidationError).cause as Error).message).toMatch(
        /^classify: toolChoice .* is unsupported with extended thinking: Anthropic's Messages API refuses a tool choice that forces tool use/,
      )
      expect(record.attempts).toBe(1)
    }
    expect(running.requests).toHaveLength(0)
    expect(await chat.invoke({ ...ask('Hi'), toolChoice: 'auto' })).toBe('never')
  })

  it('refuses a forcing tool_choice given through providerOptions while extended thinking is on, before anything is sent', async () => {
    const running = await start({ replies: ['never'], cycleReplies: true })
    const tools = [{ name: 'lookup', parameters: { type: 'object', properties: {} } }]
    const options = { name: 'classify', model: 'claude-sonnet-4-5', apiKey: 'k', baseURL: running.baseURL, tools }
    const thinking = { type: 'enabled', budget_tokens: 1_024 }
    for (const tool_choice of [{ type: 'any' }, { type: 'tool', name: 'lookup' }]) {
      const providerOptions = { anthropic: { thinking, tool_choice } }
      expect(() => new AnthropicChat({ ...options, providerOptions })).toThrow(
        /^classify: providerOptions\.anthropic\.tool_choice .* is unsupported with extended thinking/,
      )
      const record = await new AnthropicChat(options).trace({ ...ask('Hi'), providerOptions })
      expect(ValidationError.isInstance(record.error), String(record.error)).toBe(true)
      expect(((record.error as ValidationError).cause as ConfigurationError).option).toBe(
        'providerOptions.anthropic.tool_choice',
      )
    }
    expect(running.requests).toHaveLength(0)
    // The request's own toolChoice is sent over it: 'auto' does not force tool use.
    const chat = new AnthropicChat({
      ...options,
      providerOptions: { anthropic: { thinking, tool_choice: { type: 'any' } } },
      toolChoice: 'auto',
    })
    expect(await chat.invoke(ask('Hi'))).toBe('never')
    expect(running.messageRequests.at(-1)?.tool_choice).toEqual({ type: 'auto' })
  })

  it('takes a toolChoice naming a tool sent through providerOptions, and refuses one naming no tool sent, before sending', async () => {
    const running = await start({ replies: ['searched'], cycleReplies: true })
    const webSearch = { type: 'web_search_20250305', name: 'web_search' }
    const lookup = { name: 'lookup', parameters: { type: 'object', properties: {} } }
    const options = { name: 'research', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL }
    const providerOptions = { anthropic: { tools: [webSearch] } }
    for (const tools of [undefined, [lookup]]) {
      const chat = new AnthropicChat({ ...options, ...(tools && { tools }), providerOptions })
      expect(await chat.invoke({ ...ask('Hi'), toolChoice: { name: 'web_search' } })).toBe('searched')
      expect(running.messageRequests.at(-1)?.tool_choice).toEqual({ type: 'tool', name: 'web_search' })
    }
    const sentBefore = running.requests.length
    for (const [settings, sent] of [
      [{ providerOptions }, '"web_search"'],
      [{ tools: [lookup], providerOptions }, '"lookup", "web_search"'],
      [{ tools: [lookup] }, '"lookup"'],
      [{}, 'none'],
    ] as const) {
      const chat = new AnthropicChat({ ...options, ...settings })
      const record = await chat.trace({ ...ask('Hi'), toolChoice: { name: 'fetch_page' } })
      expect(ConfigurationError.isInstance(record.error), JSON.stringify(settings)).toBe(true)
      expect(record.error?.message).toContain(
        `toolChoice names tool "fetch_page", which the request does not send (tools sent: ${sent})`,
      )
      expect(record.attempts).toBe(1)
    }
    // 'required' (Anthropic's `any`) with no tool sent: "tool_choice may only be specified while providing tools."
    const required = await new AnthropicChat(options).trace({ ...ask('Hi'), toolChoice: 'required' })
    expect(ConfigurationError.isInstance(required.error)).toBe(true)
    expect(required.error?.message).toContain(
      'toolChoice "required" needs a tool to choose (tools sent: none); give tools or providerOptions.anthropic.tools',
    )
    expect(running.requests).toHaveLength(sentBefore)
    const chat = new AnthropicChat({ ...options, providerOptions })
    expect(await chat.invoke({ ...ask('Hi'), toolChoice: 'required' })).toBe('searched')
    expect(running.messageRequests.at(-1)?.tool_choice).toEqual({ type: 'any' })
  })

  it('names the call in what it refuses while building the request (a tool not sent, a strict schema), invoked or streamed', async () => {
    const running = await start({ replies: ['never'], cycleReplies: true })
    const options = { name: 'research', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL }
    const chat = new AnthropicChat(options)
    const lookup = { name: 'lookup', parameters: { type: 'object', properties: {} } }
    const cases = [
      [{ tools: [lookup], toolChoice: { name: 'fetch_page' } }, 'toolChoice'],
      [{ toolChoice: 'required' }, 'toolChoice'],
      [{ responseFormat: { type: 'json_schema', name: 'free', schema: { type: 'object' } } }, 'responseFormat.schema'],
      [{ tools: [{ name: 'note', parameters: { type: 'object' }, strict: true }] }, 'tools[0].parameters'],
    ] as const
    for (const [settings, option] of cases) {
      const invoked = await chat.invoke({ ...ask('Hi'), ...settings }).catch((caught: unknown) => caught)
      let streamed: unknown
      try {
        for await (const _delta of chat.stream({ ...ask('Hi'), ...settings })) {
          // No delta comes: the request is refused before it is sent.
        }
      } catch (error) {
        streamed = error
      }
      for (const error of [invoked, streamed]) {
        expect(ConfigurationError.isInstance(error), JSON.stringify(settings)).toBe(true)
        expect(error).toMatchObject({ functionName: 'research', option })
        expect((error as Error).message).toMatch(/^research: /)
      }
    }
    expect(running.requests).toHaveLength(0)
  })

  it('refuses a tool whose parameters are a union at the top level, which Anthropic refuses, strict or not', async () => {
    const running = await start({ replies: ['never'] })
    const parameters = toJsonSchema(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('city'), city: z.string() }),
        z.object({ kind: z.literal('zip'), zip: z.string() }),
      ]),
    )
    const options = { name: 'c', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL }
    for (const strict of [false, true]) {
      expect(() => new AnthropicChat({ ...options, tools: [{ name: 'lookup', parameters, strict }] })).toThrow(
        "c: tools[0].parameters has oneOf at the top level, which Anthropic's input_schema does not support; wrap the union in an object",
      )
    }
    const record = await new AnthropicChat(options).trace({
      ...ask('Hi'),
      tools: [
        { name: 'ok', parameters: { type: 'object', properties: {} } },
        { name: 'lookup', parameters },
      ],
    })
    expect(ValidationError.isInstance(record.error)).toBe(true)
    expect((record.error as ValidationError).issues[0]?.path).toEqual(['tools', 1, 'parameters'])
    expect(record.error?.message).toContain('tools[1].parameters: has oneOf at the top level')
    expect(running.requests).toHaveLength(0)
  })

  it('refuses a tool name Anthropic refuses, at construction and per call, like OpenAIChat', async () => {
    const running = await start({ replies: ['never'] })
    const parameters = { type: 'object', properties: {} }
    const options = { name: 'c', model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL }
    expect(() => new AnthropicChat({ ...options, tools: [{ name: 'get weather', parameters }] })).toThrow(
      'c: tools[0].name must be 1–64 letters, digits, _ or -, got "get weather"',
    )
    const chat = new AnthropicChat(options)
    const error = await chat
      .invoke({
        ...ask('Hi'),
        tools: [
          { name: 'lookup', parameters },
          { name: 'get.weather', parameters },
        ],
      })
      .catch((caught: unknown) => caught)
    expect(error).toMatchObject({ issues: [{ path: ['tools', 1, 'name'] }] })
    expect(running.requests).toHaveLength(0)
  })

  it('refuses a base URL with credentials, which fetch cannot send, on either transport, like OpenAIChat', async () => {
    const running = await start()
    const withCredentials = running.baseURL.replace('http://', 'http://tenant:s3cret-pass@')
    for (const transport of ['undici', 'fetch'] as const) {
      const build = () =>
        new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: withCredentials, transport })
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(/^AnthropicChat: baseURL has credentials in it \(user:password@\)/)
      vi.stubEnv('ANTHROPIC_BASE_URL', withCredentials)
      const record = await new AnthropicChat({ model: 'claude-haiku-4-5', apiKey: 'k', transport }).trace(ask('Hi'))
      expect(ConfigurationError.isInstance(record.error)).toBe(true)
      // Named after the call, as the refusal at construction is.
      expect(record.error?.message).toMatch(/^AnthropicChat: ANTHROPIC_BASE_URL has credentials in it/)
      expect(record.error?.message).not.toContain('s3cret-pass')
      expect(record.attempts).toBe(1)
      vi.unstubAllEnvs()
    }
    expect(running.requests).toHaveLength(0)
  })

  it('never shows a key given in the headers option when the server echoes it, like OpenAIChat', async () => {
    const gatewayKey = 'gatewaykeywithoutanyknownshape'
    const running = await start()
    running.setHandler('POST /v1/messages', ({ request }) => ({
      status: 401,
      json: {
        type: 'error',
        error: { type: 'authentication_error', message: `invalid x-api-key ${request.headers['x-api-key']}` },
      },
    }))
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      apiKey: 'unused-by-this-server',
      baseURL: running.baseURL,
      headers: { 'x-api-key': gatewayKey },
    })
    const record = await chat.trace(ask('Hi'))
    expect(running.requests).toHaveLength(1)
    expect(record.error?.message).toContain('invalid x-api-key [REDACTED]')
    for (const text of [String(record.error?.message), JSON.stringify(record), formatRunTree(record)]) {
      expect(text).not.toContain(gatewayKey)
    }
  })

  it('never shows a credential the SDK reads from ANTHROPIC_CUSTOM_HEADERS when the server echoes it, on either transport, streamed or not', async () => {
    const gatewayKey = 'gatewaykeyfromtheenvironment'
    vi.stubEnv('ANTHROPIC_CUSTOM_HEADERS', `x-gateway-api-key: ${gatewayKey}`)
    const running = await start()
    running.setHandler('POST /v1/messages', ({ request }) => ({
      status: 401,
      json: {
        type: 'error',
        error: { type: 'authentication_error', message: `invalid key ${request.headers['x-gateway-api-key']}` },
      },
    }))
    for (const transport of ['undici', 'fetch'] as const) {
      const chat = new AnthropicChat({
        model: 'claude-haiku-4-5',
        apiKey: 'unused-by-this-server',
        baseURL: running.baseURL,
        transport,
      })
      for (const stream of [false, true]) {
        const record = await chat.trace(ask('Hi'), stream ? { stream: () => {} } : {})
        expect(record.error?.message).toContain('invalid key [REDACTED]')
        for (const text of [String(record.error?.message), JSON.stringify(record), formatRunTree(record)]) {
          expect(text).not.toContain(gatewayKey)
        }
      }
    }
    expect(running.requests).toHaveLength(4)
    expect(JSON.stringify(running.requests)).not.toContain(gatewayKey)
  })

  it('never shows its ANTHROPIC_API_KEY in an answer replayed from the journal, though the key was never sent, like OpenAIChat', async () => {
    const canary = 'envkeycanarywithoutashape'
    // A server that echoed the key of the run that journaled the answer, in another process.
    const running = await start({ replies: [`your key is ${canary}`] })
    const options = { name: 'chat', model: 'claude-haiku-4-5', baseURL: running.baseURL }
    const journal = new MemoryJournal()
    const journaled = await new AnthropicChat({ ...options, apiKey: 'the-other-process-key' }).invoke(ask('Hi'), {
      runId: 'resumed',
      journal,
    })
    expect(journaled).toBe(`your key is ${canary}`)
    vi.stubEnv('ANTHROPIC_API_KEY', canary)
    const record = await new AnthropicChat(options).trace(ask('Hi'), { runId: 'resumed', journal })
    expect(record.annotations.replayed).toBe(true)
    expect(running.requests).toHaveLength(1)
    expect(JSON.stringify(record)).toContain('your key is [REDACTED]')
    for (const text of [JSON.stringify(record), formatRunTree(record)]) expect(text).not.toContain(canary)
  })

  it('builds its AnthropicChatModel from the connection options, or uses a client you pass', async () => {
    const running = await start({ replies: ['from your client'] })
    const chat = new AnthropicChat({
      model: 'claude-haiku-4-5',
      client: new Anthropic({ apiKey: 'k', baseURL: running.baseURL }),
      attemptTimeoutMs: 5_000,
    })
    expect(chat.model).toBeInstanceOf(AnthropicChatModel)
    expect(chat.model.modelId).toBe('claude-haiku-4-5')
    expect(await chat.invoke(ask('Hi'))).toBe('from your client')
  })
})
