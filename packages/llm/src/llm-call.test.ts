import { getEventListeners } from 'node:events'
import {
  AbortError,
  BudgetExceededError,
  ConfigurationError,
  defineFunction,
  FunctionError,
  formatRunTree,
  type LifecycleEvent,
  MemoryJournal,
  type RetryPolicy,
  type StandardSchemaV1,
  TimeoutError,
  ValidationError,
} from '@tinyllm/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import type { ChatModel, ChatResult, ChatStreamPart } from './chat-model.js'
import { LLMCall, type LLMCallInput, type LLMCallOptions } from './llm-call.js'
import type { LLMStreamDelta } from './llm-stream.js'
import { SystemMessageTemplate, UserMessageTemplate } from './prompts/message-template.js'
import { PromptTemplate } from './prompts/prompt-template.js'
import { ProviderCallError, RateLimitError } from './provider-errors.js'
import { RateLimiter, type RateLimitPermit } from './rate-limiter.js'
import { ScriptedChatModel } from './testing/scripted-chat-model.js'
import { estimateInputTokens } from './token-estimate.js'
import { ToolCallError } from './tool-calls.js'

const ask = (content: string): LLMCallInput => ({ messages: [{ role: 'user', content }] })
const rateLimited = (retryAfterMs?: number) =>
  new RateLimitError({
    provider: 'scripted',
    status: 429,
    message: 'rate limited',
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  })
const fastRetry = { initialDelayMs: 1, maxDelayMs: 1 }
/** A promise opened from outside, once. */
const latch = () => {
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('LLMCall basics', () => {
  it('hands the model a signal only when the attempt can be cancelled: by a signal, a timeout or its own failure', async () => {
    const seen: Array<AbortSignal | undefined> = []
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'recording',
      modelId: 'recording-model',
      doGenerate: async (_request, options) => {
        seen.push(options?.signal)
        return {
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' }],
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          model: 'recording-model',
        }
      },
      doStream: () => {
        throw new Error('not used')
      },
    }
    // One attempt, no signal, no timeout: nothing can cancel the call, and the model is handed nothing.
    const once = new LLMCall({ name: 'once', model, retry: { attempts: 1 } })
    await once.invoke(ask('no signal, no timeout'))
    const controller = new AbortController()
    await once.invoke(ask('cancellable'), { signal: controller.signal })
    expect(seen[0]).toBeUndefined()
    // A signal of the run's own, which the caller's aborts: the run aborts it when it fails, never the caller's.
    expect(seen[1]).toBeInstanceOf(AbortSignal)
    expect(seen[1]).not.toBe(controller.signal)
    // An attempt that may be followed by another is cancelled when it fails, so its model call gets a signal of its own.
    await new LLMCall({ name: 'retrying', model }).invoke(ask('default retries'))
    expect(seen[2]).toBeInstanceOf(AbortSignal)
    expect(seen[2]?.aborted).toBe(false)
  })

  it('runs the original Python tiny-llm’s pipeline: template → LLMCall, returning the first choice text', async () => {
    const model = new ScriptedChatModel({ responses: ['good'] })
    const template = new PromptTemplate({
      name: 'Loan Classifier Template',
      sections: [
        new SystemMessageTemplate({ name: 'Role', content: 'Answer with one of these 2 words: [good, bad]' }),
        new UserMessageTemplate({ name: 'application' }),
      ],
    })
    const chat = new LLMCall({ name: 'openai_chat', model, settings: { model: 'gpt-4o-mini', temperature: 0, n: 1 } })
    const messages = await template.invoke({ message: 'A stable income…' })
    const answer: string = await chat.invoke(messages)
    expect(answer).toBe('good')
    expect(chat.kind).toBe('llm-call')
    expect(model.calls[0]).toEqual({
      model: 'gpt-4o-mini',
      temperature: 0,
      n: 1,
      messages: [
        { role: 'system', content: 'Answer with one of these 2 words: [good, bad]' },
        { role: 'user', content: 'A stable income…' },
      ],
    })
  })

  it('lets the input override the defaults, per call, and ignores unknown or undefined keys', async () => {
    const model = new ScriptedChatModel({ responses: ['a'] })
    const chat = new LLMCall({ name: 'chat', model, settings: { temperature: 0, maxTokens: 10 } })
    await chat.invoke({
      ...ask('x'),
      temperature: 0.7,
      seed: 3,
      maxTokens: undefined,
      extra: 1,
    } as unknown as LLMCallInput)
    expect(model.calls[0]).toEqual({ temperature: 0.7, maxTokens: 10, seed: 3, messages: ask('x').messages })
  })

  it("returns every choice with output: 'texts' and the full result with output: 'result'", async () => {
    const model = new ScriptedChatModel({ responses: [{ content: 'a', choices: ['b', 'c'] }, 'only'] })
    const texts = new LLMCall({ name: 'texts', model, output: 'texts', settings: { n: 3 } })
    const all: string[] = await texts.invoke(ask('x'))
    expect(all).toEqual(['a', 'b', 'c'])
    const full = new LLMCall({ name: 'full', model, output: 'result' })
    const result: ChatResult = await full.invoke(ask('x'))
    expect(result.choices[0]?.message.content).toBe('only')
    expect(result.usage?.totalTokens).toBeGreaterThan(0)
  })

  it('fails in input_validation on a malformed input, before any call', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model })
    const record = await chat.trace({ messages: [{ role: 'robot', content: 'x' }] } as never)
    expect(record.error?.state).toBe('input_validation')
    expect(ValidationError.isInstance(record.error)).toBe(true)
    await expect(chat.invoke({ messages: [] })).rejects.toThrow(/at least one message/)
    await expect(chat.invoke({} as never)).rejects.toSatisfy(ValidationError.isInstance)
    expect(model.calls).toHaveLength(0)
  })

  it('refuses NaN, Infinity and BigInt settings, which JSON would send as null or not at all', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model })
    const bad = { temperature: Number.NaN, maxTokens: Number.POSITIVE_INFINITY, n: 2n, seed: '7' }
    const record = await chat.trace({ ...ask('x'), ...bad } as never)
    expect(record.error?.state).toBe('input_validation')
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['temperature'], message: 'must be a number ≥ 0, got NaN' },
      { path: ['maxTokens'], message: 'must be an integer ≥ 1 and ≤ 100000000, got Infinity' },
      { path: ['n'], message: 'must be an integer ≥ 1, got 2n' },
      { path: ['seed'], message: 'must be an integer, got "7"' },
    ])
    expect(model.calls).toHaveLength(0)
    expect(() => new LLMCall({ name: 'x', model, settings: { topP: Number.NaN } })).toThrow(
      'x: settings.topP must be a number ≥ 0 and ≤ 1, got NaN',
    )
  })

  it('refuses out-of-range settings at construction and per call', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    expect(() => new LLMCall({ name: 'x', model, settings: { n: 0 } })).toThrow(
      'x: settings.n must be an integer ≥ 1, got 0',
    )
    expect(() => new LLMCall({ name: 'x', model, settings: { n: 1.5 } })).toThrow('got 1.5')
    expect(() => new LLMCall({ name: 'x', model, settings: { maxTokens: -5 } })).toThrow(
      'x: settings.maxTokens must be an integer ≥ 1 and ≤ 100000000, got -5',
    )
    const chat = new LLMCall({ name: 'chat', model })
    const record = await chat.trace({ ...ask('x'), n: 0 })
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['n'], message: 'must be an integer ≥ 1, got 0' },
    ])
    expect(model.calls).toHaveLength(0)
  })

  it('refuses a maxTokens above 100,000,000 (1e20) at construction and per call, with or without a budget, unsent', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    expect(() => new LLMCall({ name: 'x', model, settings: { maxTokens: 1e20 } })).toThrow(
      'x: settings.maxTokens must be an integer ≥ 1 and ≤ 100000000, got 100000000000000000000',
    )
    const chat = new LLMCall({ name: 'chat', model })
    for (const maxTokens of [1e20, 100_000_001, Number.MAX_SAFE_INTEGER + 2]) {
      const record = await chat.trace({ ...ask('x'), maxTokens })
      expect(ValidationError.isInstance(record.error)).toBe(true)
      expect((record.error as ValidationError).issues).toEqual([
        { path: ['maxTokens'], message: `must be an integer ≥ 1 and ≤ 100000000, got ${maxTokens}` },
      ])
    }
    expect(model.calls).toHaveLength(0)
    const most = new LLMCall({ name: 'most', model: new ScriptedChatModel({ responses: ['ok'] }) })
    expect(await most.invoke({ ...ask('x'), maxTokens: 100_000_000 })).toBe('ok')
  })

  it("names the right setting when given another library's spelling, as an option or in the input", async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    expect(() => new LLMCall({ name: 'x', model, settings: { max_tokens: 5 } as never })).toThrow(
      'x: settings.max_tokens is not an option; did you mean settings.maxTokens?',
    )
    expect(() => new LLMCall({ name: 'x', model, temperature: 0 } as never)).toThrow(/temperature is not an option/)
    const chat = new LLMCall({ name: 'chat', model })
    const record = await chat.trace({ ...ask('x'), top_p: 0.5, model_name: 'gpt-4o' } as never)
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['top_p'], message: 'is not a chat setting; did you mean topP?' },
      { path: ['model_name'], message: 'is not a chat setting; did you mean model?' },
    ])
    expect(model.calls).toHaveLength(0)
  })

  it('names the setting under settings when one is given beside the options, in any spelling', () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const cases: Array<[string, string]> = [
      ['max_tokens', 'maxTokens'],
      ['maxTokens', 'maxTokens'],
      ['top_p', 'topP'],
      ['temperature', 'temperature'],
      ['maxOutputTokens', 'maxTokens'],
      ['model_name', 'model'],
      ['tools', 'tools'],
    ]
    for (const [key, setting] of cases) {
      const build = () => new LLMCall({ name: 'x', model, [key]: 1 } as never)
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(`x: ${key} is not an option; did you mean settings.${setting}?`)
    }
    // A misspelt option of LLMCall's own is still named as one.
    expect(() => new LLMCall({ name: 'x', model, rate_limiter: 1 } as never)).toThrow(
      'x: rate_limiter is not an option; did you mean rateLimiter?',
    )
  })

  it("names the right message field when a message spells one another library's way, instead of dropping it", async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model })
    const record = await chat.trace({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        // OpenAI's wire spelling: the tool calls would be dropped, and the tool turn refused by the API.
        {
          role: 'assistant',
          content: 'Looking it up.',
          tool_calls: [{ id: 'c1', name: 'get_weather', arguments: '{}' }],
        },
        { role: 'tool', tool_call_id: 'c1', toolCallId: 'c1', content: '21 °C' },
      ],
    } as never)
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['messages', 1, 'tool_calls'], message: 'is not a message field; did you mean toolCalls?' },
      { path: ['messages', 2, 'tool_call_id'], message: 'is not a message field; did you mean toolCallId?' },
    ])
    expect(model.calls).toHaveLength(0)
    // Other fields pass, as they do beside the messages: a step before may hand over more.
    const extra = [{ role: 'user', content: 'Hi', id: 'msg_1', createdAt: 1 }]
    expect(
      await new LLMCall({ name: 'extra', model: new ScriptedChatModel({ responses: ['ok'] }) }).invoke({
        messages: extra,
      } as never),
    ).toBe('ok')
  })

  it("refuses providerOptions under another spelling of the model's provider, which it would never send, and passes other providers'", async () => {
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last' })
    expect(model.provider).toBe('scripted')
    const build = () =>
      new LLMCall({ name: 'x', model, settings: { providerOptions: { Scripted: { seed_mode: 'fixed' } } } })
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow(/settings\.providerOptions\.Scripted .*did you mean settings\.providerOptions\.scripted\?/)
    const chat = new LLMCall({ name: 'chat', model, settings: { providerOptions: { anthropic: { top_k: 5 } } } })
    const error = await chat
      .invoke({ ...ask('x'), providerOptions: { scriptd: { seed_mode: 'fixed' } } })
      .catch((caught: unknown) => caught)
    // Given with the input, it is invalid input.
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ issues: [{ path: ['providerOptions', 'scriptd'] }], retryable: false })
    expect(model.calls).toHaveLength(0)
    // Another provider's options, and the model's own, go through.
    expect(await chat.invoke({ ...ask('y'), providerOptions: { scripted: { a: 1 }, openai: { b: 2 } } })).toBe('ok')
  })

  it('checks its options at construction', () => {
    const model = new ScriptedChatModel()
    expect(() => new LLMCall({ name: 'x', model: {} as ChatModel })).toThrow(ConfigurationError)
    expect(() => new LLMCall({ name: 'x', model, output: 'json' as never })).toThrow(/output/)
    expect(() => new LLMCall({ name: 'x', model, idleTimeoutMs: 0 })).toThrow(/idleTimeoutMs/)
    expect(() => new LLMCall({ name: 'x', model, retry: { attempts: 0 } })).toThrow(/retry.attempts/)
  })

  it('sends settings a settings class or a prototype holds, and refuses settings that are not an object of settings (a Map)', async () => {
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last' })
    class Careful {
      get temperature() {
        return 0.2
      }
    }
    await new LLMCall({ name: 'x', model, settings: new Careful() as never }).invoke(ask('x'))
    await new LLMCall({ name: 'x', model, settings: Object.create({ maxTokens: 64 }) }).invoke(ask('x'))
    expect(model.calls.map((call) => [call.temperature, call.maxTokens])).toEqual([
      [0.2, undefined],
      [undefined, 64],
    ])
    // Checked as it is sent: an inherited setting out of range is refused like an own one.
    expect(() => new LLMCall({ name: 'x', model, settings: Object.create({ topP: 5 }) })).toThrow(
      'x: settings.topP must be',
    )
    for (const [settings, shown] of [
      [5, '5'],
      [null, 'null'],
      [[0.5], '[0.5]'],
      ['abc', '"abc"'],
    ] as const) {
      expect(() => new LLMCall({ name: 'x', model, settings: settings as never })).toThrow(
        `x: settings must be an object of chat settings, got ${shown}`,
      )
    }
    // A Map's entries are no properties: read as settings, it held none, and the call was sent without them.
    const map = new Map([['temperature', 0]])
    expect(() => new LLMCall({ name: 'x', model, settings: map as never })).toThrow(
      'x: settings must be an object, got a Map',
    )
  })
})

