import type { Logger, LoggerLike } from '@tinyllm/logger'
import type { LifecycleEvent } from './events.js'
import type { Budget, Usage, UsageTotals } from './usage.js'

/** Options for a child run started from inside a parent's `run`. */
export interface ChildInvokeOptions {
  /** A signal that also cancels the child (the parent's signal always does). */
  readonly signal?: AbortSignal
  /** Merged over the parent's metadata. */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** Anything that can be invoked as a child run: every Function. */
export interface Invocable<Input, Output> {
  readonly name: string
  invoke(input: Input, options?: InvokeOptions): Promise<Output>
}

/** Options of a root or child invocation. */
export interface InvokeOptions extends ChildInvokeOptions {
  /** Overrides the Function's total timeout for this run, in ms. */
  readonly timeoutMs?: number
  /** Logger for this run tree (a tinyllm Logger, a pino instance, …); defaults to the process default (`setDefaultLogger`). */
  readonly logger?: LoggerLike
  /** Receives every lifecycle event of this run and its children. */
  readonly onEvent?: (event: LifecycleEvent) => void
  /** Limit on tokens or cost for the whole run tree. */
  readonly budget?: Budget
  /** Makes this run a child of `parent` (same tree, signal, logger, listeners, budget and usage). */
  readonly parent?: RunContext
}

/**
 * What a Function's `run` receives besides its input: everything about the current run, explicitly.
 */
export interface RunContext {
  readonly runId: string
  readonly parentRunId: string | undefined
  /** Name of the Function being run. */
  readonly functionName: string
  /** Attempt number, from 1. */
  readonly attempt: number
  /** Aborts on cancellation, total timeout or attempt timeout; pass it to anything that can be cancelled. */
  readonly signal: AbortSignal
  /** Epoch ms by which the run must finish, when it has a total timeout. */
  readonly deadline: number | undefined
  /** A logger bound to this run (`runId`, `function`). */
  readonly logger: Logger
  readonly metadata: Readonly<Record<string, unknown>>
  /** The run tree's budget, if any. */
  readonly budget: Budget | undefined
  /** Tokens and cost spent so far by the whole run tree. */
  readonly treeUsage: Readonly<UsageTotals>
  /** Runs `fn` as a child of this run: it joins the run tree, inherits the signal, logger, listeners and budget. */
  invoke<Input, Output>(fn: Invocable<Input, Output>, input: Input, options?: ChildInvokeOptions): Promise<Output>
  /** Records one model call's usage and cost (`undefined` = unknown) on this run and every ancestor. */
  addUsage(usage: Usage, costUsd: number | undefined): void
  /**
   * Checks that spending `request` more would stay within the tree's budget, counting what calls in flight have
   * reserved, and reserves it; throws BudgetExceededError otherwise. Call the returned function once the real usage
   * is recorded (or the call failed). Without a budget it does nothing.
   */
  reserveBudget(request: { readonly tokens: number; readonly costUsd?: number | undefined }): () => void
  /** Records a fact about this run on its run record (e.g. a Decision's choice). */
  annotate(key: string, value: unknown): void
}
