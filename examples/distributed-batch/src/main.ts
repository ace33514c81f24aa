// The credit pipeline over 10,000 generated applications on N worker processes, offline, from a fresh clone:
// `pnpm distributed` (options: `--help`). It starts its own redis-server and a loopback OpenAI-compatible server, forks
// the workers, submits every application as a run, and accounts for every one. `--kill-a-worker` kills the first worker
// with SIGKILL at 30% and shows its runs resuming on the others from the journal in Redis.
import { type ChildProcess, fork } from 'node:child_process'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'
import { BullMQExecutor } from '@tinyllm/bullmq'
import { startRedisServer } from '@tinyllm/bullmq/testing'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { Redis } from 'ioredis'
import { applicationIdOf, generateApplications, underwrite } from './applications.ts'
import { readCommandLine, UsageError, usage } from './command-line.ts'
import { creditPipeline, emailsSentKey } from './credit-pipeline.ts'
import { Progress } from './progress.ts'

const options = readOptions()
const applications = generateApplications(options.count, options.seed)
const number = (value: number) => value.toLocaleString('en-US')

const workers: ChildProcess[] = []
const redis = await startRedis()
// Interrupted (Ctrl-C, kill, a closed terminal), it stops what it started as its end does: the workers, and
// redis-server with its data directory.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const worker of workers) worker.kill('SIGKILL')
    void redis.stop().finally(() => process.exit(128 + constants.signals[signal]))
  })
}
const model = await startOpenAICompatibleServer({
  replies: underwrite,
  latency: { minMs: 50, maxMs: 150 },
  seed: options.seed,
})
const executor = new BullMQExecutor({ connection: redis.url, pollIntervalMs: 1_000 })
process.exitCode = 1
try {
  for (let index = 0; index < options.workers; index++) workers.push(await startWorker())
  console.log(
    [
      `Distributed batch: ${number(applications.length)} loan applications on ${options.workers} worker processes (seed ${options.seed})`,
      `  BullMQ on a private redis-server at ${redis.url}; the model is a loopback OpenAI-compatible server (latency 50–150 ms)`,
      `  ${options.concurrency} runs at once per worker; one rate limiter for all of them: ${number(options.requestsPerMinute)} requests/min, ${number(options.tokensPerMinute)} tokens/min`,
      '',
    ].join('\n'),
  )

  const pipeline = creditPipeline({ baseURL: model.baseURL })
  const progress = new Progress(applications.length)
  const killAt = Math.ceil(applications.length * 0.3)
  const startedAt = performance.now()
  const outcomes = await executor.map(pipeline, applications, {
    runIds: applications.map((application) => application.id),
    onProgress: ({ settled, outcome }) => {
      progress.tick(
        outcome.status === 'rejected',
        outcome.status === 'fulfilled' && outcome.replayedSteps > 0 && settled > killAt,
      )
      if (options.killAWorker && settled === killAt) {
        const victim = workers[0]!
        victim.kill('SIGKILL')
        progress.note(
          `✖ kill -9 of worker 1 (pid ${victim.pid}) at ${number(settled)} of ${number(applications.length)}: its runs in progress wait for their lock to expire (5 s), then resume on the other workers, replaying their finished steps from the journal`,
        )
      }
    },
  })
  const wallSeconds = (performance.now() - startedAt) / 1000
  progress.finish()

  let approved = 0
  let referred = 0
  let replayedSteps = 0
  let tokens = 0
  let cost = 0
  const failures: string[] = []
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') {
      if (outcome.value === 'approved') approved++
      else referred++
      replayedSteps += outcome.replayedSteps
      tokens += outcome.usage?.totalTokens ?? 0
      cost += outcome.usage?.costUsd ?? 0
    } else failures.push(`${outcome.runId}: ${outcome.error.name}: ${outcome.error.message.split('\n')[0]}`)
  }
  const completed = approved + referred
  const calls = model.requests.filter((request) => request.path === '/v1/chat/completions')
  const asked = new Set(calls.map((request) => applicationIdOf(request.body)))
  const outbox = new Redis(redis.url)
  const emailsSent = Number((await outbox.get(emailsSentKey)) ?? 0)
  outbox.disconnect()
  const accounted = completed + failures.length === applications.length && outcomes.length === applications.length

  console.log(
    [
      '',
      `Completed:  ${number(completed)} (approved ${number(approved)}, referred ${number(referred)})`,
      `Failed:     ${number(failures.length)}${failures.length > 0 ? ` — e.g. ${failures[0]}` : ''}`,
      `Accounted:  ${number(completed)} + ${number(failures.length)} = ${number(completed + failures.length)} of ${number(applications.length)} ${accounted ? '✔' : '✖ MISSING RUNS'}`,
      `Replayed:   ${number(replayedSteps)} steps replayed from the journal by runs that resumed after a crash (a run killed before any step finished runs again from the start)`,
      `Calls:      ${number(calls.length)} model calls for ${number(asked.size)} applications: ${number(calls.length - asked.size)} duplicated (calls in flight on a killed worker, sent again)`,
      `Emails:     ${number(emailsSent)} sent for ${number(referred)} referred applications ${emailsSent === referred ? '✔ none twice' : '✖'}`,
      `Cost:       $${cost.toFixed(4)} for ${number(tokens)} tokens at gpt-4o-mini prices`,
      `Wall time:  ${wallSeconds.toFixed(2)} s, ${number(Math.round(applications.length / wallSeconds))} applications/s`,
    ].join('\n'),
  )
  if (accounted && emailsSent === referred) process.exitCode = 0
} finally {
  await Promise.all(workers.map(stopWorker))
  await executor.close()
  await model.close()
  await redis.stop()
}

/** Forks one worker process and resolves once it serves the queue. */
async function startWorker(): Promise<ChildProcess> {
  const worker = fork(
    fileURLToPath(new URL('./worker.ts', import.meta.url)),
    [
      JSON.stringify({
        redisUrl: redis.url,
        baseURL: model.baseURL,
        concurrency: options.concurrency,
        requestsPerMinute: options.requestsPerMinute,
        tokensPerMinute: options.tokensPerMinute,
      }),
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  )
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve())
    worker.once('exit', (code) => reject(new Error(`a worker exited (code ${code}) before it was ready`)))
  })
  return worker
}

/** Asks a worker to finish and exit; a killed one is already gone. */
async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return
  const exited = new Promise((resolve) => worker.once('exit', resolve))
  worker.send({ type: 'stop' })
  await exited
}

/** Starts the private redis-server; without one to start, says what to install and exits 2, with no stack. */
async function startRedis() {
  try {
    return await startRedisServer()
  } catch (error) {
    console.error(
      `${error instanceof Error ? error.message : String(error)}\n` +
        'pnpm distributed starts a private redis-server on 127.0.0.1: install Redis 6.2 or later so that ' +
        'redis-server is on the PATH (apt-get install redis-server, brew install redis).',
    )
    process.exit(2)
  }
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
