import assert from 'node:assert'
import { AsyncLocalStorage } from 'node:async_hooks'
import { ConfigurationError, defineFunction } from '@tinyllm/core'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BullMQExecutor } from './bullmq-executor.js'
import { CarriedContextError } from './carried-context-error.js'
import { type ContextCarrier, maxCarriedContextLength } from './context-carrier.js'
import { serve } from './serve.js'
import { type RedisServer, startRedisServer } from './testing/index.js'

let redis: RedisServer
let client: Redis

beforeAll(async () => {
  redis = await startRedisServer()
  client = new Redis(redis.url)
})

afterAll(async () => {
  client?.disconnect()
  await redis?.stop()
})

const closing: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const item of closing.splice(0).reverse()) await item.close()
})

/** The request a caller handles, as a service keeps it: in async-local storage, not in the run's input. */
const requests = new AsyncLocalStorage<string>()

/** Carries the request id, the way a trace context is carried. */
const requestCarrier: ContextCarrier = {
  inject: () => {
    const request = requests.getStore()
    return request === undefined ? {} : { request }
  },
  extract: (carried, call) => (carried.request === undefined ? call() : requests.run(carried.request, call)),
}

/** Answers which request the run belongs to, as the worker sees it. */
const whoAsked = defineFunction({ name: 'whoAsked', run: (_: string) => requests.getStore() ?? 'no request' })

async function setUp(options: { producer?: ContextCarrier; worker?: ContextCarrier }) {
  const queue = `q${Math.random().toString(36).slice(2)}`
  const worker = await serve({
    graphs: [whoAsked],
    connection: redis.url,
    queue,
    ...(options.worker === undefined ? {} : { context: options.worker }),
  })
  const executor = new BullMQExecutor({
    connection: redis.url,
    queue,
    pollIntervalMs: 200,
    ...(options.producer === undefined ? {} : { context: options.producer }),
  })
  closing.push(worker, executor)
  /** The job data of a run, as it sits in Redis; `undefined` when no job was queued. */
  const jobData = async (runId: string): Promise<Record<string, unknown> | undefined> => {
    const data = await client.hget(`tinyllm:${queue}:${runId}`, 'data')
    return data === null ? undefined : JSON.parse(data)
  }
  return { executor, jobData }
}

