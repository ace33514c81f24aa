import { getDefaultLogger, type Logger, toLogger } from '@tinyllm/logger'
import { AbortError, ConfigurationError, FunctionError, StepLimitError, TimeoutError, TinyLLMError } from './errors.js'
import { globalEventRegistry, type LifecycleEvent } from './events.js'
import type { FunctionNode } from './function-node.js'
import { functionLifecycle, type LifecycleState } from './lifecycle.js'
import { type ResolvedRetryPolicy, type RetryPolicy, resolveRetryPolicy, retryDelay, sleep } from './retry-policy.js'
import type { ChildInvokeOptions, Invocable, InvokeOptions, RunContext } from './run-context.js'
import type { RunRecord } from './run-record.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { addUsageTo, assertWithinBudget, type Budget, emptyUsageTotals, type Usage, type UsageTotals } from './usage.js'
import { validateWith } from './validator.js'

/** Options every Function accepts. Immutable once the Function is built. */
export interface FunctionOptions {
  /** Shown in errors, logs, events, run trees and graphs. */
  readonly name: string
  /** Validates (and may transform) the input before `run`. */
  readonly input?: StandardSchemaV1
  /** Validates (and may transform) what `run` returns. */
  readonly output?: StandardSchemaV1
  /** Validates what `processOutput` returns. */
  readonly processedOutput?: StandardSchemaV1
  /** Retry policy for `run`. Default: one attempt. */
  readonly retry?: RetryPolicy
  /** Limit on the whole run, retries included, in ms. */
  readonly timeoutMs?: number
  /** Limit on each attempt of `run`, in ms; an attempt that exceeds it fails with a retryable TimeoutError. */
  readonly attemptTimeoutMs?: number
}

const neverAborted: AbortSignal = new AbortController().signal

/**
 * Whether `signal` can ever abort. A run with no caller signal and no timeout gets a shared signal that never does;
 * code that hands signals to an SDK can skip it and spare the SDK the work of combining it with its own.
 */
export function isAbortable(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal !== undefined && signal !== neverAborted
}
/** Runs nested deeper than this fail with a StepLimitError: such a tree is a cycle in a graph, or endless recursion. */
const maxRunDepth = 1_000
/**
 * A child run starts its work synchronously inside its parent's `run`, so nesting grows the call stack; every this many
 * levels a run starts on a fresh stack instead, and no depth up to {@link maxRunDepth} can overflow it.
 */
const freshStackEvery = 64
const emptyMetadata: Readonly<Record<string, unknown>> = Object.freeze({})
const timeOrigin = performance.timeOrigin
const now = (): number => timeOrigin + performance.now()

let runCounter = 0
const runIdPrefix = Math.floor(Math.random() * 0xffffffff)
  .toString(36)
  .padStart(7, '0')

function checkTimeout(value: number | undefined, option: string, functionName: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError({
      option,
      message: `must be a finite number of ms > 0, got ${String(value)}`,
      functionName,
    })
  }
  return value
}

/**
 * The unit of every tinyllm graph. Subclass it and implement `run` (and optionally `processOutput`); call `invoke`.
 * Every run walks `init → input_validation → running → output_validation → processing_output → complete`, or ends in
 * `failed`; a retry shows as `running → retrying → running`. State belongs to the run: one instance serves any number
 * of concurrent runs.
 *
 * @example
 * class Greet extends Function<{ name: string }, string> {
 *   async run(input: { name: string }) { return `Hello, ${input.name}` }
 * }
 * await new Greet({ name: 'greet' }).invoke({ name: 'Ada' }) // 'Hello, Ada'
 */
