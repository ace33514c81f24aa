import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startServerProcess } from '../harness/loopback-server.ts'
import { assertEqual, repeat } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'
import { benchGraph, benchLimits, promptOf } from './distributed-graph.ts'

/** Parameters of one case of the distributed scenarios. */
export interface DistributedParams {
  readonly runs: number
  /** Worker processes (the in-process subject runs the same total concurrency in one process). */
  readonly workers: number
  /** Runs in progress at once per worker. */
  readonly concurrency: number
  /** A rate limiter on every call: Redis's shared one on workers, `@tinyllm/llm`'s in one process. */
  readonly limiter: boolean
  readonly minLatencyMs: number
  readonly maxLatencyMs: number
}

const workerPath = fileURLToPath(new URL('./distributed-worker.ts', import.meta.url))

/** Runs every repetition's batch through `run` and reports wall time, runs per second and ms per run. */
async function measureBatches(
  params: DistributedParams,
  plan: RepetitionPlan,
  label: string,
  setUp: (baseURL: string) => Promise<{ run(repetition: number): Promise<readonly string[]>; close(): Promise<void> }>,
): Promise<Measurement> {
  const server = await startServerProcess({ latencyMs: params.minLatencyMs, maxLatencyMs: params.maxLatencyMs })
  const subject = await setUp(server.baseURL)
  try {
    const samples = await repeat(plan, async (repetition) => {
      const started = performance.now()
      const answers = await subject.run(repetition)
      const wallMs = performance.now() - started
      assertEqual(answers.length, params.runs, `${label}: answers`)
      for (const index of [0, params.runs - 1])
        assertEqual(answers[index], promptOf(index), `${label}: answer ${index}`)
      return wallMs
    })
    return {
      metrics: {
        wallMs: samples,
        runsPerSecond: samples.map((wallMs) => (params.runs * 1000) / wallMs),
        msPerRun: samples.map((wallMs) => wallMs / params.runs),
      },
      details: { 'model calls received': (await server.stats()).received },
    }
  } finally {
    await subject.close()
    await server.close()
  }
}

const inProcess: SubjectDefinition<DistributedParams> = {
  id: 'in-process',
  label: 'the same graph in one process (Parallel map)',
  group: 'floor',
  measure: (params, plan) =>
    measureBatches(params, plan, 'in-process', async (baseURL) => {
      const { Parallel } = await import('@tinyllm/flow')
      const { RateLimiter } = await import('@tinyllm/llm')
      const graph = benchGraph(baseURL, params.limiter ? new RateLimiter(benchLimits) : undefined)
      const all = new Parallel({ name: 'all', map: graph, concurrency: params.workers * params.concurrency })
      const inputs = Array.from({ length: params.runs }, (_, index) => index)
      return { run: () => all.invoke(inputs), close: async () => {} }
    }),
}

const onWorkers: SubjectDefinition<DistributedParams> = {
  id: 'bullmq',
  label: '@tinyllm/bullmq: BullMQExecutor.map on worker processes',
  group: 'tinyllm',
  measure: (params, plan) =>
    measureBatches(params, plan, 'bullmq', async (baseURL) => {
      const { BullMQExecutor } = await import('@tinyllm/bullmq')
      const { startRedisServer } = await import('@tinyllm/bullmq/testing')
      const redis = await startRedisServer()
      const queue = 'bench'
      const workers: ChildProcess[] = []
      for (let index = 0; index < params.workers; index++) {
        const config = { redisUrl: redis.url, queue, baseURL, concurrency: params.concurrency, limiter: params.limiter }
        const worker = fork(workerPath, [JSON.stringify(config)], {
          execArgv: [],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        })
        await new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve())
          worker.once('exit', (code) => reject(new Error(`a worker exited (code ${code}) before it was ready`)))
        })
        workers.push(worker)
      }
      const executor = new BullMQExecutor({ connection: redis.url, queue })
      const graph = benchGraph(baseURL)
      const inputs = Array.from({ length: params.runs }, (_, index) => index)
      return {
        run: async (repetition) => {
          // Fresh run ids every repetition: nothing is answered from an earlier one.
          const outcomes = await executor.map(graph, inputs, {
            runIds: inputs.map((index) => `r${repetition}/${index}`),
          })
          return outcomes.map((outcome) => {
            if (outcome.status === 'rejected') throw outcome.error
            return outcome.value
          })
        },
        close: async () => {
          await executor.close()
          await Promise.all(
            workers.map(
              (worker) =>
                new Promise<void>((resolve) => {
                  worker.once('exit', () => resolve())
                  worker.send({ type: 'stop' })
                }),
            ),
          )
          await redis.stop()
        },
      }
    }),
}

