import {
  BudgetExceededError,
  ConfigurationError,
  defineFunction,
  formatRunTree,
  type LifecycleEvent,
  MemoryJournal,
  TimeoutError,
  ValidationError,
} from '@tinyllm/core'
import {
  AssistantMessageTemplate,
  PromptTemplate,
  ProviderCallError,
  RateLimitError,
  RateLimiter,
  SystemMessageTemplate,
  UserMessageTemplate,
} from '@tinyllm/llm'
import { createMemoryLogger } from '@tinyllm/logger'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { LLMCall, OpenAIChat, OpenAIChatModel, type OpenAIChatOptions } from './index.js'
import {
  OpenAIAssistantMessage,
  OpenAIPromptTemplate,
  OpenAISystemMessage,
  OpenAIUserMessage,
} from './openai-prompts.js'
import type { OpenAICompatibleServer, OpenAICompatibleServerOptions } from './testing/index.js'
import { startOpenAICompatibleServer } from './testing/index.js'

let server: OpenAICompatibleServer | undefined

afterEach(async () => {
  vi.unstubAllEnvs()
  await server?.close()
  server = undefined
})

async function start(options: OpenAICompatibleServerOptions = {}): Promise<OpenAICompatibleServer> {
  server = await startOpenAICompatibleServer({ created: 1_700_000_000, ...options })
  return server
}

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] })

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/** A retry policy whose own backoff would outlast the test: a call that finishes honoured the server's retry-after. */
const onlyRetryAfter = { attempts: 3, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 }