describe('LLMCall bad input', () => {
  const sent = (responses = ['ok']) => new ScriptedChatModel({ responses, whenExhausted: 'repeat-last' })

  it('refuses a model setting that is not a model id, at construction and per call, before anything is sent', async () => {
    const model = sent()
    for (const [bad, shown] of [
      [42, '42'],
      [{}, 'an object'],
      ['', '""'],
    ] as const) {
      expect(() => new LLMCall({ name: 'x', model, settings: { model: bad as never } })).toThrow(
        `x: settings.model must be a non-empty string (a model id), got ${shown}`,
      )
    }
    const chat = new LLMCall({ name: 'chat', model, retry: fastRetry })
    const record = await chat.trace({ ...ask('x'), model: 42 } as never)
    expect(record.error?.state).toBe('input_validation')
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['model'], message: 'must be a non-empty string (a model id), got 42' },
    ])
    expect(model.calls).toHaveLength(0)
  })

  it('refuses NaN, Infinity, a BigInt or a cycle in tools, a response schema or providerOptions, never sent as null', async () => {
    const model = sent()
    const nanTool = [
      { name: 't', parameters: { type: 'object', properties: { a: { type: 'number', maximum: Number.NaN } } } },
    ]
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(() => new LLMCall({ name: 'x', model, settings: { tools: nanTool } })).toThrow(
      'x: settings.tools[0].parameters.properties.a.maximum must be JSON (NaN is not JSON-safe)',
    )
    expect(
      () => new LLMCall({ name: 'x', model, settings: { providerOptions: { scripted: { bias: Infinity } } } }),
    ).toThrow('x: settings.providerOptions.scripted.bias must be JSON (Infinity is not JSON-safe)')
    expect(
      () =>
        new LLMCall({
          name: 'x',
          model,
          settings: { responseFormat: { type: 'json_schema', name: 'v', schema: { type: 'object', cycle } } },
        }),
    ).toThrow('x: settings.responseFormat.schema.cycle.self must be JSON (a cycle is not JSON-safe)')
    const chat = new LLMCall({ name: 'chat', model, retry: fastRetry })
    for (const [settings, path] of [
      [{ tools: nanTool }, ['tools', 0, 'parameters', 'properties', 'a', 'maximum']],
      [{ providerOptions: { scripted: { seed: 1n } } }, ['providerOptions', 'scripted', 'seed']],
      [{ providerOptions: { scripted: cycle } }, ['providerOptions', 'scripted', 'self']],
    ] as const) {
      const record = await chat.trace({ ...ask('x'), ...settings } as never)
      expect(record.error?.state).toBe('input_validation')
      expect((record.error as ValidationError).issues).toEqual([
        { path, message: expect.stringMatching(/^must be JSON \(/) },
      ])
    }
    // What JSON drops is no loss: an option left undefined is not sent, as it is not given.
    expect(await chat.invoke({ ...ask('x'), providerOptions: { scripted: { user: undefined } } })).toBe('ok')
    expect(model.calls).toHaveLength(1)
  })

  it('refuses an input with a setting that throws when read in input_validation, not retried', async () => {
    for (const setting of ['responseFormat', 'toolChoice', 'user']) {
      const model = sent()
      let reads = 0
      const input = new Proxy(ask('x'), {
        get(target, key) {
          if (key !== setting) return Reflect.get(target, key)
          reads++
          throw new Error('not readable')
        },
      })
      const record = await new LLMCall({ name: 'chat', model, retry: fastRetry }).trace(input)
      expect(record.error, setting).toBeInstanceOf(ValidationError)
      expect(record.error?.state).toBe('input_validation')
      expect(reads).toBe(1)
      expect(model.calls).toHaveLength(0)
    }
  })

  it('sends the settings it checked: a getter that answers differently on each read cannot slip a bad one past validation', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    let reads = 0
    const input = {
      ...ask('x'),
      get temperature() {
        reads++
        return reads === 1 ? 0.5 : Number.NaN
      },
    }
    await expect(chat.invoke(input)).resolves.toBe('ok')
    expect(model.calls[0]?.temperature).toBe(0.5)
    expect(reads).toBe(1)
  })

  it('sends the messages it checked: a message field that answers differently on each read cannot slip a bad one past validation', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const reads = { role: 0, content: 0, id: 0 }
    const user = {
      get role() {
        reads.role++
        return reads.role === 1 ? 'user' : 'bogus'
      },
      get content() {
        reads.content++
        return reads.content === 1 ? 'hi' : 42
      },
    }
    const toolCall = {
      get id() {
        reads.id++
        return reads.id === 1 ? 'call_1' : ''
      },
      name: 'look',
      arguments: '{}',
    }
    const assistant = { role: 'assistant', content: null, toolCalls: [toolCall] }
    const tool = { role: 'tool', toolCallId: 'call_1', content: 'found' }
    await expect(chat.invoke({ messages: [user, assistant, tool] } as never)).resolves.toBe('ok')
    expect(model.calls[0]?.messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, toolCalls: [{ id: 'call_1', name: 'look', arguments: '{}' }] },
      tool,
    ])
    expect(reads).toEqual({ role: 1, content: 1, id: 1 })
  })

  it('refuses an assistant message with null content and no tool calls, which both providers answer with 400', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const conversation = (assistant: Record<string, unknown>) => ({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', ...assistant },
        { role: 'user', content: 'and?' },
      ],
    })
    const record = await chat.trace(conversation({ content: null }) as never)
    expect(record.error?.state).toBe('input_validation')
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['messages', 1, 'content'], message: 'an assistant message with null content needs tool calls' },
    ])
    expect(model.calls).toHaveLength(0)
    const withCalls = conversation({ content: null, toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{}' }] })
    withCalls.messages.splice(2, 0, { role: 'tool', content: '{}', toolCallId: 'c1' } as never)
    expect((await chat.trace(withCalls as never)).status).toBe('complete')
  })

  it('refuses tool turns a provider cannot send: a tool message without toolCallId, tool calls not of strings', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const call = { id: 'c1', name: 'lookup', arguments: '{}' }
    const cases: Array<[unknown[], Array<string | number>, string]> = [
      [[{ role: 'tool', content: 'r' }], ['messages', 1, 'toolCallId'], 'a tool message needs the toolCallId'],
      [[{ role: 'tool', content: 'r', toolCallId: '' }], ['messages', 1, 'toolCallId'], 'a tool message needs'],
      [[{ role: 'assistant', content: 'x', toolCalls: 'c1' }], ['messages', 1, 'toolCalls'], 'expected a list'],
      [[{ role: 'assistant', content: null, toolCalls: [null] }], ['messages', 1, 'toolCalls', 0], 'expected a tool'],
      [
        [{ role: 'assistant', content: null, toolCalls: [call, { name: 'lookup', arguments: '{}' }] }],
        ['messages', 1, 'toolCalls', 1],
        'with an id',
      ],
      [
        [{ role: 'assistant', content: null, toolCalls: [{ ...call, arguments: { q: 1 } }] }],
        ['messages', 1, 'toolCalls', 0],
        'of strings',
      ],
    ]
    for (const [turns, path, message] of cases) {
      const record = await chat.trace({ messages: [{ role: 'user', content: 'hi' }, ...turns] } as never)
      expect(record.error?.state, JSON.stringify(turns)).toBe('input_validation')
      expect((record.error as ValidationError).issues[0]).toMatchObject({
        path,
        message: expect.stringContaining(message),
      })
    }
    expect(model.calls).toHaveLength(0)
  })

  it("refuses an assistant message's reasoning that is not a list of { text, provider } parts of strings, and passes one that is", async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const part = { text: 'Thought.', provider: 'anthropic', signature: 'proof' }
    const cases: Array<[unknown, Array<string | number>]> = [
      ['Thought.', ['messages', 1, 'reasoning']],
      [[null], ['messages', 1, 'reasoning', 0]],
      [
        [part, { text: 'Thought.' }],
        ['messages', 1, 'reasoning', 1],
      ],
      [[{ ...part, signature: 7 }], ['messages', 1, 'reasoning', 0]],
      [[{ text: '', provider: 'anthropic', redactedData: { data: 'x' } }], ['messages', 1, 'reasoning', 0]],
    ]
    const turns = (reasoning: unknown) => ({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hello.', reasoning },
        { role: 'user', content: 'again' },
      ],
    })
    for (const [reasoning, path] of cases) {
      const record = await chat.trace(turns(reasoning) as never)
      expect(record.error?.state, JSON.stringify(reasoning)).toBe('input_validation')
      expect((record.error as ValidationError).issues[0]).toMatchObject({
        path,
        message: expect.stringContaining('reasoning'),
      })
    }
    expect(model.calls).toHaveLength(0)
    expect((await chat.trace(turns([part, { text: '', provider: 'x', redactedData: 'y' }]) as never)).status).toBe(
      'complete',
    )
    expect(model.calls[0]?.messages[1]).toEqual({
      role: 'assistant',
      content: 'Hello.',
      reasoning: [part, { text: '', provider: 'x', redactedData: 'y' }],
    })
  })

  it('never sends an answered request again when the accounting after the answer throws', async () => {
    const model = sent()
    const prices = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new TypeError('price lookup failed')
        },
      },
    )
    const chat = new LLMCall({ name: 'chat', model, prices, retry: { attempts: 3, ...fastRetry } })
    const error = await chat.invoke(ask('x')).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as ConfigurationError).retryable).toBe(false)
    expect((error as ConfigurationError).message).toMatch(/prices could not be read: TypeError: price lookup failed/)
    expect(model.calls).toHaveLength(1)
  })

  it('never sends a request again because a rate limiter broke while settling it, answered or refused', async () => {
    const permit = { tokens: 1, grantedAt: 0 }
    const rateLimiter = {
      acquire: async () => permit,
      settle: () => {
        throw new TypeError('limiter store unreachable')
      },
      coolDown: () => {},
    }
    const refused = new ProviderCallError({ provider: 'acme', status: 400, message: 'bad request', retryable: false })
    for (const reply of ['ok', refused]) {
      const model = new ScriptedChatModel({ responses: [reply], whenExhausted: 'repeat-last' })
      const chat = new LLMCall({ name: 'chat', model, rateLimiter, retry: { attempts: 3, ...fastRetry } })
      const error = await chat.invoke(ask('x')).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(FunctionError.isInstance(error)).toBe(true)
      expect((error as FunctionError).retryable).toBe(false)
      expect((error as FunctionError).message).toMatch(/limiter store unreachable/)
      expect(model.calls).toHaveLength(1)
    }
  })

  it('never retries a call because its rate limiter broke while acquiring, thrown or rejected', async () => {
    for (const broken of ['throws', 'rejects']) {
      let acquired = 0
      const rateLimiter = {
        acquire: (): Promise<RateLimitPermit> => {
          acquired++
          if (broken === 'throws') throw new TypeError('limiter store unreachable')
          return Promise.reject(new TypeError('limiter store unreachable'))
        },
        settle: () => {},
        coolDown: () => {},
      }
      const model = new ScriptedChatModel({ responses: ['ok'] })
      const chat = new LLMCall({ name: 'chat', model, rateLimiter, retry: { attempts: 3, ...fastRetry } })
      const error = await chat.invoke(ask('x')).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(FunctionError.isInstance(error)).toBe(true)
      expect((error as FunctionError).retryable).toBe(false)
      expect((error as FunctionError).message).toMatch(/limiter store unreachable/)
      expect(acquired).toBe(1)
      expect(model.calls).toHaveLength(0)
    }
  })

  it("refuses every other library's spelling of a setting in the input, as it does in settings", async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const spellings = {
      modelName: 'model',
      maxOutputTokens: 'maxTokens',
      max_output_tokens: 'maxTokens',
      maxCompletionTokens: 'maxTokens',
      stopSequences: 'stop',
      TopP: 'topP',
      Temperature: 'temperature',
      'max-tokens': 'maxTokens',
      'top-p': 'topP',
    }
    for (const [key, meant] of Object.entries(spellings)) {
      const record = await chat.trace({ ...ask('x'), [key]: 5 })
      expect(record.error?.state).toBe('input_validation')
      expect((record.error as ValidationError).issues).toEqual([
        { path: [key], message: `is not a chat setting; did you mean ${meant}?` },
      ])
      expect(() => new LLMCall({ name: 'x', model, settings: { [key]: 5 } as never })).toThrow(
        `x: settings.${key} is not an option; did you mean settings.${meant}?`,
      )
    }
    expect(model.calls).toHaveLength(0)
    // Keys that are no setting's spelling pass: in a Chain, the step before may hand over more than the conversation.
    await expect(chat.invoke({ ...ask('x'), id: 7, text: 'x', tool: 'search' } as never)).resolves.toBe('ok')
  })

  it('refuses an estimateInputTokens that returns no token count, naming it, before anything is sent', async () => {
    for (const [estimate, shown] of [
      [Number.NaN, 'NaN'],
      [-10_000, '-10000'],
      ['5', '"5"'],
    ] as const) {
      const model = sent()
      const chat = new LLMCall({ name: 'c', model, estimateInputTokens: () => estimate as number })
      const error = await chat.invoke(ask('x'), { budget: { maxTokens: 1_000 } }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as ConfigurationError).option).toBe('estimateInputTokens')
      expect((error as ConfigurationError).message).toBe(
        `c: estimateInputTokens must return a number of tokens ≥ 0, got ${shown}`,
      )
      expect(model.calls).toHaveLength(0)
    }
    const limited = new LLMCall({
      name: 'c',
      model: sent(),
      rateLimiter: new RateLimiter({ tokensPerMinute: 1_000_000 }),
      estimateInputTokens: () => Number.NaN,
    })
    await expect(limited.invoke(ask('x'))).rejects.toThrow('c: estimateInputTokens must return a number of tokens ≥ 0')
  })

  it('fails once, not retried, when the model’s check of a call’s settings meets a setting that throws when read', async () => {
    // As the providers do: a model reads its own entry of providerOptions to refuse what it cannot honour.
    const model = Object.assign(sent(), {
      checkSettings: (settings: { providerOptions?: { acme?: { n?: unknown } } }) => {
        if (settings.providerOptions?.acme?.n !== undefined) throw new Error('n is set')
      },
    })
    const chat = new LLMCall({ name: 'c', model, retry: { initialDelayMs: 0 } })
    const thrown = new Error('unreadable setting')
    // Not enumerable: JSON (and so the check that the options are JSON) never reads it; the model's check does.
    const acme = Object.defineProperty({}, 'n', {
      get(): number {
        throw thrown
      },
    })
    const input = { ...ask('x'), providerOptions: { acme } }
    const record = await chat.trace(input)
    expect(record.status).toBe('failed')
    expect(record.attempts).toBe(1)
    expect(record.error?.retryable).toBe(false)
    expect(record.error?.message).toBe('c: running threw Error: unreadable setting')
    expect(model.calls).toHaveLength(0)
  })

  it('fails once, not retried, with a ConfigurationError naming a token count that throws', async () => {
    const thrown = new Error('tokenizer broke')
    const broken = () => {
      throw thrown
    }
    for (const [options, option] of [
      [{ estimateInputTokens: broken }, 'estimateInputTokens'],
      [{ model: Object.assign(sent(), { addedInputTokens: broken }) }, 'model.addedInputTokens'],
    ] as const) {
      const model = (options as { model?: ScriptedChatModel }).model ?? sent()
      const chat = new LLMCall({ name: 'c', model, retry: { initialDelayMs: 0 }, ...options })
      const record = await chat.trace(ask('x'), { budget: { maxTokens: 1_000 } })
      expect(record.status).toBe('failed')
      expect(record.attempts).toBe(1)
      const error = record.error
      expect(ConfigurationError.isInstance(error) && error.option).toBe(option)
      expect(error?.retryable).toBe(false)
      expect(error?.message).toBe(
        `c: ${option} threw instead of returning a number of tokens ≥ 0 (the thrown error is the cause)`,
      )
      expect((error as Error).cause).toBe(thrown)
      expect(model.calls).toHaveLength(0)
    }
  })

  it('refuses options and settings that would only fail when called, at construction', () => {
    const model = sent()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ rateLimiter: {} }, 'x: rateLimiter must be a RateLimiter (with acquire, settle and coolDown), got an object'],
      [{ estimateInputTokens: 5 }, 'x: estimateInputTokens must be a function (request) => tokens, got 5'],
      [{ prices: 'cheap' }, 'x: prices must be a price table (definePrices), got "cheap"'],
      [
        { prices: { 'my-model': { inputPerMillion: Number.NaN, outputPerMillion: 1 } } },
        'x: prices["my-model"].inputPerMillion must be a number ≥ 0 (USD per 1M tokens), got NaN',
      ],
      [
        { prices: { 'my-model': { inputPerMillion: 1, outputPerMillion: '2' } } },
        'x: prices["my-model"].outputPerMillion must be a number ≥ 0 (USD per 1M tokens), got "2"',
      ],
      [{ prices: { 'my-model': null } }, 'x: prices["my-model"].inputPerMillion must be a number ≥ 0'],
      [{ settings: { stop: 42 } }, 'x: settings.stop must be a string or an array of at most 10,000 strings, got 42'],
      // Sent as it is, a user id that is not text is answered 400 by both providers.
      [{ settings: { user: 5 } }, 'x: settings.user must be a string (an id of your end user), got 5'],
      [
        { settings: { stop: ['END', 1] } },
        'x: settings.stop must be a string or an array of at most 10,000 strings, got ["END",1]',
      ],
      [
        { settings: { tools: 'x' } },
        'x: settings.tools must be an array of at most 10,000 tool definitions ({ name, parameters, description?: string, strict?: boolean }), got "x"',
      ],
      // Sent as it is, a description that is not text is refused by the API; counted, it made the estimate NaN.
      [
        { settings: { tools: [{ name: 'search', description: 5, parameters: {} }] } },
        'x: settings.tools must be an array of at most 10,000 tool definitions ({ name, parameters, description?: string, strict?: boolean }), got [{"name":"search","description":5',
      ],
      [
        { settings: { tools: [{ name: 'search', parameters: {}, strict: 'yes' }] } },
        'x: settings.tools must be an array of at most 10,000 tool definitions ({ name, parameters, description?: string, strict?: boolean }), got [{"name":"search","parameters":{},"strict":"yes"',
      ],
      [
        {
          settings: {
            tools: [
              { name: 'search', parameters: {} },
              { name: 'get weather', parameters: {} },
            ],
          },
        },
        'x: settings.tools[1].name must be 1–64 letters, digits, _ or -, got "get weather"',
      ],
      // A tool call names its tool: two tools of one name cannot be told apart.
      [
        {
          settings: {
            tools: [
              { name: 'search', parameters: {} },
              { name: 'search', parameters: { type: 'object' } },
            ],
          },
        },
        'x: settings.tools[1].name must be a name no other tool has, got "search"',
      ],
      [
        { settings: { tools: [{ name: 'a'.repeat(65), parameters: {} }] } },
        'x: settings.tools[0].name must be 1–64 letters, digits, _ or -, got "aaaa',
      ],
      // Spread into the body, a string would be sent as the fields "0", "1" and "2".
      [
        { settings: { providerOptions: { openai: 'abc' } } },
        'x: settings.providerOptions must be an object of objects, keyed by provider name, got an object',
      ],
      [
        { settings: { providerOptions: ['x'] } },
        'x: settings.providerOptions must be an object of objects, keyed by provider name, got ["x"]',
      ],
      // Values from plain JavaScript that neither API has: sent as they were, each was a 400 from the server.
      [
        { settings: { toolChoice: 'any' } },
        `x: settings.toolChoice must be 'auto', 'none', 'required' or { name: string }, got "any"`,
      ],
      [
        { settings: { responseFormat: { type: 'json' } } },
        `x: settings.responseFormat must be { type: 'text' }, { type: 'json_object' } or { type: 'json_schema', name, schema, description?: string, strict?: boolean }, got an object`,
      ],
    ]
    for (const [options, message] of cases) {
      const build = () => new LLMCall({ name: 'x', model, ...options })
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
  })

  it('refuses a sparse list of stop sequences or tools at once, without walking its holes', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const stop: string[] = []
    stop[2 ** 32 - 2] = 'END'
    const record = await chat.trace({ ...ask('x'), stop, tools: stop } as never)
    expect((record.error as ValidationError).issues.map((issue) => issue.path)).toEqual([['stop'], ['tools']])
    expect(model.calls).toHaveLength(0)
  })

  it('takes 10,000 stop sequences or tools, and refuses 10,001 at construction and per call, before sending', async () => {
    const model = sent()
    const entries = {
      stop: (count: number) => Array.from({ length: count }, (_, index) => `END${index}`),
      tools: (count: number) =>
        Array.from({ length: count }, (_, index) => ({ name: `tool_${index}`, parameters: {} })),
    }
    for (const key of ['stop', 'tools'] as const) {
      const over = entries[key](10_001)
      expect(() => new LLMCall({ name: 'x', model, settings: { [key]: over } })).toThrow(
        new RegExp(`^x: settings\\.${key} must be (a string or )?an array of at most 10,000`),
      )
      const refused = await new LLMCall({ name: 'chat', model }).trace({ ...ask('x'), [key]: over } as never)
      expect((refused.error as ValidationError).issues.map((issue) => issue.path)).toEqual([[key]])
      expect(model.calls).toHaveLength(0)
      await new LLMCall({ name: 'x', model, settings: { [key]: entries[key](10_000) } }).invoke(ask('x'))
      expect(model.calls.at(-1)?.[key]).toHaveLength(10_000)
      model.calls.length = 0
    }
  })

  it('refuses a short list of stop sequences or tools with a hole in it, at construction and per call, as any bad entry', async () => {
    const model = sent()
    const tool = { name: 'search', parameters: {} }
    // biome-ignore lint/suspicious/noSparseArray: a list with a hole is what this test is about.
    const stop = ['a', , 'b']
    // biome-ignore lint/suspicious/noSparseArray: a list with a hole is what this test is about.
    const tools = [tool, , tool]
    for (const [key, value] of [
      ['stop', stop],
      ['stop', new Array(3)],
      ['tools', tools],
    ] as const) {
      const build = () => new LLMCall({ name: 'x', model, settings: { [key]: value } })
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(new RegExp(`^x: settings\\.${key} must be (a string or )?an array of at most 10,000`))
      const record = await new LLMCall({ name: 'chat', model }).trace({ ...ask('x'), [key]: value } as never)
      expect((record.error as ValidationError).issues.map((issue) => issue.path)).toEqual([[key]])
    }
    expect(model.calls).toHaveLength(0)
  })

  it('names a tool description that is not text, under a budget too, instead of blaming the estimate', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const tools = [{ name: 'search', description: 5, parameters: {} }]
    const record = await chat.trace({ ...ask('x'), tools } as never, { budget: { maxTokens: 10_000 } })
    expect(ValidationError.isInstance(record.error)).toBe(true)
    expect((record.error as ValidationError).issues.map((issue) => issue.path)).toEqual([['tools']])
    expect(model.calls).toHaveLength(0)
  })

  it('refuses an empty stop sequence, naming it, at construction and per call, for every provider alike', async () => {
    const model = sent()
    const expected = 'must be a non-empty string (an empty stop sequence marks no place to stop), got ""'
    expect(() => new LLMCall({ name: 'x', model, settings: { stop: ['END', ''] } })).toThrow(
      `x: settings.stop[1] ${expected}`,
    )
    expect(() => new LLMCall({ name: 'x', model, settings: { stop: '' } })).toThrow(`x: settings.stop ${expected}`)
    const chat = new LLMCall({ name: 'chat', model })
    const record = await chat.trace({ ...ask('x'), stop: [''] })
    expect((record.error as ValidationError).issues).toEqual([{ path: ['stop', 0], message: expected }])
    expect(model.calls).toHaveLength(0)
    await chat.invoke({ ...ask('x'), stop: [' ', '\n'] })
    expect(model.calls).toHaveLength(1)
  })

  it('checks stop, tools and providerOptions per call too', async () => {
    const model = sent()
    const chat = new LLMCall({ name: 'chat', model })
    const record = await chat.trace({
      ...ask('x'),
      stop: 42,
      tools: [{ name: 'search' }],
      providerOptions: { anthropic: ['x'] },
    } as never)
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['stop'], message: 'must be a string or an array of at most 10,000 strings, got 42' },
      {
        path: ['tools'],
        message:
          'must be an array of at most 10,000 tool definitions ({ name, parameters, description?: string, strict?: boolean }), got [{"name":"search"}]',
      },
      { path: ['providerOptions'], message: 'must be an object of objects, keyed by provider name, got an object' },
    ])
    expect(model.calls).toHaveLength(0)
    const named = await chat.trace({
      ...ask('x'),
      tools: [
        { name: 'search', parameters: {} },
        { name: '', parameters: {} },
      ],
    })
    expect((named.error as ValidationError).issues).toEqual([
      { path: ['tools', 1, 'name'], message: 'must be 1–64 letters, digits, _ or -, got ""' },
    ])
    await chat.invoke({ ...ask('x'), tools: [{ name: `get_Weather-${'a'.repeat(52)}`, parameters: {} }] })
    expect(model.calls).toHaveLength(1)
  })

  it('names tools whose reading throws, and quotes what was thrown, at construction and per call', async () => {
    const model = sent()
    const tools = new Proxy([], {
      get: () => {
        throw new Error('tools are out of reach')
      },
    })
    const record = await new LLMCall({ name: 'chat', model }).trace({ ...ask('x'), tools } as never)
    expect(record.error?.state).toBe('input_validation')
    expect((record.error as ValidationError).issues).toEqual([
      { path: ['tools'], message: 'could not be read: Error: tools are out of reach' },
    ])
    // A tool whose name reads once as a string, then throws, when the names are checked.
    let reads = 0
    const fickle = {
      parameters: {},
      get name() {
        reads += 1
        if (reads > 1) throw new Error('name read again')
        return 'search'
      },
    }
    const built = (() => {
      try {
        return new LLMCall({ name: 'chat', model, settings: { tools: [fickle] } })
      } catch (error) {
        return error
      }
    })()
    expect(ConfigurationError.isInstance(built) && [built.option, built.message]).toEqual([
      'settings.tools',
      'chat: settings.tools could not be read: Error: name read again',
    ])
    expect(model.calls).toHaveLength(0)
  })

  it('says what a model or retry option got, in the one message format', () => {
    const model = sent()
    expect(() => new LLMCall({ name: 'x', model: {} as ChatModel })).toThrow(
      'x: model must be a ChatModel (with doGenerate and doStream), got an object',
    )
    expect(() => new LLMCall({ name: 'x', model, retry: 'x' as never })).toThrow(
      'x: retry must be a retry policy ({ attempts, initialDelayMs, … }), got "x"',
    )
    expect(() => new LLMCall({ name: 'x', model, retry: null as never })).toThrow(/x: retry must be a retry policy/)
  })

  it('refuses options whose reading throws (a getter, a Proxy) with a ConfigurationError, the retry policy included', () => {
    const model = sent()
    const boom = (): never => {
      throw new Error('boom')
    }
    const unreadable = new Proxy({}, { ownKeys: boom, get: boom })
    const refusal = (make: () => unknown): unknown => {
      try {
        make()
      } catch (error) {
        return error
      }
      return undefined
    }
    const cases: Array<[() => unknown, string]> = [
      [
        () =>
          new LLMCall({
            name: 'x',
            model,
            retry: {
              get attempts(): number {
                return boom()
              },
            },
          }),
        'x: retry could not be read: Error: boom',
      ],
      [() => new LLMCall({ name: 'x', model, retry: unreadable }), 'x: retry could not be read: Error: boom'],
      [() => new LLMCall({ name: 'x', model, settings: unreadable }), 'x: settings could not be read: Error: boom'],
      [
        () =>
          new LLMCall({
            name: 'x',
            get model(): ChatModel {
              return boom()
            },
          }),
        'x: options could not be read: Error: boom',
      ],
      [() => new LLMCall(unreadable as never), 'options could not be read: Error: boom'],
    ]
    for (const [make, message] of cases) {
      const error = refusal(make)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as ConfigurationError).message).toBe(message)
    }
  })

  it("names the call in a model's refusal of a request it cannot build, invoked or streamed, as its settings checks do", async () => {
    // What a provider refuses while it builds the body (a toolChoice of a tool it does not send, a strict schema it
    // cannot take) comes from the model, which does not know the call's name.
    const refusal = () =>
      new ConfigurationError({ option: 'toolChoice', message: 'toolChoice names tool "b", which tools does not have' })
    const model = new ScriptedChatModel({ responses: [refusal(), refusal(), refusal()] })
    const chat = new LLMCall({ name: 'classify', model })
    const invoked = await chat.trace(ask('x'))
    const streamed = await collect(chat.stream(ask('x')))
    const parent = defineFunction({
      name: 'parent',
      run: (input: LLMCallInput, context) => context.invoke(chat, input),
    })
    const child = await parent.invoke(ask('x')).catch((caught: unknown) => caught)
    for (const error of [invoked.error, streamed.error, child]) {
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ functionName: 'classify', option: 'toolChoice', retryable: false })
      expect((error as Error).message).toBe('classify: toolChoice names tool "b", which tools does not have')
    }
    expect(invoked.attempts).toBe(1)
    // A refusal that names its Function already is kept as it is.
    const named = new ConfigurationError({ option: 'prices', message: 'no price', functionName: 'costOf' })
    const kept = await new LLMCall({ name: 'c', model: new ScriptedChatModel({ responses: [named] }) })
      .invoke(ask('x'))
      .catch((caught: unknown) => caught)
    expect(kept).toBe(named)
  })
})

