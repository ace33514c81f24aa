import { randomUUID } from 'node:crypto'
import {
  abortErrorFor,
  assertJsonSafe,
  CancelScope,
  ConfigurationError,
  checkNumber,
  checkRootOptions,
  checkTimeout,
  type Invocable,
  type InvokeOptions,
  optionError,
  type RunExecutor,
  TimeoutError,
  TinyLLMError,
  type UsageTotals,
  unreadableOption,
  ValidationError,
} from '@tinyllm/core'
import { checkSignal } from '@tinyllm/llm'
import { Job, type JobsOptions, Queue, QueueEvents } from 'bullmq'
import type { Redis } from 'ioredis'
import { defineRequestCancel, forgetCancel, requestCancel } from './cancel-request.js'
import { type ContextCarrier, injectContext } from './context-carrier.js'
import { checkVersion, type DescribedGraph, graphFingerprint } from './graph-fingerprint.js'
import { closeRedis, openRedis, type RedisConnection } from './redis-connection.js'
import {
  cancelledKeySegment,
  checkOptionKeys,
  checkTimerMs,
  notJsonProblem,
  type QueueLocation,
  type QueueNames,
  queueNames,
  type RunJobData,
  type RunJobResult,
  runJobDataProblem,
} from './run-job.js'
import { RunJobError } from './run-job-error.js'

/** Options of {@link BullMQExecutor}. */
export interface BullMQExecutorOptions extends QueueLocation {
  /** Where Redis is. */
  readonly connection: RedisConnection
  /** Your version of the graphs, part of their fingerprint; give the workers the same. */
  readonly version?: string
  /**
   * Run again a run id whose job had already failed when it is submitted (its journal replays what had finished), under
   * the deadline, metadata, budget and context of that submission; default false: the earlier failure is the answer,
   * as for a finished run the earlier output is.
   */
  readonly rerunFailed?: boolean
  /** How long finished runs' jobs (and so their results) are kept in Redis, in seconds; default 7 days. */
  readonly keepResultsSeconds?: number
  /**
   * How often runs still awaited are looked up in Redis, in ms, besides the queue's events: it finds what the events
   * did not say (a producer that was away, a lost job re-submitted). Default 5,000.
   */
  readonly pollIntervalMs?: number
  /**
   * Carries the caller's context to the workers (`traceContextCarrier()` of `@tinyllm/otel` carries the active trace
   * context, so the run's spans nest under the caller's span): `inject()` is called as runs are submitted, and what it
   * returns travels in their jobs. Give the workers' `serve` a carrier too. Default: nothing is carried.
   */
  readonly context?: ContextCarrier
}

/** How one run submitted through the executor ended. */
export type RunOutcome<Output> =
  | {
      readonly status: 'fulfilled'
      readonly runId: string
      readonly value: Output
      /** Tokens and cost of the run, replayed steps included. */
      readonly usage: UsageTotals | undefined
      /** Durable steps the run replayed from the journal (after a crash, or for a run id submitted again). */
      readonly replayedSteps: number
    }
  | { readonly status: 'rejected'; readonly runId: string; readonly error: TinyLLMError }

/** What `map` reports after each run settles. */
export interface MapProgress {
  readonly settled: number
  readonly failed: number
  readonly total: number
  /** Index of the input that just settled, and its outcome. */
  readonly index: number
  readonly outcome: RunOutcome<unknown>
}

/** Options of {@link BullMQExecutor.map}. */
export interface MapOptions<Input> {
  /**
   * Each input's run id: a list in input order, or a function of the input and its index. Default
   * `<random batch id>/<index>`. Give the same ids again to resume a batch: finished runs answer from Redis, and the
   * others resume from their journal.
   */
  readonly runIds?: ReadonlyArray<string> | ((input: Input, index: number) => string)
  /**
   * Called after each run settles. One that throws, or an async one that rejects, fails `map` with its error (the runs
   * go on, and their results stay in Redis).
   */
  readonly onProgress?: (progress: MapProgress) => void
  /** Cancels every run of the batch that has not settled. */
  readonly signal?: AbortSignal
  /** Absolute deadline of every run, epoch ms. */
  readonly deadline?: number
}

/** A graph the executor submits: any tinyllm Function. */
type SubmittedGraph = Invocable<never, unknown> & DescribedGraph

/**
 * A submission awaiting a run's outcome: it settles once, and lets go of its signal and deadline then (`cleanup`).
 * The executor's own {@link PendingRun}, or an {@link AttachedRun} that waits for one.
 */
abstract class AwaitedRun {
  abstract readonly runId: string
  abstract readonly graph: string
  /** Its run's job is in Redis, or being added: cancelling it must reach Redis; before that, nothing is there to cancel. */
  abstract readonly queued: boolean
  readonly promise: Promise<RunOutcome<unknown>>
  settled = false
  /** Called once when it settles: lets go of its signal and deadline. */
  cleanup: (() => void) | undefined = undefined
  private resolve!: (outcome: RunOutcome<unknown>) => void

  constructor() {
    this.promise = new Promise((resolve) => {
      this.resolve = resolve
    })
  }

  /** Settles it with `outcome`; `false` when it had settled already. */
  settle(outcome: RunOutcome<unknown>): boolean {
    if (this.settled) return false
    this.settled = true
    this.cleanup?.()
    this.resolve(outcome)
    return true
  }
}