describe('a context carrier', () => {
  it('carries the producer’s context in the job, and makes it active while the worker runs the graph', async () => {
    const { executor, jobData } = await setUp({ producer: requestCarrier, worker: requestCarrier })

    const answer = await requests.run('request-7', () => whoAsked.invoke('x', { executor, runId: 'carried-1' }))

    expect(answer).toBe('request-7')
    expect((await jobData('carried-1'))?.context).toEqual({ request: 'request-7' })
    const outcomes = await requests.run('request-8', () => executor.map(whoAsked, ['a', 'b', 'c']))
    expect(outcomes.map((outcome) => outcome.status === 'fulfilled' && outcome.value)).toEqual([
      'request-8',
      'request-8',
      'request-8',
    ])
  })

  it('carries nothing when there is no context, no carrier on the producer, or none on the worker', async () => {
    const both = await setUp({ producer: requestCarrier, worker: requestCarrier })
    await expect(whoAsked.invoke('x', { executor: both.executor, runId: 'outside-a-request' })).resolves.toBe(
      'no request',
    )
    expect(await both.jobData('outside-a-request')).not.toHaveProperty('context')

    const workerOnly = await setUp({ worker: requestCarrier })
    const fromPlainProducer = await requests.run('request-9', () =>
      whoAsked.invoke('x', { executor: workerOnly.executor, runId: 'plain-producer' }),
    )
    expect(fromPlainProducer).toBe('no request')
    expect(await workerOnly.jobData('plain-producer')).not.toHaveProperty('context')

    const producerOnly = await setUp({ producer: requestCarrier })
    const onPlainWorker = await requests.run('request-10', () =>
      whoAsked.invoke('x', { executor: producerOnly.executor, runId: 'plain-worker' }),
    )
    expect(onPlainWorker).toBe('no request')
    expect((await producerOnly.jobData('plain-worker'))?.context).toEqual({ request: 'request-10' })
  })

  it('carries a context as large as OpenTelemetry’s baggage may be', async () => {
    const baggage = 'k=v,'.repeat(2_048).slice(0, 8_192)
    const carrier: ContextCarrier = { inject: () => ({ baggage }), extract: (_, call) => call() }
    const { executor, jobData } = await setUp({ producer: carrier, worker: carrier })
    await expect(whoAsked.invoke('x', { executor, runId: 'with-baggage' })).resolves.toBe('no request')
    expect((await jobData('with-baggage'))?.context).toEqual({ baggage })
  })

  it('refuses a context that cannot travel with a typed error, before anything is queued', async () => {
    const huge = { traceparent: 'x'.repeat(maxCarriedContextLength) }
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['too-large', () => huge, /returned 16\d{3} characters of JSON, more than the 16384 a context may take/],
      ['not-strings', () => ({ traceparent: 7 }), /returned a number under "traceparent"; only strings travel/],
      ['not-an-object', () => 'traceparent', /must return an object of strings, got a string/],
      // Each would carry nothing, silently: an async inject(), a Map of the strings, another class's instance.
      ['a-promise', async () => ({ traceparent: '00-x' }), /object of strings, got an instance of Promise$/],
      ['a-map', () => new Map([['traceparent', '00-x']]), /object of strings, got an instance of Map$/],
      [
        'unreadable',
        () => Object.defineProperty({}, 'traceparent', { enumerable: true, get: () => assert.fail('getter') }),
        /inject\(\) returned could not be read/,
      ],
      ['a-proxy', () => new Proxy({}, { ownKeys: () => assert.fail('trap') }), /inject\(\) returned could not be read/],
      // A key a megabyte long is quoted in a few dozen characters.
      [
        'long-key',
        () => ({ [`k${'x'.repeat(1e6)}`]: 7 }),
        /^the carrier's inject\(\) returned a number under "kx{10,}.{0,60}; only/,
      ],
      [
        'inject-threw',
        () => {
          throw new Error('no propagator')
        },
        /inject\(\) threw/,
      ],
    ]
    for (const [runId, inject, message] of cases) {
      const carrier = { inject, extract: (_: unknown, call: () => unknown) => call() } as ContextCarrier
      const { executor, jobData } = await setUp({ producer: carrier, worker: requestCarrier })
      const error = await whoAsked.invoke('x', { executor, runId }).catch((thrown: unknown) => thrown)
      expect(CarriedContextError.isInstance(error), runId).toBe(true)
      expect((error as CarriedContextError).reason).toMatch(message)
      expect(error).toMatchObject({ functionName: 'whoAsked', state: 'init' })
      expect((error as Error).message.length).toBeLessThan(1_000)
      if (runId === 'inject-threw') expect((error as Error).cause).toMatchObject({ message: 'no propagator' })
      else if (runId === 'unreadable' || runId === 'a-proxy') expect((error as Error).cause).toBeInstanceOf(Error)
      else expect((error as Error).cause).toBeUndefined()
      expect(await jobData(runId)).toBeUndefined()
      await expect(executor.map(whoAsked, ['a'], { runIds: [`${runId}-batch`] })).rejects.toThrow(CarriedContextError)
      expect(await jobData(`${runId}-batch`)).toBeUndefined()
    }
  })

  it('must be a carrier', async () => {
    const notACarrier = { inject: 'yes' } as unknown as ContextCarrier
    expect(() => new BullMQExecutor({ connection: redis.url, context: notACarrier })).toThrow(ConfigurationError)
    await expect(serve({ graphs: [whoAsked], connection: redis.url, context: notACarrier })).rejects.toThrow(
      /context must be a ContextCarrier/,
    )
  })
})
