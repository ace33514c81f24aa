import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Measurement } from './scenario.ts'
import type { SubjectJob, SubjectMessage } from './subject-job.ts'

const subjectProcessPath = fileURLToPath(new URL('./subject-process.ts', import.meta.url))

/** How a subject's child process ended. */
export type SubjectOutcome =
  | {
      readonly status: 'ok'
      readonly measurement: Measurement
      readonly peakRssBytes: number
      readonly durationMs: number
    }
  | { readonly status: 'failed'; readonly message: string; readonly durationMs: number }

/** Options of {@link measureInFreshProcess}. */
export interface FreshProcessOptions {
  /** Node.js flags on top of `--expose-gc` (e.g. `--cpu-prof`). */
  readonly nodeOptions?: readonly string[]
  readonly timeoutMs: number
}

/**
 * Measures one subject in a new Node.js process (`--expose-gc`), so no subject inherits another's JIT state, heap or
 * open sockets. Never rejects: a crash or a timeout is an outcome to report.
 */
export function measureInFreshProcess(job: SubjectJob, options: FreshProcessOptions): Promise<SubjectOutcome> {
  const started = performance.now()
  const elapsed = (): number => performance.now() - started
  return new Promise((resolve) => {
    const child = fork(subjectProcessPath, [JSON.stringify(job)], {
      execArgv: ['--expose-gc', ...(options.nodeOptions ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    })
    const output = new OutputTail()
    child.stdout?.on('data', (chunk: Buffer) => output.add(chunk))
    child.stderr?.on('data', (chunk: Buffer) => output.add(chunk))
    let message: SubjectMessage | undefined
    child.on('message', (received) => {
      message ??= received as SubjectMessage
    })
    const timer = setTimeout(() => {
      message ??= { type: 'error', message: `timed out after ${options.timeoutMs} ms` }
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const durationMs = elapsed()
      if (message?.type === 'measurement') {
        resolve({ status: 'ok', measurement: message.measurement, peakRssBytes: message.peakRssBytes, durationMs })
      } else if (message?.type === 'error') {
        const tail = output.text()
        resolve({
          status: 'failed',
          message: tail === '' ? message.message : `${message.message}\n--- child output ---\n${tail}`,
          durationMs,
        })
      } else {
        const ending = signal === null ? `exit code ${code}` : `signal ${signal}`
        resolve({ status: 'failed', message: `child ended (${ending}) without a result\n${output.text()}`, durationMs })
      }
    })
  })
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
