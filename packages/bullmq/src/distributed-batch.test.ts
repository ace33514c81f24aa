// The same graph on several worker processes, with real crashes: kill -9 of workers mid-batch, Redis killed and
// started again, a producer killed while it waits. Every trigger is a count of settled runs, never a time; the figures
// are printed for the record.
import type { JournalEntry } from '@tinyllm/core'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  applicationOf,
  applications,
  committedKey,
  creditGraph,
  executedKey,
  type LoanApplication,
  underwrite,
} from './__fixtures__/credit-graph.ts'
import { busiestWindow } from './__fixtures__/sliding-window.ts'
import { startProducer, startWorker, type WorkerProcess } from './__fixtures__/worker-processes.ts'
import { BullMQExecutor, type RunOutcome } from './bullmq-executor.js'
import { type RedisServer, startRedisServer } from './testing/index.js'

let redis: RedisServer
let model: OpenAICompatibleServer
let admin: Redis

beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: true })
  model = await startOpenAICompatibleServer({ replies: underwrite, latency: { minMs: 10, maxMs: 40 } })
  admin = new Redis(redis.url, { maxRetriesPerRequest: null })
  admin.on('error', () => {})
  modelStep = await findModelStep()
})

afterAll(async () => {
  admin?.disconnect()
  await model?.close()
  await redis?.stop()
})

const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.close()
})

// Long enough that a live worker on a loaded machine keeps its locks; a dead one's runs are taken over after it.
const lockDurationMs = 10_000
const stalledIntervalMs = 1_000

async function startWorkers(queue: string, count: number, limiter?: WorkerProcessLimiter): Promise<WorkerProcess[]> {
  const workers = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      startWorker({
        id: `${queue}-w${index + 1}`,
        redisUrl: redis.url,
        queue,
        baseURL: model.baseURL,
        concurrency: 16,
        lockDurationMs,
        stalledIntervalMs,
        ...(limiter === undefined ? {} : { limiter }),
      }),
    ),
  )
  for (const worker of workers) running.push({ close: () => worker.kill() })
  return workers
}
type WorkerProcessLimiter = { requestsPerMinute: number; tokensPerMinute: number; windowMs: number }

function executorFor(queue: string): BullMQExecutor {
  const executor = new BullMQExecutor({ connection: redis.url, queue, pollIntervalMs: 1_000 })
  running.push(executor)
  return executor
}

/** The model requests received since `from`, by application and by worker. */
function requestsSince(from: number) {
  const requests = model.requests.slice(from).filter((request) => request.path === '/v1/chat/completions')
  const perApplication = new Map<string, number>()
  for (const request of requests) {
    const id = applicationOf(request.body)
    if (id !== undefined) perApplication.set(id, (perApplication.get(id) ?? 0) + 1)
  }
  return { total: requests.length, perApplication, requests }
}

/** Where the model call of a run is journaled, after the run id: found once by running the graph here. */
let modelStep = ''

async function findModelStep(): Promise<string> {
  let found = ''
  const journal = {
    read: () => undefined,
    write: (key: string, entry: JournalEntry) => {
      if (entry.function === 'classify') found = key.slice('probe'.length)
      return entry
    },
  }
  const effects = new Redis(redis.url)
  try {
    await creditGraph({ baseURL: model.baseURL, worker: 'probe', effects }).invoke(applications(1)[0]!, {
      runId: 'probe',
      journal,
    })
  } finally {
    effects.disconnect()
  }
  return found
}

/**
 * Freezes a worker (SIGSTOP: from now on it sends nothing), notes which runs have their model call journaled, then kills
 * it with SIGKILL. Its calls in flight are the requests it sent — some may still be on their way to the server — for a
 * run whose call was not journaled when it froze: answered or not, their answer is lost.
 */
async function crash(worker: WorkerProcess, runIds: readonly string[]): Promise<{ inFlight(): number }> {
  worker.freeze()
  const pipeline = admin.pipeline()
  for (const id of runIds) pipeline.exists(`tinyllm:journal:${id}${modelStep}`)
  const replies = (await pipeline.exec()) ?? []
  const journaled = new Set(runIds.filter((_, index) => replies[index]?.[1] === 1))
  await worker.kill()
  return {
    inFlight: () => {
      const lost = new Set<string>()
      for (const request of model.requests) {
        const id = applicationOf(request.body)
        if (id !== undefined && request.headers['x-worker'] === worker.id && !journaled.has(id)) lost.add(id)
      }
      return lost.size
    },
  }
}

