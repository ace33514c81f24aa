import {
  AbortError,
  assertJsonSafe,
  ConfigurationError,
  checkNumber,
  FunctionError,
  type Invocable,
  type InvokeOptions,
  isPromiseLike,
  type LifecycleEvent,
  optionError,
  type StepJournal,
  TinyLLMError,
  type UsageTotals,
  unreadableOption,
} from '@tinyllm/core'
import { type Logger, type LoggerLike, toLogger } from '@tinyllm/logger'
import { type Job, type JobJson, UnrecoverableError, Worker } from 'bullmq'
import { parseCancelRequest, readCancelRequests } from './cancel-request.js'
import type { ContextCarrier } from './context-carrier.js'
import { checkVersion, type DescribedGraph, graphFingerprint } from './graph-fingerprint.js'
import { GraphMismatchError } from './graph-mismatch-error.js'
import { closeRedis, cutRedis, openRedis, type RedisConnection, settlesWithin } from './redis-connection.js'
import { closeWithin, RedisJournal } from './redis-journal.js'
import {
  checkOptionKeys,
  checkTimerMs,
  type QueueLocation,
  queueNames,
  type RunJobData,
  type RunJobResult,
  runJobDataProblem,
  storedErrorJson,
  unparsableJobData,
} from './run-job.js'
import { RunJobError } from './run-job-error.js'

/** A graph a worker serves: any tinyllm Function (a Chain, a Decision, an LLMCall…). */
export type ServedGraph = Invocable<never, unknown> & DescribedGraph

/** Options of {@link serve}. */
export interface ServeOptions extends QueueLocation {
  /** The graphs this worker runs, by name: a run submitted for another name, or another version, is refused. */
  readonly graphs: ReadonlyArray<ServedGraph>
  /** Where Redis is. */
  readonly connection: RedisConnection
  /** Runs in progress at once in this process; default 16. */
  readonly concurrency?: number
  /** Your version of the graphs, part of their fingerprint; give producers the same. */
  readonly version?: string
  /** Where durable steps are journaled; default a {@link RedisJournal} on the same connection and prefix. */
  readonly journal?: StepJournal
  /**
   * How long a worker holds a run without renewing its lock before other workers take it for dead, in ms (it renews
   * every half of it); default 30,000. Lower means faster recovery after a crash, and more risk of a busy but live
   * worker losing its run to another (the journal keeps side effects single either way).
   */
  readonly lockDurationMs?: number
  /** How often this worker looks for runs whose worker died, in ms; default 15,000. */
  readonly stalledIntervalMs?: number
  /** How many times a run may be recovered from a dead worker before it fails with a RunJobError; default 3. */
  readonly maxStalledCount?: number
  /**
   * How long `close()` waits for the runs in progress and for BullMQ to close, then for Redis to answer its connections'
   * QUIT, in ms; default 30,000. Past it (Redis unreachable or frozen, a run that does not end), the worker closes as a
   * crashed one would: its connections are cut, the runs
   * still in progress are cancelled without their failure being written (their locks expire and another worker resumes
   * them from the journal), and `close()` resolves: whatever BullMQ does, within twice this time (and a last attempt
   * to connect, which ends each client).
   */
  readonly closeTimeoutMs?: number
  /** Logger for the runs (a tinyllm Logger, pino…); default the process default. */
  readonly logger?: InvokeOptions['logger']
  /**
   * Receives connection and queue errors (the worker waits for Redis and goes on); default: nothing. One that throws,
   * or an async one that rejects, is reported as a process warning, and the worker goes on.
   */
  readonly onError?: (error: Error) => void
  /**
   * Makes the context each run's producer carried (see `BullMQExecutor`'s `context`) active while the run executes:
   * with `traceContextCarrier()` of `@tinyllm/otel`, the run's spans nest under the producer's span. Default: the
   * carried context is ignored.
   */
  readonly context?: ContextCarrier
}

/** A worker process's handle on the runs it serves. */
export interface GraphWorker {
  /** The BullMQ worker underneath, for its events (`completed`, `failed`, `stalled`…). */
  readonly worker: Worker<RunJobData, RunJobResult>
  /** Each served graph's fingerprint, by name. */
  readonly fingerprints: Readonly<Record<string, string>>
  /**
   * Stops taking runs, waits for the runs in progress to finish, and closes every connection; past `closeTimeoutMs`, it
   * cuts the connections and cancels the runs left, whose locks expire for another worker to resume them.
   */
  close(): Promise<void>
}