describe('LLMCall options', () => {
  it('refuses structuredOutput keys it does not know, suggesting the right name', () => {
    const build = () =>
      new LLMCall({
        name: 'verdict',
        model: new ScriptedChatModel(),
        structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.string() }), strcit: true } as never,
      })
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow(
      /^verdict: structuredOutput\.strcit is not an option; did you mean structuredOutput\.strict\?/,
    )
  })

  it('says what structuredOutput.name it got when it refuses one, as every option check does', () => {
    for (const [name, got] of [
      ['a verdict', '"a verdict"'],
      [7, '7'],
      [undefined, 'undefined'],
    ] as const) {
      const build = () =>
        new LLMCall({
          name: 'verdict',
          model: new ScriptedChatModel(),
          structuredOutput: { name: name as never, schema: z.object({ verdict: z.string() }) },
        })
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(`verdict: structuredOutput.name must be 1–64 letters, digits, _ or -, got ${got}`)
    }
  })

  it('refuses a responseFormat in the input of a call with structuredOutput, unsent and unretried, rather than replacing it', async () => {
    const model = new ScriptedChatModel({ responses: ['{"verdict":"good"}'], whenExhausted: 'repeat-last' })
    const verdict = new LLMCall({
      name: 'verdict',
      model,
      structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.string() }) },
    })
    const error = await verdict
      .invoke({ ...ask('x'), responseFormat: { type: 'text' } })
      .catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ option: 'responseFormat', retryable: false })
    expect((error as Error).message).toMatch(/responseFormat .*structuredOutput/)
    expect(model.calls).toHaveLength(0)
    // The request a call sent, given back whole (as it is, or as JSON made it), carries the call's own format: taken.
    expect(await verdict.invoke(verdict.buildRequest(ask('y')))).toEqual({ verdict: 'good' })
    expect(await verdict.invoke(JSON.parse(JSON.stringify(verdict.buildRequest(ask('z')))))).toEqual({
      verdict: 'good',
    })
  })

  it('refuses a response format whose strict is not a boolean or whose description is not a string, as structuredOutput, a setting or per call, unsent', async () => {
    // `strict: 1` was sent as it was, its schema not made strict-mode valid: a 400 from OpenAI ("expected a boolean").
    const model = new ScriptedChatModel({ responses: ['never'] })
    const schema = z.object({ verdict: z.string() })
    expect(
      () => new LLMCall({ name: 'x', model, structuredOutput: { name: 'v', schema, strict: 1 as never } }),
    ).toThrow('x: structuredOutput.strict must be a boolean, got 1')
    expect(
      () => new LLMCall({ name: 'x', model, structuredOutput: { name: 'v', schema, description: 5 as never } }),
    ).toThrow('x: structuredOutput.description must be a string, got 5')
    const format = { type: 'json_schema', name: 'v', schema: { type: 'object' } } as const
    expect(
      () => new LLMCall({ name: 'x', model, settings: { responseFormat: { ...format, strict: 'yes' as never } } }),
    ).toThrow(/^x: settings\.responseFormat must be .*strict\?: boolean.*, got/)
    const chat = new LLMCall({ name: 'chat', model })
    for (const bad of [{ strict: 1 }, { strict: null }, { description: ['a'] }]) {
      const record = await chat.trace({ ...ask('x'), responseFormat: { ...format, ...bad } as never })
      expect(ValidationError.isInstance(record.error)).toBe(true)
      expect((record.error as ValidationError).issues[0]?.path).toEqual(['responseFormat'])
    }
    expect(model.calls).toHaveLength(0)
  })

  it('refuses settings.responseFormat beside structuredOutput, which would silently replace it', () => {
    const build = () =>
      new LLMCall({
        name: 'verdict',
        model: new ScriptedChatModel(),
        structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.string() }) },
        settings: { responseFormat: { type: 'json_object' } },
      })
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow(/settings\.responseFormat .*structuredOutput/)
  })
})

