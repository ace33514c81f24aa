import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { UsageTotals } from '@tinyllm/core'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterAll, expect, it } from 'vitest'

// A batch of credit applications runs in a child process with a SqliteJournal; the test kills the child with SIGKILL
// part-way, at a point chosen by the batch's progress (never by time), and runs the same batch under the same run
// ids in a fresh child. What a resumed batch must show: every run completes, no finished LLM call is sent again,
// every side effect is committed once, and the totals are those of a batch that was never interrupted.

const runs = 200
const concurrency = 8
const killAfterRuns = 60
const fixture = join(import.meta.dirname, '__fixtures__', 'credit-batch.ts')
const folder = mkdtempSync(join(tmpdir(), 'tinyllm-resume-after-kill-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

/** What the child prints, one JSON object a line. */
type BatchLine =
  | { type: 'step'; step: string; replayed: boolean }
  | { type: 'run'; application: number; output: unknown; usage: UsageTotals }
  | { type: 'failed'; application: number; error: unknown }
  | { type: 'end' }

/**
 * A loopback OpenAI server with a ledger beside it. Answers depend only on the step asked, so every batch gets the
 * same ones. `hold()` stops answering, chat and ledger alike, until `release()`: requests that arrive meanwhile stay
 * in flight, and `whenHeld(n)` resolves once `n` of them are.
 */
async function startBatchServer() {
  let held: Promise<void> | undefined
  let release = (): void => {}
  const heldRequests: string[] = []
  let heldWaiter: { count: number; resolve: () => void } | undefined
  const holdIfAsked = async (what: string): Promise<void> => {
    if (held === undefined) return
    heldRequests.push(what)
    if (heldWaiter !== undefined && heldRequests.length >= heldWaiter.count) heldWaiter.resolve()
    await held
  }
  /** The first time each idempotency key was written, and how often it was written at all. */
  const ledger = { committed: new Map<string, { application: number }>(), attempts: new Map<string, number>() }
  const server: OpenAICompatibleServer = await startOpenAICompatibleServer({
    latency: { minMs: 1, maxMs: 15 },
    replies: async (body) => {
      const step = stepOf(body.messages)
      await holdIfAsked(step)
      const [name, application] = step.split(' ') as [string, string]
      const label = Number(application) % 3 === 0 ? 'bad' : 'good'
      return name === 'classify' ? label : `Application ${application} is ${label}: its payment history says so.`
    },
    routes: {
      'POST /ledger': async ({ request }) => {
        const key = request.headers['idempotency-key'] as string
        ledger.attempts.set(key, (ledger.attempts.get(key) ?? 0) + 1)
        if (!ledger.committed.has(key)) ledger.committed.set(key, request.body as { application: number })
        await holdIfAsked(`ledger ${key}`)
        return { json: { receipt: `receipt for ${key}` } }
      },
    },
  })
  return {
    server,
    ledger,
    heldRequests,
    hold: () => {
      held = new Promise((resolve) => {
        release = resolve
      })
    },
    whenHeld: (count: number) =>
      new Promise<void>((resolve) => {
        if (heldRequests.length >= count) resolve()
        else heldWaiter = { count, resolve }
      }),
    release: () => {
      held = undefined
      release()
    },
    /** How many chat requests arrived for each step, from request number `from` on. */
    chatRequestsByStep(from = 0): Map<string, number> {
      const counts = new Map<string, number>()
      for (const request of server.requests.slice(from)) {
        if (request.path !== '/v1/chat/completions') continue
        const step = stepOf((request.body as { messages: Message[] }).messages)
        counts.set(step, (counts.get(step) ?? 0) + 1)
      }
      return counts
    },
  }
}

type Message = { role: string; content?: unknown }

/** `classify 17` or `explain 17`: which step of which application a chat request is for. */
function stepOf(messages: readonly Message[]): string {
  const text = String(messages.findLast((message) => message.role === 'user')?.content)
  const classify = /^Application (\d+):/.exec(text)
  if (classify) return `classify ${classify[1]}`
  const explain = /^Explain in one line why application (\d+) /.exec(text)
  if (explain) return `explain ${explain[1]}`
  throw new Error(`a chat request for no known step: ${text}`)
}

/** Starts the batch in a child process on the repository's Node; `onLine` sees each line it prints. */
function startBatch(journalFile: string, baseURL: string, onLine: (line: BatchLine) => void) {
  const child = spawn(process.execPath, [fixture, journalFile, baseURL, String(runs), String(concurrency)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
    onLine(JSON.parse(line) as BatchLine),
  )
  // Node 22 warns that node:sqlite is experimental; later Nodes do not. Anything else on stderr fails the test.
  const experimental = /^\(node:\d+\) ExperimentalWarning: SQLite .*\n(\(Use `node --trace-warnings .*\n)?/gm
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stderr: stderr.replace(experimental, '') })),
  )
  return { child, exit }
}

/** Runs the whole batch in one child and answers its runs' outputs and usage, by application. */
async function runToTheEnd(journalFile: string, baseURL: string) {
  const outputs: unknown[] = Array(runs)
  const usages: UsageTotals[] = Array(runs)
  const failures: unknown[] = []
  const replayed = new Set<string>()
  const { exit } = startBatch(journalFile, baseURL, (line) => {
    if (line.type === 'run') {
      outputs[line.application] = line.output
      usages[line.application] = line.usage
    } else if (line.type === 'failed') failures.push(line.error)
    else if (line.type === 'step' && line.replayed) replayed.add(line.step)
  })
  const { code, stderr } = await exit
  expect({ code, stderr, failures }).toEqual({ code: 0, stderr: '', failures: [] })
  return { outputs, usages, replayed }
}

/** Sums per-run usage in application order, so that cost adds up in the same order for every batch. */
function total(usages: readonly UsageTotals[]) {
  const sum = { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0 }
  for (const usage of usages) {
    sum.calls += usage.calls
    sum.inputTokens += usage.inputTokens
    sum.outputTokens += usage.outputTokens
    sum.totalTokens += usage.totalTokens
    sum.costUsd += usage.costUsd
  }
  return sum
}

it('resumes a batch killed with SIGKILL: finished calls are not sent again, side effects happen once, totals match', async () => {
  // The batch once without interruption, with a journal of its own, against a server of its own: the reference.
  const reference = await startBatchServer()
  const uninterrupted = await runToTheEnd(join(folder, 'uninterrupted.db'), reference.server.baseURL)
  await reference.server.close()

  const batch = await startBatchServer()
  const journalFile = join(folder, 'batch.db')

  // 1. Run until enough runs have finished, stop answering, wait until every worker of the child waits on a request
  //    (so that the kill provably lands on calls in flight, and nothing else can finish), and kill it.
  const finished = new Set<string>()
  const failures: unknown[] = []
  let runsFinished = 0
  let killing: Promise<void> | undefined
  let finishedBeforeKill: ReadonlySet<string> = new Set()
  let runsFinishedBeforeKill = 0
  const first = startBatch(journalFile, batch.server.baseURL, (line) => {
    if (line.type === 'step') finished.add(line.step)
    if (line.type === 'failed') failures.push(line.error)
    if (line.type !== 'run' || ++runsFinished < killAfterRuns || killing !== undefined) return
    batch.hold()
    killing = batch.whenHeld(concurrency).then(() => {
      finishedBeforeKill = new Set(finished)
      runsFinishedBeforeKill = runsFinished
      first.child.kill('SIGKILL')
    })
  })
  const killed = await first.exit
  expect({ signal: killed.signal, stderr: killed.stderr, failures }).toEqual({
    signal: 'SIGKILL',
    stderr: '',
    failures: [],
  })
  await killing
  const heldAtKill = [...batch.heldRequests]
  const requestsBeforeResume = batch.server.requests.length
  batch.release()

  // 2. The same batch, the same run ids, the same journal file, in a fresh process.
  const resumed = await runToTheEnd(journalFile, batch.server.baseURL)

  // Every run completed, with the output an uninterrupted batch gives.
  expect(resumed.outputs).toEqual(uninterrupted.outputs)

  // No LLM call that had finished before the kill was sent again; the calls in flight at the kill were sent twice
  // (they had no answer to journal), and no other call was.
  const requests = batch.chatRequestsByStep()
  const heldCalls = heldAtKill.filter((request) => !request.startsWith('ledger '))
  const sentTwice = [...requests].filter(([, count]) => count > 1).map(([step]) => step)
  expect(requests.size).toBe(runs * 2)
  expect(Math.max(...requests.values())).toBeLessThanOrEqual(2)
  for (const step of finishedBeforeKill) {
    if (!step.startsWith('record ')) expect(requests.get(step), step).toBe(1)
  }
  expect(sentTwice.sort()).toEqual(heldCalls.sort())
  // Steps journaled before the kill were replayed, not run: the resumed batch sent nothing for them.
  const resumedRequests = batch.chatRequestsByStep(requestsBeforeResume)
  for (const step of finishedBeforeKill) expect(resumedRequests.has(step), step).toBe(false)
  expect([...finishedBeforeKill].every((step) => resumed.replayed.has(step))).toBe(true)

  // Each application's decision was committed to the ledger once, under one idempotency key; a write in flight at the
  // kill was made again with the same key, and the ledger kept the first.
  const committedFor = new Map<number, number>()
  for (const { application } of batch.ledger.committed.values())
    committedFor.set(application, (committedFor.get(application) ?? 0) + 1)
  expect(committedFor.size).toBe(runs)
  expect([...committedFor.values()].every((count) => count === 1)).toBe(true)
  // A decision recorded before the kill was not written again.
  for (const step of finishedBeforeKill) {
    if (step.startsWith('record ')) {
      const key = `credit-batch%2f${step.slice(7)}/record#1`
      expect(batch.ledger.attempts.get(key), key).toBe(1)
    }
  }
  const heldWrites = heldAtKill.filter((request) => request.startsWith('ledger ')).map((request) => request.slice(7))
  const writtenTwice = [...batch.ledger.attempts].filter(([, count]) => count > 1).map(([key]) => key)
  expect(writtenTwice.sort()).toEqual(heldWrites.sort())

  // Tokens and cost add up to the uninterrupted batch's, to the last digit.
  const resumedTotal = total(resumed.usages)
  const uninterruptedTotal = total(uninterrupted.usages)
  expect(resumedTotal).toEqual(uninterruptedTotal)
  expect(resumedTotal.calls).toBe(runs * 2)
  // The batch's prompts and the loopback server's counts are the same on every run: the figures the README gives.
  expect(resumedTotal.totalTokens).toBe(9_967)
  expect(resumedTotal.costUsd).toBeCloseTo(0.0027852, 9)
  // Every one of the eight workers waited on a request or a ledger write when the kill came.
  expect(heldCalls.length + heldWrites.length).toBe(concurrency)

  const figures = {
    runs,
    concurrency,
    runsFinishedBeforeKill,
    stepsJournaledBeforeKill: finishedBeforeKill.size,
    inFlightAtKill: { llmCalls: heldCalls.length, ledgerWrites: heldWrites.length },
    llmRequests: { uninterrupted: runs * 2, killedAndResumed: [...requests.values()].reduce((a, b) => a + b, 0) },
    llmCallsSentAgain: sentTwice.length,
    replayedOnResume: resumed.replayed.size,
    ledgerCommitsPerApplication: 1,
    ledgerWritesMadeAgain: writtenTwice.length,
    totals: { uninterrupted: uninterruptedTotal, resumed: resumedTotal },
  }
  console.info(`resume after kill -9: ${JSON.stringify(figures)}`)
  await batch.server.close()
}, 180_000)
