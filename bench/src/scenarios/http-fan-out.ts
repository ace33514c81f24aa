import { mapWithConcurrency } from '../harness/limiter.ts'
import { startServerProcess } from '../harness/loopback-server.ts'
import { assertEqual, repeat } from '../harness/measure.ts'
import { trackPeakRss } from '../harness/peak-rss.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'

/** Parameters of one case. */
export interface HttpFanOutParams {
  readonly calls: number
  readonly concurrency: number
  /** The loopback server's delay before every response. */
  readonly latencyMs: number
  /** `gzip`: the server compresses its answers for clients that accept it, as the real API does. */
  readonly encoding: 'identity' | 'gzip'
  /** Whether the peers and tinyllm's cheapest mode are measured in this case too (they are in one case only). */
  readonly everyone: boolean
}

const model = 'gpt-4o-mini'
const apiKey = 'bench-key'

/** The prompt of call `index`; the loopback server echoes it back, so every answer is checked. */
const promptOf = (index: number): string => `ping ${index}`

/** Given the server's base URL, builds the client once; returns one fan-out: every call's answer text, in order. */
type FanOutFactory = (baseURL: string, params: HttpFanOutParams) => Promise<() => Promise<readonly string[]>>

function subject(
  id: string,
  label: string,
  group: SubjectDefinition<HttpFanOutParams>['group'],
  build: FanOutFactory,
  inEveryCase = true,
): SubjectDefinition<HttpFanOutParams> {
  return {
    id,
    label,
    group,
    ...(inEveryCase ? {} : { appliesTo: (params: HttpFanOutParams) => params.everyone }),
    async measure(params: HttpFanOutParams, plan: RepetitionPlan): Promise<Measurement> {
      const server = await startServerProcess({ latencyMs: params.latencyMs, encoding: params.encoding })
      try {
        const fanOut = await build(server.baseURL, params)
        const samples = await repeat(plan, async () => {
          const rss = trackPeakRss()
          const cpu = process.cpuUsage()
          const started = performance.now()
          const answers = await fanOut()
          const wallMs = performance.now() - started
          const cpuUsed = process.cpuUsage(cpu)
          const peakRssBytes = rss.stop()
          assertEqual(answers.length, params.calls, `${label}: answers`)
          for (const index of [0, params.calls - 1]) {
            assertEqual(answers[index], promptOf(index), `${label}: answer ${index}`)
          }
          return { wallMs, peakRssBytes, cpuMicros: cpuUsed.user + cpuUsed.system }
        })
        return {
          metrics: {
            wallMs: samples.map((sample) => sample.wallMs),
            callsPerSecond: samples.map((sample) => (params.calls * 1000) / sample.wallMs),
            peakRssMiB: samples.map((sample) => sample.peakRssBytes / 1024 ** 2),
            cpuUsPerCall: samples.map((sample) => sample.cpuMicros / params.calls),
          },
          details: { 'calls received by the server': (await server.stats()).received },
        }
      } finally {
        await server.close()
      }
    },
  }
}

const rawSdk: FanOutFactory = async (baseURL, { calls, concurrency }) => {
  const { default: OpenAI } = await import('openai')
  const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 })
  return () =>
    mapWithConcurrency(calls, concurrency, async (index) => {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: promptOf(index) }],
      })
      return completion.choices[0]?.message.content ?? ''
    })
}

interface TinyllmMode {
  /** `client`: an SDK client passed in (plain fetch): tinyllm then hands the SDK the call's signal, as it used to. */
  readonly transport: 'undici' | 'fetch' | 'client'
  readonly mode: 'fail-fast' | 'settle-all'
  /** Records the run (`trace`) with a process-wide lifecycle listener, as an app with tracing on does. */
  readonly traced: boolean
}

const tinyllmParallel =
  ({ transport, mode, traced }: TinyllmMode): FanOutFactory =>
  async (baseURL, { calls, concurrency }) => {
    const { OpenAIChat } = await import('@tinyllm/openai')
    const { Parallel } = await import('@tinyllm/flow')
    const { onLifecycleEvent } = await import('@tinyllm/core')
    const chat =
      transport === 'client'
        ? new OpenAIChat({ name: 'chat', model, client: new (await import('openai')).default({ apiKey, baseURL }) })
        : new OpenAIChat({ name: 'chat', model, baseURL, apiKey, transport })
    const parallel = new Parallel({ name: 'fan-out', map: chat, concurrency, mode })
    const inputs = Array.from({ length: calls }, (_, index) => ({
      messages: [{ role: 'user' as const, content: promptOf(index) }],
    }))
    const texts = (outputs: readonly unknown[]): string[] =>
      outputs.map((output) =>
        mode === 'settle-all' ? String((output as { value?: unknown }).value) : (output as string),
      )
    if (!traced) return async () => texts(await parallel.invoke(inputs))
    let events = 0
    onLifecycleEvent(() => {
      events += 1
    })
    return async () => {
      const record = await parallel.trace(inputs)
      if (record.status !== 'complete' || events === 0) throw new Error(`traced fan-out ended ${record.status}`)
      return texts(record.output as unknown[])
    }
  }

const langchainBatch: FanOutFactory = async (baseURL, { calls, concurrency }) => {
  const { ChatOpenAI } = await import('@langchain/openai')
  const chat = new ChatOpenAI({ model, apiKey, maxRetries: 0, configuration: { baseURL } })
  const inputs = Array.from({ length: calls }, (_, index) => promptOf(index))
  return async () => {
    const messages = await chat.batch(inputs, { maxConcurrency: concurrency })
    return messages.map((message) => message.text)
  }
}

