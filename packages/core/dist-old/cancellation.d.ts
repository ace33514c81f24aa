/** Options of a {@link CancelScope}. */
export interface CancelScopeOptions {
  /** An outside signal that also cancels the scope (with its reason). */
  readonly signal?: AbortSignal | undefined
  /** Cancels the scope after this many ms (re-armed past the 2³¹−1 ms limit of timers). */
  readonly timeoutMs?: number | undefined
  /** Makes the reason a timeout cancels with (what it throws, if it throws); default a plain `Error`. */
  readonly timeoutReason?: (() => unknown) | undefined
  /** Whether the scope will be cancelled by hand (`cancel()`) even without a signal or timeout. */
  readonly manual?: boolean
}
/**
 * The one place tinyllm links cancellation: a scope is cancelled by its parent scope, an outside signal, its own
 * deadline, or by hand, and cancels its children in turn by direct calls, not by a listener per child on a shared
 * signal. Its `AbortSignal` is made only when asked, and a scope that nothing can cancel costs nothing.
 */
export declare class CancelScope {
  readonly parent: CancelScope | undefined
  /** Whether anything can ever cancel this scope. */
  readonly cancellable: boolean
  /** Epoch ms by which the scope is cancelled for time: its own deadline or an ancestor's, whichever is sooner. */
  deadline: number | undefined
  /** Set once cancelled: why. */
  reason: unknown
  cancelled: boolean
  /** The scope whose timer sets `deadline`: the one to expire when it passes. */
  private readonly deadlineOwner
  private readonly timeoutReason
  private children
  private listeners
  private controller
  /** A scope whose one source of cancellation is an outside signal hands out that signal itself. */
  private passthrough
  private link
  private timer
  /** The delay `timer` was armed with. */
  private timerMs
  constructor(parent: CancelScope | undefined, options?: CancelScopeOptions)
  /** An `AbortSignal` that aborts with this scope, for code outside tinyllm. Made on first use, one per scope. */
  get signal(): AbortSignal
  /** Cancels this scope and every scope under it with `reason`. Later calls do nothing. */
  cancel(reason: unknown): void
  /** Throws the reason when the scope is cancelled, or when its deadline has passed (expiring it first). */
  throwIfCancelled(): void
  /**
   * Settles with `work`, or rejects with the reason as soon as the scope is cancelled, whichever comes first. Work that
   * settles after the deadline passed (its timer not yet run, because the work kept the thread busy) is refused too.
   */
  race<T>(work: PromiseLike<T>): Promise<T>
  /** Resolves after `ms`, or rejects with the reason as soon as the scope is cancelled; leaves no timer behind. */
  sleep(ms: number): Promise<void>
  /** Restarts this scope's own timeout from now (an idle timeout, counted again after each sign of life). */
  restartTimeout(timeoutMs: number): void
  /** Ends the scope without cancelling it: unlinks it from its parent and its signal, and stops its timer. */
  dispose(): void
  private listen
  private release
  private armTimer
  private onTimer
  /** Cancels for time, with the reason `timeoutReason` makes — or what it threw: a timer must never throw. */
  private expire
}
/**
 * Resolves after `ms`, or rejects with an AbortError (or the TimeoutError the signal was aborted with) as soon as
 * `signal` aborts; leaves no timer or listener behind, and waits out delays longer than a timer can hold.
 */
export declare function sleep(ms: number, signal?: AbortSignal): Promise<void>
/** True for a promise of any realm and for any other thenable: what `await` would wait for. */
export declare function isPromiseLike<T>(value: unknown): value is PromiseLike<T>
//# sourceMappingURL=cancellation.d.ts.map
