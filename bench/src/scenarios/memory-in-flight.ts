import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'
import { type ServerProcess, startServerProcess } from '../harness/loopback-server.ts'
import { assertEqual, canCollectGarbage, repeat, settleGarbage } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'

/** Parameters of one case: how many runs are held open at once. */
export interface MemoryParams {
  readonly runs: number
}

const model = 'gpt-4o-mini'
const apiKey = 'bench-key'

interface MemorySample {
  readonly total: number
  readonly heap: number
  readonly external: number
}

/** A client under test: completes a few calls, then starts N held calls without waiting for them. */
interface HeldCalls {
  warmUp(): Promise<void>
  /** Starts `runs` calls; returns what to await for them to settle (one promise per run, or one for a Parallel). */
  start(runs: number): Promise<unknown>[]
}

/** Given the server's base URL, builds the client under test. */
type CallFactory = (baseURL: string) => Promise<HeldCalls>

const promptOf = (index: number): { messages: { role: 'user'; content: string }[] } => ({
  messages: [{ role: 'user', content: `ping ${index}` }],
})

/** One call per index, none awaited: the shape of the raw SDK and of independent tinyllm runs. */
function oneByOne(call: (index: number) => Promise<unknown>): HeldCalls {
  return {
    async warmUp() {
      for (let index = 0; index < 3; index++) await call(index)
    },
    start(runs) {
      const pending: Promise<unknown>[] = new Array(runs)
      for (let index = 0; index < runs; index++) pending[index] = call(index)
      return pending
    },
  }
}

/** What the issue counts as a run's memory: V8 heap in use, plus memory outside the heap (C++ objects, buffers). */
function usedMemory(): MemorySample {
  const usage = process.memoryUsage()
  return { total: usage.heapUsed + usage.external + usage.arrayBuffers, heap: usage.heapUsed, external: usage.external }
}

