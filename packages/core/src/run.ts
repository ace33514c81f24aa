import type { AsyncLocalStorage } from 'node:async_hooks'
import {
  createRedactBudget,
  getDefaultLogger,
  type Logger,
  type RedactBudget,
  redact,
  redactAndCut,
  redactWithin,
  toLogger,
} from '@tinyllm/logger'
import { CancelScope, type CancelScopeOptions, isPromiseLike } from './cancellation.js'
import {
  abortErrorFor,
  ConfigurationError,
  describeThrown,
  FunctionError,
  isAbortSignal,
  NonDeterminismError,
  StepLimitError,
  safeStringify,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from './errors.js'
import {
  globalEventRegistry,
  type LifecycleEvent,
  type LifecycleListener,
  listenersOf,
  type Subscriber,
  stillSubscribed,
} from './events.js'
import { Function } from './function.js'
import {
  assertJsonSafe,
  hashJson,
  isStackOverflow,
  type JournalEntry,
  keptJournalEntry,
  type StepJournal,
} from './journal.js'
import { functionLifecycle, type LifecycleState } from './lifecycle.js'
import {
  checkNumber,
  checkOptionKeys,
  checkOptionsObject,
  checkTimeout,
  optionError,
  unreadableOption,
} from './options.js'
import { decideRetry } from './retry-policy.js'
import {
  type ChildInvokeOptions,
  type Invocable,
  type InvokeOptions,
  partNotHandedOut,
  type RunContext,
  type RunExecutor,
  type StreamListener,
} from './run-context.js'
import type { RunRecord, RunStateEntry } from './run-record.js'
import {
  addUsageTo,
  type Budget,
  checkBudget,
  checkUsage,
  emptyUsageTotals,
  type Usage,
  UsageLedger,
  type UsageTotals,
} from './usage.js'

// biome-ignore lint/suspicious/noExplicitAny: internal erasure of the user's generics; public types stay precise.
type AnyFunction = Function<any, any, any, any>

/** Runs nested deeper than this fail with a StepLimitError: such a tree is a cycle in a graph, or endless recursion. */
const maxRunDepth = 1_000
/**
 * A child run starts its work synchronously inside its parent's `run`, so nesting grows the call stack; every this many
 * levels a run starts on a fresh stack instead, and no depth up to {@link maxRunDepth} can overflow it.
 */
const freshStackEvery = 64
/** The largest JSON of a durable step's input, of which a journal keeps the digest only. */
const maxDigestedInputBytes = 16 * 1024 * 1024
/** Runs of one tree in progress at once, by default; past it a graph is taken to be fanning out into itself. */
const defaultMaxConcurrentRuns = 100_000
const emptyMetadata: Readonly<Record<string, unknown>> = Object.freeze({})

/**
 * The `metadata` option, read once when the run starts (a copy: changing the object given afterwards changes no run),
 * or `undefined` when none was given. What has no properties to merge (a Map, a Set, a list, a String object) is a
 * ConfigurationError, as one whose reading throws (a getter, a Proxy) is.
 */
function givenMetadata(metadata: unknown, owner: string): Readonly<Record<string, unknown>> | undefined {
  if (metadata === undefined) return undefined
  checkOptionsObject(metadata, 'metadata', owner)
  try {
    return { ...metadata }
  } catch (cause) {
    throw unreadableOption(cause, 'metadata', owner)
  }
}
/** The scope of every run that nothing can cancel: it holds no state, so they all share it. */
const uncancellable = new CancelScope(undefined)
// The origin is read once (the getter computes it on every read); `now` is called bound, which skips the receiver check.
const timeOrigin = performance.timeOrigin
const performanceNow = performance.now.bind(performance)
const now = (): number => timeOrigin + performanceNow()
const rootOnlyOptions = ['logger', 'onEvent', 'budget', 'maxConcurrentRuns', 'runId', 'journal', 'executor'] as const
const invokeOptionKeys: ReadonlySet<string> = new Set([
  ...rootOnlyOptions,
  'signal',
  'timeoutMs',
  'metadata',
  'stream',
  'key',
  'deadline',
  'parent',
] satisfies ReadonlyArray<keyof InvokeOptions>)

let runCounter = 0
/** How many lifecycle listeners are being handed an event right now (nested when one invokes a Function). */
let listenersHearing = 0
/**
 * What the ids of roots given no `runId` start with: drawn once per process from the runtime's secure random source,
 * 122 bits, so that no other process starts its ids alike — a journal on disk, and the idempotency keys made of these
 * ids, outlive the process, and a run of another process must not replay this one's steps. (32 bits of `Math.random`
 * were shared by two processes in 65,536 at even odds, and by any two whose `Math.random` was seeded alike.)
 */
const runIdPrefix: string =
  globalThis.crypto?.randomUUID?.().replaceAll('-', '') ??
  Array.from({ length: 4 }, () => Math.floor(Math.random() * 0xffffffff).toString(36)).join('')

/**
 * The context of the attempt (or `processOutput`) whose code is executing, where the runtime has async context
 * (`AsyncLocalStorage` in Node, Bun and Deno): a Function invoked there without a context joins that run's tree, as
 * part of that attempt.
 */
const runStorage: AsyncLocalStorage<StepContext> | undefined = (() => {
  try {
    const hooks = globalThis.process?.getBuiltinModule?.('node:async_hooks')
    return hooks === undefined ? undefined : new hooks.AsyncLocalStorage<StepContext>()
  } catch {
    return undefined
  }
})()

/**
 * The attempt whose code is executing, if its run has not ended: what a Function invoked there without a parent joins.
 * A listener hearing an event is no run's code.
 */
function currentStep(): StepContext | undefined {
  if (listenersHearing !== 0) return undefined
  const current = runStorage?.getStore()
  return current === undefined || current.run.state === 'complete' || current.run.state === 'failed'
    ? undefined
    : current
}

/**
 * The cancellation of the code executing when its run has ended and the code was cancelled with it (its run failed or
 * timed out while it ignored its signal): a Function it invokes joins no tree, but is cancelled all the same.
 */
function cancelledLeftover(): CancelScope | undefined {
  if (listenersHearing !== 0) return undefined
  const scope = runStorage?.getStore()?.cancelScope
  return scope?.cancelled === true ? scope : undefined
}

/** Calls the Function's code with `context` as the current run of async context, where the runtime has one. */
function callInContext(
  call: (fn: AnyFunction, value: unknown, context: StepContext) => unknown,
  fn: AnyFunction,
  value: unknown,
  context: StepContext,
): unknown {
  return runStorage === undefined ? call(fn, value, context) : runStorage.run(context, call, fn, value, context)
}

function callRun(fn: AnyFunction, input: unknown, context: StepContext): unknown {
  return fn.run(input, context)
}

function callProcessOutput(fn: AnyFunction, output: unknown, context: StepContext): unknown {
  return fn.processOutput(output, context)
}

/** What every run of one tree shares. */
interface RunTree {
  readonly onEvent: LifecycleListener | undefined
  /** The process-wide subscriptions that hear this tree, chosen when its root started, and their listeners. */
  subscribers: readonly Subscriber[]
  listeners: readonly LifecycleListener[]
  /** The registry's count of ended subscriptions when `listeners` was last checked against it. */
  unsubscribed: number
  readonly logger: Logger | undefined
  readonly ledger: UsageLedger
  readonly journal: StepJournal | undefined
  /**
   * The durable steps this tree ran and journaled (or replayed), by key, with the runs that counted its usage last (the
   * step's run and its ancestors, held weakly): replayed in it again (a retried ancestor), paid once.
   */
  journaled: Map<string, WeakSet<Run>> | undefined
  /**
   * The journal writes of this tree still in flight, by key, settled (never rejected) when the write is: a retried
   * ancestor that runs the step again waits for it, and replays what it wrote rather than paying for the step twice.
   */
  writing: Map<string, Promise<unknown>> | undefined
  readonly maxConcurrentRuns: number
  /** Runs started and not yet ended. */
  live: number
}

/**
 * Starts a run of `fn` and settles with its output — or, `recording`, with its record whatever happened. Never throws:
 * bad options are a rejected ConfigurationError.
 */
export function startRun(
  fn: AnyFunction,
  input: unknown,
  options: InvokeOptions | undefined,
  recording: boolean,
): Promise<unknown> {
  // A detached method (`const { invoke } = fn`), or one called on what is no Function (`fn.invoke.call(other)`, a
  // revoked Proxy), has no Function to run: refused, never a TypeError thrown, or blamed on a run that never was.
  if (!isFunction(fn))
    return Promise.reject(
      new ConfigurationError({
        option: 'this',
        message:
          'invoke and trace must be called on a Function (fn.invoke(input)), not detached from it or on another object',
      }),
    )
  let run: Run
  try {
    // Options `context.invoke` read are not read again.
    if (options !== undefined && !(options instanceof ReadOptions)) options = checkInvokeOptions(options, fn.name)
    const executor = options?.executor
    if (executor !== undefined) {
      if (recording)
        throw new ConfigurationError({
          option: 'executor',
          message: 'trace runs in this process only; use invoke with an executor',
          functionName: fn.name,
        })
      if (typeof executor?.invoke !== 'function')
        throw optionError('executor', 'a RunExecutor (with invoke)', executor, fn.name)
      // Checked before they are merged with the caller's: a bad one is refused, not replaced by the caller's.
      checkCancellation(options, fn.name)
      // The executor is handed the options given, without itself: every option read has a field, given or not.
      const rest: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(options as InvokeOptions))
        if (value !== undefined && key !== 'executor') rest[key] = value
      return handOverWithCaller(executor, fn, input, rest as InvokeOptions)
    }
    if (shapeKeepers === undefined) keepShapes()
    run = new Run(fn, input, options, recording)
  } catch (error) {
    // Options whose reading throws (a getter, a Proxy) are bad options too.
    return Promise.reject(unreadableOption(error, 'options', fn.name))
  }
  if (!recording) return run.execute()
  const record = (): RunRecord => run.record as RunRecord
  return run.execute().then(record, record)
}