describe('LLMCall usage, cost and budget', () => {
  const priced = { content: 'x', usage: { inputTokens: 1_000, outputTokens: 200 } }

  it('sums usage and cost over a run tree and annotates each call', async () => {
    const model = new ScriptedChatModel({ responses: [priced, priced] })
    const first = new LLMCall({ name: 'first', model, settings: { model: 'gpt-4o-2024-08-06' } })
    const second = new LLMCall({ name: 'second', model, settings: { model: 'gpt-4o-mini' } })
    const pipeline = defineFunction({
      name: 'pipeline',
      run: async (_input: unknown, context) => [
        await context.invoke(first, ask('a')),
        await context.invoke(second, ask('b')),
      ],
    })
    const record = await pipeline.trace(undefined)
    expect(record.status).toBe('complete')
    const firstCost = (1_000 * 2.5 + 200 * 10) / 1e6
    const secondCost = (1_000 * 0.15 + 200 * 0.6) / 1e6
    expect(record.usage).toMatchObject({ calls: 2, inputTokens: 2_000, outputTokens: 400, totalTokens: 2_400 })
    expect(record.usage?.costUsd).toBeCloseTo(firstCost + secondCost, 12)
    expect(record.usage?.unpricedCalls).toBe(0)
    const [firstRecord, secondRecord] = record.children
    expect(firstRecord?.kind).toBe('llm-call')
    expect(firstRecord?.usage?.costUsd).toBeCloseTo(firstCost, 12)
    expect(firstRecord?.annotations).toEqual({
      model: 'gpt-4o-2024-08-06',
      requestId: 'scripted_1',
      finishReasons: ['stop'],
    })
    expect(firstRecord?.usage).toMatchObject({ inputTokens: 1_000, outputTokens: 200, totalTokens: 1_200 })
    expect(secondRecord?.usage?.costUsd).toBeCloseTo(secondCost, 12)
  })

  it('reports the cost of an unknown model as unknown, not zero', async () => {
    const model = new ScriptedChatModel({ responses: [priced], modelId: 'my-local-llama' })
    const record = await new LLMCall({ name: 'local', model }).trace(ask('x'))
    expect(record.usage).toMatchObject({ calls: 1, totalTokens: 1_200, costUsd: 0, unpricedCalls: 1 })
    expect(formatRunTree(record)).toMatch(/tokens=1200 cost=unknown$/m)
  })

  it('stops a call that would exceed the token budget before it is sent', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 500 } })
    const error = await chat.invoke(ask('hello'), { budget: { maxTokens: 100 } }).catch((caught: unknown) => caught)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect((error as BudgetExceededError).limit).toBe('tokens')
    expect((error as Error).message).toMatch(/not sent/)
    expect(model.calls).toHaveLength(0)
  })

  it("counts the model's defaultMaxTokens, the maxTokens a request without one is sent with, in place of outputTokenEstimate", async () => {
    const scripted = new ScriptedChatModel({ responses: ['never'] })
    const withDefault = (defaultMaxTokens: unknown): ChatModel =>
      Object.assign(Object.create(scripted) as ChatModel, { defaultMaxTokens })
    const requested = async (chat: LLMCall) => {
      const error = await chat.invoke(ask('x'), { budget: { maxTokens: 1 } }).catch((caught: unknown) => caught)
      expect(BudgetExceededError.isInstance(error)).toBe(true)
      return (error as BudgetExceededError).requested
    }
    const model = withDefault(4_096)
    const carried = await requested(new LLMCall({ name: 'c', model, outputTokenEstimate: 10 }))
    expect(carried).toBe(await requested(new LLMCall({ name: 'c', model: scripted, settings: { maxTokens: 4_096 } })))
    expect(await requested(new LLMCall({ name: 'c', model, settings: { maxTokens: 96 } }))).toBe(carried - 4_000)
    expect(await requested(new LLMCall({ name: 'c', model: scripted, outputTokenEstimate: 96 }))).toBe(carried - 4_000)
    expect(scripted.calls).toHaveLength(0)
    expect(() => new LLMCall({ name: 'c', model: withDefault(1e20) })).toThrow(
      'c: model.defaultMaxTokens must be an integer ≥ 1 and ≤ 100000000, got 100000000000000000000',
    )
  })

  it('names maxTokens, n or outputTokenEstimate when the output they ask for is too large to count, before sending', async () => {
    const model = new ScriptedChatModel({ responses: ['never'], modelId: 'gpt-4o' })
    const limiter = new RateLimiter({ requestsPerMinute: 10 })
    const refusal = async (options: Partial<LLMCallOptions>, input: Partial<LLMCallInput>, budgeted: boolean) => {
      const chat = new LLMCall({ name: 'chat', model, ...options })
      const error = await chat
        .invoke({ ...ask('x'), ...input }, budgeted ? { budget: { maxTokens: 1_000 } } : {})
        .catch((caught: unknown) => caught)
      return ConfigurationError.isInstance(error) ? [error.option, error.message] : error
    }
    const tooMany = (what: string) =>
      `chat: ${what} asks for more output tokens than a budget or a rate limiter counts (at most 100,000,000 per call); lower it`
    // A maxTokens above 100,000,000 is refused as a setting; its product with n, here.
    expect(await refusal({ settings: { maxTokens: 100_000_000, n: 2 } }, {}, true)).toEqual([
      'maxTokens',
      tooMany('maxTokens × n (100000000 × 2)'),
    ])
    expect(await refusal({}, { maxTokens: 60_000_000, n: 2 }, true)).toEqual([
      'maxTokens',
      tooMany('maxTokens × n (60000000 × 2)'),
    ])
    expect(await refusal({ rateLimiter: limiter }, { maxTokens: 100_000_000, n: 2 }, false)).toEqual([
      'maxTokens',
      tooMany('maxTokens × n (100000000 × 2)'),
    ])
    expect(await refusal({ outputTokenEstimate: 60_000_000 }, { n: 2 }, true)).toEqual([
      'outputTokenEstimate',
      tooMany('outputTokenEstimate × n (60000000 × 2)'),
    ])
    expect(model.calls).toHaveLength(0)
    // What a real model can answer still goes to the budget, which refuses it as too large for itself.
    const large = await refusal({ settings: { maxTokens: 100_000, n: 8 } }, {}, true)
    expect(BudgetExceededError.isInstance(large)).toBe(true)
  })

  it('stops the call that would exceed the cost budget of its run tree, and is not retried', async () => {
    const model = new ScriptedChatModel({ responses: [priced, priced] })
    const chat = new LLMCall({ name: 'chat', model, settings: { model: 'gpt-4o', maxTokens: 200 } })
    const pipeline = defineFunction({
      name: 'pipeline',
      run: async (_input: unknown, context) => {
        await context.invoke(chat, ask('hi'))
        await context.invoke(chat, ask('hi'))
      },
    })
    const record = await pipeline.trace(undefined, { budget: { maxCostUsd: 0.005 } })
    expect(BudgetExceededError.isInstance(record.error)).toBe(true)
    expect((record.error as BudgetExceededError).limit).toBe('cost')
    expect(model.calls).toHaveLength(1)
    expect(record.children[1]?.attempts).toBe(1)
    expect(record.usage?.calls).toBe(1)
  })

  it('counts the cost of a call answered by a model with no price at the price of the model it asked for', async () => {
    // An OpenAI-compatible server may name the model that answered as it likes: a deployment, a route.
    let calls = 0
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'compatible',
      modelId: 'gpt-4o',
      doGenerate: async () => {
        calls += 1
        return {
          choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finishReason: 'stop' }],
          usage: { inputTokens: 1_000, outputTokens: 200, totalTokens: 1_200 },
          model: 'my-deployment',
        }
      },
      doStream: () => {
        throw new Error('not streamed')
      },
    }
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 200 } })
    const pipeline = defineFunction({
      name: 'pipeline',
      run: async (_input: unknown, context) => {
        for (let index = 0; index < 10; index++) await context.invoke(chat, ask('hi'))
      },
    })
    const record = await pipeline.trace(undefined, { budget: { maxCostUsd: 0.005 } })
    expect(BudgetExceededError.isInstance(record.error)).toBe(true)
    expect(calls).toBe(1)
    expect(record.usage?.costUsd).toBeCloseTo((1_000 * 2.5 + 200 * 10) / 1e6, 12)
    expect(record.usage?.unpricedCalls).toBe(0)
    expect(record.children[0]?.annotations.model).toBe('my-deployment')
  })

  it('admits a call to an alias at the price of its dearest dated version, so concurrent answers by that version stay within a cost budget', async () => {
    // gpt-4o-2024-05-13 costs twice gpt-4o's input price: a server may answer `gpt-4o` with it (the alias once meant it).
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'compatible',
      modelId: 'gpt-4o',
      doGenerate: async (request) => ({
        choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finishReason: 'stop' }],
        usage: { inputTokens: 5, outputTokens: request.maxTokens ?? 0, totalTokens: 5 + (request.maxTokens ?? 0) },
        model: 'gpt-4o-2024-05-13',
      }),
      doStream: () => {
        throw new Error('not streamed')
      },
    }
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 1_000 } })
    const fanOut = defineFunction({
      name: 'fan-out',
      run: (_input: unknown, context) =>
        Promise.allSettled(Array.from({ length: 20 }, () => context.invoke(chat, ask('hi')))),
    })
    const budget = 0.05
    const record = await fanOut.trace(undefined, { budget: { maxCostUsd: budget } })
    expect(record.usage?.calls).toBeGreaterThan(0)
    expect(record.usage?.costUsd).toBeLessThanOrEqual(budget)
    // Each answer is priced as the version that answered it.
    expect(record.usage?.costUsd).toBeCloseTo(((record.usage?.calls ?? 0) * (5 * 5 + 1_000 * 15)) / 1e6, 12)
  })

  it('refuses to send a call whose model has no price when the budget limits cost, and says how to give one', async () => {
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last', modelId: 'my-finetune' })
    const chat = new LLMCall({ name: 'chat', model, settings: { model: 'my-finetune', maxTokens: 10 } })
    const batch = defineFunction({
      name: 'batch',
      run: async (_input: unknown, context) => {
        for (let index = 0; index < 50; index++) await context.invoke(chat, ask('hi'))
      },
    })
    const record = await batch.trace(undefined, { budget: { maxCostUsd: 0.0000001 } })
    expect(record.status).toBe('failed')
    expect(ConfigurationError.isInstance(record.error)).toBe(true)
    expect((record.error as ConfigurationError).option).toBe('prices')
    expect((record.error as Error).message).toMatch(/my-finetune.*no price.*maxCostUsd.*definePrices/)
    expect(model.calls).toHaveLength(0)
    expect(record.children[0]?.attempts).toBe(1)
    // A token budget needs no price; a price for the model lets the cost budget admit it.
    await expect(chat.invoke(ask('hi'), { budget: { maxTokens: 1_000 } })).resolves.toBe('ok')
    const priced = new LLMCall({
      name: 'priced',
      model,
      settings: { model: 'my-finetune', maxTokens: 10 },
      prices: { 'my-finetune': { inputPerMillion: 1, outputPerMillion: 1 } },
    })
    await expect(priced.invoke(ask('hi'), { budget: { maxCostUsd: 1 } })).resolves.toBe('ok')
  })

  it('counts the budget held by calls in flight, so concurrent calls of one tree cannot overshoot together', async () => {
    const model = new ScriptedChatModel({ responses: ['a', 'b', 'c'], latencyMs: 5 })
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 100 } })
    const fanOut = defineFunction({
      name: 'fan-out',
      run: (_input: unknown, context) => Promise.allSettled([1, 2, 3].map(() => context.invoke(chat, ask('hello')))),
    })
    // Each call needs ~100 output tokens plus its input: two fit in 250 tokens, a third does not.
    const settled = await fanOut.invoke(undefined, { budget: { maxTokens: 250 } })
    const refused = settled.filter((outcome) => outcome.status === 'rejected')
    expect(refused).toHaveLength(1)
    expect(BudgetExceededError.isInstance((refused[0] as PromiseRejectedResult).reason)).toBe(true)
    expect(model.calls).toHaveLength(2)
  })
})