async function whenServerHolds(server: ServerProcess, runs: number, label: string): Promise<void> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const { inFlight } = await server.stats()
    if (inFlight >= runs) return
    if (Date.now() > deadline) throw new Error(`${label}: only ${inFlight} of ${runs} calls reached the server`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

function subject(
  id: string,
  label: string,
  group: SubjectDefinition<MemoryParams>['group'],
  build: CallFactory,
): SubjectDefinition<MemoryParams> {
  return {
    id,
    label,
    group,
    async measure({ runs }: MemoryParams, plan: RepetitionPlan): Promise<Measurement> {
      if (!canCollectGarbage()) throw new Error('memory is measured after a full GC: run with --expose-gc')
      const holdRuns = async (snapshot?: (moment: string) => void): Promise<MemorySample> => {
        const server = await startServerProcess({ latencyMs: 0 })
        try {
          const calls = await build(server.baseURL)
          // A few calls that complete, so lazily built client state (connection pool, parsers) is in the baseline.
          await calls.warmUp()
          await server.stallEverything()
          settleGarbage()
          const before = usedMemory()
          snapshot?.('before')
          const pending = calls.start(runs)
          // Handlers at once: a call that fails before the release (a reused keep-alive socket the server closed) is
          // an outcome, never an unhandled rejection.
          const settled = Promise.allSettled(pending)
          await whenServerHolds(server, runs, label)
          settleGarbage()
          const after = usedMemory()
          snapshot?.('after')
          await server.close()
          const outcomes = await settled
          const failed = outcomes.filter((outcome) => outcome.status === 'rejected').length
          assertEqual(failed, pending.length, `${label}: held calls released by closing the server`)
          return {
            total: (after.total - before.total) / runs,
            heap: (after.heap - before.heap) / runs,
            external: (after.external - before.external) / runs,
          }
        } finally {
          await server.close()
        }
      }
      const samples = await repeat(plan, () => holdRuns())
      // With --heap-snapshot, one more repetition (not in the numbers: a snapshot disturbs the heap) leaves snapshots
      // from before and after its runs started, for tools/compare-heap-snapshots.ts.
      const artefacts = process.env.TINYLLM_BENCH_ARTEFACTS
      if (artefacts !== undefined) {
        await holdRuns((moment) => writeHeapSnapshot(join(artefacts, `memory-${id}-${moment}.heapsnapshot`)))
      }
      return {
        metrics: {
          bytesPerRun: samples.map((sample) => sample.total),
          heapBytesPerRun: samples.map((sample) => sample.heap),
          externalBytesPerRun: samples.map((sample) => sample.external),
        },
      }
    },
  }
}

// Every client keeps its default retries: a call sent on a keep-alive socket the server had just closed is sent again
// and still reaches the server, so all N are held; closing the server at the end fails every call after its retries.
const rawSdk: CallFactory = async (baseURL) => {
  const { default: OpenAI } = await import('openai')
  const client = new OpenAI({ apiKey, baseURL })
  return oneByOne((index) => client.chat.completions.create({ model, ...promptOf(index) }))
}

const tinyllmChat = async (baseURL: string, transport: 'undici' | 'fetch' = 'undici') => {
  const { OpenAIChat } = await import('@tinyllm/openai')
  return new OpenAIChat({ name: 'chat', model, baseURL, apiKey, transport })
}

const tinyllmInvoke =
  (transport: 'undici' | 'fetch'): CallFactory =>
  async (baseURL) => {
    const chat = await tinyllmChat(baseURL, transport)
    return oneByOne((index) => chat.invoke(promptOf(index)))
  }

/** `trace`: every run records itself, a lifecycle listener hears every transition. */
const tinyllmTrace: CallFactory = async (baseURL) => {
  const { onLifecycleEvent } = await import('@tinyllm/core')
  const chat = await tinyllmChat(baseURL)
  onLifecycleEvent(() => {})
  return oneByOne((index) =>
    chat.trace(promptOf(index)).then((record) => {
      if (record.status !== 'complete') throw record.error
      return record
    }),
  )
}

const tinyllmParallel =
  (mode: 'fail-fast' | 'settle-all'): CallFactory =>
  async (baseURL) => {
    const { Parallel } = await import('@tinyllm/flow')
    const chat = await tinyllmChat(baseURL)
    // All N branches at once (an unbounded Parallel holds at most 1,024): every call must be in flight to be measured.
    const parallelOf = (runs: number) => new Parallel({ name: 'fan-out', map: chat, mode, concurrency: runs })
    return {
      async warmUp() {
        await parallelOf(3).invoke([promptOf(0), promptOf(1), promptOf(2)])
      },
      start(runs) {
        const parallel = parallelOf(runs)
        const inputs = Array.from({ length: runs }, (_, index) => promptOf(index))
        // fail-fast: the release fails a branch, which aborts the others and fails the Parallel. settle-all: every
        // branch must have failed.
        const released = parallel.invoke(inputs).then((outcomes) => {
          const failed = (outcomes as { status: string }[]).filter((outcome) => outcome.status === 'rejected').length
          assertEqual(failed, runs, 'tinyllm Parallel: branches failed by the release')
          throw new Error('released')
        })
        return [released]
      },
    }
  }

/** Scenario 4: what the framework keeps in memory for every run that waits on its model call. */
export const memoryInFlight = defineScenario<MemoryParams>({
  id: 'memory-in-flight',
  title: 'Memory per in-flight run',
  method: [
    'N chat calls are started and held open: the loopback server (its own process) stalls every response before its',
    'headers. After a full GC (`--expose-gc`, twice) once the server holds all N, the increase of',
    '`heapUsed + external + arrayBuffers` over the same sum before the calls (after three completed warm-up calls) is',
    'divided by N. Then the server closes and every call must fail. Each repetition uses a fresh server process and',
    'client. Node counts `arrayBuffers` inside `external` too, so buffers count twice in the first column, as the issue',
    'defines it; heap and external are also shown alone. Framework memory = tinyllm − raw SDK. tinyllm is measured as',
    'N independent `OpenAIChat.invoke` runs (over its default undici transport and over `fetch`), as N `trace` runs',
    'with a process-wide lifecycle listener, and as one `Parallel` of N branches at `concurrency: N` (fail-fast, its default, and',
    'settle-all), where each branch is a child run. Every client keeps its default retries, so a call sent on a',
    'keep-alive socket the server had just closed is sent again; handlers are attached as the calls start.',
  ].join(' '),
  metrics: [
    { key: 'bytesPerRun', label: 'bytes / run (heap+external+arrayBuffers)', better: 'lower', digits: 0 },
    { key: 'heapBytesPerRun', label: 'heap bytes / run', better: 'lower', digits: 0 },
    { key: 'externalBytesPerRun', label: 'external bytes / run', better: 'lower', digits: 0 },
  ],
  primaryMetric: 'bytesPerRun',
  floor: 'openai-sdk',
  reference: 'tinyllm',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [{ id: '20-runs', label: '20 runs in flight', params: { runs: 20 } }]
      : [{ id: '10000-runs', label: '10,000 runs in flight', params: { runs: 10_000 } }],
  // Memory per run varies little from one repetition to the next (each is a fresh server and client after warm-up calls).
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 0, repetitions: 3 }),
  timeoutMs: (size) => (size === 'smoke' ? 60_000 : 300_000),
  subjects: [
    subject('openai-sdk', 'openai SDK chat.completions.create (floor)', 'floor', rawSdk),
    subject('tinyllm', 'tinyllm OpenAIChat.invoke (undici transport, the default)', 'tinyllm', tinyllmInvoke('undici')),
    {
      ...subject('tinyllm-fetch', 'tinyllm OpenAIChat.invoke, fetch transport', 'tinyllm', tinyllmInvoke('fetch')),
      compareTo: 'tinyllm-fetch',
    },
    {
      ...subject('tinyllm-trace', 'tinyllm OpenAIChat.trace with a lifecycle listener', 'tinyllm', tinyllmTrace),
      compareTo: 'tinyllm-trace',
    },
    {
      ...subject(
        'tinyllm-parallel',
        'tinyllm Parallel (map, concurrency N, fail-fast) of OpenAIChat',
        'tinyllm',
        tinyllmParallel('fail-fast'),
      ),
      compareTo: 'tinyllm-parallel',
    },
    {
      ...subject(
        'tinyllm-parallel-settle-all',
        'tinyllm Parallel (map, concurrency N, settle-all) of OpenAIChat',
        'tinyllm',
        tinyllmParallel('settle-all'),
      ),
      compareTo: 'tinyllm-parallel-settle-all',
    },
  ],
})
