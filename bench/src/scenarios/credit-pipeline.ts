import { mapWithConcurrency } from '../harness/limiter.ts'
import { startServerProcess } from '../harness/loopback-server.ts'
import { assertEqual, repeat } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'

/** Parameters of one case. */
export interface CreditPipelineParams {
  readonly inputs: number
  readonly concurrency: number
  readonly latencyMs: number
}

const model = 'gpt-4o-mini'
const apiKey = 'bench-key'
const role = 'Classify the loan application: answer good or bad.'

/** The loopback server echoes the application, so every other one is classified bad and analysed further. */
const applicationOf = (index: number): string => (index % 2 === 0 ? 'good' : 'bad')
const expectedOf = (index: number): string => (index % 2 === 0 ? 'approved' : 'sent to further analysis')

type Pipeline = (applications: readonly string[]) => Promise<readonly string[]>
type PipelineFactory = (baseURL: string, params: CreditPipelineParams) => Promise<Pipeline>

function subject(
  id: string,
  label: string,
  group: SubjectDefinition<CreditPipelineParams>['group'],
  build: PipelineFactory,
): SubjectDefinition<CreditPipelineParams> {
  return {
    id,
    label,
    group,
    async measure(params: CreditPipelineParams, plan: RepetitionPlan): Promise<Measurement> {
      const server = await startServerProcess({ latencyMs: params.latencyMs, encoding: 'gzip' })
      try {
        const pipeline = await build(server.baseURL, params)
        const applications = Array.from({ length: params.inputs }, (_, index) => applicationOf(index))
        const samples = await repeat(plan, async () => {
          const cpu = process.cpuUsage()
          const started = performance.now()
          const outcomes = await pipeline(applications)
          const wallMs = performance.now() - started
          const cpuUsed = process.cpuUsage(cpu)
          assertEqual(outcomes.length, params.inputs, `${label}: outcomes`)
          for (const index of [0, 1, params.inputs - 1]) {
            assertEqual(outcomes[index], expectedOf(index), `${label}: outcome ${index}`)
          }
          return { wallMs, cpuMicros: cpuUsed.user + cpuUsed.system }
        })
        return {
          metrics: {
            wallMs: samples.map((sample) => sample.wallMs),
            cpuUsPerInput: samples.map((sample) => sample.cpuMicros / params.inputs),
          },
        }
      } finally {
        await server.close()
      }
    },
  }
}

/** The same pipeline by hand: the raw SDK, a prompt, an if, two functions side by side, a report. */
const handWritten: PipelineFactory = async (baseURL, { concurrency }) => {
  const { default: OpenAI } = await import('openai')
  const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 })
  const approval = async (): Promise<{ approved: boolean }> => ({ approved: true })
  const emailNotification = async (): Promise<{ success: boolean }> => ({ success: true })
  const furtherAnalysis = async (): Promise<{ further_analysis: string }> => ({ further_analysis: 'Completed' })
  const analyse = async (application: string): Promise<string> => {
    const completion = await client.chat.completions.create({
      model,
      temperature: 0,
      messages: [
        { role: 'system', content: role },
        { role: 'user', content: application },
      ],
    })
    const choice = (completion.choices[0]?.message.content ?? '').trim().toLowerCase()
    let outcome: object
    if (choice === 'good') outcome = await approval()
    else if (choice === 'bad') outcome = await Promise.all([emailNotification(), furtherAnalysis()])
    else throw new Error(`the model answered ${choice}, not good or bad`)
    return 'approved' in outcome ? 'approved' : 'sent to further analysis'
  }
  return (applications) =>
    mapWithConcurrency(applications.length, concurrency, (index) => analyse(applications[index]!))
}