/**
 * Hands a run to an executor; from inside another run's code (joined through async context, as a plain `invoke` would
 * be), the caller's cancellation and deadline go with it, beside its own: its signal is linked to the caller's by a
 * scope, as every cancellation is (so any signal `invoke` takes will do), until it settles. Another process cannot join
 * the caller's tree, so nothing else does.
 */
function handOverWithCaller(
  executor: RunExecutor,
  fn: AnyFunction,
  input: unknown,
  options: InvokeOptions,
): Promise<unknown> {
  // The caller is the run `context.invoke` (or `parent`) names, else the one joined through async context; another
  // process cannot join it, so `parent` itself does not go along.
  const { parent, ...handed } = options
  const caller = parent === undefined ? currentStep() : parent instanceof StepContext ? parent : undefined
  if (parent !== undefined && parent !== null && caller === undefined) throw parentError(parent, fn.name)
  options = parent === null ? options : handed
  if (caller === undefined || !caller.cancelScope.cancellable) return handOver(executor, fn, input, options)
  const scope =
    options.signal === undefined ? undefined : linkedScope(caller.cancelScope, { signal: options.signal }, fn.name)
  const signal = scope === undefined ? caller.signal : scope.signal
  const deadline =
    caller.deadline === undefined || (options.deadline !== undefined && options.deadline <= caller.deadline)
      ? options.deadline
      : caller.deadline
  const settled = handOver(
    executor,
    fn,
    input,
    deadline === undefined ? { ...options, signal } : { ...options, signal, deadline },
  )
  return scope === undefined ? settled : settled.finally(() => scope.dispose())
}

/**
 * Hands a run to an executor — or, without one, to the Invocable itself (`context.invoke`) — and settles as it does.
 * Never throws: what its `invoke` throws is the rejection — a tinyllm error as it is, anything else a FunctionError
 * saying the executor (or the Invocable) threw it; what an executor rejects with is typed the same way.
 */
function handOver(
  executor: RunExecutor | undefined,
  fn: Invocable<unknown, unknown>,
  input: unknown,
  options: InvokeOptions,
): Promise<unknown> {
  const typed = (error: unknown): TinyLLMError =>
    typedThrow(error, fn.name, executor === undefined ? 'invoke' : 'executor')
  try {
    if (executor === undefined) return Promise.resolve(fn.invoke(input, options))
    // An executor's rejection is typed as its throw is: it is another program's code, as a Function's run is.
    return Promise.resolve(executor.invoke(fn as AnyFunction, input, options)).then(undefined, (error: unknown) => {
      throw typed(error)
    })
  } catch (error) {
    return Promise.reject(typed(error))
  }
}

/** What another program's code threw or rejected with, as a tinyllm error: one as it is, anything else a FunctionError. */
function typedThrow(error: unknown, functionName: string, state: string): TinyLLMError {
  return TinyLLMError.isInstance(error) ? error : new FunctionError({ functionName, state, cause: error })
}

/**
 * The time a run has in all, from its `timeoutMs` and its `deadline`, whichever ends first: a deadline that has passed
 * is a limit of 0, so the run fails before any of its work starts.
 */
function totalLimitMs(timeoutMs: number | undefined, deadline: number | undefined): number | undefined {
  if (deadline === undefined) return timeoutMs
  return Math.min(timeoutMs ?? Number.POSITIVE_INFINITY, Math.max(0, deadline - Date.now()))
}

/**
 * Hands a run to an Invocable that is no Function (an object with an `invoke` of its own) and settles as it does, or
 * rejects as a Function would when its limits pass first — its `timeoutMs` or `deadline` (a TimeoutError; nothing is
 * started past the deadline), its `signal` or the cancellation of the run invoking it (an AbortError): such an `invoke`
 * may ignore the limits it is handed, and the run waiting for it would wait for ever.
 */
function invokeInvocable(
  fn: Invocable<unknown, unknown>,
  input: unknown,
  options: InvokeOptions,
  parent: CancelScope,
): Promise<unknown> {
  const { timeoutMs, deadline, signal } = options
  const limit = totalLimitMs(timeoutMs, deadline)
  const where = { functionName: fn.name, state: 'invoke' }
  let scope: CancelScope
  try {
    scope = linkedScope(
      parent === uncancellable ? undefined : parent,
      {
        signal,
        timeoutMs,
        deadline,
        timeoutReason:
          limit === undefined ? undefined : () => new TimeoutError({ timeoutMs: limit, kind: 'total', ...where }),
      },
      fn.name,
    )
  } catch (error) {
    return Promise.reject(error)
  }
  try {
    scope.throwIfCancelled()
  } catch (reason) {
    return Promise.reject(abortErrorFor(reason, where))
  }
  return scope
    .race(handOver(undefined, fn, input, options))
    .catch((error: unknown) => {
      if (scope.cancelled && error === scope.reason) throw abortErrorFor(error, where)
      // What its `invoke` rejects with is typed as what it throws is: a string or `undefined` is no error to read.
      throw typedThrow(error, where.functionName, 'invoke')
    })
    .finally(() => scope.dispose())
}

/**
 * What a Function's code receives as its RunContext: its run as one attempt (or `processOutput`) sees it. The attempt's
 * number, cancellation and step keys stay with it, so code an attempt left running after it ended (it timed out, say)
 * cannot slip into the next one: a Function it invokes then is cancelled with its attempt, and takes no step key of the
 * next attempt.
 */
class StepContext implements RunContext {
  readonly run: Run
  readonly attempt: number
  readonly cancelScope: CancelScope
  /** What `invoke` passes a child invoked without options: made once. */
  private childOptions: InvokeOptions | undefined = undefined
  /** What `stream` hands this attempt's code, once asked. */
  private streamPart: StreamListener | undefined = undefined
  /** How many children of each name were invoked without a key: their `name#n` keys. */
  private callCounts: Map<string, number> | undefined = undefined
  /** The keys children were given explicitly: no second child of the attempt may take one. */
  private givenKeys: Set<string> | undefined = undefined
  private boundInvoke: RunContext['invoke'] | undefined = undefined
  private bound: Pick<RunContext, 'addUsage' | 'reserveBudget' | 'annotate'> | undefined = undefined

  constructor(run: Run, attempt: number, cancelScope: CancelScope) {
    this.run = run
    this.attempt = attempt
    this.cancelScope = cancelScope
  }

  get runId(): string {
    return this.run.runId
  }

  get parentRunId(): string | undefined {
    return this.run.parentRunId
  }

  get stepPath(): string {
    return this.run.stepPath
  }

  get idempotencyKey(): string {
    return this.run.idempotencyKey
  }

  get functionName(): string {
    return this.run.fn.name
  }

  get signal(): AbortSignal {
    return this.cancelScope.signal
  }

  get deadline(): number | undefined {
    return this.cancelScope.deadline
  }

  get logger(): Logger {
    return this.run.logger
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.run.metadata
  }

  get budget(): Budget | undefined {
    return this.run.tree.ledger.budget
  }

  get treeUsage(): Readonly<UsageTotals> {
    // A copy: the ledger's own totals are what the budget is checked against.
    return Object.freeze({ ...this.run.tree.ledger.spent })
  }

  /** The run's stream as this attempt streams to it: parts of an attempt that ended (failed, or the run did) are dropped. */
  get stream(): StreamListener | undefined {
    const stream = this.run.stream
    if (stream === undefined) return undefined
    const run = this.run
    // Answers whether the part was handed out, so a parent that forwards it to its own reader answers as that does.
    this.streamPart ??= (part) =>
      this.cancelScope.cancelled || run.state === 'complete' || run.state === 'failed'
        ? partNotHandedOut
        : (stream(part) as unknown)
    return this.streamPart
  }

  /** Bound on first use, once per context: `const { invoke } = context` works as `context.invoke` does. */
  get invoke(): RunContext['invoke'] {
    this.boundInvoke ??= this.invokeChild.bind(this) as RunContext['invoke']
    return this.boundInvoke
  }