const aiSdk: FanOutFactory = async (baseURL, { calls, concurrency }) => {
  const { generateText } = await import('ai')
  const { createOpenAI } = await import('@ai-sdk/openai')
  // `.chat()`: the same chat completions endpoint as every other subject (the provider's default is the Responses API).
  const languageModel = createOpenAI({ baseURL, apiKey }).chat(model)
  return () =>
    mapWithConcurrency(calls, concurrency, async (index) => {
      const result = await generateText({ model: languageModel, prompt: promptOf(index), maxRetries: 0 })
      return result.text
    })
}

/** Scenario 3: thousands of chat calls over real HTTP, where the framework must not be the bottleneck. */
export const httpFanOut = defineScenario<HttpFanOutParams>({
  id: 'http-fan-out',
  title: 'LLM fan-out over HTTP',
  method: [
    'N chat completion calls at concurrency C to the OpenAI-compatible loopback server of `@tinyllm/openai/testing`,',
    'running in a separate process and answering every call after a fixed latency (it echoes the prompt, which every',
    'subject checks), gzip-compressed for clients that accept it (as the real API answers; `fetch` asks for it) or',
    'uncompressed. Subjects take turns, one repetition each (A B A B …). One repetition is the whole fan-out; wall time, calls per second, the peak RSS of the',
    'measuring process (sampled every 10 ms) and its CPU time (user + system) per call are per repetition; CPU time',
    'is what the client library spends and is less disturbed by other load on the machine than wall time. Ceiling: the official `openai` SDK with a pool of C',
    'workers. tinyllm: `Parallel` of `OpenAIChat` at `concurrency: C` in its default mode (fail-fast), over its default',
    'undici transport and over the `fetch` one, and traced (`trace` with a process-wide lifecycle listener); settle-all',
    '(the cheapest mode: no signal per branch) and the peers are measured at concurrency 256. LangChain.js: `ChatOpenAI.batch` with',
    '`maxConcurrency: C`. AI SDK: `generateText` on `createOpenAI({ baseURL }).chat(model)` with the same worker pool.',
    "The peers and the raw SDK talk to the same endpoint over Node's built-in fetch; peers' retries are off (tinyllm",
    'keeps its default retry policy and the SDK under it never retries; no call fails).',
  ].join(' '),
  metrics: [
    { key: 'wallMs', label: 'wall time (ms)', better: 'lower', digits: 0 },
    { key: 'callsPerSecond', label: 'calls / s', better: 'higher', digits: 0 },
    { key: 'peakRssMiB', label: 'peak RSS (MiB)', better: 'lower', digits: 0 },
    { key: 'cpuUsPerCall', label: 'client CPU µs / call', better: 'lower', digits: 0 },
  ],
  primaryMetric: 'wallMs',
  floor: 'openai-sdk',
  reference: 'tinyllm',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [
          {
            id: '20-calls',
            label: '20 calls, concurrency 8, 5 ms latency, gzip',
            params: { calls: 20, concurrency: 8, latencyMs: 5, encoding: 'gzip', everyone: true },
          },
        ]
      : [
          ...([32, 256, 1024] as const).map((concurrency) => ({
            id: `10000-calls-${concurrency}-gzip`,
            label: `10,000 calls, concurrency ${concurrency.toLocaleString('en-US')}, 20 ms latency, gzip`,
            params: {
              calls: 10_000,
              concurrency,
              latencyMs: 20,
              encoding: 'gzip' as const,
              everyone: concurrency === 256,
            },
          })),
          {
            id: '10000-calls-256-identity',
            label: '10,000 calls, concurrency 256, 20 ms latency, uncompressed',
            params: { calls: 10_000, concurrency: 256, latencyMs: 20, encoding: 'identity', everyone: false },
          },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 1, repetitions: 5 }),
  timeoutMs: (size) => (size === 'smoke' ? 60_000 : 300_000),
  subjects: [
    subject('openai-sdk', 'openai SDK + worker pool (ceiling)', 'floor', rawSdk),
    subject(
      'tinyllm',
      'tinyllm Parallel of OpenAIChat, fail-fast, undici transport (the default)',
      'tinyllm',
      tinyllmParallel({ transport: 'undici', mode: 'fail-fast', traced: false }),
    ),
    {
      ...subject(
        'tinyllm-fetch',
        'tinyllm Parallel of OpenAIChat, fail-fast, fetch transport',
        'tinyllm',
        tinyllmParallel({ transport: 'fetch', mode: 'fail-fast', traced: false }),
      ),
      compareTo: 'tinyllm-fetch',
    },
    {
      ...subject(
        'tinyllm-traced',
        'tinyllm, as above, traced with a lifecycle listener',
        'tinyllm',
        tinyllmParallel({ transport: 'undici', mode: 'fail-fast', traced: true }),
      ),
      compareTo: 'tinyllm',
    },
    {
      ...subject(
        'tinyllm-settle-all-fetch',
        'tinyllm Parallel of OpenAIChat, settle-all, fetch transport',
        'tinyllm',
        tinyllmParallel({ transport: 'fetch', mode: 'settle-all', traced: false }),
        false,
      ),
      compareTo: 'tinyllm-fetch',
    },
    {
      ...subject(
        'tinyllm-sdk-signal',
        'tinyllm, fail-fast, an SDK client passed in (the SDK gets each call’s signal)',
        'tinyllm',
        tinyllmParallel({ transport: 'client', mode: 'fail-fast', traced: false }),
        false,
      ),
      compareTo: 'tinyllm-fetch',
    },
    subject('langchain', 'LangChain.js ChatOpenAI.batch', 'peer', langchainBatch, false),
    subject('ai-sdk', 'AI SDK generateText + worker pool', 'peer', aiSdk, false),
  ],
})
