// 1,000 generated loan applications through one Parallel, offline, with every one accounted for.
// Run it with `pnpm batch` from the repository root (options: `pnpm batch --help`).
//
// The model is a loopback OpenAI-compatible server on 127.0.0.1 whose answers are a function of each request
// (scripted-underwriter.ts), with 20–120 ms of latency and a few percent of injected faults. Everything else is what
// a real batch would run: OpenAIChat over the official SDK, retries, a shared rate limiter, settle-all.

import { fileURLToPath } from 'node:url'
import { Chain, Decision, Parallel } from '@tinyllm/flow'
import { RateLimiter } from '@tinyllm/llm'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { writeRunReport } from '@tinyllm/report'
import type { WeightedFault } from '@tinyllm/testing'
import { generateApplications } from './applications.ts'
import { readCommandLine, UsageError, usage } from './command-line.ts'
import { describeError, FailureGroups } from './failure-groups.ts'
import { Progress } from './progress.ts'
import { type CreditClass, classes, underwrite } from './scripted-underwriter.ts'

const options = readOptions()
const applications = generateApplications(options.count, options.seed)

// The failures a batch meets on a busy day: rate limits with a retry-after hint, server errors, dropped connections.
const faultMix: WeightedFault[] = [
  { fault: { kind: 'status', status: 429, headers: { 'retry-after-ms': '200' } }, weight: 3 },
  { fault: { kind: 'status', status: 500 }, weight: 2 },
  { fault: { kind: 'status', status: 503 }, weight: 2 },
  { fault: { kind: 'reset-before-headers' }, weight: 1 },
  { fault: { kind: 'reset-after-headers' }, weight: 1 },
]
const server = await startOpenAICompatibleServer({
  replies: underwrite,
  latency: { minMs: 20, maxMs: 120 },
  faultRate: options.faultRate,
  faultMix,
  seed: options.seed,
})

// One limiter shared by every call: requests and tokens per minute, and one shared pause after a 429.
const rateLimiter = new RateLimiter({
  requestsPerMinute: options.requestsPerMinute,
  tokensPerMinute: options.tokensPerMinute,
})

const attempts = 3
const classifyApplication = new Chain({
  name: 'ClassifyApplication',
  children: [
    new OpenAIPromptTemplate({
      name: 'Underwriting prompt',
      sections: [
        new OpenAISystemMessage({
          name: 'Role',
          content:
            'You are a loan officer. Classify the loan application as good, review or bad. Answer with one word.',
        }),
        new OpenAIUserMessage({ name: 'Application', content: 'Application {id} from {applicant}. {summary}' }),
      ],
    }),
    new OpenAIChat({
      name: 'openai_chat',
      model: 'gpt-4o-mini',
      temperature: 0,
      maxTokens: 16,
      baseURL: server.baseURL,
      apiKey: 'offline-loopback',
      rateLimiter,
      retry: { attempts, initialDelayMs: 100, maxDelayMs: 2_000 },
      attemptTimeoutMs: 10_000,
    }),
    new Decision({
      name: 'Label',
      choices: classes,
      decide: (answer: string) =>
        answer
          .trim()
          .toLowerCase()
          .replace(/[.!]+$/, ''),
    }),
  ],
})

const classifyAll = new Parallel({
  name: 'Classify all',
  map: classifyApplication,
  concurrency: options.concurrency,
  mode: 'settle-all', // one failure must not lose the others
})

const progress = new Progress(applications.length)
const retries = new Map<string, number>()
const startedAt = performance.now()
const record = await classifyAll.trace(applications, {
  onEvent: (event) => {
    if (event.function === classifyApplication.name && (event.to === 'complete' || event.to === 'failed')) {
      progress.tick(event.to === 'failed')
    } else if (event.to === 'retrying') {
      const reason = describeError(event.error)
      retries.set(reason, (retries.get(reason) ?? 0) + 1)
    }
  },
})
const wallSeconds = (performance.now() - startedAt) / 1000
progress.finish()
await server.close()