  private invokeChild<Input, Output>(
    fn: Invocable<Input, Output>,
    input: Input,
    options?: ChildInvokeOptions,
  ): Promise<Output> {
    let owner = this.run.fn.name
    let childOptions: InvokeOptions
    try {
      if (typeof fn?.invoke !== 'function') throw optionError('fn', 'a Function (with invoke)', fn, owner)
      owner = fn.name
    } catch (error) {
      // An fn that cannot be read (a revoked Proxy) is a bad fn, named as such: never a retryable failure of the run.
      return Promise.reject(unreadableOption(error, 'fn', owner))
    }
    try {
      // Frozen: shared by every child invoked without options, none of them can hand the others an option of its own.
      if (options === undefined)
        childOptions = this.childOptions ??= Object.freeze(new ReadOptions({ parent: this })) as InvokeOptions
      else {
        // Read once, here: the child's `invoke` takes them as they are.
        childOptions = checkInvokeOptions(options, owner)
        // `context.invoke` makes the child part of this run: a `parent` of another kind (from plain JavaScript) is refused.
        if (childOptions.parent !== undefined)
          throw new ConfigurationError({
            option: 'parent',
            message: `parent cannot be given to context.invoke, whose child is part of this run; call ${owner}.invoke(input, { parent: null }) to start a tree of its own`,
            functionName: owner,
          })
        ;(childOptions as { parent: StepContext }).parent = this
      }
    } catch (error) {
      // Refused as `invoke` refuses bad options (one whose reading throws: a getter, a Proxy): rejected, never thrown.
      return Promise.reject(unreadableOption(error, 'options', owner))
    }
    // Code of an attempt that was cancelled (it timed out, failed, or its run did) starts nothing more: not even what is
    // no Function and would ignore the cancelled signal it is handed. It is told what ended its attempt.
    const scope = this.cancelScope
    if (scope.cancelled) return Promise.reject(abortErrorFor(scope.reason, { functionName: owner, state: 'init' }))
    if (isFunction(fn)) return handOver(undefined, fn, input, childOptions) as Promise<Output>
    return invokeInvocable(fn, input, childOptions, scope) as Promise<Output>
  }

  // Bound on first use, as `invoke` is: a method taken off the context works as one called on it.
  get addUsage(): RunContext['addUsage'] {
    this.bound ??= bindMethods(this)
    return this.bound.addUsage
  }

  get reserveBudget(): RunContext['reserveBudget'] {
    this.bound ??= bindMethods(this)
    return this.bound.reserveBudget
  }

  get annotate(): RunContext['annotate'] {
    this.bound ??= bindMethods(this)
    return this.bound.annotate
  }

  /**
   * The context of the code that continues this attempt (`processOutput`): the children it invokes without a key count
   * on from this attempt's, so no two children of one run share a key.
   */
  continued(cancelScope: CancelScope): StepContext {
    const next = new StepContext(this.run, this.attempt, cancelScope)
    next.callCounts = this.callCounts ??= new Map()
    next.givenKeys = this.givenKeys ??= new Set()
    return next
  }

  /**
   * A key given to a child (escaped), refused when another child of this attempt was given it: the two would be one
   * run id in records and events, and one journal entry, so the second would replay the first's output.
   */
  claimKey(key: string, functionName: string): string {
    this.givenKeys ??= new Set()
    if (this.givenKeys.has(key))
      throw new ConfigurationError({
        option: 'key',
        message: `key ${safeStringify(key, 200)} was given to another step of this run of "${this.run.fn.name}" (attempt ${this.attempt}); two steps would share one run id and one journal entry, so give each its own key`,
        functionName,
      })
    this.givenKeys.add(key)
    return key
  }

  /** The key of the next child invoked without one: `<name>#<n>`. */
  nextKey(name: string): string {
    if (this.callCounts === undefined) this.callCounts = new Map()
    const count = (this.callCounts.get(name) ?? 0) + 1
    this.callCounts.set(name, count)
    return `${escapeKey(name)}#${count}`
  }
}

/** A context's methods that record on its run, bound to it. */
function bindMethods(context: StepContext): Pick<RunContext, 'addUsage' | 'reserveBudget' | 'annotate'> {
  const run = context.run
  return {
    addUsage: (usage, costUsd) => run.addUsage(usage, costUsd),
    reserveBudget: (request) => {
      run.refuseIfEnded('reserveBudget')
      return run.tree.ledger.reserve(request, run.fn.name)
    },
    annotate: (key, value) => {
      // A fact is the current attempt's: code an ended attempt left running (it timed out, say) records none over it.
      if (context.attempt !== run.attempt || context.cancelScope.cancelled)
        throw new ConfigurationError({
          option: 'annotate',
          message: `annotate is refused: attempt ${context.attempt} has ended; only code of the current attempt records facts on the run`,
          functionName: run.fn.name,
        })
      run.annotate(key, value)
    },
  }
}

/** One execution of one Function: all the state of a run lives here, never on the Function. */
class Run {
  readonly fn: AnyFunction
  readonly input: unknown
  readonly parent: Run | undefined
  readonly tree: RunTree
  readonly metadata: Readonly<Record<string, unknown>>
  /** How many ancestors this run has. */
  readonly depth: number
  /** The step's key in its parent ('' for the root). */
  readonly key: string
  /** The parent's attempt this run was started in: a retried parent's children get ids of their own. */
  readonly parentAttempt: number
  /** The parent's {@link Run.freshFrom} when this run started: past 1, part of its journal key. */
  readonly keyAttempt: number
  /**
   * The attempt from which this run's children are asked afresh: the one after an output last failed its schema (the
   * run's own, or a child's that its attempt threw). A journal keeps their steps under keys of their own
   * (`<key>@<attempt>`), so a retry for an invalid output asks the model again rather than replaying the answer that
   * made it, and a re-run replays each attempt's answers in turn.
   */
  freshFrom = 1
  /** The run's cancellation; during an attempt with a time limit of its own, that attempt's scope. */
  cancelScope: CancelScope
  readonly stream: StreamListener | undefined
  state: LifecycleState = 'init'
  attempt = 0
  record: TracedRecord | undefined = undefined
  /** Tokens and cost of this run and everything under it, once it has any. */
  usage: UsageTotals | undefined = undefined
  /** What the run recorded about itself (`annotate`), once it has anything. */
  annotations: Record<string, unknown> | undefined = undefined
  private streamedParts = 0
  /**
   * The clock reading of the run's last transition, until user code runs or the run waits: transitions the engine
   * makes back to back share it, so a step whose work is synchronous reads the clock twice, not at each of its states.
   */
  private at: number | undefined = undefined
  private id: string | undefined
  private path: string | undefined = undefined
  private journalId: string | undefined = undefined
  /**
   * While the step's journal entry is being written, the state its cancellation names (`journal (<key>)`), as a write
   * that throws names it: the step's work is done, and a caller told it timed out or was aborted in
   * `processing_output` would take it for undone and do it again (an agent telling its model a tool failed). Left set
   * when the write is cancelled: the run fails naming it.
   */
  private writingJournal: string | undefined = undefined
  private boundLogger: Logger | undefined = undefined

  constructor(fn: AnyFunction, input: unknown, options: InvokeOptions | undefined, recording: boolean) {
    this.fn = fn
    this.input = input
    const parent = options?.parent === undefined ? currentStep() : options.parent
    let parentScope = uncancellable
    const metadata = givenMetadata(options?.metadata, fn.name)
    if (parent !== undefined && parent !== null) {
      if (!(parent instanceof StepContext)) throw parentError(parent, fn.name)
      const parentRun = parent.run
      // A record that was handed out whole must not grow a child afterwards.
      if (parentRun.state === 'complete' || parentRun.state === 'failed')
        throw new ConfigurationError({
          option: 'parent',
          message: `the run of "${parentRun.fn.name}" it would join has ended (${parentRun.state}); pass parent: null to start a tree of its own`,
          functionName: fn.name,
        })
      if (options !== undefined) rejectRootOptions(options, fn.name, parentRun)
      this.parent = parentRun
      this.depth = parentRun.depth + 1
      this.tree = parentRun.tree
      this.metadata = metadata === undefined ? parentRun.metadata : { ...parentRun.metadata, ...metadata }
      this.key =
        options?.key === undefined
          ? parent.nextKey(fn.name)
          : parent.claimKey(escapeKey(checkKey(options.key, fn.name)), fn.name)
      this.parentAttempt = parent.attempt
      this.keyAttempt = parentRun.freshFrom
      this.id = undefined
      parentScope = parent.cancelScope
    } else {
      this.parent = undefined
      this.depth = 0
      this.tree = createTree(options, fn.name)
      this.metadata = metadata ?? emptyMetadata
      if (options?.key !== undefined) checkKey(options.key, fn.name)
      this.key = ''
      this.parentAttempt = 0
      this.keyAttempt = 0
      this.id = options?.runId === undefined ? undefined : checkKey(options.runId, fn.name, 'runId')
      // Code a cancelled run left running is cancelled itself: what it invokes without a parent does none of its work.
      if (options?.parent === undefined) parentScope = cancelledLeftover() ?? uncancellable
      const registry = globalEventRegistry
      if (registry.listeners.length !== registry.subscribers.length) {
        // An `accepts` is no run's code, as a listener is not: a Function it invokes starts a tree of its own.
        listenersHearing += 1
        try {
          this.tree.subscribers = listenersOf({ runId: this.runId, function: fn.name, kind: fn.kind }, (error) =>
            this.listenerFailed(
              "a lifecycle subscription's accepts failed, so its listener does not hear this run",
              error,
            ),
          )
        } finally {
          listenersHearing -= 1
        }
        this.tree.listeners = this.tree.subscribers.map((subscriber) => subscriber.listener)
      }
    }
    const listener = options?.stream
    if (listener !== undefined && typeof listener !== 'function')
      throw optionError('stream', 'a function', listener, fn.name)
    // Last of what can refuse the options: a refused run holds no timer, no listener and no place among the live runs.
    this.cancelScope = this.openScope(options, parentScope)
    if (this.parent !== undefined) this.tree.live += 1
    this.stream =
      listener === undefined
        ? undefined
        : (part) => {
            // The run's code that streamed the part never sees the listener's error; and, as a lifecycle listener, a
            // stream listener is no run's code: a Function it invokes starts a tree of its own.
            listenersHearing += 1
            try {
              // A part the listener handed to no reader (it answered `partNotHandedOut`) does not keep a failed attempt
              // from being retried: nobody would see it twice. A `false` is no such answer: a Node stream's `write`
              // answers it when its buffer is full, having kept the part.
              if (this.deliver(listener, part) === partNotHandedOut) return partNotHandedOut
              this.streamedParts += 1
              return true
            } finally {
              listenersHearing -= 1
            }
          }
    // A traced run records itself and, through its record, every run under it.
    if (recording || this.parent?.record !== undefined) {
      this.at = now()
      this.record = new TracedRecord(this, this.at)
      this.parent?.record?.children.push(this.record)
    }
  }