describe('LLMCall with a model that reports no usage', () => {
  const input = ask('hello')
  const silent = () =>
    new ScriptedChatModel({ responses: [{ content: 'x', usage: null }], whenExhausted: 'repeat-last' })
  const loopOf = (chat: LLMCall) =>
    defineFunction({
      name: 'loop',
      run: async (_input: unknown, context) => {
        for (let call = 0; call < 10; call++) await context.invoke(chat, input)
      },
    })

  it('counts each call from its estimate, so a token budget fills and the run says the figures are estimated', async () => {
    const model = silent()
    const chat = new LLMCall({ name: 'chat', model, settings: { model: 'gpt-4o-mini', maxTokens: 10 } })
    const estimate = estimateInputTokens(chat.buildRequest(input)) + 10
    const record = await loopOf(chat).trace(undefined, { budget: { maxTokens: 3 * estimate } })
    expect(BudgetExceededError.isInstance(record.error)).toBe(true)
    expect(model.calls).toHaveLength(3)
    expect(record.usage).toMatchObject({ calls: 3, totalTokens: 3 * estimate, unpricedCalls: 0 })
    expect(record.usage?.costUsd).toBeGreaterThan(0)
    const first = record.children[0]
    expect(first?.usage).toMatchObject({ calls: 1, outputTokens: 10, totalTokens: estimate })
    expect(first?.annotations.usageEstimated).toBe(true)
  })

  it('counts the estimated cost against a cost budget', async () => {
    const model = silent()
    const chat = new LLMCall({ name: 'chat', model, settings: { model: 'gpt-4o-mini', maxTokens: 100 } })
    const request = chat.buildRequest(input)
    const cost = (estimateInputTokens(request) * 0.15 + 100 * 0.6) / 1_000_000
    const record = await loopOf(chat).trace(undefined, { budget: { maxCostUsd: 2.5 * cost } })
    expect(BudgetExceededError.isInstance(record.error)).toBe(true)
    expect(model.calls).toHaveLength(2)
    expect(record.usage?.costUsd).toBeCloseTo(2 * cost, 12)
  })

  it('keeps the estimate in the rate limiter, instead of settling the call with 0 tokens', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 100_000 })
    const chat = new LLMCall({ name: 'chat', model: silent(), rateLimiter: limiter, settings: { maxTokens: 10 } })
    const record = await chat.trace(input)
    const estimate = estimateInputTokens(chat.buildRequest(input)) + 10
    expect(limiter.status()).toMatchObject({ requests: 1, tokens: estimate })
    expect(record.usage?.totalTokens).toBe(estimate)
    expect(record.annotations.usageEstimated).toBe(true)
  })

  it('with neither a budget nor a limiter, makes no estimate: it records no usage and says none was reported', async () => {
    const record = await new LLMCall({ name: 'chat', model: silent() }).trace(input)
    expect(record.output).toBe('x')
    expect(record.usage).toBeUndefined()
    expect(record.annotations.usageReported).toBe(false)
    expect(record.annotations.usageEstimated).toBeUndefined()
  })

  it('replays an estimated call from the journal with the usage and annotations it recorded, without calling the model', async () => {
    const model = silent()
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 10 } })
    const journal = new MemoryJournal()
    const budget = { maxTokens: 10_000 }
    const first = await chat.trace(input, { runId: 'silent-1', journal, budget })
    const second = await chat.trace(input, { runId: 'silent-1', journal, budget })
    expect(model.calls).toHaveLength(1)
    expect(second.output).toBe('x')
    expect(second.usage).toEqual(first.usage)
    expect(second.usage?.totalTokens).toBeGreaterThan(0)
    // Still marked as an estimate: the replayed figures are no more reported by the server than the first ones.
    expect(second.annotations).toEqual({ ...first.annotations, replayed: true })
    expect(second.annotations.usageEstimated).toBe(true)
  })
})

describe('LLMCall budget guarantee', () => {
  it('counts the input tokens a provider adds on its side (model.addedInputTokens) in the estimate', async () => {
    const input = ask('the applicant missed three payments this year')
    const withAdded = (added: unknown) =>
      Object.assign(new ScriptedChatModel({ responses: () => 'ok' }), { addedInputTokens: () => added as number })
    const estimate = estimateInputTokens(input) + 100 + 500
    const call = (added: unknown, maxTokens: number) =>
      new LLMCall({ name: 'chat', model: withAdded(added), settings: { maxTokens: 100 } })
        .invoke(input, { budget: { maxTokens } })
        .catch((error: unknown) => error)
    expect(await call(500, estimate)).toBe('ok')
    expect(BudgetExceededError.isInstance(await call(500, estimate - 1))).toBe(true)
    const bad = await call(Number.NaN, estimate)
    expect(ConfigurationError.isInstance(bad) && bad.option).toBe('model.addedInputTokens')
  })

  it('keeps the estimate of a call that failed after it was sent in the budget; a 4xx refusal gives it back', async () => {
    const input = ask('the applicant missed three payments this year')
    const reserved = estimateInputTokens(input) + 100
    const failing = (status: number) =>
      new ScriptedChatModel({
        responses: () => new ProviderCallError({ provider: 'scripted', message: `HTTP ${status}`, status }),
      })
    // Room for two calls' estimates, and not three.
    const budget = { maxTokens: Math.floor(reserved * 2.5) }
    for (const [status, sent, streamed] of [
      [500, 2, false],
      [400, 5, false],
      [500, 2, true],
      [400, 5, true],
    ] as const) {
      const model = failing(status)
      const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 100 }, retry: { attempts: 1 } })
      const loop = defineFunction({
        name: 'loop',
        run: async (_input: unknown, context) => {
          const errors: string[] = []
          for (let call = 0; call < 5; call++)
            errors.push(
              await context
                .invoke(chat, input, streamed ? { stream: () => {} } : undefined)
                .then(String, (error: Error) => error.name),
            )
          return errors
        },
      })
      const errors = await loop.invoke(undefined, { budget })
      // A 5xx may have been worked on: its tokens are unknown, and its estimate stays spent.
      expect(model.calls).toHaveLength(sent)
      expect(errors.filter((name) => name === 'BudgetExceededError')).toHaveLength(5 - sent)
    }
  })

  it('gives back the budget of a call cancelled while it waited for the rate limiter before its rejection is seen', async () => {
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last' })
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    const limited = new LLMCall({ name: 'limited', model, settings: { maxTokens: 100 }, rateLimiter: limiter })
    const fallback = new LLMCall({ name: 'fallback', model, settings: { maxTokens: 100 } })
    const input = ask('hello')
    const estimate = estimateInputTokens(input) + 100
    // The limiter's one request of the minute is taken: the next call waits in its queue, unsent.
    await limited.invoke(input)
    const withFallback = defineFunction({
      name: 'with-fallback',
      run: async (_input: unknown, context) => {
        const controller = new AbortController()
        const queued = context.invoke(limited, input, { signal: controller.signal })
        while (limiter.status().waiting === 0) await new Promise((resolve) => setImmediate(resolve))
        controller.abort()
        const first = await queued.then(String, (error: Error) => error.name)
        // Nothing was sent for the cancelled call: the budget has room for the fallback at once.
        const second = await context.invoke(fallback, input).then(String, (error: Error) => error.message)
        return [first, second]
      },
    })
    // Room for one call's estimate, and not two.
    const budget = { maxTokens: Math.floor(estimate * 1.5) }
    expect(await withFallback.invoke(undefined, { budget })).toEqual(['AbortError', 'ok'])
    expect(model.calls).toHaveLength(2)
    expect(limiter.status().waiting).toBe(0)
  })

  it('keeps the estimate of a call answered with usage that is not token counts in the budget, streamed or not', async () => {
    const input = ask('the applicant missed three payments this year')
    const reserved = estimateInputTokens(input) + 100
    const budget = { maxTokens: Math.floor(reserved * 2.5) }
    for (const streamed of [false, true]) {
      // The server answered (and worked) but reported usage no total can take: a malformed response, never counted.
      const answer = (): ChatResult => ({
        choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finishReason: 'stop' }],
        usage: { inputTokens: -1, outputTokens: 3, totalTokens: 2 },
        model: 'm',
      })
      const model: ChatModel & { calls: number } = {
        specificationVersion: 'v1',
        provider: 'test',
        modelId: 'm',
        calls: 0,
        async doGenerate() {
          model.calls += 1
          return answer()
        },
        async *doStream() {
          model.calls += 1
          yield { type: 'finish', result: answer() }
        },
      }
      const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 100 }, retry: { attempts: 1 } })
      const loop = defineFunction({
        name: 'loop',
        run: async (_input: unknown, context) => {
          const errors: string[] = []
          for (let call = 0; call < 5; call++)
            errors.push(
              await context
                .invoke(chat, input, streamed ? { stream: () => {} } : undefined)
                .then(String, (error: Error) => error.name),
            )
          return errors
        },
      })
      const errors = await loop.invoke(undefined, { budget })
      expect([streamed, model.calls]).toEqual([streamed, 2])
      expect(errors.filter((name) => name === 'BudgetExceededError')).toHaveLength(3)
    }
  })

  it.each([
    ['a stream cut after its first text', 'stays spent'],
    ['an attempt that timed out', 'stays spent'],
    ['a call aborted while the model worked on it', 'stays spent'],
    ['a 5xx', 'stays spent'],
    ['a 4xx refusal', 'is given back'],
  ] as const)('after %s, the estimate %s in the budget and in the limiter window', async (kind, fate) => {
    const kept = fate === 'stays spent'
    const input = ask('the applicant missed three payments this year')
    const called = latch()
    const aborting = new AbortController()
    const failing: ChatModel & { calls: number } = {
      specificationVersion: 'v1',
      provider: 'test',
      modelId: 'm',
      calls: 0,
      doGenerate(_request, options) {
        failing.calls += 1
        called.open()
        if (kind === 'a 5xx' || kind === 'a 4xx refusal') {
          const status = kind === 'a 5xx' ? 500 : 400
          return Promise.reject(new ProviderCallError({ provider: 'test', message: `HTTP ${status}`, status }))
        }
        // Worked on until it is cancelled: by the attempt's timeout, or by the caller's abort.
        return new Promise((_resolve, reject) => {
          const signal = options?.signal
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
        })
      },
      async *doStream() {
        failing.calls += 1
        yield { type: 'text-delta', choiceIndex: 0, text: 'The appl' }
        throw new ProviderCallError({ provider: 'test', message: 'the connection was cut', retryable: true })
      },
    }
    const limiter = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 100_000 })
    const options = { settings: { maxTokens: 100 }, retry: { attempts: 1 }, rateLimiter: limiter }
    const chat = new LLMCall({
      name: 'chat',
      model: failing,
      ...options,
      ...(kind === 'an attempt that timed out' ? { attemptTimeoutMs: 50 } : {}),
    })
    const next = new LLMCall({ name: 'next', model: new ScriptedChatModel({ responses: ['ok'] }), ...options })
    const estimate = estimateInputTokens(chat.buildRequest(input)) + 100
    const loop = defineFunction({
      name: 'loop',
      run: async (_input: unknown, context) => {
        if (kind === 'a call aborted while the model worked on it') void called.opened.then(() => aborting.abort())
        const first = await context
          .invoke(chat, input, {
            signal: aborting.signal,
            ...(kind === 'a stream cut after its first text' ? { stream: () => {} } : {}),
          })
          .then(String, (error: Error) => error.name)
        const window = limiter.status().tokens
        // Room for one estimate and a half: the next call fits only if the first one's estimate was given back.
        const second = await context.invoke(next, input).then(String, (error: Error) => error.name)
        return { first, window, second }
      },
    })
    const outcome = await loop.invoke(undefined, { budget: { maxTokens: Math.floor(estimate * 1.5) } })
    expect(failing.calls).toBe(1)
    expect(outcome.first).not.toBe('ok')
    expect(outcome.window).toBe(kept ? estimate : 0)
    expect(outcome.second).toBe(kept ? 'BudgetExceededError' : 'ok')
  })

  it('admits a call that fits the budget exactly, also while an answered call is still being validated', async () => {
    // The first call is answered (37 tokens) and its structured output is still being checked when the second asks.
    let answered = latch()
    let checked = latch()
    const slowSchema: StandardSchemaV1<unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => {
          answered.open()
          await checked.opened
          return { value }
        },
      },
    }
    const model = new ScriptedChatModel({
      responses: () => ({ content: '{}', usage: { inputTokens: 30, outputTokens: 7 } }),
    })
    const structured = new LLMCall({
      name: 'structured',
      model,
      settings: { maxTokens: 10 },
      structuredOutput: { name: 'answer', schema: slowSchema, jsonSchema: { type: 'object' } },
    })
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 10 } })
    const input = ask('hello')
    const longer = ask('hello '.repeat(40))
    const second = estimateInputTokens(longer) + 10
    expect(estimateInputTokens(structured.buildRequest(input)) + 10).toBeLessThan(37 + second)
    const both = defineFunction({
      name: 'both',
      run: async (_input: unknown, context) => {
        answered = latch()
        checked = latch()
        const first = context.invoke(structured, input)
        await answered.opened
        const fits = await context.invoke(chat, longer).then(String, (error: Error) => error.message)
        checked.open()
        await first
        return fits
      },
    })
    expect(await both.invoke(undefined, { budget: { maxTokens: 37 + second } })).toBe('{}')
    expect(model.calls).toHaveLength(2)
    expect(await both.invoke(undefined, { budget: { maxTokens: 37 + second - 1 } })).toMatch(
      /spent 37 tokens, this call needs up to \d+ tokens/,
    )
    expect(model.calls).toHaveLength(3)
  })

  it('with maxTokens set, a tree never spends past its token budget, even when every answer uses all it may', async () => {
    // Worst case: each call's real usage equals its estimate (input bytes + framing, and maxTokens of output).
    const input = ask('申请人今年三次逾期还款')
    const estimate = estimateInputTokens(input)
    const model = new ScriptedChatModel({
      responses: () => ({ content: 'x', usage: { inputTokens: estimate, outputTokens: 100 } }),
      latencyMs: 2,
    })
    const chat = new LLMCall({ name: 'chat', model, settings: { maxTokens: 100 } })
    const fanOut = defineFunction({
      name: 'fan-out',
      run: (_input: unknown, context) =>
        Promise.allSettled(Array.from({ length: 20 }, () => context.invoke(chat, input))),
    })
    const budget = 1_000
    const record = await fanOut.trace(undefined, { budget: { maxTokens: budget } })
    expect(record.usage?.totalTokens).toBeLessThanOrEqual(budget)
    expect(model.calls.length).toBe(Math.floor(budget / (estimate + 100)))
  })

  it('without maxTokens, a call in flight overshoots the budget by at most what it uses beyond its estimate', async () => {
    // Each call is reserved as its input plus outputTokenEstimate (512), then answers with 2,000 output tokens.
    const input = ask('the applicant missed three payments this year')
    const estimate = estimateInputTokens(input)
    const reserved = estimate + 512
    const model = new ScriptedChatModel({
      responses: () => ({ content: 'x', usage: { inputTokens: estimate, outputTokens: 2_000 } }),
      latencyMs: 2,
    })
    const chat = new LLMCall({ name: 'chat', model })
    const fanOut = defineFunction({
      name: 'fan-out',
      run: (_input: unknown, context) =>
        Promise.allSettled(Array.from({ length: 20 }, () => context.invoke(chat, input))),
    })
    const budget = 10_000
    const record = await fanOut.trace(undefined, { budget: { maxTokens: budget } })
    const admitted = Math.floor(budget / reserved)
    expect(model.calls).toHaveLength(admitted)
    const spent = record.usage?.totalTokens ?? 0
    expect(spent).toBe(admitted * (estimate + 2_000))
    expect(spent).toBeGreaterThan(budget)
    expect(spent - budget).toBeLessThanOrEqual(admitted * (2_000 - 512))
  })
})

