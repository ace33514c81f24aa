import { checkNumber, optionError, StepLimitError } from '@tinyllm/core'

/** The longest delay a timer can wait (2³¹−1 ms); Node's `setTimeout` fires a longer one at once, after 1 ms. */
const maxTimerDelayMs = 2_147_483_647

interface FakeTimer {
  readonly at: number
  readonly order: number
  readonly callback: () => void
}

/**
 * A clock that moves only when the test says so, for a `RateLimiter`'s `clock` option (it has `now`, `setTimeout` and
 * `clearTimeout`): a test of waits and cool-downs runs in no time and the same on a busy machine as on an idle one.
 * Timers fire in time order, those due at the same time in the order they were set, and promise callbacks run after
 * each; `time` starts at 0 and never goes back. Calls that move time (`advance`, `step`, `runAll`) made while another
 * is still running wait for it and then run in the order they were made, as if each had been awaited in turn: two
 * overlapping advances of 100 and 50 ms move time by 150, the first resolving at 100 and the second at 150.
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
  /** Settles when the last call that moves time has finished: the next one starts then. */
  #moving: Promise<unknown> = Promise.resolve()

  /** The time now, in milliseconds (`time`). */
  now(): number {
    return this.time
  }

  /**
   * Sets a timer to fire `ms` from now; answers its handle for `clearTimeout`. An `ms` that is not a number of ms from 0
   * to 2³¹−1 counts as 0: NaN or a negative one (a timer at NaN would fire first and make the time NaN), and Infinity
   * or one longer than a timer can wait, which Node's own `setTimeout` fires at once (a timer at Infinity would move
   * the time there for good). A `callback` that is not a function is a ConfigurationError here, not a TypeError of the
   * `advance` that would fire it.
   */
  setTimeout(callback: () => void, ms: number): unknown {
    if (typeof callback !== 'function') throw optionError('callback', 'a function', callback, 'FakeClock.setTimeout')
    this.#lastId += 1
    const delay = typeof ms === 'number' && ms > 0 && ms <= maxTimerDelayMs ? ms : 0
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

  /**
   * Fires the earliest timer (moving time to it) and lets promise callbacks run; false when none is left. Made while
   * another call moves time, it waits for that call to finish.
   */
  step(): Promise<boolean> {
    return this.#inTurn(() => this.#fireFirst(Number.POSITIVE_INFINITY))
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way, and lets promise callbacks run after each. An `ms`
   * that is not a finite number ≥ 0 (NaN, negative, Infinity) is a ConfigurationError and moves nothing; more than
   * `limit` timers fired on the way is a StepLimitError (a timer that sets itself again without moving time). A
   * `limit` that is not a whole number ≥ 1 (or Infinity) is a ConfigurationError too: a NaN would never be reached, and
   * a timer that sets itself again would hang the test. Made while another call moves time, it waits for that call to
   * finish and then moves `ms` from where that one left the time (a bad `ms` or `limit` is refused at once).
   */
  async advance(ms: number, limit = 1_000_000): Promise<void> {
    // Checked before anything moves: NaN would fire every timer and leave the time NaN, a negative ms turn it back.
    if (ms === undefined) throw optionError('ms', 'a number of ms ≥ 0', ms, 'FakeClock.advance')
    const by = checkNumber(ms, 'ms', { min: 0, unit: 'ms' }, 'FakeClock.advance') as number
    checkLimit(limit, 'FakeClock.advance')
    return this.#inTurn(async () => {
      // Read in its turn, not when called: an advance that started from an earlier time would end by turning it back.
      const until = this.time + by
      for (let fired = 0; await this.#fireFirst(until); fired++) {
        if (fired >= limit) throw timerLimit(limit, 'FakeClock.advance')
      }
      this.time = until
      await this.flush()
    })
  }

  /**
   * Fires timers until none is left; more than `limit` of them is a StepLimitError (a timer that sets itself again). A
   * `limit` that is not a whole number ≥ 1 (or Infinity) is a ConfigurationError, and fires nothing. Made while another
   * call moves time, it waits for that call to finish.
   */
  async runAll(limit = 1_000_000): Promise<void> {
    checkLimit(limit, 'FakeClock.runAll')
    return this.#inTurn(async () => {
      for (let fired = 0; fired < limit; fired++) if (!(await this.#fireFirst(Number.POSITIVE_INFINITY))) return
      throw timerLimit(limit, 'FakeClock.runAll')
    })
  }

  /** Lets every pending promise callback run. */
  flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve))
  }

  /**
   * Runs `move` once every call that moves time made before it has finished, failed or not, and the promise callbacks
   * of whoever awaited that call have run: the code after `await clock.advance(100)` sees the time at 100.
   */
  #inTurn<T>(move: () => Promise<T>): Promise<T> {
    const moved = this.#moving.then(move)
    const settled = (): Promise<void> => this.flush()
    this.#moving = moved.then(settled, settled)
    return moved
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