  // ---- RunContext ----------------------------------------------------------------------------------------------

  get runId(): string {
    if (this.id === undefined) {
      const parent = this.parent
      if (parent === undefined) this.id = `${runIdPrefix}-${(++runCounter).toString(36)}`
      else this.id = `${parent.runId}/${this.key}${this.parentAttempt > 1 ? `@${this.parentAttempt}` : ''}`
    }
    return this.id
  }

  get parentRunId(): string | undefined {
    return this.parent?.runId
  }

  get stepPath(): string {
    if (this.path === undefined) {
      const parentPath = this.parent?.stepPath
      this.path = parentPath === undefined ? '' : parentPath === '' ? this.key : `${parentPath}/${this.key}`
    }
    return this.path
  }

  get idempotencyKey(): string {
    let root: Run = this
    while (root.parent !== undefined) root = root.parent
    // The root's id is escaped as a step key is: root `a/b` cannot pass for step `b` under root `a`.
    const rootKey = escapeKey(root.runId)
    return this.parent === undefined ? rootKey : `${rootKey}/${this.stepPath}`
  }

  /**
   * The key of this step's journal entry: its idempotency key, but for a step (or one under it) started after its
   * parent's output failed its schema, whose key there ends in `@<attempt>` (see {@link Run.freshFrom}).
   */
  get journalKey(): string {
    if (this.journalId === undefined) {
      const parent = this.parent
      if (parent === undefined) this.journalId = this.idempotencyKey
      else this.journalId = `${parent.journalKey}/${this.key}${this.keyAttempt > 1 ? `@${this.keyAttempt}` : ''}`
    }
    return this.journalId
  }

  get logger(): Logger {
    this.boundLogger ??= (this.tree.logger ?? getDefaultLogger()).child({ runId: this.runId, function: this.fn.name })
    return this.boundLogger
  }

  /** A run that ended was handed out whole: its record, usage and budget take nothing from code still holding it. */
  refuseIfEnded(what: string): void {
    if (this.state === 'complete' || this.state === 'failed')
      throw new ConfigurationError({
        option: what,
        message: `${what} is refused: the run has ended (${this.state}) and its record was handed out; call it before the run returns`,
        functionName: this.fn.name,
      })
  }

  /**
   * Adds usage to this run, every ancestor and the tree's ledger — or, counted by runs of this tree already (`countedBy`:
   * a durable step replayed in a retried ancestor), to this run and those of its ancestors that did not count it, the
   * ones started since; the ledger's total holds it already.
   */
  addUsage(given: Usage | UsageTotals, costUsd: number | undefined, countedBy?: WeakSet<Run>): void {
    this.refuseIfEnded('addUsage')
    const usage = checkUsage(given, costUsd, this.fn.name)
    if (countedBy === undefined) addUsageTo(this.tree.ledger.spent, usage, costUsd)
    // Each run's usage is its own subtree's: this run's and every ancestor's — but for one that ended, whose record was
    // handed out whole (a child it left running still spends: the tree's ledger and its budget count it).
    for (let run: Run | undefined = this; run !== undefined && countedBy?.has(run) !== true; run = run.parent) {
      if (run.state === 'complete' || run.state === 'failed') continue
      if (run.usage === undefined) {
        run.usage = emptyUsageTotals()
        if (run.record !== undefined) run.record.usage = run.usage
      }
      addUsageTo(run.usage, usage, costUsd)
    }
  }

  annotate(key: string, value: unknown): void {
    this.refuseIfEnded('annotate')
    // A fact's name is a name, as a step key is: records, journals and the run tree show it.
    checkKey(key, this.fn.name, 'annotate key')
    // `undefined` is no fact: it withdraws the key (as the record's JSON would drop it), so code whose fact no longer
    // holds (a Decision retried after its choice's branch failed) leaves none behind.
    if (value === undefined) {
      if (this.annotations !== undefined) delete this.annotations[key]
      if (this.record !== undefined) delete this.record.annotations[key]
      return
    }
    // Defined, not assigned: `__proto__` is a fact like any other, never the prototype of the run's annotations. A
    // string is kept as an error quotes one, cut at 1,000 characters: a server's 1 MB model name is no fact to keep.
    const fact = {
      value: typeof value === 'string' && value.length > 1_000 ? redactAndCut(value, 1_000) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    }
    if (this.annotations === undefined) this.annotations = {}
    Object.defineProperty(this.annotations, key, fact)
    if (this.record !== undefined) Object.defineProperty(this.record.annotations, key, fact)
  }

  // ---- the lifecycle -------------------------------------------------------------------------------------------

  async execute(): Promise<unknown> {
    const fn = this.fn
    const scope = this.cancelScope
    // The scope of the attempt that succeeded, kept until the run ends: what its code left running (a child not
    // awaited, code holding its context) is cancelled with the run meanwhile, as it is when attempts share its scope.
    let succeeded: CancelScope | undefined
    try {
      if (this.depth !== 0 && this.depth % freshStackEvery === 0) {
        await undefined
        this.at = undefined
      }
      // After the move to a fresh stack: a run cancelled meanwhile does none of its work.
      this.checkLimits()
      const journal = fn.durable ? this.tree.journal : undefined
      // The digest of the input as given, before any code could change it (a step appending to its chat history).
      let inputDigest = ''
      if (journal !== undefined) {
        // Only its digest is kept: an input may be larger than what a journal keeps (a long prompt), up to 16 MiB.
        assertJsonSafe(this.input, { functionName: fn.name, state: 'input_validation' }, maxDigestedInputBytes)
        try {
          inputDigest = hashJson(this.input)
        } catch (cause) {
          // JSON-safe when checked, yet nested deeper than JSON is written here, or a getter that threw when read
          // again: refused as the input it is, never retried.
          const problem = isStackOverflow(cause) ? 'nests too deep' : 'could not be read'
          throw new ValidationError({
            functionName: fn.name,
            state: 'input_validation',
            issues: [{ path: [], message: `${problem} to digest for the journal (${describeThrown(cause)})` }],
            cause,
          })
        }
        // A write of this step still in flight (a cancelled attempt of an ancestor finished it) lands before the read.
        const writing = this.tree.writing?.get(this.journalKey)
        if (writing !== undefined) await this.settle(writing)
        const read = this.settle(this.journalCall('read', () => journal.read(this.journalKey)))
        const entry = (isPromiseLike(read) ? await read : read) as JournalEntry | undefined
        if (entry !== undefined) return this.replay(entry, inputDigest)
      }
      this.to('input_validation')
      let input = this.input
      if (fn.inputValidator !== undefined) {
        // Wrapped: an input that is itself a thenable (a query builder) is handed to the code as it is, never awaited.
        let checked = this.settle(fn.inputValidator.validateResult(input))
        if (isPromiseLike(checked)) checked = await checked
        input = (checked as { readonly value: unknown }).value
      }
      // `running` (and output validation) until an attempt succeeds or the retry policy says stop. The loop is inline,
      // not a method of its own: an attempt that needs no await costs no promise of its own.
      let value: unknown
      let context: StepContext
      for (;;) {
        this.attempt += 1
        this.to('running')
        // An attempt that may be followed by another has a scope of its own: what it leaves running ends with it.
        const attemptScope =
          fn.attemptTimeoutMs === undefined && fn.retry.attempts === 1
            ? undefined
            : this.openAttemptScope(fn.attemptTimeoutMs)
        let error: TinyLLMError
        try {
          context = new StepContext(this, this.attempt, this.cancelScope)
          value = this.settle(this.enter(callRun, input, context))
          if (isPromiseLike(value)) value = await value
          this.to('output_validation')
          if (fn.outputValidator !== undefined) {
            value = this.settle(fn.outputValidator.validate(value))
            if (isPromiseLike(value)) value = await value
          }
          succeeded = attemptScope
          break
        } catch (thrown) {
          // Code that threw without handing back a value (synchronously) may have worked long: read the clock anew.
          this.at = undefined
          // An attempt that ran out of its own time fails with that (retryable) timeout, whatever the work threw.
          error =
            attemptScope?.cancelled === true && !scope.cancelled
              ? (attemptScope.reason as TinyLLMError)
              : this.toError(thrown)
          // A failed attempt is over: what it left running is cancelled with it, not carried into the next attempt.
          attemptScope?.cancel(error)
        } finally {
          if (attemptScope !== undefined) this.cancelScope = scope
        }
        // An output that failed a schema — its own, or a child's that the attempt threw — is asked for afresh: not
        // replayed from the answers that made it. (A failed input is never retried: see decideRetry.)
        if (ValidationError.isInstance(error)) this.freshFrom = this.attempt + 1
        await this.retryAfter(error)
      }
      this.to('processing_output')
      if (fn.processesOutput) {
        value = this.settle(this.enter(callProcessOutput, value, context.continued(scope)))
        if (isPromiseLike(value)) value = await value
      }
      // Without a `processOutput` the output is the processed output, and its schema holds for it all the same.
      if (fn.processedOutputValidator !== undefined) {
        value = this.settle(fn.processedOutputValidator.validate(value))
        if (isPromiseLike(value)) value = await value
      }
      if (journal !== undefined) value = await this.journal(journal, value, inputDigest)
      this.to('complete', undefined, value)
      return value
    } catch (thrown) {
      this.at = undefined
      const error = this.toError(thrown)
      // What the run left running (a child not awaited, a request given its signal) ends with it, as with a failed
      // attempt's; a run that cannot be cancelled (no signal, time limit or retries) has handed out no scope to end.
      scope.cancel(error)
      succeeded?.cancel(error)
      this.to('failed', error)
      throw error
    } finally {
      succeeded?.dispose()
      scope.dispose()
      this.tree.live -= 1
    }
  }

