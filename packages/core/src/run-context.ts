import type { Logger, LoggerLike } from '@tinyllm/logger'
import type { CancelScope } from './cancellation.js'
import type { LifecycleEvent } from './events.js'
import type { FunctionNode } from './function-node.js'
import type { StepJournal } from './journal.js'
import type { Budget, Usage, UsageTotals } from './usage.js'

/**
 * Receives the parts a run streams to its caller (an LLM call's text deltas, say), as they are produced. A part is
 * taken as handed out, and a failed attempt that streamed it is not retried (its reader would see it twice), unless
 * the listener returns {@link partNotHandedOut}: it handed that part to no reader (a caller that shows only some kinds
 * of parts).
 */
export type StreamListener = (part: unknown) => void

/**
 * What a {@link StreamListener} returns for a part it handed to no reader: that part does not keep a failed attempt
 * from being retried. Any other answer means the part was handed out — `false` included, which a Node stream's
 * `write` answers when its buffer is full, having kept the part all the same.
 *
 * @example
 * await chat.invoke(prompt, { stream: (part) => (shown(part) ? show(part) : partNotHandedOut) })
 */
export const partNotHandedOut: unique symbol = Symbol.for('tinyllm.partNotHandedOut')

/** Options of a child run, started from inside a parent's `run`. */
export interface ChildInvokeOptions {
  /** A signal that also cancels the child (the parent's cancellation always does). */
  readonly signal?: AbortSignal
  /** A limit on this run, in ms, retries included; overrides the Function's `timeoutMs`. */
  readonly timeoutMs?: number
  /** Merged over the parent's metadata. */
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Streams the run's parts (for Functions that stream, like an LLM call) to this listener as they come. */
  readonly stream?: StreamListener | undefined
  /**
   * The step's key in its parent: what identifies it in the run id, the step path and the journal. Default: the
   * combinators' positions (a Chain's index, a Parallel's key or index, a Decision's choice), else `<name>#<n>`, the
   * n-th call of that Function's name in the parent's attempt (its `processOutput` counting on from its last attempt) —
   * stable as long as the parent calls in the same order. A key given to a second step of one attempt is a
   * `ConfigurationError`: the two would share one run id and one journal entry.
   */
  readonly key?: string
  /**
   * An absolute deadline, epoch ms: the run fails with a TimeoutError when it passes (carried across processes) — at
   * once, before any of its work, if it already has.
   */
  readonly deadline?: number
}

/** Anything that can be invoked as a run: every Function. */
export interface Invocable<Input, Output> {
  readonly name: string
  invoke(input: Input, options?: InvokeOptions): Promise<Output>
}

/** Options of an invocation. Those below `ChildInvokeOptions` belong to a whole run tree: give them at its root. */
export interface InvokeOptions extends ChildInvokeOptions {
  /** Logger for the run tree (a tinyllm Logger, a pino instance, …); default the process default (`setDefaultLogger`). */
  readonly logger?: LoggerLike
  /**
   * Receives every lifecycle event of the run tree, once: a listener also subscribed with `onLifecycleEvent` is not
   * handed the same event twice.
   */
  readonly onEvent?: (event: LifecycleEvent) => void
  /** Limit on tokens or cost for the whole run tree. */
  readonly budget?: Budget
  /**
   * Most runs of the tree in progress at once, the root included; one more fails with a StepLimitError. It stops a
   * graph that fans out into itself (a cycle) before it exhausts memory, and never limits a long batch: runs that
   * ended do not count. Default 100,000.
   */
  readonly maxConcurrentRuns?: number
  /**
   * The root run's id, e.g. a job or request id; child ids derive from it and their step's position. Give the same id
   * again with the same `journal` to resume a run: its finished durable steps replay instead of running again. Runs in
   * progress at once should have distinct ids: two under one id share their journal entries and a tracer's span.
   */
  readonly runId?: string
  /** Where the tree's durable steps (LLM calls, Functions with `durable: true`) are journaled and replayed from. */
  readonly journal?: StepJournal
  /** Runs the Function elsewhere (on worker processes) and settles as `invoke` would; see `RunExecutor`. */
  readonly executor?: RunExecutor
  /**
   * The run this one belongs to. By default a Function invoked while another one's `run` is executing joins that run's
   * tree (where the runtime has async context, as Node, Bun and Deno do); `null` starts a new tree instead.
   */
  readonly parent?: RunContext | null
}

