import { inspect } from 'node:util'
import {
  AbortError,
  ConfigurationError,
  defineFunction,
  MemoryJournal,
  type RunContext,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from '@tinyllm/core'
import { Chain } from '@tinyllm/flow'
import { OpenAIChat } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { Queue, QueueEvents } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { BullMQExecutor } from './bullmq-executor.js'
import { cancelField } from './cancel-request.js'
import { GraphMismatchError } from './graph-mismatch-error.js'
import { RedisJournal } from './redis-journal.js'
import { RedisRateLimiter } from './redis-rate-limiter.js'
import { queueNames } from './run-job.js'
import { RunJobError } from './run-job-error.js'
import { serve } from './serve.js'
import { type RedisServer, startRedisServer } from './testing/index.js'

let redis: RedisServer
let model: OpenAICompatibleServer

beforeAll(async () => {
  redis = await startRedisServer()
  model = await startOpenAICompatibleServer({ replies: (body) => `echo: ${String(body.messages.at(-1)?.content)}` })
})

afterAll(async () => {
  await model?.close()
  await redis?.stop()
})

const closing: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const item of closing.splice(0).reverse()) await item.close()
})

/** A Proxy trap that throws, for lists whose reading throws. */
function throwing(): never {
  throw new Error('no reading this list')
}

/** A list whose every reading throws: a revoked Proxy. */
function revoked(): never {
  const { proxy, revoke } = Proxy.revocable([], {})
  revoke()
  return proxy as never
}

/** A worker and an executor on a queue of their own. */
async function setUp(options: {
  graphs: Parameters<typeof serve>[0]['graphs']
  version?: string
  workerVersion?: string
  rerunFailed?: boolean
}) {
  const queue = `q${Math.random().toString(36).slice(2)}`
  const worker = await serve({
    graphs: options.graphs,
    connection: redis.url,
    queue,
    concurrency: 8,
    ...(options.workerVersion === undefined ? {} : { version: options.workerVersion }),
  })
  const executor = new BullMQExecutor({
    connection: redis.url,
    queue,
    pollIntervalMs: 200,
    rerunFailed: options.rerunFailed === true,
    ...(options.version === undefined ? {} : { version: options.version }),
  })
  closing.push(worker, executor)
  return { worker, executor, queue }
}

function chatPipeline() {
  const chat = new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', baseURL: model.baseURL, apiKey: 'test' })
  return new Chain({
    name: 'ask',
    children: [
      defineFunction({
        name: 'prompt',
        run: (question: { text: string }) => ({ messages: [{ role: 'user' as const, content: question.text }] }),
      }),
      chat,
      defineFunction({ name: 'shout', run: (answer: string) => answer.toUpperCase() }),
    ],
  })
}

