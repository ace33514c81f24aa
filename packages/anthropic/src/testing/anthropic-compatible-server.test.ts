import Anthropic from '@anthropic-ai/sdk'
import { ConfigurationError } from '@tinyllm/core'
import type { ParsedSseEvent } from '@tinyllm/testing'
import { parseSseEvents } from '@tinyllm/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { AnthropicChatModel } from '../anthropic-chat-model.js'
import type { AnthropicCompatibleServer, AnthropicCompatibleServerOptions } from './anthropic-compatible-server.js'
import { startAnthropicCompatibleServer } from './anthropic-compatible-server.js'
import { thinkingSignature } from './resolved-message.js'

let server: AnthropicCompatibleServer | undefined

async function start(options: AnthropicCompatibleServerOptions = {}): Promise<AnthropicCompatibleServer> {
  server = await startAnthropicCompatibleServer(options)
  return server
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

const request = (body: Record<string, unknown>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'anthropic-version': '2026-10-21', ...headers },
  body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 100, ...body }),
})

const ask = { messages: [{ role: 'user', content: 'Echo me' }] }
const notADict = 'Input should be a valid dictionary or object to extract fields from'

async function firstText(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { content: Array<{ text?: string }> }
  return body.content[0]?.text
}

async function post(running: AnthropicCompatibleServer, body: Record<string, unknown>, headers = {}) {
  return fetch(`${running.url}/v1/messages`, request(body, headers))
}

