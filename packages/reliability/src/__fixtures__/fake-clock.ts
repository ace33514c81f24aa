import type { RateLimiterClock } from '@tinyllm/llm'

interface FakeTimer {
  readonly at: number
  readonly order: number
  readonly callback: () => void
}

/** A clock for a RateLimiter that moves only when the test says so; its timers fire in time order. */
export class FakeClock implements RateLimiterClock {
  time = 0
  readonly #timers = new Map<number, FakeTimer>()
  #nextId = 0

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.#nextId += 1
    this.#timers.set(this.#nextId, { at: this.time + Math.max(0, ms), order: this.#nextId, callback })
    return this.#nextId
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  /** Moves time forward by `ms`, firing every timer due on the way, and lets promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms
    for (;;) {
      let due: [number, FakeTimer] | undefined
      for (const entry of this.#timers) {
        const timer = entry[1]
        if (timer.at > until) continue
        if (due === undefined || timer.at < due[1].at || (timer.at === due[1].at && timer.order < due[1].order)) {
          due = entry
        }
      }
      if (due === undefined) break
      this.#timers.delete(due[0])
      this.time = Math.max(this.time, due[1].at)
      due[1].callback()
      await settle()
    }
    this.time = until
    await settle()
  }
}

/** Lets every pending promise callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
