import { getDefaultLogger } from '@tinyllm/logger'
import { abortErrorFor, ConfigurationError, isAbortSignal, reasonOf, safeStringify } from './errors.js'
import {
  checkBoolean,
  checkNumber,
  checkOptionKeys,
  maxTimerDelayMs,
  optionError,
  requireNumber,
  unreadableOption,
} from './options.js'

/**
 * A signal that never aborts: what a scope that nothing can cancel hands out — every run that cannot be cancelled hands
 * it to its code. Shared by all of them, it keeps no listener: one its code adds (to kill a child process on abort,
 * say) could never be called, and would stay for the life of the process instead of going with the run.
 */
const neverAborted: AbortSignal = Object.defineProperties(new AbortController().signal, {
  addEventListener: { value: () => {} },
  removeEventListener: { value: () => {} },
  onabort: { get: () => null, set: () => {} },
})

type CancelListener = (reason: unknown) => void

/**
 * One listener on one outside `AbortSignal`, fanning out to every scope linked to it: however many runs share a
 * signal, it holds one listener, and linking or unlinking a scope is O(1).
 */
class SignalLink {
  readonly signal: AbortSignal
  readonly scopes = new Set<CancelScope>()

  constructor(signal: AbortSignal) {
    this.signal = signal
    signal.addEventListener('abort', this, { once: true })
    links.set(signal, this)
  }

  handleEvent(): void {
    links.delete(this.signal)
    const reason = reasonOf(this.signal)
    for (const scope of this.scopes) scope.cancel(reason)
    this.scopes.clear()
  }

  remove(scope: CancelScope): void {
    this.scopes.delete(scope)
    if (this.scopes.size === 0 && links.get(this.signal) === this) {
      links.delete(this.signal)
      this.signal.removeEventListener('abort', this)
    }
  }
}

const links = new WeakMap<AbortSignal, SignalLink>()

/** A delay must be a number of ms ≥ 0: a string would be added to the clock as text, and `NaN` warn. */
const delayRule = { min: 0, unit: 'ms' } as const
const scopeOptionKeys: ReadonlySet<string> = new Set(['signal', 'timeoutMs', 'deadline', 'timeoutReason', 'manual'])

/** Options of a {@link CancelScope}. */
export interface CancelScopeOptions {
  /** An outside signal that also cancels the scope (with its reason). */
  readonly signal?: AbortSignal | undefined
  /** Cancels the scope after this many ms (re-armed past the 2³¹−1 ms limit of timers). */
  readonly timeoutMs?: number | undefined
  /**
   * Cancels the scope at this epoch ms (with `timeoutMs`, at whichever comes first); the scope's `deadline` is then this
   * very number, not one worked out again from the time left.
   */
  readonly deadline?: number | undefined
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
export class CancelScope {
  // Read-only to code outside, as the fields below: a scope made not cancellable would outlive its timeout.
  readonly #parent: CancelScope | undefined
  readonly #cancellable: boolean
  // Read-only to code outside: one run's code must not cancel, or uncancel, a scope other runs share.
  #deadline: number | undefined = undefined
  #reason: unknown = undefined
  #cancelled = false
  /** The scope whose timer sets `deadline`: the one to expire when it passes. */
  private deadlineOwner: CancelScope | undefined
  /** Epoch ms of this scope's own timeout, if it has one, whether or not an ancestor's deadline comes sooner. */
  private ownDeadline: number | undefined = undefined
  /** The `deadline` option: epoch ms past which no restart of the timeout moves `ownDeadline`. */
  private readonly fixedDeadline: number | undefined
  /** Whether the scope was given a `timeoutMs`: a `deadline` alone is no timeout, and has nothing to restart. */
  private readonly timed: boolean
  private readonly timeoutReason: (() => unknown) | undefined
  private children: Set<CancelScope> | undefined = undefined
  private listeners: Set<CancelListener> | undefined = undefined
  private controller: AbortController | undefined = undefined
  private link: SignalLink | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** The delay `timer` was armed with. */
  private timerMs = 0
  /** Disposed while scopes under it lived: it lets go when they have all left. */
  private disposed = false