/** One run awaited by this executor. */
class PendingRun extends AwaitedRun {
  readonly runId: string
  readonly graph: string
  readonly data: RunJobData
  queued = false

  constructor(data: RunJobData) {
    super()
    this.runId = data.runId
    this.graph = data.graph
    this.data = data
  }
}

/**
 * A submission of a run id this executor already awaits (the same graph and input), given a signal or a deadline of
 * its own: it settles with the run, or earlier when its own signal or deadline ends it.
 */
class AttachedRun extends AwaitedRun {
  readonly run: PendingRun

  constructor(run: PendingRun) {
    super()
    this.run = run
    run.promise.then((outcome) => this.settle(outcome))
  }

  get runId(): string {
    return this.run.runId
  }

  get graph(): string {
    return this.run.graph
  }

  get queued(): boolean {
    return this.run.queued
  }
}

const owner = 'BullMQExecutor'
const executorOptionKeys = [
  'connection',
  'queue',
  'prefix',
  'version',
  'rerunFailed',
  'keepResultsSeconds',
  'pollIntervalMs',
  'context',
] satisfies ReadonlyArray<keyof BullMQExecutorOptions>
const mapOptionKeys = ['runIds', 'onProgress', 'signal', 'deadline'] satisfies ReadonlyArray<keyof MapOptions<unknown>>
const submitChunk = 500
const lookupChunk = 1_000
/** Options a run given to `invoke` cannot carry to another process. */
const localOnlyOptions = ['logger', 'onEvent', 'stream', 'journal', 'key'] as const

/**
 * Runs graphs on the workers of a BullMQ queue (see {@link serve}) and answers as `invoke` would in this process: the
 * typed output, or the typed error rehydrated (`TimeoutError.isInstance(error)` holds for a run that timed out on a
 * worker). A root run is a job whose id is the run id, so submitting a run id again attaches to that run: a finished
 * one answers from Redis without running anything, an unfinished one is awaited, and a lost one is submitted again
 * and resumes from its journal. Runs go on when the producer stops; read them later with `result` or by submitting
 * the same ids.
 *
 * @example
 * const executor = new BullMQExecutor({ connection: 'redis://127.0.0.1:6379' })
 * const verdict = await creditPipeline.invoke(application, { executor, runId: 'application-42' })
 * const outcomes = await executor.map(creditPipeline, applications, { onProgress: (p) => console.log(p.settled) })
 * await executor.close()
 */
export class BullMQExecutor implements RunExecutor {
  readonly version: string | undefined
  readonly rerunFailed: boolean
  private readonly names: QueueNames
  private readonly client: Redis
  private readonly eventsClient: Redis
  private readonly queue: Queue<RunJobData, RunJobResult>
  private readonly jobOptions: JobsOptions
  private readonly pollIntervalMs: number
  private readonly context: ContextCarrier | undefined
  private readonly pending = new Map<string, PendingRun>()
  private readonly fingerprints = new WeakMap<object, string>()
  private events: Promise<QueueEvents> | undefined = undefined
  private queueEvents: QueueEvents | undefined = undefined
  private poller: ReturnType<typeof setInterval> | undefined = undefined
  private polling = false
  private closed = false
  private closing: Promise<void> | undefined = undefined

  constructor(given: BullMQExecutorOptions) {
    const options = checkOptionKeys(given, executorOptionKeys, owner)
    this.version = checkVersion(options.version, owner)
    if (options.rerunFailed !== undefined && typeof options.rerunFailed !== 'boolean') {
      throw optionError('rerunFailed', 'true or false', options.rerunFailed, owner)
    }
    this.rerunFailed = options.rerunFailed === true
    const keepSeconds =
      checkNumber(options.keepResultsSeconds, 'keepResultsSeconds', { integer: true, min: 1 }, owner) ??
      7 * 24 * 60 * 60
    this.pollIntervalMs = checkTimerMs(options.pollIntervalMs, 'pollIntervalMs', 10, owner) ?? 5_000
    let carrier: boolean
    try {
      carrier = options.context === undefined || typeof options.context?.inject === 'function'
    } catch (error) {
      // A getter or a revoked Proxy that throws as it is read: a bad option, as serve refuses it.
      throw unreadableOption(error, 'context', owner)
    }
    if (!carrier) throw optionError('context', 'a ContextCarrier, with inject() and extract()', options.context, owner)
    this.context = options.context
    this.names = queueNames(options, owner)
    this.client = openRedis(options.connection, owner)
    defineRequestCancel(this.client)
    this.eventsClient = openRedis(options.connection, owner)
    this.queue = new Queue<RunJobData, RunJobResult>(this.names.queue, {
      connection: this.client,
      prefix: this.names.prefix,
    })
    this.queue.on('error', ignore)
    // One attempt: retries are the graph's own; a worker that dies is BullMQ's stalled-job recovery, not a retry.
    this.jobOptions = {
      attempts: 1,
      removeOnComplete: { age: keepSeconds },
      removeOnFail: { age: keepSeconds },
    }
  }

