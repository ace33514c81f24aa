import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AlwaysOffSampler } from '@opentelemetry/sdk-trace'
import {
  ConfigurationError,
  defineFunction,
  type LifecycleEvent,
  MemoryJournal,
  type RunContext,
  type StandardSchemaV1,
  TinyLLMError,
  ValidationError,
} from '@tinyllm/core'
import { Chain, Decision, Parallel } from '@tinyllm/flow'
import { LLMCall, ProviderCallError } from '@tinyllm/llm'
import { ScriptedChatModel } from '@tinyllm/llm/testing'
import { createMemoryLogger, registerSecret } from '@tinyllm/logger'
import { OpenAIChat } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { eventNames, memoryTracing, parentOf, spanOf } from './__fixtures__/spans.js'
import { RunTracer } from './run-tracer.js'

const happyPath = ['input_validation', 'running', 'output_validation', 'processing_output', 'complete']

// Spans of a root run nest under the caller's active span only with a context manager, as in any traced service.
const contextManager = new AsyncLocalStorageContextManager()
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
})
afterAll(() => {
  context.disable()
})

function classifier(model: ScriptedChatModel) {
  const chat = new LLMCall({
    name: 'classify',
    model,
    settings: { model: 'gpt-4o-mini', temperature: 0, maxTokens: 16 },
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
  })
  return new Chain({
    name: 'Credit analysis',
    children: [
      defineFunction({
        name: 'Prompt',
        run: (application: string) => ({ messages: [{ role: 'user' as const, content: application }] }),
      }),
      chat,
      new Decision({
        name: 'Label',
        decide: (answer: string) => answer.trim().toLowerCase(),
        branches: {
          good: defineFunction({ name: 'Approve', run: () => 'approved' }),
          bad: defineFunction({ name: 'Refer', run: () => 'referred' }),
        },
      }),
    ],
  })
}