  constructor(parent: CancelScope | undefined, options?: CancelScopeOptions) {
    // By its private state, not its prototype: a lookalike (a Proxy, `Object.create(CancelScope.prototype)`) would
    // pass `instanceof`, or throw from it, and fail later as a TypeError.
    if (parent !== undefined && !CancelScope.#isScope(parent))
      throw optionError('parent', 'a CancelScope or undefined', parent, 'CancelScope')
    this.#parent = parent
    let signal: AbortSignal | undefined
    let timeoutMs: number | undefined
    let deadline: number | undefined
    let manual = false
    let timeoutReason: (() => unknown) | undefined
    if (options !== undefined) {
      try {
        // A list, a Map or a Set (no plain object) is refused by the key check below.
        if (typeof options !== 'object' || options === null)
          throw optionError(
            'options',
            '{ signal?, timeoutMs?, deadline?, timeoutReason?, manual? }',
            options,
            'CancelScope',
          )
        checkOptionKeys(options, scopeOptionKeys, 'CancelScope')
        // Read once: what was checked is what is used.
        signal = options.signal
        timeoutReason = options.timeoutReason
        if (signal !== undefined && !isAbortSignal(signal))
          throw optionError('signal', 'an AbortSignal', signal, 'CancelScope')
        if (timeoutReason !== undefined && typeof timeoutReason !== 'function')
          throw optionError('timeoutReason', 'a function', timeoutReason, 'CancelScope')
        timeoutMs = checkNumber(options.timeoutMs, 'timeoutMs', { min: 0, unit: 'ms' }, 'CancelScope')
        deadline = checkNumber(options.deadline, 'deadline', { min: 0, unit: 'epoch ms' }, 'CancelScope')
        manual = checkBoolean(options.manual, 'manual', 'CancelScope') === true
      } catch (error) {
        // Options whose reading throws (a getter, a Proxy) are bad options too.
        throw unreadableOption(error, 'options', 'CancelScope')
      }
    }
    this.timeoutReason = timeoutReason
    this.#cancellable =
      parent?.cancellable === true ||
      signal !== undefined ||
      timeoutMs !== undefined ||
      deadline !== undefined ||
      manual
    this.fixedDeadline = deadline
    this.timed = timeoutMs !== undefined
    if (timeoutMs !== undefined || deadline !== undefined) this.ownDeadline = this.soonest(timeoutMs)
    this.takeDeadline()
    if (!this.cancellable) return
    if (parent?.cancelled === true) {
      this.cancel(parent.reason)
      return
    }
    // The signal is linked before the scope joins its parent: a lookalike signal that throws leaves nothing behind.
    if (signal !== undefined && signal !== parent?.controller?.signal) {
      if (signal.aborted) {
        this.cancel(reasonOf(signal))
        return
      }
      const link = links.get(signal) ?? new SignalLink(signal)
      link.scopes.add(this)
      this.link = link
    }
    if (parent?.cancellable === true) {
      if (parent.children === undefined) parent.children = new Set()
      parent.children.add(this)
    }
    if (this.deadlineOwner === this) this.armTimer()
  }

  /** The scope whose cancellation cancels this one. */
  get parent(): CancelScope | undefined {
    return this.#parent
  }

  /** Whether anything can ever cancel this scope. */
  get cancellable(): boolean {
    return this.#cancellable
  }

  /** Epoch ms by which the scope is cancelled for time: its own deadline or an ancestor's, whichever is sooner. */
  get deadline(): number | undefined {
    return this.#deadline
  }

  /** Set once cancelled: why. */
  get reason(): unknown {
    return this.#reason
  }

  /** Whether the scope has been cancelled. */
  get cancelled(): boolean {
    return this.#cancelled
  }

  /** Whether `deadline` is this scope's own timeout, not an ancestor's. */
  get ownsDeadline(): boolean {
    return this.deadlineOwner === this
  }

  /**
   * What this scope will be cancelled with when its deadline passes: the reason of the scope whose timeout it is (this
   * one's, or an ancestor's); `undefined` without a deadline.
   */
  deadlineReason(): unknown {
    return this.deadlineOwner?.timeReason()
  }

  /**
   * An `AbortSignal` that aborts with this scope, for code outside tinyllm. Made on first use, one per scope: never the
   * outside signal itself, which a scope cancelled by hand could not abort.
   */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      if (!this.cancellable) return neverAborted
      this.controller = new AbortController()
      if (this.cancelled) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  /**
   * Cancels this scope and every scope under it with `reason`, the scopes under it first (so the runs nested in a run
   * end before it). Later calls do nothing, and so does a call on a scope nothing can cancel (made without a parent that
   * can be, a signal, a timeout or `manual: true`). Without a reason, the reason is an AbortError: what the scope's work
   * rejects with is an error, never `undefined`.
   */
  cancel(reason?: unknown): void {
    if (this.cancelled || !this.cancellable) return
    if (reason === undefined) reason = abortErrorFor(undefined)
    this.#cancelled = true
    this.#reason = reason
    this.release()
    // A scope cancelled on its own (its timeout, its signal) leaves its parent, which may live much longer.
    this.leave()
    this.controller?.abort(reason)
    const listeners = this.listeners
    const children = this.children
    this.listeners = undefined
    this.children = undefined
    // The scopes under it first: the runs nested in this one end before it does, so a reader of lifecycle events or a
    // run record never sees a run end while a run under it still goes on.
    if (children !== undefined) for (const child of children) child.cancel(reason)
    if (listeners !== undefined) for (const listener of listeners) notify(listener, reason)
  }

  /** Throws the reason when the scope is cancelled, or when its deadline has passed (expiring it first). */
  throwIfCancelled(): void {
    if (!this.cancelled && this.deadline !== undefined && Date.now() >= this.deadline) this.deadlineOwner?.expire()
    if (this.cancelled) throw this.reason
  }

  /**
   * Settles with `work`, or rejects with the reason as soon as the scope is cancelled, whichever comes first. Work that
   * settles after the deadline passed (its timer not yet run, because the work kept the thread busy) is refused too.
   */
  race<T>(work: PromiseLike<T>): Promise<T> {
    if (!CancelScope.#isScope(this)) return detached('race')
    let thenable: boolean
    try {
      thenable = isPromiseLike(work)
    } catch (error) {
      // A `then` that cannot be read (a getter that throws, a revoked Proxy): rejected with it, as `await` would be.
      return Promise.reject(error)
    }
    if (!thenable) return Promise.reject(optionError('work', 'a promise', work, 'CancelScope.race'))
    if (this.cancelled) {
      silence(work)
      return Promise.reject(this.reason)
    }
    if (!this.cancellable) return Promise.resolve(work)
    return new Promise<T>((resolve, reject) => {
      this.listen(reject)
      const settle = (settled: () => void): void => {
        this.unlisten(reject)
        try {
          this.throwIfCancelled()
          // Resolving or rejecting never throws: what is caught is the cancellation.
          settled()
        } catch (reason) {
          reject(reason)
        }
      }
      try {
        work.then(
          (value) => settle(() => resolve(value)),
          (error: unknown) => settle(() => reject(error)),
        )
      } catch (error) {
        // A `then` that throws settles the race now: its listener must not stay on a scope that may live long.
        settle(() => reject(error))
      }
    })
  }

  /**
   * Resolves after `ms`, or rejects with the reason as soon as the scope is cancelled; leaves no timer behind. A delay
   * that is not a number ≥ 0 is a rejected ConfigurationError.
   */
  sleep(ms: number): Promise<void> {
    if (!CancelScope.#isScope(this)) return detached('sleep')
    try {
      requireNumber(ms, 'ms', delayRule, 'CancelScope')
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.cancelled) return Promise.reject(this.reason)
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const until = Date.now() + ms
      const onCancel = (reason: unknown): void => {
        clearTimeout(timer)
        reject(reason)
      }
      this.listen(onCancel)
      const wake = (): void => {
        const left = until - Date.now()
        if (left > 0) timer = setTimeout(wake, Math.min(left, maxTimerDelayMs))
        else {
          this.unlisten(onCancel)
          resolve()
        }
      }
      timer = setTimeout(wake, Math.min(Math.max(ms, 0), maxTimerDelayMs))
    })
  }

  /** Whether `value` is a scope of this class: never throws (for a Proxy, or a revoked one, it is false). */
  static #isScope(value: unknown): boolean {
    return typeof value === 'object' && value !== null && #cancelled in value
  }