  /**
   * Runs `fn` on a worker and settles as `fn.invoke(input, options)` would here. `fn.invoke(input, { executor })`
   * calls it. The run id is `options.runId` (default a random one); `deadline`, `timeoutMs`, `metadata`, `budget`
   * and `maxConcurrentRuns` travel with the run, and the caller's context when the executor has a `context` carrier;
   * `signal` cancels it on its worker. Input that is not JSON-safe is a ValidationError, and a context that cannot
   * travel a CarriedContextError, before anything is queued.
   */
  async invoke(fn: Invocable<unknown, unknown>, input: unknown, options: InvokeOptions = {}): Promise<unknown> {
    const read = readInvokeOptions(options, fn)
    const outcome = await this.submit(fn as SubmittedGraph, [input], () => read.runId ?? randomUUID(), read)[0]!
    if (outcome.status === 'rejected') throw outcome.error
    return outcome.value
  }

  /**
   * Runs `fn` over every input on the workers and resolves, once every run has settled, with one outcome per input in
   * input order: `{ status: 'fulfilled', value }` or `{ status: 'rejected', error }` (a typed error). Never rejects
   * for a run's failure.
   */
  async map<Input, Output>(
    fn: Invocable<Input, Output> & DescribedGraph,
    inputs: ReadonlyArray<Input>,
    given: MapOptions<Input> = {},
  ): Promise<Array<RunOutcome<Output>>> {
    const options = checkOptionKeys(given, mapOptionKeys, owner)
    if (!isList(inputs, 'inputs')) throw optionError('inputs', 'an array', inputs, owner)
    const ids = options.runIds
    const idList = ids !== undefined && isList(ids, 'runIds')
    if (ids !== undefined && !idList && typeof ids !== 'function') {
      throw optionError('runIds', 'a list of run ids or a function of the input and its index', ids, owner)
    }
    // Both lists read once, before anything is queued: one whose reading throws is a bad option, not a failed run.
    const list = readList(inputs, 'inputs')
    const runIds = idList ? readList(ids as ReadonlyArray<string>, 'runIds') : ids
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw optionError('onProgress', 'a function', options.onProgress, owner)
    }
    const batch = randomUUID()
    const runIdOf =
      runIds === undefined
        ? (_input: unknown, index: number) => `${batch}/${index}`
        : typeof runIds === 'function'
          ? (runIds as (input: unknown, index: number) => string)
          : (_input: unknown, index: number) => runIds[index] as string
    if (Array.isArray(runIds) && runIds.length !== list.length) {
      throw new ConfigurationError({
        option: 'runIds',
        message: `runIds has ${runIds.length} ids for ${list.length} inputs`,
        functionName: owner,
      })
    }
    const invokeOptions: InvokeOptions = {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    }
    const promises = this.submit(fn as unknown as SubmittedGraph, list, runIdOf, invokeOptions)
    const outcomes = new Array<RunOutcome<Output>>(list.length)
    let settled = 0
    let failed = 0
    // An async onProgress that rejects fails map as one that throws does, not the process (an unhandled rejection);
    // one that never settles holds nothing up.
    let progressFailed: (error: unknown) => void = ignore
    const progressFailure = new Promise<never>((_, reject) => {
      progressFailed = reject
    })
    await Promise.race([
      Promise.all(
        promises.map((promise, index) =>
          promise.then((outcome) => {
            outcomes[index] = outcome as RunOutcome<Output>
            settled += 1
            if (outcome.status === 'rejected') failed += 1
            const progress: unknown = options.onProgress?.({ settled, failed, total: list.length, index, outcome })
            if (progress !== undefined) Promise.resolve(progress).catch(progressFailed)
          }),
        ),
      ),
      progressFailure,
    ])
    return outcomes
  }

  /**
   * The outcome of run `runId` if it has finished, read from Redis without submitting anything; `undefined` while it
   * runs or waits, or when no run has that id (or its result is no longer kept). An id no run can have is a
   * ConfigurationError, as it is for `invoke`.
   */
  async result(runId: string): Promise<RunOutcome<unknown> | undefined> {
    checkRunId(runId, owner)
    this.checkOpen()
    let job: Job<RunJobData, RunJobResult> | undefined
    try {
      job = await Job.fromId<RunJobData, RunJobResult>(this.queue, runId)
    } catch (error) {
      // Closed meanwhile, said so; else its key holds another program's value, or its data or result is not JSON: the
      // run cannot be read, as a submission of its id finds.
      this.checkOpen()
      return rejected(runId, error, undefined)
    }
    if (job === undefined || !job.finishedOn) return undefined
    return outcomeOf(job, undefined)
  }

  /**
   * Cancels run `runId` wherever it runs: the worker holding it aborts it (it fails with an AbortError), and a worker
   * that has not started it yet refuses it. A run that has finished is left as it is, and no request is kept for it:
   * once its job is gone, the same run id submitted again runs. An id no run can have, or a reason that is not a
   * string, is a ConfigurationError, as it is for `invoke`.
   */
  async cancel(runId: string, reason = 'cancelled by the producer'): Promise<void> {
    checkRunId(runId, owner)
    // Stored in Redis and published to every worker: a line, not a document.
    if (typeof reason !== 'string' || reason.length > 1_000)
      throw optionError('reason', 'a string of at most 1,000 characters', reason, owner)
    this.checkOpen()
    await requestCancel(this.client, this.names, runId, reason)
  }

  /**
   * Stops waiting and closes the connections, at once when Redis is away, cutting them when Redis has not answered
   * within 2 s (frozen, or cut off without the connection closing). Runs in progress go on on their workers;
   * the promises still waiting for them reject with an AbortError, as `invoke`, `map`, `result` and `cancel` do after.
   * Called again, it answers the same promise: it resolves once the connections are closed.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    this.closed = true
    clearInterval(this.poller)
    for (const run of [...this.pending.values()]) {
      this.settle(run, {
        status: 'rejected',
        runId: run.runId,
        error: abortErrorFor(`the executor was closed; run ${run.runId} goes on, read it later with result()`, {
          functionName: run.graph,
        }),
      })
    }
    // BullMQ closes the events' client and waits for its 'end', which ioredis never emits for a client waiting to
    // reconnect (redis/ioredis#1247): with Redis away, the client is let go (no timer is left) instead of awaited.
    const closing = this.queueEvents?.close()
    if (this.eventsClient.status === 'ready') await closing
    else closing?.catch(ignore)
    await this.queue.close()
    await Promise.all([closeRedis(this.eventsClient), closeRedis(this.client)])
  }

  /** A closed executor has no connection left: what needs one is refused with the AbortError `invoke` gets. */
  private checkOpen(): void {
    if (this.closed) throw abortErrorFor('the executor is closed', { functionName: owner })
  }

  // ---- submission ------------------------------------------------------------------------------------------------

  /** Validates and queues one run per input; every promise settles with an outcome, never rejects. */
  private submit(
    fn: SubmittedGraph,
    inputs: ReadonlyArray<unknown>,
    runIdOf: (input: never, index: number) => string,
    options: InvokeOptions,
  ): Array<Promise<RunOutcome<unknown>>> {
    const fingerprint = this.fingerprintOf(fn)
    const common = this.commonData(fn, options)
    const promises: Array<Promise<RunOutcome<unknown>>> = []
    const fresh: PendingRun[] = []
    const watched: AwaitedRun[] = []
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index]
      let runId: string
      try {
        runId = checkRunId((runIdOf as (input: unknown, index: number) => string)(input, index), fn.name)
        assertJsonSafe(input, { functionName: fn.name, state: 'input_validation' })
      } catch (error) {
        promises.push(Promise.resolve(rejected(runIdOrUnknown(runIdOf, input, index), error, fn.name)))
        continue
      }
      const existing = this.pending.get(runId)
      if (existing !== undefined) {
        const conflict = runIdConflict(runId, existing.data, fn.name, { fingerprint, input })
        if (conflict !== undefined) promises.push(Promise.resolve(conflict))
        else if (options.signal === undefined && common.deadline === undefined) promises.push(existing.promise)
        else {
          // Its own signal and deadline end this submission's wait, as they would a run of its own.
          const attached = new AttachedRun(existing)
          watched.push(attached)
          promises.push(attached.promise)
        }
        continue
      }
      const run = new PendingRun({ ...common, graph: fn.name, fingerprint, input, runId })
      this.pending.set(runId, run)
      fresh.push(run)
      watched.push(run)
      promises.push(run.promise)
    }
    this.watch(watched, options.signal, common.deadline)
    if (this.closed) {
      for (const run of fresh) this.settle(run, rejected(run.runId, abortErrorFor('the executor is closed'), fn.name))
    } else if (fresh.length > 0) {
      void this.enqueue(fresh)
    }
    return promises
  }

  /** What every run of one submission carries besides its input and id. */
  private commonData(
    fn: SubmittedGraph,
    options: InvokeOptions,
  ): Omit<RunJobData, 'graph' | 'fingerprint' | 'input' | 'runId'> {
    for (const option of localOnlyOptions) {
      if (options[option] !== undefined) {
        throw new ConfigurationError({
          option,
          message: `${option} cannot travel to a worker process; give it to serve() on the workers instead`,
          functionName: fn.name,
        })
      }
    }
    if (options.parent !== undefined && options.parent !== null) {
      throw new ConfigurationError({
        option: 'parent',
        message: 'a run on a worker starts its own run tree',
        functionName: fn.name,
      })
    }
    // The checks of invoke in this process, with the same messages.
    checkSignal(options.signal, fn.name)
    const deadline = checkNumber(options.deadline, 'deadline', { min: 0, unit: 'epoch ms' }, fn.name)
    const timeoutMs = checkTimeout(options.timeoutMs, 'timeoutMs', fn.name)
    const fromTimeout = timeoutMs === undefined ? undefined : Date.now() + timeoutMs
    const effective =
      deadline === undefined ? fromTimeout : fromTimeout === undefined ? deadline : Math.min(deadline, fromTimeout)
    // What travels is checked as the worker's invoke will check it: a bad option is refused here, before a job is
    // queued whose failure would stand for its run id.
    const metadata = options.metadata
    if (metadata !== undefined) {
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
        throw optionError('metadata', 'an object', metadata, fn.name)
      assertJsonSafe(metadata, { functionName: fn.name, state: 'init' })
    }
    const budget = options.budget // checked as it was read
    const maxConcurrentRuns = checkNumber(
      options.maxConcurrentRuns,
      'maxConcurrentRuns',
      { integer: true, min: 1 },
      fn.name,
    )
    const context = this.context === undefined ? undefined : injectContext(this.context, fn.name)
    return {
      ...(effective === undefined ? {} : { deadline: effective }),
      ...(metadata === undefined ? {} : { metadata }),
      ...(budget === undefined ? {} : { budget }),
      ...(maxConcurrentRuns === undefined ? {} : { maxConcurrentRuns }),
      ...(context === undefined ? {} : { context }),
    }
  }

  private fingerprintOf(fn: SubmittedGraph): string {
    if (typeof fn?.describe !== 'function' || typeof fn.name !== 'string') {
      throw new ConfigurationError({
        option: 'fn',
        message: 'only tinyllm Functions (which describe their graph) can run on workers',
        functionName: owner,
      })
    }
    let fingerprint = this.fingerprints.get(fn)
    if (fingerprint === undefined) {
      fingerprint = graphFingerprint(fn, this.version)
      this.fingerprints.set(fn, fingerprint)
    }
    return fingerprint
  }

  /**
   * Cancels the runs on their workers when the signal aborts, and fails them at their deadline, as runs here would.
   * One listener and one timer for the whole submission, however many runs it has. A submission attached to a run
   * this executor already awaited stops waiting for it, and its signal cancels the run on its worker as well.
   */
  private watch(runs: ReadonlyArray<AwaitedRun>, signal: AbortSignal | undefined, deadline: number | undefined): void {
    if (runs.length === 0 || (signal === undefined && deadline === undefined)) return
    // At the deadline the worker ends the run itself, in the same TimeoutError (the deadline travels in the job): only
    // an abort is sent to it. A run settled before it was queued never will be (`lookUp` skips it): a cancel request
    // would only refuse the next submission of its id; nor is a run cancelled by a signal that had aborted already.
    const stop = (reason: unknown, cancelOnWorker: boolean): void => {
      for (const run of runs) {
        if (run.settled) continue
        const error = abortErrorFor(reason, { functionName: run.graph, state: 'running' })
        const outcome: RunOutcome<never> = { status: 'rejected', runId: run.runId, error }
        this.settle(run, outcome)
        if (cancelOnWorker && run.queued) {
          requestCancel(this.client, this.names, run.runId, error.message).catch(ignore)
        }
      }
    }
    if (signal?.aborted) {
      queueMicrotask(() => stop(signal.reason, false))
      return
    }
    // Core's one scope for cancellation: cancelled by the signal, or at the deadline however far ahead it lies (its
    // timer re-arms past the 2³¹−1 ms one timer can wait).
    let timedOut = false
    const scope = new CancelScope(undefined, {
      signal,
      deadline,
      timeoutReason: () => {
        timedOut = true
        return new TimeoutError({
          timeoutMs: 0,
          kind: 'total',
          functionName: runs[0]?.graph,
          state: 'running',
          detail: 'the run passed its deadline before a worker finished it',
        })
      },
    })
    const scopeSignal = scope.signal
    const onCancel = (): void => stop(scopeSignal.reason, !timedOut)
    scopeSignal.addEventListener('abort', onCancel, { once: true })
    let unsettled = runs.length
    const release = (): void => {
      unsettled -= 1
      if (unsettled > 0) return
      scopeSignal.removeEventListener('abort', onCancel)
      scope.dispose()
    }
    for (const run of runs) run.cleanup = release
  }

  /**
   * Queues the runs: a run id whose job exists already is that run (a finished one answers at once), the others get
   * a job each.
   */
  private async enqueue(runs: ReadonlyArray<PendingRun>): Promise<void> {
    try {
      await this.listen()
      for (let start = 0; start < runs.length; start += submitChunk) {
        await this.lookUp(runs.slice(start, start + submitChunk), true)
      }
    } catch (error) {
      for (const run of runs) this.settle(run, rejected(run.runId, error, run.graph))
    }
  }

  // ---- waiting ---------------------------------------------------------------------------------------------------

  /** Starts listening to the queue's events, and polling for what they miss, once. */
  private listen(): Promise<QueueEvents> {
    this.events ??= (async () => {
      // Events from a moment before now on: a run that finishes while the listener starts is not missed.
      const [seconds, micros] = await this.client.time()
      if (this.closed) throw abortErrorFor('the executor is closed')
      const since = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1
      const events = new QueueEvents(this.names.queue, {
        connection: this.eventsClient,
        prefix: this.names.prefix,
        lastEventId: `${since}-0`,
      })
      this.queueEvents = events
      events.on('error', ignore)
      const onFinished = ({ jobId }: { jobId: string }): void => {
        const run = this.pending.get(jobId)
        if (run !== undefined) this.lookUp([run], false).catch(ignore)
      }
      events.on('completed', onFinished)
      events.on('failed', onFinished)
      await events.waitUntilReady()
      if (!this.closed) this.poller = setInterval(() => this.poll(), this.pollIntervalMs)
      return events
    })()
    return this.events
  }

  /** Looks up every awaited run: settles the finished ones, and submits again those whose job is gone. */
  private poll(): void {
    if (this.polling || this.pending.size === 0) return
    this.polling = true
    const runs = [...this.pending.values()]
    ;(async () => {
      for (let start = 0; start < runs.length; start += lookupChunk) {
        await this.lookUp(runs.slice(start, start + lookupChunk), false)
      }
    })()
      .catch(ignore)
      .finally(() => {
        this.polling = false
      })
  }

  /**
   * Reads the runs' jobs: a finished one settles its run; a missing one is queued (at submission, or again after it
   * was lost with Redis or removed). `submitted`: the lookup at submission, where a job that had already failed is
   * run again if `rerunFailed` says so.
   */
  private async lookUp(runs: ReadonlyArray<PendingRun>, submitted: boolean): Promise<void> {
    const pipeline = this.client.pipeline()
    // At submission, a job's data too: a run id another producer's unfinished run holds is refused now, not once that
    // run has finished, and this submission's signal never cancels that run.
    const fields = submitted ? ['name', 'finishedOn', 'data'] : ['name', 'finishedOn']
    for (const run of runs) pipeline.hmget(this.queue.toKey(run.runId), ...fields)
    const replies = (await pipeline.exec()) ?? []
    const finished: PendingRun[] = []
    const missing: PendingRun[] = []
    for (let index = 0; index < runs.length; index++) {
      const run = runs[index]!
      if (run.settled) continue
      const [error, value] = replies[index] ?? [null, null]
      if (error !== null) {
        // Redis answered about this run's job with an error (its key holds another program's value): asking again
        // would only repeat it.
        this.settle(run, rejected(run.runId, error, run.graph))
        continue
      }
      const [name, finishedOn, data] = value as [string | null, string | null, string | null | undefined]
      const conflict = finishedOn === null ? unfinishedConflict(run, data) : undefined
      if (conflict !== undefined) {
        this.settle(run, conflict)
        continue
      }
      run.queued = true
      if (name === null) missing.push(run)
      else if (finishedOn !== null) finished.push(run)
    }
    if (missing.length > 0) await this.add(missing)
    await Promise.all(finished.map((run) => this.read(run, submitted)))
  }

  /**
   * Adds the runs' jobs. An id added meanwhile by another producer keeps its job: BullMQ never duplicates a job id.
   * BullMQ writes every job's JSON before it sends any: one it cannot write fails the whole bulk, nothing added. Each
   * run is then added on its own, so that only a run whose job cannot be written fails — input that passed the check
   * at submission and that JSON no longer carries now (a getter that throws once its source is gone, nesting within a
   * few frames of the deepest JSON this runtime writes), a ValidationError, with nothing queued.
   */
  private async add(runs: ReadonlyArray<PendingRun>): Promise<void> {
    const jobOf = (run: PendingRun) => ({
      name: run.graph,
      data: run.data,
      opts: { ...this.jobOptions, jobId: run.runId },
    })
    try {
      await this.queue.addBulk(runs.map(jobOf))
      return
    } catch (error) {
      if (runs.length === 1) return this.refuseUnwritable(runs[0]!, error)
    }
    await Promise.all(
      runs.map((run) =>
        this.queue.addBulk([jobOf(run)]).then(undefined, (error: unknown) => this.refuseUnwritable(run, error)),
      ),
    )
  }

  /** Fails a run whose job BullMQ could not write with the ValidationError saying why; throws any other error. */
  private refuseUnwritable(run: PendingRun, error: unknown): void {
    const invalid = unwritableInput(run, error)
    if (invalid === undefined) throw error
    this.settle(run, rejected(run.runId, invalid, run.graph))
  }

  /** Settles a run from its finished job (or, with `rerunFailed` at submission, runs a failed one again). */
  private async read(run: PendingRun, submitted: boolean): Promise<void> {
    let job: Job<RunJobData, RunJobResult> | undefined
    try {
      job = await Job.fromId<RunJobData, RunJobResult>(this.queue, run.runId)
    } catch (error) {
      // Its key holds another program's value, or a field that is not JSON: reading it again would fail again.
      this.settle(run, rejected(run.runId, error, run.graph))
      return
    }
    if (job === undefined || run.settled) return
    if (
      submitted &&
      this.rerunFailed &&
      job.failedReason &&
      runJobDataProblem(job.data) === undefined &&
      runIdConflict(run.runId, job.data, run.graph, run.data) === undefined
    ) {
      // Run it again, unless another producer has just done so (it is no longer failed, or the retry finds it so):
      // either way the run is awaited as an unfinished one is, its job read again when it finishes.
      if ((await job.getState()) === 'failed') {
        await forgetCancel(this.client, this.names, run.runId)
        // It runs as this submission asks — its deadline, metadata, budget and context — not under the earlier one's
        // (a deadline that has passed would fail it again at once), and without the failure that stood.
        const updated = await job.updateData(run.data).then(
          () => true,
          () => false,
        )
        if (updated) await job.retry('failed').catch(ignore)
      }
      return
    }
    const outcome = outcomeOf(job, run.graph, run.data)
    if (outcome !== undefined) this.settle(run, outcome)
  }

  /** Settles `run`, and forgets it once it is the executor's own: a submission of its id after this one runs again. */
  private settle(run: AwaitedRun, outcome: RunOutcome<unknown>): void {
    if (run.settle(outcome) && this.pending.get(run.runId) === run) this.pending.delete(run.runId)
  }
}

