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
): SubjectDefinition<HttpFanOutParams> {
  return {
    id,
    label,
    group,
    async measure(params: HttpFanOutParams, plan: RepetitionPlan): Promise<Measurement> {
      const server = await startServerProcess({ latencyMs: params.latencyMs })
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

const tinyllmParallel: FanOutFactory = async (baseURL, { calls, concurrency }) => {
  const { OpenAIChat } = await import('@tinyllm/openai')
  const { Parallel } = await import('@tinyllm/flow')
  const chat = new OpenAIChat({ name: 'chat', model, baseURL, apiKey })
  const parallel = new Parallel({ name: 'fan-out', map: chat, concurrency })
  const inputs = Array.from({ length: calls }, (_, index) => ({
    messages: [{ role: 'user' as const, content: promptOf(index) }],
  }))
  return () => parallel.invoke(inputs)
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
    'subject checks). One repetition is the whole fan-out; wall time, calls per second, the peak RSS of the',
    'measuring process (sampled every 10 ms) and its CPU time (user + system) per call are per repetition; CPU time',
    'is what the client library spends and is less disturbed by other load on the machine than wall time. Ceiling: the official `openai` SDK with a pool of C',
    'workers. tinyllm: `Parallel` of `OpenAIChat` at `concurrency: C`. LangChain.js: `ChatOpenAI.batch` with',
    '`maxConcurrency: C`. AI SDK: `generateText` on `createOpenAI({ baseURL }).chat(model)` with the same worker pool.',
    "Every client talks to the same endpoint over Node's built-in fetch; peers' retries are off (tinyllm keeps its",
    'default retry policy and the SDK under it never retries; no call fails).',
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
            label: '20 calls, concurrency 8, 5 ms latency',
            params: { calls: 20, concurrency: 8, latencyMs: 5 },
          },
        ]
      : [
          {
            id: '10000-calls',
            label: '10,000 calls, concurrency 256, 20 ms latency',
            params: { calls: 10_000, concurrency: 256, latencyMs: 20 },
          },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 1, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 600_000),
  subjects: [
    subject('openai-sdk', 'openai SDK + worker pool (ceiling)', 'floor', rawSdk),
    subject('tinyllm', 'tinyllm Parallel of OpenAIChat', 'tinyllm', tinyllmParallel),
    subject('langchain', 'LangChain.js ChatOpenAI.batch', 'peer', langchainBatch),
    subject('ai-sdk', 'AI SDK generateText + worker pool', 'peer', aiSdk),
  ],
})