describe('LLMCall retries', () => {
  it('retries a 429 after its retry-after, and the model sees exactly one call per attempt', async () => {
    vi.useFakeTimers()
    const model = new ScriptedChatModel({ responses: [rateLimited(3_000), rateLimited(3_000), 'ok'] })
    const chat = new LLMCall({ name: 'chat', model })
    const pending = chat.trace(ask('x'))
    await vi.advanceTimersByTimeAsync(0)
    expect(model.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(2_999)
    expect(model.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(model.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(3_000)
    const record = await pending
    expect(record.status).toBe('complete')
    expect(record.output).toBe('ok')
    expect(record.attempts).toBe(3)
    expect(model.calls).toHaveLength(3)
    expect(record.states.filter((entry) => entry.state === 'retrying')).toHaveLength(2)
  })

  it('gives up after the default 3 attempts: attempts never multiply', async () => {
    const model = new ScriptedChatModel({ responses: [rateLimited(1), rateLimited(1), rateLimited(1), 'too late'] })
    const error = await new LLMCall({ name: 'chat', model }).invoke(ask('x')).catch((caught: unknown) => caught)
    expect(RateLimitError.isInstance(error)).toBe(true)
    expect(model.calls).toHaveLength(3)
  })

  it('keeps its defaults for retry keys given as undefined, as for absent ones: 3 attempts after 500 ms and 1,000 ms', async () => {
    vi.useFakeTimers()
    const serverError = () => new ProviderCallError({ provider: 'p', status: 503, message: 'down', retryable: true })
    // As JavaScript, or options copied from a config with keys left unset, hand them.
    const retry = {
      attempts: undefined,
      initialDelayMs: undefined,
      maxDelayMs: undefined,
      multiplier: undefined,
      jitter: 0,
      maxRetryAfterMs: undefined,
      retryInvalidOutput: undefined,
      retryable: undefined,
    }
    const model = new ScriptedChatModel({ responses: [serverError(), serverError(), 'ok'] })
    const pending = new LLMCall({ name: 'chat', model, retry: retry as never }).trace(ask('x'))
    await vi.advanceTimersByTimeAsync(0)
    expect(model.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(499)
    expect(model.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(model.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(999)
    expect(model.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    const record = await pending
    expect(record.status).toBe('complete')
    expect(record.attempts).toBe(3)
    expect(model.calls).toHaveLength(3)
  })

  it('reads a retry policy by name, as a plain Function does: a policy class’s getters and methods are kept', async () => {
    const serverError = () => new ProviderCallError({ provider: 'p', status: 503, message: 'down', retryable: true })
    class OneAttempt {
      get attempts(): number {
        return 1
      }
    }
    class NothingRetried {
      retryable(): boolean {
        return false
      }
    }
    const inherited = Object.create({ attempts: 1 }) as RetryPolicy
    for (const retry of [new OneAttempt(), new NothingRetried(), inherited]) {
      const model = new ScriptedChatModel({ responses: [serverError(), 'ok'] })
      const chat = new LLMCall({ name: 'chat', model, retry: retry as RetryPolicy })
      const error = await chat.invoke(ask('x')).catch((caught: unknown) => caught)
      expect(ProviderCallError.isInstance(error)).toBe(true)
      expect(model.calls).toHaveLength(1)
      expect(chat.retry.multiplier).toBe(2)
      expect(chat.retry.initialDelayMs).toBe(500)
    }
  })

  it('retries 5xx and connection failures, not 4xx nor errors that are not tinyllm errors', async () => {
    const serverError = new ProviderCallError({ provider: 'p', status: 503, message: 'down', retryable: true })
    const retried = new ScriptedChatModel({ responses: [serverError, 'ok'] })
    expect(await new LLMCall({ name: 'chat', model: retried, retry: fastRetry }).invoke(ask('x'))).toBe('ok')
    expect(retried.calls).toHaveLength(2)

    for (const status of [400, 401, 403, 404, 422]) {
      const refused = new ProviderCallError({ provider: 'p', status, message: `status ${status}`, retryable: false })
      const model = new ScriptedChatModel({ responses: [refused, 'never'] })
      const error = await new LLMCall({ name: 'chat', model }).invoke(ask('x')).catch((caught: unknown) => caught)
      expect((error as ProviderCallError).status).toBe(status)
      expect(model.calls).toHaveLength(1)
    }

    const buggy = new ScriptedChatModel({ responses: [new TypeError('undefined is not a function'), 'never'] })
    const error = await new LLMCall({ name: 'chat', model: buggy }).invoke(ask('x')).catch((caught: unknown) => caught)
    expect(FunctionError.isInstance(error)).toBe(true)
    expect(buggy.calls).toHaveLength(1)
  })

  it('never sends a request again whose answer is no result at all, with or without a limiter', async () => {
    for (const rateLimiter of [undefined, new RateLimiter()]) {
      let calls = 0
      const model: ChatModel = {
        specificationVersion: 'v1',
        provider: 'buggy',
        modelId: 'buggy',
        doGenerate: async () => {
          calls += 1
          return null as unknown as ChatResult
        },
        doStream: () => {
          throw new Error('not streamed')
        },
      }
      const chat = new LLMCall({ name: 'chat', model, retry: fastRetry, ...(rateLimiter && { rateLimiter }) })
      const error = await chat.invoke(ask('x')).catch((caught: unknown) => caught)
      expect(FunctionError.isInstance(error)).toBe(true)
      expect((error as FunctionError).retryable).toBe(false)
      expect(calls).toBe(1)
    }
  })

  it('treats a model that throws synchronously as one that rejects: typed, and not retried', async () => {
    for (const method of ['doGenerate', 'doStream'] as const) {
      let calls = 0
      const bug = new Error('bug in model')
      const broken = (): never => {
        calls += 1
        throw bug
      }
      const model: ChatModel = {
        specificationVersion: 'v1',
        provider: 'buggy',
        modelId: 'buggy',
        doGenerate: broken,
        doStream: broken,
      }
      const chat = new LLMCall({ name: 'chat', model, retry: fastRetry })
      const pending = method === 'doGenerate' ? chat.invoke(ask('x')) : chat.stream(ask('x')).result
      const error = await pending.catch((caught: unknown) => caught)
      expect(FunctionError.isInstance(error)).toBe(true)
      expect((error as FunctionError).cause).toBe(bug)
      expect((error as FunctionError).retryable).toBe(false)
      expect(calls).toBe(1)
    }
  })

  it('times out an attempt that takes too long, and retries it', async () => {
    const model = new ScriptedChatModel({ responses: ['slow', 'slow'], latencyMs: 1_000 })
    const chat = new LLMCall({ name: 'chat', model, attemptTimeoutMs: 5, retry: { attempts: 2, ...fastRetry } })
    const error = await chat.invoke(ask('x')).catch((caught: unknown) => caught)
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect((error as TimeoutError).kind).toBe('attempt')
    expect(model.calls).toHaveLength(2)
  })

  it('does not count waiting for the rate limiter against the attempt timeout', async () => {
    // On a fake clock: the call waits 30 s at the limiter, then is answered with no time passing, however busy the
    // machine; counted from before the wait, its 10 ms would have run out.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    limiter.coolDown(30_000)
    const model = new ScriptedChatModel({ responses: ['ok'] })
    const chat = new LLMCall({
      name: 'chat',
      model,
      rateLimiter: limiter,
      attemptTimeoutMs: 10,
      retry: { attempts: 1 },
    })
    const answer = chat.invoke(ask('x'))
    await vi.advanceTimersByTimeAsync(30_000)
    expect(await answer).toBe('ok')
    expect(model.calls).toHaveLength(1)
  })
})

describe('LLMCall with a rate limiter', () => {
  it('does not believe usage figures that are not token counts: the response is malformed, the limiter unharmed', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 100_000 })
    const model = new ScriptedChatModel({
      responses: [{ content: 'x', usage: { inputTokens: 1e15, outputTokens: 3 } }],
    })
    const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter, retry: { attempts: 1 } })
    const record = await chat.trace(ask('x'))
    expect(ProviderCallError.isInstance(record.error)).toBe(true)
    expect((record.error as ProviderCallError).providerErrorType).toBe('malformed_response')
    expect(record.error?.message).toMatch(/usage figures are not token counts \(inputTokens: 1000000000000000\)/)
    expect(record.usage).toBeUndefined()
    expect(limiter.status().tokens).toBeLessThan(100_000)
  })

  it('reads usage figures once: a getter that answers a count when checked and 1e300 after never reaches the limiter', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 100_000 })
    let reads = 0
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'fickle-usage',
      modelId: 'gpt-4o',
      doGenerate: async () => ({
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' }],
        usage: {
          inputTokens: 5,
          outputTokens: 5,
          get totalTokens() {
            reads += 1
            return reads === 1 ? 10 : 1e300
          },
        },
        model: 'gpt-4o',
      }),
      doStream: async function* () {},
    }
    const chat = new LLMCall({
      name: 'chat',
      model,
      rateLimiter: limiter,
      settings: { maxTokens: 5 },
      retry: { attempts: 1 },
    })
    const record = await chat.trace(ask('x'))
    expect(record.status).toBe('complete')
    expect(record.usage).toMatchObject({ inputTokens: 5, outputTokens: 5, totalTokens: 10 })
    expect(limiter.status().tokens).toBe(10)
    expect(reads).toBe(1)
  })

  it('counts a total reported below its parts as their sum, in the limiter, the budget and the record', async () => {
    // A model that reports input and output but a total of 0 (an adapter that leaves it out), or one below their sum.
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'partial-usage',
      modelId: 'gpt-4o',
      doGenerate: async () => ({
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' }],
        usage: { inputTokens: 400, outputTokens: 400, totalTokens: 0 },
        model: 'gpt-4o',
      }),
      doStream: async function* () {},
    }
    const limiter = new RateLimiter({ tokensPerMinute: 100_000 })
    const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter, settings: { maxTokens: 5 } })
    const record = await chat.trace(ask('x'))
    expect(record.usage).toMatchObject({ inputTokens: 400, outputTokens: 400, totalTokens: 800 })
    expect(limiter.status().tokens).toBe(800)
    const pipeline = defineFunction({
      name: 'pipeline',
      run: async (_input: unknown, context) => {
        await context.invoke(chat, ask('a'))
        return context.invoke(chat, ask('b'))
      },
    })
    const error = await pipeline.invoke({}, { budget: { maxTokens: 805 } }).catch((caught: unknown) => caught)
    expect(BudgetExceededError.isInstance(error), String(error)).toBe(true)
  })

  it('acquires before each attempt and settles with the real token usage', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 100_000 })
    const model = new ScriptedChatModel({ responses: [{ content: 'x', usage: { inputTokens: 30, outputTokens: 12 } }] })
    await new LLMCall({ name: 'chat', model, rateLimiter: limiter }).invoke(ask('x'))
    expect(limiter.status()).toMatchObject({ requests: 1, tokens: 42 })
  })

  it('starts the shared cool-down on a 429 with retry-after, and gives back tokens of refused calls', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 100_000 })
    const coolDown = vi.spyOn(limiter, 'coolDown')
    const model = new ScriptedChatModel({
      responses: [rateLimited(20), { content: 'ok', usage: { inputTokens: 7, outputTokens: 3 } }],
    })
    expect(await new LLMCall({ name: 'chat', model, rateLimiter: limiter }).invoke(ask('x'))).toBe('ok')
    expect(coolDown).toHaveBeenCalledWith(20)
    expect(model.calls).toHaveLength(2)
    // The refused attempt counts as a request but not as tokens; the second one is settled with its usage.
    expect(limiter.status()).toMatchObject({ requests: 2, tokens: 10 })
  })

  it('fails at once, without retrying, when a call can never fit in the token limit', async () => {
    const limiter = new RateLimiter({ tokensPerMinute: 100 })
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter, settings: { maxTokens: 1_000 } })
    const record = await chat.trace(ask('x'))
    expect(RateLimitError.isInstance(record.error)).toBe(true)
    expect(record.attempts).toBe(1)
    expect(model.calls).toHaveLength(0)
  })

  it('leaves no abort listener on a signal shared by many concurrent calls', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 100_000 })
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last', latencyMs: 1 })
    const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter, attemptTimeoutMs: 1_000 })
    const controller = new AbortController()
    const outputs = await Promise.all(
      Array.from({ length: 500 }, () => chat.invoke(ask('x'), { signal: controller.signal })),
    )
    expect(outputs).toHaveLength(500)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('holds one listener on a signal shared by many calls queued at the limiter, and none once they settled', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last' })
    const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter })
    const controller = new AbortController()
    const calls = Array.from({ length: 50 }, () =>
      chat.invoke(ask('x'), { signal: controller.signal }).catch((caught: unknown) => caught),
    )
    await vi.waitFor(() => expect(limiter.status().waiting).toBe(49))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    const outcomes = await Promise.all(calls)
    // The one granted may have been answered before the abort, or aborted in flight.
    expect(outcomes.filter((outcome) => AbortError.isInstance(outcome)).length).toBeGreaterThanOrEqual(49)
    expect(limiter.status().waiting).toBe(0)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('rejects promptly with an AbortError when aborted while queued or in flight', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    const model = new ScriptedChatModel({ responses: ['ok'], whenExhausted: 'repeat-last', latencyMs: 10_000 })
    const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter })
    const controller = new AbortController()
    const inFlight = chat.invoke(ask('x'), { signal: controller.signal })
    const queued = chat.invoke(ask('y'), { signal: controller.signal })
    await vi.waitFor(() => expect(limiter.status().waiting).toBe(1))
    controller.abort()
    await expect(inFlight).rejects.toSatisfy(AbortError.isInstance)
    await expect(queued).rejects.toSatisfy(AbortError.isInstance)
    expect(limiter.status().waiting).toBe(0)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