  /**
   * Restarts this scope's own timeout from now (an idle timeout, counted again after each sign of life); the scopes
   * under it see the new deadline, never one past the scope's `deadline` option. A scope without a timeout of its own
   * (none, or only a `deadline`) has none to restart.
   */
  restartTimeout(timeoutMs: number): void {
    requireNumber(timeoutMs, 'timeoutMs', { min: 0, unit: 'ms' }, 'CancelScope')
    // A disposed scope's owner has ended: a timer armed now would cancel what it holds on for, later.
    if (this.cancelled || this.disposed || !this.timed) return
    this.ownDeadline = this.soonest(timeoutMs)
    this.refreshDeadline()
  }

  /**
   * Ends the scope without cancelling it: unlinks it from its parent and its signal, and stops its timer. While scopes
   * under it live (work its owner left running), it holds on for them — its signal and deadline still cancel them — and
   * lets go when the last one ends.
   */
  dispose(): void {
    if (!this.cancellable || this.cancelled) return
    this.disposed = true
    if (this.children !== undefined && this.children.size > 0) return
    this.release()
    this.leave()
  }

  /** Leaves its parent: one disposed while this scope lived lets go once its last child has left. */
  private leave(): void {
    const parent = this.parent
    if (parent?.children === undefined) return
    parent.children.delete(this)
    if (parent.disposed && parent.children.size === 0) parent.dispose()
  }

