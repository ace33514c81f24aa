import { type ServerProcess, startServerProcess } from '../harness/loopback-server.ts'
import { assertEqual, canCollectGarbage, repeat, settleGarbage } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'
import { loadOpenAIChat } from './tinyllm-apis.ts'

/** Parameters of one case: how many runs are held open at once. */
export interface MemoryParams {
  readonly runs: number
}

const model = 'gpt-4o-mini'
const apiKey = 'bench-key'

/** Given the server's base URL, builds a client; returns a function that starts one call and does not wait for it. */
type CallFactory = (baseURL: string) => Promise<(index: number) => Promise<unknown>>

/** What the issue counts as a run's memory: V8 heap in use, plus memory outside the heap (C++ objects, buffers). */
function usedMemory(): { total: number; heap: number; external: number } {
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
      const samples = await repeat(plan, async () => {
        const server = await startServerProcess({ latencyMs: 0 })
        try {
          const start = await build(server.baseURL)
          // A few calls that complete, so lazily built client state (connection pool, parsers) is in the baseline.
          for (let index = 0; index < 3; index++) await start(index)
          await server.stallEverything()
          settleGarbage()
          const before = usedMemory()
          const pending: Promise<unknown>[] = new Array(runs)
          for (let index = 0; index < runs; index++) pending[index] = start(index)
          await whenServerHolds(server, runs, label)
          settleGarbage()
          const after = usedMemory()
          const settled = Promise.allSettled(pending)
          await server.close()
          const outcomes = await settled
          const failed = outcomes.filter((outcome) => outcome.status === 'rejected').length
          assertEqual(failed, runs, `${label}: held calls released by closing the server`)
          return {
            total: (after.total - before.total) / runs,
            heap: (after.heap - before.heap) / runs,
            external: (after.external - before.external) / runs,
          }
        } finally {
          await server.close()
        }
      })
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

const rawSdk: CallFactory = async (baseURL) => {
  const { default: OpenAI } = await import('openai')
  const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 })
  return (index) => client.chat.completions.create({ model, messages: [{ role: 'user', content: `ping ${index}` }] })
}

const tinyllmOpenAIChat: CallFactory = async (baseURL) => {
  const OpenAIChat = await loadOpenAIChat()
  const chat = new OpenAIChat({ name: 'chat', model, baseURL, apiKey })
  return (index) => chat.invoke(`ping ${index}`)
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
    'defines it; heap and external are also shown alone. Framework memory = tinyllm − raw SDK.',
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
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 1, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 600_000),
  subjects: [
    subject('openai-sdk', 'openai SDK chat.completions.create (floor)', 'floor', rawSdk),
    subject('tinyllm', 'tinyllm OpenAIChat.invoke', 'tinyllm', tinyllmOpenAIChat),
  ],
})