describe('LLMCall structured output', () => {
  const Verdict = z.object({ verdict: z.enum(['good', 'bad']), confidence: z.number().min(0).max(1) })
  const structuredOutput = { name: 'verdict', schema: Verdict, description: 'The loan verdict' }

  it('sends a JSON-schema response format and returns the parsed, validated value', async () => {
    const model = new ScriptedChatModel({ responses: ['{"verdict":"good","confidence":0.9}'] })
    const chat = new LLMCall({ name: 'verdict', model, structuredOutput })
    const value: { verdict: 'good' | 'bad'; confidence: number } = await chat.invoke(ask('x'))
    expect(value).toEqual({ verdict: 'good', confidence: 0.9 })
    const format = model.calls[0]?.responseFormat
    expect(format).toMatchObject({ type: 'json_schema', name: 'verdict', description: 'The loan verdict' })
    expect(format?.type === 'json_schema' && format.schema).toMatchObject({
      type: 'object',
      properties: { verdict: { enum: ['good', 'bad'] } },
      required: ['verdict', 'confidence'],
    })
    expect(format?.type === 'json_schema' && '$schema' in format.schema).toBe(false)
  })

  it('asks again for an answer that is not JSON or fails its schema with retryInvalidOutput: running → retrying, not after a stream handed it out', async () => {
    const retry = { initialDelayMs: 0, retryInvalidOutput: true }
    for (const first of ['not JSON', '{"verdict":"maybe","confidence":2}']) {
      const model = new ScriptedChatModel({ responses: [first, '{"verdict":"good","confidence":0.9}'] })
      const record = await new LLMCall({ name: 'verdict', model, structuredOutput, retry }).trace(ask('x'))
      expect(record.output).toEqual({ verdict: 'good', confidence: 0.9 })
      expect(record.states.slice(0, 5).map((entry) => entry.state)).toEqual([
        'init',
        'input_validation',
        'running',
        'retrying',
        'running',
      ])
      expect(record.states[3]?.error?.name).toBe('ValidationError')

      const streamed = new ScriptedChatModel({ responses: [first, '{"verdict":"good","confidence":0.9}'] })
      const stream = new LLMCall({ name: 'verdict', model: streamed, structuredOutput, retry }).stream(ask('x'))
      const read = (async () => {
        for await (const _ of stream) {
          // Read to the end: the reader is handed the invalid answer.
        }
      })()
      await expect(stream.result).rejects.toMatchObject({ name: 'ValidationError', state: 'running' })
      await read.catch(() => undefined)
      expect(streamed.calls).toHaveLength(1)
    }
  })

  it('turns a schema violation into a ValidationError with the path of each issue', async () => {
    const model = new ScriptedChatModel({ responses: ['{"verdict":"maybe","confidence":2}', 'never'] })
    const record = await new LLMCall({ name: 'verdict', model, structuredOutput }).trace(ask('x'))
    expect(ValidationError.isInstance(record.error)).toBe(true)
    const error = record.error as ValidationError
    expect(error.state).toBe('running')
    expect(error.issues.map((issue) => issue.path)).toEqual([['verdict'], ['confidence']])
    expect(record.attempts).toBe(1)
    expect(record.usage?.calls).toBe(1)
  })

  it('turns an answer that is not JSON into a ValidationError, pointing at maxTokens when cut off', async () => {
    const model = new ScriptedChatModel({
      responses: ['Sure! Here it is: {verdict: good}', { content: '{"verdict":"go', finishReason: 'length' }],
    })
    const chat = new LLMCall({ name: 'verdict', model, structuredOutput })
    await expect(chat.invoke(ask('x'))).rejects.toThrow(/not valid JSON/)
    const error = await chat.invoke(ask('x')).catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/raise maxTokens/)
  })

  it('says the model refused, or its answer was filtered, when an answer that is not JSON stopped with content_filter', async () => {
    const model = new ScriptedChatModel({ responses: [{ content: '', finishReason: 'content_filter' }] })
    const error = await new LLMCall({ name: 'verdict', model, structuredOutput })
      .invoke(ask('x'))
      .catch((caught) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(
      /the answer is empty; the model refused or its answer was filtered \(finish reason content_filter\)/,
    )
  })

  it('accepts JSON wrapped in a code fence, and parses every choice with texts / result', async () => {
    const fenced = '```json\n{"verdict":"bad","confidence":0.1}\n```'
    const model = new ScriptedChatModel({
      responses: [fenced, { content: '{"verdict":"good","confidence":1}', choices: [fenced] }],
    })
    expect(await new LLMCall({ name: 'one', model, structuredOutput }).invoke(ask('x'))).toEqual({
      verdict: 'bad',
      confidence: 0.1,
    })
    const both = new LLMCall({ name: 'both', model, structuredOutput, output: 'result', settings: { n: 2 } })
    const result = await both.invoke(ask('x'))
    expect(result.values).toEqual([
      { verdict: 'good', confidence: 1 },
      { verdict: 'bad', confidence: 0.1 },
    ])
  })

  it('reads an answer that opens a fence and then sends only newlines in one pass, so its time limit holds', async () => {
    // Cut off at maxTokens inside the fence: an answer no fence pattern matches, which one that backtracked over every
    // newline took minutes to refuse, the thread blocked (no timeout could fire) — here it takes milliseconds.
    const content = `\`\`\`json${'\n'.repeat(300_000)}{"verdict":`
    const model = new ScriptedChatModel({ responses: [{ content, finishReason: 'length' }] })
    const chat = new LLMCall({ name: 'verdict', model, structuredOutput })
    const started = performance.now()
    const error = await chat.invoke(ask('x')).catch((caught: unknown) => caught)
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/raise maxTokens/)
    const fenced = new ScriptedChatModel({
      responses: [`\`\`\`json${' \n'.repeat(300_000)}{"verdict":"good","confidence":1}\n\`\`\``],
    })
    expect(await new LLMCall({ name: 'fenced', model: fenced, structuredOutput }).invoke(ask('x'))).toEqual({
      verdict: 'good',
      confidence: 1,
    })
  })

  it('takes an explicit JSON Schema for libraries without Standard JSON Schema, and says so when missing', async () => {
    const plain = {
      '~standard': {
        version: 1 as const,
        vendor: 'hand-written',
        validate: (value: unknown) =>
          typeof value === 'object' && value !== null && 'ok' in value
            ? { value: value as { ok: boolean } }
            : { issues: [{ message: 'expected { ok }' }] },
      },
    }
    expect(
      () => new LLMCall({ name: 'x', model: new ScriptedChatModel(), structuredOutput: { name: 'x', schema: plain } }),
    ).toThrow(/Standard JSON Schema/)
    const model = new ScriptedChatModel({ responses: ['{"ok":true}'] })
    const jsonSchema = { type: 'object', properties: { ok: { type: 'boolean' } } }
    const chat = new LLMCall({ name: 'x', model, structuredOutput: { name: 'x', schema: plain, jsonSchema } })
    expect(await chat.invoke(ask('x'))).toEqual({ ok: true })
    expect(model.calls[0]?.responseFormat).toEqual({ type: 'json_schema', name: 'x', schema: jsonSchema })
  })
})

describe('LLMCall tool calls', () => {
  const tools = [{ name: 'lookup', parameters: { type: 'object', properties: { id: { type: 'number' } } } }]

  it('returns tool calls in the result', async () => {
    const model = new ScriptedChatModel({
      responses: [{ content: null, toolCalls: [{ name: 'lookup', arguments: '{"id":1}' }] }],
    })
    const chat = new LLMCall({ name: 'agent', model, output: 'result', settings: { tools } })
    const result = await chat.invoke(ask('x'))
    expect(result.choices[0]?.message.toolCalls).toEqual([{ id: 'call_1', name: 'lookup', arguments: '{"id":1}' }])
    expect(result.choices[0]?.finishReason).toBe('tool_calls')
  })

  it('fails with a ToolCallError when the model calls a tool it was not offered', async () => {
    const model = new ScriptedChatModel({
      responses: [{ content: null, toolCalls: [{ name: 'delete_everything', arguments: '{}' }] }],
    })
    const error = await new LLMCall({ name: 'agent', model, output: 'result', settings: { tools } })
      .invoke(ask('x'))
      .catch((caught: unknown) => caught)
    expect(ToolCallError.isInstance(error)).toBe(true)
    expect((error as ToolCallError).reason).toBe('unknown-tool')
    expect((error as ToolCallError).availableTools).toEqual(['lookup'])
    expect(model.calls).toHaveLength(1)
  })
})

/** A model whose stream hands out `deltas` text deltas and then never produces anything again, ignoring its signal. */
class StallingModel implements ChatModel {
  readonly specificationVersion = 'v1' as const
  readonly provider = 'stalling'
  readonly modelId = 'stalling'
  calls = 0
  constructor(private readonly deltas: number) {}
  async doGenerate(): Promise<ChatResult> {
    throw new Error('streams only')
  }
  async *doStream(): AsyncIterable<ChatStreamPart> {
    this.calls += 1
    for (let index = 0; index < this.deltas; index++) yield { type: 'text-delta', choiceIndex: 0, text: 'x' }
    await new Promise(() => {})
  }
}

async function collect(stream: AsyncIterable<LLMStreamDelta>): Promise<{ deltas: LLMStreamDelta[]; error?: unknown }> {
  const deltas: LLMStreamDelta[] = []
  try {
    for await (const delta of stream) deltas.push(delta)
    return { deltas }
  } catch (error) {
    return { deltas, error }
  }
}