export abstract class TinyFunction<Input = unknown, Output = unknown, Processed = Output, RunInput = Input>
  implements Invocable<Input, Processed>
{
  readonly name: string
  /** What kind of node this is in graphs and run trees. */
  readonly kind: string = 'function'
  readonly inputSchema: StandardSchemaV1 | undefined
  readonly outputSchema: StandardSchemaV1 | undefined
  readonly processedOutputSchema: StandardSchemaV1 | undefined
  readonly retry: ResolvedRetryPolicy
  readonly timeoutMs: number | undefined
  readonly attemptTimeoutMs: number | undefined
  /** Whether `processOutput` does anything; decided once, so runs skip the step otherwise. */
  protected hasProcessOutput: boolean

  constructor(options: FunctionOptions) {
    if (typeof options?.name !== 'string' || options.name.trim() === '') {
      throw new ConfigurationError({ option: 'name', message: 'a Function needs a non-empty name' })
    }
    this.name = options.name
    this.inputSchema = options.input
    this.outputSchema = options.output
    this.processedOutputSchema = options.processedOutput
    this.retry = resolveRetryPolicy(options.retry, options.name)
    this.timeoutMs = checkTimeout(options.timeoutMs, 'timeoutMs', options.name)
    this.attemptTimeoutMs = checkTimeout(options.attemptTimeoutMs, 'attemptTimeoutMs', options.name)
    this.hasProcessOutput = this.processOutput !== TinyFunction.prototype.processOutput
  }

  /** The work of one attempt. Receives the validated input; must honour `context.signal` for prompt cancellation. */
  abstract run(input: RunInput, context: RunContext): Promise<Output> | Output

  /** Turns a validated output into the run's final value. Default: the output itself. */
  processOutput(output: Output, _context: RunContext): Promise<Processed> | Processed {
    return output as unknown as Processed
  }

  /**
   * Runs the Function and resolves with its (processed) output, or rejects with a typed {@link TinyLLMError}.
   */
  invoke(input: Input, options?: InvokeOptions): Promise<Processed> {
    return new Run<Processed>(this as AnyFunction, input, options).execute()
  }

  /**
   * Runs the Function and resolves with its full {@link RunRecord} (state history, attempts, duration, output or
   * error, children) whether it succeeded or not. For debugging and for callers who want a settled result.
   */
  async trace(input: Input, options?: InvokeOptions): Promise<RunRecord<Processed>> {
    const run = new Run<Processed>(this as AnyFunction, input, options, true)
    try {
      await run.execute()
    } catch {
      // The failure is in the record: status, error and the state it happened in.
    }
    return run.record as RunRecord<Processed>
  }

  /** @internal read by the run engine. */
  get processesOutput(): boolean {
    return this.hasProcessOutput
  }

  /** This Function as a graph node. Combinators override it to describe their children. */
  describe(): FunctionNode {
    return { kind: this.kind, name: this.name }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: internal erasure of the user's generics; public types stay precise.
type AnyFunction = TinyFunction<any, any, any, any>

interface RunTree {
  readonly onEvent: ((event: LifecycleEvent) => void) | undefined
  readonly logger: Logger | undefined
  readonly budget: Budget | undefined
  readonly recording: boolean
  /** Budget held by calls in flight: checked against together with what was spent. */
  reserved: { tokens: number; costUsd: number } | undefined
}

const releaseNothing = (): void => {}

/** One execution of one Function: all the state of a run lives here, never on the Function. */
class Run<Output> implements RunContext {
  readonly fn: AnyFunction
  readonly input: unknown
  readonly parent: Run<unknown> | undefined
  /** The run at the top of this tree: its own usage is the whole tree's. */
  readonly root: Run<unknown>
  readonly tree: RunTree
  readonly metadata: Readonly<Record<string, unknown>>
  /** How many ancestors this run has. */
  readonly depth: number
  signal: AbortSignal
  deadline: number | undefined = undefined
  state: LifecycleState = 'init'
  attempt = 0
  record: RunRecord<Output> | undefined = undefined
  private id: string | undefined = undefined
  private boundLogger: Logger | undefined = undefined
  private controller: AbortController | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private unlink: (() => void) | undefined = undefined
  private ownUsage: UsageTotals | undefined = undefined

  constructor(fn: AnyFunction, input: unknown, options: InvokeOptions | undefined, recording = false) {
    this.fn = fn
    this.input = input
    const parent = options?.parent as Run<unknown> | undefined
    this.parent = parent
    this.root = parent === undefined ? (this as Run<unknown>) : parent.root
    this.depth = parent === undefined ? 0 : parent.depth + 1
    if (parent !== undefined) {
      this.tree = parent.tree
      this.metadata = options?.metadata === undefined ? parent.metadata : { ...parent.metadata, ...options.metadata }
    } else {
      this.tree = {
        onEvent: options?.onEvent,
        logger: options?.logger === undefined ? undefined : toLogger(options.logger),
        budget: options?.budget,
        recording,
        reserved: undefined,
      }
      this.metadata = options?.metadata ?? emptyMetadata
    }
    this.signal = this.setUpSignal(parent?.signal ?? neverAborted, options?.signal, options?.timeoutMs ?? fn.timeoutMs)
    if (this.tree.recording) this.startRecord()
  }

  // ---- RunContext ----------------------------------------------------------------------------------------------

  get runId(): string {
    if (this.id === undefined) {
      runCounter += 1
      this.id = `${runIdPrefix}-${runCounter.toString(36)}`
    }
    return this.id
  }

  get parentRunId(): string | undefined {
    return this.parent?.runId
  }

  get functionName(): string {
    return this.fn.name
  }

  get logger(): Logger {
    if (this.boundLogger === undefined) {
      const base = this.tree.logger ?? getDefaultLogger()
      this.boundLogger = base.child({ runId: this.runId, function: this.fn.name })
    }
    return this.boundLogger
  }

  get budget(): Budget | undefined {
    return this.tree.budget
  }

  get treeUsage(): Readonly<UsageTotals> {
    return this.root.ownUsage ?? emptyUsageTotals()
  }

  invoke<Input, ChildOutput>(
    fn: Invocable<Input, ChildOutput>,
    input: Input,
    options?: ChildInvokeOptions,
  ): Promise<ChildOutput> {
    if (options === undefined) return fn.invoke(input, { parent: this })
    return fn.invoke(input, { ...options, parent: this })
  }

  addUsage(usage: Usage, costUsd: number | undefined): void {
    // Every ancestor up to the root: the root's own usage is the tree's total.
    for (let run: Run<unknown> | undefined = this as Run<unknown>; run !== undefined; run = run.parent) {
      if (run.ownUsage === undefined) run.ownUsage = emptyUsageTotals()
      addUsageTo(run.ownUsage, usage, costUsd)
      if (run.record !== undefined) run.record.usage = run.ownUsage
    }
  }

  reserveBudget(request: { readonly tokens: number; readonly costUsd?: number | undefined }): () => void {
    const tree = this.tree
    if (tree.budget === undefined) return releaseNothing
    const spent = this.treeUsage
    if (tree.reserved === undefined) tree.reserved = { tokens: 0, costUsd: 0 }
    const reserved = tree.reserved
    const committed = {
      ...spent,
      totalTokens: spent.totalTokens + reserved.tokens,
      costUsd: spent.costUsd + reserved.costUsd,
    }
    // Check and reserve in one synchronous step, so concurrent calls of one tree cannot overshoot together.
    assertWithinBudget(tree.budget, committed, request, this.fn.name)
    const tokens = request.tokens
    const costUsd = request.costUsd ?? 0
    reserved.tokens += tokens
    reserved.costUsd += costUsd
    let released = false
    return () => {
      if (released) return
      released = true
      reserved.tokens -= tokens
      reserved.costUsd -= costUsd
    }
  }

  annotate(key: string, value: unknown): void {
    if (this.record !== undefined) this.record.annotations[key] = value
  }

  // ---- the lifecycle -------------------------------------------------------------------------------------------

  async execute(): Promise<Output> {
    const fn = this.fn
    try {
      if (this.signal.aborted) throw this.abortError()
      if (this.depth >= freshStackEvery) {
        if (this.depth > maxRunDepth) {
          throw new StepLimitError({ limit: maxRunDepth, what: 'nested runs', functionName: fn.name, state: 'init' })
        }
        if (this.depth % freshStackEvery === 0) await undefined
      }
      this.to('input_validation')
      const input =
        fn.inputSchema === undefined
          ? this.input
          : await validateWith(fn.inputSchema, this.input, fn.name, 'input_validation')
      // The retry loop lives here rather than in a helper: one suspended async frame per run instead of two.
      const policy = fn.retry
      let value: unknown
      for (;;) {
        this.attempt += 1
        this.to('running')
        try {
          value =
            fn.attemptTimeoutMs === undefined
              ? await this.guard(fn.run(input, this))
              : await this.runAttemptWithTimeout(input, fn.attemptTimeoutMs)
          break
        } catch (thrown) {
          if (this.signal.aborted) throw this.abortError()
          const error = this.toError(thrown)
          if (this.attempt >= policy.attempts || !policy.retryable(error, this.attempt)) throw error
          this.to('retrying', error)
          await sleep(retryDelay(policy, this.attempt, error), this.signal).catch(() => {
            throw this.abortError()
          })
        }
      }
      this.to('output_validation')
      if (fn.outputSchema !== undefined)
        value = await validateWith(fn.outputSchema, value, fn.name, 'output_validation')
      this.to('processing_output')
      if (fn.processesOutput) {
        value = await this.guard(fn.processOutput(value, this))
        if (fn.processedOutputSchema !== undefined) {
          value = await validateWith(fn.processedOutputSchema, value, fn.name, 'processing_output')
        }
      }
      this.to('complete', undefined, value)
      return value as Output
    } catch (thrown) {
      const error = this.toError(thrown)
      this.to('failed', error)
      throw error
    } finally {
      if (this.controller !== undefined) this.releaseSignal()
    }
  }

  private async runAttemptWithTimeout(input: unknown, timeoutMs: number): Promise<unknown> {
    const runSignal = this.signal
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(runSignal.reason)
    runSignal.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => {
      controller.abort(new TimeoutError({ timeoutMs, kind: 'attempt', functionName: this.fn.name, state: 'running' }))
    }, timeoutMs)
    this.signal = controller.signal
    try {
      return await this.guard(this.fn.run(input, this))
    } catch (thrown) {
      // An attempt that ran out of time fails with that (retryable) timeout, not with whatever the work threw.
      if (!runSignal.aborted && controller.signal.aborted) throw controller.signal.reason
      throw thrown
    } finally {
      clearTimeout(timer)
      runSignal.removeEventListener('abort', onAbort)
      this.signal = runSignal
    }
  }

  /** Settles with `work`, or rejects as soon as the run's signal aborts, whichever comes first. */
  private guard<T>(work: Promise<T> | T): Promise<T> | T {
    const signal = this.signal
    if (signal === neverAborted || !(work instanceof Promise)) return work
    if (signal.aborted) {
      work.catch(() => {})
      return Promise.reject(signal.reason)
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      work.then(
        (value) => {
          signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      )
    })
  }

  private to(state: LifecycleState, error?: TinyLLMError, output?: unknown): void {
    const from = this.state
    functionLifecycle.assertTransition(from, state)
    this.state = state
    const record = this.record
    if (record !== undefined) this.recordTransition(record, state, error, output)
    const onEvent = this.tree.onEvent
    if (onEvent !== undefined || globalEventRegistry.listeners.length !== 0) this.emit(onEvent, from, state, error)
  }

  private emit(
    onEvent: ((event: LifecycleEvent) => void) | undefined,
    from: LifecycleState,
    to: LifecycleState,
    error: TinyLLMError | undefined,
  ): void {
    const base = {
      runId: this.runId,
      parentRunId: this.parentRunId,
      function: this.fn.name,
      from,
      to,
      at: now(),
      attempt: this.attempt,
    }
    const event: LifecycleEvent = error === undefined ? base : { ...base, error }
    if (onEvent !== undefined) this.deliver(onEvent, event)
    for (const listener of globalEventRegistry.listeners) this.deliver(listener, event)
  }

  private deliver(listener: (event: LifecycleEvent) => void, event: LifecycleEvent): void {
    try {
      listener(event)
    } catch (listenerError) {
      this.logger.error('lifecycle listener threw; the run goes on', {
        error: listenerError,
        event: `${event.from}→${event.to}`,
      })
    }
  }

  // ---- records -------------------------------------------------------------------------------------------------

  private startRecord(): void {
    const record: RunRecord<Output> = {
      runId: this.runId,
      parentRunId: this.parentRunId,
      function: this.fn.name,
      kind: this.fn.kind,
      status: 'running',
      states: [{ state: 'init', at: now(), attempt: 0 }],
      attempts: 0,
      startedAt: now(),
      endedAt: undefined,
      durationMs: undefined,
      annotations: {},
      children: [],
    }
    this.record = record
    this.parent?.record?.children.push(record as RunRecord<unknown>)
  }

  private recordTransition(
    record: RunRecord<Output>,
    state: LifecycleState,
    error: TinyLLMError | undefined,
    output: unknown,
  ): void {
    const at = now()
    record.states.push(
      error === undefined ? { state, at, attempt: this.attempt } : { state, at, attempt: this.attempt, error },
    )
    record.attempts = this.attempt
    if (state === 'complete' || state === 'failed') {
      record.status = state
      record.endedAt = at
      record.durationMs = at - record.startedAt
      if (state === 'complete') record.output = output as Output
      if (error !== undefined) record.error = error
    }
  }

  // ---- signals and errors --------------------------------------------------------------------------------------

  private setUpSignal(
    inherited: AbortSignal,
    extra: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): AbortSignal {
    const sources = extra === undefined || extra === inherited ? undefined : extra
    if (timeoutMs === undefined && (sources === undefined || inherited === neverAborted)) return sources ?? inherited
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs', this.fn.name)
    const controller = new AbortController()
    this.controller = controller
    const onAbort = function (this: AbortSignal): void {
      controller.abort(this.reason)
    }
    const linked: AbortSignal[] = []
    for (const source of sources === undefined ? [inherited] : [inherited, extra as AbortSignal]) {
      if (source === neverAborted) continue
      if (source.aborted) {
        controller.abort(source.reason)
        break
      }
      source.addEventListener('abort', onAbort, { once: true })
      linked.push(source)
    }
    if (linked.length !== 0) {
      this.unlink = () => {
        for (const source of linked) source.removeEventListener('abort', onAbort)
      }
    }
    if (timeoutMs !== undefined && !controller.signal.aborted) {
      this.deadline = Date.now() + timeoutMs
      this.timer = setTimeout(() => {
        controller.abort(new TimeoutError({ timeoutMs, kind: 'total', functionName: this.fn.name, state: this.state }))
      }, timeoutMs)
    }
    return controller.signal
  }

  private releaseSignal(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.unlink !== undefined) this.unlink()
    this.timer = undefined
    this.unlink = undefined
  }

  private abortError(): TinyLLMError {
    const reason = this.signal.reason
    if (TimeoutError.isInstance(reason) || AbortError.isInstance(reason)) return reason
    return new AbortError({ reason, functionName: this.fn.name, state: this.state })
  }

  private toError(thrown: unknown): TinyLLMError {
    if (TinyLLMError.isInstance(thrown)) return thrown
    if (this.signal.aborted) return this.abortError()
    return new FunctionError({ functionName: this.fn.name, state: this.state, cause: thrown })
  }
}
