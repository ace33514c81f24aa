import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadSnapshot } from './machine.ts'
import type { Measurement } from './scenario.ts'
import type { SubjectJob, SubjectMessage } from './subject-job.ts'
import type { TurnGrant, TurnRequest } from './turns.ts'

const subjectProcessPath = fileURLToPath(new URL('./subject-process.ts', import.meta.url))

/** How a subject's child process ended. */
export type SubjectOutcome = (
  | {
      readonly status: 'ok'
      readonly measurement: Measurement
      readonly peakRssBytes: number
    }
  | { readonly status: 'failed'; readonly message: string }
) & {
  /** The time of the subject's own turns, set-up included. */
  readonly durationMs: number
  /** 1-minute load average at the start of its first turn and at the end of its last. */
  readonly loadAverage: { readonly start: number; readonly end: number }
}

/** One subject to measure: its job and its extra Node.js flags (on top of `--expose-gc`, e.g. `--cpu-prof`). */
export interface TurnJob {
  readonly job: SubjectJob
  readonly nodeOptions?: readonly string[]
}

/** Options of {@link measureInTurns}. */
export interface TurnOptions {
  /** How long one turn (set-up and warm-up, or one repetition) may take before the subject is killed and failed. */
  readonly turnTimeoutMs: number
}

/**
 * Measures the subjects of one case, each in a new Node.js process (`--expose-gc`, so no subject inherits another's
 * JIT state, heap or open sockets), taking turns: every process starts at once, then one runs at a time — set-up and
 * warm-up in its first turn, one measured repetition per later turn — in the order given, round after round (A B A B
 * …), so that other load on the machine falls on every subject alike. Never rejects: a crash or a timeout is an
 * outcome to report.
 */
export async function measureInTurns(jobs: readonly TurnJob[], options: TurnOptions): Promise<SubjectOutcome[]> {
  const children = jobs.map((job) => new TurnTaker(job))
  let active = children.filter((child) => !child.ended)
  while (active.length > 0) {
    for (const child of active) await child.takeTurn(options.turnTimeoutMs)
    active = active.filter((child) => !child.ended)
  }
  return children.map((child) => child.outcome())
}

/** One subject's child process, run one turn at a time. */
class TurnTaker {
  ended = false
  readonly #child: ChildProcess
  readonly #output = new OutputTail()
  #message: SubjectMessage | undefined
  #waiting = false
  #durationMs = 0
  #loadStart: number | undefined
  #loadEnd = 0
  #exit: Promise<void>
  /** Settles when the child asks for its next turn or ends. */
  #wake: (() => void) | undefined

  constructor({ job, nodeOptions }: TurnJob) {
    const child = fork(subjectProcessPath, [JSON.stringify(job)], {
      execArgv: ['--expose-gc', ...(nodeOptions ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production', TINYLLM_BENCH_TURNS: '1' },
    })
    this.#child = child
    child.stdout?.on('data', (chunk: Buffer) => this.#output.add(chunk))
    child.stderr?.on('data', (chunk: Buffer) => this.#output.add(chunk))
    child.on('message', (received) => {
      const message = received as SubjectMessage | TurnRequest
      if (message.type === 'turn') this.#waiting = true
      else this.#message ??= message
      this.#wakeUp()
    })
    this.#exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.ended = true
        if (this.#message === undefined) {
          const ending = signal === null ? `exit code ${code}` : `signal ${signal}`
          this.#message = { type: 'error', message: `child ended (${ending}) without a result` }
        }
        this.#wakeUp()
        resolve()
      })
    })
  }

  /** Lets the child run until it asks for its next turn or ends; kills it when the turn outlasts `timeoutMs`. */
  async takeTurn(timeoutMs: number): Promise<void> {
    await this.#until(() => this.#waiting || this.ended)
    if (this.ended) return
    this.#loadStart ??= loadSnapshot().loadAverage[0]
    const started = performance.now()
    this.#waiting = false
    this.#child.send({ type: 'go' } satisfies TurnGrant)
    const timer = setTimeout(() => {
      this.#message ??= { type: 'error', message: `a turn timed out after ${timeoutMs} ms` }
      this.#child.kill('SIGKILL')
    }, timeoutMs)
    // The turn ends when the child asks for the next one, or when it has sent its result and exited.
    await this.#until(() => this.#waiting || this.ended)
    clearTimeout(timer)
    if (this.ended) await this.#exit
    this.#durationMs += performance.now() - started
    this.#loadEnd = loadSnapshot().loadAverage[0]
  }

  outcome(): SubjectOutcome {
    const common = {
      durationMs: this.#durationMs,
      loadAverage: { start: this.#loadStart ?? this.#loadEnd, end: this.#loadEnd },
    }
    const message = this.#message
    if (message?.type === 'measurement') {
      return { status: 'ok', measurement: message.measurement, peakRssBytes: message.peakRssBytes, ...common }
    }
    const tail = this.#output.text()
    const text = message?.type === 'error' ? message.message : 'no result'
    return { status: 'failed', message: tail === '' ? text : `${text}\n--- child output ---\n${tail}`, ...common }
  }

  #until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve()
    return new Promise((resolve) => {
      this.#wake = () => {
        if (!condition()) return
        this.#wake = undefined
        resolve()
      }
    })
  }

  #wakeUp(): void {
    this.#wake?.()
  }
}

/** Keeps the last few kilobytes of a child's output, for the failure report. */
class OutputTail {
  readonly #chunks: Buffer[] = []
  #bytes = 0

  add(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#bytes += chunk.length
    while (this.#bytes > 8192 && this.#chunks.length > 1) this.#bytes -= this.#chunks.shift()?.length ?? 0
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8').trim()
  }
}