  /**
   * Calls `listener` with the reason when this scope is cancelled — at once, if it already is (never, for a scope
   * nothing can cancel). One that throws is logged through the default logger, and cancellation goes on: the listeners
   * and scopes after it hear it.
   */
  listen(listener: CancelListener): void {
    if (typeof listener !== 'function') throw optionError('listener', 'a function', listener, 'CancelScope.listen')
    if (this.cancelled) notify(listener, this.reason)
    if (this.cancelled || !this.cancellable) return
    if (this.listeners === undefined) this.listeners = new Set()
    this.listeners.add(listener)
  }

  /** Removes a listener given to {@link listen}. */
  unlisten(listener: CancelListener): void {
    this.listeners?.delete(listener)
  }

  private release(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.link?.remove(this)
    this.link = undefined
  }

  /**
   * Takes the sooner of its own deadline and its parent's again, with the timer that goes with it, and passes the
   * change on to the scopes under it, whose deadline may be this one's.
   */
  private refreshDeadline(): void {
    const owned = this.deadlineOwner === this && this.timer !== undefined
    if (this.takeDeadline()) {
      // A refreshed timer waits its first delay again, and re-arms for what is left: a sooner deadline needs a new one.
      if (owned && (this.deadline as number) - Date.now() >= this.timerMs) this.timer?.refresh()
      else {
        clearTimeout(this.timer)
        this.armTimer()
      }
    } else {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.children !== undefined) for (const child of this.children) child.refreshDeadline()
  }

  /** The sooner of `timeoutMs` from now and the scope's `deadline` option (which a restart never moves). */
  private soonest(timeoutMs: number | undefined): number {
    const fromNow = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs
    return this.fixedDeadline !== undefined && this.fixedDeadline <= fromNow ? this.fixedDeadline : fromNow
  }

