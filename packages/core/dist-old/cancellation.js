import { abortErrorFor, isAbortSignal } from './errors.js'
import { checkBoolean, checkKnownOptions, checkNumber, maxTimerDelayMs, optionError } from './options.js'

/** A signal that never aborts: what a scope that nothing can cancel hands out. */
const neverAborted = new AbortController().signal
/**
 * One listener on one outside `AbortSignal`, fanning out to every scope linked to it: however many runs share a
 * signal, it holds one listener, and linking or unlinking a scope is O(1).
 */
class SignalLink {
  signal
  scopes = new Set()
  constructor(signal) {
    this.signal = signal
    signal.addEventListener('abort', this, { once: true })
  }
  handleEvent() {
    links.delete(this.signal)
    for (const scope of this.scopes) scope.cancel(this.signal.reason)
    this.scopes.clear()
  }
  remove(scope) {
    this.scopes.delete(scope)
    if (this.scopes.size === 0 && links.get(this.signal) === this) {
      links.delete(this.signal)
      this.signal.removeEventListener('abort', this)
    }
  }
}
const links = new WeakMap()
const scopeOptionKeys = new Set(['signal', 'timeoutMs', 'timeoutReason', 'manual'])
/**
 * The one place tinyllm links cancellation: a scope is cancelled by its parent scope, an outside signal, its own
 * deadline, or by hand, and cancels its children in turn by direct calls, not by a listener per child on a shared
 * signal. Its `AbortSignal` is made only when asked, and a scope that nothing can cancel costs nothing.
 */