const owner = 'serve'
const serveOptionKeys = [
  'graphs',
  'connection',
  'queue',
  'prefix',
  'concurrency',
  'version',
  'journal',
  'lockDurationMs',
  'stalledIntervalMs',
  'maxStalledCount',
  'closeTimeoutMs',
  'logger',
  'onError',
  'context',
] satisfies ReadonlyArray<keyof ServeOptions>

/**
 * Serves graphs on this process: every root run submitted to the queue (by a {@link BullMQExecutor}) is a job whose
 * id is the run id; a worker runs `graph.invoke(input, { runId, journal, deadline, signal })`, so a run that another
 * worker started and could not finish — it crashed, it was killed — is taken over after its lock expires (BullMQ's
 * stalled-job check) and resumes from the journal: finished LLM calls and durable steps replay instead of running
 * again. A failed run fails its job at once (retries are the graph's own retry policies, never BullMQ's); a cancel
 * request reaches the run on whichever worker holds it. Resolves once the worker is connected (it waits for Redis to
 * be reachable); rejects with a ConfigurationError when Redis refuses it (a wrong password).
 *
 * @example
 * const worker = await serve({ graphs: [creditPipeline], connection: 'redis://127.0.0.1:6379', concurrency: 32 })
 * process.on('SIGTERM', () => worker.close())
 */