  /** After a failed attempt: `retrying` and the wait the retry policy decides, or the error the run ends in. */
  private async retryAfter(error: TinyLLMError): Promise<void> {
    const scope = this.cancelScope
    if (scope.cancelled) throw this.abortError(scope.reason)
    const remainingMs = scope.deadline === undefined ? undefined : scope.deadline - Date.now()
    const decision = decideRetry(this.fn.retry, error, {
      attempt: this.attempt,
      streamedParts: this.streamedParts,
      remainingMs,
      functionName: this.fn.name,
    })
    if (!decision.retry) {
      if (decision.outOfTime !== true) throw error
      const leftMs = Math.max(0, Math.round(remainingMs ?? 0))
      // An ancestor's deadline (its time limit, or its attempt's) ends this run now, in a timeout of the same kind as
      // the one that deadline will raise: a parent's attempt that would time out is retried as when its timer fires.
      const limit = scope.ownsDeadline ? undefined : scope.deadlineReason()
      if (limit !== undefined && !TimeoutError.isInstance(limit)) throw this.abortError(limit)
      if (limit !== undefined)
        throw new TimeoutError({
          timeoutMs: leftMs,
          kind: limit.kind,
          functionName: this.fn.name,
          state: this.state,
          detail: `the wait before the next attempt would outlast the ${leftMs} ms left before ${limit.functionName ?? 'a run above it'} times out; it ends now (last error: ${error.message})`,
        })
      throw new TimeoutError({
        timeoutMs: leftMs,
        kind: 'total',
        functionName: this.fn.name,
        state: this.state,
        detail: `the wait before the next attempt would outlast the ${leftMs} ms left of the run; it ends now in the timeout it would end in (last error: ${error.message})`,
      })
    }
    this.to('retrying', error)
    // The wait ends in the next attempt or in the run's failure: either reads the clock again.
    this.at = undefined
    await scope.sleep(decision.delayMs)
  }

  /**
   * Calls the Function's code as the current run of async context (so Functions it invokes join this run's tree),
   * inside the process's run wrapper, if one is set (so a tracer's span is the active one meanwhile).
   */
  private enter(
    call: (fn: AnyFunction, value: unknown, context: StepContext) => unknown,
    value: unknown,
    context: StepContext,
  ): unknown {
    // A run a listener invoked runs code of its own: what that code invokes joins this run, not a tree of its own.
    const hearing = listenersHearing
    listenersHearing = 0
    try {
      const wrapper = globalEventRegistry.wrapper
      if (wrapper === undefined) return callInContext(call, this.fn, value, context)
      // A wrapper that skips the call would complete the run without its code; one that repeats it, or keeps it for
      // later, would run it twice or after the run ended; one that returns something else would replace its output.
      let calls = 0
      let returned = false
      let output: unknown
      let result: unknown
      let threw: { readonly error: unknown } | undefined
      try {
        result = wrapper(context, () => {
          if (returned) throw wrapperError('called the run after it had returned', this.fn.name)
          calls += 1
          if (calls > 1) throw wrapperError('called the run a second time', this.fn.name)
          try {
            output = callInContext(call, this.fn, value, context)
          } catch (error) {
            threw = { error }
            throw error
          }
          return output
        })
      } catch (error) {
        // The wrapper's own error ends the attempt: the run's promise, if it made one, is left with nobody to hear it.
        if (threw === undefined) dropped(output)
        // What the run threw is the run's; what the wrapper threw is a fault of the wrapper, never retried as the run's.
        if ((threw !== undefined && error === threw.error) || isWrapperError(error)) throw error
        throw wrapperError('threw', this.fn.name, error)
      } finally {
        returned = true
      }
      // A wrapper that caught what the run threw must not complete the run without it.
      if (threw !== undefined) {
        dropped(result)
        throw threw.error
      }
      if (calls === 0 || !Object.is(result, output)) {
        // What the run and the wrapper returned is not used: a rejection of either (an async wrapper's) is not unheard.
        dropped(output)
        dropped(result)
        throw wrapperError(
          calls === 0 ? 'returned without calling the run' : 'returned something else than what the run returned',
          this.fn.name,
        )
      }
      return result
    } finally {
      listenersHearing = hearing
    }
  }

