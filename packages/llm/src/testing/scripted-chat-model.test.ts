import { runInNewContext } from 'node:vm'
import { AbortError, ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import type { ChatStreamPart } from '../chat-model.js'
import { resultText } from '../chat-model.js'
import { ProviderCallError } from '../provider-errors.js'
import { ScriptedChatModel } from './scripted-chat-model.js'

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] })

describe('ScriptedChatModel', () => {
  it('refuses option keys it does not know, suggesting the right name', () => {
    const build = () => new ScriptedChatModel({ respones: ['x'] } as never)
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow(/^ScriptedChatModel: respones is not an option; did you mean responses\?/)
  })

  it('refuses options of the wrong kind, or that cannot be read, with a ConfigurationError naming the option', () => {
    const cases: Array<[unknown, string]> = [
      [
        { responses: 5 },
        'ScriptedChatModel: responses must be a list of replies or a function producing each reply, got 5',
      ],
      [
        // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
        { responses: ['a', , 'b'] },
        'ScriptedChatModel: responses[1] must be a reply (a string, an object, an Error or a function), got undefined',
      ],
      [{ latencyMs: Number.NaN }, 'ScriptedChatModel: latencyMs must be a number of ms ≥ 0, got NaN'],
      [{ latencyMs: -1 }, 'ScriptedChatModel: latencyMs must be a number of ms ≥ 0, got -1'],
      [
        { whenExhausted: 'loop' },
        "ScriptedChatModel: whenExhausted must be one of 'throw', 'repeat-last', got \"loop\"",
      ],
      [{ modelId: 42 }, 'ScriptedChatModel: modelId must be a string, got 42'],
      [
        {
          get responses(): never {
            throw new Error('getter')
          },
        },
        'ScriptedChatModel: options could not be read: Error: getter',
      ],
    ]
    for (const [options, message] of cases) {
      const build = () => new ScriptedChatModel(options as never)
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
  })

  it('refuses a reply that is not one, in responses, enqueue or from a responder, with a ConfigurationError naming it', async () => {
    const cases: Array<[unknown, string]> = [
      [{ responses: [{ contnet: 'x' }] }, 'ScriptedChatModel: contnet is not an option; did you mean content?'],
      [
        { responses: ['ok', { content: 5 }] },
        'ScriptedChatModel: responses[1].content must be a string or null, got 5',
      ],
      [
        { responses: [{ toolCalls: 'x' }] },
        'responses[0].toolCalls must be a list of { id?, name, arguments } of strings',
      ],
      [{ responses: [{ toolCalls: [{ name: 'f', arguments: {} }] }] }, 'responses[0].toolCalls must be a list'],
      [{ responses: [{ finishReason: 'done' }] }, 'responses[0].finishReason must be one of'],
      [{ responses: [{ content: 'x', choices: 'ab' }] }, 'responses[0].choices must be a list of strings, got "ab"'],
      [{ responses: [[]] }, 'responses[0] must be a reply (a string, an object, an Error or a function), got []'],
      // A list with a hole is not a list of tool calls or texts: the hole would become a missing call or choice.
      [
        { responses: [{ toolCalls: Object.assign(new Array(3), { 0: { name: 'f', arguments: '{}' } }) }] },
        'responses[0].toolCalls must be a list',
      ],
      [
        { responses: [{ content: 'a', choices: Object.assign(new Array(3), { 0: 'b', 2: 'c' }) }] },
        'responses[0].choices must be a list of strings',
      ],
    ]
    for (const [options, message] of cases) {
      const build = () => new ScriptedChatModel(options as never)
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
    const model = new ScriptedChatModel()
    expect(() => model.enqueue(null as never)).toThrow('ScriptedChatModel: replies[0] must be a reply')
    for (const answer of [undefined, 5, { content: 5 }]) {
      const scripted = new ScriptedChatModel({ responses: () => answer as never })
      const error = await scripted.doGenerate(ask('hi')).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^ScriptedChatModel: the reply to call #1(\.content)? must be/)
    }
  })

  it('refuses a reply that cannot be read (a getter or a Proxy that throws) in enqueue or from a responder with a ConfigurationError naming it', async () => {
    const throwing = (): object => ({
      get content(): never {
        throw new Error('unreadable reply')
      },
    })
    const revoked = (): object => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return proxy
    }
    for (const reply of [throwing, revoked]) {
      const enqueue = () => new ScriptedChatModel().enqueue('ok', reply() as never)
      expect(enqueue).toThrow(ConfigurationError)
      expect(enqueue).toThrow(/^ScriptedChatModel: replies\[1\] could not be read: /)
      const scripted = new ScriptedChatModel({ responses: () => reply() as never })
      const error = await scripted.doGenerate(ask('hi')).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^ScriptedChatModel: the reply to call #1 could not be read: /)
    }
  })

  it('answers what it checked: a reply whose getters answer one value to the check and another later is read once', async () => {
    let reads = 0
    const fickle = {
      get content(): unknown {
        reads += 1
        return reads === 1 ? 'checked' : 5
      },
    }
    const model = new ScriptedChatModel({ responses: () => fickle as never })
    const result = await model.doGenerate(ask('hi'))
    expect(result.choices[0]?.message.content).toBe('checked')
    expect(reads).toBe(1)
  })

  it('refuses usage whose token counts are not whole numbers of at least 0, or whose keys are misspelt', async () => {
    const cases: Array<[unknown, string]> = [
      [{ inputTokens: '12', outputTokens: 3 }, 'responses[0].usage.inputTokens must be an integer'],
      [{ inputTokens: 1, outputTokens: -3 }, 'responses[0].usage.outputTokens must be an integer'],
      [{ inputTokens: 1.5, outputTokens: 3 }, 'responses[0].usage.inputTokens must be an integer'],
      [{ inputToken: 1, outputTokens: 3 }, 'inputToken is not an option; did you mean inputTokens?'],
      [[1, 2], 'responses[0].usage must be an object { inputTokens, outputTokens } or null'],
    ]
    for (const [usage, message] of cases) {
      const build = () => new ScriptedChatModel({ responses: [{ content: 'x', usage: usage as never }] })
      expect(build, JSON.stringify(usage)).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
    const scripted = new ScriptedChatModel({
      responses: () => ({ content: 'x', usage: { inputTokens: Number.NaN } }) as never,
    })
    const error = await scripted.doGenerate(ask('hi')).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    const counted = new ScriptedChatModel({ responses: [{ content: 'x', usage: { inputTokens: 0, outputTokens: 7 } }] })
    expect((await counted.doGenerate(ask('hi'))).usage).toEqual({ inputTokens: 0, outputTokens: 7, totalTokens: 7 })
  })

  it('rejects call options it cannot read (a signal getter that throws, a signal that is none) with a ConfigurationError', async () => {
    const model = new ScriptedChatModel({ responses: ['never'] })
    const throwing = {
      get signal(): never {
        throw new Error('unreadable signal')
      },
    }
    const request = { messages: [{ role: 'user' as const, content: 'hi' }] }
    for (const options of [throwing, { signal: 'stop' }]) {
      await expect(model.doGenerate(request, options as never)).rejects.toSatisfy(ConfigurationError.isInstance)
      const stream = model.doStream(request, options as never)[Symbol.asyncIterator]()
      await expect(stream.next()).rejects.toThrow(/^ScriptedChatModel: (options|signal)/)
    }
    expect(model.calls).toHaveLength(0)
  })

  it('answers from a list in order and records the calls', async () => {
    const model = new ScriptedChatModel({ responses: ['good', 'bad'] })
    expect(resultText(await model.doGenerate(ask('one')))).toBe('good')
    expect(resultText(await model.doGenerate({ ...ask('two'), temperature: 0 }))).toBe('bad')
    expect(model.calls.map((call) => call.messages[0]?.content)).toEqual(['one', 'two'])
    expect(model.calls[1]?.temperature).toBe(0)
    await expect(model.doGenerate(ask('three'))).rejects.toThrow(/no scripted reply left for call #3/)
    await expect(model.doGenerate(ask('three'))).rejects.toSatisfy(ProviderCallError.isInstance)
  })

  it('gives calls that run at once their own request ids, numbered in the order they started', async () => {
    const model = new ScriptedChatModel({ responses: ['a', 'b', 'c'] })
    const results = await Promise.all([
      model.doGenerate(ask('1')),
      model.doGenerate(ask('2')),
      model.doGenerate(ask('3')),
    ])
    expect(results.map((result) => result.requestId)).toEqual(['scripted_1', 'scripted_2', 'scripted_3'])
    expect((await new ScriptedChatModel({ responses: ['x'] }).doGenerate(ask('4'))).requestId).toBe('scripted_1')
  })

  it('answers from a function, and per call via enqueue', async () => {
    const model = new ScriptedChatModel({
      responses: (request, index) => `${index}:${request.messages.at(-1)?.content}`,
    })
    expect(resultText(await model.doGenerate(ask('a')))).toBe('0:a')
    model.enqueue('queued')
    expect(resultText(await model.doGenerate(ask('b')))).toBe('queued')
    expect(resultText(await model.doGenerate(ask('c')))).toBe('2:c')
  })

  it('returns tool calls, n choices, usage, and throws scripted errors', async () => {
    const model = new ScriptedChatModel({
      responses: [
        { content: null, toolCalls: [{ name: 'lookup', arguments: '{"id":1}' }] },
        { content: 'a', choices: ['b'] },
        new Error('provider down'),
      ],
    })
    const tool = await model.doGenerate(ask('x'))
    expect(tool.choices[0]?.message.toolCalls).toEqual([{ id: 'call_1', name: 'lookup', arguments: '{"id":1}' }])
    expect(tool.choices[0]?.finishReason).toBe('tool_calls')
    const many = await model.doGenerate({ ...ask('y'), n: 2 })
    expect(many.choices.map((choice) => choice.message.content)).toEqual(['a', 'b'])
    expect(many.usage?.totalTokens).toBe((many.usage?.inputTokens ?? 0) + (many.usage?.outputTokens ?? 0))
    await expect(model.doGenerate(ask('z'))).rejects.toThrow('provider down')
  })

  it("returns scripted reasoning on the first choice's message, streamed as reasoning-delta, and refuses reasoning that is not parts of strings", async () => {
    const reasoning = [{ text: 'Look it up.', provider: 'anthropic', signature: 'proof' }]
    const model = new ScriptedChatModel({
      responses: [{ content: null, toolCalls: [{ name: 'lookup', arguments: '{}' }], reasoning }],
      whenExhausted: 'repeat-last',
    })
    expect((await model.doGenerate(ask('x'))).choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{}' }],
      reasoning,
    })
    const parts: ChatStreamPart[] = []
    for await (const part of model.doStream(ask('x'))) parts.push(part)
    expect(parts[0]).toEqual({ type: 'reasoning-delta', choiceIndex: 0, text: 'Look it up.' })
    for (const bad of ['thought', [{ text: 'x' }], [{ text: 'x', provider: 'p', signature: 1 }]]) {
      expect(() => new ScriptedChatModel({ responses: [{ content: 'a', reasoning: bad as never }] })).toThrow(
        ConfigurationError,
      )
    }
  })

  it('throws a scripted Error made in another realm, from the list, enqueue or a responder', async () => {
    const foreign = (): Error => runInNewContext('new TypeError("provider down over there")') as Error
    expect(foreign()).not.toBeInstanceOf(Error)
    const models = [
      new ScriptedChatModel({ responses: [foreign()] }),
      new ScriptedChatModel().enqueue(foreign()),
      new ScriptedChatModel({ responses: () => foreign() }),
    ]
    for (const model of models) {
      await expect(model.doGenerate(ask('x'))).rejects.toThrow('provider down over there')
    }
  })

  it('streams deltas that assemble to the same result', async () => {
    const model = new ScriptedChatModel({ responses: ['a longer streamed answer'] })
    const parts: ChatStreamPart[] = []
    for await (const part of model.doStream(ask('x'))) parts.push(part)
    const text = parts.flatMap((part) => (part.type === 'text-delta' ? [part.text] : [])).join('')
    const finish = parts.at(-1)
    expect(text).toBe('a longer streamed answer')
    expect(finish?.type === 'finish' && resultText(finish.result)).toBe(text)
  })

  it('never splits a surrogate pair between two deltas, so each one prints as it is', async () => {
    const answer = 'abc😀 and 日本語 🎉🎉 ok'
    const model = new ScriptedChatModel({ responses: [answer] })
    const texts: string[] = []
    for await (const part of model.doStream(ask('x'))) if (part.type === 'text-delta') texts.push(part.text)
    expect(texts.join('')).toBe(answer)
    const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
    expect(texts.filter((text) => loneSurrogate.test(text))).toEqual([])
  })

  it('honours an abort during its latency', async () => {
    const model = new ScriptedChatModel({ responses: ['late'], latencyMs: 10_000 })
    const controller = new AbortController()
    const pending = model.doGenerate(ask('x'), { signal: controller.signal })
    controller.abort('cancel')
    await expect(pending).rejects.toSatisfy(AbortError.isInstance)
  })

  it('ends a stream aborted after any part with an AbortError, never its finish: reasoning, text or tool calls', async () => {
    const reasoning = [{ text: 'Think.', provider: 'anthropic', signature: 'proof' }]
    const replies = [
      { content: null, toolCalls: [{ name: 'lookup', arguments: '{}' }], reasoning },
      { content: 'ok', reasoning },
      { content: null, toolCalls: [{ name: 'lookup', arguments: '{}' }] },
      'ok',
    ]
    for (const reply of replies) {
      const model = new ScriptedChatModel({ responses: [reply] })
      const controller = new AbortController()
      const parts: string[] = []
      const reading = (async () => {
        for await (const part of model.doStream(ask('x'), { signal: controller.signal })) {
          parts.push(part.type)
          controller.abort('cancel')
        }
      })()
      await expect(reading, JSON.stringify(reply)).rejects.toSatisfy(AbortError.isInstance)
      expect(parts).toHaveLength(1)
    }
  })
})