describe('OpenAIChat', () => {
  it('is an LLMCall over an OpenAIChatModel, and sends every setting given at construction', async () => {
    const server = await start({ replies: [{ choices: [{ content: 'good' }, { content: 'bad' }] }] })
    const chat = new OpenAIChat({
      name: 'openai_chat',
      model: 'gpt-4o-mini',
      apiKey: 'test-key',
      baseURL: server.baseURL,
      temperature: 0,
      topP: 0.5,
      maxTokens: 20,
      n: 2,
      stop: ['\n'],
      seed: 7,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
      responseFormat: { type: 'text' },
      tools: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }],
      toolChoice: 'auto',
      user: 'u-1',
      providerOptions: { openai: { service_tier: 'default' } },
      output: 'texts',
    })
    expect(chat).toBeInstanceOf(LLMCall)
    expect(chat.model).toBeInstanceOf(OpenAIChatModel)
    expect(chat.model.modelId).toBe('gpt-4o-mini')
    expect(await chat.invoke(ask('classify'))).toEqual(['good', 'bad'])
    expect(server.requests[0]?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'classify' }],
      temperature: 0,
      top_p: 0.5,
      max_completion_tokens: 20,
      n: 2,
      stop: ['\n'],
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      response_format: { type: 'text' },
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'auto',
      user: 'u-1',
      service_tier: 'default',
      stream: false,
    })
  })

  it('is named OpenAIChat unless given a name, and rejects options it does not know, suggesting the right one', () => {
    const chat = new OpenAIChat({ model: 'gpt-4o-mini', apiKey: 'k' })
    expect(chat.name).toBe('OpenAIChat')
    for (const [option, suggestion] of [
      ['top_p', 'topP'],
      ['max_tokens', 'maxTokens'],
      ['model_name', 'model'],
      ['temprature', 'temperature'],
      ['baseUrl', 'baseURL'],
    ] as const) {
      const options = { name: 'classify', model: 'gpt-4o-mini', [option]: 1 } as unknown as OpenAIChatOptions
      let caught: unknown
      try {
        new OpenAIChat(options)
      } catch (error) {
        caught = error
      }
      expect(ConfigurationError.isInstance(caught)).toBe(true)
      expect(caught).toMatchObject({ option, functionName: 'classify' })
      expect((caught as Error).message).toContain(`classify: ${option} is not an option; did you mean ${suggestion}?`)
    }
    expect(() => new OpenAIChat({ name: 'c', model: 'gpt-4o-mini', maxResponseBytes: 0 })).toThrow(
      'c: maxResponseBytes must be an integer > 0, got 0',
    )
    expect(() => new OpenAIChat({ name: 'c', model: 'gpt-4o-mini', requestTimeoutMs: 5_000 } as never)).toThrow(
      'c: requestTimeoutMs is not an option; did you mean attemptTimeoutMs?',
    )
  })

  it('refuses an apiKey that is not a string at construction, without showing it', () => {
    for (const apiKey of [5, { key: 'k' }, ['k']]) {
      const build = () => new OpenAIChat({ name: 'c', model: 'gpt-4o-mini', apiKey } as never)
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(/^c: apiKey must be a string, got (a number|an object|an array)$/)
    }
    expect(() => new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 5 } as never)).toThrow(
      'OpenAIChatModel: apiKey must be a string, got a number',
    )
  })

  it("lets an input's settings override the constructor's for one call", async () => {
    const server = await start({ replies: ['a', 'b'] })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      temperature: 0,
    })
    await chat.invoke({ ...ask('x'), model: 'gpt-4o', temperature: 0.9 })
    await chat.invoke(ask('y'))
    expect(server.chatRequests.map((request) => [request.model, request.temperature])).toEqual([
      ['gpt-4o', 0.9],
      ['gpt-4o-mini', 0],
    ])
  })

  it('refuses a temperature above 2 and more than 4 stop sequences, at construction and per call, sending nothing', async () => {
    const server = await start({ replies: ['ok'], cycleReplies: true })
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL }
    const refused: Array<[{ temperature?: number; stop?: string[] }, string]> = [
      [{ temperature: 3 }, 'c: temperature must be a number ≥ 0 and ≤ 2, got 3'],
      [
        { stop: ['a', 'b', 'c', 'd', 'e'] },
        'c: stop must be at most 4 sequences for OpenAI, got ["a","b","c","d","e"]',
      ],
    ]
    for (const [settings, message] of refused) {
      const build = () => new OpenAIChat({ ...options, ...settings })
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
    const chat = new OpenAIChat({ ...options, temperature: 2, stop: ['a', 'b', 'c', 'd'] })
    expect(await chat.invoke(ask('x'))).toBe('ok')
    for (const [settings, message] of refused) {
      // Given with the input, it is invalid input, in the same words, and the refusal is its cause.
      const error = await rejection(chat.invoke({ ...ask('x'), ...settings }))
      expect(ValidationError.isInstance(error)).toBe(true)
      expect((error as ValidationError).functionName).toBe('c')
      const issue = (error as ValidationError).issues[0]
      expect(`c: ${String(issue?.path?.[0])} ${issue?.message}`).toBe(message)
      expect(((error as ValidationError).cause as ConfigurationError).message).toBe(message)
    }
    expect(server.chatRequests).toHaveLength(1)
  })

  it('refuses a setting the API would answer with a 400 as invalid input when the input gives it, as a ConfigurationError when the constructor does, sending nothing, invoked or streamed', async () => {
    const server = await start({ replies: ['ok'], cycleReplies: true })
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL, retry: { attempts: 3 } }
    const parameters = { type: 'object', properties: {} }
    const settings: Array<[Record<string, unknown>, ReadonlyArray<string | number>]> = [
      [{ temperature: 3 }, ['temperature']],
      [{ temperature: -1 }, ['temperature']],
      [{ topP: 2 }, ['topP']],
      [{ n: 0 }, ['n']],
      [{ n: 129 }, ['n']],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, ['stop']],
      [{ tools: Array.from({ length: 129 }, (_, index) => ({ name: `tool_${index}`, parameters })) }, ['tools']],
      [{ tools: [{ name: 'get weather', parameters }] }, ['tools', 0, 'name']],
      [
        { providerOptions: { openai: { top_logprobs: 21, logprobs: true } } },
        ['providerOptions', 'openai', 'top_logprobs'],
      ],
    ]
    const chat = new OpenAIChat(options)
    for (const [setting, path] of settings) {
      const build = () => new OpenAIChat({ ...options, ...setting })
      expect(build, JSON.stringify(setting).slice(0, 60)).toThrow(ConfigurationError)
      const record = await chat.trace({ ...ask('x'), ...setting })
      let streamed: unknown
      try {
        for await (const _delta of chat.stream({ ...ask('x'), ...setting })) {
          // No delta comes: the input is refused before anything is sent.
        }
      } catch (error) {
        streamed = error
      }
      for (const error of [record.error, streamed]) {
        expect(ValidationError.isInstance(error), JSON.stringify(setting).slice(0, 60)).toBe(true)
        expect((error as ValidationError).issues[0]?.path).toEqual(path)
        expect((error as Error).message).toMatch(/^c: invalid input \(input_validation, 1 issue\)/)
      }
      // Never retried: the input schema refuses some before the first attempt, the provider's check in it.
      expect(record.attempts).toBeLessThanOrEqual(1)
    }
    expect(server.chatRequests).toHaveLength(0)
  })

  it('refuses an empty stop sequence, at construction and per call, sending nothing, as AnthropicChat does', async () => {
    const server = await start({ replies: ['ok'], cycleReplies: true })
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL }
    const refused: Array<[string | string[], string, ReadonlyArray<string | number>]> = [
      ['', 'c: stop must be a non-empty string (an empty stop sequence marks no place to stop), got ""', ['stop']],
      [
        [''],
        'c: stop[0] must be a non-empty string (an empty stop sequence marks no place to stop), got ""',
        ['stop', 0],
      ],
      [
        ['END', ''],
        'c: stop[1] must be a non-empty string (an empty stop sequence marks no place to stop), got ""',
        ['stop', 1],
      ],
    ]
    const chat = new OpenAIChat(options)
    for (const [stop, message, path] of refused) {
      const build = () => new OpenAIChat({ ...options, stop })
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
      const record = await chat.trace({ ...ask('x'), stop })
      expect(ValidationError.isInstance(record.error)).toBe(true)
      expect((record.error as ValidationError).issues[0]?.path).toEqual(path)
      expect(record.attempts).toBeLessThanOrEqual(1)
    }
    expect(server.chatRequests).toHaveLength(0)
    // White space is a stop sequence OpenAI takes.
    expect(await new OpenAIChat({ ...options, stop: ['\n', ' '] }).invoke(ask('x'))).toBe('ok')
  })

  it('refuses a tool name OpenAI refuses, at construction and per call, sending nothing', async () => {
    const server = await start({ replies: ['ok'] })
    const parameters = { type: 'object', properties: {} }
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL }
    const build = () => new OpenAIChat({ ...options, tools: [{ name: 'get weather', parameters }] })
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow('c: tools[0].name must be 1–64 letters, digits, _ or -, got "get weather"')
    const chat = new OpenAIChat(options)
    const error = await rejection(chat.invoke({ ...ask('x'), tools: [{ name: 'a'.repeat(65), parameters }] }))
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).issues[0]?.path).toEqual(['tools', 0, 'name'])
    expect(server.chatRequests).toHaveLength(0)
  })

  it('names a setting it refuses as its user wrote it, at the top level (maxTokens), never as settings.maxTokens', () => {
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k' }
    const verdict = { name: 'verdict', schema: z.object({ verdict: z.string() }) }
    const refused: Array<[Partial<OpenAIChatOptions<'text', z.ZodType>>, string, string]> = [
      [{ maxTokens: 0 }, 'maxTokens', 'c: maxTokens must be an integer ≥ 1 and ≤ 100000000, got 0'],
      [{ user: 5 as unknown as string }, 'user', 'c: user must be a string (an id of your end user), got 5'],
      [
        { providerOptions: { openai: 'x' as unknown as Record<string, unknown> } },
        'providerOptions',
        'c: providerOptions must be an object of objects, keyed by provider name, got an object',
      ],
      [
        { providerOptions: { opneai: { logprobs: true } } },
        'providerOptions.opneai',
        "c: providerOptions.opneai is not the model's provider; did you mean providerOptions.openai?",
      ],
      [
        { tools: [{ name: 'get weather', parameters: { type: 'object' } }] },
        'tools[0].name',
        'c: tools[0].name must be 1–64 letters, digits, _ or -, got "get weather"',
      ],
      [
        { responseFormat: { type: 'json_object' }, structuredOutput: verdict },
        'responseFormat',
        'c: responseFormat cannot be set beside structuredOutput',
      ],
    ]
    for (const [settings, option, message] of refused) {
      let error: unknown
      try {
        new OpenAIChat({ ...options, ...settings } as OpenAIChatOptions<'text', z.ZodType>)
      } catch (thrown) {
        error = thrown
      }
      expect(ConfigurationError.isInstance(error), JSON.stringify(settings)).toBe(true)
      expect((error as ConfigurationError).option).toBe(option)
      expect((error as Error).message).toContain(message)
      expect((error as Error).message).not.toContain('settings.')
    }
  })

  it('refuses a toolChoice that OpenAI would answer with a 400 before sending: a tool not sent, or required without tools', async () => {
    // OpenAI's 400s: "no function named 'b' was specified in the 'tools' parameter", "'tool_choice' is only allowed
    // when 'tools' are specified". A toolChoice given at construction may be met by tools given with the input.
    const server = await start({ replies: ['ok'], cycleReplies: true })
    const tool = { name: 'get_weather', parameters: { type: 'object', properties: {} } }
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL, retry: { attempts: 3 } }
    const cases = [
      [
        { tools: [tool], toolChoice: { name: 'get_time' } },
        'toolChoice names tool "get_time", which tools does not have (tools: "get_weather")',
      ],
      [
        { toolChoice: { name: 'get_time' } },
        'toolChoice names tool "get_time", which tools does not have (tools: none)',
      ],
      [{ toolChoice: 'required' }, 'toolChoice "required" needs tools to choose from (OpenAI refuses it without them)'],
    ] as const
    for (const [settings, message] of cases) {
      const record = await new OpenAIChat(options).trace({ ...ask('Hi'), ...settings })
      expect(ConfigurationError.isInstance(record.error), JSON.stringify(settings)).toBe(true)
      expect(record.error?.message).toContain(message)
      expect(record.attempts).toBe(1)
    }
    expect(server.chatRequests).toHaveLength(0)
    const chosen = new OpenAIChat({ ...options, toolChoice: { name: 'get_weather' } })
    expect(await chosen.invoke({ ...ask('Hi'), tools: [tool] })).toBe('ok')
    expect(server.chatRequests[0]?.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } })
  })

  it('names the call in what it refuses while building the request (a tool not sent, a strict schema), invoked or streamed', async () => {
    const server = await start({ replies: ['ok'], cycleReplies: true })
    const chat = new OpenAIChat({ name: 'classify', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL })
    const tool = { name: 'get_weather', parameters: { type: 'object', properties: {} } }
    const cases = [
      [{ tools: [tool], toolChoice: { name: 'get_time' } }, 'toolChoice'],
      [
        { responseFormat: { type: 'json_schema', name: 'list', schema: { type: 'array' }, strict: true } },
        'responseFormat.schema',
      ],
      [{ tools: [{ name: 'note', parameters: { type: 'object' }, strict: true }] }, 'tools[0].parameters'],
    ] as const
    for (const [settings, option] of cases) {
      const invoked = await rejection(chat.invoke({ ...ask('Hi'), ...settings }))
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
        expect(error).toMatchObject({ functionName: 'classify', option })
        expect((error as Error).message).toMatch(/^classify: /)
      }
    }
    expect(server.chatRequests).toHaveLength(0)
  })

  it('names structuredOutput, the option its user gave, when strict mode refuses its schema (a record, an array root), invoked or streamed, unsent', async () => {
    const server = await start({ replies: ['{}'], cycleReplies: true })
    const options = { name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL }
    const cases = [
      [{ schema: z.record(z.string(), z.string()) }, 'structuredOutput.schema', 'the object at # lists none'],
      [{ schema: z.array(z.string()) }, 'structuredOutput.schema', 'needs an object schema at the root'],
      [
        { schema: z.array(z.string()), jsonSchema: { type: 'array', items: { type: 'string' } } },
        'structuredOutput.jsonSchema',
        'needs an object schema at the root',
      ],
    ] as const
    for (const [structured, option, words] of cases) {
      const chat = new OpenAIChat({
        ...options,
        structuredOutput: { name: 'answer', strict: true, ...(structured as { schema: z.ZodType }) },
      })
      const invoked = await rejection(chat.invoke(ask('x')))
      const streamed = await rejection(chat.stream(ask('x')).result)
      for (const error of [invoked, streamed]) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ functionName: 'c', option })
        expect((error as Error).message).toMatch(new RegExp(`^c: ${option.replace('.', '\\.')}: `))
        expect((error as Error).message).toContain(words)
        expect((error as Error).message).not.toContain('responseFormat')
      }
    }
    expect(server.chatRequests).toHaveLength(0)
  })

  it('retries 429 after its retry-after, and 5xx, with exactly one request per attempt at the server', async () => {
    const server = await start({
      replies: ['finally'],
      faults: [
        { kind: 'status', status: 429, headers: { 'retry-after': '0.05' } },
        { kind: 'status', status: 503, headers: { 'retry-after-ms': '20' } },
      ],
    })
    const events: LifecycleEvent[] = []
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      retry: onlyRetryAfter,
    })
    expect(await chat.invoke(ask('hi'), { onEvent: (event) => events.push(event) })).toBe('finally')
    expect(server.requests.map((request) => request.status)).toEqual([429, 503, 200])
    const retries = events.filter((event) => event.to === 'retrying').map((event) => event.error)
    expect(RateLimitError.isInstance(retries[0])).toBe(true)
    expect(retries[0]).toMatchObject({ status: 429, retryAfterMs: 50 })
    expect(retries[1]).toMatchObject({ status: 503, retryAfterMs: 20 })
  })

  it('gives up after the policy’s attempts, and the server saw exactly that many requests', async () => {
    const server = await start({
      faults: () => ({ kind: 'status', status: 500, headers: { 'retry-after-ms': '1', 'x-request-id': 'req_last' } }),
    })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      retry: { attempts: 4 },
    })
    const error = await rejection(chat.invoke(ask('hi')))
    expect(error).toMatchObject({ name: 'ProviderCallError', status: 500, requestId: 'req_last', retryable: true })
    expect(server.requests).toHaveLength(4)
  })

  it('retries dropped connections and malformed bodies', async () => {
    const server = await start({
      replies: ['ok'],
      cycleReplies: true,
      faults: [{ kind: 'reset-before-headers' }, { kind: 'reset-after-headers' }, { kind: 'malformed-json' }],
    })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      retry: { attempts: 4, initialDelayMs: 1 },
    })
    expect(await chat.invoke(ask('hi'))).toBe('ok')
    expect(server.requests).toHaveLength(4)
  })

  it.each([400, 401, 403, 404, 422])('does not retry %i, and keeps status and request id', async (status) => {
    const server = await start({ faults: [{ kind: 'status', status, headers: { 'x-request-id': `req_${status}` } }] })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      retry: { attempts: 5 },
    })
    const error = await rejection(chat.invoke(ask('hi')))
    expect(ProviderCallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ status, requestId: `req_${status}`, retryable: false, functionName: undefined })
    expect(server.requests).toHaveLength(1)
  })

  it('streams deltas and assembles the same result as a JSON call', async () => {
    const reply = {
      content: 'The quick brown fox',
      toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { q: 'fox' } }],
    }
    const server = await start({ replies: [reply, reply] })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      tools: [{ name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }],
      output: 'result',
    })
    const json = await chat.invoke(ask('hi'))
    const stream = chat.stream(ask('hi'))
    let text = ''
    for await (const delta of stream) if (delta.type === 'text-delta') text += delta.text
    const streamed = await stream.result
    expect(text).toBe('The quick brown fox')
    expect(streamed.choices).toEqual(json.choices)
    expect(streamed.usage).toEqual(json.usage)
    expect(streamed.model).toBe(json.model)
    expect(server.chatRequests[1]).toMatchObject({ stream: true, stream_options: { include_usage: true } })
  })

  it('fails a stalled stream with an idle TimeoutError', async () => {
    const server = await start({ replies: ['one two three four'], faults: [{ kind: 'stall-stream', afterEvents: 2 }] })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      // Generous: a loaded machine's pause before the first two events must not reach it (that would be retried); the
      // stall, which lasts until the client leaves, does.
      idleTimeoutMs: 5_000,
    })
    const stream = chat.stream(ask('hi'))
    const error = await rejection(stream.result)
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ kind: 'idle', timeoutMs: 5_000 })
    await server.whenIdle()
  })

  it('does not call a model silent while it streams its reasoning (reasoning_content, reasoning): no idle timeout', async () => {
    // OpenAI-compatible servers (DeepSeek, vLLM, Ollama, OpenRouter) stream a reasoning model's thinking before its
    // answer: for longer than idleTimeoutMs here, in chunks far closer together than it.
    const server = await start()
    const chunk = (delta: object, finishReason: string | null = null) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'deepseek-reasoner',
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    })
    server.setHandler('POST /v1/chat/completions', () => ({
      sse: [
        chunk({ role: 'assistant', content: '' }),
        ...Array.from({ length: 80 }, (_, index) =>
          chunk(index % 2 === 0 ? { reasoning_content: 'Thinking… ' } : { reasoning: 'still thinking… ' }),
        ),
        chunk({ content: 'good' }),
        chunk({}, 'stop'),
        '[DONE]',
      ],
      sseEventDelayMs: 25,
    }))
    const chat = new OpenAIChat({
      model: 'deepseek-reasoner',
      apiKey: 'k',
      baseURL: server.baseURL,
      idleTimeoutMs: 1_500,
      retry: { attempts: 1 },
    })
    const stream = chat.stream(ask('hi'))
    const deltas: unknown[] = []
    for await (const delta of stream) deltas.push(delta)
    expect(await stream.result).toBe('good')
    // The reasoning is not the answer: it is not handed out.
    expect(deltas).toEqual([{ type: 'text-delta', choiceIndex: 0, text: 'good' }])
  })

  it('sends a zod default inside a strict schema as OpenAI takes it, and fills it in when the model answers null', async () => {
    // OpenAI's strict mode takes `default` beside the types it lists (its structured-outputs subset does not refuse the
    // keyword); every property is sent as required, a defaulted one nullable, and the model's null reads as absent.
    const server = await start({ replies: ['{"query":"fox","limit":null}', '{"query":"fox","limit":3}'] })
    const chat = new OpenAIChat({
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      structuredOutput: {
        name: 'search',
        schema: z.object({ query: z.string(), limit: z.number().int().default(10) }),
        strict: true,
      },
    })
    expect(await chat.invoke(ask('search'))).toEqual({ query: 'fox', limit: 10 })
    expect(await chat.invoke(ask('search'))).toEqual({ query: 'fox', limit: 3 })
    const format = server.chatRequests[0]?.response_format
    expect(format).toMatchObject({
      json_schema: {
        strict: true,
        schema: {
          type: 'object',
          required: ['query', 'limit'],
          additionalProperties: false,
          properties: { limit: { default: 10 } },
        },
      },
    })
    expect(JSON.stringify(format)).toContain('"null"')
  })

  it('asks for JSON from a zod schema, parses and validates it; a violation is a typed error', async () => {
    const server = await start({ replies: ['{"verdict":"good","confidence":0.9}', '{"verdict":"maybe"}', 'not json'] })
    const chat = new OpenAIChat({
      name: 'verdict',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      structuredOutput: {
        name: 'verdict',
        schema: z.object({ verdict: z.enum(['good', 'bad']), confidence: z.number().optional() }),
        strict: true,
      },
    })
    const value = await chat.invoke(ask('classify'))
    expect(value).toEqual({ verdict: 'good', confidence: 0.9 })
    expect(server.chatRequests[0]?.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        name: 'verdict',
        strict: true,
        schema: { type: 'object', properties: { verdict: { enum: ['good', 'bad'] } } },
      },
    })
    const violation = await rejection(chat.invoke(ask('classify')))
    expect(ValidationError.isInstance(violation)).toBe(true)
    expect((violation as ValidationError).issues[0]?.path).toEqual(['verdict'])
    const notJson = await rejection(chat.invoke(ask('classify')))
    expect(ValidationError.isInstance(notJson)).toBe(true)
    expect(server.requests).toHaveLength(3)
  })

  it('round-trips tool calls: assistant tool call → tool message → final answer', async () => {
    const server = await start({
      replies: [
        { toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: { city: 'Oslo' } }] },
        'It is 4°C in Oslo.',
      ],
    })
    const chat = new OpenAIChat({
      name: 'assistant',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      tools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      output: 'result',
    })
    const question = { role: 'user' as const, content: 'Weather in Oslo?' }
    const first = await chat.invoke({ messages: [question] })
    const message = first.choices[0]?.message
    const call = message?.toolCalls?.[0]
    expect(call).toEqual({ id: 'call_9', name: 'get_weather', arguments: '{"city":"Oslo"}' })
    if (message === undefined || call === undefined) throw new Error('no tool call')
    const args = JSON.parse(call.arguments) as { city: string }
    const answer = await chat.invoke({
      messages: [question, message, { role: 'tool', toolCallId: call.id, content: `4°C in ${args.city}` }],
    })
    expect(answer.choices[0]?.message.content).toBe('It is 4°C in Oslo.')
    expect(server.chatRequests[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_9', content: '4°C in Oslo' },
    ])
  })

  it('records tokens and cost on the run, from the price of the model that answered', async () => {
    const server = await start({ replies: [{ content: 'ok', usage: { promptTokens: 1000, completionTokens: 500 } }] })
    const chat = new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL })
    const record = await chat.trace(ask('hi'))
    expect(record.status).toBe('complete')
    expect(record.usage).toMatchObject({ calls: 1, inputTokens: 1000, outputTokens: 500, totalTokens: 1500 })
    expect(record.usage?.costUsd).toBeCloseTo((1000 * 0.15 + 500 * 0.6) / 1_000_000, 12)
  })

  it('counts a call whose server reports no usage from its estimate, so a budget fills, streamed or not', async () => {
    const server = await start({ replies: [{ content: 'ok', usage: null }], cycleReplies: true })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      maxTokens: 5,
    })
    const loop = defineFunction({
      name: 'loop',
      run: async (streamed: boolean, context) => {
        for (let call = 0; call < 20; call++) {
          if (streamed) await context.invoke(chat, ask('hi'), { stream: () => {} })
          else await context.invoke(chat, ask('hi'))
        }
      },
    })
    for (const streamed of [false, true]) {
      const before = server.requests.length
      const record = await loop.trace(streamed, { budget: { maxTokens: 50 } })
      expect(BudgetExceededError.isInstance(record.error)).toBe(true)
      const sent = server.requests.length - before
      expect(sent).toBeGreaterThan(0)
      expect(server.chatRequests.at(-1)?.stream ?? false).toBe(streamed)
      expect(sent).toBeLessThan(20)
      expect(record.usage?.calls).toBe(sent)
      expect(record.usage?.totalTokens).toBeGreaterThan(50 - 50 / sent)
      expect(record.usage?.costUsd).toBeGreaterThan(0)
      expect(record.children[0]?.annotations.usageEstimated).toBe(true)
    }
  })

  it('fails usage figures that are not token counts (negative, a string) as a malformed response, streamed or not', async () => {
    const server = await start()
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: server.baseURL,
      retry: { attempts: 1 },
    })
    const completion = (usage: unknown) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage,
    })
    const chunks = (usage: unknown) => [
      {
        id: 'c',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: null }],
      },
      { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { id: 'c', object: 'chat.completion.chunk', choices: [], usage },
      '[DONE]',
    ]
    const bad = [
      { usage: { prompt_tokens: -5, completion_tokens: 2, total_tokens: -3 }, problem: 'inputTokens: -5' },
      { usage: { prompt_tokens: 5, completion_tokens: '2', total_tokens: 7 }, problem: 'outputTokens: "2"' },
    ]
    for (const { usage, problem } of bad) {
      server.setHandler('POST /v1/chat/completions', ({ request }) =>
        (request.body as { stream?: boolean }).stream === true ? { sse: chunks(usage) } : { json: completion(usage) },
      )
      const record = await chat.trace(ask('hi'))
      expect(record.usage).toBeUndefined()
      expect(record.error).toMatchObject({ name: 'ProviderCallError', providerErrorType: 'malformed_response' })
      expect(record.error?.message).toContain(problem)
      const streamed = await rejection(chat.stream(ask('hi')).result)
      expect(streamed).toMatchObject({ name: 'ProviderCallError', providerErrorType: 'malformed_response' })
      expect((streamed as Error).message).toContain(problem)
    }
    expect(server.requests).toHaveLength(4)
  })

  it('counts a total_tokens below its parts as the parts, in the run, the budget and the rate limiter, streamed or not', async () => {
    const server = await start()
    // A compatible server whose total counts only part of the call: 800 tokens used, a total of 1 reported.
    const usage = { prompt_tokens: 400, completion_tokens: 400, total_tokens: 1 }
    server.setHandler('POST /v1/chat/completions', ({ request }) =>
      (request.body as { stream?: boolean }).stream === true
        ? {
            sse: [
              { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'ok' } }] },
              { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
              { id: 'c', object: 'chat.completion.chunk', choices: [], usage },
              '[DONE]',
            ],
          }
        : {
            json: {
              id: 'chatcmpl-1',
              object: 'chat.completion',
              model: 'gpt-4o-mini',
              choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
              usage,
            },
          },
    )
    for (const streamed of [false, true]) {
      const limiter = new RateLimiter({ tokensPerMinute: 100_000 })
      const chat = new OpenAIChat({
        name: 'chat',
        model: 'gpt-4o-mini',
        apiKey: 'k',
        baseURL: server.baseURL,
        maxTokens: 400,
        rateLimiter: limiter,
      })
      const twice = defineFunction({
        name: 'twice',
        run: async (_: null, context) => {
          for (let call = 0; call < 2; call++)
            await context.invoke(chat, ask('hi'), streamed ? { stream: () => {} } : {})
        },
      })
      const record = await twice.trace(null, { budget: { maxTokens: 1_000 } })
      // The second call is refused: the first spent 800 of the 1,000 tokens.
      expect(BudgetExceededError.isInstance(record.error)).toBe(true)
      expect(record.usage).toMatchObject({ calls: 1, inputTokens: 400, outputTokens: 400, totalTokens: 800 })
      expect(limiter.status().tokens).toBe(800)
    }
  })

  it('prices a usage that reports only total_tokens at the dearer price, never 0, streamed or not', async () => {
    const server = await start()
    // A compatible server that reports no split: 1,000,000 tokens, of which neither part is known.
    const usage = { total_tokens: 1_000_000 }
    server.setHandler('POST /v1/chat/completions', ({ request }) =>
      (request.body as { stream?: boolean }).stream === true
        ? {
            sse: [
              { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'ok' } }] },
              { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
              { id: 'c', object: 'chat.completion.chunk', choices: [], usage },
              '[DONE]',
            ],
          }
        : {
            json: {
              id: 'chatcmpl-1',
              object: 'chat.completion',
              model: 'gpt-4o-mini',
              choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
              usage,
            },
          },
    )
    const chat = new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL })
    for (const streamed of [false, true]) {
      const record = streamed ? await chat.trace(ask('hi'), { stream: () => {} }) : await chat.trace(ask('hi'))
      expect(record.output).toBe('ok')
      expect(record.usage).toMatchObject({ calls: 1, totalTokens: 1_000_000, unpricedCalls: 0 })
      // gpt-4o-mini: 0.15 USD per 1M input tokens, 0.6 per 1M output tokens; the tokens are priced as output.
      expect(record.usage?.costUsd).toBeCloseTo(0.6, 12)
    }
  })

  it('refuses a base URL with credentials, which fetch cannot send, on either transport, and says what to do', async () => {
    const server = await start()
    const password = 's3cret-pass'
    const withCredentials = server.baseURL.replace('http://', `http://tenant:${password}@`)
    for (const transport of ['undici', 'fetch'] as const) {
      let caught: unknown
      try {
        new OpenAIChat({ name: 'c', model: 'gpt-4o-mini', apiKey: 'k', baseURL: withCredentials, transport })
      } catch (error) {
        caught = error
      }
      expect(ConfigurationError.isInstance(caught)).toBe(true)
      expect(caught).toMatchObject({ option: 'baseURL' })
      expect((caught as Error).message).toMatch(/^c: baseURL has credentials in it .*headers: \{ authorization:/)
      expect((caught as Error).message).not.toContain(password)
      // Read from OPENAI_BASE_URL, it fails the first call, unsent and not retried, instead of three connection errors.
      vi.stubEnv('OPENAI_BASE_URL', withCredentials)
      const record = await new OpenAIChat({ model: 'gpt-4o-mini', apiKey: 'k', transport }).trace(ask('hi'))
      expect(ConfigurationError.isInstance(record.error)).toBe(true)
      // Named after the call, as the refusal at construction is.
      expect(record.error?.message).toMatch(/^OpenAIChat: OPENAI_BASE_URL has credentials in it/)
      expect(record.attempts).toBe(1)
      vi.unstubAllEnvs()
    }
    expect(server.requests).toHaveLength(0)
    // What it says to do works: the credentials as a header, over either transport.
    const seen: Array<string | undefined> = []
    server.setHandler('POST /v1/chat/completions', ({ request }) => {
      seen.push(request.headers.authorization)
      return { status: 400, json: { error: { message: 'seen', type: 'invalid_request_error' } } }
    })
    const authorization = `Basic ${btoa(`tenant:${password}`)}`
    for (const transport of ['undici', 'fetch'] as const) {
      const chat = new OpenAIChat({
        model: 'gpt-4o-mini',
        apiKey: 'k',
        baseURL: server.baseURL,
        headers: { authorization },
        transport,
      })
      await rejection(chat.invoke(ask('hi')))
    }
    expect(seen).toEqual([authorization, authorization])
  })

  it('reads OPENAI_API_KEY at the first call: importing and constructing need no key', async () => {
    const server = await start()
    vi.stubEnv('OPENAI_API_KEY', '')
    const chat = new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', baseURL: server.baseURL, retry: { attempts: 3 } })
    const error = await rejection(chat.invoke(ask('hi')))
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/OPENAI_API_KEY/)
    expect(server.requests).toHaveLength(0)
  })

  it('never shows the API key: not in errors, events, run records or logs', async () => {
    const canary = 'sk-proj-CANARY0123456789abcdefghijklmnop'
    const server = await start({ replies: ['ok'], cycleReplies: true })
    server.setHandler('POST /v1/chat/completions', ({ request, requestIndex }) => {
      const authorization = request.headers.authorization ?? ''
      if (requestIndex === 0) {
        return {
          status: 401,
          json: {
            error: {
              message: `Incorrect API key provided: ${authorization}`,
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          },
        }
      }
      if (requestIndex === 1)
        return { status: 500, json: { error: { message: `boom for ${authorization}`, type: 'server_error' } } }
      return { raw: `<html>${authorization}</html>`, headers: { 'content-type': 'text/html' } }
    })
    const logger = createMemoryLogger({ level: 'trace' })
    const events: LifecycleEvent[] = []
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: canary,
      baseURL: server.baseURL,
      retry: { attempts: 2, initialDelayMs: 1 },
    })
    const seen: string[] = []
    for (let call = 0; call < 2; call += 1) {
      const record = await chat.trace(ask('hi'), { logger, onEvent: (event) => events.push(event) })
      expect(record.status).toBe('failed')
      seen.push(String(record.error?.message), JSON.stringify(record), JSON.stringify(record.error?.toJSON()))
    }
    seen.push(JSON.stringify(events), JSON.stringify(logger.entries))
    for (const text of seen) expect(text).not.toContain(canary)
    expect(server.requests).toHaveLength(3)
    expect(server.requests.map((request) => request.headers.authorization)).toEqual(Array(3).fill('[REDACTED]'))
  })

  it('never shows a key given in the headers option, Azure-style or as a bearer token, when the server echoes it', async () => {
    const azureKey = '3f9a0c6e2b7d4a18b5c9e0f1a2b3c4d5'
    const bearer = 'tenantbearercredential'
    const server = await start()
    server.setHandler('POST /v1/chat/completions', ({ request }) => {
      const token = request.headers.authorization?.slice('Bearer '.length)
      return {
        status: 401,
        json: {
          error: {
            message: `invalid subscription key ${request.headers['api-key']} or token ${token}`,
            type: 'invalid_request_error',
          },
        },
      }
    })
    const logger = createMemoryLogger({ level: 'trace' })
    const chat = new OpenAIChat({
      name: 'chat',
      model: 'gpt-4o-mini',
      apiKey: 'unused-by-this-server',
      baseURL: server.baseURL,
      headers: { 'api-key': azureKey, Authorization: `Bearer ${bearer}` },
    })
    const record = await chat.trace(ask('hi'), { logger })
    expect(server.requests).toHaveLength(1)
    expect(record.error?.message).toContain('invalid subscription key [REDACTED] or token [REDACTED]')
    for (const text of [
      String(record.error?.message),
      JSON.stringify(record),
      formatRunTree(record),
      JSON.stringify(logger.entries),
    ]) {
      expect(text).not.toContain(azureKey)
      expect(text).not.toContain(bearer)
    }
  })

  it('never shows a Bearer token given under a header of another name, on either transport, when the server echoes the token alone', async () => {
    const token = 'gatewaytokenwithoutashape'
    const server = await start()
    server.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: {
          message: `upstream rejected ${request.headers['x-upstream-auth']?.slice('Bearer '.length)}`,
          type: 'invalid_request_error',
        },
      },
    }))
    for (const transport of ['undici', 'fetch'] as const) {
      const logger = createMemoryLogger({ level: 'trace' })
      const chat = new OpenAIChat({
        model: 'gpt-4o-mini',
        apiKey: 'unused-by-this-server',
        baseURL: server.baseURL,
        headers: { 'x-upstream-auth': `Bearer ${token}` },
        transport,
      })
      const record = await chat.trace(ask('hi'), { logger })
      expect(record.error?.message).toContain('upstream rejected [REDACTED]')
      for (const text of [JSON.stringify(record), formatRunTree(record), JSON.stringify(logger.entries)]) {
        expect(text).not.toContain(token)
      }
    }
    expect(JSON.stringify(server.requests)).not.toContain(token)
  })

  it('never shows a credential the SDK reads from OPENAI_CUSTOM_HEADERS when the server echoes it, on either transport, streamed or not', async () => {
    const gatewayKey = 'gatewaykeyfromtheenvironment'
    const bearer = 'bearerfromtheenvironment'
    vi.stubEnv('OPENAI_CUSTOM_HEADERS', `x-gateway-api-key: ${gatewayKey}\nProxy-Authorization: Bearer ${bearer}`)
    const server = await start()
    server.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: {
          message: `invalid key ${request.headers['x-gateway-api-key']} or token ${request.headers['proxy-authorization']?.slice('Bearer '.length)}`,
          type: 'invalid_request_error',
        },
      },
    }))
    for (const transport of ['undici', 'fetch'] as const) {
      const logger = createMemoryLogger({ level: 'trace' })
      const chat = new OpenAIChat({
        name: 'chat',
        model: 'gpt-4o-mini',
        apiKey: 'unused-by-this-server',
        baseURL: server.baseURL,
        transport,
      })
      for (const stream of [false, true]) {
        const record = await chat.trace(ask('hi'), { logger, ...(stream ? { stream: () => {} } : {}) })
        expect(record.error?.message).toContain('invalid key [REDACTED] or token [REDACTED]')
        for (const text of [String(record.error?.message), JSON.stringify(record), formatRunTree(record)]) {
          expect(text).not.toContain(gatewayKey)
          expect(text).not.toContain(bearer)
        }
      }
      expect(JSON.stringify(logger.entries)).not.toContain(gatewayKey)
    }
    expect(server.requests).toHaveLength(4)
    expect(JSON.stringify(server.requests)).not.toContain(gatewayKey)
  })

  it('never shows its OPENAI_API_KEY in an answer replayed from the journal, though the key was never sent', async () => {
    const canary = 'envkeycanarywithoutashape'
    // A server that echoed the key of the run that journaled the answer, in another process.
    const server = await start({ replies: [`your key is ${canary}`] })
    const options = { name: 'chat', model: 'gpt-4o-mini', baseURL: server.baseURL }
    const journal = new MemoryJournal()
    const journaled = await new OpenAIChat({ ...options, apiKey: 'the-other-process-key' }).invoke(ask('hi'), {
      runId: 'resumed',
      journal,
    })
    expect(journaled).toBe(`your key is ${canary}`)
    vi.stubEnv('OPENAI_API_KEY', canary)
    const logger = createMemoryLogger({ level: 'trace' })
    const chat = new OpenAIChat(options)
    const record = await chat.trace(ask('hi'), { runId: 'resumed', journal, logger })
    expect(record.status).toBe('complete')
    expect(record.annotations.replayed).toBe(true)
    expect(server.requests).toHaveLength(1)
    const shown = [JSON.stringify(record), formatRunTree(record), JSON.stringify(logger.entries)]
    expect(shown[0]).toContain('your key is [REDACTED]')
    for (const text of shown) expect(text).not.toContain(canary)
  })

  it('journals an answer of 600 KB as text, but not as a result, whose raw response body repeats the answer', async () => {
    const answer = 'word '.repeat(120_000)
    const server = await start({ replies: [answer, answer, answer] })
    const options = { name: 'chat', model: 'gpt-4o-mini', apiKey: 'k', baseURL: server.baseURL }
    const journal = new MemoryJournal()
    const text = new OpenAIChat(options)
    expect(await text.invoke(ask('hi'), { runId: 'as-text', journal })).toBe(answer)
    expect(await text.invoke(ask('hi'), { runId: 'as-text', journal })).toBe(answer)
    expect(server.requests).toHaveLength(1)
    const result = new OpenAIChat({ ...options, output: 'result' })
    const refused = await result.trace(ask('hi'), { runId: 'as-result', journal })
    expect(refused.status).toBe('failed')
    expect(ValidationError.isInstance(refused.error)).toBe(true)
    expect(refused.error).toMatchObject({ state: 'processing_output' })
    expect(refused.usage?.calls).toBe(1)
    expect(journal.size).toBe(1)
    // Paid for, and not kept: a re-run pays again.
    await result.trace(ask('hi'), { runId: 'as-result', journal })
    expect(server.requests).toHaveLength(3)
  })

  it('sends the headers as they were at construction, so a key put into the object afterwards is neither sent nor shown', async () => {
    const lateKey = 'late-subscription-key-9c1e7a40'
    const server = await start()
    server.setHandler('POST /v1/chat/completions', ({ request }) => ({
      status: 401,
      json: {
        error: { message: `invalid subscription key ${request.headers['api-key']}`, type: 'invalid_request_error' },
      },
    }))
    const headers: Record<string, string> = { 'x-tenant': 'acme' }
    const chat = new OpenAIChat({
      model: 'gpt-4o-mini',
      apiKey: 'unused-by-this-server',
      baseURL: server.baseURL,
      headers,
    })
    headers['api-key'] = lateKey
    const record = await chat.trace(ask('hi'))
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]?.headers['x-tenant']).toBe('acme')
    expect(server.requests[0]?.headers['api-key']).toBeUndefined()
    expect(JSON.stringify(record)).not.toContain(lateKey)
  })

  it("never shows the API key in the loopback server's request log, not even in an injected fault", async () => {
    const key = 'canary-key-7d1e40b2'
    const server = await start()
    server.injectFaults([
      { kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${key}.` } } },
    ])
    const chat = new OpenAIChat({ model: 'gpt-4o-mini', apiKey: key, baseURL: server.baseURL })
    const error = await rejection(chat.invoke(ask(`my key is ${key}`)))
    expect(error).toMatchObject({ status: 401 })
    expect(server.requests).toHaveLength(1)
    expect(JSON.stringify(server.requests)).not.toContain(key)
    expect(server.requests[0]?.fault).toMatchObject({
      kind: 'status',
      body: { error: { message: 'Incorrect API key provided: [REDACTED].' } },
    })
  })
})

describe('seed names', () => {
  it('are the core prompt classes under their OpenAI names, and LLMCall itself', () => {
    expect(OpenAIPromptTemplate).toBe(PromptTemplate)
    expect(OpenAISystemMessage).toBe(SystemMessageTemplate)
    expect(OpenAIUserMessage).toBe(UserMessageTemplate)
    expect(OpenAIAssistantMessage).toBe(AssistantMessageTemplate)
  })

  it('runs the original Python tiny-llm’s pipeline — prompt template, then OpenAIChat — against any base URL with no code change', async () => {
    // What a user writes for the real API: no key and no URL in the code, both come from the environment.
    const buildClassifier = () => {
      const template = new OpenAIPromptTemplate({
        name: 'Loan Classifier Template',
        sections: [
          new OpenAISystemMessage({
            name: 'Role',
            content:
              'You will be provided with a loan application. Classify it as good or bad: answer one of [good, bad].',
          }),
          new OpenAIAssistantMessage({ name: 'Example', content: 'good' }),
          new OpenAIUserMessage({ name: 'name' }),
        ],
      })
      const chat = new OpenAIChat({ name: 'openai_chat', model: 'gpt-4o-mini', temperature: 0, n: 1 })
      return async (application: string): Promise<string> =>
        chat.invoke(await template.invoke({ message: application }))
    }
    const server = await start({ replies: ['good'] })
    vi.stubEnv('OPENAI_BASE_URL', server.baseURL)
    vi.stubEnv('OPENAI_API_KEY', 'sk-loopback-not-a-real-key')
    const classify = buildClassifier()
    expect(await classify('A commendable financial profile with an excellent credit history.')).toBe('good')
    expect(server.chatRequests[0]).toEqual({
      model: 'gpt-4o-mini',
      temperature: 0,
      n: 1,
      stream: false,
      messages: [
        { role: 'system', content: expect.stringContaining('Classify it as good or bad') },
        { role: 'assistant', content: 'good' },
        { role: 'user', content: 'A commendable financial profile with an excellent credit history.' },
      ],
    })
  })
})

describe('time limits on the whole call', () => {
  it('attemptTimeoutMs bounds a stream that trickles forever, which no idle timeout or SDK timeout catches', async () => {
    // A chunk every 50 ms never leaves the stream idle for long; only a limit on the whole call ends it. (The limit is
    // generous, so that the first chunks reach the reader before it on a loaded machine too: the stream, over 8 minutes
    // long, always outlasts it.)
    const running = await start({ replies: ['word '.repeat(10_000)], chunkChars: 5, streamEventDelayMs: 50 })
    const chat = new OpenAIChat({
      model: 'gpt-4o-mini',
      apiKey: 'k',
      baseURL: running.baseURL,
      attemptTimeoutMs: 5_000,
      idleTimeoutMs: 60_000,
      retry: { attempts: 1 },
    })
    const stream = chat.stream(ask('Talk'))
    let deltas = 0
    const error = await (async () => {
      for await (const _delta of stream) deltas += 1
    })().catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(error) && error.kind === 'attempt').toBe(true)
    expect(deltas).toBeGreaterThan(0)
    await running.whenIdle()
    expect(running.requests[0]?.outcome).toBe('client-closed')
  })
})
