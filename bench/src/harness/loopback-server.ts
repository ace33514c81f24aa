import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ServerReply, ServerRequest } from './loopback-server-protocol.ts'

const serverProcessPath = fileURLToPath(new URL('./loopback-server-process.ts', import.meta.url))

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** Delay before every response's headers, in ms. */
  readonly latencyMs: number
  /** With it, each delay is drawn between `latencyMs` and this (seeded, so every run draws the same). */
  readonly maxLatencyMs?: number
  /** Answer as a model in a tool loop of this many steps (tool calls, then an answer) instead of echoing. */
  readonly agentSteps?: number
  /** `gzip`: echoed chat completions are gzipped for clients that accept it, as the real API does. Default `identity`. */
  readonly encoding?: 'identity' | 'gzip'
}

/** An OpenAI-compatible loopback server (`@tinyllm/openai/testing`) running in a process of its own. */
export interface ServerProcess {
  /** What to give an SDK as `baseURL` (ends in `/v1`). */
  readonly baseURL: string
  /** Requests in flight at the server and requests received so far. */
  stats(): Promise<{ readonly inFlight: number; readonly received: number }>
  /** From now on, holds every request before its headers until {@link ServerProcess.close}. */
  stallEverything(): Promise<void>
  /** Closes the server (destroying held connections) and ends its process. */
  close(): Promise<void>
}

/** Forks the loopback server process and resolves once it listens. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = fork(serverProcessPath, [JSON.stringify(options)], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const ready = await new Promise<ServerReply>((resolve, reject) => {
    child.once('message', (message) => resolve(message as ServerReply))
    child.once('exit', (code) =>
      reject(new Error(`the loopback server process exited (code ${code}) before listening`)),
    )
  })
  if (ready.type !== 'ready') throw new Error(`unexpected first message from the loopback server: ${ready.type}`)
  return new ServerProcessClient(child, ready.baseURL)
}

class ServerProcessClient implements ServerProcess {
  readonly baseURL: string
  readonly #child: ChildProcess
  readonly #pending = new Map<number, (reply: ServerReply) => void>()
  #nextId = 1

  constructor(child: ChildProcess, baseURL: string) {
    this.baseURL = baseURL
    this.#child = child
    child.on('message', (message) => {
      const reply = message as ServerReply
      const resolve = this.#pending.get(reply.id)
      this.#pending.delete(reply.id)
      resolve?.(reply)
    })
  }

  async stats(): Promise<{ readonly inFlight: number; readonly received: number }> {
    const reply = await this.#ask('stats')
    if (reply.type !== 'stats') throw new Error(`unexpected reply ${reply.type}`)
    return { inFlight: reply.inFlight, received: reply.received }
  }

  async stallEverything(): Promise<void> {
    await this.#ask('stall')
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.send({ id: this.#nextId++, type: 'close' } satisfies ServerRequest)
    await exited
  }

  #ask(type: 'stats' | 'stall'): Promise<ServerReply> {
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.#child.send({ id, type } satisfies ServerRequest)
    })
  }
}