  /**
   * A durable step found in the journal: the lifecycle walks through, the recorded output, usage and annotations stand
   * in.
   */
  private replay(entry: JournalEntry, inputDigest: string): unknown {
    const fn = this.fn
    this.assertWrittenHere(entry, inputDigest)
    const annotations = entry.annotations
    if (typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations))
      for (const key of Object.keys(annotations)) this.annotate(key, annotations[key])
    this.annotate('replayed', true)
    // A step this tree ran or replayed is counted already: its usage is added once, when another run paid for it.
    if (entry.usage !== undefined) this.addUsage(entry.usage, undefined, this.tree.journaled?.get(this.journalKey))
    this.countedHere()
    if (this.stream !== undefined) {
      // The output stands; the parts are what the listener saw the first time. Code that cannot make them is logged.
      try {
        for (const part of fn.replayParts(entry.output)) this.stream(part)
      } catch (error) {
        this.listenerFailed('replayParts threw, so the stream listener has not heard the replayed parts', error)
      }
    }
    this.to('input_validation')
    this.attempt = 1
    this.to('running')
    this.to('output_validation')
    this.to('processing_output')
    this.to('complete', undefined, entry.output)
    return entry.output
  }

  /** Writes a finished durable step to the journal; the entry that stands (the first writer's) is the output. */
  private async journal(journal: StepJournal, output: unknown, inputDigest: string): Promise<unknown> {
    assertJsonSafe(output, { functionName: this.fn.name, state: 'processing_output' })
    const entry: JournalEntry = {
      function: this.fn.name,
      kind: this.fn.kind,
      input: inputDigest,
      output,
      usage: this.usage,
      // As the record's JSON shows them: a journal keeps JSON, and no secret a step annotated reaches its storage.
      annotations: this.annotations === undefined ? undefined : (redact(this.annotations) as Record<string, unknown>),
      at: Date.now(),
    }
    // What no journal keeps (annotations of more than 1 MiB) fails the step here, named as its own: never handed to a
    // journal that would keep it, after which every read of the key is refused.
    // The journal is handed the checked copy, read once: a getter cannot give it a value the check did not see.
    const kept = keptJournalEntry(entry)
    if (typeof kept === 'string')
      throw new ValidationError({
        functionName: this.fn.name,
        state: 'processing_output',
        issues: [{ path: [], message: `its journal entry cannot be kept: ${kept}` }],
      })
    // Counted before the write is asked for: a run cancelled while the write is in flight has paid for the step all
    // the same, and a retried parent that replays the entry the write left must not count it again.
    this.countedHere()
    this.writingJournal = `journal (${this.journalKey})`
    let written = this.journalCall('write', () => journal.write(this.journalKey, kept))
    if (isPromiseLike(written)) {
      // Kept until the write settles, even when this run is cancelled meanwhile: the write goes on without it.
      const key = this.journalKey
      this.tree.writing ??= new Map()
      const writes = this.tree.writing
      const forget = (): void => {
        if (writes.get(key) === landed) writes.delete(key)
      }
      const landed: Promise<void> = Promise.resolve(written).then(forget, forget)
      writes.set(key, landed)
      written = await this.settle(written)
    } else written = this.settle(written)
    this.writingJournal = undefined
    // Another run under this run id may have written the step first, for another input: its output is not this one's.
    this.assertWrittenHere(written as JournalEntry, kept.input as string)
    return (written as JournalEntry).output
  }

  /** Throws a NonDeterminismError unless `entry` is this step's: the same Function, kind and digest of the input. */
  private assertWrittenHere(entry: JournalEntry, input: string): void {
    const fn = this.fn
    if (entry.function === fn.name && entry.kind === fn.kind && entry.input === input) return
    const changed =
      entry.input === undefined
        ? ' (the journal kept no digest of its input)'
        : entry.input !== input
          ? ' with another input'
          : ''
    throw new NonDeterminismError({
      key: this.journalKey,
      expected: `${entry.function} (${entry.kind})`,
      found: `${fn.name} (${fn.kind})${changed}`,
      functionName: fn.name,
    })
  }

  /** Marks this durable step as counted by this run and its ancestors, which a later replay in the tree skips. */
  private countedHere(): void {
    const counted = new WeakSet<Run>()
    for (let run: Run | undefined = this; run !== undefined; run = run.parent) counted.add(run)
    this.tree.journaled ??= new Map()
    this.tree.journaled.set(this.journalKey, counted)
  }

  /**
   * A journal's read or write. What it throws that is not a tinyllm error names this step and its key (state
   * `journal (<key>)`), retryable for a read but not for a write: the step's work is done by then, and a retry of the
   * step or of a run above it would do it again — so a write's retryable tinyllm error (a database locked) is named so
   * too, unretryable, with it as the cause; an answer that is not an entry (or, read, `undefined`) is a
   * ConfigurationError saying so, never read as one.
   */
  private journalCall(operation: 'read' | 'write', call: () => unknown): unknown {
    const state = `journal (${this.journalKey})`
    const entryOf = (answer: unknown): unknown => {
      if (answer === undefined ? operation === 'read' : typeof answer === 'object' && answer !== null) {
        // What a journal answers is checked as it checks what it writes: a replay hands out nothing no journal keeps —
        // the entry as its JSON keeps it, read once.
        const kept = answer === undefined ? undefined : keptJournalEntry(answer)
        if (typeof kept !== 'string') return kept
        const problem = kept
        throw new ConfigurationError({
          option: 'journal',
          message: `journal.${operation} answered an entry no journal would keep: ${problem} (for ${this.journalKey})`,
          functionName: this.fn.name,
        })
      }
      throw new ConfigurationError({
        option: 'journal',
        message: `journal.${operation} must answer ${operation === 'read' ? 'an entry or undefined' : 'the entry that stands'}, got ${safeStringify(answer, 60)} (for ${this.journalKey})`,
        functionName: this.fn.name,
      })
    }
    try {
      const result = call()
      if (!isPromiseLike(result)) return entryOf(result)
      return Promise.resolve(result)
        .then(entryOf)
        .catch((cause: unknown) => {
          throw this.toError(cause, state, operation === 'read')
        })
    } catch (cause) {
      throw this.toError(cause, state, operation === 'read')
    }
  }

  /** The value of a step, or the promise of it raced against cancellation; a synchronous step checks the deadline. */
  private settle(value: unknown): unknown {
    this.at = undefined
    const scope = this.cancelScope
    let thenable: boolean
    try {
      thenable = isPromiseLike(value)
    } catch (cause) {
      // No promise can hand such a value on (resolving one reads `then`): refused here, typed, not retried.
      throw new ValidationError({
        functionName: this.fn.name,
        state: this.state,
        issues: [
          { path: ['then'], message: `could not be read (${describeThrown(cause)}), so no promise can carry it` },
        ],
        cause,
      })
    }
    if (thenable) return scope.race(value as PromiseLike<unknown>)
    if (scope.cancellable) scope.throwIfCancelled()
    return value
  }

  /** The run's cancellation, under `parentScope`: the scope of the parent's attempt (or `processOutput`) it began in. */
  private openScope(options: InvokeOptions | undefined, parentScope: CancelScope): CancelScope {
    const signal = options?.signal
    const deadline = checkCancellation(options, this.fn.name)
    const ownTimeoutMs =
      options?.timeoutMs === undefined ? this.fn.timeoutMs : checkTimeout(options.timeoutMs, 'timeoutMs', this.fn.name)
    const timeoutMs = totalLimitMs(ownTimeoutMs, deadline)
    // A run that may make another attempt, or has an attempt time limit, can always be cancelled: when it fails, what
    // its code left running (in an attempt or in `processOutput`) is cancelled with it.
    if (
      !parentScope.cancellable &&
      signal === undefined &&
      timeoutMs === undefined &&
      this.fn.retry.attempts === 1 &&
      this.fn.attemptTimeoutMs === undefined
    )
      return uncancellable
    return linkedScope(
      parentScope === uncancellable ? undefined : parentScope,
      {
        signal,
        // The deadline itself, not the time left to it: the run's `context.deadline` is the very number it was given.
        timeoutMs: ownTimeoutMs,
        deadline,
        // The run cancels its scope when it fails: its code gets a signal of its own, never the caller's, which only the
        // caller can abort.
        manual: true,
        timeoutReason:
          timeoutMs === undefined
            ? undefined
            : () =>
                new TimeoutError({
                  timeoutMs,
                  kind: 'total',
                  functionName: this.fn.name,
                  state: this.writingJournal ?? this.state,
                  detail:
                    timeoutMs === 0 && deadline !== undefined
                      ? `its deadline (${new Date(deadline).toISOString()}) had passed before it started`
                      : undefined,
                }),
      },
      this.fn.name,
    )
  }

  private openAttemptScope(timeoutMs: number | undefined): CancelScope {
    const scope = new CancelScope(this.cancelScope === uncancellable ? undefined : this.cancelScope, {
      timeoutMs,
      manual: true,
      timeoutReason: () =>
        new TimeoutError({ timeoutMs: timeoutMs ?? 0, kind: 'attempt', functionName: this.fn.name, state: this.state }),
    })
    this.cancelScope = scope
    return scope
  }

  private checkLimits(): void {
    const scope = this.cancelScope
    if (scope.cancellable) scope.throwIfCancelled()
    if (this.depth > maxRunDepth)
      throw new StepLimitError({
        limit: maxRunDepth,
        what: 'nested runs',
        functionName: this.fn.name,
        state: 'init',
        ofRunTree: true,
      })
    if (this.tree.live > this.tree.maxConcurrentRuns)
      throw new StepLimitError({
        limit: this.tree.maxConcurrentRuns,
        what: 'runs in progress at once in one run tree (maxConcurrentRuns; a graph that fans out into itself?)',
        functionName: this.fn.name,
        state: 'init',
        ofRunTree: true,
      })
  }

  private to(state: LifecycleState, error?: TinyLLMError, output?: unknown): void {
    const from = this.state
    functionLifecycle.assertTransition(from, state)
    this.state = state
    const record = this.record
    const tree = this.tree
    const onEvent = tree.onEvent
    // A listener unsubscribed while the tree runs hears no more of it.
    if (tree.unsubscribed !== globalEventRegistry.unsubscribed) {
      tree.unsubscribed = globalEventRegistry.unsubscribed
      tree.subscribers = stillSubscribed(tree.subscribers)
      tree.listeners = tree.subscribers.map((subscriber) => subscriber.listener)
    }
    const heard = onEvent !== undefined || tree.listeners.length !== 0
    if (record === undefined && !heard) return
    // One timestamp for the record and the event of one transition.
    const at = this.at ?? now()
    this.at = at
    if (record !== undefined) record.transition(at, state, this.attempt, output, error)
    if (!heard) return
    this.emit(at, from, state, output, error)
    // A listener that heard the state may have cancelled the run, or kept the thread busy past its deadline (no timer
    // fires meanwhile): then none of the state's work is done.
    if (state !== 'complete' && state !== 'failed' && this.cancelScope.cancellable) this.cancelScope.throwIfCancelled()
  }

  private emit(at: number, from: LifecycleState, to: LifecycleState, output: unknown, error?: TinyLLMError): void {
    const onEvent = this.tree.onEvent
    const event: { -readonly [Key in keyof LifecycleEvent]: LifecycleEvent[Key] } = {
      runId: this.runId,
      parentRunId: this.parentRunId,
      function: this.fn.name,
      kind: this.fn.kind,
      source: this.fn,
      from,
      to,
      at,
      attempt: this.attempt,
    }
    if (error !== undefined) event.error = error
    if (from === 'init') event.input = this.input
    if (to === 'complete') event.output = output
    // Copies: an event kept for later shows what the run had when it happened, and a listener cannot change the run's.
    if (this.annotations !== undefined) event.annotations = { ...this.annotations }
    if (this.usage !== undefined) event.usage = { ...this.usage }
    // A listener is no run's code: a Function it invokes while it hears the event starts a tree of its own, as it would
    // outside any run. A counter, not a switch of async context: that would cost as much as the rest of the event.
    listenersHearing += 1
    try {
      if (onEvent !== undefined) this.deliver(onEvent, event, event)
      // A listener subscribed process-wide and given as the tree's `onEvent` too (a tracer, say) hears each event once.
      for (const listener of this.tree.listeners) if (listener !== onEvent) this.deliver(listener, event, event)
    } finally {
      listenersHearing -= 1
    }
  }

  /**
   * Hands a lifecycle listener its `event`, or a stream listener (without one) its part; what it throws (or rejects
   * with, if it is async) is logged, and the run goes on. Answers what the listener returned (`undefined` when it threw).
   */
  private deliver<Value>(listener: (value: Value) => unknown, value: Value, event?: LifecycleEvent): unknown {
    try {
      const result: unknown = listener(value)
      if (isPromiseLike(result))
        result.then(undefined, (error: unknown) =>
          this.listenerFailed(
            event === undefined ? 'stream listener rejected' : 'lifecycle listener threw',
            error,
            event,
          ),
        )
      return result
    } catch (error) {
      this.listenerFailed(event === undefined ? 'stream listener threw' : 'lifecycle listener threw', error, event)
      return undefined
    }
  }

  private listenerFailed(what: string, listenerError: unknown, event?: LifecycleEvent): void {
    try {
      this.logger.error(`${what}; the run goes on`, {
        error: listenerError,
        event: event === undefined ? undefined : `${event.from}→${event.to}`,
      })
    } catch {
      // A logger that throws too has nowhere left to report to; the run must not fail for it.
    }
  }

  // ---- errors --------------------------------------------------------------------------------------------------

  private abortError(reason: unknown): TinyLLMError {
    return abortErrorFor(reason, { functionName: this.fn.name, state: this.writingJournal ?? this.state })
  }

  private toError(thrown: unknown, state: string = this.state, retryable = true): TinyLLMError {
    // A cancelled run ends in its cancellation, whatever the work threw on the way out — also when its deadline passed
    // while synchronous work kept the thread busy, and no timer could fire before the work threw.
    const scope = this.cancelScope
    if (scope.cancellable) {
      try {
        scope.throwIfCancelled()
      } catch (reason) {
        return this.abortError(reason)
      }
    }
    // A tinyllm error stands as it is, but one that says to retry what must not be retried (a journal's write that found
    // its database locked: the step's work is done, and a retry above it would do it again) is told as a failure here.
    if (TinyLLMError.isInstance(thrown) && (retryable || !thrown.retryable)) return thrown
    // Code of the Function's own that threw may succeed when tried again, unless the error says otherwise.
    return new FunctionError({
      functionName: this.fn.name,
      state,
      cause: thrown,
      retryable: retryable && !hasRetryableFalse(thrown),
    })
  }
}