/**
 * A finished job's outcome: its output, its typed error, or why it failed outside the run. `graph` is the graph it was
 * submitted for; `undefined` reads the job whatever its graph.
 */
function outcomeOf(
  job: Job<RunJobData, RunJobResult>,
  graph: string | undefined,
  submitted?: Submission,
): RunOutcome<unknown> | undefined {
  const runId = job.id as string
  // A job another program queued, or one whose data was changed in Redis, may hold anything.
  const problem = runJobDataProblem(job.data)
  if (problem !== undefined) {
    return { status: 'rejected', runId, error: new RunJobError({ runId, reason: problem, functionName: graph }) }
  }
  const conflict = graph === undefined ? undefined : runIdConflict(runId, job.data, graph, submitted)
  if (conflict !== undefined) return conflict
  if (job.failedReason) {
    const error =
      job.data.error === undefined
        ? new RunJobError({ runId, reason: job.failedReason, functionName: graph ?? job.data.graph })
        : TinyLLMError.fromJSON(job.data.error)
    return { status: 'rejected', runId, error }
  }
  if (!job.finishedOn) return undefined
  const result = job.returnvalue
  return {
    status: 'fulfilled',
    runId,
    value: result?.output,
    usage: result?.usage,
    replayedSteps: result?.replayedSteps ?? 0,
  }
}