/** The original Python tiny-llm's credit pipeline (flow's credit-pipeline test) over OpenAIChat, mapped over the applications. */
const tinyllmPipeline =
  (transport: 'undici' | 'fetch'): PipelineFactory =>
  async (baseURL, { concurrency }) => {
    const { defineFunction } = await import('@tinyllm/core')
    const { Chain, Decision, Parallel } = await import('@tinyllm/flow')
    const { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } = await import('@tinyllm/openai')
    const chat = new OpenAIChat({ name: 'openai_chat', model, baseURL, apiKey, temperature: 0, transport })
    const template = new OpenAIPromptTemplate({
      name: 'Loan Classifier Template',
      sections: [
        new OpenAISystemMessage({ name: 'Role', content: role }),
        new OpenAIUserMessage({ name: 'Application', field: 'loan_application' }),
      ],
    })
    const classifier = new Decision({
      name: 'CreditClassification',
      decide: async (input: { loan_application: string }, context) => {
        const answer = await context.invoke(chat, await context.invoke(template, input))
        return answer.trim().toLowerCase()
      },
      branches: {
        good: defineFunction({ name: 'Approval', run: () => ({ approved: true }) }),
        bad: new Parallel({
          name: 'Bad credit analysis',
          children: [
            defineFunction({ name: 'EmailNotification', run: () => ({ success: true }) }),
            defineFunction({ name: 'FurtherAnalysis', run: () => ({ further_analysis: 'Completed' }) }),
          ],
        }),
      },
    })
    const report = defineFunction({
      name: 'Report',
      run: (outcome: object) => ('approved' in outcome ? 'approved' : 'sent to further analysis'),
    })
    const pipeline = new Chain({ name: 'Credit analysis', children: [classifier, report] })
    const all = new Parallel({ name: 'Credit analyses', map: pipeline, concurrency })
    return (applications) => all.invoke(applications.map((application) => ({ loan_application: application })))
  }

/** Scenario: the original tiny-llm's credit pipeline end to end, against the same pipeline written by hand on the raw SDK. */
export const creditPipeline = defineScenario<CreditPipelineParams>({
  id: 'credit-pipeline',
  title: 'The credit pipeline over HTTP',
  method: [
    "The original Python tiny-llm's credit pipeline — a `Chain` of a `Decision` (a prompt template, then `OpenAIChat`; `good` → an approval,",
    '`bad` → a `Parallel` of two Functions) and a report — mapped over N loan applications by a `Parallel` at',
    'concurrency C, against the OpenAI-compatible loopback server (its own process, a fixed latency, answers',
    'gzip-compressed; it echoes the application, so half are good and half bad, and every outcome is checked).',
    'Floor: the same pipeline written by hand on the raw `openai` SDK (a prompt, an `if`, `Promise.all` of the two',
    'functions, the report) with a pool of C workers, over `fetch`. tinyllm runs over its default undici transport and',
    'over the `fetch` one. Subjects take turns, one repetition each (A B A B …).',
  ].join(' '),
  metrics: [
    { key: 'wallMs', label: 'wall time (ms)', better: 'lower', digits: 0 },
    { key: 'cpuUsPerInput', label: 'client CPU µs / input', better: 'lower', digits: 0 },
  ],
  primaryMetric: 'wallMs',
  floor: 'hand-written',
  reference: 'tinyllm',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [{ id: '20-inputs', label: '20 inputs, concurrency 8', params: { inputs: 20, concurrency: 8, latencyMs: 5 } }]
      : [
          {
            id: '10000-inputs',
            label: '10,000 inputs, concurrency 256, 20 ms latency',
            params: { inputs: 10_000, concurrency: 256, latencyMs: 20 },
          },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 1, repetitions: 5 }),
  timeoutMs: (size) => (size === 'smoke' ? 60_000 : 300_000),
  subjects: [
    subject('hand-written', 'hand-written on the openai SDK (floor)', 'floor', handWritten),
    subject('tinyllm', 'tinyllm pipeline, undici transport (the default)', 'tinyllm', tinyllmPipeline('undici')),
    {
      ...subject('tinyllm-fetch', 'tinyllm pipeline, fetch transport', 'tinyllm', tinyllmPipeline('fetch')),
      compareTo: 'tinyllm-fetch',
    },
  ],
})