  /** Takes the sooner of its own deadline and its parent's, and the scope that owns it; true when its own is sooner. */
  private takeDeadline(): boolean {
    const own = this.ownDeadline
    const inherited = this.parent?.deadline
    const mine = own !== undefined && (inherited === undefined || own < inherited)
    this.#deadline = mine ? own : inherited
    this.deadlineOwner = mine ? this : this.parent?.deadlineOwner
    return mine
  }

  private armTimer(): void {
    this.timerMs = Math.min(Math.max((this.deadline as number) - Date.now(), 0), maxTimerDelayMs)
    this.timer = setTimeout(() => this.onTimer(), this.timerMs)
  }

  private onTimer(): void {
    this.timer = undefined
    if ((this.deadline as number) > Date.now()) this.armTimer()
    else this.expire()
  }

  /** Cancels for time, with the reason `timeoutReason` makes — or what it threw: a timer must never throw. */
  private expire(): void {
    this.cancel(this.timeReason())
  }

  /** The reason `timeoutReason` makes — or what it threw: a timer must never throw. */
  private timeReason(): unknown {
    try {
      return this.timeoutReason === undefined ? new Error('timed out') : this.timeoutReason()
    } catch (thrown) {
      return thrown
    }
  }
}

/**
 * What `race` and `sleep` reject with when called apart from their scope (`const { sleep } = scope`) or on another
 * object: they are async, and refuse what they cannot do as every async entry point does, never with a TypeError thrown.
 */
function detached(method: 'race' | 'sleep'): Promise<never> {
  return Promise.reject(
    new ConfigurationError({
      option: 'this',
      message: `${method} must be called on a CancelScope (scope.${method}(…)), not detached from it or on another object`,
      functionName: 'CancelScope',
    }),
  )
}

/**
 * Resolves after `ms`, or rejects with an AbortError (or the TimeoutError the signal was aborted with) as soon as
 * `signal` aborts; leaves no timer or listener behind, and waits out delays longer than a timer can hold.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  let scope: CancelScope
  try {
    requireNumber(ms, 'ms', delayRule, 'sleep')
    if (signal !== undefined && !isAbortSignal(signal)) throw optionError('signal', 'an AbortSignal', signal, 'sleep')
    scope = new CancelScope(undefined, { signal })
  } catch (error) {
    // A signal that throws when listened to (a lookalike) is a bad option too.
    return Promise.reject(unreadableOption(error, 'signal', 'sleep'))
  }
  const slept = scope.sleep(ms)
  if (!scope.cancellable) return slept
  return slept.then(
    () => scope.dispose(),
    (reason: unknown) => {
      throw abortErrorFor(reason)
    },
  )
}

/**
 * True for a promise of any realm and for any other thenable: what `await` would wait for. Throws what reading `then`
 * throws (a getter, a revoked Proxy), where `await` would reject with it.
 */
export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * A callback's answer that should have been true or false, as an error shows it. A promise (an async callback) is
 * named so, and handled: awaited by nobody, its rejection would be an unhandled one, which ends the process. Throws
 * what reading `then` throws.
 */
export function describeNonBoolean(answer: unknown): string {
  if (!isPromiseLike(answer)) return safeStringify(answer, 60)
  silence(answer)
  return 'a promise (it cannot be async)'
}

/** Handles a promise nobody will await, so that its rejection is no unhandled rejection that ends the process. */
function silence(work: PromiseLike<unknown>): void {
  try {
    work.then(undefined, () => {})
  } catch {
    // A thenable whose then throws has nothing left to report.
  }
}

/** Hands a cancellation to a listener; what it throws is logged, never thrown into whatever cancelled the scope. */
function notify(listener: CancelListener, reason: unknown): void {
  try {
    listener(reason)
  } catch (error) {
    try {
      getDefaultLogger().error('a cancellation listener threw; cancellation goes on', { error })
    } catch {
      // A logger that throws too has nowhere left to report to; the other listeners must still hear it.
    }
  }
}