/**
 * The outcome of a submission whose run id an unfinished job holds (`data`, its JSON) for another graph or input, as
 * {@link runIdConflict} gives it; `undefined` when there is no such job, or it is this run, or its data is no run's (a
 * reader refuses it once it has finished).
 */
function unfinishedConflict(run: PendingRun, data: string | null | undefined): RunOutcome<never> | undefined {
  if (typeof data !== 'string') return undefined
  let standing: unknown
  try {
    standing = JSON.parse(data)
  } catch {
    return undefined
  }
  if (runJobDataProblem(standing) !== undefined) return undefined
  return runIdConflict(run.runId, standing as RunJobData, run.graph, run.data)
}

/** What a submission asks for besides its graph: the graph's fingerprint, and the input. */
type Submission = Pick<RunJobData, 'fingerprint' | 'input'>

/**
 * The outcome of a submission whose run id already names another run, in Redis or awaited by this executor: a run of
 * another graph, or (when `submitted` is given) of another fingerprint of it, or given another input — whose answer
 * would be handed out for this input, as a journal never replays a step given another input. `undefined` when the run
 * is this one.
 */
function runIdConflict(
  runId: string,
  standing: Pick<RunJobData, 'graph' | 'fingerprint' | 'input'>,
  graph: string,
  submitted?: Submission,
): RunOutcome<never> | undefined {
  const sameGraph =
    standing.graph === graph && (submitted === undefined || standing.fingerprint === submitted.fingerprint)
  if (sameGraph && (submitted === undefined || sameJson(standing.input, submitted.input))) return undefined
  const reason = sameGraph
    ? `run id ${runId} already names a run of graph "${graph}" given another input; give this run an id of its own`
    : `run id ${runId} already names a run of graph "${standing.graph}" (fingerprint ${standing.fingerprint}), not of this "${graph}" (${submitted?.fingerprint}); give this run an id of its own`
  return rejected(runId, new RunJobError({ runId, reason, functionName: graph }), graph)
}