export class CancelScope {
  parent
  /** Whether anything can ever cancel this scope. */
  cancellable
  /** Epoch ms by which the scope is cancelled for time: its own deadline or an ancestor's, whichever is sooner. */
  deadline
  /** Set once cancelled: why. */
  reason = undefined
  cancelled = false
  /** The scope whose timer sets `deadline`: the one to expire when it passes. */
  deadlineOwner
  timeoutReason
  children = undefined
  listeners = undefined
  controller = undefined
  /** A scope whose one source of cancellation is an outside signal hands out that signal itself. */
  passthrough = undefined
  link = undefined
  timer = undefined
  /** The delay `timer` was armed with. */
  timerMs = 0
  constructor(parent, options) {
    this.parent = parent
    if (options !== undefined) {
      // One loop over the keys on the hot path; the message (with a suggestion) is built only on a miss.
      for (const key in options)
        if (!scopeOptionKeys.has(key)) checkKnownOptions(options, scopeOptionKeys, 'CancelScope')
      if (options.signal !== undefined && !isAbortSignal(options.signal))
        throw optionError('signal', 'an AbortSignal', options.signal, 'CancelScope')
      if (options.timeoutReason !== undefined && typeof options.timeoutReason !== 'function')
        throw optionError('timeoutReason', 'a function', options.timeoutReason, 'CancelScope')
    }
    const signal = options?.signal
    const timeoutMs = checkNumber(options?.timeoutMs, 'timeoutMs', { min: 0, unit: 'ms' }, 'CancelScope')
    const manual = checkBoolean(options?.manual, 'manual', 'CancelScope') === true
    this.timeoutReason = options?.timeoutReason
    this.cancellable = parent?.cancellable === true || signal !== undefined || timeoutMs !== undefined || manual
    let deadline = parent?.deadline
    let owner = parent?.deadlineOwner
    if (timeoutMs !== undefined && (deadline === undefined || Date.now() + timeoutMs < deadline)) {
      deadline = Date.now() + timeoutMs
      owner = this
    }
    this.deadline = deadline
    this.deadlineOwner = owner
    if (!this.cancellable) return
    if (parent?.cancellable === true) {
      if (parent.cancelled) {
        this.cancel(parent.reason)
        return
      }
      if (parent.children === undefined) parent.children = new Set()
      parent.children.add(this)
    } else if (signal !== undefined && timeoutMs === undefined && !manual) this.passthrough = signal
    if (signal !== undefined && signal !== parent?.controller?.signal) {
      if (signal.aborted) {
        this.cancel(signal.reason)
        return
      }
      let link = links.get(signal)
      if (link === undefined) {
        link = new SignalLink(signal)
        links.set(signal, link)
      }
      link.scopes.add(this)
      this.link = link
    }
    if (owner === this) this.armTimer()
  }
  /** An `AbortSignal` that aborts with this scope, for code outside tinyllm. Made on first use, one per scope. */
  get signal() {
    if (this.passthrough !== undefined) return this.passthrough
    if (this.controller === undefined) {
      if (!this.cancellable) return neverAborted
      this.controller = new AbortController()
      if (this.cancelled) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }
  /** Cancels this scope and every scope under it with `reason`. Later calls do nothing. */
  cancel(reason) {
    if (this.cancelled || !this.cancellable) return
    this.cancelled = true
    this.reason = reason
    this.release()
    // A scope cancelled on its own (its timeout, its signal) leaves its parent, which may live much longer.
    this.parent?.children?.delete(this)
    this.controller?.abort(reason)
    const listeners = this.listeners
    const children = this.children
    this.listeners = undefined
    this.children = undefined
    if (listeners !== undefined) for (const listener of listeners) listener(reason)
    if (children !== undefined) for (const child of children) child.cancel(reason)
  }
  /** Throws the reason when the scope is cancelled, or when its deadline has passed (expiring it first). */
  throwIfCancelled() {
    if (!this.cancelled && this.deadline !== undefined && Date.now() >= this.deadline) this.deadlineOwner?.expire()
    if (this.cancelled) throw this.reason
  }
  /**
   * Settles with `work`, or rejects with the reason as soon as the scope is cancelled, whichever comes first. Work that
   * settles after the deadline passed (its timer not yet run, because the work kept the thread busy) is refused too.
   */
  race(work) {
    if (this.cancelled) {
      silence(work)
      return Promise.reject(this.reason)
    }
    if (!this.cancellable) return Promise.resolve(work)
    return new Promise((resolve, reject) => {
      const listeners = this.listen(reject)
      const settle = (settled) => {
        listeners.delete(reject)
        try {
          this.throwIfCancelled()
        } catch (reason) {
          reject(reason)
          return
        }
        settled()
      }
      work.then(
        (value) => settle(() => resolve(value)),
        (error) => settle(() => reject(error)),
      )
    })
  }
  /** Resolves after `ms`, or rejects with the reason as soon as the scope is cancelled; leaves no timer behind. */
  sleep(ms) {
    if (this.cancelled) return Promise.reject(this.reason)
    return new Promise((resolve, reject) => {
      let timer
      const until = Date.now() + ms
      const onCancel = (reason) => {
        clearTimeout(timer)
        reject(reason)
      }
      const listeners = this.cancellable ? this.listen(onCancel) : undefined
      const wake = () => {
        const left = until - Date.now()
        if (left > 0) timer = setTimeout(wake, Math.min(left, maxTimerDelayMs))
        else {
          listeners?.delete(onCancel)
          resolve()
        }
      }
      timer = setTimeout(wake, Math.min(Math.max(ms, 0), maxTimerDelayMs))
    })
  }
  /** Restarts this scope's own timeout from now (an idle timeout, counted again after each sign of life). */
  restartTimeout(timeoutMs) {
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))
      throw optionError('timeoutMs', 'a number of ms ≥ 0', timeoutMs, 'CancelScope')
    if (this.cancelled || this.deadlineOwner !== this) return
    this.deadline = Date.now() + timeoutMs
    // A refreshed timer waits its first delay again, and re-arms for what is left: a sooner deadline needs a new one.
    if (timeoutMs < this.timerMs) {
      clearTimeout(this.timer)
      this.armTimer()
    } else this.timer?.refresh()
  }
  /** Ends the scope without cancelling it: unlinks it from its parent and its signal, and stops its timer. */
  dispose() {
    if (!this.cancellable || this.cancelled) return
    this.release()
    this.parent?.children?.delete(this)
  }
  listen(listener) {
    if (this.listeners === undefined) this.listeners = new Set()
    this.listeners.add(listener)
    return this.listeners
  }
  release() {
    clearTimeout(this.timer)
    this.timer = undefined
    this.link?.remove(this)
    this.link = undefined
  }
  armTimer() {
    this.timerMs = Math.min(Math.max(this.deadline - Date.now(), 0), maxTimerDelayMs)
    this.timer = setTimeout(() => this.onTimer(), this.timerMs)
  }
  onTimer() {
    this.timer = undefined
    if (this.deadline > Date.now()) this.armTimer()
    else this.expire()
  }
  /** Cancels for time, with the reason `timeoutReason` makes — or what it threw: a timer must never throw. */
  expire() {
    let reason
    try {
      reason = this.timeoutReason === undefined ? new Error('timed out') : this.timeoutReason()
    } catch (thrown) {
      reason = thrown
    }
    this.cancel(reason)
  }
}
/**
 * Resolves after `ms`, or rejects with an AbortError (or the TimeoutError the signal was aborted with) as soon as
 * `signal` aborts; leaves no timer or listener behind, and waits out delays longer than a timer can hold.
 */
export function sleep(ms, signal) {
  let scope
  try {
    checkNumber(ms, 'ms', { min: 0, unit: 'ms' }, 'sleep')
    if (signal !== undefined && !isAbortSignal(signal)) throw optionError('signal', 'an AbortSignal', signal, 'sleep')
    scope = new CancelScope(undefined, { signal })
  } catch (error) {
    return Promise.reject(error)
  }
  const slept = scope.sleep(ms)
  if (!scope.cancellable) return slept
  return slept.then(
    () => scope.dispose(),
    (reason) => {
      throw abortErrorFor(reason)
    },
  )
}
/** True for a promise of any realm and for any other thenable: what `await` would wait for. */
export function isPromiseLike(value) {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof value.then === 'function'
  )
}
function silence(work) {
  try {
    work.then(undefined, () => {})
  } catch {
    // A thenable whose then throws has nothing left to report.
  }
}
//# sourceMappingURL=cancellation.js.map