export async function serve(given: ServeOptions): Promise<GraphWorker> {
  const options = checkOptionKeys(given, serveOptionKeys, owner)
  const concurrency = checkNumber(options.concurrency, 'concurrency', { integer: true, min: 1 }, owner) ?? 16
  const lockDuration = checkTimerMs(options.lockDurationMs, 'lockDurationMs', 100, owner) ?? 30_000
  const stalledInterval = checkTimerMs(options.stalledIntervalMs, 'stalledIntervalMs', 100, owner) ?? 15_000
  const maxStalledCount = checkNumber(options.maxStalledCount, 'maxStalledCount', { integer: true, min: 1 }, owner) ?? 3
  const closeTimeoutMs = checkTimerMs(options.closeTimeoutMs, 'closeTimeoutMs', 0, owner) ?? 30_000
  const version = checkVersion(options.version, owner)
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw optionError('onError', 'a function', options.onError, owner)
  }
  const logger = options.logger === undefined ? undefined : checkLogger(options.logger)
  const journalOption = options.journal
  const carrier = options.context
  // One whose reading throws (a getter, a revoked Proxy) is a bad option, refused as one, not a bare TypeError.
  read('journal', () => {
    if (
      journalOption !== undefined &&
      (typeof journalOption?.read !== 'function' || typeof journalOption.write !== 'function')
    ) {
      throw optionError('journal', 'a StepJournal (with read and write)', journalOption, owner)
    }
  })
  read('context', () => {
    if (carrier !== undefined && typeof carrier?.extract !== 'function') {
      throw optionError('context', 'a ContextCarrier, with inject() and extract()', carrier, owner)
    }
  })
  const graphs = read('graphs', () => servedGraphs(options.graphs, version))
  const names = queueNames(options, owner)
  const client = openRedis(options.connection, owner)
  const subscriber = openRedis(options.connection, owner)
  const ownJournal = options.journal === undefined
  const journal = options.journal ?? new RedisJournal({ connection: options.connection, prefix: names.prefix })
  const onError = options.onError === undefined ? ignore : guarded(options.onError)
  const registered = [...graphs.keys()]
  /** The ids of the runs this worker is running. */
  const holding = new Set<string>()
  /** The ids of the runs this worker holds, or held, that a cancel request reached. */
  const heard = new Set<string>()
  /** Closes every connection of the worker, cutting those to a Redis that has not answered within `withinMs`. */
  const closeConnections = (withinMs: number) =>
    Promise.all([
      closeRedis(subscriber, withinMs),
      closeRedis(client, withinMs),
      ownJournal ? (journal as RedisJournal)[closeWithin](withinMs) : undefined,
    ])
  try {
    // Unreachable Redis is waited for; Redis that answers with an error (a wrong password) never lets a worker start.
    await client.ping()
  } catch (cause) {
    await closeConnections(closeTimeoutMs)
    throw new ConfigurationError({
      option: 'connection',
      message: `Redis refused this worker: ${cause instanceof Error ? cause.message : String(cause)}`,
      functionName: owner,
      cause,
    })
  }

  const processor = async (
    job: Job<RunJobData, RunJobResult>,
    _token: string | undefined,
    signal?: AbortSignal,
  ): Promise<RunJobResult> => {
    const data = job.data
    const problem = runJobDataProblem(data)
    const runId = job.id ?? (problem === undefined ? data.runId : '')
    holding.add(runId)
    try {
      const [cancelled = null] = await readCancelRequests(client, names, [runId])
      if (cancelled !== null) heard.add(runId)
      if (problem !== undefined) throw new RunJobError({ runId, reason: problem })
      const served = graphs.get(data.graph)
      if (served === undefined || served.fingerprint !== data.fingerprint) {
        throw new GraphMismatchError({
          graph: data.graph,
          expectedFingerprint: data.fingerprint,
          workerFingerprint: served?.fingerprint,
          runId,
          registered,
        })
      }
      if (cancelled !== null) throw new AbortError({ reason: cancelled, functionName: data.graph, state: 'init' })
      const tally = new RunTally(runId)
      const graph = served.graph as Invocable<unknown, unknown>
      const invokeOptions: InvokeOptions = {
        runId,
        journal,
        ...(signal === undefined ? {} : { signal }),
        ...(data.deadline === undefined ? {} : { deadline: data.deadline }),
        ...(data.metadata === undefined ? {} : { metadata: data.metadata }),
        ...(data.budget === undefined ? {} : { budget: data.budget }),
        ...(data.maxConcurrentRuns === undefined ? {} : { maxConcurrentRuns: data.maxConcurrentRuns }),
        ...(logger === undefined ? {} : { logger }),
        onEvent: tally.listener,
      }
      const output = await (carrier === undefined
        ? graph.invoke(data.input, invokeOptions)
        : carrier.extract(data.context ?? {}, () => graph.invoke(data.input, invokeOptions)))
      assertJsonSafe(output, { functionName: data.graph, state: 'complete' })
      return tally.usage === undefined
        ? { output, replayedSteps: tally.replayedSteps }
        : { output, usage: tally.usage, replayedSteps: tally.replayedSteps }
    } catch (thrown) {
      const error = TinyLLMError.isInstance(thrown)
        ? thrown
        : new FunctionError({ functionName: data.graph, state: 'running', cause: thrown })
      // The typed error travels in the job (but in one whose data is not a run's, which a reader refuses as this run
      // did); the job fails at once, never retried by BullMQ.
      if (problem === undefined) await job.updateData({ ...data, error: storedErrorJson(error.toJSON()) })
      throw new UnrecoverableError(error.message)
    } finally {
      holding.delete(runId)
    }
  }

  const worker = new RunWorker(names.queue, processor, {
    connection: client,
    prefix: names.prefix,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    // Finishing a job is retried this often while Redis is away, so a finished run is not lost to a blip.
    runRetryDelay: 1_000,
  })
  worker.on('error', onError)
  // A request kept in the run's job goes with the job. One made before the job was there, kept beside the queue for a
  // day, is forgotten once the job has finished (not before: a worker that took the job over after this one died must
  // still refuse it), so that once the job is gone its run id submitted again runs, however soon it is removed. A
  // failed job's is forgotten whether or not this worker heard of it: BullMQ fails a job its workers were lost with
  // more than maxStalledCount times as the next worker takes it, without running it.
  const forget = (job: Job | undefined, failed: boolean): void => {
    const runId = job?.id
    if (runId === undefined || (!heard.delete(runId) && !failed)) return
    // Failing, it is forgotten all the same within a day (see cancelMemoryMs).
    client.del(names.cancelKey(runId)).catch(ignore)
  }
  worker.on('completed', (job) => forget(job, false))
  worker.on('failed', (job) => forget(job, true))
  subscriber.on('message', (_channel: string, message: string) => {
    const request = parseCancelRequest(message)
    if (request === undefined) return
    if (holding.has(request.runId)) heard.add(request.runId)
    worker.cancelJob(request.runId, request.reason)
  })
  /**
   * Subscribes to cancel requests, then reads the request kept for each run this worker holds: one published while
   * it was not subscribed (it was starting, or Redis was away and came back) was heard by no one.
   */
  const listen = async (): Promise<void> => {
    await subscriber.subscribe(names.cancelChannel)
    const held = [...holding]
    if (held.length === 0) return
    const reasons = await readCancelRequests(client, names, held)
    held.forEach((runId, index) => {
      const reason = reasons[index]
      if (reason === null || reason === undefined || !holding.has(runId)) return
      heard.add(runId)
      worker.cancelJob(runId, reason)
    })
  }
  try {
    await worker.waitUntilReady()
    await listen()
  } catch (error) {
    await shutDown()
    throw error
  }
  subscriber.on('ready', () => {
    listen().catch(onError)
  })

  /**
   * BullMQ's close, which waits for the runs in progress and for Redis (with Redis unreachable it can wait forever),
   * bounded by `closeTimeoutMs`, then the connections', bounded by it too. Past it, the connections are cut first — so
   * that nothing more is written, and every command waiting for Redis fails — then the runs left are cancelled, and
   * BullMQ's close ends.
   */
  async function shutDown(): Promise<void> {
    const closing = worker.close()
    if (await settlesWithin(closing, closeTimeoutMs)) {
      await closeConnections(closeTimeoutMs)
      return
    }
    cutRedis(client)
    cutRedis(subscriber)
    const cut = closeConnections(0)
    worker.cancelAllJobs('the worker was closed')
    // Whatever BullMQ does then, close resolves.
    await Promise.all([cut, settlesWithin(closing, closeTimeoutMs)])
  }

  return {
    worker,
    fingerprints: Object.fromEntries([...graphs].map(([name, served]) => [name, served.fingerprint])),
    close: shutDown,
  }
}