/**
 * A traced run's record: one class, so every record has one shape (built field by field, not copied from a literal).
 * It serialises whatever it holds: outputs, inputs and annotations that JSON cannot take (a cycle, a BigInt, a `toJSON`
 * that throws) are made safe and secrets replaced, as in a log line; children serialise the same way one by one, so a
 * deep tree is neither cut nor copied twice.
 */
class TracedRecord implements RunRecord {
  readonly runId: string
  readonly parentRunId: string | undefined
  readonly function: string
  readonly kind: string
  readonly input: unknown
  status: 'running' | 'complete' | 'failed' = 'running'
  readonly states: RunStateEntry[]
  attempts = 0
  readonly startedAt: number
  endedAt: number | undefined = undefined
  durationMs: number | undefined = undefined
  readonly annotations: Record<string, unknown> = {}
  readonly children: RunRecord[] = []
  declare output?: unknown
  declare error?: TinyLLMError
  declare usage?: UsageTotals

  constructor(run: Run, at: number) {
    this.runId = run.runId
    this.parentRunId = run.parentRunId
    this.function = run.fn.name
    this.kind = run.fn.kind
    this.input = run.input
    this.states = [{ state: 'init', at, attempt: 0 }]
    this.startedAt = at
  }

  transition(at: number, state: LifecycleState, attempt: number, output: unknown, error?: TinyLLMError): void {
    this.states.push(error === undefined ? { state, at, attempt } : { state, at, attempt, error })
    this.attempts = attempt
    if (state === 'complete' || state === 'failed') {
      this.status = state
      this.endedAt = at
      this.durationMs = at - this.startedAt
      if (state === 'complete') this.output = output
      if (error !== undefined) this.error = error
    }
  }

  toJSON(): unknown {
    return recordJson(this, createRedactBudget())
  }

  /** What `console.log(record)` prints in Node: the record as its JSON shows it, secrets replaced. */
  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: InspectOptions, inspect: Inspect): string {
    return inspectJson(this, depth, options, inspect)
  }
}

/** What a run of a record's tree holds of what it was handed: inputs, outputs and annotations, shared by many runs. */
const handedFields: ReadonlySet<string> = new Set(['input', 'output', 'annotations'])

/**
 * A record as its JSON shows it. What its runs were handed (inputs, outputs, annotations) draws on one `budget` for the
 * whole tree, written a run at a time: ten thousand runs sharing one long document make a record within the limits of
 * one copy, not gigabytes JSON cannot write. The rest of each run (its id, states, error) is its own.
 */
function recordJson(record: TracedRecord, budget: RedactBudget): unknown {
  const { children, ...rest } = record
  const fields: Record<string, unknown> = rest
  // Errors as their own JSON shows them, with what they quote cut short: a 400 whose body holds megabytes of text
  // makes a record of kilobytes.
  fields.states = record.states.map((entry) =>
    entry.error === undefined ? entry : { ...entry, error: errorJson(entry.error) },
  )
  if (record.error !== undefined) fields.error = errorJson(record.error)
  const own: Record<string, unknown> = {}
  for (const key of Object.keys(fields)) if (!handedFields.has(key)) own[key] = fields[key]
  const ownJson = redact(own)
  const json: Record<string, unknown> = {}
  for (const key of Object.keys(fields))
    json[key] = handedFields.has(key) ? redactWithin(fields[key], budget) : ownJson[key]
  json.children = children.map((child) => (child instanceof TracedRecord ? new ChildJson(child, budget) : child))
  return json
}

/** A child of a record, written with the budget of the record being written, when its turn comes. */
class ChildJson {
  readonly #record: TracedRecord
  readonly #budget: RedactBudget

  constructor(record: TracedRecord, budget: RedactBudget) {
    this.#record = record
    this.#budget = budget
  }

  toJSON(): unknown {
    return recordJson(this.#record, this.#budget)
  }

  /** As the record prints in Node: as its JSON shows it. */
  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: InspectOptions, inspect: Inspect): string {
    return inspectJson(this, depth, options, inspect)
  }
}

type InspectOptions = { readonly depth?: number | null }
type Inspect = (value: unknown, options: object) => string

/** How a record, and a child written with its tree's budget, print in Node: as their JSON shows them. */
function inspectJson(value: { toJSON(): unknown }, depth: number, options: InspectOptions, inspect: Inspect): string {
  return inspect(value.toJSON(), { ...options, depth: options.depth === null ? null : depth })
}

/** A record's error as its `toJSON` shows it; as a log line shows an error when that throws (a subclass's override). */
function errorJson(error: TinyLLMError): unknown {
  try {
    return error.toJSON()
  } catch {
    return redact(error)
  }
}

/**
 * A `parent` that is no RunContext of this copy of the package. One of another copy (a package that brought its own
 * `@tinyllm/core`) is named as such: runs join only runs of their own copy.
 */
function parentError(parent: unknown, functionName: string): ConfigurationError {
  let foreign = false
  try {
    // What every copy's RunContext has: a run id and signal, and the methods a run's code calls on it.
    const context = parent as Partial<Record<'runId' | 'invoke' | 'annotate' | 'addUsage', unknown>>
    foreign =
      typeof parent === 'object' &&
      parent !== null &&
      'signal' in parent &&
      typeof context.runId === 'string' &&
      typeof context.invoke === 'function' &&
      typeof context.annotate === 'function' &&
      typeof context.addUsage === 'function'
  } catch {
    // A Proxy whose `has` trap throws is no context of any copy.
  }
  if (!foreign) return optionError('parent', 'the RunContext a run received, or null', parent, functionName)
  return new ConfigurationError({
    option: 'parent',
    message:
      "the run it would join belongs to another copy of @tinyllm/core in this process: a run joins only runs of its own copy (give the process one copy, e.g. with your package manager's dedupe)",
    functionName,
  })
}

/** Whether `value` is a Function of this copy of the package; false for a revoked Proxy, whose prototype is unreadable. */
function isFunction(value: unknown): value is AnyFunction {
  try {
    return value instanceof Function
  } catch {
    return false
  }
}

/** A promise the run will not use: its rejection is handled, so it is no unhandled rejection that ends the process. */
function dropped(value: unknown): void {
  try {
    if (isPromiseLike(value)) Promise.resolve(value).then(undefined, () => {})
  } catch {
    // A value whose `then` cannot be read is no promise that could reject.
  }
}

/** A run wrapper (`setRunWrapper`) that broke its contract: to call the run once, while it is called. */
function wrapperError(what: string, functionName: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError({
    option: 'setRunWrapper',
    message:
      cause === undefined
        ? `the run wrapper ${what}; it must call it exactly once, before it returns`
        : `the run wrapper threw ${describeThrown(cause)}`,
    functionName,
    cause,
  })
}