describe('RunTracer', () => {
  it('makes one span per run, parented like the run tree, with the lifecycle as span events', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const model = new ScriptedChatModel({
      responses: [{ content: 'bad', usage: { inputTokens: 40, outputTokens: 1 } }],
    })
    const pipeline = classifier(model)

    await expect(pipeline.invoke('Three missed payments.', { onEvent: tracing.listener })).resolves.toBe('referred')

    const finished = await spans()
    expect(finished.map((span) => span.attributes['tinyllm.function']).sort()).toEqual(
      ['Credit analysis', 'Prompt', 'classify', 'Label', 'Refer'].sort(),
    )
    expect(parentOf(finished, spanOf(finished, 'Credit analysis'))).toBeUndefined()
    for (const name of ['Prompt', 'classify', 'Label'])
      expect(parentOf(finished, spanOf(finished, name))).toBe('Credit analysis')
    expect(parentOf(finished, spanOf(finished, 'Refer'))).toBe('Label')
    expect(new Set(finished.map((span) => span.spanContext().traceId)).size).toBe(1)

    const root = spanOf(finished, 'Credit analysis')
    expect(root.name).toBe('Credit analysis')
    expect(root.kind).toBe(SpanKind.INTERNAL)
    expect(eventNames(root)).toEqual(happyPath)
    expect(root.status.code).toBe(SpanStatusCode.UNSET)
    expect(root.attributes).toMatchObject({
      'tinyllm.kind': 'chain',
      'tinyllm.attempt': 1,
      'tinyllm.usage.calls': 1,
      'tinyllm.usage.input_tokens': 40,
      'tinyllm.usage.output_tokens': 1,
    })
    expect(root.attributes['tinyllm.run_id']).toMatch(/^[0-9a-z]+-[0-9a-z]+$/)
    expect(spanOf(finished, 'Label').attributes).toMatchObject({
      'tinyllm.kind': 'decision',
      'tinyllm.decision.choice': 'bad',
    })
    // Each run's id extends its parent's.
    for (const span of finished) {
      const parent = finished.find((candidate) => candidate.spanContext().spanId === span.parentSpanContext?.spanId)
      if (parent !== undefined) {
        expect(String(span.attributes['tinyllm.run_id'])).toMatch(
          new RegExp(`^${String(parent.attributes['tinyllm.run_id'])}/`),
        )
      }
    }
    // Timestamps are the transitions' own: each event lies within its span.
    for (const span of finished) {
      for (const event of span.events) {
        expect(hrToMs(event.time)).toBeGreaterThanOrEqual(hrToMs(span.startTime))
        expect(hrToMs(event.time)).toBeLessThanOrEqual(hrToMs(span.endTime))
      }
    }
    expect(tracing.openSpans).toBe(0)
  })

  it('follows the GenAI conventions on an LLM call, and records what it spent', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const model = new ScriptedChatModel({
      modelId: 'scripted-default',
      responses: [{ content: 'good', usage: { inputTokens: 12, outputTokens: 3 } }],
    })
    await classifier(model).invoke('Steady income.', { onEvent: tracing.listener })

    const call = spanOf(await spans(), 'classify')
    expect(call.name).toBe('chat gpt-4o-mini')
    expect(call.kind).toBe(SpanKind.CLIENT)
    expect(call.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0,
      'gen_ai.request.max_tokens': 16,
      'gen_ai.output.type': 'text',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
      'tinyllm.kind': 'llm-call',
      'tinyllm.attempt': 1,
    })
    // Prompts and answers only on request.
    expect(call.attributes['gen_ai.input.messages']).toBeUndefined()
    expect(call.attributes['gen_ai.output.messages']).toBeUndefined()
    // Usage in GenAI attributes belongs to the call alone; its ancestors carry the subtree's under tinyllm's names.
    expect(spanOf(await spans(), 'Credit analysis').attributes['gen_ai.usage.input_tokens']).toBeUndefined()
  })

  it('writes no GenAI usage for a call whose model reported none: the estimate that stands in is marked as such', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({
      name: 'silent',
      model: new ScriptedChatModel({ responses: [{ content: 'ok', usage: null }] }),
      settings: { model: 'gpt-4o-mini', maxTokens: 4 },
    })
    await chat.invoke(
      { messages: [{ role: 'user', content: 'hi' }] },
      { onEvent: tracing.listener, budget: { maxTokens: 1_000 } },
    )
    const attributes = spanOf(await spans(), 'silent').attributes
    expect(attributes['gen_ai.usage.input_tokens']).toBeUndefined()
    expect(attributes['gen_ai.usage.output_tokens']).toBeUndefined()
    expect(attributes).toMatchObject({
      'tinyllm.usage.calls': 1,
      'tinyllm.usage.output_tokens': 4,
      'tinyllm.annotation.usageEstimated': true,
    })
  })

  it('records finish reasons when an LLM call returns the whole result', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({
      name: 'whole',
      model: new ScriptedChatModel({ responses: [{ content: 'cut sho', finishReason: 'length' }] }),
      settings: { model: 'gpt-4o-mini', maxTokens: 2, stop: ['\n'] },
      output: 'result',
    })
    await chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })
    expect(spanOf(await spans(), 'whole').attributes).toMatchObject({
      'gen_ai.response.finish_reasons': ['length'],
      'gen_ai.request.stop_sequences': ['\n'],
      'gen_ai.request.max_tokens': 2,
    })
  })

  it('reads the request from the call’s settings, overridden by those its input carries', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({
      name: 'settings',
      model: new ScriptedChatModel({ responses: [{ content: 'a', choices: ['b'] }] }),
      settings: {
        model: 'gpt-4o-mini',
        temperature: 0.2,
        topP: 0.9,
        seed: 7,
        presencePenalty: 0.1,
        frequencyPenalty: 0.3,
        stop: 'END',
      },
      output: 'texts',
    })
    await chat.invoke(
      { messages: [{ role: 'user', content: 'hi' }], model: 'gpt-4o', temperature: 0.7, n: 2 },
      { onEvent: tracing.listener },
    )
    const call = spanOf(await spans(), 'settings')
    expect(call.name).toBe('chat gpt-4o')
    expect(call.attributes).toMatchObject({
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 0.7,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.seed': 7,
      'gen_ai.request.presence_penalty': 0.1,
      'gen_ai.request.frequency_penalty': 0.3,
      'gen_ai.request.stop_sequences': ['END'],
      'gen_ai.request.choice.count': 2,
      'gen_ai.output.type': 'text',
      'gen_ai.response.finish_reasons': ['stop', 'stop'],
    })
  })

  it('marks a streamed LLM call gen_ai.request.stream, alone or inside a Chain, and no call that is not streamed', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const server = await startOpenAICompatibleServer({ replies: ['good'], cycleReplies: true })
    try {
      const chat = new OpenAIChat({
        name: 'chat',
        model: 'gpt-4o-mini',
        baseURL: server.baseURL,
        apiKey: 'sk-loopback',
      })
      const input = { messages: [{ role: 'user' as const, content: 'hi' }] }
      // A step that streams the call it makes to its own reader.
      const parts: unknown[] = []
      const relay = defineFunction({
        name: 'Relay',
        run: (text: string, runContext: RunContext) =>
          runContext.invoke(
            chat,
            { messages: [{ role: 'user', content: text }] },
            { stream: (part) => void parts.push(part) },
          ),
      })
      const pipeline = new Chain({ name: 'Pipeline', children: [relay] })
      const read = async (stream: AsyncIterable<unknown> & { result: Promise<unknown> }) => {
        for await (const _delta of stream);
        return stream.result
      }
      await expect(read(chat.stream(input, { onEvent: tracing.listener }))).resolves.toBe('good')
      await expect(pipeline.invoke('hi', { onEvent: tracing.listener })).resolves.toBe('good')
      expect(parts).not.toEqual([])
      await expect(chat.invoke(input, { onEvent: tracing.listener })).resolves.toBe('good')
    } finally {
      await server.close()
    }

    const finished = await spans()
    const calls = finished.filter((span) => span.attributes['tinyllm.function'] === 'chat')
    expect(calls.map((span) => span.attributes['gen_ai.request.stream'])).toEqual([true, true, undefined])
    expect(spanOf(finished, 'Relay').attributes['gen_ai.request.stream']).toBeUndefined()
    expect(spanOf(finished, 'Pipeline').attributes['gen_ai.request.stream']).toBeUndefined()
  })

  it('marks a streamed LLM call gen_ai.request.stream in every tracer that traces it, not only the first', async () => {
    const first = memoryTracing()
    const second = memoryTracing()
    const tracers = [first, second].map(({ provider }) => new RunTracer({ tracerProvider: provider }))
    const stops = tracers.map((tracer) => tracer.start())
    const server = await startOpenAICompatibleServer({ replies: ['good'] })
    try {
      const chat = new OpenAIChat({
        name: 'chat',
        model: 'gpt-4o-mini',
        baseURL: server.baseURL,
        apiKey: 'sk-loopback',
      })
      const stream = chat.stream({ messages: [{ role: 'user', content: 'hi' }] })
      for await (const _delta of stream);
      await expect(stream.result).resolves.toBe('good')
    } finally {
      for (const stop of stops) stop()
      await server.close()
    }
    for (const { spans } of [first, second]) {
      expect((await spans()).map((span) => span.attributes['gen_ai.request.stream'])).toEqual([true])
    }
  })

  it('records the maxTokens a chat model sends when neither the call nor its input sets one (its defaultMaxTokens)', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    // A chat model that always sends a token limit, as AnthropicChatModel does (the Messages API requires one).
    const model = new ScriptedChatModel({ responses: ['a', 'b'] })
    Object.defineProperty(model, 'defaultMaxTokens', { value: 4096 })
    const chat = new LLMCall({ name: 'limited', model })
    const input = { messages: [{ role: 'user' as const, content: 'hi' }] }
    await chat.invoke(input, { onEvent: tracing.listener })
    await chat.invoke({ ...input, maxTokens: 64 }, { onEvent: tracing.listener })

    const calls = (await spans()).filter((span) => span.attributes['tinyllm.function'] === 'limited')
    expect(calls.map((span) => span.attributes['gen_ai.request.max_tokens'])).toEqual([4096, 64])
  })

  it('cuts a megabyte model name or stop sequence from the input at 1,000 characters, a key at the cut replaced whole', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({ name: 'huge', model: new ScriptedChatModel({ responses: ['ok'] }) })
    const key = `sk-proj-${'Q7xv'.repeat(8)}`
    const huge = `${'m'.repeat(990)}${key}${'m'.repeat(1_000_000)}`
    await chat.invoke(
      { messages: [{ role: 'user', content: 'hi' }], model: huge, stop: [huge, 'END'] },
      { onEvent: tracing.listener },
    )
    const call = spanOf(await spans(), 'huge')
    expect(call.name.length).toBeLessThanOrEqual(206)
    expect(String(call.attributes['gen_ai.request.model']).length).toBeLessThanOrEqual(1_001)
    const stop = call.attributes['gen_ai.request.stop_sequences'] as string[]
    expect(stop[0]!.length).toBeLessThanOrEqual(1_001)
    expect(stop[1]).toBe('END')
    expect(JSON.stringify([call.name, call.attributes])).not.toContain('Q7xv')
  })

  it('names a span {operation} {model}, or by its Function, each part cut at 200 characters: no name of 1,000', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({ name: 'long model', model: new ScriptedChatModel({ responses: ['ok'] }) })
    const model = `gpt-${'4'.repeat(10_000)}`
    await chat.invoke({ messages: [{ role: 'user', content: 'hi' }], model }, { onEvent: tracing.listener })
    // A lifecycle event carries whatever name its sender gave (a run read back from storage, an event of its own).
    const longName = 'f'.repeat(10_000)
    const source = { name: longName, kind: 'function' }
    const event = { runId: 'long-1', parentRunId: undefined, function: longName, kind: 'function', source, attempt: 1 }
    tracing.listener({ ...event, from: 'init', to: 'input_validation', at: 1 } as unknown as LifecycleEvent)
    tracing.listener({ ...event, from: 'input_validation', to: 'complete', at: 2 } as unknown as LifecycleEvent)

    const finished = await spans()
    const call = spanOf(finished, 'long model')
    expect(call.name).toBe(`chat ${model.slice(0, 200)}…`)
    // The attributes keep what they keep: the span's name is a short, low-cardinality summary of them.
    expect(String(call.attributes['gen_ai.request.model'])).toBe(`${model.slice(0, 1_000)}…`)
    const named = finished.find((span) => span.attributes['tinyllm.run_id'] === 'long-1')!
    expect(named.name).toBe(`${'f'.repeat(200)}…`)
    // The longest name a Function may have is kept whole.
    expect(spanOf(finished, 'long model').attributes['tinyllm.function']).toBe('long model')
  })

  it('keeps a list attribute to 10,000 characters in all: ten thousand long stop sequences make no span of megabytes', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({ name: 'many', model: new ScriptedChatModel({ responses: ['ok'] }) })
    const stop = Array.from({ length: 10_000 }, (_, index) => `${index}`.padEnd(1_000, 's'))
    await chat
      .invoke({ messages: [{ role: 'user', content: 'hi' }], stop }, { onEvent: tracing.listener })
      .catch(() => {})
    const call = spanOf(await spans(), 'many')
    const recorded = call.attributes['gen_ai.request.stop_sequences'] as string[]
    expect(recorded.slice(0, 2)).toEqual(stop.slice(0, 2))
    expect(recorded.join('').length).toBeLessThanOrEqual(10_000)
    expect(JSON.stringify(call.attributes).length).toBeLessThan(20_000)
  })

  it('records JSON output for a call with structured output (an input asking for another format is refused)', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const anyValue: StandardSchemaV1<unknown> = {
      '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) },
    }
    const chat = new LLMCall({
      name: 'structured',
      model: new ScriptedChatModel({ responses: ['{"verdict":"good"}'] }),
      structuredOutput: { name: 'verdict', schema: anyValue, jsonSchema: { type: 'object' } },
    })
    await chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })
    expect(spanOf(await spans(), 'structured').attributes['gen_ai.output.type']).toBe('json')
    const refused = await chat
      .invoke({ messages: [{ role: 'user', content: 'hi' }], responseFormat: { type: 'text' } })
      .catch((error: unknown) => error)
    expect((refused as Error).name).toBe('ConfigurationError')
  })

  it('records structured output redacted as a log line writes it, and ends the span of one JSON cannot hold', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const session = 'opaque-session-77c1f0'
    const withBigint: StandardSchemaV1<unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => ({ value: { ...(value as object), accountNumber: 12345678901234567890n } }),
      },
    }
    const chat = new LLMCall({
      name: 'extract',
      model: new ScriptedChatModel({ responses: [JSON.stringify({ user: 'ann', cookie: session })] }),
      structuredOutput: { name: 'account', schema: withBigint, jsonSchema: { type: 'object' } },
    })
    await chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })

    expect(tracing.openSpans).toBe(0)
    const call = spanOf(await spans(), 'extract')
    const output = JSON.parse(String(call.attributes['gen_ai.output.messages']))
    expect(JSON.parse(output[0].parts[0].content)).toEqual({
      user: 'ann',
      cookie: '[REDACTED]',
      accountNumber: '12345678901234567890',
    })
    expect(JSON.stringify(call.attributes)).not.toContain(session)
  })

  it('records a structured output that has a choices field as JSON, and ends its span', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const anyValue: StandardSchemaV1<unknown> = {
      '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) },
    }
    const chat = new LLMCall({
      name: 'options',
      model: new ScriptedChatModel({ responses: ['{"choices":["approve","refer"]}'] }),
      structuredOutput: { name: 'options', schema: anyValue, jsonSchema: { type: 'object' } },
    })
    await chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })

    expect(tracing.openSpans).toBe(0)
    const output = JSON.parse(String(spanOf(await spans(), 'options').attributes['gen_ai.output.messages']))
    expect(JSON.parse(output[0].parts[0].content)).toEqual({ choices: ['approve', 'refer'] })
  })

  it('reads captured messages as redact does, so one that throws or a sparse list fails the call at once', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const chat = new LLMCall({ name: 'unreadable', model: new ScriptedChatModel({ responses: [] }) })
    const throwing = {
      role: 'user',
      get content(): string {
        throw new Error('not readable')
      },
    }
    const sparse: unknown[] = []
    sparse[2 ** 32 - 2] = { role: 'user', content: 'last' }
    for (const messages of [[{ role: 'user', content: 'hi' }, throwing], sparse]) {
      await expect(chat.invoke({ messages } as never, { onEvent: tracing.listener })).rejects.toThrow(ValidationError)
    }

    expect(tracing.openSpans).toBe(0)
    const [first, second] = (await spans()).filter((span) => span.attributes['tinyllm.function'] === 'unreadable')
    expect(first?.status.code).toBe(SpanStatusCode.ERROR)
    // As a log line writes it: the field that cannot be read stands as "[Unserializable]".
    expect(JSON.parse(String(first?.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
      { role: 'user', parts: [{ type: 'text', content: '[Unserializable]' }] },
    ])
    expect(second?.status.code).toBe(SpanStatusCode.ERROR)
    expect(second?.attributes['gen_ai.input.messages']).toBe('[]')
  })

  it('records the failure of an LLM call whose messages or stop sequences are a list whose reading throws', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const chat = new LLMCall({ name: 'unreadable', model: new ScriptedChatModel({ responses: [] }) })
    const unreadable = (list: unknown[]) =>
      new Proxy(list, {
        get(target, key) {
          if (key === 'length') throw new Error('not readable')
          return Reflect.get(target, key)
        },
      })
    const messages = [{ role: 'user', content: 'hi' }]
    for (const input of [{ messages: unreadable(messages) }, { messages, stop: unreadable(['END']) }]) {
      await expect(chat.invoke(input as never, { onEvent: tracing.listener })).rejects.toThrow(ValidationError)
    }

    expect(tracing.openSpans).toBe(0)
    const calls = (await spans()).filter((span) => span.attributes['tinyllm.function'] === 'unreadable')
    expect(calls.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR])
    expect(calls[0]?.attributes['gen_ai.input.messages']).toBe('[]')
    expect(calls[1]?.attributes['gen_ai.request.stop_sequences']).toEqual([])
  })

  it('records the failure of an LLM call whose input has a field that throws when read', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const chat = new LLMCall({ name: 'unreadable', model: new ScriptedChatModel({ responses: [] }) })
    const messages = [{ role: 'user', content: 'hi' }]
    const throwing = (field: string) =>
      new Proxy(
        { messages, temperature: 0, stop: 'END', responseFormat: { type: 'text' } },
        {
          get(target, key) {
            if (key === field) throw new Error('not readable')
            return Reflect.get(target, key)
          },
        },
      )
    const fields = ['temperature', 'stop', 'messages', 'responseFormat']
    for (const field of fields) {
      await expect(chat.invoke(throwing(field) as never, { onEvent: tracing.listener })).rejects.toThrow()
    }

    expect(tracing.openSpans).toBe(0)
    const failed = (await spans()).filter((span) => span.attributes['tinyllm.function'] === 'unreadable')
    expect(failed.map((span) => span.status.code)).toEqual(fields.map(() => SpanStatusCode.ERROR))
  })

  it('records the failure of an LLM call whose stop sequences hold an object with no toString, as their JSON', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const logger = createMemoryLogger()
    const chat = new LLMCall({ name: 'odd stop', model: new ScriptedChatModel({ responses: [] }) })
    const messages = [{ role: 'user', content: 'hi' }]
    // `String()` throws on each: JSON read back from a queue can hold the first, `{"toString":"x"}`.
    const stops = [[{ toString: 'x' }], ['END', { valueOf: 1, toString: null }]]
    for (const stop of stops) {
      await expect(chat.invoke({ messages, stop } as never, { onEvent: tracing.listener, logger })).rejects.toThrow(
        ValidationError,
      )
    }

    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([])
    expect(tracing.openSpans).toBe(0)
    const calls = (await spans()).filter((span) => span.attributes['tinyllm.function'] === 'odd stop')
    expect(calls.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR])
    expect(calls.map((span) => span.attributes['gen_ai.request.stop_sequences'])).toEqual([
      ['{"toString":"x"}'],
      ['END', '{"valueOf":1,"toString":null}'],
    ])
  })

  it('traces a Function whose model, chat model or settings throw when read, and the runs under it', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const throwing = () => {
      throw new Error('not readable')
    }
    // A step of the user's own whose `model` is a getter that throws (not configured yet, say).
    const lazy = defineFunction({ name: 'Lazy', run: (text: string) => text })
    Object.defineProperty(lazy, 'model', { get: throwing })
    // An LLM call whose chat model's provider, and one whose settings, throw when read once it is built.
    const unnamed = new ScriptedChatModel({ responses: ['good'] })
    const unnamedCall = new LLMCall({ name: 'Unnamed', model: unnamed })
    Object.defineProperty(unnamed, 'provider', { get: throwing })
    const unsettled = new LLMCall({ name: 'Unsettled', model: new ScriptedChatModel({ responses: ['good'] }) })
    Object.defineProperty(unsettled, 'settings', { get: throwing })
    // A combinator of the user's own with such a getter: the runs under it are traced too.
    const inner = new Chain({
      name: 'Inner',
      children: [lazy, defineFunction({ name: 'Child', run: (text: string) => text })],
    })
    Object.defineProperty(inner, 'model', { get: throwing })
    const pipeline = new Chain({
      name: 'Outer',
      children: [
        inner,
        defineFunction({
          name: 'Prompt',
          run: (text: string) => ({ messages: [{ role: 'user' as const, content: text }] }),
        }),
        unnamedCall,
      ],
    })
    const logger = createMemoryLogger()
    await expect(pipeline.invoke('hello', { onEvent: tracing.listener, logger })).resolves.toBe('good')
    // The call fails, as it reads its settings to build its request: its span records that.
    const input = { messages: [{ role: 'user' as const, content: 'hello' }] }
    await expect(unsettled.invoke(input, { onEvent: tracing.listener, logger })).rejects.toThrow('not readable')

    const finished = await spans()
    for (const name of ['Outer', 'Inner', 'Lazy', 'Child', 'Prompt', 'Unnamed'])
      expect(spanOf(finished, name).status.code).toBe(SpanStatusCode.UNSET)
    expect(spanOf(finished, 'Unsettled').status.code).toBe(SpanStatusCode.ERROR)
    expect(parentOf(finished, spanOf(finished, 'Lazy'))).toBe('Inner')
    expect(parentOf(finished, spanOf(finished, 'Child'))).toBe('Inner')
    expect(spanOf(finished, 'Lazy').kind).toBe(SpanKind.INTERNAL)
    expect(spanOf(finished, 'Unsettled')).toMatchObject({
      name: 'chat scripted-model',
      kind: SpanKind.CLIENT,
      attributes: { 'gen_ai.provider.name': 'scripted', 'gen_ai.request.model': 'scripted-model' },
    })
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([])
    expect(tracing.openSpans).toBe(0)
  })

  it('records the failure of a run that holds a revoked Proxy where a list may be: messages, stop, finish reasons', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const { proxy: revoked, revoke } = Proxy.revocable([], {})
    revoke()
    const messages = [{ role: 'user', content: 'hi' }]
    const chat = new LLMCall({ name: 'unreadable', model: new ScriptedChatModel({ responses: [] }) })
    for (const input of [{ messages: revoked }, { messages, stop: revoked }]) {
      await expect(chat.invoke(input as never, { onEvent: tracing.listener })).rejects.toThrow(ValidationError)
    }
    const annotated = defineFunction({
      name: 'annotated',
      retry: { attempts: 1 },
      run: (_value: number, context: RunContext) => {
        context.annotate('finishReasons', revoked)
        throw new Error('failed after annotating')
      },
    })
    await expect(annotated.invoke(1, { onEvent: tracing.listener })).rejects.toThrow('failed after annotating')

    expect(tracing.openSpans).toBe(0)
    const finished = await spans()
    const calls = finished.filter((span) => span.attributes['tinyllm.function'] === 'unreadable')
    expect(calls.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR])
    const failed = spanOf(finished, 'annotated')
    expect(failed.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed.attributes['error.type']).toBe('FunctionError')
    expect(eventNames(failed)).toContain('exception')
  })

  it('reads the stop sequences of an LLM call as redact does, so a sparse list takes no time', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const stop: unknown[] = ['END']
    stop[2 ** 32 - 2] = 'last'
    const chatModel = { provider: 'test', modelId: 'm', doGenerate: () => {} }
    const source = { name: 'chat', kind: 'llm', model: chatModel } as unknown as LifecycleEvent['source']
    const event = { runId: 'stop-1', parentRunId: undefined, function: 'chat', kind: 'llm', source, attempt: 1 }
    tracing.listener({ ...event, from: 'init', to: 'input_validation', at: 1, input: { stop } })
    tracing.listener({ ...event, from: 'input_validation', to: 'complete', at: 2 })

    const sequences = spanOf(await spans(), 'chat').attributes['gen_ai.request.stop_sequences'] as string[]
    expect(sequences[0]).toBe('END')
    // Its first 10,000 items read, and kept to 10,000 characters in all (and the ellipsis of the last one cut).
    expect(sequences.length).toBeLessThan(10_001)
    expect(sequences.join('').length).toBeLessThanOrEqual(10_001)
  })

  it('reads an annotated list of finish reasons as redact does, so a sparse list takes no time', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const sparse: unknown[] = ['stop']
    sparse[2 ** 32 - 2] = 'length'
    const step = defineFunction({
      name: 'annotated',
      run: (value: number, context: RunContext) => {
        context.annotate('finishReasons', sparse)
        return value
      },
    })
    await step.invoke(1, { onEvent: tracing.listener })

    expect(tracing.openSpans).toBe(0)
    expect(spanOf(await spans(), 'annotated').attributes['gen_ai.response.finish_reasons']).toBeUndefined()
  })

  it('reads a captured output as redact does, so a sparse list in it takes no time', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const sparse: unknown[] = ['first']
    sparse[2 ** 32 - 2] = 'last'
    for (const [name, value] of [
      ['list', sparse],
      ['choices', { choices: sparse }],
    ] as const) {
      const toSparse: StandardSchemaV1<unknown> = {
        '~standard': { version: 1, vendor: 'test', validate: () => ({ value }) },
      }
      const chat = new LLMCall({
        name,
        model: new ScriptedChatModel({ responses: ['{}'] }),
        structuredOutput: { name: 'sparse', schema: toSparse, jsonSchema: { type: 'object' } },
      })
      await chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })
    }

    expect(tracing.openSpans).toBe(0)
    const list = JSON.parse(String(spanOf(await spans(), 'list').attributes['gen_ai.output.messages']))
    expect(list.length).toBeLessThanOrEqual(10_001)
    expect(list[0].parts[0].content).toBe('first')
    const choices = JSON.parse(String(spanOf(await spans(), 'choices').attributes['gen_ai.output.messages']))
    expect(choices[0].parts[0].content).toMatch(/^\{"choices":\["first",null,/)
  })

  it('records the cost of priced models on the call and on every ancestor', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({
      name: 'priced',
      model: new ScriptedChatModel({
        responses: [{ content: 'ok', usage: { inputTokens: 1000, outputTokens: 1000 } }],
      }),
      settings: { model: 'gpt-4o-mini' },
      prices: { 'gpt-4o-mini': { inputPerMillion: 1, outputPerMillion: 2 } },
    })
    const chain = new Chain({ name: 'Outer', children: [chat] })
    await chain.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })
    expect(spanOf(await spans(), 'priced').attributes['tinyllm.cost_usd']).toBeCloseTo(0.003, 10)
    expect(spanOf(await spans(), 'Outer').attributes['tinyllm.cost_usd']).toBeCloseTo(0.003, 10)
  })

  it('keeps the error, usage and cost of a run that annotates hundreds of facts: the attribute limit drops its annotations first', async () => {
    // The SDK's default span limits keep a span's first 128 attributes and drop the rest.
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chat = new LLMCall({
      name: 'priced',
      model: new ScriptedChatModel({
        responses: [{ content: 'ok', usage: { inputTokens: 1000, outputTokens: 1000 } }],
      }),
      settings: { model: 'gpt-4o-mini' },
      prices: { 'gpt-4o-mini': { inputPerMillion: 1, outputPerMillion: 2 } },
    })
    const audit = defineFunction({
      name: 'Audit',
      run: async (items: number, runContext: RunContext) => {
        await runContext.invoke(chat, { messages: [{ role: 'user', content: 'hi' }] })
        for (let item = 0; item < items; item++) runContext.annotate(`item${item}`, 'checked')
        throw new Error('one item failed')
      },
    })
    await expect(audit.invoke(300, { onEvent: tracing.listener })).rejects.toThrow('one item failed')
    const span = spanOf(await spans(), 'Audit')
    expect(span.attributes).toMatchObject({
      'error.type': 'FunctionError',
      'tinyllm.error.state': 'running',
      'tinyllm.attempt': 1,
      'tinyllm.usage.calls': 1,
      'tinyllm.usage.input_tokens': 1000,
    })
    expect(span.attributes['tinyllm.cost_usd']).toBeCloseTo(0.003, 10)
    expect(span.attributes['tinyllm.annotation.item0']).toBe('checked')
  })

  it('records message content only when asked to, with secrets redacted', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const model = new ScriptedChatModel({ responses: ['good'] })
    await classifier(model).invoke('My key is sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789.', {
      onEvent: tracing.listener,
    })
    const call = spanOf(await spans(), 'classify')
    const input = JSON.parse(String(call.attributes['gen_ai.input.messages']))
    expect(input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'My key is [REDACTED].' }] }])
    expect(JSON.parse(String(call.attributes['gen_ai.output.messages']))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'good' }], finish_reason: 'stop' },
    ])
  })

  it("records a whole result's reasoning and tool calls as the conventions' parts, and a message's reasoning sent back, redacted", async () => {
    const key = 'sk-ant-api03-Abcdefghijklmnopqrstuvwxyz0123456789'
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const reasoning = [
      { text: `The key is ${key}; look it up.`, provider: 'anthropic', signature: 'proof' },
      { text: '', provider: 'anthropic', redactedData: 'encrypted' },
    ]
    const chat = new LLMCall({
      name: 'thinking',
      model: new ScriptedChatModel({
        responses: [{ content: null, toolCalls: [{ id: 'call_7', name: 'lookup', arguments: '{"q":1}' }], reasoning }],
      }),
      output: 'result',
      settings: { tools: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }] },
    })
    const messages = [
      { role: 'user' as const, content: 'q' },
      { role: 'assistant' as const, content: 'Looking.', reasoning },
      { role: 'user' as const, content: 'again' },
    ]
    await chat.invoke({ messages }, { onEvent: tracing.listener })

    const call = spanOf(await spans(), 'thinking')
    const thought = { type: 'reasoning', content: 'The key is [REDACTED]; look it up.' }
    expect(JSON.parse(String(call.attributes['gen_ai.input.messages']))[1]).toEqual({
      role: 'assistant',
      parts: [thought, { type: 'text', content: 'Looking.' }],
    })
    expect(JSON.parse(String(call.attributes['gen_ai.output.messages']))).toEqual([
      {
        role: 'assistant',
        parts: [thought, { type: 'tool_call', id: 'call_7', name: 'lookup', arguments: '{"q":1}' }],
        finish_reason: 'tool_calls',
      },
    ])
    expect(JSON.stringify(call.attributes)).not.toContain(key)
  })

  it("cuts every text of a captured message part at maxContentLength, a tool call's id and name as well", async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true, maxContentLength: 10 })
    const long = 'x'.repeat(100_000)
    const cut = (text: string) => `${text.slice(0, 10)}… (${text.length - 10} more characters)`
    const args = JSON.stringify({ q: long })
    const chat = new LLMCall({
      name: 'long',
      model: new ScriptedChatModel({
        responses: [{ content: null, toolCalls: [{ id: long, name: 'lookup', arguments: args }] }],
      }),
      output: 'result',
      settings: { tools: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }] },
    })
    const messages = [
      { role: 'user' as const, content: 'q' },
      { role: 'assistant' as const, content: null, toolCalls: [{ id: long, name: long, arguments: '{}' }] },
      { role: 'tool' as const, toolCallId: long, content: 'r' },
    ]
    await chat.invoke({ messages }, { onEvent: tracing.listener })

    const call = spanOf(await spans(), 'long')
    const input = JSON.parse(String(call.attributes['gen_ai.input.messages']))
    expect(input[1].parts).toEqual([{ type: 'tool_call', id: cut(long), name: cut(long), arguments: '{}' }])
    expect(input[2].parts).toEqual([{ type: 'tool_call_response', id: cut(long), response: 'r' }])
    const output = JSON.parse(String(call.attributes['gen_ai.output.messages']))
    // Ten characters of JSON: `{\"q\":\"x`, the quotes escaped, two characters each.
    const argumentsCut = `{"q":"x… (${args.length - 7} more characters)`
    expect(output[0].parts).toEqual([{ type: 'tool_call', id: cut(long), name: 'lookup', arguments: argumentsCut }])
  })

  it('keeps the text of a captured conversation to maxContentTotalLength in all, whatever its length', async () => {
    const { provider, spans } = memoryTracing()
    // The defaults: 16,384 characters a part, 131,072 in all.
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const page = 'x'.repeat(10_000)
    const long = Array.from({ length: 2_000 }, (_, index) => ({ role: 'user' as const, content: `${index} ${page}` }))
    const answer = new LLMCall({ name: 'long conversation', model: new ScriptedChatModel({ responses: [page] }) })
    await answer.invoke({ messages: long }, { onEvent: tracing.listener })
    const input = String(spanOf(await spans(), 'long conversation').attributes['gen_ai.input.messages'])
    // 20 MB of conversation: what is recorded stays near the bound, its JSON included.
    expect(input.length).toBeLessThan(131_072 + 10_000)
    const recorded = JSON.parse(input) as Array<{ role: string; parts: Array<{ content: string }> }>
    expect(recorded[0]!.parts[0]!.content).toBe(`0 ${page}`)
    const last = recorded.at(-1)!.parts.at(-1)!.content
    expect(last).toMatch(/… \(\d+ more characters\)$/)

    // Every string counts, roles and tool calls' ids, names and arguments included, and each message's and part's own
    // JSON; what follows the cut is left out.
    const small = memoryTracing()
    const bounded = new RunTracer({
      tracerProvider: small.provider,
      captureContent: true,
      maxContentLength: 9,
      maxContentTotalLength: 149,
    })
    const chat = new LLMCall({
      name: 'bounded',
      model: new ScriptedChatModel({
        responses: [{ content: 'abcdefghij', toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }] }],
      }),
      output: 'result',
      settings: { tools: [{ name: 'f', parameters: { type: 'object', properties: {} } }] },
    })
    const messages = [
      { role: 'user' as const, content: 'hello' },
      { role: 'assistant' as const, content: null, toolCalls: [{ id: 'id', name: 'name', arguments: '{"q":1}' }] },
      { role: 'tool' as const, toolCallId: 'id', content: 'never recorded' },
    ]
    await chat.invoke({ messages }, { onEvent: bounded.listener })
    const call = spanOf(await small.spans(), 'bounded')
    // A message's JSON is 23 characters, a text part's 29 and a tool call's 54: 23 + user (4) + 29 + hello (5) + 23 +
    // assistant (9) + 54 + id (2) = 149, so the total is spent at 'name', and the tool message left out.
    expect(JSON.parse(String(call.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'hello' }] },
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'id', name: '… (4 more characters)', arguments: '… (7 more characters)' }],
      },
    ])
    // The answer: 23 + assistant (9) + 29 + abcdefghi (9) and the note its cut adds (21) + 54 + c1 (2) + f (1) = 148,
    // so the total is spent at the arguments, and the finish reason left out.
    expect(JSON.parse(String(call.attributes['gen_ai.output.messages']))).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: 'abcdefghi… (1 more characters)' },
          { type: 'tool_call', id: 'c1', name: 'f', arguments: '{… (1 more characters)' },
        ],
      },
    ])
  })

  it('counts each captured character as JSON writes it: quotes and control characters cannot multiply the bound', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({
      tracerProvider: provider,
      captureContent: true,
      maxContentLength: 500,
      maxContentTotalLength: 1_000,
    })
    // JSON writes a quote as two characters and \u0001 as six: counted as one each, 1,000 would record up to 6,000.
    const texts = ['\u0001'.repeat(10_000), '"'.repeat(10_000), '\\\n'.repeat(5_000), `${'😀'.repeat(300)}\ud800`]
    const messages = texts.map((content) => ({ role: 'user' as const, content }))
    const answer = new LLMCall({
      name: 'escaped',
      model: new ScriptedChatModel({ responses: ['\u0002'.repeat(10_000)] }),
    })
    await answer.invoke({ messages }, { onEvent: tracing.listener })
    const span = spanOf(await spans(), 'escaped')
    const input = String(span.attributes['gen_ai.input.messages'])
    const output = String(span.attributes['gen_ai.output.messages'])
    expect([input.length <= 1_000 + 100, output.length <= 1_000 + 100]).toEqual([true, true])
    const [first] = JSON.parse(input) as Array<{ parts: Array<{ content: string }> }>
    // 500 characters of JSON hold 83 escaped control characters (498), then the count of the rest.
    expect(first!.parts[0]!.content).toBe(`${'\u0001'.repeat(83)}… (${10_000 - 83} more characters)`)
    const [answered] = JSON.parse(output) as Array<{ parts: Array<{ content: string }> }>
    expect(answered!.parts[0]!.content).toBe(`${'\u0002'.repeat(83)}… (${10_000 - 83} more characters)`)
  })

  it('keeps captured content near maxContentTotalLength when its parts hold no text: each part and message counts', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true, maxContentTotalLength: 1_000 })
    // Tool calls with no id, name or arguments, and messages with empty text: each adds to the JSON, none to the text.
    const calls = Array.from({ length: 1_000 }, () => ({}))
    const messages = Array.from({ length: 20 }, () => ({ role: 'assistant', content: '', toolCalls: calls }))
    const answer = new LLMCall({ name: 'empty parts', model: new ScriptedChatModel({ responses: ['ok'] }) })
    await answer.invoke({ messages } as never, { onEvent: tracing.listener }).catch(() => undefined)
    const input = String(spanOf(await spans(), 'empty parts').attributes['gen_ai.input.messages'])
    expect(input.length).toBeLessThanOrEqual(1_000 + 100)
    const recorded = JSON.parse(input) as Array<{ role: string; parts: Array<{ type: string }> }>
    expect(recorded[0]!.parts.slice(0, 2)).toEqual([
      { type: 'text', content: '' },
      { type: 'tool_call', id: '', name: '', arguments: '' },
    ])
  })

  it('counts what a cut adds and each finish reason’s key against maxContentTotalLength: short cuts cannot double it', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({
      tracerProvider: provider,
      captureContent: true,
      maxContentLength: 1,
      maxContentTotalLength: 10_000,
    })
    // Every text is cut at one character, and each cut adds `… (1 more characters)`: counted as one, 10,000 would
    // record twice as many.
    const call = { id: 'ab', name: 'ab', arguments: 'ab' }
    const messages = Array.from({ length: 1_000 }, () => ({ role: 'assistant', content: 'ab', toolCalls: [call] }))
    const chat = new LLMCall({
      name: 'short cuts',
      model: new ScriptedChatModel({
        responses: [{ content: 'ab', choices: Array.from({ length: 999 }, () => 'ab') }],
      }),
      output: 'texts',
    })
    await chat.invoke({ messages, n: 1_000 } as never, { onEvent: tracing.listener })
    const span = spanOf(await spans(), 'short cuts')
    const input = String(span.attributes['gen_ai.input.messages'])
    const output = String(span.attributes['gen_ai.output.messages'])
    expect([input.length, output.length].map((length) => length <= 10_000 + 100)).toEqual([true, true])
    const [first] = JSON.parse(input) as Array<{ role: string; parts: Array<{ content: string }> }>
    // Each text is still cut at maxContentLength, with the count of the rest.
    expect([first!.role, first!.parts[0]!.content]).toEqual(['a… (8 more characters)', 'a… (1 more characters)'])
  })

  it('cuts and counts a finish reason of the captured output as every string of it, whatever a model of its own says', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true, maxContentTotalLength: 1_000 })
    const scripted = new ScriptedChatModel({ responses: ['ok', 'ok'] })
    const reason = 'x'.repeat(1_000_000)
    // A chat model written in plain JavaScript answers what it likes.
    const model = {
      specificationVersion: scripted.specificationVersion,
      provider: scripted.provider,
      modelId: scripted.modelId,
      doGenerate: async (...args: Parameters<ScriptedChatModel['doGenerate']>) => {
        const result = await scripted.doGenerate(...args)
        return { ...result, choices: result.choices.map((choice) => ({ ...choice, finishReason: reason })) }
      },
      doStream: (...args: Parameters<ScriptedChatModel['doStream']>) => scripted.doStream(...args),
    } as unknown as ScriptedChatModel
    for (const output of ['text', 'result'] as const) {
      const call = new LLMCall({ name: `reason ${output}`, model, output })
      await call.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener }).catch(() => {})
      const recorded = String(spanOf(await spans(), `reason ${output}`).attributes['gen_ai.output.messages'])
      expect(recorded.length).toBeLessThanOrEqual(1_000 + 100)
    }
  })

  it('redacts what the server sent before it becomes an attribute: the answering model and the request id', async () => {
    const key = 'tenant7-key-0f3a9c2e5b1d4e6f'
    const server = await startOpenAICompatibleServer()
    // A server (or a proxy) that echoes the caller's key where the model and the request id go.
    server.setHandler('POST /v1/chat/completions', ({ request }) => {
      const echoed = String(request.headers.authorization).slice('Bearer '.length)
      return {
        headers: { 'x-request-id': echoed },
        json: {
          id: `chatcmpl-${echoed}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: echoed,
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        },
      }
    })
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    try {
      const chat = new OpenAIChat({ name: 'echoing', model: 'gpt-4o-mini', apiKey: key, baseURL: server.baseURL })
      await chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }, { onEvent: tracing.listener })
    } finally {
      await server.close()
    }
    const call = spanOf(await spans(), 'echoing')
    expect(call.attributes).toMatchObject({
      'gen_ai.response.model': '[REDACTED]',
      'gen_ai.response.id': 'chatcmpl-[REDACTED]',
      'tinyllm.request_id': '[REDACTED]',
    })
    expect(JSON.stringify([call.name, call.attributes, call.events])).not.toContain(key)
  })

  it('redacts captured content before cutting it, so no part of a key survives the cut', async () => {
    const key = 'tenant7-key-0f3a9c2e5b1d4e6f'
    const release = registerSecret(key)
    try {
      const { provider, spans } = memoryTracing()
      const tracing = new RunTracer({ tracerProvider: provider, captureContent: true, maxContentLength: 20 })
      const chat = new LLMCall({ name: 'cut', model: new ScriptedChatModel({ responses: [`yours: ${key}, kept`] }) })
      await chat.invoke(
        { messages: [{ role: 'user', content: `my key: ${key} and more` }] },
        { onEvent: tracing.listener },
      )
      const call = spanOf(await spans(), 'cut')
      const input = JSON.parse(String(call.attributes['gen_ai.input.messages']))
      const output = JSON.parse(String(call.attributes['gen_ai.output.messages']))
      // A text longer than the span keeps is read no further, and counted from its length as given (45 characters).
      expect(input[0].parts[0].content).toBe('my key: [REDACTED] a… (25 more characters)')
      expect(output[0].parts[0].content).toBe('yours: [REDACTED], k… (3 more characters)')
      expect(JSON.stringify(call.attributes)).not.toContain(key.slice(0, 8))
    } finally {
      release()
    }
  })

  it('redacts an error message whole before a retry reason or status takes its first line', async () => {
    const firstLine = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
    const key = `${firstLine}\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj`
    let release = (): void => {}
    try {
      const { provider, spans } = memoryTracing()
      const tracing = new RunTracer({ tracerProvider: provider })
      const load = defineFunction({
        name: 'load',
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        run: () => {
          const error = new TinyLLMError({ message: `cannot parse key ${key}`, retryable: true })
          // Registered after the error was made, as a key read later in the process is: its message still holds it.
          release()
          release = registerSecret(key)
          throw error
        },
      })
      await expect(load.invoke(undefined, { onEvent: tracing.listener })).rejects.toThrow(TinyLLMError)
      const span = spanOf(await spans(), 'load')
      const retry = span.events.find((event) => event.name === 'retrying')!
      expect(retry.attributes?.['tinyllm.retry.reason']).toBe('TinyLLMError: cannot parse key [REDACTED]')
      expect(span.status.message).toBe('TinyLLMError: cannot parse key [REDACTED]')
      expect(JSON.stringify([span.attributes, span.events, span.status])).not.toContain(firstLine)
    } finally {
      release()
    }
  })

  it('redacts an annotation key that holds a secret, and the value under a key named like one', async () => {
    const secret = 'hunter2-registered-canary-value'
    const release = registerSecret(secret)
    try {
      const { provider, spans } = memoryTracing()
      const tracing = new RunTracer({ tracerProvider: provider })
      const annotated = defineFunction({
        name: 'annotated',
        run: (_: unknown, context: RunContext) => {
          context.annotate(secret, 'v')
          context.annotate('apiKey', 12345678)
          context.annotate('auth', 'ada:hunter2')
          context.annotate('pass', 3)
          context.annotate('plain', 3)
          return 'done'
        },
      })
      await annotated.invoke(undefined, { onEvent: tracing.listener })
      const attributes = spanOf(await spans(), 'annotated').attributes
      expect(JSON.stringify(attributes)).not.toContain(secret)
      expect(attributes['tinyllm.annotation.[REDACTED]']).toBe('v')
      expect(attributes['tinyllm.annotation.apiKey']).toBe('[REDACTED]')
      expect(attributes['tinyllm.annotation.auth']).toBe('[REDACTED]')
      expect(attributes['tinyllm.annotation.pass']).toBe(3)
      expect(attributes['tinyllm.annotation.plain']).toBe(3)
    } finally {
      release()
    }
  })

  it('shows each retry as a span event with its reason, and the attempts made', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const model = new ScriptedChatModel({
      responses: [
        new ProviderCallError({ provider: 'scripted', message: 'upstream overloaded', status: 503, retryable: true }),
        'good',
      ],
    })
    await classifier(model).invoke('Steady income.', { onEvent: tracing.listener })

    const call = spanOf(await spans(), 'classify')
    expect(eventNames(call)).toEqual([
      'input_validation',
      'running',
      'retrying',
      'running',
      'output_validation',
      'processing_output',
      'complete',
    ])
    const retry = call.events.find((event) => event.name === 'retrying')!
    expect(retry.attributes).toMatchObject({
      'tinyllm.from': 'running',
      'tinyllm.attempt': 1,
      'error.type': 'ProviderCallError',
    })
    expect(String(retry.attributes?.['tinyllm.retry.reason'])).toContain('upstream overloaded')
    expect(call.attributes['tinyllm.attempt']).toBe(2)
    expect(call.status.code).toBe(SpanStatusCode.UNSET)
  })

  it('records the error and sets the status of a failed run and of the runs it failed', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const chain = new Chain({
      name: 'Outer',
      children: [
        defineFunction({
          name: 'Broken',
          run: (): string => {
            throw new Error('ledger unreadable (token=hunter2hunter2hunter2)')
          },
        }),
      ],
    })
    await expect(chain.invoke(undefined, { onEvent: tracing.listener })).rejects.toThrow()

    const broken = spanOf(await spans(), 'Broken')
    expect(broken.status.code).toBe(SpanStatusCode.ERROR)
    expect(broken.status.message).toContain('FunctionError in running')
    expect(broken.attributes).toMatchObject({ 'error.type': 'FunctionError', 'tinyllm.error.state': 'running' })
    expect(eventNames(broken)).toEqual(['input_validation', 'running', 'failed', 'exception'])
    const exception = broken.events.find((event) => event.name === 'exception')!
    expect(exception.attributes?.['exception.type']).toBe('FunctionError')
    expect(JSON.stringify([broken.attributes, broken.events, broken.status])).not.toContain('hunter2hunter2hunter2')
    expect(spanOf(await spans(), 'Outer').status.code).toBe(SpanStatusCode.ERROR)
  })

  it('cuts an error of megabytes at 1,000 characters in its status and exception, its stack keeping its frames', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const key = 'sk-proj-Abc123Def456Ghi789Jkl012Mno345'
    // A provider of one's own may quote a whole response body in its error, as a subclass of its own may.
    // The cut at 1,000 characters falls inside the key.
    const body = `upstream said: ${'x'.repeat(970)} ${key} ${'y'.repeat(2_000_000)}`
    const call = defineFunction({
      name: 'call',
      run: (): string => {
        throw new ProviderCallError({ provider: 'own', message: body, status: 502 })
      },
    })
    await expect(call.invoke(undefined, { onEvent: tracing.listener })).rejects.toThrow(ProviderCallError)

    const span = spanOf(await spans(), 'call')
    const exception = span.events.find((event) => event.name === 'exception')!.attributes!
    expect(span.status.message!.length).toBeLessThanOrEqual(1_001)
    expect(span.status.message).toMatch(/^ProviderCallError: upstream said: x+/)
    expect(String(exception['exception.message']).length).toBeLessThanOrEqual(1_001)
    expect(exception['exception.message']).toMatch(/^upstream said: x+ \[REDACTED\] y+…$/)
    expect(String(exception['exception.stacktrace']).length).toBeLessThan(10_000)
    expect(String(exception['exception.stacktrace'])).toMatch(/\n\s+at /)
    expect(JSON.stringify([span.attributes, span.events, span.status])).not.toContain('sk-proj-Abc')
  })

  it('ends the spans of an aborted tree with an AbortError', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const controller = new AbortController()
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const waiting = defineFunction({
      name: 'Waiting',
      run: (_input: unknown, runContext: RunContext) =>
        new Promise((_resolve, reject) => {
          started()
          runContext.signal.addEventListener('abort', () => reject(runContext.signal.reason), { once: true })
        }),
    })
    const chain = new Chain({ name: 'Outer', children: [waiting] })
    const result = chain.invoke(undefined, { onEvent: tracing.listener, signal: controller.signal })
    await running
    controller.abort()
    await expect(result).rejects.toMatchObject({ name: 'AbortError' })

    for (const name of ['Outer', 'Waiting']) {
      const span = spanOf(await spans(), name)
      expect(span.status.code).toBe(SpanStatusCode.ERROR)
      expect(span.attributes['error.type']).toBe('AbortError')
    }
    expect(tracing.openSpans).toBe(0)
  })

  it('ends the span of every run, and holds none open, when the tracer’s spans throw as events and attributes are added', async () => {
    const { provider, spans } = memoryTracing()
    const throwing = {
      getTracer(name: string, version?: string) {
        const tracer = provider.getTracer(name, version)
        return {
          startSpan(...args: Parameters<typeof tracer.startSpan>) {
            const span = tracer.startSpan(...args)
            return Object.assign(span, {
              addEvent() {
                throw new Error('addEvent failed')
              },
              setAttribute() {
                throw new Error('setAttribute failed')
              },
            })
          },
          startActiveSpan: tracer.startActiveSpan.bind(tracer),
        }
      },
    }
    const tracing = new RunTracer({ tracerProvider: throwing, captureContent: true })
    const logger = createMemoryLogger()
    const model = new ScriptedChatModel({ responses: ['good'] })

    await expect(classifier(model).invoke('Steady income.', { onEvent: tracing.listener, logger })).resolves.toBe(
      'approved',
    )

    expect(tracing.openSpans).toBe(0)
    expect((await spans()).map((span) => span.attributes['tinyllm.function']).sort()).toEqual(
      ['Approve', 'Credit analysis', 'Label', 'Prompt', 'classify'].sort(),
    )
    expect(logger.entries.some((entry) => entry.message.includes('listener threw'))).toBe(true)
  })

  it('traces a run whose span throws when asked whether it records, ends its span and logs nothing', async () => {
    const { provider, spans } = memoryTracing()
    const throwing = {
      getTracer(name: string, version?: string) {
        const tracer = provider.getTracer(name, version)
        return {
          startSpan(...args: Parameters<typeof tracer.startSpan>) {
            return Object.assign(tracer.startSpan(...args), {
              isRecording(): boolean {
                throw new Error('isRecording failed')
              },
            })
          },
          startActiveSpan: tracer.startActiveSpan.bind(tracer),
        }
      },
    }
    const tracing = new RunTracer({ tracerProvider: throwing })
    const logger = createMemoryLogger()
    const model = new ScriptedChatModel({ responses: ['good'] })

    await expect(classifier(model).invoke('Steady income.', { onEvent: tracing.listener, logger })).resolves.toBe(
      'approved',
    )

    expect(tracing.openSpans).toBe(0)
    const finished = await spans()
    expect(finished.map((span) => span.attributes['tinyllm.function']).sort()).toEqual(
      ['Approve', 'Credit analysis', 'Label', 'Prompt', 'classify'].sort(),
    )
    expect(eventNames(spanOf(finished, 'Approve'))).toEqual(happyPath)
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([])
  })

  it('parents every branch of a Parallel fan-out to the Parallel', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const fanOut = new Parallel({
      name: 'Fan out',
      map: defineFunction({ name: 'Square', run: (value: number) => value * value }),
      concurrency: 4,
    })
    const items = Array.from({ length: 50 }, (_, index) => index)
    await fanOut.invoke(items, { onEvent: tracing.listener })

    const finished = await spans()
    const parallel = spanOf(finished, 'Fan out')
    const branches = finished.filter((span) => span.attributes['tinyllm.function'] === 'Square')
    expect(branches).toHaveLength(50)
    for (const branch of branches) {
      expect(branch.parentSpanContext?.spanId).toBe(parallel.spanContext().spanId)
      expect(branch.spanContext().traceId).toBe(parallel.spanContext().traceId)
      expect(eventNames(branch)).toEqual(happyPath)
    }
    expect(new Set(branches.map((branch) => branch.attributes['tinyllm.run_id'])).size).toBe(50)
  })

  it('nests a root run under the span active where it was started', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const step = defineFunction({ name: 'Step', run: () => 'done' })
    const tracer = provider.getTracer('service')
    await tracer.startActiveSpan('handle request', async (request) => {
      await step.invoke(undefined, { onEvent: tracing.listener })
      request.end()
    })
    const finished = await spans()
    const request = finished.find((span) => span.name === 'handle request')!
    const run = spanOf(finished, 'Step')
    expect(run.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    expect(run.spanContext().traceId).toBe(request.spanContext().traceId)
  })

  it('makes a run’s span the active context while its run executes', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const tracer = provider.getTracer('inside')
    const work = defineFunction({
      name: 'Work',
      run: async () => {
        await Promise.resolve()
        tracer.startSpan('database query').end()
        return 'ok'
      },
    })
    await new Chain({ name: 'Outer', children: [work] }).invoke(undefined, { onEvent: tracing.listener })
    const finished = await spans()
    const query = finished.find((span) => span.name === 'database query')!
    expect(query.parentSpanContext?.spanId).toBe(spanOf(finished, 'Work').spanContext().spanId)
    // Outside the run, the context is the caller's again.
    expect(trace.getActiveSpan()).toBeUndefined()
  })

  it('makes each tracer’s spans active when two trace trees at the same time', async () => {
    const tracings = [memoryTracing(), memoryTracing()].map(({ provider, spans }) => ({
      tracer: new RunTracer({ tracerProvider: provider }),
      spans,
    }))
    let secondOpen!: () => void
    const secondIsOpen = new Promise<void>((resolve) => {
      secondOpen = resolve
    })
    let firstWorked!: () => void
    const firstHasWorked = new Promise<void>((resolve) => {
      firstWorked = resolve
    })
    // The first tree's Work runs while the second tree is open too.
    const gate = defineFunction({
      name: 'Gate',
      run: async (index: number) => {
        if (index === 0) await secondIsOpen
        else {
          secondOpen()
          await firstHasWorked
        }
        return index
      },
    })
    const activeSpanIds = new Map<number, string | undefined>()
    const work = defineFunction({
      name: 'Work',
      run: (index: number) => {
        activeSpanIds.set(index, trace.getActiveSpan()?.spanContext().spanId)
        if (index === 0) firstWorked()
        return 'ok'
      },
    })
    const pipeline = new Chain({ name: 'Outer', children: [gate, work] })
    await Promise.all(tracings.map(({ tracer }, index) => pipeline.invoke(index, { onEvent: tracer.listener })))
    for (const [index, { tracer, spans }] of tracings.entries()) {
      expect(activeSpanIds.get(index)).toBe(spanOf(await spans(), 'Work').spanContext().spanId)
      expect(tracer.openSpans).toBe(0)
    }
    expect(trace.getActiveSpan()).toBeUndefined()
  })

  it('marks a step replayed from the journal', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const journal = new MemoryJournal()
    const model = new ScriptedChatModel({ responses: ['good'] })
    const pipeline = classifier(model)
    await pipeline.invoke('Steady income.', { onEvent: tracing.listener, journal, runId: 'application-7' })
    await pipeline.invoke('Steady income.', { onEvent: tracing.listener, journal, runId: 'application-7' })

    const calls = (await spans()).filter((span) => span.attributes['tinyllm.function'] === 'classify')
    expect(calls.map((span) => span.attributes['tinyllm.replayed'])).toEqual([undefined, true])
    expect(model.calls).toHaveLength(1)
  })

  it('reads each captured message only as far as its span keeps it: 40 messages of 13 MB are traced in moments, counted from their length', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const key = 'sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789'
    // The key straddles the cut at 16,384 characters: it goes whole, never in part.
    const text = `${'x'.repeat(16_370)} ${key}${' "a": "b",'.repeat(1_300_000)}`
    // Under 512 MB in all, the longest string the call itself can make of them.
    const messages = Array.from({ length: 40 }, () => ({ role: 'user' as const, content: text }))
    const model = new ScriptedChatModel({ responses: [{ content: 'ok', usage: { inputTokens: 1, outputTokens: 1 } }] })
    const chat = new LLMCall({ name: 'huge', model })
    const started = performance.now()
    await chat.invoke({ messages }, { onEvent: tracing.listener })
    // Redacting every message whole takes most of a minute; what the span keeps is 131,072 characters. A bound for the
    // slowest machine.
    expect(performance.now() - started).toBeLessThan(10_000)
    const input = String(spanOf(await spans(), 'huge').attributes['gen_ai.input.messages'])
    expect(input).not.toContain(key.slice(0, 12))
    const [first] = JSON.parse(input) as Array<{ parts: Array<{ content: string }> }>
    // 16,384 characters of JSON, the quote escaped, and how many more the text as given had.
    const shown = `${'x'.repeat(16_370)} [REDACTED] "`
    expect(first!.parts[0]!.content).toBe(`${shown}… (${text.length - shown.length} more characters)`)
  }, 600_000)

  it('cuts a captured text at 16,384 characters when given no maxContentLength', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider, captureContent: true })
    const long = 'y'.repeat(20_000)
    const chat = new LLMCall({ name: 'default-cut', model: new ScriptedChatModel({ responses: ['ok'] }) })
    await chat.invoke({ messages: [{ role: 'user', content: long }] }, { onEvent: tracing.listener })
    const input = JSON.parse(String(spanOf(await spans(), 'default-cut').attributes['gen_ai.input.messages']))
    expect(input[0].parts).toEqual([{ type: 'text', content: `${long.slice(0, 16_384)}… (3616 more characters)` }])
  })

  it('builds no span when no tracer provider is registered', async () => {
    const tracing = new RunTracer()
    const seen: number[] = []
    const step = defineFunction({
      name: 'Step',
      run: () => {
        seen.push(tracing.openSpans)
        return 'done'
      },
    })
    await new Chain({ name: 'Outer', children: [step] }).invoke(undefined, { onEvent: tracing.listener })
    expect(seen).toEqual([0])
    expect(tracing.openSpans).toBe(0)
  })

  it('keeps a sampled-out tree out of the exporter', async () => {
    const { provider, spans } = memoryTracing({ sampler: new AlwaysOffSampler() })
    const tracing = new RunTracer({ tracerProvider: provider })
    const model = new ScriptedChatModel({ responses: ['good'] })
    await classifier(model).invoke('Steady income.', { onEvent: tracing.listener })
    expect(await spans()).toEqual([])
    expect(tracing.openSpans).toBe(0)
  })

  it('traces every run in the process once started, and none after it stops', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const step = defineFunction({ name: 'Step', run: () => 'done' })
    const stop = tracing.start()
    try {
      await step.invoke(undefined)
    } finally {
      stop()
    }
    await step.invoke(undefined)
    expect(await spans()).toHaveLength(1)
  })

  it('traces the trees in progress when stopped to their end, and none that start afterwards', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: () => void = () => {}
    const slowStarted = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = defineFunction({
      name: 'Slow',
      run: async () => {
        started()
        await gate
        return 'slow'
      },
    })
    const step = defineFunction({ name: 'Step', run: () => 'done' })
    const outer = new Chain({ name: 'Outer', children: [slow, step] })
    const stop = tracing.start()
    const running = outer.invoke(undefined)
    await slowStarted
    expect(tracing.openSpans).toBe(2)
    stop()
    await step.invoke(undefined)
    release()
    await running
    await step.invoke(undefined)

    expect(tracing.openSpans).toBe(0)
    expect((await spans()).map((span) => span.name).sort()).toEqual(['Outer', 'Slow', 'Step'])
  })

  it('hears each event once when started twice, and keeps one subscription however often it is started and stopped', async () => {
    const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('tinyllm.events.global')] as {
      readonly subscribers: readonly unknown[]
    }
    const before = registry.subscribers.length
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: () => void = () => {}
    const slowStarted = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = defineFunction({
      name: 'Slow',
      run: async () => {
        started()
        await gate
        return 'slow'
      },
    })
    const first = tracing.start()
    const second = tracing.start()
    const running = slow.invoke(undefined)
    await slowStarted
    for (let index = 0; index < 1_000; index++) tracing.start()()
    expect(registry.subscribers.length).toBe(before + 1)
    first()
    second()
    release()
    await running

    expect(registry.subscribers.length).toBe(before)
    const finished = await spans()
    expect(finished).toHaveLength(1)
    expect(eventNames(spanOf(finished, 'Slow'))).toEqual(happyPath)
  })

  it('adds each event once to a tree it hears both through start() and in a listener given to invoke', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer({ tracerProvider: provider })
    const heard: LifecycleEvent[] = []
    const onEvent = (event: LifecycleEvent) => {
      heard.push(event)
      tracing.listener(event)
    }
    const stop = tracing.start()
    try {
      await defineFunction({ name: 'Step', run: () => 'done' }).invoke(undefined, { onEvent })
    } finally {
      stop()
    }
    expect(heard).toHaveLength(happyPath.length)
    const finished = await spans()
    expect(finished).toHaveLength(1)
    expect(eventNames(spanOf(finished, 'Step'))).toEqual(happyPath)
  })

  it('with start(), hears only the run trees that start while a tracer provider is registered', async () => {
    const { provider, spans } = memoryTracing()
    const tracing = new RunTracer()
    // Observes what reaches the tracer: core hands it no event of a tree it did not accept.
    const heard = vi.spyOn(tracing as unknown as { onEvent(event: LifecycleEvent): void }, 'onEvent')
    const step = defineFunction({ name: 'Step', run: () => 'done' })
    const stop = tracing.start()
    try {
      await step.invoke(undefined)
      expect(heard).not.toHaveBeenCalled()
      trace.setGlobalTracerProvider(provider)
      await step.invoke(undefined)
    } finally {
      stop()
      trace.disable()
    }
    expect(heard).toHaveBeenCalledTimes(happyPath.length)
    expect(await spans()).toHaveLength(1)
  })

  it('refuses a maxContentTotalLength that is not a whole number of at least 1', () => {
    for (const maxContentTotalLength of [0, -1, 1.5, Number.NaN, '100'] as never[]) {
      expect(() => new RunTracer({ maxContentTotalLength })).toThrow(ConfigurationError)
    }
    expect(() => new RunTracer({ maxContentTotalLength: 0 })).toThrow(/maxContentTotalLength/)
  })

  it('refuses options it does not know', () => {
    expect(() => new RunTracer({ capture: true } as never)).toThrow(/capture/)
  })

  it('refuses a tracerProvider without getTracer and a captureContent that is not a boolean, where they are given', async () => {
    for (const options of [{ tracerProvider: {} }, { tracerProvider: null }, { captureContent: 'yes' }] as never[]) {
      expect(() => new RunTracer(options)).toThrow(ConfigurationError)
    }
    expect(() => new RunTracer({ tracerProvider: {} } as never)).toThrow(
      'RunTracer: tracerProvider must be a TracerProvider (with getTracer), got an object',
    )
    expect(() => new RunTracer({ captureContent: 'yes' } as never)).toThrow(
      'RunTracer: captureContent must be true or false, got "yes"',
    )
  })

  it('refuses options whose reading throws with a ConfigurationError', () => {
    for (const key of ['tracerProvider', 'captureContent', 'maxContentLength', 'maxContentTotalLength']) {
      const unreadable = Object.defineProperty({}, key, {
        enumerable: true,
        get() {
          throw new Error('not readable')
        },
      })
      expect(() => new RunTracer(unreadable)).toThrow('RunTracer: options could not be read: Error: not readable')
    }
  })
})

function hrToMs([seconds, nanoseconds]: readonly [number, number]): number {
  return seconds * 1000 + nanoseconds / 1e6
}