/**
 * Whether two JSON-safe values are the same JSON data, as a journal tells inputs apart: an object's keys are unordered
 * (a database that keeps JSON, PostgreSQL's jsonb say, hands them back in another order), and a key holding `undefined`,
 * which JSON leaves out, is not there. Walked with a stack of its own, so that no nesting JSON can carry overflows it.
 */
function sameJson(left: unknown, right: unknown): boolean {
  const work: Array<readonly [unknown, unknown]> = [[left, right]]
  for (let pair = work.pop(); pair !== undefined; pair = work.pop()) {
    const [one, other] = pair
    if (typeof one !== 'object' || one === null || typeof other !== 'object' || other === null) {
      if (one !== other) return false
      continue
    }
    if (Array.isArray(one) !== Array.isArray(other)) return false
    if (Array.isArray(one)) {
      const list = other as ReadonlyArray<unknown>
      if (one.length !== list.length) return false
      for (let index = 0; index < one.length; index++) work.push([one[index], list[index]])
      continue
    }
    const fields = one as Record<string, unknown>
    const others = other as Record<string, unknown>
    const keys = Object.keys(fields).filter((key) => fields[key] !== undefined)
    if (keys.length !== Object.keys(others).filter((key) => others[key] !== undefined).length) return false
    for (const key of keys) {
      if (!Object.hasOwn(others, key)) return false
      work.push([fields[key], others[key]])
    }
  }
  return true
}