const metrics = [
  { key: 'runsPerSecond', label: 'runs / s', better: 'higher', digits: 0 },
  { key: 'wallMs', label: 'wall time (ms)', better: 'lower', digits: 0 },
  { key: 'msPerRun', label: 'wall ms / run', better: 'lower', digits: 2 },
] as const

/** Throughput of one graph on 1, 2 and 4 worker processes, against the same concurrency in one process. */
export const distributedThroughput = defineScenario<DistributedParams>({
  id: 'distributed-throughput',
  title: 'Distributed runs: throughput on BullMQ workers',
  method: [
    'N runs of a two-step graph (a prompt step, then one chat call to the OpenAI-compatible loopback server, running',
    'in its own process and answering after 100–200 ms, seeded) submitted with `BullMQExecutor.map` to 1, 2 or 4',
    'worker processes (`serve`, 64 runs at once each) on a private `redis-server` started for the subject, with and',
    "without a shared `RedisRateLimiter` on every call (limits far above the bench's rate: what is measured is the",
    "limiter's cost). The floor is the same graph in one process (`Parallel` map at the same total concurrency, with",
    "`@tinyllm/llm`'s `RateLimiter` when the limiter is on). One repetition is the whole batch, with fresh run ids;",
    'workers and Redis run on the same machine as the producer, so more workers than cores share the CPU.',
  ].join(' '),
  metrics,
  primaryMetric: 'runsPerSecond',
  floor: 'in-process',
  reference: 'bullmq',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [
          {
            id: 'smoke',
            label: '20 runs, 1 worker, limiter on, 5–10 ms latency',
            params: { runs: 20, workers: 1, concurrency: 8, limiter: true, minLatencyMs: 5, maxLatencyMs: 10 },
          },
        ]
      : [1, 2, 4].flatMap((workers) =>
          [false, true].map((limiter) => ({
            id: `${workers}-workers-limiter-${limiter ? 'on' : 'off'}`,
            label: `10,000 runs, ${workers} worker${workers === 1 ? '' : 's'} × 64, limiter ${limiter ? 'on' : 'off'}`,
            params: { runs: 10_000, workers, concurrency: 64, limiter, minLatencyMs: 100, maxLatencyMs: 200 },
          })),
        ),
  plan: (size) => (size === 'smoke' ? { warmup: 0, repetitions: 1 } : { warmup: 1, repetitions: 3 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 900_000),
  subjects: [inProcess, onWorkers],
})

/** What one run costs on a worker beyond the same run in one process: runs one at a time, no model latency. */
export const distributedOverhead = defineScenario<DistributedParams>({
  id: 'distributed-overhead',
  title: 'Distributed runs: overhead per job',
  method: [
    'The graph above, one run at a time (1 worker, concurrency 1), against a loopback server that answers at once:',
    'wall ms per run on a worker (queueing the job, a worker taking it, the journal reads and writes in Redis, the',
    "result read back) against the same runs in one process. The difference is the distributed path's overhead per job.",
  ].join(' '),
  metrics,
  primaryMetric: 'msPerRun',
  floor: 'in-process',
  reference: 'bullmq',
  cases: (size: BenchSize) => [
    {
      id: size === 'smoke' ? 'smoke' : '1000-runs',
      label: `${size === 'smoke' ? 10 : 1_000} runs one at a time, no latency`,
      params: {
        runs: size === 'smoke' ? 10 : 1_000,
        workers: 1,
        concurrency: 1,
        limiter: false,
        minLatencyMs: 0,
        maxLatencyMs: 0,
      },
    },
  ],
  plan: (size) => (size === 'smoke' ? { warmup: 0, repetitions: 1 } : { warmup: 1, repetitions: 5 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 600_000),
  subjects: [inProcess, onWorkers],
})
