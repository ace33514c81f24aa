import { context, propagation, type TextMapPropagator, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { BullMQExecutor, CarriedContextError, type ContextCarrier, serve } from '@tinyllm/bullmq'
import { type RedisServer, startRedisServer } from '@tinyllm/bullmq/testing'
import { defineFunction } from '@tinyllm/core'
import { Chain } from '@tinyllm/flow'
import { OpenAIChat } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { memoryTracing, parentOf, spanOf } from './__fixtures__/spans.js'
import { RunTracer } from './run-tracer.js'
import { traceContextCarrier } from './trace-context-carrier.js'

// A producer and a worker as two traced services have them: each a tracer provider, a context manager and a RunTracer;
// here both in this process, their spans in one memory exporter. The run crosses between them only through Redis.
const { provider, spans } = memoryTracing()
const tracing = new RunTracer({ tracerProvider: provider })
const producerTracer = provider.getTracer('producer')
let redis: RedisServer
let model: OpenAICompatibleServer
let stopTracing: () => void

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  stopTracing = tracing.start()
  redis = await startRedisServer()
  model = await startOpenAICompatibleServer({ replies: () => 'good' })
})

afterAll(async () => {
  stopTracing?.()
  await model?.close()
  await redis?.stop()
  context.disable()
})

const closing: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const item of closing.splice(0).reverse()) await item.close()
  propagation.disable()
})

/** A prompt step and an LLM call, and a step that reads the baggage the run sees. */
function classifier() {
  return new Chain({
    name: 'classify',
    children: [
      defineFunction({
        name: 'prompt',
        run: (text: string) => ({ messages: [{ role: 'user' as const, content: text }] }),
      }),
      new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', baseURL: model.baseURL, apiKey: 'sk-loopback' }),
      defineFunction({
        name: 'tenant',
        run: (answer: string) =>
          `${answer} for ${propagation.getActiveBaggage()?.getEntry('tenant')?.value ?? 'nobody'}`,
      }),
    ],
  })
}

/** A worker and an executor on a queue of their own, each with the carrier given. */
async function setUp(carriers: { producer?: ContextCarrier; worker?: ContextCarrier }) {
  const pipeline = classifier()
  const queue = `q${Math.random().toString(36).slice(2)}`
  const worker = await serve({
    graphs: [pipeline],
    connection: redis.url,
    queue,
    ...(carriers.worker === undefined ? {} : { context: carriers.worker }),
  })
  const executor = new BullMQExecutor({
    connection: redis.url,
    queue,
    pollIntervalMs: 200,
    ...(carriers.producer === undefined ? {} : { context: carriers.producer }),
  })
  closing.push(worker, executor)
  return { pipeline, executor }
}

/** Runs `call` inside a producer span named `name`, as a traced request handler would; returns what it returns. */
function inProducerSpan<T>(name: string, call: () => Promise<T>): Promise<T> {
  return producerTracer.startActiveSpan(name, async (span) => {
    try {
      return await call()
    } finally {
      span.end()
    }
  })
}

/** The spans of the run with this id and of its children. */
function runSpans(finished: ReadonlyArray<ReadableSpan>, runId: string): ReadableSpan[] {
  return finished.filter((span) => String(span.attributes['tinyllm.run_id']).split('/')[0] === runId)
}