function tally(outcomes: ReadonlyArray<RunOutcome<unknown>>, inputs: ReadonlyArray<LoanApplication>) {
  let fulfilled = 0
  let wrong = 0
  const failures: string[] = []
  outcomes.forEach((outcome, index) => {
    if (outcome?.status === 'fulfilled') {
      fulfilled += 1
      const number = Number(inputs[index]!.id.slice(4))
      if (outcome.value !== (number % 2 === 0 ? 'good' : 'bad')) wrong += 1
    } else if (outcome?.status === 'rejected') failures.push(`${outcome.runId}: ${outcome.error.message}`)
  })
  return { fulfilled, wrong, failures }
}

/** The side effects committed and executed (counters of the whole test), and the keys written for runs `prefix*`. */
async function effectCounts(prefix: string) {
  const [committed, executed] = await Promise.all([admin.get(committedKey), admin.get(executedKey)])
  const keys = await scan(`test:effect:${prefix}*`)
  return { committed: Number(committed ?? 0), executed: Number(executed ?? 0), keys: keys.length }
}

async function scan(pattern: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    found.push(...keys)
  } while (cursor !== '0')
  return found
}

describe('a batch on three worker processes', () => {
  it('survives kill -9 of two workers mid-batch: nothing lost, failed or committed twice; the shared limiter holds', async () => {
    await admin.del(committedKey, executedKey)
    const queue = 'crash'
    const windowMs = 1_000
    // Limits below what three workers would do unchecked, so that the limiter binds.
    const limiter = { requestsPerMinute: 120, tokensPerMinute: 6_000, windowMs }
    const workers = await startWorkers(queue, 3, limiter)
    const executor = executorFor(queue)
    const graph = creditGraph({ baseURL: model.baseURL, worker: 'producer' })
    const inputs = applications(2_000)
    const runIds = inputs.map((application) => application.id)
    const from = model.requests.length
    const kills: Array<Promise<{ inFlight(): number }>> = []
    const outcomes = await executor.map(graph, inputs, {
      runIds,
      onProgress: ({ settled }) => {
        if (settled === 600) kills.push(crash(workers[0]!, runIds))
        if (settled === 1_200) kills.push(crash(workers[1]!, runIds))
      },
    })
    const inFlightAtDeath = (await Promise.all(kills)).map((killed) => killed.inFlight())
    const calls = requestsSince(from)
    const { fulfilled, wrong, failures } = tally(outcomes, inputs)
    const effects = await effectCounts('APP-')
    const duplicatedCalls = calls.total - calls.perApplication.size
    const grants = workers.flatMap((worker) => worker.grants.filter((grant) => grant !== undefined))
    const busiest = busiestWindow(grants, windowMs)
    const replayed = outcomes.reduce(
      (sum, outcome) => sum + (outcome.status === 'fulfilled' ? outcome.replayedSteps : 0),
      0,
    )

    // Resubmitting the same run ids answers from Redis: no model call at all.
    const before = model.requests.length
    const again = await executor.map(graph, inputs, { runIds })
    const resubmittedCalls = model.requests.length - before

    console.log(
      [
        'kill -9 of 2 of 3 workers mid-batch (at 600 and 1,200 settled runs of 2,000):',
        `  completed ${fulfilled}, failed ${failures.length}, lost ${inputs.length - fulfilled - failures.length}, wrong answers ${wrong}`,
        `  model calls ${calls.total} for ${calls.perApplication.size} applications: ${duplicatedCalls} duplicated; the killed workers had ${inFlightAtDeath.join(' + ')} calls in flight`,
        `  side effects committed ${effects.committed} (keys ${effects.keys}), their code ran ${effects.executed} times`,
        `  steps replayed from the journal by the runs that resumed: ${replayed}`,
        `  limiter: ${grants.length} grants reported; busiest ${windowMs} ms window: ${busiest.requests} requests (limit ${limiter.requestsPerMinute}), ${busiest.tokens} tokens (limit ${limiter.tokensPerMinute})`,
        `  resubmitting the 2,000 run ids: ${resubmittedCalls} model calls`,
      ].join('\n'),
    )
    expect(failures).toEqual([])
    expect(fulfilled).toBe(inputs.length)
    expect(wrong).toBe(0)
    expect(calls.perApplication.size).toBe(inputs.length)
    expect(effects.committed).toBe(inputs.length)
    expect(effects.keys).toBe(inputs.length)
    expect(duplicatedCalls).toBeLessThanOrEqual(inFlightAtDeath.reduce((sum, count) => sum + count, 0))
    expect(busiest.requests).toBeLessThanOrEqual(limiter.requestsPerMinute)
    expect(busiest.tokens).toBeLessThanOrEqual(limiter.tokensPerMinute)
    expect(resubmittedCalls).toBe(0)
    expect(again.map((outcome) => outcome.status === 'fulfilled' && outcome.value)).toEqual(
      outcomes.map((outcome) => outcome.status === 'fulfilled' && outcome.value),
    )
  }, 240_000)
})