/**
 * Why BullMQ could not write run `run`'s job, when it is its JSON: what travels (its input, or its metadata) no longer
 * passes the check it passed at submission, a ValidationError naming the path as `assertJsonSafe` does — or it nests
 * deeper than JSON is written this far down the stack, though not where it was checked. `undefined` when the error is
 * not about the job's JSON (Redis answered with an error, the executor was closed).
 */
function unwritableInput(run: PendingRun, error: unknown): ValidationError | undefined {
  const where = { functionName: run.graph, state: 'input_validation' }
  try {
    assertJsonSafe(run.data.input, where)
    if (run.data.metadata !== undefined) assertJsonSafe(run.data.metadata, where)
  } catch (invalid) {
    if (ValidationError.isInstance(invalid)) return invalid
  }
  // JSON's only RangeError on 1 MiB of checked JSON is running out of stack; Redis's errors are never one.
  if (!(error instanceof RangeError)) return undefined
  return new ValidationError({
    ...where,
    issues: [{ path: [], message: 'it nests deeper than JSON is written on this runtime' }],
    cause: error,
  })
}

function rejected(runId: string, error: unknown, functionName: string | undefined): RunOutcome<never> {
  if (TinyLLMError.isInstance(error)) return { status: 'rejected', runId, error }
  // The parser's message quotes the text's first characters, cut where a secret may be: said, not quoted.
  const reason = error instanceof SyntaxError ? notJsonProblem : error instanceof Error ? error.message : String(error)
  return { status: 'rejected', runId, error: new RunJobError({ runId, reason, functionName }) }
}

