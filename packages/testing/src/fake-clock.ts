import { checkNumber, optionError, StepLimitError } from '@tinyllm/core'

interface FakeTimer {
  readonly at: number
  readonly order: number
  readonly callback: () => void
}

/**
 * A clock that moves only when the test says so, for a `RateLimiter`'s `clock` option (it has `now`, `setTimeout` and
 * `clearTimeout`): a test of waits and cool-downs runs in no time and the same on a busy machine as on an idle one.
 * Timers fire in time order, those due at the same time in the order they were set, and promise callbacks run after
 * each; `time` starts at 0.
 *
 * @example
 * const clock = new FakeClock()
 * const limiter = new RateLimiter({ requestsPerMinute: 1, clock })
 * await limiter.acquire()
 * const second = limiter.acquire() // waits for the minute to pass
 * await clock.advance(60_000)
 * await second // clock.time is 60,000
 */
export class FakeClock {
  /** The time now, in milliseconds. */
  time = 0
  readonly #timers = new Map<number, FakeTimer>()
  #lastId = 0

  /** The time now, in milliseconds (`time`). */
  now(): number {
    return this.time
  }

  /**
   * Sets a timer to fire `ms` from now (a negative `ms`, or one that is no number such as NaN, as 0: a timer at NaN
   * would fire first and make the time NaN); answers its handle for `clearTimeout`. A `callback` that is not a function
   * is a ConfigurationError here, not a TypeError of the `advance` that would fire it.
   */
  setTimeout(callback: () => void, ms: number): unknown {
    if (typeof callback !== 'function') throw optionError('callback', 'a function', callback, 'FakeClock.setTimeout')
    this.#lastId += 1
    const delay = typeof ms === 'number' && ms > 0 ? ms : 0
    this.#timers.set(this.#lastId, { at: this.time + delay, order: this.#lastId, callback })
    return this.#lastId
  }

  /** Clears the timer of `handle`, if it has not fired. */
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  /** How many timers are set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size
  }

  /** Fires the earliest timer (moving time to it) and lets promise callbacks run; false when none is left. */
  async step(): Promise<boolean> {
    return this.#fireFirst(Number.POSITIVE_INFINITY)
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way, and lets promise callbacks run after each. An `ms`
   * that is not a finite number ≥ 0 (NaN, negative, Infinity) is a ConfigurationError and moves nothing; more than
   * `limit` timers fired on the way is a StepLimitError (a timer that sets itself again without moving time). A
   * `limit` that is not a whole number ≥ 1 (or Infinity) is a ConfigurationError too: a NaN would never be reached, and
   * a timer that sets itself again would hang the test.
   */
  async advance(ms: number, limit = 1_000_000): Promise<void> {
    // Checked before anything moves: NaN would fire every timer and leave the time NaN, a negative ms turn it back.
    if (ms === undefined) throw optionError('ms', 'a number of ms ≥ 0', ms, 'FakeClock.advance')
    const until = this.time + (checkNumber(ms, 'ms', { min: 0, unit: 'ms' }, 'FakeClock.advance') as number)
    checkLimit(limit, 'FakeClock.advance')
    for (let fired = 0; await this.#fireFirst(until); fired++) {
      if (fired >= limit) throw timerLimit(limit, 'FakeClock.advance')
    }
    this.time = until
    await this.flush()
  }

  /**
   * Fires timers until none is left; more than `limit` of them is a StepLimitError (a timer that sets itself again). A
   * `limit` that is not a whole number ≥ 1 (or Infinity) is a ConfigurationError, and fires nothing.
   */
  async runAll(limit = 1_000_000): Promise<void> {
    checkLimit(limit, 'FakeClock.runAll')
    for (let fired = 0; fired < limit; fired++) if (!(await this.step())) return
    throw timerLimit(limit, 'FakeClock.runAll')
  }

  /** Lets every pending promise callback run. */
  flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve))
  }

  async #fireFirst(until: number): Promise<boolean> {
    let first: [number, FakeTimer] | undefined
    for (const entry of this.#timers) {
      const timer = entry[1]
      if (timer.at > until) continue
      if (first === undefined || timer.at < first[1].at || (timer.at === first[1].at && timer.order < first[1].order))
        first = entry
    }
    if (first === undefined) return false
    this.#timers.delete(first[0])
    this.time = Math.max(this.time, first[1].at)
    first[1].callback()
    await this.flush()
    return true
  }
}

/** The most timers one `advance` or `runAll` fires: a whole number ≥ 1, or Infinity for no limit. */
function checkLimit(limit: unknown, owner: string): void {
  checkNumber(limit, 'limit', { integer: true, min: 1, orInfinity: true }, owner)
}

/** More timers fired in one `advance` or `runAll` than its `limit`: a timer that sets itself again, most likely. */
function timerLimit(limit: number, owner: string): StepLimitError {
  return new StepLimitError({ limit, what: 'timers', functionName: owner })
}