/**
 * `onError`, kept from failing the worker: what it throws, or an async one rejects with, is reported as a process
 * warning (a FunctionError, its message redacted as every tinyllm error's is) instead of an uncaught exception or an
 * unhandled rejection that would end the process — at a Redis blip, when every worker reports at once.
 */
function guarded(onError: (error: Error) => void): (error: Error) => void {
  const report = (thrown: unknown): void => {
    process.emitWarning(new FunctionError({ functionName: owner, state: 'onError', cause: thrown }))
  }
  return (error) => {
    try {
      const reported: unknown = onError(error)
      if (isPromiseLike(reported)) Promise.resolve(reported).catch(report)
    } catch (thrown) {
      report(thrown)
    }
  }
}

/** Runs `check`, which reads option `option`: what a getter or a Proxy throws while it reads is a ConfigurationError. */
function read<Result>(option: string, check: () => Result): Result {
  try {
    return check()
  } catch (error) {
    throw unreadableOption(error, option, owner)
  }
}

/** The graphs a worker serves, by name, each with its fingerprint. */
function servedGraphs(
  list: ReadonlyArray<ServedGraph>,
  version: string | undefined,
): Map<string, { graph: ServedGraph; fingerprint: string }> {
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigurationError({
      option: 'graphs',
      message: 'graphs must list the Functions this worker runs',
      functionName: owner,
    })
  }
  const graphs = new Map<string, { graph: ServedGraph; fingerprint: string }>()
  for (const graph of list) {
    if (typeof graph?.invoke !== 'function' || typeof graph.describe !== 'function') {
      throw optionError('graphs', 'a list of tinyllm Functions', graph, owner)
    }
    const name = graph.name
    if (graphs.has(name)) {
      throw new ConfigurationError({
        option: 'graphs',
        message: `two graphs are named "${name}"; a run finds its graph by name`,
        functionName: owner,
      })
    }
    graphs.set(name, { graph, fingerprint: graphFingerprint(graph, version) })
  }
  return graphs
}

/**
 * BullMQ's worker, but a job whose data is not JSON reaches the processor, which fails it at once as not a run's:
 * BullMQ's own parse would throw with the job already active, and it would stay so until the stalled-job check.
 */
class RunWorker extends Worker<RunJobData, RunJobResult> {
  protected override createJob(json: JobJson, jobId: string): Job<RunJobData, RunJobResult> {
    try {
      return super.createJob(json, jobId)
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error
      const job = super.createJob({ ...json, data: '{}' }, jobId)
      job.data = unparsableJobData as RunJobData
      return job
    }
  }
}

/** Counts what a run replayed, and keeps its final usage, from the run tree's lifecycle events. */
class RunTally {
  replayedSteps = 0
  usage: UsageTotals | undefined = undefined
  private readonly runId: string

  constructor(runId: string) {
    this.runId = runId
  }

  readonly listener = (event: LifecycleEvent): void => {
    if (event.to !== 'complete') return
    if (event.annotations?.replayed === true) this.replayedSteps += 1
    if (event.runId === this.runId && event.usage !== undefined) this.usage = { ...event.usage }
  }
}

function ignore(): void {}

/** The logger every run gets, made once: one that is no logger is refused before a worker starts, not at each run. */
function checkLogger(given: LoggerLike): Logger {
  try {
    return toLogger(given)
  } catch (cause) {
    throw optionError(
      'logger',
      'a tinyllm Logger, a pino logger, or an object with debug, info, warn and error methods',
      given,
      owner,
      cause,
    )
  }
}