function producerSpan(finished: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan {
  const found = finished.find((span) => span.name === name)
  if (found === undefined) throw new Error(`no span named ${name}`)
  return found
}

describe('traceContextCarrier', () => {
  it('nests a run on a BullMQ worker under the producer’s span, through the job', async () => {
    const carrier = traceContextCarrier()
    const { pipeline, executor } = await setUp({ producer: carrier, worker: carrier })

    const answer = await inProducerSpan('handle application', () =>
      pipeline.invoke('Steady income.', { executor, runId: 'traced-1' }),
    )

    expect(answer).toBe('good for nobody')
    const finished = await spans()
    const producer = producerSpan(finished, 'handle application')
    const run = runSpans(finished, 'traced-1')
    const root = spanOf(run, 'classify')
    // The worker's root run has the producer's span as its parent, known only from the job (a remote parent).
    expect(root.parentSpanContext).toMatchObject({
      traceId: producer.spanContext().traceId,
      spanId: producer.spanContext().spanId,
      isRemote: true,
    })
    expect(parentOf(finished, root)).toBe('handle application')
    // And the LLM call nests under the root run, in the same trace.
    const chat = spanOf(run, 'chat')
    expect(chat.name).toBe('chat gpt-4o-mini')
    expect(parentOf(run, chat)).toBe('classify')
    expect(run.map((span) => span.spanContext().traceId)).toEqual(run.map(() => producer.spanContext().traceId))
  })

  it('propagates with the registered propagator when there is one: baggage travels too', async () => {
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    )
    const carrier = traceContextCarrier()
    const { pipeline, executor } = await setUp({ producer: carrier, worker: carrier })
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } })

    const answer = await context.with(propagation.setBaggage(context.active(), baggage), () =>
      inProducerSpan('handle with baggage', () => pipeline.invoke('Steady income.', { executor, runId: 'traced-2' })),
    )

    expect(answer).toBe('good for acme')
    const finished = await spans()
    const root = spanOf(runSpans(finished, 'traced-2'), 'classify')
    expect(parentOf(finished, root)).toBe('handle with baggage')
    expect(root.parentSpanContext?.isRemote).toBe(true)
  })

  it('carries nothing, and breaks nothing, without a carrier on either side or outside any span', async () => {
    const carrier = traceContextCarrier()
    const cases: Array<[string, { producer?: ContextCarrier; worker?: ContextCarrier }, boolean]> = [
      ['no-producer-carrier', { worker: carrier }, true],
      ['no-worker-carrier', { producer: carrier }, true],
      ['outside-any-span', { producer: carrier, worker: carrier }, false],
    ]
    for (const [runId, carriers, inSpan] of cases) {
      const { pipeline, executor } = await setUp(carriers)
      const invoke = () => pipeline.invoke('Steady income.', { executor, runId })
      await expect(inSpan ? inProducerSpan(`producer of ${runId}`, invoke) : invoke()).resolves.toBe('good for nobody')
      const finished = await spans()
      const root = spanOf(runSpans(finished, runId), 'classify')
      expect(root.parentSpanContext, runId).toBeUndefined()
      expect(new Set(runSpans(finished, runId).map((span) => span.spanContext().traceId)).size).toBe(1)
    }
    expect(carrier.inject()).toEqual({})
  })

  it('a registered propagator that writes more than a context may take fails the run before it is queued', async () => {
    const bloated: TextMapPropagator = {
      inject: (_, carried, setter) => setter.set(carried, 'x-everything', 'x'.repeat(100_000)),
      extract: (active) => active,
      fields: () => ['x-everything'],
    }
    propagation.setGlobalPropagator(bloated)
    const { pipeline, executor } = await setUp({ producer: traceContextCarrier(), worker: traceContextCarrier() })
    const before = model.chatRequests.length

    const error = await inProducerSpan('handle too much', () =>
      pipeline.invoke('Steady income.', { executor, runId: 'bloated' }),
    ).catch((thrown: unknown) => thrown)

    expect(CarriedContextError.isInstance(error)).toBe(true)
    expect(await executor.result('bloated')).toBeUndefined()
    expect(model.chatRequests.length).toBe(before)
  })

  it('carried values a propagator registered alone cannot read describe nothing: the call runs, without a parent', () => {
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    const unreadable: unknown[] = [
      null,
      42,
      revocable.proxy,
      {
        get traceparent(): string {
          throw new Error('unreadable')
        },
      },
      new Proxy({}, { get: () => 'not a string either', ownKeys: () => ['traceparent'] }),
    ]
    const throwing: TextMapPropagator = {
      inject: () => undefined,
      extract: () => {
        throw new Error('broken propagator')
      },
      fields: () => ['traceparent'],
    }
    for (const propagator of [new W3CTraceContextPropagator(), throwing]) {
      propagation.setGlobalPropagator(propagator)
      for (const carried of unreadable) {
        const seen = traceContextCarrier().extract(carried as Record<string, string>, () =>
          trace.getSpanContext(context.active()),
        )
        expect(seen).toBeUndefined()
      }
      propagation.disable()
    }
  })

  it('has the shape of a ContextCarrier, and is active only around the call', () => {
    const carrier: ContextCarrier = traceContextCarrier()
    const span = producerTracer.startSpan('outer')
    const carried = context.with(trace.setSpan(context.active(), span), () => carrier.inject())
    span.end()
    expect(carried).toEqual({
      traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
    })
    const seen = carrier.extract(carried, () => trace.getSpanContext(context.active()))
    expect(seen).toMatchObject({ spanId: span.spanContext().spanId, isRemote: true })
    expect(trace.getSpanContext(context.active())).toBeUndefined()
    expect(carrier.extract({}, () => 'called')).toBe('called')
  })
})
