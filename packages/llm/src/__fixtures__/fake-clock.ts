import type { RateLimiterClock } from '../rate-limiter.js'

interface FakeTimer {
  readonly at: number
  readonly order: number
  readonly callback: () => void
}

/** A manual clock for rate-limiter tests: time moves only when the test says so, timers fire in order. */
export class FakeClock implements RateLimiterClock {
  time = 0
  private readonly timers = new Map<number, FakeTimer>()
  private nextId = 0

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.nextId += 1
    this.timers.set(this.nextId, { at: this.time + Math.max(0, ms), order: this.nextId, callback })
    return this.nextId
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  get pendingTimers(): number {
    return this.timers.size
  }

  /** Fires the earliest timer (moving time to it) and lets promise callbacks run; false when none is left. */
  async step(): Promise<boolean> {
    let first: [number, FakeTimer] | undefined
    for (const entry of this.timers) {
      if (
        first === undefined ||
        entry[1].at < first[1].at ||
        (entry[1].at === first[1].at && entry[1].order < first[1].order)
      ) {
        first = entry
      }
    }
    if (first === undefined) return false
    this.timers.delete(first[0])
    this.time = Math.max(this.time, first[1].at)
    first[1].callback()
    await flush()
    return true
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms
    for (;;) {
      let due: FakeTimer | undefined
      for (const timer of this.timers.values())
        if (timer.at <= until && (due === undefined || timer.at < due.at)) due = timer
      if (due === undefined) break
      await this.step()
    }
    this.time = until
    await flush()
  }

  /** Fires timers until none is left. */
  async runAll(limit = 1_000_000): Promise<void> {
    for (let steps = 0; steps < limit; steps++) if (!(await this.step())) return
    throw new Error('FakeClock.runAll: too many timers')
  }
}

/** Lets every pending promise callback run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
