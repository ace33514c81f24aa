import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkNumber, optionError } from '@tinyllm/core'
import { checkOptionKeys } from '../run-job.js'

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port on 127.0.0.1; default a free one. A port another server holds makes the start reject. */
  readonly port?: number
  /**
   * Keep every write in an append-only file, synced on each write, so that a server killed and started again on the
   * same directory comes back with everything it acknowledged. Default false (nothing is persisted).
   */
  readonly appendOnly?: boolean
  /** Data directory; default a fresh temporary one, removed by `stop`. */
  readonly directory?: string
  /** The `redis-server` binary; default `redis-server` on the PATH. */
  readonly binary?: string
}

/** A private `redis-server` on 127.0.0.1, for tests, examples and offline runs. */
export interface RedisServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** `redis://127.0.0.1:<port>`: a connection for `serve`, `BullMQExecutor`, `RedisJournal` and `RedisRateLimiter`. */
  readonly url: string
  /** Its data directory. */
  readonly directory: string
  /** The server process's id while it runs. */
  readonly pid: number | undefined
  /** Kills the server at once (SIGKILL), as a crash would; `start` brings it back on the same port and directory. */
  kill(): Promise<void>
  /** Starts the server again after `kill`, on the same port and directory; rejects if another server took the port. */
  start(): Promise<void>
  /** Stops the server and removes the directory it created. Calling it again does nothing. */
  stop(): Promise<void>
}

/**
 * Starts a real `redis-server` (Debian's `redis-server` package, or any Redis ≥ 6.2 on the PATH) on 127.0.0.1, in a
 * temporary directory, and resolves once it answers — it, not another server holding the port, which makes it
 * reject. No password and no network beyond the loopback address: a server for one test or one example, stopped with
 * `stop()`.
 *
 * @example
 * const redis = await startRedisServer()
 * const executor = new BullMQExecutor({ connection: redis.url })
 * // …
 * await redis.stop()
 */
export async function startRedisServer(given: RedisServerOptions = {}): Promise<RedisServer> {
  const options = checkOptionKeys(given, ['port', 'appendOnly', 'directory', 'binary'], owner)
  checkNumber(options.port, 'port', { integer: true, min: 1, max: 65_535 }, owner)
  const appendOnly = options.appendOnly
  if (appendOnly !== undefined && typeof appendOnly !== 'boolean') {
    throw optionError('appendOnly', 'true or false', appendOnly, owner)
  }
  for (const name of ['directory', 'binary'] as const) {
    const value = options[name]
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw optionError(name, 'a non-empty string', value, owner)
    }
  }
  const ownDirectory = options.directory === undefined
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'tinyllm-redis-')))
  const server = new LocalRedisServer(
    options.binary ?? 'redis-server',
    options.port ?? (await freePort()),
    directory,
    options.appendOnly === true,
    ownDirectory,
  )
  try {
    await server.start()
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

const owner = 'startRedisServer'

class LocalRedisServer implements RedisServer {
  readonly host = '127.0.0.1' as const
  readonly port: number
  readonly directory: string
  private readonly binary: string
  private readonly appendOnly: boolean
  private readonly ownDirectory: boolean
  private process: ChildProcess | undefined = undefined
  private stopped = false

  constructor(binary: string, port: number, directory: string, appendOnly: boolean, ownDirectory: boolean) {
    this.binary = binary
    this.port = port
    this.directory = directory
    this.appendOnly = appendOnly
    this.ownDirectory = ownDirectory
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`
  }

  get pid(): number | undefined {
    return this.process?.pid
  }

  async start(): Promise<void> {
    if (this.process !== undefined) return
    const args = [
      '--port',
      String(this.port),
      '--bind',
      this.host,
      '--dir',
      this.directory,
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
      '--loglevel',
      'warning',
      '--logfile',
      '',
      ...(this.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ]
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.process = child
    let output = ''
    const collect = (chunk: Buffer): void => {
      if (output.length < 4096) output += chunk.toString('utf8')
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`could not start ${this.binary}: ${error.message}`)))
      child.once('exit', (code, signal) =>
        reject(new Error(`${this.binary} exited (${signal ?? `code ${code}`}) before answering:\n${output.trim()}`)),
      )
    })
    exited.catch(() => {})
    child.once('exit', () => {
      if (this.process === child) this.process = undefined
    })
    await Promise.race([this.waitUntilAnswering(child), exited])
    child.stdout?.removeListener('data', collect)
    child.stderr?.removeListener('data', collect)
    child.stdout?.resume()
    child.stderr?.resume()
  }

  async kill(): Promise<void> {
    await this.end('SIGKILL')
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.end('SIGTERM')
    if (this.ownDirectory) await rm(this.directory, { recursive: true, force: true })
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.process
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    await exited
  }

  /**
   * Polls until this server answers a PING (it loads its append-only file first). Another server answering on the
   * port does not count: this one then fails to listen and exits, and `start` rejects with its complaint.
   */
  private async waitUntilAnswering(child: ChildProcess): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (await answers(this.host, this.port, child.pid)) return
      if (this.process === undefined) throw new Error('redis-server exited')
      await new Promise((resolve) => setTimeout(resolve, Math.min(20 * (attempt + 1), 200)))
    }
  }
}

/**
 * Whether the Redis server on host:port answers a PING, and is process `pid`: a server started earlier on a port
 * given twice, or taken between a `kill` and a `start`, answers too, and its `INFO` says whose it is.
 */
function answers(host: string, port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let answer = ''
    const done = (result: boolean): void => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('error', () => done(false))
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8')
      // An error (-LOADING while the append-only file loads) instead of PONG: not yet.
      if (!answer.startsWith('+PONG\r\n')) {
        if (answer.includes('\r\n')) done(false)
        return
      }
      const serverPid = /\r\nprocess_id:(\d+)\r\n/.exec(answer)?.[1]
      if (serverPid !== undefined) done(Number(serverPid) === pid)
    })
    socket.connect(port, host, () => socket.write('PING\r\nINFO server\r\n'))
  })
}

/** A port on 127.0.0.1 that nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}