describe('bad days', () => {
  it('loses nothing when Redis is killed and started again mid-batch', async () => {
    const queue = 'restart'
    await startWorkers(queue, 2)
    const executor = executorFor(queue)
    const graph = creditGraph({ baseURL: model.baseURL, worker: 'producer' })
    const inputs = applications(600)
    const runIds = inputs.map((application) => `restart-${application.id}`)
    let outage: Promise<void> | undefined
    const committedBefore = Number((await admin.get(committedKey)) ?? 0)
    const outcomes = await executor.map(graph, inputs, {
      runIds,
      onProgress: ({ settled }) => {
        if (settled === 150) {
          outage = (async () => {
            await redis.kill()
            await new Promise((resolve) => setTimeout(resolve, 1_500))
            await redis.start()
          })()
        }
      },
    })
    await outage
    const { fulfilled, wrong, failures } = tally(outcomes, inputs)
    const committed = Number((await admin.get(committedKey)) ?? 0) - committedBefore
    const keys = (await scan('test:effect:restart-*')).length
    console.log(
      `Redis killed and restarted at 150 of 600 settled runs: completed ${fulfilled}, failed ${failures.length}, lost ${inputs.length - fulfilled - failures.length}, side effects committed ${committed} (keys ${keys})`,
    )
    expect(failures).toEqual([])
    expect(fulfilled).toBe(inputs.length)
    expect(wrong).toBe(0)
    expect(keys).toBe(inputs.length)
    expect(committed).toBe(inputs.length)
  }, 240_000)

  it('keeps the results of a producer killed while it waits, for a later read', async () => {
    const queue = 'producer'
    await startWorkers(queue, 2)
    const count = 300
    const runIdOf = (application: LoanApplication) => `producer-${application.id}`
    const producer = startProducer({
      redisUrl: redis.url,
      queue,
      baseURL: model.baseURL,
      count,
      runIdPrefix: 'producer-',
    })
    running.push({ close: async () => void producer.child.kill('SIGKILL') })
    const from = model.requests.length
    await new Promise<void>((resolve) => {
      producer.child.on('message', (message: { type: string; settled: number }) => {
        if (message.type === 'progress' && message.settled >= 50) {
          producer.child.kill('SIGKILL')
          resolve()
        }
      })
    })
    await producer.exited
    // Another producer reads the same runs: the finished ones answer from Redis, the others are awaited.
    const executor = executorFor(queue)
    const inputs = applications(count)
    const finishedEarly = (
      await Promise.all(inputs.map((application) => executor.result(runIdOf(application))))
    ).filter((outcome) => outcome?.status === 'fulfilled').length
    const outcomes = await executor.map(creditGraph({ baseURL: model.baseURL, worker: 'producer' }), inputs, {
      runIds: inputs.map(runIdOf),
    })
    const { fulfilled, failures } = tally(outcomes, inputs)
    const calls = requestsSince(from)
    console.log(
      `producer killed at 50 settled runs of ${count}: ${finishedEarly} results already in Redis at the later read, completed ${fulfilled}, failed ${failures.length}, model calls ${calls.total}`,
    )
    expect(finishedEarly).toBeGreaterThanOrEqual(50)
    expect(failures).toEqual([])
    expect(fulfilled).toBe(count)
    expect(calls.total).toBe(count)
  }, 240_000)
})
