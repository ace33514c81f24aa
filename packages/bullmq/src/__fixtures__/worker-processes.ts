// Starts the worker and producer processes of the distributed tests, as real child processes that can be killed.
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { GrantRecord } from './sliding-window.ts'
import type { WorkerConfig } from './worker-process.ts'

const workerPath = fileURLToPath(new URL('./worker-process.ts', import.meta.url))
const producerPath = fileURLToPath(new URL('./producer-process.ts', import.meta.url))

/** A worker process: its grants as they were reported, and how to stop or kill it. */
export interface WorkerProcess {
  readonly id: string
  readonly child: ChildProcess
  /** Each grant: when (server clock) and its tokens — what the call used once settled, the estimate before. */
  readonly grants: GrantRecord[]
  /** Freezes the process (SIGSTOP): it holds its runs and does nothing until killed. */
  freeze(): void
  /** SIGKILL, as a crash; resolves once it is gone. */
  kill(): Promise<void>
  /** Asks it to finish its runs and exit. */
  close(): Promise<void>
}

export async function startWorker(config: WorkerConfig): Promise<WorkerProcess> {
  const child = fork(workerPath, [JSON.stringify(config)], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const grants: Array<{ at: number; tokens: number }> = []
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { type: string; grant: number; at: number; tokens: number }) => {
      if (message.type === 'ready') resolve()
      else if (message.type === 'grant') grants[message.grant] = { at: message.at, tokens: message.tokens }
      else if (message.type === 'settle' && grants[message.grant] !== undefined) {
        grants[message.grant]!.tokens = message.tokens
      }
    })
    child.once('exit', (code) => reject(new Error(`worker ${config.id} exited (code ${code}) before it was ready`)))
  })
  return {
    id: config.id,
    child,
    grants,
    freeze: () => child.kill('SIGSTOP'),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.send({ type: 'close' })
      await exited
    },
  }
}

/** A producer process that submits `count` applications and reports each settled run until it is killed. */
export function startProducer(config: {
  readonly redisUrl: string
  readonly queue: string
  readonly baseURL: string
  readonly count: number
  readonly runIdPrefix: string
}): { readonly child: ChildProcess; readonly exited: Promise<void> } {
  const child = fork(producerPath, [JSON.stringify(config)], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) }
}