/**
 * Runs Functions somewhere other than this process — a queue of worker processes, say — and settles with the same
 * typed output or typed error `invoke` would. `fn.invoke(input, { executor })` hands the run to it.
 */
export interface RunExecutor {
  invoke(
    fn: Invocable<unknown, unknown> & { readonly kind: string; describe(): FunctionNode },
    input: unknown,
    options: InvokeOptions,
  ): Promise<unknown>
}

/**
 * What a Function's `run` receives besides its input: everything about the current run, explicitly.
 */
export interface RunContext {
  readonly runId: string
  readonly parentRunId: string | undefined
  /** The step's position from the root, e.g. `0/bad/EmailNotification` ('' for the root). */
  readonly stepPath: string
  /**
   * `<root run id>/<step path>`: the same on every attempt and every re-run of the same root run id, so a side effect
   * written with it as its key happens once. The root run id in it is escaped as step keys are (`%`, `/`, `@` and `#`
   * as `%25`, `%2f`, `%40`, `%23`), so root `a/b` never shares a key with step `b` of root `a`.
   */
  readonly idempotencyKey: string
  /** Name of the Function being run. */
  readonly functionName: string
  /** Attempt number, from 1. */
  readonly attempt: number
  /** Aborts on cancellation, total timeout or attempt timeout; pass it to anything that can be cancelled. */
  readonly signal: AbortSignal
  /**
   * The run's cancellation, which `signal` reflects. Code that needs a deadline of its own (one model call, say) makes
   * a child scope of it — `new CancelScope(context.cancelScope, { timeoutMs })` — instead of linking a second signal.
   */
  readonly cancelScope: CancelScope
  /** Epoch ms by which the run must finish, when it (or a run above it) has a timeout. */
  readonly deadline: number | undefined
  /** A logger bound to this run (`runId`, `function`). */
  readonly logger: Logger
  readonly metadata: Readonly<Record<string, unknown>>
  /** The run tree's budget, if any. */
  readonly budget: Budget | undefined
  /** Tokens and cost spent so far by the whole run tree. */
  readonly treeUsage: Readonly<UsageTotals>
  /** Where this run's streamed parts go when its caller streams it; `undefined` when nobody does. */
  readonly stream: StreamListener | undefined
  /**
   * Runs `fn` as a child of this run: it joins the run tree, and inherits its cancellation, logger, listeners and budget.
   * Never throws: bad options (and an `fn` that is no Function) are a rejected ConfigurationError, as for `invoke`.
   */
  invoke<Input, Output>(fn: Invocable<Input, Output>, input: Input, options?: ChildInvokeOptions): Promise<Output>
  /**
   * Records one model call's usage and cost (`undefined` = unknown) on this run and every ancestor. Like
   * `reserveBudget` and `annotate`, a ConfigurationError once the run has ended: its record was handed out whole.
   */
  addUsage(usage: Usage, costUsd: number | undefined): void
  /**
   * Checks that spending `request` more would stay within the tree's budget, counting what calls in flight have
   * reserved, and reserves it; throws BudgetExceededError otherwise. Call the returned function once the real usage
   * is recorded (or the call failed): a reservation never released stays reserved for the rest of the tree, as
   * `LLMCall` keeps the estimate of a call that failed after the provider may have worked on it. Without a budget it
   * does nothing.
   */
  reserveBudget(request: { readonly tokens: number; readonly costUsd?: number | undefined }): () => void
  /**
   * Records a fact about this run on its run record (e.g. a Decision's choice). A string longer than 1,000 characters
   * is kept cut, with an ellipsis, as an error quotes one. `undefined` withdraws the fact: the record no longer has
   * the key.
   */
  annotate(key: string, value: unknown): void
}