// Every input accounted for: a fulfilled or a rejected outcome at its index, nothing missing.
const outcomes = record.output ?? []
const perClass: Record<CreditClass, number> = { good: 0, review: 0, bad: 0 }
const failures = new FailureGroups()
let succeeded = 0
let failed = 0
for (let index = 0; index < applications.length; index++) {
  const outcome = outcomes[index]
  const id = applications[index]!.id
  if (outcome?.status === 'fulfilled') {
    succeeded++
    perClass[outcome.value.decision]++
  } else if (outcome?.status === 'rejected') {
    failed++
    failures.add(id, outcome.error)
  }
}
const accounted = succeeded + failed === applications.length && outcomes.length === applications.length

const number = (value: number) => value.toLocaleString('en-US')
const usageTotals = record.usage
const requests = server.requests.length
const faults = Object.values(server.faultCounts).reduce((sum, count) => sum + count, 0)
const retried = [...retries.values()].reduce((sum, count) => sum + count, 0)
const limiter = rateLimiter.status()
const lines = [
  `Batch classification: ${number(applications.length)} applications (seed ${options.seed})`,
  `  offline: loopback OpenAI-compatible server on 127.0.0.1, scripted answers, latency 20–120 ms,`,
  `  ${(options.faultRate * 100).toFixed(1)}% of requests answered with a fault (429 with retry-after-ms, 500, 503, connection reset)`,
  `  concurrency ${options.concurrency}, up to ${attempts} attempts per call, rate limiter ${number(options.requestsPerMinute)} requests/min and ${number(options.tokensPerMinute)} tokens/min`,
  '',
  'Classes:',
  ...classes.map((name) => `  ${name.padEnd(8)} ${number(perClass[name]).padStart(6)}`),
  `Failed:    ${number(failed).padStart(6)}`,
  ...failures.format('  '),
  '',
  `Accounted: ${number(succeeded)} succeeded + ${number(failed)} failed = ${number(succeeded + failed)} of ${number(applications.length)} ${accounted ? '✔' : '✖ MISSING OUTCOMES'}`,
  '',
  `Calls:     ${number(requests)} HTTP requests, ${number(faults)} faults injected, ${number(retried)} retries${
    retried > 0
      ? ` (${[...retries]
          .sort((left, right) => right[1] - left[1])
          .map(([reason, count]) => `${reason} ×${count}`)
          .join(', ')})`
      : ''
  }`,
  `Tokens:    ${number(usageTotals?.totalTokens ?? 0)} (input ${number(usageTotals?.inputTokens ?? 0)}, output ${number(usageTotals?.outputTokens ?? 0)}) in ${number(usageTotals?.calls ?? 0)} answered calls`,
  `Cost:      $${(usageTotals?.costUsd ?? 0).toFixed(4)} at gpt-4o-mini prices${(usageTotals?.unpricedCalls ?? 0) > 0 ? ` (+${usageTotals?.unpricedCalls} calls of unknown price)` : ''}`,
  `Wall time: ${wallSeconds.toFixed(2)} s`,
  `Rate:      ${number(Math.round(applications.length / wallSeconds))} applications/s, ${number(Math.round(requests / wallSeconds))} calls/s`,
  `Limiter:   ${number(limiter.requests)} requests and ${number(limiter.tokens)} tokens granted in the last minute`,
]
console.log(lines.join('\n'))

// Every run of the batch in one page that opens offline: the graph folds the 1,000 trees into one, with counts.
const report = await writeRunReport(record, fileURLToPath(new URL('../reports/run-report.html', import.meta.url)), {
  title: `Batch classification: ${number(applications.length)} applications`,
})
console.log(`\nRun report: ${report}`)

if (!accounted || record.status === 'failed') {
  const reason = record.error === undefined ? '' : ` (${record.error.name}: ${record.error.message})`
  console.error(`Not every application is accounted for${reason}.`)
  process.exitCode = 1
}

function readOptions() {
  try {
    const parsed = readCommandLine(process.argv.slice(2))
    if (parsed === undefined) {
      console.log(usage)
      process.exit(0)
    }
    return parsed
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    process.exit(error instanceof UsageError || (error as { code?: unknown }).code !== undefined ? 2 : 1)
  }
}