/**
 * Names of the queue's own keys beside its jobs' (`<prefix>:<queue>:<name>`): a job id must not be one of them. Nor
 * `cancelled`, under which cancel requests are kept (`<prefix>:<queue>:cancelled:<run id>`): the keys of job
 * `cancelled` (its lock, its logs) would be those of the cancel requests of runs `lock` and `logs`.
 */
const queueKeyNames: ReadonlySet<string> = new Set([
  'active',
  'wait',
  'waiting-children',
  'paused',
  'id',
  'delayed',
  'prioritized',
  'stalled-check',
  'completed',
  'failed',
  'stalled',
  'repeat',
  'limiter',
  'meta',
  'events',
  'pc',
  'marker',
  'de',
  'metrics',
  cancelledKeySegment,
])

/**
 * A run id a job can have: a non-empty string without `:` that is not an integer (BullMQ's rules for job ids), and
 * not the name of one of the queue's own keys.
 */
function checkRunId(runId: unknown, functionName: string): string {
  if (
    typeof runId === 'string' &&
    runId !== '' &&
    // As core takes a run id: at most 1,000 characters (a job key, and every log line of the run, carries it).
    runId.length <= 1_000 &&
    !runId.includes(':') &&
    `${Number.parseInt(runId, 10)}` !== runId &&
    !queueKeyNames.has(runId) &&
    runId.isWellFormed()
  )
    return runId
  throw optionError(
    'runId',
    `a non-empty string of at most 1,000 characters without ":" or a lone surrogate, not an integer and not one of the queue's own key names (${[...queueKeyNames].join(', ')})`,
    runId,
    functionName,
  )
}

/**
 * A copy of the options given to `invoke`, each read once (a getter cannot answer the checks one value and the run
 * another); options that are not an object, that hold a key `invoke` does not know, or whose reading throws (a getter,
 * a revoked Proxy), are a ConfigurationError naming them, as `invoke` in this process makes them.
 */
function readInvokeOptions(options: InvokeOptions, fn: Invocable<unknown, unknown>): InvokeOptions {
  let name = owner
  try {
    if (typeof (fn as Partial<SubmittedGraph> | null)?.name === 'string') name = (fn as SubmittedGraph).name
  } catch {
    // A graph whose name cannot be read is refused later (fingerprintOf); its options are named for the executor.
  }
  try {
    // Read as invoke in this process reads them: a misspelt key is refused, and a getter of a settings class counts
    // (a spread would drop it, and with it the run's signal or deadline). Asking whether a revoked Proxy is a list
    // throws, as reading it does.
    return checkRootOptions(options, name)
  } catch (error) {
    throw unreadableOption(error, 'options', name)
  }
}

/** Whether a list option is a list; one that cannot be asked (a revoked Proxy) is a ConfigurationError. */
function isList(value: unknown, option: string): boolean {
  try {
    return Array.isArray(value)
  } catch (error) {
    throw unreadableOption(error, option, owner)
  }
}

/**
 * The most runs one `map` submits: a longer list — a sparse one of 2³²−1 holes takes one line to make — would be copied
 * entry by entry for minutes, the process frozen, before anything is queued.
 */
const maxMapRuns = 1_000_000

/**
 * A copy of a list option, its length and each entry read once: one whose reading throws (a getter, a `Proxy`) is a
 * ConfigurationError, and so is one longer than {@link maxMapRuns}.
 */
function readList<Item>(list: ReadonlyArray<Item>, option: string): Item[] {
  let length: number
  try {
    length = Number(list.length)
  } catch (error) {
    throw unreadableOption(error, option, owner)
  }
  if (length > maxMapRuns) {
    throw new ConfigurationError({
      option,
      message: `${option} has ${length} entries, more than the ${maxMapRuns.toLocaleString('en-US')} runs one map submits; split the batch`,
      functionName: owner,
    })
  }
  try {
    return Array.from({ length }, (_, index) => list[index] as Item)
  } catch (error) {
    throw unreadableOption(error, option, owner)
  }
}

function runIdOrUnknown(runIdOf: (input: never, index: number) => string, input: unknown, index: number): string {
  try {
    return String((runIdOf as (input: unknown, index: number) => string)(input, index))
  } catch {
    return `#${index}`
  }
}

function ignore(): void {}