describe('LLMCall streaming', () => {
  const answer = 'The applicant has a stable income and a low debt ratio: good.'

  it('assembles the same text as a non-streaming call, and completes its run when the stream ends', async () => {
    const model = new ScriptedChatModel({ responses: [answer, answer] })
    const chat = new LLMCall({ name: 'chat', model })
    const plain = await chat.invoke(ask('x'))
    const events: LifecycleEvent[] = []
    const stream = chat.stream(ask('x'), { onEvent: (event) => events.push(event) })
    const { deltas, error } = await collect(stream)
    expect(error).toBeUndefined()
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.map((delta) => (delta.type === 'text-delta' ? delta.text : '')).join('')).toBe(plain)
    expect(await stream.result).toBe(plain)
    expect(events.at(-1)?.to).toBe('complete')
  })

  it('records usage and checks the budget like invoke', async () => {
    const model = new ScriptedChatModel({ responses: [{ content: 'hi', usage: { inputTokens: 5, outputTokens: 1 } }] })
    const chat = new LLMCall({ name: 'chat', model, output: 'result' })
    const result = await chat.stream(ask('x')).result
    expect(result.usage).toEqual({ inputTokens: 5, outputTokens: 1, totalTokens: 6 })
    const stopped = chat.stream(ask('x'), { budget: { maxTokens: 10 } })
    const { error } = await collect(stopped)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    await expect(stopped.result).rejects.toSatisfy(BudgetExceededError.isInstance)
    expect(model.calls).toHaveLength(1)
  })

  it('restarts the idle timeout on reasoning but does not pass it on, so a stream that fails while the model thinks is retried', async () => {
    // Thinks for 20 × 20 ms, longer than the idle timeout, then fails once with a retryable error; then answers.
    let calls = 0
    const thinking: ChatModel = {
      specificationVersion: 'v1',
      provider: 'thinking',
      modelId: 'thinking',
      doGenerate: () => Promise.reject(new Error('streams only')),
      async *doStream(): AsyncIterable<ChatStreamPart> {
        calls += 1
        for (let index = 0; index < 20; index++) {
          await new Promise((resolve) => setTimeout(resolve, 20))
          yield { type: 'reasoning-delta', choiceIndex: 0, text: `step ${index}. ` }
        }
        if (calls === 1) throw new ProviderCallError({ provider: 'thinking', message: 'overloaded', retryable: true })
        yield { type: 'text-delta', choiceIndex: 0, text: 'Answer.' }
        const message = {
          role: 'assistant' as const,
          content: 'Answer.',
          reasoning: [{ text: 'thought', provider: 'thinking' }],
        }
        yield { type: 'finish', result: { choices: [{ index: 0, message, finishReason: 'stop' }], model: 'thinking' } }
      },
    }
    const chat = new LLMCall({
      name: 'chat',
      model: thinking,
      idleTimeoutMs: 300,
      retry: { attempts: 2, initialDelayMs: 1 },
      output: 'result',
    })
    const stream = chat.stream(ask('x'))
    const { deltas, error } = await collect(stream)
    expect(error).toBeUndefined()
    expect(deltas).toEqual([{ type: 'text-delta', choiceIndex: 0, text: 'Answer.' }])
    expect((await stream.result).choices[0]?.message.reasoning).toEqual([{ text: 'thought', provider: 'thinking' }])
    expect(calls).toBe(2)
  })

  it('restarts the idle timeout on activity the model reports without a part (a server tool at work)', async () => {
    vi.useFakeTimers()
    // Busy for 20 × 200 ms, far longer than the idle timeout, with no part to show for it: only its reports of activity.
    const busy: ChatModel = {
      specificationVersion: 'v1',
      provider: 'busy',
      modelId: 'busy',
      doGenerate: () => Promise.reject(new Error('streams only')),
      async *doStream(_request, options): AsyncIterable<ChatStreamPart> {
        for (let index = 0; index < 20; index++) {
          await new Promise((resolve) => setTimeout(resolve, 200))
          options?.onActivity?.()
        }
        yield { type: 'text-delta', choiceIndex: 0, text: 'Found.' }
        const message = { role: 'assistant' as const, content: 'Found.' }
        yield { type: 'finish', result: { choices: [{ index: 0, message, finishReason: 'stop' }], model: 'busy' } }
      },
    }
    const chat = new LLMCall({ name: 'chat', model: busy, idleTimeoutMs: 300, retry: { attempts: 1 } })
    const result = chat.stream(ask('x')).result
    await vi.advanceTimersByTimeAsync(4_000)
    expect(await result).toBe('Found.')
  })

  it('fails with an idle TimeoutError when a stream stalls after output, without retrying', async () => {
    const model = new StallingModel(2)
    // The deltas come at once; the idle timeout is generous so that a busy machine's pause between them never reaches it.
    const chat = new LLMCall({ name: 'chat', model, idleTimeoutMs: 500, retry: fastRetry })
    const stream = chat.stream(ask('x'))
    const { deltas, error } = await collect(stream)
    expect(deltas).toHaveLength(2)
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect((error as TimeoutError).kind).toBe('idle')
    await expect(stream.result).rejects.toBe(error)
    // Retrying would repeat text the reader has already seen.
    expect(model.calls).toBe(1)
  })

  it('leaves no idle timer behind when the model throws instead of streaming', async () => {
    vi.useFakeTimers()
    const models: ChatModel[] = [
      () => {
        throw new Error('bug in model')
      },
      () => null,
    ].map((doStream) => ({
      specificationVersion: 'v1',
      provider: 'buggy',
      modelId: 'buggy',
      doGenerate: () => Promise.reject(new Error('not called')),
      doStream: doStream as unknown as ChatModel['doStream'],
    }))
    for (const model of models) {
      const chat = new LLMCall({ name: 'chat', model, idleTimeoutMs: 600_000, retry: { attempts: 1 } })
      const error = await chat.stream(ask('x')).result.catch((caught: unknown) => caught)
      expect(FunctionError.isInstance(error)).toBe(true)
      expect(vi.getTimerCount()).toBe(0)
    }
  })

  it('retries a stream that stalls before any output', async () => {
    const model = new StallingModel(0)
    const chat = new LLMCall({ name: 'chat', model, idleTimeoutMs: 10, retry: fastRetry })
    const error = await chat.stream(ask('x')).result.catch((caught: unknown) => caught)
    expect((error as TimeoutError).kind).toBe('idle')
    expect(model.calls).toBe(3)
  })

  it('refuses options that are not an object, as invoke does, and sends nothing', async () => {
    const model = new ScriptedChatModel({ responses: ['never sent'] })
    const chat = new LLMCall({ name: 'chat', model })
    for (const options of [5, true, null, [], () => {}]) {
      const stream = chat.stream(ask('x'), options as never)
      const error = await stream.result.catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(options)).toBe(true)
      expect((error as Error).message).toMatch(/^chat: options must be an object, got /)
      await expect(
        (async () => {
          for await (const _ of stream);
        })(),
      ).rejects.toBe(error)
    }
    expect(model.calls).toHaveLength(0)
  })

  it('fails a stream that ends without a finish part', async () => {
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'cut',
      modelId: 'cut',
      doGenerate: () => Promise.reject(new Error('streams only')),
      async *doStream() {
        yield { type: 'text-delta', choiceIndex: 0, text: 'half an ans' }
      },
    }
    const error = await new LLMCall({ name: 'chat', model }).stream(ask('x')).result.catch((caught: unknown) => caught)
    expect(ProviderCallError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/without a finish part/)
  })

  it('cancels a stream through its signal', async () => {
    const controller = new AbortController()
    const chat = new LLMCall({ name: 'chat', model: new StallingModel(1) })
    const stream = chat.stream(ask('x'), { signal: controller.signal })
    const iterator = stream[Symbol.asyncIterator]()
    expect((await iterator.next()).value).toEqual({ type: 'text-delta', choiceIndex: 0, text: 'x' })
    controller.abort()
    await expect(iterator.next()).rejects.toSatisfy(AbortError.isInstance)
    await expect(stream.result).rejects.toSatisfy(AbortError.isInstance)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('never throws from stream(): options that cannot be read fail its result and its iteration, as invoke fails', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model })
    const options = {
      get signal(): AbortSignal {
        throw new Error('getter boom')
      },
    }
    const invoked = await chat.invoke(ask('x'), options).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(invoked)).toBe(true)
    const stream = chat.stream(ask('x'), options)
    const { deltas, error } = await collect(stream)
    expect(deltas).toEqual([])
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as ConfigurationError).message).toBe((invoked as ConfigurationError).message)
    await expect(stream.result).rejects.toBe(error)
    expect(model.calls).toHaveLength(0)
  })

  it('fails a stream given options that are a revoked Proxy with the ConfigurationError invoke fails with, never a TypeError', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const chat = new LLMCall({ name: 'chat', model })
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    const invoked = await chat.invoke(ask('x'), revocable.proxy).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(invoked)).toBe(true)
    const stream = chat.stream(ask('x'), revocable.proxy)
    const { deltas, error } = await collect(stream)
    expect(deltas).toEqual([])
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as ConfigurationError).message).toMatch(/^chat: options could not be read: TypeError: .*revoked/)
    await expect(stream.result).rejects.toBe(error)
    expect(model.calls).toHaveLength(0)
  })

  it('reads its options as invoke does: a signal held by a getter of a settings class, or inherited, cancels the stream', async () => {
    // A spread copies own enumerable properties only: a getter on a class's prototype would be lost, and with it the
    // caller's cancellation.
    class CallSettings {
      readonly #controller: AbortController
      constructor(controller: AbortController) {
        this.#controller = controller
      }
      get signal(): AbortSignal {
        return this.#controller.signal
      }
    }
    const model = new ScriptedChatModel({ responses: [answer, answer, answer, answer] })
    const chat = new LLMCall({ name: 'chat', model })
    const controller = new AbortController()
    controller.abort()
    for (const options of [new CallSettings(controller), Object.create({ signal: controller.signal })]) {
      expect(AbortError.isInstance(await chat.invoke(ask('x'), options).catch((caught: unknown) => caught))).toBe(true)
      const stream = chat.stream(ask('x'), options)
      const { deltas, error } = await collect(stream)
      expect(deltas).toEqual([])
      expect(AbortError.isInstance(error), String(error)).toBe(true)
    }
    expect(model.calls).toHaveLength(0)
  })

  it('keeps running to its result when the reader stops early', async () => {
    const model = new ScriptedChatModel({ responses: [answer] })
    const stream = new LLMCall({ name: 'chat', model }).stream(ask('x'))
    for await (const _delta of stream) break
    expect(await stream.result).toBe(answer)
  })

  it('streams tool-call deltas', async () => {
    const model = new ScriptedChatModel({
      responses: [{ content: null, toolCalls: [{ name: 'lookup', arguments: '{"id":1}' }] }],
    })
    const tools = [{ name: 'lookup', parameters: { type: 'object' } }]
    const stream = new LLMCall({ name: 'agent', model, output: 'result', settings: { tools } }).stream(ask('x'))
    const { deltas } = await collect(stream)
    expect(deltas).toEqual([
      {
        type: 'tool-call-delta',
        choiceIndex: 0,
        toolCallIndex: 0,
        id: 'call_1',
        name: 'lookup',
        argumentsDelta: '{"id":1}',
      },
    ])
    expect((await stream.result).choices[0]?.message.toolCalls?.[0]?.name).toBe('lookup')
  })

  it('refuses a stream detached from its call with the same typed error as a detached invoke', async () => {
    const model = new ScriptedChatModel({ responses: [answer] })
    const chat = new LLMCall({ name: 'chat', model })
    const { stream, invoke } = chat
    const detachedInvoke = await invoke(ask('x')).catch((caught: unknown) => caught)
    for (const detached of [stream(ask('x')), chat.stream.call(undefined as never, ask('x'))]) {
      const error = await detached.result.catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error) && error.option).toBe('this')
      expect((error as Error).message).toBe((detachedInvoke as Error).message)
      expect((await collect(detached)).error).toBe(error)
    }
    expect(model.calls).toHaveLength(0)
  })
})

describe('LLMCall is durable by default', () => {
  it('with a journal, a re-run of the same run id replays the answer, its usage and cost, without calling the model', async () => {
    const model = new ScriptedChatModel({
      responses: [{ content: 'bad', usage: { inputTokens: 20, outputTokens: 1 } }],
    })
    const chat = new LLMCall({ name: 'classify', model, settings: { model: 'gpt-4o-mini' } })
    const journal = new MemoryJournal()
    const first = await chat.trace(ask('Three missed payments.'), { runId: 'application-17', journal })
    const second = await chat.trace(ask('Three missed payments.'), { runId: 'application-17', journal })
    expect(model.calls).toHaveLength(1)
    expect(second.output).toBe('bad')
    expect(second.usage).toEqual(first.usage)
    expect(second.usage?.costUsd).toBeGreaterThan(0)
    expect(second.annotations.replayed).toBe(true)
    const notDurable = new LLMCall({
      name: 'classify',
      model: new ScriptedChatModel({ responses: ['x', 'y'] }),
      durable: false,
    })
    expect(await notDurable.invoke(ask('a'), { runId: 'r', journal })).toBe('x')
    expect(await notDurable.invoke(ask('a'), { runId: 'r', journal })).toBe('y')
  })

  it('streams a replayed call: the reader gets the recorded answer as deltas, the model is not called', async () => {
    const model = new ScriptedChatModel({ responses: ['the applicant is good'] })
    const chat = new LLMCall({ name: 'classify', model })
    const journal = new MemoryJournal()
    const textOf = (deltas: LLMStreamDelta[]) =>
      deltas.map((delta) => (delta.type === 'text-delta' ? delta.text : '')).join('')
    const first = await collect(chat.stream(ask('x'), { runId: 'streamed-1', journal }))
    const replayed = chat.stream(ask('x'), { runId: 'streamed-1', journal })
    const second = await collect(replayed)
    expect(model.calls).toHaveLength(1)
    expect(first.deltas.length).toBeGreaterThan(1)
    expect(textOf(second.deltas)).toBe('the applicant is good')
    expect(textOf(second.deltas)).toBe(textOf(first.deltas))
    expect(await replayed.result).toBe('the applicant is good')
  })

  it('streams a replayed call in every output mode: texts per choice, a result with its tool calls, structured JSON', async () => {
    const journal = new MemoryJournal()
    const toolCall = { name: 'lookup', arguments: '{"id":1}' }
    const tools = [{ name: 'lookup', parameters: { type: 'object' } }]
    const cases = [
      { output: 'texts' as const, responses: [{ content: 'a b', choices: ['c d'] }], settings: { n: 2 } },
      { output: 'result' as const, responses: [{ content: 'looking', toolCalls: [toolCall] }], settings: { tools } },
    ]
    for (const [index, { output, responses, settings }] of cases.entries()) {
      const model = new ScriptedChatModel({ responses })
      const chat = new LLMCall({ name: `mode-${output}`, model, output, settings })
      const first = await collect(chat.stream(ask('x'), { runId: `modes-${index}`, journal }))
      const second = await collect(chat.stream(ask('x'), { runId: `modes-${index}`, journal }))
      expect(model.calls).toHaveLength(1)
      // Deltas differ in how they are cut; put back together, they say the same.
      const joined = (deltas: LLMStreamDelta[]) => {
        const parts = new Map<string, string>()
        for (const delta of deltas) {
          const key =
            delta.type === 'text-delta'
              ? `text ${delta.choiceIndex}`
              : `tool ${delta.choiceIndex}.${delta.toolCallIndex}`
          const piece = delta.type === 'text-delta' ? delta.text : `${delta.name ?? ''}${delta.argumentsDelta}`
          parts.set(key, (parts.get(key) ?? '') + piece)
        }
        return Object.fromEntries(parts)
      }
      expect(joined(second.deltas)).toEqual(joined(first.deltas))
      expect(Object.keys(joined(second.deltas)).length).toBeGreaterThan(1)
    }
    const structured = new LLMCall({
      name: 'verdict',
      model: new ScriptedChatModel({ responses: ['{"verdict":"good"}'] }),
      structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.string() }) },
    })
    await collect(structured.stream(ask('x'), { runId: 'structured-1', journal }))
    const again = await collect(structured.stream(ask('x'), { runId: 'structured-1', journal }))
    expect(again.deltas).toEqual([{ type: 'text-delta', choiceIndex: 0, text: '{"verdict":"good"}' }])
  })

  it('streams a call in text mode with n > 1 as its output, choice 0, live and replayed alike', async () => {
    // The output of text mode is the first choice's text, and the journal holds only that: a reader that puts the
    // deltas together reads the output, on the first run and on a re-run.
    const journal = new MemoryJournal()
    const textOf = (deltas: LLMStreamDelta[]) =>
      deltas.map((delta) => (delta.type === 'text-delta' ? delta.text : '')).join('')
    for (const structured of [false, true]) {
      const model = new ScriptedChatModel({
        responses: [structured ? { content: '"good"', choices: ['"bad"'] } : { content: 'a b', choices: ['c d'] }],
      })
      const chat = new LLMCall({
        name: `text-${structured}`,
        model,
        settings: { n: 2 },
        ...(structured ? { structuredOutput: { name: 'verdict', schema: z.enum(['good', 'bad']) } } : {}),
      })
      const live = chat.stream(ask('x'), { runId: `text-n-${structured}`, journal })
      const first = await collect(live)
      const replayed = chat.stream(ask('x'), { runId: `text-n-${structured}`, journal })
      const second = await collect(replayed)
      expect(model.calls).toHaveLength(1)
      expect(model.calls[0]?.n).toBe(2)
      for (const { deltas } of [first, second]) {
        expect(deltas.every((delta) => delta.choiceIndex === 0)).toBe(true)
        expect(textOf(deltas)).toBe(structured ? '"good"' : 'a b')
      }
      expect(await replayed.result).toBe(await live.result)
    }
  })

  it('streams a replayed structured answer as the JSON of its parsed output, not as the model sent it; a text answer as sent', async () => {
    // The journal keeps the parsed output only: a fence, whitespace and a key the schema strips are not replayed.
    const journal = new MemoryJournal()
    const textOf = (deltas: LLMStreamDelta[]) =>
      deltas.map((delta) => (delta.type === 'text-delta' ? delta.text : '')).join('')
    const sent = '```json\n{ "verdict": "good",  "extra": 1 }\n```'
    const structured = new LLMCall({
      name: 'verdict',
      model: new ScriptedChatModel({ responses: [sent] }),
      structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.string() }) },
    })
    const live = await collect(structured.stream(ask('x'), { runId: 'structured-as-sent', journal }))
    const replayed = await collect(structured.stream(ask('x'), { runId: 'structured-as-sent', journal }))
    expect(textOf(live.deltas)).toBe(sent)
    expect(textOf(replayed.deltas)).toBe('{"verdict":"good"}')
    expect([live.error, replayed.error]).toEqual([undefined, undefined])
    const text = new LLMCall({ name: 'text', model: new ScriptedChatModel({ responses: [sent] }) })
    await collect(text.stream(ask('x'), { runId: 'text-as-sent', journal }))
    expect(textOf((await collect(text.stream(ask('x'), { runId: 'text-as-sent', journal }))).deltas)).toBe(sent)
  })

  it('streams a replayed structured answer that is a string as the JSON it was, quotes included, per choice', async () => {
    const journal = new MemoryJournal()
    const textOf = (deltas: LLMStreamDelta[], choiceIndex: number) =>
      deltas
        .map((delta) => (delta.type === 'text-delta' && delta.choiceIndex === choiceIndex ? delta.text : ''))
        .join('')
    for (const output of ['text', 'texts'] as const) {
      const model = new ScriptedChatModel({ responses: [{ content: '"good"', choices: ['"bad"'] }] })
      const verdict = new LLMCall({
        name: `verdict-${output}`,
        model,
        output,
        settings: { n: 2 },
        structuredOutput: { name: 'verdict', schema: z.enum(['good', 'bad']) },
      })
      const first = await collect(verdict.stream(ask('x'), { runId: `string-${output}`, journal }))
      const again = await collect(verdict.stream(ask('x'), { runId: `string-${output}`, journal }))
      expect(model.calls).toHaveLength(1)
      expect(textOf(first.deltas, 0)).toBe('"good"')
      expect(textOf(again.deltas, 0)).toBe('"good"')
      if (output === 'texts') expect(textOf(again.deltas, 1)).toBe('"bad"')
    }
  })
})