function isWrapperError(error: unknown): boolean {
  return ConfigurationError.isInstance(error) && error.option === 'setRunWrapper'
}

function hasRetryableFalse(error: unknown): boolean {
  try {
    return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false
  } catch {
    return false
  }
}

/**
 * A scope linked to the `signal` of a run's options: a lookalike whose `aborted` or `addEventListener` throws is refused
 * naming `signal`, as `sleep` refuses one, not as options that could not be read.
 */
function linkedScope(parent: CancelScope | undefined, options: CancelScopeOptions, functionName: string): CancelScope {
  try {
    return new CancelScope(parent, options)
  } catch (error) {
    throw unreadableOption(error, 'signal', functionName)
  }
}

/** Checks the `signal` and `deadline` of a run's options, what its cancellation is made of; returns the deadline. */
function checkCancellation(options: InvokeOptions | undefined, functionName: string): number | undefined {
  const signal = options?.signal
  if (signal !== undefined && !isAbortSignal(signal))
    throw optionError('signal', 'an AbortSignal', signal, functionName)
  return checkNumber(options?.deadline, 'deadline', { min: 0, unit: 'epoch ms' }, functionName)
}

/**
 * Options as {@link checkInvokeOptions} read them: made here only, so a copy (a spread) of them is read again. Each is
 * read by its name, once, into a field of its own — one `for…in` does not list (a getter of a settings class, a property
 * defined as not enumerable) included — and every option has its field, in one order, whatever was given: all options
 * share one hidden class, the one the engine's code is optimized for.
 */
class ReadOptions {
  logger: InvokeOptions['logger'] | undefined
  onEvent: InvokeOptions['onEvent'] | undefined
  budget: InvokeOptions['budget'] | undefined
  maxConcurrentRuns: InvokeOptions['maxConcurrentRuns'] | undefined
  runId: InvokeOptions['runId'] | undefined
  journal: InvokeOptions['journal'] | undefined
  executor: InvokeOptions['executor'] | undefined
  signal: InvokeOptions['signal'] | undefined
  timeoutMs: InvokeOptions['timeoutMs'] | undefined
  metadata: InvokeOptions['metadata'] | undefined
  stream: InvokeOptions['stream'] | undefined
  key: InvokeOptions['key'] | undefined
  deadline: InvokeOptions['deadline'] | undefined
  parent: InvokeOptions['parent'] | undefined

  constructor(given: InvokeOptions) {
    this.logger = given.logger
    this.onEvent = given.onEvent
    this.budget = given.budget
    this.maxConcurrentRuns = given.maxConcurrentRuns
    this.runId = given.runId
    this.journal = given.journal
    this.executor = given.executor
    this.signal = given.signal
    this.timeoutMs = given.timeoutMs
    this.metadata = given.metadata
    this.stream = given.stream
    this.key = given.key
    this.deadline = given.deadline
    this.parent = given.parent
  }
}

/**
 * The objects of one run that never runs, kept for the life of the process from the first run on. V8 keeps the hidden
 * class of an object only while some object has it: a full collection while no run was in flight (an idle server's, or
 * one forced between benchmark repetitions) dropped those of the run, its context, its record and the options a context
 * hands a child, and with them the optimized code of the whole engine, so the next tens of thousands of steps ran 3–5×
 * slower until it was optimized again. Each kept object has the shape every run's has.
 */
let shapeKeepers: readonly object[] | undefined

function keepShapes(): void {
  // Not while a lifecycle subscription listens: its `accepts` would be asked about a run that never runs.
  if (globalEventRegistry.subscribers.length !== 0) return
  const fn = new (class ShapeKeeper extends Function<unknown, unknown> {
    override run(value: unknown): unknown {
      return value
    }
  })({ name: 'shape-keeper' })
  const run = new Run(fn, undefined, { parent: null }, false)
  const context = new StepContext(run, 1, run.cancelScope)
  // A record gains its output, error or usage once it has them: one record of each way a run ends.
  const complete = new TracedRecord(run, 0)
  complete.transition(0, 'complete', 1, undefined)
  const failed = new TracedRecord(run, 0)
  failed.transition(0, 'failed', 1, undefined, new StepLimitError({ limit: 0, what: 'shapes' }))
  const paid = new TracedRecord(run, 0)
  paid.usage = emptyUsageTotals()
  paid.transition(0, 'complete', 1, undefined)
  shapeKeepers = [run, context, complete, failed, paid, Object.freeze(new ReadOptions({ parent: context }))]
}

/**
 * Refuses options that are not an object, or that hold a key `invoke` does not know (a misspelling, say); returns the
 * options given, each read once: a getter (or a Proxy) cannot answer the checks one value and the run another.
 */
function checkInvokeOptions(options: object, functionName: string): InvokeOptions {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, functionName)
  // On the hot path of every child invoked with options; a list, a Map or a Set (no plain object) is refused there.
  checkOptionKeys(options, invokeOptionKeys, functionName)
  // Each known option read by its name, as a Function's own options are: never silently left out.
  return new ReadOptions(options as InvokeOptions) as InvokeOptions
}

/**
 * The options of a run tree's `invoke`, read as `invoke` reads them — for a {@link RunExecutor}, whose `invoke` takes
 * them as `invoke` does: options that are not an object or hold a key `invoke` does not know are a
 * {@link ConfigurationError}, each option is read once by its name (a settings class's getter included) and the
 * budget is checked and copied. The other options are checked where they are used.
 */
export function checkRootOptions(options: object, functionName: string): InvokeOptions {
  const read = checkInvokeOptions(options, functionName) as ReadOptions
  read.budget = checkBudget(read.budget, functionName)
  return read as InvokeOptions
}

/**
 * A run id or step key: a non-empty string of well-formed Unicode. A lone surrogate (half of a UTF-16 pair) would turn
 * into U+FFFD in any store that keeps UTF-8 (SQLite, Redis, an outside API given the idempotency key), where two ids
 * that differ only there would be one.
 */
function checkKey(key: unknown, functionName: string, option = 'key'): string {
  if (typeof key !== 'string' || key === '') throw optionError(option, 'a non-empty string', key, functionName)
  // Run ids are made of keys, and every log line of the run carries its id.
  if (key.length > 1_000) throw optionError(option, 'a string of at most 1,000 characters', key, functionName)
  if (!key.isWellFormed()) throw optionError(option, 'well-formed Unicode, without a lone surrogate', key, functionName)
  return key
}

/** A step key as it appears in paths: `/` separates steps, `@` marks a retry, `#` counts calls, `%` escapes. */
function escapeKey(key: string): string {
  // A scan of char codes: a regular expression test costs more than the rest of a short key's handling.
  for (let index = 0; index < key.length; index++) {
    const code = key.charCodeAt(index)
    if (code === 0x25 || code === 0x2f || code === 0x40 || code === 0x23)
      return key.replace(/[%/@#]/g, (character) => `%${character.charCodeAt(0).toString(16)}`)
  }
  return key
}

function createTree(options: InvokeOptions | undefined, functionName: string): RunTree {
  let logger: Logger | undefined
  if (options?.logger !== undefined) {
    try {
      logger = toLogger(options.logger)
    } catch (cause) {
      throw optionError(
        'logger',
        'a tinyllm Logger, a pino logger, or an object with debug, info, warn and error methods',
        options.logger,
        functionName,
        cause,
      )
    }
  }
  const onEvent = options?.onEvent
  if (onEvent !== undefined && typeof onEvent !== 'function')
    throw optionError('onEvent', 'a function', onEvent, functionName)
  const journal = options?.journal
  if (journal !== undefined && (typeof journal?.read !== 'function' || typeof journal.write !== 'function'))
    throw optionError('journal', 'a StepJournal (with read and write)', journal, functionName)
  return {
    onEvent,
    subscribers: globalEventRegistry.subscribers,
    listeners: globalEventRegistry.listeners,
    unsubscribed: globalEventRegistry.unsubscribed,
    logger,
    ledger: new UsageLedger(checkBudget(options?.budget, functionName)),
    journal,
    journaled: undefined,
    writing: undefined,
    maxConcurrentRuns:
      checkNumber(options?.maxConcurrentRuns, 'maxConcurrentRuns', { integer: true, min: 1 }, functionName) ??
      defaultMaxConcurrentRuns,
    live: 1,
  }
}

function rejectRootOptions(options: InvokeOptions, functionName: string, parent: Run): void {
  // One test of every root-only option, on the hot path of every child invoked with options (a Chain's step keys).
  if (
    options.logger === undefined &&
    options.onEvent === undefined &&
    options.budget === undefined &&
    options.maxConcurrentRuns === undefined &&
    options.runId === undefined &&
    options.journal === undefined &&
    options.executor === undefined
  )
    return
  for (const key of rootOnlyOptions) {
    if (options[key] === undefined) continue
    throw new ConfigurationError({
      option: key,
      message: `${key} belongs to a whole run tree, and this run joins the tree of "${parent.fn.name}"; give it where the tree starts, or pass parent: null to start a new one`,
      functionName,
    })
  }
}
