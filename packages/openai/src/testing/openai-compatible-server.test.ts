import { ConfigurationError } from '@tinyllm/core'
import OpenAI, { APIConnectionError, BadRequestError, InternalServerError, RateLimitError } from 'openai'
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions'
import { afterEach, describe, expect, it } from 'vitest'
import type { OpenAICompatibleServer, OpenAICompatibleServerOptions } from './openai-compatible-server.js'
import { startOpenAICompatibleServer } from './openai-compatible-server.js'
import { estimateTokens } from './token-estimate.js'

let server: OpenAICompatibleServer | undefined

async function start(
  options: OpenAICompatibleServerOptions = {},
): Promise<{ server: OpenAICompatibleServer; client: OpenAI }> {
  server = await startOpenAICompatibleServer(options)
  return { server, client: new OpenAI({ apiKey: 'test', baseURL: server.baseURL, maxRetries: 0 }) }
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

const user = (content: string) => [{ role: 'user' as const, content }]
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}

describe('startOpenAICompatibleServer with the openai SDK', () => {
  it('refuses option keys it does not know, suggesting the right name', async () => {
    const started = startOpenAICompatibleServer({ replys: ['Hi'] } as never)
    await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(started).rejects.toThrow(
      /^startOpenAICompatibleServer: replys is not an option; did you mean replies\?/,
    )
    // Its own options and the toolkit's are known.
    const { server } = await start({ models: ['m'], created: 1, replies: ['Hi'], faultRate: 0, seed: 2 })
    await server.close()
  })

  it('refuses its own options of the wrong kind, or that throw as they are read, before it starts', async () => {
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error('unreadable')
        },
        ownKeys: () => {
          throw new Error('unreadable')
        },
      },
    )
    const cases: Array<[unknown, RegExp]> = [
      [{ models: 'gpt-4o' }, /^startOpenAICompatibleServer: models must be a list of model ids, got "gpt-4o"/],
      [{ created: 'yesterday' }, /^startOpenAICompatibleServer: created must be/],
      [{ apiKey: 42 }, /^startOpenAICompatibleServer: apiKey must be a string, got 42/],
      // biome-ignore lint/suspicious/noSparseArray: a list with a hole is what this case is about.
      [{ models: ['gpt-4o', , 'gpt-4o-mini'] }, /^startOpenAICompatibleServer: models must be a list of model ids/],
      [
        {
          get models() {
            throw new Error('unreadable')
          },
        },
        /^startOpenAICompatibleServer: options could not be read: Error: unreadable/,
      ],
      [throwing, /^startOpenAICompatibleServer: options could not be read: Error: unreadable/],
    ]
    for (const [options, message] of cases) {
      const started = startOpenAICompatibleServer(options as never)
      await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
  })

  it('names itself, not the toolkit, when it refuses a seed, latency or fault, and refuses an apiKey no request could present', async () => {
    const cases: Array<[unknown, string]> = [
      [{ seed: 2 ** 63 }, 'startOpenAICompatibleServer: seed must be an integer ≥ 0 and ≤ 4294967295'],
      [{ seed: 1.5 }, 'startOpenAICompatibleServer: seed must be an integer'],
      [{ latency: 'slow' }, 'startOpenAICompatibleServer: latency must be'],
      [{ faults: [{ kind: 'nope' }] }, 'startOpenAICompatibleServer: faults[0] must be a fault of kind'],
      [{ apiKey: '' }, 'startOpenAICompatibleServer: apiKey must be a key a request can present in a header'],
      [{ apiKey: ' sk-padded-secret-4242 ' }, '(got a string of 23 characters)'],
      [
        { apiKey: 'sk-broken-secret-4242\n' },
        'startOpenAICompatibleServer: apiKey must be a key a request can present',
      ],
    ]
    for (const [options, message] of cases) {
      const started = startOpenAICompatibleServer(options as never)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
      await expect(started).rejects.not.toThrow(/secret-4242/)
    }
  })

  it('answers a JSON chat completion by echoing the last user message, with estimated usage', async () => {
    const { client } = await start({ created: 1_700_000_000 })
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'Be brief.' }, ...user('Hello there')],
    })
    expect(completion).toMatchObject({
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [
        { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello there', refusal: null } },
      ],
      usage: {
        prompt_tokens: estimateTokens('Be brief.Hello there'),
        completion_tokens: estimateTokens('Hello there'),
        total_tokens: estimateTokens('Be brief.Hello there') + estimateTokens('Hello there'),
      },
    })
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: user('again') })
      .withResponse()
    expect(data.id).toBe('chatcmpl-loopback-1')
    expect(response.headers.get('x-request-id')).toBe('req_1')
  })

  it('consumes scripted replies in order, then answers an error naming the exhausted script', async () => {
    const { client, server } = await start({ replies: ['first', { content: 'second', usage: { promptTokens: 7 } }] })
    const ask = () => client.chat.completions.create({ model: 'm', messages: user('q') })
    expect((await ask()).choices[0]?.message.content).toBe('first')
    const second = await ask()
    expect(second.choices[0]?.message.content).toBe('second')
    expect(second.usage?.prompt_tokens).toBe(7)
    const error = await ask().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(InternalServerError)
    expect((error as InternalServerError).message).toContain('2 scripted replies are used up')
    expect(server.chatRequests).toHaveLength(3)
  })

  it('answers a scripted reply with a field it does not know with a 400 that names it and suggests the right one', async () => {
    const replies = [{ toolUses: [{ name: 'f', input: {} }] }, { content: 'fine', finish_reason: 'stop' }]
    const { client } = await start({ replies: replies as never })
    const ask = () => client.chat.completions.create({ model: 'm', messages: user('q') })
    const misspelt = await ask().catch((caught: unknown) => caught)
    expect(misspelt).toBeInstanceOf(BadRequestError)
    expect((misspelt as BadRequestError).message).toContain('scripted reply to chat request #0')
    expect((misspelt as BadRequestError).message).toContain('toolUses')
    const snakeCase = await ask().catch((caught: unknown) => caught)
    expect((snakeCase as BadRequestError).message).toMatch(/finish_reason.*finishReason/)
  })

  it('answers a scripted reply whose fields have the wrong type with a 400 saying which, JSON and streamed', async () => {
    const cases: Array<[unknown, string]> = [
      [{ content: 5 }, 'content must be a string or null, got 5'],
      [{ toolCalls: 'get_weather' }, 'toolCalls must be a list of { name, arguments }, got "get_weather"'],
      [{ toolCalls: [{ arguments: '{}' }] }, 'toolCalls[0].name must be a string, got undefined'],
      [{ toolCalls: [{ name: 'f', arguments: 5 }] }, 'toolCalls[0].arguments must be an object or JSON text, got 5'],
      [{ content: 'x', finishReason: 'done' }, 'finishReason must be one of stop, length, tool_calls'],
      [{ content: 'x', usage: { promptTokens: -1 } }, 'usage.promptTokens must be an integer ≥ 0, got -1'],
      [{ choices: 5 }, 'choices must be a list of choices, got 5'],
      [{ choices: [{ content: 'a' }, null] }, 'choices[1] must be an object, got null'],
      [{ content: 'x', model: 5 }, 'model must be a string, got 5'],
      [{ error: { status: 400 } }, 'error.message must be a string, got undefined'],
    ]
    const { client } = await start({ replies: cases.flatMap(([reply]) => [reply, reply]) as never })
    for (const [reply, message] of cases) {
      for (const stream of [false, true]) {
        const answer = client.chat.completions.create({ model: 'm', messages: user('q'), stream })
        const refused = await Promise.resolve(answer).catch((caught: unknown) => caught)
        expect(refused, `${JSON.stringify(reply)} ${stream}`).toBeInstanceOf(BadRequestError)
        expect((refused as BadRequestError).message).toContain(`scripted reply to chat request #`)
        expect((refused as BadRequestError).message).toContain(message)
      }
    }
  })

  it('answers scripted tool arguments JSON cannot hold, or a usage count beyond 2^53, with a 400, not a 500', async () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    const cases: Array<[string, unknown, string]> = [
      [
        'a BigInt',
        { toolCalls: [{ name: 'f', arguments: { a: 1n } }] },
        'toolCalls[0].arguments must be an object JSON',
      ],
      ['a cycle', { toolCalls: [{ name: 'f', arguments: cycle }] }, 'toolCalls[0].arguments must be an object JSON'],
      ['1e300 tokens', { content: 'x', usage: { promptTokens: 1e300 } }, 'usage.promptTokens must be an integer ≥ 0'],
    ]
    const { client } = await start({ replies: cases.flatMap(([, reply]) => [reply, reply]) as never })
    for (const [name, , message] of cases) {
      for (const stream of [false, true]) {
        const answer = client.chat.completions.create({ model: 'm', messages: user('q'), stream })
        const refused = await Promise.resolve(answer).catch((caught: unknown) => caught)
        expect(refused, `${name} ${stream}`).toBeInstanceOf(BadRequestError)
        expect((refused as BadRequestError).message).toContain(message)
      }
    }
  })

  it('cycles scripted replies when asked, and setReplies swaps the source mid-test', async () => {
    const { client, server } = await start({ replies: ['a', 'b'], cycleReplies: true })
    const ask = async () =>
      (await client.chat.completions.create({ model: 'm', messages: user('q') })).choices[0]?.message.content
    expect([await ask(), await ask(), await ask()]).toEqual(['a', 'b', 'a'])
    server.setReplies((request, context) => `${request.model} #${context.chatIndex}`)
    expect(await ask()).toBe('m #3')
  })

  it('streams chunks that the SDK assembles into the same message', async () => {
    const { client } = await start({ replies: ['The quick brown fox jumps.'] })
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: user('q'), stream: true })
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]?.id)).toBe(true)
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '', refusal: null })
    const pieces = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '')
    expect(pieces.filter(Boolean)).toEqual(['The', ' quick', ' brown', ' fox', ' jumps.'])
    expect(chunks.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' })
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false)
  })

  it('sends a final usage chunk when stream_options.include_usage is set', async () => {
    const { client } = await start({ replies: [{ content: 'abcd efgh', usage: { completionTokens: 3 } }] })
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: user('12345678'),
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 })
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true)
  })

  it('answers a reply with usage: null as a compatible server that reports none, JSON and streamed', async () => {
    const { client } = await start({ replies: [{ content: 'ok', usage: null }], cycleReplies: true })
    const json = await client.chat.completions.create({ model: 'gpt-4o', messages: user('hi') })
    expect(json.choices[0]?.message.content).toBe('ok')
    expect('usage' in json).toBe(false)
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: user('hi'),
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false)
  })

  it('answers tool calls, JSON and streamed, with object arguments encoded', async () => {
    const reply = {
      content: null,
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
        { id: 'call_fixed', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      ],
    }
    const { client } = await start({ replies: () => reply, chunkChars: 5 })
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: user('weather?'),
      tools: [weatherTool],
    })
    const [choice] = completion.choices
    expect(choice?.finish_reason).toBe('tool_calls')
    expect(choice?.message.content).toBeNull()
    expect(choice?.message.tool_calls).toEqual([
      {
        id: 'call_0_0_0',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      },
      { id: 'call_fixed', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    ])

    const runner = client.chat.completions.stream({ model: 'm', messages: user('weather?'), tools: [weatherTool] })
    const streamed = await runner.finalChatCompletion()
    expect(streamed.choices[0]?.finish_reason).toBe('tool_calls')
    expect(streamed.choices[0]?.message.tool_calls).toEqual([
      {
        id: 'call_1_0_0',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      },
      {
        id: 'call_fixed',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
      },
    ])
  })

  it('returns n choices when the request asks for n > 1, or the scripted choices as given', async () => {
    const { client, server } = await start({ replies: ['same'] })
    const repeated = await client.chat.completions.create({ model: 'm', messages: user('q'), n: 3 })
    expect(repeated.choices.map((choice) => [choice.index, choice.message.content])).toEqual([
      [0, 'same'],
      [1, 'same'],
      [2, 'same'],
    ])
    server.setReplies([{ choices: [{ content: 'one' }, { content: 'two', finishReason: 'length' }] }])
    const runner = client.chat.completions.stream({ model: 'm', messages: user('q'), n: 2 })
    const streamed = await runner.finalChatCompletion()
    expect(streamed.choices.map((choice) => [choice.message.content, choice.finish_reason])).toEqual([
      ['one', 'stop'],
      ['two', 'length'],
    ])
  })

  it('surfaces an injected 429 with retry-after as the SDK RateLimitError with headers', async () => {
    const { client, server } = await start({
      faults: [{ kind: 'status', status: 429, headers: { 'retry-after': '3', 'retry-after-ms': '3000' } }],
    })
    const error = await client.chat.completions
      .create({ model: 'm', messages: user('q') })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RateLimitError)
    const rateLimit = error as RateLimitError
    expect(rateLimit.status).toBe(429)
    expect(rateLimit.headers.get('retry-after')).toBe('3')
    expect(rateLimit.headers.get('retry-after-ms')).toBe('3000')
    expect(rateLimit.requestID).toBe('req_0')
    expect(rateLimit.code).toBe('rate_limit_exceeded')
    expect(rateLimit.type).toBe('requests')
    expect(server.faultCounts.status).toBe(1)
  })

  it('answers scripted errors and invalid requests in OpenAI error shape', async () => {
    const { client } = await start({
      replies: [{ error: { status: 400, message: 'Bad thing', param: 'temperature', code: 'invalid_value' } }],
    })
    const scripted = await client.chat.completions
      .create({ model: 'm', messages: user('q') })
      .catch((caught: unknown) => caught)
    expect(scripted).toBeInstanceOf(BadRequestError)
    expect(scripted).toMatchObject({
      status: 400,
      param: 'temperature',
      code: 'invalid_value',
      type: 'invalid_request_error',
    })
    const invalid = await client.chat.completions
      .create({ model: 'm', messages: [] })
      .catch((caught: unknown) => caught)
    expect(invalid).toMatchObject({ status: 400, param: 'messages', code: 'empty_array' })
  })

  it('refuses tool turns that do not pair up, as OpenAI does, and accepts a multi-turn tool conversation', async () => {
    const { client } = await start({ replies: ['ok'] })
    const calls = [
      { id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_2', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
    ]
    const asked = { role: 'user' as const, content: 'Weather in Paris and Rome?' }
    const assistant = { role: 'assistant' as const, content: null, tool_calls: calls }
    const answer = (id: string) => ({ role: 'tool' as const, tool_call_id: id, content: '20 °C' })
    const missing = await client.chat.completions
      .create({ model: 'm', messages: [asked, assistant, answer('call_1')] })
      .catch((caught: unknown) => caught)
    expect(missing).toBeInstanceOf(BadRequestError)
    expect((missing as Error).message).toContain('The following tool_call_ids did not have response messages: call_2')
    const stray = await client.chat.completions
      .create({ model: 'm', messages: [asked, answer('call_9')] })
      .catch((caught: unknown) => caught)
    expect(stray).toMatchObject({ status: 400, param: 'messages.[1].role' })
    // Two answers to one call: OpenAI names the duplicate and both messages (reported against the live API in
    // agno-agi/agno#5116).
    const twice = await client.chat.completions
      .create({ model: 'm', messages: [asked, assistant, answer('call_1'), answer('call_2'), answer('call_1')] })
      .catch((caught: unknown) => caught)
    expect(twice).toMatchObject({
      status: 400,
      param: 'messages.[4].tool_call_id',
      error: {
        message: "Invalid parameter: Duplicate value for 'tool_call_id' of 'call_1', in messages[2] and messages[4].",
      },
    })
    const reply = await client.chat.completions.create({
      model: 'm',
      messages: [asked, assistant, answer('call_2'), answer('call_1'), { role: 'user', content: 'Thanks' }],
    })
    expect(reply.choices[0]?.message.content).toBe('ok')
  })

  it('refuses strict schemas that strict mode does not accept, as OpenAI does, and accepts strict-valid ones', async () => {
    const { client, server } = await start({ replies: ['{}'], cycleReplies: true })
    const open = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
    const optional = { type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false }
    const closed = { ...optional, required: ['city'] }
    const format = (schema: object, strict: boolean) => ({
      type: 'json_schema' as const,
      json_schema: { name: 'city', schema: schema as Record<string, unknown>, strict },
    })
    const refused = async (request: Partial<ChatCompletionCreateParamsNonStreaming>) => {
      const error = await client.chat.completions
        .create({ model: 'm', messages: user('q'), ...request })
        .catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(BadRequestError)
      return error as BadRequestError
    }
    expect(await refused({ response_format: format(open, true) })).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'response_format',
      message: expect.stringContaining(
        "Invalid schema for response_format 'city': In context=(), 'additionalProperties' is required to be supplied and to be false.",
      ),
    })
    expect(await refused({ response_format: format(optional, true) })).toMatchObject({
      message: expect.stringContaining("Missing 'city'"),
    })
    expect(
      await refused({ response_format: format({ type: 'array', items: { type: 'string' } }, true) }),
    ).toMatchObject({
      message: expect.stringContaining('must be a JSON Schema of \'type: "object"\''),
    })
    const strictTool = { type: 'function' as const, function: { name: 'lookup', parameters: optional, strict: true } }
    expect(await refused({ tools: [weatherTool, strictTool] })).toMatchObject({
      param: 'tools[1].function.parameters',
      code: 'invalid_function_parameters',
      message: expect.stringContaining("Invalid schema for function 'lookup'"),
    })
    await client.chat.completions.create({ model: 'm', messages: user('q'), response_format: format(open, false) })
    await client.chat.completions.create({ model: 'm', messages: user('q'), response_format: format(closed, true) })
    await client.chat.completions.create({
      model: 'm',
      messages: user('q'),
      tools: [{ type: 'function', function: { name: 'lookup', parameters: closed, strict: true } }],
    })
    expect(server.chatRequests).toHaveLength(3)
  })

  it('makes malformed JSON and dropped connections surface as errors', async () => {
    const { client } = await start({
      faults: [{ kind: 'malformed-json' }, { kind: 'reset-before-headers' }, { kind: 'cut-stream', afterEvents: 2 }],
    })
    await expect(client.chat.completions.create({ model: 'm', messages: user('q') })).rejects.toThrow(SyntaxError)
    await expect(client.chat.completions.create({ model: 'm', messages: user('q') })).rejects.toThrow(
      APIConnectionError,
    )
    const stream = await client.chat.completions.create({ model: 'm', messages: user('one two three'), stream: true })
    const read = async () => {
      for await (const _chunk of stream) {
        // drain
      }
    }
    await expect(read()).rejects.toThrow()
  })

  it('checks the key when given one, as OpenAI does: 401 for a missing or wrong key, never quoting it', async () => {
    const { server } = await start({ apiKey: 'sk-loopback-right-key-0123456789' })
    const chat = (key: string | undefined) =>
      new OpenAI({
        apiKey: key ?? 'unused',
        baseURL: server.baseURL,
        maxRetries: 0,
        defaultHeaders: key ? {} : { authorization: null },
      }).chat.completions
        .create({ model: 'gpt-4o-mini', messages: user('Hi') })
        .then(
          () => 200,
          (error: { status?: number; error?: unknown }) => [error.status, error.error],
        )
    const wrong = await chat('sk-loopback-wrong-key-0123456789')
    expect(wrong).toEqual([401, expect.objectContaining({ type: 'invalid_request_error', code: 'invalid_api_key' })])
    expect(JSON.stringify(wrong)).not.toContain('wrong-key')
    expect(await chat(undefined)).toEqual([
      401,
      expect.objectContaining({ message: expect.stringContaining("didn't provide an API key") }),
    ])
    expect(await chat('sk-loopback-right-key-0123456789')).toBe(200)
    const azure = await fetch(`${server.baseURL}/models`, {
      headers: { 'api-key': 'sk-loopback-right-key-0123456789' },
    })
    expect(azure.status).toBe(200)
    expect((await fetch(`${server.baseURL}/models`)).status).toBe(401)
    expect(server.chatRequests).toHaveLength(1)
  })

  it('lists models', async () => {
    const { client } = await start({ models: ['alpha', 'beta'] })
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(['alpha', 'beta'])
  })

  it('records the chat request bodies it answered', async () => {
    const { client, server } = await start()
    await client.chat.completions.create({ model: 'm', messages: user('q'), temperature: 0.2, seed: 7 })
    expect(server.chatRequests[0]).toMatchObject({ model: 'm', temperature: 0.2, seed: 7 })
    expect(server.requests[0]?.headers.authorization).toBe('[REDACTED]')
  })
})