describe('startAnthropicCompatibleServer', () => {
  it('refuses option keys it does not know, suggesting the right name', async () => {
    const started = startAnthropicCompatibleServer({ replys: ['Hi'] } as never)
    await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
    await expect(started).rejects.toThrow(
      /^startAnthropicCompatibleServer: replys is not an option; did you mean replies\?/,
    )
    const running = await start({ apiKey: 'k', replies: ['Hi'], chunkChars: 2, latency: 0 })
    await running.close()
  })

  it('refuses an apiKey that is not a string, or options that throw as they are read, before it starts', async () => {
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
      [{ apiKey: 12345 }, /^startAnthropicCompatibleServer: apiKey must be a string, got 12345/],
      [
        {
          get apiKey() {
            throw new Error('unreadable')
          },
        },
        /^startAnthropicCompatibleServer: options could not be read: Error: unreadable/,
      ],
      [throwing, /^startAnthropicCompatibleServer: options could not be read: Error: unreadable/],
    ]
    for (const [options, message] of cases) {
      const started = startAnthropicCompatibleServer(options as never)
      await expect(started).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
    }
  })

  it('names itself, not the toolkit, when it refuses a seed, latency or fault, and refuses an apiKey no request could present', async () => {
    const cases: Array<[unknown, string]> = [
      [{ seed: 2 ** 63 }, 'startAnthropicCompatibleServer: seed must be an integer ≥ 0 and ≤ 4294967295'],
      [{ seed: 1.5 }, 'startAnthropicCompatibleServer: seed must be an integer'],
      [{ latency: 'slow' }, 'startAnthropicCompatibleServer: latency must be'],
      [{ faults: [{ kind: 'nope' }] }, 'startAnthropicCompatibleServer: faults[0] must be a fault of kind'],
      [{ apiKey: '' }, 'startAnthropicCompatibleServer: apiKey must be a key a request can present in a header'],
      [{ apiKey: ' sk-padded-secret-4242 ' }, '(got a string of 23 characters)'],
      [
        { apiKey: 'sk-broken-secret-4242\n' },
        'startAnthropicCompatibleServer: apiKey must be a key a request can present',
      ],
    ]
    for (const [options, message] of cases) {
      const started = startAnthropicCompatibleServer(options as never)
      await expect(started, JSON.stringify(options)).rejects.toSatisfy(ConfigurationError.isInstance)
      await expect(started).rejects.toThrow(message)
      await expect(started).rejects.not.toThrow(/secret-4242/)
    }
  })

  it('answers a message in Anthropic’s shape, with a request-id header; by default it echoes', async () => {
    const running = await start()
    const response = await post(running, ask)
    expect(response.status).toBe(200)
    expect(response.headers.get('request-id')).toBe('req_0')
    expect(await response.json()).toMatchObject({
      id: 'msg_loopback_0',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [{ type: 'text', text: 'Echo me' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 2, output_tokens: 2 },
    })
    expect(running.baseURL).toBe(running.url)
    expect(running.messageRequests).toEqual([{ model: 'claude-haiku-4-5', max_tokens: 100, ...ask }])
  })

  it('streams named events from message_start to message_stop', async () => {
    const running = await start({
      replies: [
        { text: 'Hi there', toolUses: [{ id: 'toolu_1', name: 'f', input: { a: 1 } }], usage: { outputTokens: 9 } },
      ],
      chunkChars: 4,
    })
    const response = await post(running, { ...ask, stream: true })
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const events = parseSseEvents(await response.text())
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    for (const event of events) expect(JSON.parse(event.data).type).toBe(event.event)
    const data = (event: ParsedSseEvent | undefined) => JSON.parse(event?.data ?? 'null')
    expect(data(events[0]).message).toMatchObject({ content: [], stop_reason: null })
    expect(data(events[3]).delta).toEqual({ type: 'text_delta', text: 'Hi t' })
    expect(data(events[6]).content_block).toMatchObject({ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} })
    expect(data(events[7]).delta).toEqual({ type: 'input_json_delta', partial_json: '{"a"' })
    expect(data(events[10])).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } })
  })

  it('cuts the text at the first stop sequence and says which', async () => {
    const running = await start({ replies: ['one, two, three'] })
    const body = await (await post(running, { ...ask, stop_sequences: ['three', 'two'] })).json()
    expect(body).toMatchObject({
      content: [{ type: 'text', text: 'one, ' }],
      stop_reason: 'stop_sequence',
      stop_sequence: 'two',
    })
  })

  it('answers a scripted reply with a field it does not know with a 400 that names it and suggests the right one', async () => {
    const running = await start({
      replies: [{ toolCalls: [{ name: 'f', input: {} }] }, { text: 'ok', tool_uses: [] }] as never,
    })
    const misspelt = await post(running, ask)
    expect(misspelt.status).toBe(400)
    const body = (await misspelt.json()) as { error: { type: string; message: string } }
    expect(body.error.type).toBe('invalid_request_error')
    expect(body.error.message).toContain('scripted reply to Messages request #0')
    expect(body.error.message).toContain('toolCalls')
    const snakeCase = (await (await post(running, ask)).json()) as { error: { message: string } }
    expect(snakeCase.error.message).toMatch(/tool_uses.*toolUses/)
  })

  it('answers a scripted reply whose fields have the wrong type with a 400 saying which, JSON and streamed', async () => {
    const cases: Array<[unknown, string]> = [
      [{ text: 5 }, 'text must be a string or null, got 5'],
      [{ toolUses: 'f' }, 'toolUses must be a list of { name, input }, got "f"'],
      [{ toolUses: [{ input: {} }] }, 'toolUses[0].name must be a string, got undefined'],
      [{ toolUses: [{ name: 'f', input: 5 }] }, 'toolUses[0].input must be an object or JSON text, got 5'],
      [{ text: 'x', stopReason: 'done' }, 'stopReason must be one of end_turn, max_tokens'],
      [{ text: 'x', thinking: 'hmm' }, 'thinking must be a list of thinking texts or { redactedData }, got "hmm"'],
      [{ text: 'x', thinking: [5] }, 'thinking[0] must be a thinking text or { redactedData }, got 5'],
      [{ text: 'x', usage: { outputTokens: 1.5 } }, 'usage.outputTokens must be an integer ≥ 0, got 1.5'],
      [{ text: 'x', model: 5 }, 'model must be a string, got 5'],
      [{ error: { status: 529 } }, 'error.message must be a string, got undefined'],
    ]
    const running = await start({ replies: cases.flatMap(([reply]) => [reply, reply]) as never })
    for (const [reply, message] of cases) {
      for (const stream of [false, true]) {
        const refused = await post(running, { ...ask, stream })
        expect(refused.status, `${JSON.stringify(reply)} ${stream}`).toBe(400)
        const body = (await refused.json()) as { error: { type: string; message: string } }
        expect(body.error.type).toBe('invalid_request_error')
        expect(body.error.message).toContain('scripted reply to Messages request #')
        expect(body.error.message).toContain(message)
      }
    }
  })

  it('answers a scripted tool input JSON cannot hold, or a usage count beyond 2^53, with a 400, not a 500', async () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    const cases: Array<[string, unknown, string]> = [
      [
        'a BigInt',
        { toolUses: [{ name: 'f', input: { a: 1n } }] },
        'toolUses[0].input must be an object JSON can hold',
      ],
      ['a cycle', { toolUses: [{ name: 'f', input: cycle }] }, 'toolUses[0].input must be an object JSON can hold'],
      ['1e300 tokens', { text: 'x', usage: { inputTokens: 1e300 } }, 'usage.inputTokens must be an integer ≥ 0'],
    ]
    const running = await start({ replies: cases.flatMap(([, reply]) => [reply, reply]) as never })
    for (const [name, , message] of cases) {
      for (const stream of [false, true]) {
        const refused = await post(running, { ...ask, stream })
        expect(refused.status, `${name} ${stream}`).toBe(400)
        expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(message)
      }
    }
  })

  it('answers a scripted tool input nested more than 1,000 levels, as an object or as JSON text, with a 400 streamed and not, never a 500', async () => {
    const nested = (levels: number): Record<string, unknown> => {
      let value: Record<string, unknown> = { leaf: 1 }
      for (let level = 1; level < levels; level++) value = { a: value }
      return value
    }
    const nestedText = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
    // A cycle through two keys: a walk of its levels that followed it would double at each one.
    const cycle: Record<string, unknown> = {}
    Object.assign(cycle, { left: cycle, right: cycle })
    const refused = [nested(50_000), nestedText(50_000), nested(1_001), cycle]
    const running = await start({
      replies: refused.flatMap((input) => [{ toolUses: [{ name: 'f', input }] }, { toolUses: [{ name: 'f', input }] }]),
    })
    for (const [index] of refused.entries()) {
      for (const stream of [false, true]) {
        const response = await post(running, { ...ask, stream })
        expect(response.status, `${index} ${stream}`).toBe(400)
        expect(((await response.json()) as { error: { message: string } }).error.message).toContain(
          'toolUses[0].input must be',
        )
      }
    }
    running.setReplies([{ toolUses: [{ name: 'f', input: nested(1_000) }] }])
    const answered = await post(running, ask)
    expect(answered.status).toBe(200)
    expect(((await answered.json()) as { content: Array<{ input?: unknown }> }).content[0]?.input).toEqual(
      nested(1_000),
    )
  })

  it('answers scripted errors in Anthropic’s shape with their headers', async () => {
    const running = await start({
      replies: [{ error: { status: 429, message: 'Too many', headers: { 'retry-after': '3' } } }],
    })
    const response = await post(running, ask)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('3')
    expect(response.headers.get('request-id')).toBe('req_0')
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Too many' },
      request_id: 'req_0',
    })
  })

  it('shapes injected status faults and unknown routes as Anthropic errors', async () => {
    const running = await start({ faults: [{ kind: 'status', status: 529 }] })
    expect(await (await post(running, ask)).json()).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error' },
    })
    const missing = await fetch(`${running.url}/v1/complete`, { method: 'POST' })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
  })

  it('validates like Anthropic: model, max_tokens and messages required; sampling parameters rejected on 2026-10-21', async () => {
    const running = await start()
    const missingMaxTokens = await fetch(`${running.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2026-10-21' },
      body: JSON.stringify({ model: 'm', ...ask }),
    })
    expect(missingMaxTokens.status).toBe(400)
    expect(await missingMaxTokens.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
    })
    const temperature = await post(running, { ...ask, temperature: 1 })
    expect(temperature.status).toBe(400)
    expect(await temperature.json()).toMatchObject({
      error: { message: 'temperature: Extra inputs are not permitted' },
    })
    const legacy = await post(running, { ...ask, temperature: 1 }, { 'anthropic-version': '2023-06-01' })
    expect(legacy.status).toBe(200)
    // A parameter the API has in no version (OpenAI's, a misspelling) is refused by every version.
    for (const version of ['2026-10-21', '2023-06-01']) {
      const unknown = await post(running, { ...ask, max_completion_tokens: 10 }, { 'anthropic-version': version })
      expect(unknown.status).toBe(400)
      expect(await unknown.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: 'max_completion_tokens: Extra inputs are not permitted' },
      })
    }
    expect((await post(running, { messages: [] })).status).toBe(400)
    expect(running.messageRequests).toHaveLength(1)
  })

  it('refuses a request without an anthropic-version header; the SDK always sends one', async () => {
    const running = await start({ replies: ['ok'] })
    const unversioned = await fetch(`${running.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 100, ...ask }),
    })
    expect(unversioned.status).toBe(400)
    expect(await unversioned.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
    })
    const model = new AnthropicChatModel({ model: 'claude-haiku-4-5', apiKey: 'k', baseURL: running.baseURL })
    const generated = await model.doGenerate({ messages: [{ role: 'user', content: 'Hi' }] })
    expect(generated.choices[0]?.message.content).toBe('ok')
    expect(running.messageRequests).toHaveLength(1)
  })

  it('refuses max_tokens that is negative or not an integer, and takes 0 (a prompt-cache pre-warm)', async () => {
    const running = await start()
    for (const [maxTokens, message] of [
      [-5, 'max_tokens: Input should be greater than or equal to 0'],
      [1.5, 'max_tokens: Input should be a valid integer'],
    ] as const) {
      const refused = await post(running, { ...ask, max_tokens: maxTokens })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    expect((await post(running, { ...ask, max_tokens: 0 })).status).toBe(200)
    expect(running.messageRequests).toHaveLength(1)
  })

  it("refuses max_tokens above the model's most output tokens, as the API does, and leaves a model it does not know alone", async () => {
    const running = await start()
    for (const [model, maxTokens, limit] of [
      ['claude-haiku-4-5', 64_001, 64_000],
      ['claude-haiku-4-5-20251001', 100_000, 64_000],
      ['claude-sonnet-4-5', 64_001, 64_000],
      ['claude-opus-4-1', 32_001, 32_000],
      ['claude-3-5-haiku-latest', 8_193, 8_192],
      ['claude-3-haiku-20240307', 8_000, 4_096],
    ] as const) {
      const refused = await post(running, { ...ask, model, max_tokens: maxTokens })
      expect(refused.status, model).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message: `max_tokens: ${maxTokens} > ${limit}, which is the maximum allowed number of output tokens for ${model}`,
        },
      })
    }
    for (const [model, maxTokens] of [
      ['claude-haiku-4-5', 64_000],
      ['claude-opus-4-1-20250805', 32_000],
      ['claude-3-haiku-20240307', 4_096],
      ['claude-next-model', 500_000],
    ] as const) {
      expect((await post(running, { ...ask, model, max_tokens: maxTokens })).status, model).toBe(200)
    }
    expect(running.messageRequests).toHaveLength(4)
  })

  it('holds Claude 3.7 Sonnet to 64,000 output tokens, and to 128,000 with the output-128k beta feature', async () => {
    const running = await start()
    for (const model of ['claude-3-7-sonnet-20250219', 'claude-3-7-sonnet-latest']) {
      for (const [maxTokens, headers, limit] of [
        [64_001, {}, 64_000],
        [64_001, { 'anthropic-beta': 'computer-use-2025-01-24' }, 64_000],
        [128_001, { 'anthropic-beta': 'output-128k-2025-02-19' }, 128_000],
      ] as const) {
        const refused = await post(running, { ...ask, model, max_tokens: maxTokens }, headers)
        expect(refused.status, `${model} ${maxTokens}`).toBe(400)
        expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
          `max_tokens: ${maxTokens} > ${limit}, which is the maximum allowed number of output tokens for ${model}`,
        )
      }
      expect((await post(running, { ...ask, model, max_tokens: 64_000 })).status).toBe(200)
      const beta = { 'anthropic-beta': 'interleaved-thinking-2025-05-14,output-128k-2025-02-19' }
      expect((await post(running, { ...ask, model, max_tokens: 128_000 }, beta)).status).toBe(200)
    }
    // The beta feature raises no other model's limit.
    const sonnet4 = await post(
      running,
      { ...ask, model: 'claude-sonnet-4', max_tokens: 64_001 },
      {
        'anthropic-beta': 'output-128k-2025-02-19',
      },
    )
    expect(sonnet4.status).toBe(400)
  })

  it('holds top_k to a whole number ≥ 0 and service_tier to auto or standard_only, as the API does', async () => {
    const running = await start()
    const legacy = { 'anthropic-version': '2023-06-01' }
    for (const [setting, message] of [
      [{ top_k: -1 }, 'top_k: Input should be greater than or equal to 0'],
      [{ top_k: 1.5 }, 'top_k: Input should be a valid integer'],
      [{ top_k: '5' }, 'top_k: Input should be a valid integer'],
      [{ service_tier: 'priority' }, "service_tier: Input should be 'auto' or 'standard_only'"],
    ] as const) {
      const refused = await post(running, { ...ask, ...setting }, legacy)
      expect(refused.status, JSON.stringify(setting)).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    expect((await post(running, { ...ask, top_k: 0, service_tier: 'standard_only' }, legacy)).status).toBe(200)
    expect(running.messageRequests).toHaveLength(1)
  })

  it('holds temperature and top_p to 0–1 on API version 2023-06-01', async () => {
    const running = await start()
    const legacy = { 'anthropic-version': '2023-06-01' }
    for (const [sampling, message] of [
      [{ temperature: 1.5 }, 'temperature: Input should be less than or equal to 1'],
      [{ temperature: -1 }, 'temperature: Input should be greater than or equal to 0'],
      [{ top_p: 1.5 }, 'top_p: Input should be less than or equal to 1'],
      [{ top_p: -0.1 }, 'top_p: Input should be greater than or equal to 0'],
      [{ temperature: '0.5' }, 'temperature: Input should be a valid number'],
    ] as const) {
      const refused = await post(running, { ...ask, ...sampling }, legacy)
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    expect((await post(running, { ...ask, temperature: 0 }, legacy)).status).toBe(200)
    expect((await post(running, { ...ask, temperature: 1, top_p: 0.9 }, legacy)).status).toBe(200)
    expect(running.messageRequests).toHaveLength(2)
  })

  it('refuses temperature other than 1, top_p under 0.95 and top_k with thinking on API version 2023-06-01', async () => {
    const running = await start()
    const legacy = { 'anthropic-version': '2023-06-01' }
    const thinking = { thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2048 }
    for (const [sampling, message] of [
      [{ ...thinking, temperature: 0.5 }, '`temperature` may only be set to 1 when thinking is enabled'],
      [
        { thinking: { type: 'adaptive' }, temperature: 0 },
        '`temperature` may only be set to 1 when thinking is enabled',
      ],
      [{ ...thinking, top_p: 0.9 }, '`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled'],
      [{ ...thinking, top_k: 5 }, '`top_k` is not compatible with thinking'],
    ] as const) {
      const refused = await post(running, { ...ask, ...sampling }, legacy)
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining(message) },
      })
    }
    expect((await post(running, { ...ask, ...thinking, temperature: 1, top_p: 0.95 }, legacy)).status).toBe(200)
    expect(
      (await post(running, { ...ask, thinking: { type: 'disabled' }, temperature: 0, top_k: 5 }, legacy)).status,
    ).toBe(200)
    expect(running.messageRequests).toHaveLength(2)
  })

  it('refuses a message role that is not user, assistant or system', async () => {
    const running = await start()
    const refused = await post(running, { messages: [{ role: 'bogus', content: 'Hi' }] })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^messages\.0\.role: /) },
    })
    const withSystemTurn = await post(running, {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Again' },
      ],
    })
    expect(withSystemTurn.status).toBe(200)
  })

  it('refuses content, system and stop_sequences of the wrong type with a 400, never a 500 of its own', async () => {
    const running = await start()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: [{ role: 'user', content: null }] }, 'messages.0.content: Input should be a valid list'],
      [{ messages: [{ role: 'user', content: 5 }] }, 'messages.0.content: Input should be a valid list'],
      [{ messages: [{ role: 'user' }] }, 'messages.0.content: Field required'],
      [{ messages: [null] }, 'messages.0: Input should be a valid dictionary'],
      [{ messages: [{ role: 'user', content: [null] }] }, 'messages.0.content.0: Input should be a valid dictionary'],
      [
        { messages: [{ role: 'user', content: [{ text: 'Hi' }] }] },
        "messages.0.content.0: Unable to extract tag using discriminator 'type'",
      ],
      [{ ...ask, system: 5 }, 'system: Input should be a valid list'],
      [{ ...ask, system: [{ type: 'image' }] }, "system.0.type: Input should be 'text'"],
      [{ ...ask, stop_sequences: 5 }, 'stop_sequences: Input should be a valid list'],
      [{ ...ask, stop_sequences: ['ok', 7] }, 'stop_sequences.1: Input should be a valid string'],
    ]
    for (const [body, message] of cases) {
      const refused = await post(running, body)
      expect(refused.status, JSON.stringify(body)).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining(message) },
      })
    }
    const system = await post(running, { ...ask, system: [{ type: 'text', text: 'Be brief.' }], stop_sequences: ['x'] })
    expect(system.status).toBe(200)
  })

  it('refuses an empty system text block, as the API does, and takes a system of white space', async () => {
    const running = await start()
    const refused = await post(running, {
      ...ask,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: '' },
      ],
    })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'system: text content blocks must be non-empty' },
    })
    expect((await post(running, { ...ask, system: [{ type: 'text', text: ' ' }] })).status).toBe(200)
    expect(running.messageRequests).toHaveLength(1)
  })

  it('refuses more than 4 cache_control breakpoints, counted over tools, system and messages, as Anthropic does', async () => {
    // The prompt-caching guide: "You can define up to 4 cache breakpoints"; the API answers a fifth with "A maximum of
    // 4 blocks with cache_control may be provided. Found 5." (reported against the live API in tghamm/Anthropic.SDK#50).
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const cached = { type: 'ephemeral' }
    const tool = (name: string) => ({ name, input_schema: { type: 'object' }, cache_control: cached })
    const result = { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '20 °C' }] }
    const body = (resultCache: object | null) => ({
      tools: [tool('get_weather'), tool('get_time')],
      system: [{ type: 'text', text: 'Be brief.', cache_control: cached }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?', cache_control: cached }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
        {
          role: 'user',
          content: [{ ...result, content: [{ type: 'text', text: '20 °C', cache_control: resultCache }] }],
        },
      ],
    })
    const five = await post(running, body(cached))
    expect(five.status).toBe(400)
    expect(await five.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message: 'A maximum of 4 blocks with cache_control may be provided. Found 5.',
      },
    })
    // `cache_control: null` sets no breakpoint.
    expect((await post(running, body(null))).status).toBe(200)
  })

  it('refuses a block, thinking or metadata the SDK types do not have, and a text block without its text', async () => {
    const running = await start()
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { messages: [{ role: 'user', content: [{ type: 'bogus', text: 'Hi' }] }] },
        "messages.0.content.0: Input tag 'bogus' found using 'type' does not match any of the expected tags: 'text', 'image'",
      ],
      [{ messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text: Field required'],
      [
        { messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] },
        'messages.0.content.0.text: Input should be a valid string',
      ],
      [{ ...ask, thinking: { type: 'on' } }, "thinking: Input tag 'on' found using 'type' does not match"],
      [{ ...ask, thinking: 'enabled' }, 'thinking: Input should be a valid dictionary'],
      [{ ...ask, metadata: { user_id: 'u', session: 's' } }, 'metadata.session: Extra inputs are not permitted'],
      [{ ...ask, metadata: { user_id: ['u'] } }, 'metadata.user_id: Input should be a valid string'],
      [
        { ...ask, messages: [{ role: 'user', content: 'Hi', name: 'ann' }] },
        'messages.0.name: Extra inputs are not permitted',
      ],
      [{ ...ask, tools: { name: 'lookup' } }, 'tools: Input should be a valid list'],
      [{ ...ask, tools: 5 }, 'tools: Input should be a valid list'],
    ]
    for (const [body, message] of cases) {
      const refused = await post(running, body)
      expect(refused.status, JSON.stringify(body)).toBe(400)
      expect(await refused.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: expect.stringContaining(message) },
      })
    }
    const accepted = await post(running, { ...ask, metadata: { user_id: null }, thinking: { type: 'disabled' } })
    expect(accepted.status).toBe(200)
  })

  it('refuses empty messages, empty or blank text blocks and repeated tool names, as Anthropic does', async () => {
    const running = await start()
    const tool = { name: 'lookup', input_schema: { type: 'object', properties: {} } }
    const nonEmpty = 'all messages must have non-empty content except for the optional final assistant message'
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: [{ role: 'user', content: '' }] }, `messages.0: ${nonEmpty}`],
      [{ messages: [{ role: 'user', content: [] }] }, `messages.0: ${nonEmpty}`],
      [
        { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '' }, ask.messages[0]] },
        `messages.1: ${nonEmpty}`,
      ],
      [
        { messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] },
        'text content blocks must be non-empty',
      ],
      [
        { messages: [{ role: 'user', content: [{ type: 'text', text: ' \n' }] }] },
        'text content blocks must contain non-whitespace text',
      ],
      [{ ...ask, tools: [tool, { ...tool }] }, 'tools: Tool names must be unique.'],
    ]
    for (const [body, message] of cases) {
      const refused = await post(running, body)
      expect(refused.status, JSON.stringify(body)).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining(message) },
      })
    }
    // The final assistant message, a prefill, may be empty.
    const prefill = await post(running, { messages: [ask.messages[0], { role: 'assistant', content: '' }] })
    expect(prefill.status).toBe(200)
    expect(running.messageRequests).toHaveLength(1)
  })

  it('refuses a custom tool whose input_schema has a union at the top level, strict or not, as Anthropic does', async () => {
    const running = await start()
    const branch = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }
    for (const keyword of ['anyOf', 'oneOf', 'allOf']) {
      const refused = await post(running, {
        ...ask,
        tools: [{ name: 'lookup', input_schema: { type: 'object', [keyword]: [branch] } }],
      })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        error: {
          type: 'invalid_request_error',
          message: 'tools.0.custom.input_schema: input_schema does not support oneOf, allOf, or anyOf at the top level',
        },
      })
    }
    const nested = { type: 'object', properties: { where: { anyOf: [branch, { type: 'null' }] } } }
    expect((await post(running, { ...ask, tools: [{ name: 'lookup', input_schema: nested }] })).status).toBe(200)
  })

  it('refuses a custom tool with a name Anthropic does not take, or without an object input_schema', async () => {
    const running = await start()
    const schema = { type: 'object', properties: {} }
    const badName = "name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"
    for (const [tool, message] of [
      [{ name: 'get weather!', input_schema: schema }, badName],
      [{ name: '', input_schema: schema }, badName],
      [{ name: 'a'.repeat(129), input_schema: schema }, badName],
      [{ input_schema: schema }, 'name: Field required'],
      [{ name: 'f' }, 'input_schema: Field required'],
      [{ name: 'f', input_schema: 'object' }, 'input_schema: Input should be a valid dictionary'],
      [{ name: 'f', input_schema: { type: 'string' } }, "input_schema.type: Input should be 'object'"],
    ] as const) {
      const refused = await post(running, { ...ask, tools: [{ name: 'ok', input_schema: schema }, tool] })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: `tools.1.custom.${message}` },
      })
    }
    const accepted = [
      { name: 'get_weather-2', input_schema: schema },
      { name: 'a'.repeat(128), input_schema: schema, type: 'custom' },
      { type: 'web_search_20250305', name: 'web_search' },
    ]
    expect((await post(running, { ...ask, tools: accepted })).status).toBe(200)
    expect(running.messageRequests).toHaveLength(1)
  })

  it('refuses a tool of no type Anthropic knows, a server tool under another name, and a tool that is no object', async () => {
    const running = await start()
    const custom = { name: 'ok', input_schema: { type: 'object', properties: {} } }
    for (const [tool, message] of [
      [
        { type: 'web_search_2025', name: 'web_search' },
        "tools.1: Input tag 'web_search_2025' found using 'type' does not match any of the expected tags:",
      ],
      [{ type: 'function', name: 'f', input_schema: {} }, "tools.1: Input tag 'function' found using 'type'"],
      [{ type: 7, name: 'f' }, "tools.1: Input tag '7' found using 'type'"],
      [
        { type: 'web_search_20250305', name: 'search' },
        "tools.1.web_search_20250305.name: Input should be 'web_search'",
      ],
      [{ type: 'web_search_20250305' }, "tools.1.web_search_20250305.name: Input should be 'web_search'"],
      [{ type: 'bash_20250124', name: 'shell' }, "tools.1.bash_20250124.name: Input should be 'bash'"],
      [null, 'tools.1: Input should be a valid dictionary or object to extract fields from'],
      ['web_search', 'tools.1: Input should be a valid dictionary or object to extract fields from'],
    ] as const) {
      const refused = await post(running, { ...ask, tools: [custom, tool] })
      expect(refused.status, JSON.stringify(tool)).toBe(400)
      const body = (await refused.json()) as { error: { type: string; message: string } }
      expect(body.error.type).toBe('invalid_request_error')
      expect(body.error.message, JSON.stringify(tool)).toContain(message)
    }
    const accepted = [
      custom,
      { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      { type: 'web_fetch_20250910', name: 'web_fetch' },
      { type: 'code_execution_20250825', name: 'code_execution' },
      { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
      { type: 'tool_search_tool_regex', name: 'tool_search_tool_regex' },
      { type: 'browser_toolset_20260801' },
    ]
    expect((await post(running, { ...ask, tools: accepted })).status).toBe(200)
    expect(running.messageRequests).toHaveLength(1)
  })

  it('takes a beta tool type only with the anthropic-beta feature that turns it on, as the API does', async () => {
    const running = await start()
    for (const [tool, beta] of [
      [
        { type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 },
        'computer-use-2025-01-24',
      ],
      [
        { type: 'computer_20251124', name: 'computer', display_width_px: 1024, display_height_px: 768 },
        'computer-use-2025-11-24',
      ],
      [
        { type: 'computer_20241022', name: 'computer', display_width_px: 1024, display_height_px: 768 },
        'computer-use-2024-10-22',
      ],
      [{ type: 'bash_20241022', name: 'bash' }, 'computer-use-2024-10-22'],
      [{ type: 'text_editor_20241022', name: 'str_replace_editor' }, 'computer-use-2024-10-22'],
      [{ type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-5' }, 'advisor-tool-2026-03-01'],
    ] as const) {
      const tools = [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }, tool]
      for (const header of [{}, { 'anthropic-beta': 'output-128k-2025-02-19' }, { 'anthropic-beta': `${beta}-x` }]) {
        const refused = await post(running, { ...ask, tools }, header)
        expect(refused.status, `${tool.type} ${JSON.stringify(header)}`).toBe(400)
        const { error } = (await refused.json()) as { error: { type: string; message: string } }
        expect(error.type).toBe('invalid_request_error')
        expect(error.message).toContain(`tools.1: Input tag '${tool.type}' found using 'type' does not match`)
      }
      for (const header of [beta, `interleaved-thinking-2025-05-14, ${beta}`, `${beta},output-128k-2025-02-19`]) {
        const accepted = await post(running, { ...ask, tools }, { 'anthropic-beta': header })
        expect(accepted.status, `${tool.type} ${header}`).toBe(200)
      }
      const misnamed = await post(running, { ...ask, tools: [{ ...tool, name: 'other' }] }, { 'anthropic-beta': beta })
      expect(misnamed.status).toBe(400)
      expect(((await misnamed.json()) as { error: { message: string } }).error.message).toBe(
        `tools.0.${tool.type}.name: Input should be '${tool.name}'`,
      )
    }
  })

  it('refuses a beta tool without a field its type in the SDK requires, naming the field, as the API does', async () => {
    const running = await start()
    const screen = { display_width_px: 1024, display_height_px: 768 }
    for (const [tool, beta, required] of [
      [{ type: 'computer_20250124', name: 'computer', ...screen }, 'computer-use-2025-01-24', Object.keys(screen)],
      [{ type: 'computer_20251124', name: 'computer', ...screen }, 'computer-use-2025-11-24', Object.keys(screen)],
      [{ type: 'computer_20241022', name: 'computer', ...screen }, 'computer-use-2024-10-22', Object.keys(screen)],
      [{ type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-5' }, 'advisor-tool-2026-03-01', ['model']],
      // The 2024-10-22 bash and text editor tools take nothing but their type and name.
      [{ type: 'bash_20241022', name: 'bash' }, 'computer-use-2024-10-22', []],
      [{ type: 'text_editor_20241022', name: 'str_replace_editor' }, 'computer-use-2024-10-22', []],
    ] as const) {
      const tools = (changed: Record<string, unknown>) => [
        { name: 'lookup', input_schema: { type: 'object', properties: {} } },
        changed,
      ]
      const headers = { 'anthropic-beta': beta }
      expect((await post(running, { ...ask, tools: tools(tool) }, headers)).status, tool.type).toBe(200)
      for (const field of required) {
        const without = Object.fromEntries(Object.entries(tool).filter(([key]) => key !== field))
        const refused = await post(running, { ...ask, tools: tools(without) }, headers)
        expect(refused.status, `${tool.type} without ${field}`).toBe(400)
        expect(((await refused.json()) as { error: unknown }).error).toEqual({
          type: 'invalid_request_error',
          message: `tools.1.${tool.type}.${field}: Field required`,
        })
      }
    }
    // Without the beta feature, the tool's type is what is refused, whatever fields it has.
    const bare = await post(running, { ...ask, tools: [{ type: 'computer_20250124', name: 'computer' }] })
    expect(((await bare.json()) as { error: { message: string } }).error.message).toContain(
      "tools.0: Input tag 'computer_20250124' found using 'type' does not match",
    )
  })

  it('refuses a tool_choice whose fields are not those of its type: a tool choice without a name, a flag that is not a boolean, an extra key', async () => {
    const running = await start()
    const tools = [
      { name: 'lookup', input_schema: { type: 'object', properties: {} } },
      { type: 'browser_toolset_20260801' },
    ]
    for (const [toolChoice, message] of [
      [{ type: 'tool' }, 'tool_choice.tool.name: Field required'],
      [{ type: 'tool', name: 7 }, 'tool_choice.tool.name: Input should be a valid string'],
      [
        { type: 'auto', disable_parallel_tool_use: 'yes' },
        'tool_choice.auto.disable_parallel_tool_use: Input should be a valid boolean',
      ],
      [{ type: 'any', parallel: false }, 'tool_choice.any.parallel: Extra inputs are not permitted'],
      [
        { type: 'none', disable_parallel_tool_use: true },
        'tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted',
      ],
      [{ type: 'auto', name: 'lookup' }, 'tool_choice.auto.name: Extra inputs are not permitted'],
    ] as const) {
      const refused = await post(running, { ...ask, tools, tool_choice: toolChoice })
      expect(refused.status, JSON.stringify(toolChoice)).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    for (const toolChoice of [
      { type: 'tool', name: 'lookup', disable_parallel_tool_use: true },
      { type: 'any', disable_parallel_tool_use: false },
      { type: 'auto' },
      { type: 'none' },
    ]) {
      expect((await post(running, { ...ask, tools, tool_choice: toolChoice })).status, JSON.stringify(toolChoice)).toBe(
        200,
      )
    }
    expect(running.messageRequests).toHaveLength(4)
  })

  it('refuses a tool_choice naming a tool it was not offered, or sent without tools, through the SDK', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const client = new Anthropic({ apiKey: 'test', baseURL: running.baseURL, maxRetries: 0 })
    const tool = (name: string) => ({ name, input_schema: { type: 'object' as const, properties: {} } })
    const send = async (change: Partial<Anthropic.MessageCreateParamsNonStreaming>) => {
      try {
        await client.messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'Hi' }],
          ...change,
        })
        return { status: 200 }
      } catch (caught) {
        if (!(caught instanceof Anthropic.BadRequestError)) throw caught
        return { status: caught.status, error: caught.error }
      }
    }
    const refused = (message: string) => ({
      status: 400,
      error: { type: 'error', error: { type: 'invalid_request_error', message }, request_id: expect.any(String) },
    })
    const withoutTools = refused('tool_choice may only be specified while providing tools.')
    expect(await send({ tools: [tool('lookup')], tool_choice: { type: 'tool', name: 'get_weather' } })).toEqual(
      refused("Tool 'get_weather' not found in provided tools"),
    )
    expect(await send({ tool_choice: { type: 'tool', name: 'lookup' } })).toEqual(withoutTools)
    expect(await send({ tools: [], tool_choice: { type: 'any' } })).toEqual(withoutTools)
    expect(await send({ tool_choice: { type: 'auto' } })).toEqual(withoutTools)
    // A tool choice is an object tagged by its type, never a bare string or another tag.
    expect(await send({ tools: [tool('lookup')], tool_choice: 'auto' as never })).toEqual(
      refused('tool_choice: Input should be a valid dictionary or object to extract fields from'),
    )
    expect(await send({ tools: [tool('lookup')], tool_choice: { type: 'required' } as never })).toEqual(
      refused(
        "tool_choice: Input tag 'required' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
      ),
    )
    const accepted: Partial<Anthropic.MessageCreateParamsNonStreaming>[] = [
      { tools: [tool('lookup'), tool('get_weather')], tool_choice: { type: 'tool', name: 'get_weather' } },
      {
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        tool_choice: { type: 'tool', name: 'web_search' },
      },
      { tools: [tool('lookup')], tool_choice: { type: 'any' } },
      { tools: [tool('lookup')], tool_choice: { type: 'auto' } },
      { tool_choice: { type: 'none' } },
    ]
    for (const change of accepted) expect(await send(change), JSON.stringify(change)).toEqual({ status: 200 })
  })

  it('refuses a thinking budget under 1024 or not under max_tokens', async () => {
    const running = await start()
    const thinking = (maxTokens: number, budget: number) => ({
      ...ask,
      max_tokens: maxTokens,
      thinking: { type: 'enabled', budget_tokens: budget },
    })
    for (const [body, message] of [
      [thinking(4000, 500), 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024'],
      [thinking(4000, 1500.5), 'thinking.enabled.budget_tokens: Input should be a valid integer'],
      [thinking(2000, 3000), '`max_tokens` must be greater than `thinking.budget_tokens`'],
      [thinking(2000, 2000), '`max_tokens` must be greater than `thinking.budget_tokens`'],
    ] as const) {
      const refused = await post(running, body)
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    expect((await post(running, thinking(2000, 1024))).status).toBe(200)
    expect((await post(running, { ...ask, thinking: { type: 'adaptive' } })).status).toBe(200)
    expect(running.messageRequests).toHaveLength(2)
  })

  it('refuses a stop sequence that is empty or only white space, as Anthropic does', async () => {
    const running = await start({ cycleReplies: true, replies: ['ok'] })
    for (const [stop, message] of [
      [['END', ''], 'stop_sequences: each stop sequence must be non-empty'],
      [['\n'], 'stop_sequences: each stop sequence must contain non-whitespace'],
      [[' \t\u3000'], 'stop_sequences: each stop sequence must contain non-whitespace'],
    ] as const) {
      const refused = await post(running, { ...ask, stop_sequences: stop })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    expect((await post(running, { ...ask, stop_sequences: ['\nHuman:', ' END '] })).status).toBe(200)
  })

  it('refuses thinking with a forced tool choice, or a tool loop whose assistant turn lost its thinking block', async () => {
    const running = await start({ cycleReplies: true, replies: ['ok'] })
    const tools = [{ name: 'lookup', input_schema: { type: 'object' } }]
    const enabled = { type: 'enabled', budget_tokens: 1024 }
    const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {} }
    const loop = (...assistant: Record<string, unknown>[]) => [
      { role: 'user', content: 'Look it up.' },
      { role: 'assistant', content: assistant },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found' }] },
    ]
    for (const [body, message] of [
      [
        { ...ask, thinking: enabled, tools, tool_choice: { type: 'any' } },
        /^Thinking may not be enabled when tool_choice forces tool use\.$/,
      ],
      [
        { ...ask, thinking: { type: 'adaptive' }, tools, tool_choice: { type: 'tool', name: 'lookup' } },
        /^Thinking may not be enabled when tool_choice forces tool use\.$/,
      ],
      [
        { messages: loop(toolUse), thinking: enabled, tools },
        /^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`\. When `thinking` is enabled/,
      ],
    ] as const) {
      const refused = await post(running, { max_tokens: 4000, ...body })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringMatching(message) },
      })
    }
    const thought = { type: 'thinking', thinking: 'Look it up.', signature: thinkingSignature('Look it up.') }
    for (const body of [
      { messages: loop(thought, toolUse), thinking: enabled, tools },
      { messages: loop({ type: 'redacted_thinking', data: 'x' }, toolUse), thinking: { type: 'adaptive' }, tools },
      { messages: loop(toolUse), tools, tool_choice: { type: 'any' } },
      { ...ask, thinking: enabled, tools, tool_choice: { type: 'auto' } },
    ]) {
      expect((await post(running, { max_tokens: 4000, ...body })).status, JSON.stringify(body)).toBe(200)
    }
  })

  it('answers with scripted thinking blocks, signed, streamed as thinking and signature deltas, and refuses one sent back changed', async () => {
    const reply = { thinking: ['Look it up.', { redactedData: 'opaque' }], toolUses: [{ name: 'lookup', input: {} }] }
    const running = await start({ cycleReplies: true, replies: [reply] })
    const tools = [{ name: 'lookup', input_schema: { type: 'object' } }]
    const thinking = { type: 'enabled', budget_tokens: 1024 }
    const answered = await post(running, { ...ask, max_tokens: 4000, thinking, tools })
    const message = (await answered.json()) as { content: Record<string, unknown>[] }
    const signature = thinkingSignature('Look it up.')
    expect(message.content.slice(0, 2)).toEqual([
      { type: 'thinking', thinking: 'Look it up.', signature },
      { type: 'redacted_thinking', data: 'opaque' },
    ])
    const streamed = await post(running, { ...ask, max_tokens: 4000, thinking, tools, stream: true })
    const events = parseSseEvents(await streamed.text()).map((event) => JSON.parse(event.data))
    expect(events.filter((event) => event.type === 'content_block_start').map((event) => event.content_block)).toEqual([
      { type: 'thinking', thinking: '' },
      { type: 'redacted_thinking', data: 'opaque' },
      expect.objectContaining({ type: 'tool_use' }),
    ])
    const deltas = events.filter((event) => event.index === 0 && event.type === 'content_block_delta')
    expect(deltas.map((event) => event.delta.type)).toEqual([
      'thinking_delta',
      'thinking_delta',
      'thinking_delta',
      'signature_delta',
    ])
    expect(deltas.map((event) => event.delta.thinking ?? event.delta.signature).join('')).toBe(
      `Look it up.${signature}`,
    )
    const loop = (first: Record<string, unknown>) => [
      ask.messages[0],
      { role: 'assistant', content: [first, message.content[1], message.content[2]] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.content[2]?.id, content: 'found' }] },
    ]
    const back = await post(running, { messages: loop(message.content[0] ?? {}), max_tokens: 4000, thinking, tools })
    expect(back.status).toBe(200)
    // A signature the server did not give (a conversation recorded from the API) cannot be checked, and is taken.
    const recorded = { type: 'thinking', thinking: 'Look it up.', signature: 'EqoBCkgIARABGAIiQL2UoU0b1OHY' }
    expect((await post(running, { messages: loop(recorded), max_tokens: 4000, thinking, tools })).status).toBe(200)
    for (const [changed, problem] of [
      [
        { type: 'thinking', thinking: 'Look it up!', signature },
        'messages.1.content.0: Invalid `signature` in `thinking` block',
      ],
      [{ type: 'thinking', thinking: 'Look it up.' }, 'messages.1.content.0.thinking.signature: Field required'],
    ] as const) {
      const refused = await post(running, { messages: loop(changed), max_tokens: 4000, thinking, tools })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ error: { type: 'invalid_request_error', message: problem } })
    }
  })

  it('refuses an output format that is not json_schema, or has no schema', async () => {
    const running = await start()
    const schema = { type: 'object', properties: {}, additionalProperties: false }
    for (const [format, message] of [
      [{ type: 'bogus', schema }, "output_config.format.type: Input should be 'json_schema'"],
      [{ type: 'json_schema' }, 'output_config.format.schema: Field required'],
    ] as const) {
      const refused = await post(running, { ...ask, output_config: { format } })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    expect((await post(running, { ...ask, output_config: { format: { type: 'json_schema', schema } } })).status).toBe(
      200,
    )
  })

  it('refuses tool turns that do not pair up, as Anthropic does, and accepts a multi-turn tool conversation', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = { role: 'user', content: 'Weather in Paris and Rome?' }
    const assistant = {
      role: 'assistant',
      content: [
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
      ],
    }
    const results = (...ids: string[]) => ({
      role: 'user',
      content: ids.map((id) => ({ type: 'tool_result', tool_use_id: id, content: '20 °C' })),
    })
    const missing = await post(running, { messages: [asked, assistant, results('toolu_1')] })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message: expect.stringContaining(
          'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_2',
        ),
      },
    })
    const stray = await post(running, { messages: [asked, results('toolu_9')] })
    expect(stray.status).toBe(400)
    expect(await stray.json()).toMatchObject({
      error: { message: expect.stringContaining('messages.1.content.0: unexpected `tool_use_id`') },
    })
    const textFirst = results('toolu_1', 'toolu_2')
    const late = await post(running, {
      messages: [asked, assistant, { ...textFirst, content: [{ type: 'text', text: 'Here:' }, ...textFirst.content] }],
    })
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({
      error: {
        message: expect.stringContaining(
          'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1, toolu_2',
        ),
      },
    })
    const textAfter = { ...textFirst, content: [...textFirst.content, { type: 'text', text: 'Thanks.' }] }
    expect((await post(running, { messages: [asked, assistant, textAfter] })).status).toBe(200)
    const reply = await post(running, { messages: [asked, assistant, results('toolu_2', 'toolu_1')] })
    expect(reply.status).toBe(200)
    expect(await firstText(reply)).toBe('ok')
  })

  it('refuses two tool_use blocks with one id, and a final assistant turn ending in white space', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = ask.messages[0]
    const call = { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }
    const twice = await post(running, {
      messages: [
        asked,
        { role: 'assistant', content: [call, call] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '20 °C' }] },
      ],
    })
    expect(twice.status).toBe(400)
    expect(await twice.json()).toMatchObject({
      error: { message: 'messages.1.content.1: `tool_use` ids must be unique' },
    })
    for (const content of ['The answer is ', [{ type: 'text', text: 'The answer is\n' }]]) {
      const prefill = await post(running, { messages: [asked, { role: 'assistant', content }] })
      expect(prefill.status, JSON.stringify(content)).toBe(400)
      expect(await prefill.json()).toMatchObject({
        error: { message: 'messages: final assistant content cannot end with trailing whitespace' },
      })
    }
    const trimmed = await post(running, { messages: [asked, { role: 'assistant', content: 'The answer is' }] })
    expect(trimmed.status).toBe(200)
  })

  it('refuses two tool_result blocks answering one tool_use, as Anthropic does', async () => {
    // The API answers "each tool_use must have a single result. Found multiple `tool_result` blocks with id: …"
    // (reported against the live API in QwenLM/qwen-code#8163 and sipeed/picoclaw#1793).
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = ask.messages[0]
    const assistant = {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }],
    }
    const result = (content: string) => ({ type: 'tool_result', tool_use_id: 'toolu_1', content })
    const twice = await post(running, {
      messages: [asked, assistant, { role: 'user', content: [result('20 °C'), result('21 °C')] }],
    })
    expect(twice.status).toBe(400)
    expect(await twice.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message:
          'messages.2.content.1: each tool_use must have a single result. Found multiple `tool_result` blocks with id: toolu_1',
      },
    })
    const once = await post(running, { messages: [asked, assistant, { role: 'user', content: [result('20 °C')] }] })
    expect(once.status).toBe(200)
  })

  it('refuses a message whose only text is white space, string content included, and takes blank text beside real text', async () => {
    // A string is shorthand for one text block (the SDK's MessageParam docs), and the API refuses a message whose
    // text is only white space; a blank block beside one with text is taken (checked against the API in
    // LibreChat-AI/agents#124: `[text:' ', text:'real']` accepted, `[text:' ']` refused).
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = ask.messages[0]
    const blank = 'messages: text content blocks must contain non-whitespace text'
    for (const messages of [
      [{ role: 'user', content: ' \n' }],
      [asked, { role: 'assistant', content: '\n\n' }, asked],
    ]) {
      const refused = await post(running, { messages })
      expect(refused.status, JSON.stringify(messages)).toBe(400)
      expect(await refused.json()).toMatchObject({ error: { type: 'invalid_request_error', message: blank } })
    }
    const beside = await post(running, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: ' ' },
            { type: 'text', text: 'Echo me' },
          ],
        },
      ],
    })
    expect(beside.status).toBe(200)
  })

  it('refuses an image block whose source is not one the SDK types have, or an image type the API does not read', async () => {
    // The SDK's ImageBlockParam: `source` is a Base64ImageSource (`data`, `media_type` one of image/jpeg, image/png,
    // image/gif, image/webp), a URLImageSource (`url`) or a FileImageSource (`file_id`); the API's 400 reads
    // "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', …" (anthropics/claude-code#8184),
    // inside a tool_result too ("…tool_result.content.0.image.source.base64.media_type…", anthropics/claude-code#3073).
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const text = { type: 'text', text: 'What is this?' }
    const mediaTypes = "Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
    const cases: Array<[unknown, string]> = [
      [{ type: 'image' }, 'messages.0.content.0.image.source: Field required'],
      [{ type: 'image', source: 'https://example.com/cat.png' }, `messages.0.content.0.image.source: ${notADict}`],
      [
        { type: 'image', source: { type: 'path', path: '/cat.png' } },
        "messages.0.content.0.image.source: Input tag 'path' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'",
      ],
      [
        { type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'Qk0=' } },
        `messages.0.content.0.image.source.base64.media_type: ${mediaTypes}`,
      ],
      [
        { type: 'image', source: { type: 'base64', media_type: 'image/png' } },
        'messages.0.content.0.image.source.base64.data: Field required',
      ],
      [{ type: 'image', source: { type: 'url' } }, 'messages.0.content.0.image.source.url.url: Field required'],
      [{ type: 'image', source: { type: 'file' } }, 'messages.0.content.0.image.source.file.file_id: Field required'],
    ]
    for (const [image, message] of cases) {
      const refused = await post(running, { messages: [{ role: 'user', content: [image, text] }] })
      expect(refused.status, JSON.stringify(image)).toBe(400)
      expect(await refused.json()).toMatchObject({ error: { type: 'invalid_request_error', message } })
    }
    const screenshot = {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_1',
          content: [{ type: 'image', source: { type: 'base64', media_type: 'image/svg+xml', data: 'PHN2Zz4=' } }],
        },
      ],
    }
    const call = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} }] }
    const inResult = await post(running, { messages: [ask.messages[0], call, screenshot] })
    expect(inResult.status).toBe(400)
    expect(await inResult.json()).toMatchObject({
      error: { message: `messages.2.content.0.tool_result.content.0.image.source.base64.media_type: ${mediaTypes}` },
    })
    for (const source of [
      { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
      { type: 'url', url: 'https://example.com/cat.jpg' },
      { type: 'file', file_id: 'file_011' },
    ]) {
      const taken = await post(running, { messages: [{ role: 'user', content: [{ type: 'image', source }, text] }] })
      expect(taken.status, JSON.stringify(source)).toBe(200)
    }
  })

  it('refuses a tool_use id with characters other than letters, digits, _ and -, as Anthropic does', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = ask.messages[0]
    // Ids other providers give (Kimi's "functions.get_weather:0", a "call_1|fc_1" pair) are refused by Anthropic.
    for (const id of ['functions.get_weather:0', 'call_1|fc_1', 'call 1']) {
      const answered = await post(running, {
        messages: [
          asked,
          { role: 'assistant', content: [{ type: 'tool_use', id, name: 'get_weather', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '20 °C' }] },
        ],
      })
      expect(answered.status, id).toBe(400)
      expect(await answered.json()).toMatchObject({
        error: { message: "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'" },
      })
    }
    const valid = await post(running, {
      messages: [
        asked,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_A-1', name: 'get_weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_A-1', content: '20 °C' }] },
      ],
    })
    expect(valid.status).toBe(200)
  })

  it('refuses a tool_use id that is not a string, or none, as Anthropic does, even with its result after it', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = ask.messages[0]
    const cases: Array<[unknown, string]> = [
      [7, 'Input should be a valid string'],
      [null, 'Input should be a valid string'],
      [undefined, 'Field required'],
    ]
    for (const [id, problem] of cases) {
      const answered = await post(running, {
        messages: [
          asked,
          { role: 'assistant', content: [{ type: 'tool_use', id, name: 'get_weather', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '20 °C' }] },
        ],
      })
      expect(answered.status, String(id)).toBe(400)
      expect(await answered.json()).toMatchObject({
        error: { message: `messages.1.content.0.tool_use.id: ${problem}` },
      })
    }
  })

  it('refuses a tool_use input that is not an object, or none, as Anthropic does', async () => {
    const running = await start({ replies: ['ok'], cycleReplies: true })
    const asked = ask.messages[0]
    // The SDK's ToolUseBlockParam: `input: { [key: string]: unknown }`, required. Arguments kept as JSON text (another
    // provider's `'{"city":"Paris"}'`), a list or a number are not a tool's input.
    const cases: Array<[unknown, string]> = [
      ['{"city":"Paris"}', 'Input should be a valid dictionary'],
      [['Paris'], 'Input should be a valid dictionary'],
      [7, 'Input should be a valid dictionary'],
      [null, 'Input should be a valid dictionary'],
      [undefined, 'Field required'],
    ]
    for (const [input, problem] of cases) {
      const answered = await post(running, {
        messages: [
          asked,
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '20 °C' }] },
        ],
      })
      expect(answered.status, JSON.stringify(input)).toBe(400)
      expect(await answered.json()).toMatchObject({
        error: { message: `messages.1.content.0.tool_use.input: ${problem}` },
      })
    }
  })

  it('refuses an output format or strict tool whose schema has an open object, as Anthropic does', async () => {
    const running = await start()
    const open = { type: 'object', properties: { city: { type: 'string' } } }
    const closed = { ...open, additionalProperties: false }
    const format = (schema: object) => ({ output_config: { format: { type: 'json_schema', schema } } })
    const refusedFormat = await post(running, { ...ask, ...format(open) })
    expect(refusedFormat.status).toBe(400)
    expect(await refusedFormat.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message:
          "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false",
      },
    })
    const strictTool = { name: 'lookup', input_schema: open, strict: true }
    const refusedTool = await post(running, {
      ...ask,
      tools: [{ ...strictTool, name: 'loose', strict: false }, strictTool],
    })
    expect(refusedTool.status).toBe(400)
    expect(await refusedTool.json()).toMatchObject({ error: { message: expect.stringContaining('tools.1.custom') } })
    expect((await post(running, { ...ask, ...format(closed) })).status).toBe(200)
    expect((await post(running, { ...ask, tools: [{ ...strictTool, input_schema: closed }] })).status).toBe(200)
    expect((await post(running, { ...ask, tools: [{ ...strictTool, strict: false }] })).status).toBe(200)
    expect(running.messageRequests).toHaveLength(3)
  })

  it('refuses bounds on numbers, string lengths and array sizes in an output format or strict tool, as Anthropic does', async () => {
    const running = await start({ cycleReplies: true, replies: ['{}'] })
    const closed = (properties: Record<string, unknown>) => ({
      type: 'object',
      properties,
      additionalProperties: false,
    })
    const format = (schema: object) => ({ output_config: { format: { type: 'json_schema', schema } } })
    const strictTool = (schema: object) => ({ tools: [{ name: 'rate', input_schema: schema, strict: true }] })
    for (const [body, message] of [
      [
        format(closed({ score: { type: 'number', minimum: 0, maximum: 1 } })),
        "output_config.format.schema: For 'number' type, properties maximum, minimum are not supported",
      ],
      [
        format(closed({ n: { type: ['integer', 'null'], minimum: 1 } })),
        "output_config.format.schema: For 'integer' type, property 'minimum' is not supported",
      ],
      [
        format({ ...closed({ a: { $ref: '#/$defs/t' } }), $defs: { t: { type: 'array', minItems: 2 } } }),
        "output_config.format.schema: For 'array' type, 'minItems' values other than 0 or 1 are not supported",
      ],
      [
        strictTool(closed({ name: { type: 'string', maxLength: 9 } })),
        "tools.0.custom.input_schema: For 'string' type, property 'maxLength' is not supported",
      ],
      [
        strictTool(closed({ tags: { type: 'array', items: { type: 'string' }, maxItems: 3 } })),
        "tools.0.custom.input_schema: For 'array' type, property 'maxItems' is not supported",
      ],
    ] as const) {
      const refused = await post(running, { ...ask, ...body })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } })
    }
    const accepted = closed({
      n: { type: 'integer', description: '{minimum: 1}' },
      tags: { type: 'array', items: { type: 'string', format: 'email' }, minItems: 1 },
      none: { type: 'array', minItems: 0 },
    })
    expect((await post(running, { ...ask, ...format(accepted) })).status).toBe(200)
    const loose = { name: 'rate', input_schema: closed({ n: { type: 'integer', minimum: 1 } }) }
    expect((await post(running, { ...ask, tools: [loose] })).status).toBe(200)
  })

  it('refuses a recursive schema in an output format or strict tool, as Anthropic does; a tool that is not strict may have one', async () => {
    const running = await start({ cycleReplies: true, replies: ['{}'] })
    // A tree, as z.toJSONSchema writes a zod schema that names itself: a definition whose items refer back to it.
    const node = {
      type: 'object',
      properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
      required: ['name', 'children'],
      additionalProperties: false,
    }
    const tree = {
      type: 'object',
      properties: { root: { $ref: '#/$defs/node' } },
      required: ['root'],
      additionalProperties: false,
      $defs: { node },
    }
    const format = (schema: object) => ({ output_config: { format: { type: 'json_schema', schema } } })
    const strictTool = { name: 'walk', input_schema: tree, strict: true }
    for (const [body, where] of [
      [format(tree), 'output_config.format.schema'],
      [
        format({ type: 'object', properties: { self: { $ref: '#' } }, additionalProperties: false }),
        'output_config.format.schema',
      ],
      [{ tools: [{ ...strictTool, name: 'loose', strict: false }, strictTool] }, 'tools.1.custom.input_schema'],
    ] as const) {
      const refused = await post(running, { ...ask, ...body })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: `${where}: Recursive schemas are not supported` },
      })
    }
    // One definition used twice is no recursion; a tool that is not strict is not constrained.
    const twice = {
      ...tree,
      properties: { a: { $ref: '#/$defs/leaf' }, b: { $ref: '#/$defs/leaf' } },
      required: ['a', 'b'],
    }
    const leaf = { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: false }
    expect((await post(running, { ...ask, ...format({ ...twice, $defs: { leaf } }) })).status).toBe(200)
    expect((await post(running, { ...ask, tools: [{ ...strictTool, strict: false }] })).status).toBe(200)
  })

  it('checks the key when given one, from x-api-key or a bearer token', async () => {
    const running = await start({ apiKey: 'right' })
    expect((await post(running, ask, { 'x-api-key': 'wrong' })).status).toBe(401)
    expect((await post(running, ask, { authorization: 'Bearer right' })).status).toBe(200)
    expect((await post(running, ask, { 'x-api-key': 'right' })).status).toBe(200)
    expect((await post(running, ask)).status).toBe(401)
  })

  it('says so when the script is used up, cycles on request, and takes new replies mid-test', async () => {
    const running = await start({ replies: ['only'] })
    expect((await post(running, ask)).status).toBe(200)
    const exhausted = await post(running, ask)
    expect(exhausted.status).toBe(500)
    expect(await exhausted.json()).toMatchObject({
      error: { type: 'api_error', message: expect.stringContaining('used up') },
    })
    running.setReplies(['a', 'b'], { cycle: true })
    const texts = []
    for (let call = 0; call < 3; call++) texts.push(await firstText(await post(running, ask)))
    expect(texts).toEqual(['a', 'b', 'a'])
  })

  it('computes replies from a function of the request', async () => {
    const running = await start({
      replies: (body, { messageIndex }) => `#${messageIndex}: ${body.messages.length} message(s)`,
    })
    expect(await firstText(await post(running, ask))).toBe('#0: 1 message(s)')
  })
})
