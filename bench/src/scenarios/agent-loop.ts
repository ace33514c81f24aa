import { mapWithConcurrency } from '../harness/limiter.ts'
import { startServerProcess } from '../harness/loopback-server.ts'
import { assertEqual, repeat } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'

/** Parameters of one case. */
export interface AgentLoopParams {
  /** Conversations run, each a tool loop of `steps` model turns. */
  readonly conversations: number
  readonly concurrency: number
  /** Model turns per conversation: `steps - 1` with a tool call, then the answer. */
  readonly steps: number
  /** The loopback server's delay before every response. */
  readonly latencyMs: number
}

const model = 'gpt-4o-mini'
const apiKey = 'bench-key'
const stepParameters = {
  type: 'object',
  properties: { n: { type: 'number' } },
  required: ['n'],
  additionalProperties: false,
} as const

/** Given the server's base URL, builds the loop once; returns one run: every conversation's answer, in order. */
type LoopFactory = (baseURL: string, params: AgentLoopParams) => Promise<() => Promise<readonly string[]>>

function subject(
  id: string,
  label: string,
  group: SubjectDefinition<AgentLoopParams>['group'],
  build: LoopFactory,
): SubjectDefinition<AgentLoopParams> {
  return {
    id,
    label,
    group,
    async measure(params: AgentLoopParams, plan: RepetitionPlan): Promise<Measurement> {
      const server = await startServerProcess({ latencyMs: params.latencyMs, agentSteps: params.steps })
      try {
        const runAll = await build(server.baseURL, params)
        const turns = params.conversations * params.steps
        const samples = await repeat(plan, async () => {
          const cpu = process.cpuUsage()
          const started = performance.now()
          const answers = await runAll()
          const wallMs = performance.now() - started
          const cpuUsed = process.cpuUsage(cpu)
          assertEqual(answers.length, params.conversations, `${label}: answers`)
          assertEqual(answers[0], `done after ${params.steps - 1} tool calls`, `${label}: answer`)
          return { wallMs, cpuMicros: cpuUsed.user + cpuUsed.system }
        })
        return {
          metrics: {
            cpuUsPerStep: samples.map((sample) => sample.cpuMicros / turns),
            wallMs: samples.map((sample) => sample.wallMs),
            msPerConversation: samples.map((sample) => (sample.wallMs * params.concurrency) / params.conversations),
          },
          details: {
            'model turns per repetition': turns,
            'requests received by the server': (await server.stats()).received,
          },
        }
      } finally {
        await server.close()
      }
    },
  }
}

/** The loop written by hand over the raw `openai` SDK: call, run the tool calls, send the results back, repeat. */
const rawSdkLoop: LoopFactory = async (baseURL, { conversations, concurrency }) => {
  const { default: OpenAI } = await import('openai')
  const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 })
  const tools = [
    {
      type: 'function' as const,
      function: { name: 'step', description: 'Takes one step', parameters: stepParameters, strict: true },
    },
  ]
  type Message = Parameters<typeof client.chat.completions.create>[0]['messages'][number]
  return () =>
    mapWithConcurrency(conversations, concurrency, async (index) => {
      const messages: Message[] = [{ role: 'user', content: `conversation ${index}` }]
      for (let turn = 0; turn < 100; turn++) {
        const completion = await client.chat.completions.create({ model, messages, tools })
        const message = completion.choices[0]?.message
        const calls = message?.tool_calls ?? []
        if (message === undefined || calls.length === 0) return message?.content ?? ''
        messages.push(message)
        for (const call of calls) {
          if (call.type !== 'function') continue
          const { n } = JSON.parse(call.function.arguments) as { n: number }
          messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ next: n + 1 }) })
        }
      }
      throw new Error('the loop did not end')
    })
}

/** tinyllm: an Agent of OpenAIChat with one `defineTool` tool (zod schema, strict), each turn and call a child run. */
const tinyllmAgent: LoopFactory = async (baseURL, { conversations, concurrency, steps }) => {
  const { Agent, defineTool } = await import('@tinyllm/agent')
  const { OpenAIChat } = await import('@tinyllm/openai')
  const { z } = await import('zod')
  const step = defineTool({
    name: 'step',
    description: 'Takes one step',
    input: z.object({ n: z.number() }),
    run: ({ n }) => ({ next: n + 1 }),
  })
  const chat = new OpenAIChat({ name: 'model', model, baseURL, apiKey, output: 'result' })
  const agent = new Agent({ name: 'agent', model: chat, tools: [step], maxSteps: steps })
  return () =>
    mapWithConcurrency(conversations, concurrency, async (index) => {
      const outcome = await agent.invoke(`conversation ${index}`)
      return outcome.status === 'complete' ? outcome.output : outcome.status
    })
}

/** Scenario: the agent loop's overhead per model turn, against the same loop written by hand over the raw SDK. */
export const agentLoop = defineScenario<AgentLoopParams>({
  id: 'agent-loop',
  title: 'Agent tool loop over HTTP',
  method: [
    'Conversations of S model turns each (S − 1 turns that call one tool, then an answer) against the',
    'OpenAI-compatible loopback server of `@tinyllm/openai/testing` in a process of its own, scripted to answer as',
    'a model in a tool loop after a fixed latency, C conversations at once. Floor: the loop written by hand over',
    'the official `openai` SDK (create, run the tool calls, push the results, repeat) with a pool of C workers.',
    'tinyllm: an `Agent` of `OpenAIChat` with one `defineTool` tool (zod schema sent strict, arguments validated,',
    'result checked JSON-safe), each model turn and each tool call a child run, on the same pool. The primary metric',
    'is the client CPU time (user + system) per model turn, which is what the loop costs beyond the network and is',
    'less disturbed by other load than wall time; wall time per repetition and per conversation are beside it.',
  ].join(' '),
  metrics: [
    { key: 'cpuUsPerStep', label: 'client CPU µs / turn', better: 'lower', digits: 0 },
    { key: 'wallMs', label: 'wall time (ms)', better: 'lower', digits: 0 },
    { key: 'msPerConversation', label: 'ms / conversation', better: 'lower', digits: 1 },
  ],
  primaryMetric: 'cpuUsPerStep',
  floor: 'openai-sdk-loop',
  reference: 'tinyllm',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [
          {
            id: '4x3',
            label: '4 conversations of 3 turns, 2 at once, 1 ms latency',
            params: { conversations: 4, concurrency: 2, steps: 3, latencyMs: 1 },
          },
        ]
      : [
          {
            id: '400x6',
            label: '400 conversations of 6 turns, 32 at once, 5 ms latency',
            params: { conversations: 400, concurrency: 32, steps: 6, latencyMs: 5 },
          },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 1, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 600_000),
  subjects: [
    subject('openai-sdk-loop', 'hand-written loop over the openai SDK (floor)', 'floor', rawSdkLoop),
    subject('tinyllm', 'tinyllm Agent of OpenAIChat', 'tinyllm', tinyllmAgent),
  ],
})