describe('BullMQExecutor and serve', () => {
  it('returns the typed output of a run on a worker, as invoke in-process does', async () => {
    const pipeline = chatPipeline()
    const { executor } = await setUp({ graphs: [pipeline] })
    const local = await pipeline.invoke({ text: 'hello' })
    const remote = await pipeline.invoke({ text: 'hello' }, { executor, runId: 'hello-1' })
    expect(remote).toBe(local)
    expect(remote).toBe('ECHO: HELLO')
  })

  it('rejects with the same typed error class, rehydrated from the worker', async () => {
    const strict = defineFunction({
      name: 'strict',
      retry: { attempts: 2, initialDelayMs: 1 },
      run: (value: number) => {
        if (value < 0) throw new TimeoutError({ timeoutMs: 5, kind: 'attempt', functionName: 'strict' })
        return value
      },
    })
    const { executor } = await setUp({ graphs: [strict] })
    const local = await strict.invoke(-1).catch((error: unknown) => error)
    const remote = await strict.invoke(-1, { executor, runId: 'strict-1' }).catch((error: unknown) => error)
    expect(TimeoutError.isInstance(remote)).toBe(true)
    expect(remote).toMatchObject({ name: 'TimeoutError', kind: 'attempt', timeoutMs: 5, retryable: true })
    expect((remote as Error).message).toBe((local as Error).message)
  })

  it('keeps the error a job stores under 1 MiB: a ValidationError of 10,000 long issues is read back typed, its issues cut with a count', async () => {
    const issues = Array.from({ length: 10_000 }, (_, index) => ({ path: ['rows', index], message: 'x'.repeat(300) }))
    const picky = defineFunction({
      name: 'picky',
      run: (_value: number): number => {
        throw new ValidationError({ functionName: 'picky', state: 'output_validation', issues })
      },
    })
    const { executor, queue } = await setUp({ graphs: [picky] })
    const error = await picky.invoke(1, { executor, runId: 'picky-1' }).catch((thrown: unknown) => thrown)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    const read = error as ValidationError & { issuesLeftOut: number }
    expect(read).toMatchObject({ functionName: 'picky', state: 'output_validation' })
    expect(read.message).toMatch(/^picky: invalid output \(output_validation, 10000 issues\)/)
    expect(read.issues.length).toBeGreaterThan(0)
    expect(read.issues.length + read.issuesLeftOut).toBe(10_000)
    expect(read.issues[0]).toEqual({ path: ['rows', 0], message: 'x'.repeat(300) })
    const client = new Redis(redis.url)
    try {
      const data = await client.hget(`tinyllm:${queue}:picky-1`, 'data')
      expect(Buffer.byteLength(data ?? '')).toBeGreaterThan(100_000)
      expect(Buffer.byteLength(data ?? '')).toBeLessThanOrEqual(1024 * 1024)
    } finally {
      client.disconnect()
    }
  })

  it("refuses the run id cancelled: its job's lock would be the key of run lock's cancel request", async () => {
    const echo = defineFunction({ name: 'echo', run: (input: string) => input })
    const { executor } = await setUp({ graphs: [echo] })
    // Job `cancelled` keeps its lock at <prefix>:<queue>:cancelled:lock, where a cancel request for run `lock` is kept:
    // run `lock`, started while job `cancelled` ran, read the lock's token as a cancel request and failed.
    const refused = await echo.invoke('x', { executor, runId: 'cancelled' }).catch((error: unknown) => error)
    expect(ConfigurationError.isInstance(refused), String(refused)).toBe(true)
    expect((refused as Error).message).toMatch(/own key names \(.*, cancelled\), got "cancelled"$/)
    await expect(executor.result('cancelled')).rejects.toThrow(ConfigurationError)
    await expect(executor.cancel('cancelled')).rejects.toThrow(ConfigurationError)
    expect(await echo.invoke('free', { executor, runId: 'lock' })).toBe('free')
  })

  it('refuses input that is not JSON-safe before anything is queued', async () => {
    const pipeline = chatPipeline()
    const { executor } = await setUp({ graphs: [pipeline] })
    const error = await pipeline
      .invoke({ text: 'x', when: new Date() } as { text: string }, { executor, runId: 'bad-input' })
      .catch((thrown: unknown) => thrown)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).issues[0]?.path).toEqual(['when'])
    expect(await executor.result('bad-input')).toBeUndefined()
  })

  it('refuses run ids BullMQ cannot hold, and options that cannot travel to a worker', async () => {
    const pipeline = chatPipeline()
    const { executor } = await setUp({ graphs: [pipeline] })
    await expect(pipeline.invoke({ text: 'x' }, { executor, runId: 'a:b' })).rejects.toThrow(ConfigurationError)
    await expect(pipeline.invoke({ text: 'x' }, { executor, runId: '42' })).rejects.toThrow(/not an integer/)
    await expect(pipeline.invoke({ text: 'x' }, { executor, runId: 'meta' })).rejects.toThrow(/own key names/)
    // Redis keeps a job id as UTF-8, where a lone surrogate is U+FFFD: the run's answer would never be found.
    const surrogate = await pipeline.invoke({ text: 'x' }, { executor, runId: 'a-\uD800' }).catch((e) => e)
    expect(ConfigurationError.isInstance(surrogate)).toBe(true)
    expect((surrogate as Error).message).toMatch(/without ":" or a lone surrogate, .*, got "a-\\ud800"$/)
    // result and cancel refuse what invoke refuses: a-\uD800 would read (or cancel) run a-\uFFFD, id is a queue key.
    await pipeline.invoke({ text: 'x' }, { executor, runId: 'a-\uFFFD' })
    for (const runId of ['a-\uD800', 'id', '']) {
      await expect(executor.result(runId), runId).rejects.toThrow(ConfigurationError)
      await expect(executor.cancel(runId), runId).rejects.toThrow(ConfigurationError)
    }
    expect(await executor.result('a-\uFFFD')).toMatchObject({ status: 'fulfilled', runId: 'a-\uFFFD' })
    // The one message format, and a run id 10 MB long quoted in a few dozen characters.
    const long = await pipeline.invoke({ text: 'x' }, { executor, runId: `${'x'.repeat(1e7)}:` }).catch((e) => e)
    expect(ConfigurationError.isInstance(long)).toBe(true)
    expect((long as Error).message).toMatch(
      /^ask: runId must be a non-empty string of at most 1,000 characters without ":" or a lone surrogate, .*, got "x{10,}/,
    )
    expect((long as Error).message.length).toBeLessThan(1_000)
    // Longer than a run id can be: refused before it becomes a job key, not by the worker.
    const longer = await pipeline.invoke({ text: 'x' }, { executor, runId: 'y'.repeat(1_001) }).catch((e) => e)
    expect(ConfigurationError.isInstance(longer)).toBe(true)
    expect((longer as Error).message).toMatch(/^ask: runId must be a non-empty string of at most 1,000 characters/)
    await expect(pipeline.invoke({ text: 'x' }, { executor, onEvent: () => {} })).rejects.toThrow(
      /onEvent cannot travel to a worker/,
    )
  })

  it('refuses bad options of invoke and map with a ConfigurationError, as invoke in this process does, queuing nothing', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor } = await setUp({ graphs: [double] })
    const bad = [
      [{ timeoutMs: 3e9 }, 'double: timeoutMs must be a number of ms > 0 and ≤ 2147483647, got 3000000000'],
      [{ signal: {} as AbortSignal }, 'double: signal must be an AbortSignal, got an object'],
      // Options that travel to the worker: refused here, never queued as a job whose failure holds the run id.
      [{ budget: { maxTokens: Number.NaN } }, 'double: budget.maxTokens must be a number of tokens ≥ 0, got NaN'],
      [
        { budget: { maxToken: 5 } as never },
        'double: budget.maxToken is not an option; did you mean budget.maxTokens? (known: maxCostUsd, maxTokens)',
      ],
      [{ maxConcurrentRuns: 0 }, 'double: maxConcurrentRuns must be an integer ≥ 1, got 0'],
      [{ metadata: [1] as never }, 'double: metadata must be an object, got [1]'],
    ] as const
    for (const [options, message] of bad) {
      const here = await double.invoke(1, options).catch((thrown: unknown) => thrown)
      const there = await double.invoke(1, { ...options, executor, runId: 'bad-options' }).catch((e: unknown) => e)
      for (const error of [here, there]) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect((error as Error).message).toBe(message)
      }
    }
    // map's own options: a signal as above, and no key it does not know (a timeoutMs would be ignored).
    const mapped = [
      await executor.map(double, [1], { signal: {} as AbortSignal }).catch((e: unknown) => e),
      await executor.map(double, [1], { timeoutMs: 100 } as never).catch((e: unknown) => e),
      await executor.map(double, [1], { runId: ['bad-options'] } as never).catch((e: unknown) => e),
      // Inputs and run ids that are not lists, and a progress callback that is not a function.
      await executor.map(double, new Set([1]) as never).catch((e: unknown) => e),
      await executor.map(double, 'ab' as never).catch((e: unknown) => e),
      await executor.map(double, null as never).catch((e: unknown) => e),
      await executor.map(double, [1, 2], { runIds: 'ab' as never }).catch((e: unknown) => e),
      await executor.map(double, [1], { runIds: ['bad-options'], onProgress: 5 as never }).catch((e: unknown) => e),
      // Lists whose reading throws (a Proxy, a getter): a bad option, not an untyped rejection or a failed run.
      await executor.map(double, new Proxy([1], { get: throwing })).catch((e: unknown) => e),
      await executor.map(double, [1], { runIds: new Proxy(['bad-options'], { get: throwing }) }).catch((e) => e),
      await executor.map(double, revoked()).catch((e: unknown) => e),
      await executor.map(double, [1], { runIds: revoked() }).catch((e: unknown) => e),
      // More runs than one map submits: refused at once, not copied hole by hole for minutes.
      await executor.map(double, new Array(2 ** 32 - 1)).catch((e: unknown) => e),
      await executor.map(double, [1], { runIds: new Array(1_000_001) }).catch((e: unknown) => e),
    ]
    expect(mapped.map((error) => ConfigurationError.isInstance(error) && error.message)).toEqual([
      'double: signal must be an AbortSignal, got an object',
      expect.stringMatching(/^BullMQExecutor: timeoutMs is not an option/),
      expect.stringMatching(/^BullMQExecutor: runId is not an option; did you mean runIds\?/),
      'BullMQExecutor: inputs must be an array, got a Set',
      'BullMQExecutor: inputs must be an array, got "ab"',
      'BullMQExecutor: inputs must be an array, got null',
      'BullMQExecutor: runIds must be a list of run ids or a function of the input and its index, got "ab"',
      'BullMQExecutor: onProgress must be a function, got 5',
      'BullMQExecutor: inputs could not be read: Error: no reading this list',
      'BullMQExecutor: runIds could not be read: Error: no reading this list',
      expect.stringMatching(/^BullMQExecutor: inputs could not be read: TypeError: .*revoked/),
      expect.stringMatching(/^BullMQExecutor: runIds could not be read: TypeError: .*revoked/),
      'BullMQExecutor: inputs has 4294967295 entries, more than the 1,000,000 runs one map submits; split the batch',
      'BullMQExecutor: runIds has 1000001 entries, more than the 1,000,000 runs one map submits; split the batch',
    ])
    expect(await executor.result('bad-options')).toBeUndefined()
  })

  it('invoke given options that cannot be read (a revoked Proxy, a getter that throws) rejects with a ConfigurationError, never throws', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor, queue } = await setUp({ graphs: [double] })
    const getter = Object.defineProperty({}, 'signal', { get: throwing, enumerable: true })
    const here = await double.invoke(1, revoked()).catch((thrown: unknown) => thrown)
    expect(ConfigurationError.isInstance(here)).toBe(true)
    for (const options of [revoked(), getter]) {
      let submitted: Promise<unknown> | undefined
      expect(() => {
        submitted = executor.invoke(double as never, 1, options)
      }).not.toThrow()
      const error = await submitted?.catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as ConfigurationError).option).toBe('options')
      expect((error as Error).message).toMatch(/^double: options could not be read: /)
    }
    for (const options of [null, [1]]) {
      const error = await executor.invoke(double as never, 1, options as never).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^double: options must be an object, got /)
    }
    const admin = new Queue(queue, {
      connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) },
      prefix: 'tinyllm',
    })
    try {
      expect(await admin.count()).toBe(0)
      expect(await admin.getJobCounts('completed', 'failed', 'active')).toEqual({ completed: 0, failed: 0, active: 0 })
    } finally {
      await admin.close()
    }
  })

  it('invoke reads its options as invoke in this process does: a misspelt key is refused, and a signal or deadline given by a settings class is kept', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor } = await setUp({ graphs: [double] })
    // A misspelt timeout would leave the run without its limit.
    const misspelt = await executor.invoke(double as never, 1, { timeoutMS: 5 } as never).catch((e: unknown) => e)
    expect(ConfigurationError.isInstance(misspelt), String(misspelt)).toBe(true)
    expect((misspelt as Error).message).toMatch(/^double: timeoutMS is not an option/)
    class AbortedSettings {
      get signal(): AbortSignal {
        return AbortSignal.abort('the user left')
      }
    }
    class PastDeadline {
      get deadline(): number {
        return Date.now() - 1_000
      }
    }
    expect(await double.invoke(1, new AbortedSettings()).catch((e: unknown) => e)).toBeInstanceOf(AbortError)
    const aborted = await executor.invoke(double as never, 1, new AbortedSettings()).catch((e: unknown) => e)
    expect(AbortError.isInstance(aborted), String(aborted)).toBe(true)
    const late = await executor.invoke(double as never, 1, new PastDeadline()).catch((e: unknown) => e)
    expect(TimeoutError.isInstance(late), String(late)).toBe(true)
  })

  it('a worker without the graph refuses the run with a typed error, running nothing', async () => {
    const pipeline = chatPipeline()
    const other = defineFunction({ name: 'other', run: () => 1 })
    const { executor } = await setUp({ graphs: [other] })
    const before = model.requests.length
    const error = await pipeline.invoke({ text: 'x' }, { executor, runId: 'unknown-graph' }).catch((e: unknown) => e)
    expect(GraphMismatchError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ graph: 'ask', runId: 'unknown-graph' })
    expect((error as GraphMismatchError).workerFingerprint).toBeUndefined()
    expect((error as Error).message).toMatch(/no graph named "ask" is registered on this worker \(it serves: "other"\)/)
    expect(model.requests.length).toBe(before)
  })

  it('a worker with another version of the graph refuses the run with a typed error', async () => {
    const pipeline = chatPipeline()
    const { executor, worker } = await setUp({ graphs: [pipeline], version: 'v2', workerVersion: 'v1' })
    const before = model.requests.length
    const error = await pipeline.invoke({ text: 'x' }, { executor, runId: 'old-worker' }).catch((e: unknown) => e)
    expect(GraphMismatchError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ graph: 'ask', workerFingerprint: worker.fingerprints.ask })
    expect((error as GraphMismatchError).expectedFingerprint).not.toBe(worker.fingerprints.ask)
    expect(model.requests.length).toBe(before)
  })

  it('maps over inputs in input order, with progress, and a resubmission makes no provider call', async () => {
    const pipeline = chatPipeline()
    const { executor } = await setUp({ graphs: [pipeline] })
    const inputs = Array.from({ length: 40 }, (_, index) => ({ text: `q${index}` }))
    const progress: number[] = []
    const runIds = inputs.map((_, index) => `batch-a/${index}`)
    const before = model.requests.length
    const outcomes = await executor.map(pipeline, inputs, { runIds, onProgress: (p) => progress.push(p.settled) })
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : outcome.error))).toEqual(
      inputs.map((input) => `ECHO: ${input.text.toUpperCase()}`),
    )
    expect(progress).toEqual(inputs.map((_, index) => index + 1))
    expect(model.requests.length - before).toBe(40)
    const again = await executor.map(pipeline, inputs, { runIds })
    expect(again.map((outcome) => outcome.status === 'fulfilled' && outcome.value)).toEqual(
      outcomes.map((outcome) => outcome.status === 'fulfilled' && outcome.value),
    )
    expect(model.requests.length - before).toBe(40)
  })

  it('fails map with the error of an onProgress that throws or rejects, never the process', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor } = await setUp({ graphs: [double] })
    const throwing = executor.map(double, [1, 2], {
      onProgress: () => {
        throw new Error('the progress bar broke')
      },
    })
    await expect(throwing).rejects.toThrow('the progress bar broke')
    // Returned unhandled, the rejection would end the process.
    const rejecting = executor.map(double, [3, 4], { onProgress: () => Promise.reject(new Error('the bar rejected')) })
    await expect(rejecting).rejects.toThrow('the bar rejected')
    // One that never settles holds nothing up.
    const outcomes = await executor.map(double, [5], { onProgress: () => new Promise<void>(() => {}) })
    expect(outcomes).toMatchObject([{ status: 'fulfilled', value: 10 }])
  })

  it('settles each input on its own: a bad input is rejected, the others run', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor } = await setUp({ graphs: [double] })
    const outcomes = await executor.map(double, [1, Number.NaN, 3])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(outcomes[0]).toMatchObject({ value: 2 })
    expect(outcomes[1]?.status === 'rejected' && ValidationError.isInstance(outcomes[1].error)).toBe(true)
  })

  it('an input JSON cannot carry by the time its job is written fails its run alone, a ValidationError, and the runs beside it are queued', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor } = await setUp({ graphs: [double] })
    // Readable while map checks it, and no longer when the job is written (a getter whose source went away; the same
    // befalls input nested within a few frames of the deepest JSON this runtime writes).
    let readable = true
    const hostile = {
      get value() {
        if (!readable) throw new Error('the source of this field is closed')
        return 1
      },
    }
    const outcomes = executor.map(double as never, [1, hostile, 3], {
      runIds: ['late-bad-1', 'late-bad-2', 'late-bad-3'],
    })
    readable = false
    const settled = await outcomes
    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(settled[2]).toMatchObject({ value: 6 })
    expect(settled[1]?.status === 'rejected' && ValidationError.isInstance(settled[1].error)).toBe(true)
    // Nothing was queued for it: the same id runs once given an input that JSON carries.
    await expect(double.invoke(4 as never, { executor, runId: 'late-bad-2' })).resolves.toBe(8)
  })

  it('a cancel request reaches the run on its worker and aborts it', async () => {
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = defineFunction({
      name: 'slow',
      run: async (_: null, context: RunContext) => {
        started()
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 60_000)
          context.signal.addEventListener('abort', () => {
            clearTimeout(timer)
            reject(context.signal.reason)
          })
        })
        return 'finished'
      },
    })
    const { executor } = await setUp({ graphs: [slow] })
    const controller = new AbortController()
    const waiting = slow.invoke(null, { executor, runId: 'slow-1', signal: controller.signal }).catch((e: unknown) => e)
    await running
    controller.abort('stop it')
    const error = await waiting
    expect(AbortError.isInstance(error)).toBe(true)
    // The worker aborted the run too: its job failed with the AbortError.
    for (;;) {
      const outcome = await executor.result('slow-1')
      if (outcome !== undefined) {
        expect(outcome.status === 'rejected' && AbortError.isInstance(outcome.error)).toBe(true)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

  it('a cancel request published while the worker was cut off from Redis still reaches the run once it is back', async () => {
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = defineFunction({
      name: 'slow',
      run: async (_: null, context: RunContext) => {
        started()
        // Long enough to be cancelled many times over; a run the request never reaches ends here, 'finished'.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 20_000)
          context.signal.addEventListener('abort', () => {
            clearTimeout(timer)
            resolve()
          })
        })
        context.signal.throwIfAborted()
        return 'finished'
      },
    })
    const { executor, queue } = await setUp({ graphs: [slow] })
    const waiting = slow.invoke(null, { executor, runId: 'cut-off-1' }).catch((e: unknown) => e)
    await running
    // One transaction: the worker's subscription is cut (as when Redis goes away and comes back), and the request is
    // kept and published before it can subscribe again. Nobody hears the message; the kept request says it.
    const names = queueNames({ queue }, 'test')
    const client = new Redis(redis.url)
    try {
      await client
        .multi()
        .call('CLIENT', 'KILL', 'TYPE', 'pubsub')
        .set(names.cancelKey('cut-off-1'), 'stop it', 'PX', 60_000)
        .publish(names.cancelChannel, JSON.stringify({ runId: 'cut-off-1', reason: 'stop it' }))
        .exec()
    } finally {
      client.disconnect()
    }
    const error = await waiting
    expect(AbortError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/stop it/)
  })

  it('answers a failed run id with its failure again, or runs it again with rerunFailed, replaying what finished', async () => {
    let charges = 0
    let healthy = false
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: () => {
        charges += 1
        return 'charged'
      },
    })
    const ship = defineFunction({
      name: 'ship',
      run: () => {
        if (!healthy) throw new Error('the warehouse is closed')
        return 'shipped'
      },
    })
    const order = new Chain({ name: 'order', children: [charge, ship] })
    const { executor, queue } = await setUp({ graphs: [order] })
    const first = await order.invoke(undefined, { executor, runId: 'order-1' }).catch((error: unknown) => error)
    expect(first).toMatchObject({ name: 'FunctionError', message: expect.stringMatching(/warehouse is closed/) })
    healthy = true
    const again = await order.invoke(undefined, { executor, runId: 'order-1' }).catch((error: unknown) => error)
    expect(again).toMatchObject({ name: 'FunctionError' })
    const rerunning = new BullMQExecutor({ connection: redis.url, queue, rerunFailed: true, pollIntervalMs: 200 })
    closing.push(rerunning)
    expect(await order.invoke(undefined, { executor: rerunning, runId: 'order-1' })).toBe('shipped')
    expect(charges).toBe(1)
  })

  it('runs a run cancelled while it ran again with rerunFailed: the request it acted on does not refuse it', async () => {
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    let runs = 0
    const wait = defineFunction({
      name: 'wait',
      run: async (_: null, context: RunContext) => {
        runs += 1
        if (runs > 1) return 'ran'
        started()
        await new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
        })
        return 'never'
      },
    })
    const { executor, queue } = await setUp({ graphs: [wait] })
    const cancelled = wait.invoke(null, { executor, runId: 'cancelled-rerun' }).catch((e: unknown) => e)
    await running
    await executor.cancel('cancelled-rerun', 'stop it')
    expect(AbortError.isInstance(await cancelled)).toBe(true)
    const rerunning = new BullMQExecutor({ connection: redis.url, queue, rerunFailed: true, pollIntervalMs: 200 })
    closing.push(rerunning)
    expect(await wait.invoke(null, { executor: rerunning, runId: 'cancelled-rerun' })).toBe('ran')
  })

  it('runs a run that passed its deadline again with rerunFailed, under the deadline and metadata of the new submission', async () => {
    let runs = 0
    const slow = defineFunction({
      name: 'slow',
      run: async (_: null, context: RunContext) => {
        runs += 1
        if (runs === 1) {
          await new Promise((_resolve, reject) => {
            context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
          })
        }
        return { deadline: context.deadline ?? null, metadata: context.metadata }
      },
    })
    const { executor, queue } = await setUp({ graphs: [slow] })
    const late = await slow
      .invoke(null, { executor, runId: 'late-rerun', timeoutMs: 200, metadata: { pass: 1 } })
      .catch((e: unknown) => e)
    expect(TimeoutError.isInstance(late)).toBe(true)
    // Wait for the worker to have failed the job too: only a failed job is run again.
    while ((await executor.result('late-rerun')) === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
    const rerunning = new BullMQExecutor({ connection: redis.url, queue, rerunFailed: true, pollIntervalMs: 200 })
    closing.push(rerunning)
    const deadline = Date.now() + 60_000
    expect(
      await slow.invoke(null, { executor: rerunning, runId: 'late-rerun', deadline, metadata: { pass: 2 } }),
    ).toEqual({ deadline, metadata: { pass: 2 } })
    expect(runs).toBe(2)
    // The failure that stood is gone with it: the run's outcome is the new one.
    const outcome = await rerunning.result('late-rerun')
    expect(outcome?.status).toBe('fulfilled')
  })

  it('producers that submit one failed run id with rerunFailed at once all await the one run again', async () => {
    let runs = 0
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const flaky = defineFunction({
      name: 'flaky',
      run: async () => {
        runs += 1
        if (runs === 1) throw new Error('the warehouse is closed')
        await released
        return 'shipped'
      },
    })
    const { executor, queue } = await setUp({ graphs: [flaky] })
    expect(await flaky.invoke(undefined, { executor, runId: 'rerun-race' }).catch((e: unknown) => e)).toMatchObject({
      name: 'FunctionError',
    })
    const producers = Array.from(
      { length: 4 },
      () => new BullMQExecutor({ connection: redis.url, queue, rerunFailed: true, pollIntervalMs: 200 }),
    )
    closing.push(...producers)
    // Each producer sees the failed job; one runs it again first, and the others find it running, not failed.
    const outcomes = Promise.all(
      producers.map((producer) => producer.map(flaky, [undefined], { runIds: ['rerun-race'] })),
    )
    while (runs < 2) await new Promise((resolve) => setTimeout(resolve, 20))
    release()
    expect((await outcomes).map(([outcome]) => outcome?.status === 'fulfilled' && outcome.value)).toEqual([
      'shipped',
      'shipped',
      'shipped',
      'shipped',
    ])
    expect(runs).toBe(2)
  })

  it('refuses a run id that a run of another graph holds, also while this executor still awaits that run', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const first = defineFunction({
      name: 'first',
      run: async (value: number) => {
        await released
        return `first: ${value}`
      },
    })
    let secondRuns = 0
    const second = defineFunction({
      name: 'second',
      run: (value: number) => {
        secondRuns += 1
        return `second: ${value}`
      },
    })
    const { executor } = await setUp({ graphs: [first, second] })
    const running = first.invoke(1, { executor, runId: 'taken-1' })
    const refusing = second.invoke(2, { executor, runId: 'taken-1' }).catch((error: unknown) => error)
    release()
    expect(await running).toBe('first: 1')
    const refused = await refusing
    expect(RunJobError.isInstance(refused)).toBe(true)
    expect((refused as Error).message).toMatch(/already names a run of graph "first"/)
    const later = await second.invoke(2, { executor, runId: 'taken-1' }).catch((error: unknown) => error)
    expect(RunJobError.isInstance(later)).toBe(true)
    expect(secondRuns).toBe(0)
  })

  it('refuses a run id that names a run given another input, instead of answering with that run’s output', async () => {
    let charges = 0
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (order: { amount: number }) => {
        charges += 1
        return { charged: order.amount }
      },
    })
    const { executor } = await setUp({ graphs: [charge] })
    expect(await charge.invoke({ amount: 40 }, { executor, runId: 'order-7' })).toEqual({ charged: 40 })
    // In this process, the journal refuses to replay the step for another input: so does the run id on the workers.
    const finished = await charge.invoke({ amount: 99 }, { executor, runId: 'order-7' }).catch((error) => error)
    expect(RunJobError.isInstance(finished)).toBe(true)
    expect((finished as Error).message).toMatch(
      /run id order-7 already names a run of graph "charge" given another input/,
    )
    expect(await charge.invoke({ amount: 40 }, { executor, runId: 'order-7' })).toEqual({ charged: 40 })
    // The same within one batch, while the first run is still awaited.
    const outcomes = await executor.map(charge, [{ amount: 1 }, { amount: 2 }, { amount: 1 }], {
      runIds: ['order-8', 'order-8', 'order-8'],
    })
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : outcome.error.name))).toEqual([
      { charged: 1 },
      'RunJobError',
      { charged: 1 },
    ])
    expect(charges).toBe(2)
  })

  it('refuses at once a run id that another producer’s unfinished run holds for another input, and its signal cancels nothing', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const charge = defineFunction({
      name: 'charge',
      run: async (order: { amount: number }) => {
        started()
        await released
        return { charged: order.amount }
      },
    })
    const { executor, queue } = await setUp({ graphs: [charge] })
    const other = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
    closing.push(other)
    const first = charge.invoke({ amount: 40 }, { executor, runId: 'order-12' })
    await running
    // Another producer gives the run id another input, with a signal of its own: refused as it is once the run ends.
    const controller = new AbortController()
    const refusing = charge
      .invoke({ amount: 99 }, { executor: other, runId: 'order-12', signal: controller.signal })
      .catch((error: unknown) => error)
    // Refused while the run it names still waits for its release (a submission that waited instead would hang here
    // until the test's time limit).
    const refused = await refusing
    controller.abort()
    release()
    expect(RunJobError.isInstance(refused)).toBe(true)
    expect((refused as Error).message).toMatch(
      /run id order-12 already names a run of graph "charge" given another input/,
    )
    // The run of the other input was not this submission's to cancel.
    expect(await first).toEqual({ charged: 40 })
  })

  it('answers a run id given the same input with its keys in another order with that run, as a journal replays it', async () => {
    let charges = 0
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (order: { amount: number; customer: { id: string; tier: string } }) => {
        charges += 1
        return { charged: order.amount, customer: order.customer.id }
      },
    })
    const { executor } = await setUp({ graphs: [charge] })
    const order = { amount: 40, customer: { id: 'c-1', tier: 'gold' } }
    // The same order as a database that keeps JSON objects unordered (PostgreSQL's jsonb) hands it back.
    const reordered = { customer: { tier: 'gold', id: 'c-1' }, amount: 40 }
    expect(await charge.invoke(order, { executor, runId: 'order-9' })).toEqual({ charged: 40, customer: 'c-1' })
    expect(await charge.invoke(reordered, { executor, runId: 'order-9' })).toEqual({ charged: 40, customer: 'c-1' })
    // The same while the first run is still awaited, within one batch.
    const outcomes = await executor.map(charge, [order, reordered], { runIds: ['order-10', 'order-10'] })
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : outcome.error.message))).toEqual(
      [
        { charged: 40, customer: 'c-1' },
        { charged: 40, customer: 'c-1' },
      ],
    )
    // In this process, a journal replays the step for the reordered input too.
    const journal = new MemoryJournal()
    await charge.invoke(order, { runId: 'order-11', journal })
    expect(await charge.invoke(reordered, { runId: 'order-11', journal })).toEqual({ charged: 40, customer: 'c-1' })
    expect(charges).toBe(3)
  })

  it('fails a run whose job key holds another program’s value with a RunJobError, instead of waiting forever', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor, queue } = await setUp({ graphs: [double] })
    const admin = new Redis(redis.url)
    await admin.set(`tinyllm:${queue}:foreign-1`, 'not a job')
    admin.disconnect()
    const error = await double.invoke(1, { executor, runId: 'foreign-1' }).catch((e: unknown) => e)
    expect(RunJobError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/^double: the job of run foreign-1 failed: WRONGTYPE/)
  })

  it('fails a job whose data is not a run’s (null, text, no graph) with a RunJobError saying so, read back typed', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor, queue } = await setUp({ graphs: [double] })
    const connection = { host: '127.0.0.1', port: Number(new URL(redis.url).port) }
    const foreign = new Queue(queue, { connection, prefix: 'tinyllm' })
    const events = new QueueEvents(queue, { connection, prefix: 'tinyllm' })
    await events.waitUntilReady()
    try {
      const cases = [
        ['null-data', null, "its data is null, not a run's"],
        ['text-data', 'text', "its data is a string, not a run's"],
        ['no-graph', { graph: 42, fingerprint: 'f', input: 1 }, "its data is not a run's: graph is not a string"],
      ] as const
      for (const [runId, data, problem] of cases) {
        const job = await foreign.add('double', data as never, { jobId: runId, attempts: 3 })
        const failed = await job.waitUntilFinished(events, 60_000).catch((e: unknown) => e)
        expect((failed as Error).message).toBe(`run: the job of run ${runId} failed: ${problem}`)
        expect((await foreign.getJob(runId))?.attemptsMade).toBe(1)
        const outcome = await executor.result(runId)
        expect(outcome?.status).toBe('rejected')
        const read = outcome?.status === 'rejected' ? outcome.error : undefined
        expect(RunJobError.isInstance(read)).toBe(true)
        expect(read).toMatchObject({ runId, reason: problem })
        const submitted = await double.invoke(1, { executor, runId }).catch((e: unknown) => e)
        expect(RunJobError.isInstance(submitted)).toBe(true)
        expect((submitted as Error).message).toBe(`double: the job of run ${runId} failed: ${problem}`)
      }
    } finally {
      await events.close()
      await foreign.close()
    }
  })

  it('fails a job whose data is not JSON at once with a RunJobError, instead of leaving it active until the stalled check', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor, queue } = await setUp({ graphs: [double] })
    const connection = { host: '127.0.0.1', port: Number(new URL(redis.url).port) }
    const foreign = new Queue(queue, { connection, prefix: 'tinyllm' })
    const events = new QueueEvents(queue, { connection, prefix: 'tinyllm' })
    await events.waitUntilReady()
    try {
      // Delayed, so that no worker takes it before its data is spoilt; promoted, it is taken at once.
      const job = await foreign.add('double', { graph: 'double' } as never, { jobId: 'not-json', delay: 3_600_000 })
      const admin = new Redis(redis.url)
      await admin.hset(`tinyllm:${queue}:not-json`, 'data', '{"note":"sk-spoilt-secret-5678')
      admin.disconnect()
      await job.promote()
      const failed = await job.waitUntilFinished(events, 60_000).catch((e: unknown) => e)
      expect((failed as Error).message).toBe(
        'run: the job of run not-json failed: its job in Redis holds a field that is not JSON (another program wrote it?)',
      )
      expect(await foreign.getJobState('not-json')).toBe('failed')
      const submitted = await double.invoke(1, { executor, runId: 'not-json' }).catch((e: unknown) => e)
      expect(RunJobError.isInstance(submitted)).toBe(true)
      expect((submitted as Error).message).not.toContain('sk-spoilt')
    } finally {
      await events.close()
      await foreign.close()
    }
  }, 60_000)

  it('result() answers a run whose job is not JSON, or another program’s value, with a RunJobError, as a submission does', async () => {
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    const { executor, queue } = await setUp({ graphs: [double] })
    expect(await double.invoke(1, { executor, runId: 'corrupt-1' })).toBe(2)
    const admin = new Redis(redis.url)
    await admin.hset(`tinyllm:${queue}:corrupt-1`, 'data', '{"note":"sk-corrupt-secret-1234')
    await admin.set(`tinyllm:${queue}:foreign-2`, 'not a job')
    admin.disconnect()
    const corrupt = await executor.result('corrupt-1')
    expect(corrupt?.status).toBe('rejected')
    const read = corrupt?.status === 'rejected' ? corrupt.error : undefined
    expect(RunJobError.isInstance(read)).toBe(true)
    expect((read as Error).message).toBe(
      'run: the job of run corrupt-1 failed: its job in Redis holds a field that is not JSON (another program wrote it?)',
    )
    const submitted = await double.invoke(1, { executor, runId: 'corrupt-1' }).catch((e: unknown) => e)
    expect(RunJobError.isInstance(submitted)).toBe(true)
    expect((submitted as Error).message).not.toContain('sk-corrupt')
    const foreign = await executor.result('foreign-2')
    expect(foreign?.status === 'rejected' && RunJobError.isInstance(foreign.error)).toBe(true)
    expect(foreign?.status === 'rejected' && foreign.error.message).toMatch(
      /^run: the job of run foreign-2 failed: WRONGTYPE/,
    )
  })

  it('settles a run whose job became unreadable while it ran with a RunJobError, instead of waiting for ever', async () => {
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    let finish!: () => void
    const gate = new Promise<void>((resolve) => {
      finish = resolve
    })
    const slow = defineFunction({
      name: 'slow',
      run: async () => {
        started()
        await gate
        return 'done'
      },
    })
    const { executor, queue } = await setUp({ graphs: [slow] })
    const waiting = slow.invoke(undefined, { executor, runId: 'corrupted-while-running' }).catch((e: unknown) => e)
    await running
    const admin = new Redis(redis.url)
    await admin.hset(`tinyllm:${queue}:corrupted-while-running`, 'data', '{"note":')
    admin.disconnect()
    finish()
    const error = await waiting
    expect(RunJobError.isInstance(error)).toBe(true)
    expect((error as Error).message).toBe(
      'slow: the job of run corrupted-while-running failed: its job in Redis holds a field that is not JSON (another program wrote it?)',
    )
  })

  it('fails a run at its deadline with a TimeoutError, as in-process, and the deadline travels to the worker', async () => {
    const slow = defineFunction({
      name: 'slow',
      run: async (_: null, context: RunContext) => {
        await new Promise((resolve) => setTimeout(resolve, 10_000))
        return context.deadline
      },
    })
    const { executor } = await setUp({ graphs: [slow] })
    const error = await slow.invoke(null, { executor, runId: 'late-1', timeoutMs: 200 }).catch((e: unknown) => e)
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ kind: 'total' })
    for (;;) {
      const outcome = await executor.result('late-1')
      if (outcome !== undefined) {
        expect(outcome.status === 'rejected' && TimeoutError.isInstance(outcome.error)).toBe(true)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

  it('waits out a deadline further ahead than one timer can wait (2³¹−1 ms, about 24.8 days) before failing the run', async () => {
    const idle = defineFunction({ name: 'idle', run: () => 'done' })
    const queue = `q${Math.random().toString(36).slice(2)}`
    const executor = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
    closing.push(executor)
    // No worker: the runs stay queued, and only the producer's watch can end them. A first run, cancelled once queued,
    // connects the executor and starts its listener on real timers.
    const admin = new Redis(redis.url)
    const warm = new AbortController()
    const warming = idle.invoke(undefined, { executor, runId: 'warm', signal: warm.signal }).catch((e: unknown) => e)
    while ((await admin.exists(`tinyllm:${queue}:warm`)) === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    admin.disconnect()
    warm.abort('warmed up')
    expect(AbortError.isInstance(await warming)).toBe(true)
    const day = 24 * 60 * 60 * 1000
    const turns = async () => {
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve))
    }
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    try {
      let outcome: unknown = 'pending'
      const far = idle
        .invoke(undefined, { executor, runId: 'far', deadline: Date.now() + 30 * day })
        .then(
          (value) => value,
          (error: unknown) => error,
        )
        .then((settled) => {
          outcome = settled
        })
      await vi.advanceTimersByTimeAsync(29 * day)
      await turns()
      expect(outcome).toBe('pending')
      await vi.advanceTimersByTimeAsync(day + 1)
      await far
      expect(TimeoutError.isInstance(outcome)).toBe(true)
      expect(outcome).toMatchObject({ kind: 'total' })
    } finally {
      vi.useRealTimers()
    }
  })

  it('a run whose deadline passed while it waited for a worker ends in that TimeoutError everywhere, never run', async () => {
    let runs = 0
    const count = defineFunction({
      name: 'count',
      run: () => {
        runs += 1
        return runs
      },
    })
    const queue = `q${Math.random().toString(36).slice(2)}`
    const executor = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
    closing.push(executor)
    const waiting = count.invoke(undefined, { executor, runId: 'queued-late', timeoutMs: 5_000 }).catch((e) => e)
    // Queued well before its deadline (a run that times out before it is queued is never queued at all).
    const admin = new Redis(redis.url)
    while ((await admin.exists(`tinyllm:${queue}:queued-late`)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    admin.disconnect()
    expect(TimeoutError.isInstance(await waiting)).toBe(true)
    closing.push(await serve({ graphs: [count], connection: redis.url, queue }))
    let outcome = await executor.result('queued-late')
    while (outcome === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      outcome = await executor.result('queued-late')
    }
    expect(outcome.status === 'rejected' && TimeoutError.isInstance(outcome.error)).toBe(true)
    const again = await count.invoke(undefined, { executor, runId: 'queued-late' }).catch((e: unknown) => e)
    expect(TimeoutError.isInstance(again)).toBe(true)
    expect(runs).toBe(0)
  }, 60_000)

  it('cancels every run of a batch through one signal', async () => {
    const wait = defineFunction({
      name: 'wait',
      run: (_: number, context: RunContext) =>
        new Promise((_resolve, reject) =>
          context.signal.addEventListener('abort', () => reject(context.signal.reason)),
        ),
    })
    const { executor } = await setUp({ graphs: [wait] })
    const controller = new AbortController()
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const batch = executor.map(
        wait,
        Array.from({ length: 50 }, (_, index) => index),
        { signal: controller.signal },
      )
      setTimeout(() => controller.abort('enough'), 100)
      const outcomes = await batch
      expect(outcomes.every((outcome) => outcome.status === 'rejected' && AbortError.isInstance(outcome.error))).toBe(
        true,
      )
      expect(warnings).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('a submission that attaches to a run this executor already awaits is cancelled by its own signal and deadline', async () => {
    let started = 0
    const wait = defineFunction({
      name: 'wait',
      run: (_: number, context: RunContext) => {
        started += 1
        return new Promise((_resolve, reject) =>
          context.signal.addEventListener('abort', () => reject(context.signal.reason)),
        )
      },
    })
    const { executor } = await setUp({ graphs: [wait] })
    // The first submission has no signal and no deadline: only the second one's can end the wait.
    const first = wait.invoke(1, { executor, runId: 'shared-1' }).catch((e: unknown) => e)
    while (started === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    const late = await wait.invoke(1, { executor, runId: 'shared-1', timeoutMs: 100 }).catch((e: unknown) => e)
    expect(TimeoutError.isInstance(late)).toBe(true)
    const controller = new AbortController()
    const second = wait.invoke(1, { executor, runId: 'shared-1', signal: controller.signal }).catch((e: unknown) => e)
    controller.abort('the caller left')
    expect(AbortError.isInstance(await second)).toBe(true)
    // The abort reached the run on its worker, as a submission's signal does: the first caller's wait ends with it.
    const ended = await first
    expect(AbortError.isInstance(ended)).toBe(true)
    expect((ended as Error).message).toMatch(/the caller left/)
    expect(started).toBe(1)
  })

  it('a run whose signal aborted before it was queued leaves nothing behind: its id runs when submitted again', async () => {
    let runs = 0
    const count = defineFunction({
      name: 'count',
      run: () => {
        runs += 1
        return runs
      },
    })
    const { executor } = await setUp({ graphs: [count] })
    const controller = new AbortController()
    controller.abort('not now')
    const error = await count
      .invoke(undefined, { executor, runId: 'not-yet-1', signal: controller.signal })
      .catch((e: unknown) => e)
    expect(AbortError.isInstance(error)).toBe(true)
    const outcomes = await executor.map(count, [undefined], { runIds: ['not-yet-2'], signal: controller.signal })
    expect(outcomes[0]?.status === 'rejected' && AbortError.isInstance(outcomes[0].error)).toBe(true)
    expect(await count.invoke(undefined, { executor, runId: 'not-yet-1' })).toBe(1)
    expect(await count.invoke(undefined, { executor, runId: 'not-yet-2' })).toBe(2)
  })

  it('a run cancelled before any worker started it is refused when one takes it', async () => {
    let runs = 0
    const count = defineFunction({
      name: 'count',
      run: () => {
        runs += 1
        return runs
      },
    })
    const { executor } = await setUp({ graphs: [count] })
    await executor.cancel('early-1', 'changed my mind')
    const error = await count.invoke(undefined, { executor, runId: 'early-1' }).catch((e: unknown) => e)
    expect(AbortError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/changed my mind/)
    expect(runs).toBe(0)
  })

  it('a cancel request a worker has acted on is not kept: once the job is gone, the same run id runs again', async () => {
    let runs = 0
    let started: () => void = () => {}
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const count = defineFunction({
      name: 'count',
      run: async (wait: boolean, context: RunContext) => {
        runs += 1
        if (!wait) return runs
        started()
        // Until it is cancelled.
        await new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
        })
        return runs
      },
    })
    const { executor, queue } = await setUp({ graphs: [count] })
    const names = queueNames({ queue }, 'test')
    const client = new Redis(redis.url)
    const admin = new Queue(queue, {
      connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) },
      prefix: 'tinyllm',
    })
    try {
      // Refused by the worker that took it, before it started.
      await executor.cancel('refused-1', 'changed my mind')
      const refused = await count.invoke(false, { executor, runId: 'refused-1' }).catch((e: unknown) => e)
      expect(AbortError.isInstance(refused)).toBe(true)
      // Aborted while it ran.
      const aborted = count.invoke(true, { executor, runId: 'aborted-1' }).catch((e: unknown) => e)
      await running
      await executor.cancel('aborted-1', 'stop it')
      expect(AbortError.isInstance(await aborted)).toBe(true)
      expect(runs).toBe(1)
      // Their jobs removed, as they are after keepResultsSeconds: each run id is queued again, and runs.
      for (const runId of ['refused-1', 'aborted-1']) {
        await vi.waitFor(async () => expect(await client.exists(names.cancelKey(runId))).toBe(0), { timeout: 30_000 })
        await admin.remove(runId)
      }
      expect(await count.invoke(false, { executor, runId: 'refused-1' })).toBe(2)
      expect(await count.invoke(false, { executor, runId: 'aborted-1' })).toBe(3)
    } finally {
      client.disconnect()
      await admin.close()
    }
  })

  it('keeps the cancel request of a queued run for as long as the run waits, not a day', async () => {
    const queue = `q${Math.random().toString(36).slice(2)}`
    const names = queueNames({ queue }, 'test')
    const count = defineFunction({ name: 'count', run: () => 1 })
    const executor = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
    closing.push(executor)
    const client = new Redis(redis.url)
    try {
      // No worker yet: the run waits in the queue, however long that takes.
      const waiting = count.invoke(undefined, { executor, runId: 'waits-1' }).catch((e: unknown) => e)
      await vi.waitFor(async () => expect(await client.exists(`tinyllm:${queue}:waits-1`)).toBe(1), { timeout: 30_000 })
      // As a job back in the queue after the worker that started it was lost: started once, no worker holds it now.
      await client.hset(`tinyllm:${queue}:waits-1`, 'processedOn', Date.now())
      await executor.cancel('waits-1', 'not wanted')
      // Kept in the job, with no expiry of its own: a run that waits more than a day is refused all the same.
      expect(await client.hget(`tinyllm:${queue}:waits-1`, cancelField)).toBe('not wanted')
      expect(await client.exists(names.cancelKey('waits-1'))).toBe(0)
      const worker = await serve({ graphs: [count], connection: redis.url, queue })
      closing.push(worker)
      const error = await waiting
      expect(AbortError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/not wanted/)
    } finally {
      client.disconnect()
    }
  })

  it('a cancel request for a queued run goes with its job when an operator removes it: nothing is left, and its id runs again', async () => {
    const queue = `q${Math.random().toString(36).slice(2)}`
    const count = defineFunction({ name: 'count', run: () => 'ran' })
    const executor = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
    closing.push(executor)
    const client = new Redis(redis.url)
    const admin = new Queue(queue, {
      connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) },
      prefix: 'tinyllm',
    })
    try {
      // No worker: the runs wait in the queue, and are cancelled there.
      const waiting = ['removed-1', 'removed-2'].map((runId) =>
        count.invoke(undefined, { executor, runId }).catch((e: unknown) => e),
      )
      await vi.waitFor(async () => expect(await client.exists(`tinyllm:${queue}:removed-2`)).toBe(1), {
        timeout: 30_000,
      })
      await executor.cancel('removed-1', 'not wanted')
      await executor.cancel('removed-2', 'not wanted')
      await executor.close()
      await Promise.all(waiting)
      // An operator empties the queue, one job or all of them: no request is left behind, with or without an expiry.
      await admin.remove('removed-1')
      await admin.obliterate({ force: true })
      expect(await client.keys(`tinyllm:${queue}:*`)).toEqual([])
      const worker = await serve({ graphs: [count], connection: redis.url, queue })
      const again = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
      closing.push(worker, again)
      expect(await count.invoke(undefined, { executor: again, runId: 'removed-1' })).toBe('ran')
      expect(await count.invoke(undefined, { executor: again, runId: 'removed-2' })).toBe('ran')
    } finally {
      client.disconnect()
      await admin.close()
    }
  })

  it('a cancel request for a run failed for stalling too often is forgotten too: once its job is gone, its id runs again', async () => {
    const queue = `q${Math.random().toString(36).slice(2)}`
    const names = queueNames({ queue }, 'test')
    let runs = 0
    const count = defineFunction({
      name: 'count',
      run: () => {
        runs += 1
        return runs
      },
    })
    const executor = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 200 })
    closing.push(executor)
    const client = new Redis(redis.url)
    const admin = new Queue(queue, {
      connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) },
      prefix: 'tinyllm',
    })
    try {
      const waiting = count.invoke(undefined, { executor, runId: 'stalled-1' }).catch((e: unknown) => e)
      await vi.waitFor(async () => expect(await client.exists(`tinyllm:${queue}:stalled-1`)).toBe(1), {
        timeout: 30_000,
      })
      // As BullMQ's stalled-job check leaves a run whose workers were lost more than maxStalledCount times: back in the
      // queue, to be failed by the next worker that takes it, which does so without running it.
      await client.hset(
        `tinyllm:${queue}:stalled-1`,
        'processedOn',
        Date.now(),
        'defa',
        'job stalled more than allowable limit',
      )
      await executor.cancel('stalled-1', 'not wanted')
      const worker = await serve({ graphs: [count], connection: redis.url, queue })
      closing.push(worker)
      const error = await waiting
      expect(RunJobError.isInstance(error), String(error)).toBe(true)
      expect(runs).toBe(0)
      // The request was kept without expiry while the run waited: once its job has failed, it is forgotten.
      await vi.waitFor(async () => expect(await client.exists(names.cancelKey('stalled-1'))).toBe(0), {
        timeout: 30_000,
      })
      await admin.remove('stalled-1')
      expect(await count.invoke(undefined, { executor, runId: 'stalled-1' })).toBe(1)
    } finally {
      client.disconnect()
      await admin.close()
    }
  })

  it('cancelling a run that has finished keeps no request: once its job is gone, the same run id runs again', async () => {
    let runs = 0
    const count = defineFunction({
      name: 'count',
      run: () => {
        runs += 1
        return runs
      },
    })
    const { executor, queue } = await setUp({ graphs: [count] })
    expect(await count.invoke(undefined, { executor, runId: 'done-1' })).toBe(1)
    await executor.cancel('done-1', 'too late')
    const names = queueNames({ queue }, 'test')
    const client = new Redis(redis.url)
    try {
      expect(await client.exists(names.cancelKey('done-1'))).toBe(0)
    } finally {
      client.disconnect()
    }
    // Its job removed, as it is after keepResultsSeconds: the run id is queued again, and runs.
    const admin = new Queue(queue, {
      connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) },
      prefix: 'tinyllm',
    })
    try {
      await admin.remove('done-1')
    } finally {
      await admin.close()
    }
    expect(await count.invoke(undefined, { executor, runId: 'done-1' })).toBe(2)
  })

  it('refuses a cancel reason that is not a string, or is longer than 1,000 characters, with a ConfigurationError, keeping no request', async () => {
    const count = defineFunction({ name: 'count', run: () => 'ran' })
    const { executor } = await setUp({ graphs: [count] })
    const unprintable = {
      toString() {
        throw new Error('no text')
      },
    }
    for (const reason of [unprintable, null, 42, 'x'.repeat(1_001)]) {
      const error = await executor.cancel('reasonless', reason as never).catch((e: unknown) => e)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(
        /^BullMQExecutor: reason must be a string of at most 1,000 characters, got/,
      )
    }
    expect(await count.invoke(undefined, { executor, runId: 'reasonless' })).toBe('ran')
  })

  it('serve refuses a worker without graphs, or with two graphs of one name', async () => {
    const one = defineFunction({ name: 'same', run: () => 1 })
    const two = defineFunction({ name: 'same', run: () => 2 })
    await expect(serve({ graphs: [], connection: redis.url })).rejects.toThrow(/graphs must list/)
    await expect(serve({ graphs: [one, two], connection: redis.url })).rejects.toThrow(/two graphs are named "same"/)
  })

  it('closed again while it closes, resolves only once its connections have ended, as the first close does', async () => {
    const graph = defineFunction({ name: 'graph', run: (value: number) => value })
    const { executor } = await setUp({ graphs: [graph] })
    expect(await graph.invoke(1, { executor, runId: 'closed-twice' })).toBe(1)
    const connections = executor as unknown as { client: Redis; eventsClient: Redis }
    const first = executor.close()
    await executor.close()
    expect([connections.client.status, connections.eventsClient.status]).toEqual(['end', 'end'])
    await first
  })

  it('closes while Redis is away, whether or not it had started listening to the queue', async () => {
    const lost = await startRedisServer()
    try {
      const graph = defineFunction({ name: 'graph', run: (value: number) => value })
      const worker = await serve({ graphs: [graph], connection: lost.url, queue: 'away' })
      const listening = new BullMQExecutor({ connection: lost.url, queue: 'away' })
      expect(await graph.invoke(1, { executor: listening, runId: 'before' })).toBe(1)
      await worker.close()
      await lost.kill()
      const fresh = new BullMQExecutor({ connection: lost.url, queue: 'away' })
      const error = await graph.invoke(2, { executor: fresh, runId: 'during', timeoutMs: 100 }).catch((e: unknown) => e)
      expect(TimeoutError.isInstance(error)).toBe(true)
      // The listener's connection waits to reconnect, with no socket: closing it must not wait for one.
      const events = (listening as unknown as { eventsClient: Redis }).eventsClient
      while (events.status !== 'reconnecting') await new Promise((resolve) => setTimeout(resolve, 10))
      await listening.close()
      await fresh.close()
    } finally {
      await lost.stop()
    }
  })

  it('serve rejects with a ConfigurationError when Redis refuses its password, never showing it', async () => {
    const guarded = await startRedisServer()
    try {
      const admin = new Redis(guarded.url)
      await admin.config('SET', 'requirepass', 'the-right-one')
      admin.disconnect()
      const graph = defineFunction({ name: 'graph', run: () => 1 })
      const connection = `redis://default:wrong-pass-7c1e@127.0.0.1:${guarded.port}`
      const error = await serve({ graphs: [graph], connection }).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({
        option: 'connection',
        message: expect.stringMatching(/^serve: Redis refused this worker: WRONGPASS/),
      })
      expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain('wrong-pass-7c1e')
    } finally {
      await guarded.stop()
    }
  })

  it("never hands serve's onError the password of its Redis connection, when Redis refuses it after a restart (a rotated password)", async () => {
    const guarded = await startRedisServer()
    const admin = new Redis(guarded.url)
    try {
      const password = 'rotated-away-pass-5e1f'
      await admin.config('SET', 'requirepass', password)
      await admin.auth(password)
      const connection = `redis://default:${password}@127.0.0.1:${guarded.port}`
      const graph = defineFunction({ name: 'graph', run: () => 1 })
      const printed: string[] = []
      let refused!: () => void
      const refusedOnce = new Promise<void>((resolve) => {
        refused = resolve
      })
      const worker = await serve({
        graphs: [graph],
        connection,
        onError: (error) => {
          // What an onError that logs its error prints.
          printed.push(inspect(error, { depth: 10 }))
          if (error.message.includes('WRONGPASS')) refused()
        },
      })
      await admin.config('SET', 'requirepass', 'the-new-one')
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
      await refusedOnce
      // Rotated back, so that the worker closes as it would with its Redis there.
      await admin.config('SET', 'requirepass', password)
      await worker.close()
      expect(printed.join('\n')).toContain('WRONGPASS')
      expect(printed.join('\n')).not.toContain(password)
    } finally {
      admin.disconnect()
      await guarded.stop()
    }
  })

  it('never prints the password of its Redis connection in an error that Redis refused, its cause included', async () => {
    const guarded = await startRedisServer()
    try {
      const admin = new Redis(guarded.url)
      await admin.config('SET', 'requirepass', 'the-right-one')
      admin.disconnect()
      const password = 'wrong-pass-printed-4d2b'
      const connection = `redis://default:${password}@127.0.0.1:${guarded.port}`
      const graph = defineFunction({ name: 'graph', run: () => 1 })
      const journal = new RedisJournal({ connection })
      const limiter = new RedisRateLimiter({ connection, name: 'guarded', requestsPerMinute: 10 })
      const errors = [
        await serve({ graphs: [graph], connection }).catch((thrown: unknown) => thrown),
        await journal.read('step').catch((thrown: unknown) => thrown),
        await limiter.acquire({ tokens: 1 }).catch((thrown: unknown) => thrown),
      ]
      await journal.close()
      await limiter.close()
      for (const error of errors) {
        expect(TinyLLMError.isInstance(error)).toBe(true)
        // console.log(error) prints the cause too: ioredis's error keeps the command Redis refused, AUTH and its
        // password.
        expect(inspect(error, { depth: 10 })).toContain('WRONGPASS')
        expect(inspect(error, { depth: 10 }) + JSON.stringify(error)).not.toContain(password)
      }
    } finally {
      await guarded.stop()
    }
  })
})
