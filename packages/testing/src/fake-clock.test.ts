import { ConfigurationError, StepLimitError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { FakeClock } from './fake-clock.js'

describe('FakeClock', () => {
  it('fires timers in time order, those due together in the order they were set, only as time is moved', async () => {
    const clock = new FakeClock()
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20)
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10)
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20)
    const cleared = clock.setTimeout(() => fired.push('cleared'), 5)
    clock.clearTimeout(cleared)
    expect(clock.pendingTimers).toBe(3)
    await clock.advance(15)
    expect([fired, clock.now()]).toEqual([['a@10'], 15])
    await clock.advance(5)
    expect([fired, clock.now(), clock.pendingTimers]).toEqual([['a@10', 'b@20', 'c@20'], 20, 0])
  })

  it('lets promise callbacks run after each timer, so a timer set by one fires in the same advance', async () => {
    const clock = new FakeClock()
    const fired: number[] = []
    const wait = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms))
    void (async () => {
      for (let turn = 0; turn < 3; turn++) {
        await wait(10)
        fired.push(clock.now())
      }
    })()
    await clock.advance(30)
    expect(fired).toEqual([10, 20, 30])
  })

  it('steps to the next timer, runs every one left, and refuses a timer that sets itself forever', async () => {
    const clock = new FakeClock()
    clock.setTimeout(() => {}, 1_000)
    expect([await clock.step(), clock.now(), await clock.step()]).toEqual([true, 1_000, false])
    const again = (): void => {
      clock.setTimeout(again, 1)
    }
    again()
    const ran = clock.runAll(50)
    await expect(ran).rejects.toSatisfy(StepLimitError.isInstance)
    await expect(ran).rejects.toThrow('FakeClock.runAll: step limit of 50 timers reached')
  })

  it('refuses to move by NaN, a negative or an infinite time, and keeps its time a number', async () => {
    const clock = new FakeClock()
    const fired: number[] = []
    clock.setTimeout(() => fired.push(clock.now()), 10)
    for (const ms of [Number.NaN, -10, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      const moved = clock.advance(ms)
      await expect(moved).rejects.toThrow(ConfigurationError)
      await expect(moved).rejects.toThrow('FakeClock.advance')
    }
    expect([clock.now(), fired, clock.pendingTimers]).toEqual([0, [], 1])
    // A delay that is no number of ms fires as one of 0 does, as a negative one does: time stays a number.
    clock.setTimeout(() => fired.push(clock.now()), Number.NaN)
    expect([await clock.step(), clock.now(), fired]).toEqual([true, 0, [0]])
    await clock.advance(10)
    expect([clock.now(), fired]).toEqual([10, [0, 10]])
  })

  it('runs overlapping advances one after another: two of 100 and 50 ms move time by 150, never back', async () => {
    const clock = new FakeClock()
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 30)
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 120)
    const done: string[] = []
    await Promise.all([
      clock.advance(100).then(() => done.push(`100@${clock.now()}`)),
      clock.advance(50).then(() => done.push(`50@${clock.now()}`)),
    ])
    expect([clock.now(), fired, done]).toEqual([150, ['a@30', 'b@120'], ['100@100', '50@150']])
    // A step or a runAll made while an advance runs waits for it too, rather than being walked back by its end.
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 500)
    await Promise.all([clock.advance(100), clock.step()])
    expect([clock.now(), fired.at(-1)]).toEqual([650, 'c@650'])
    clock.setTimeout(() => fired.push(`d@${clock.now()}`), 500)
    await Promise.all([clock.advance(100), clock.runAll()])
    expect([clock.now(), fired.at(-1)]).toEqual([1_150, 'd@1150'])
  })

  it('runs the advances queued behind one that fails, and refuses a bad one at once, not in its turn', async () => {
    const clock = new FakeClock()
    let set = 0
    const again = (): void => {
      if (++set < 20) clock.setTimeout(again, 0)
    }
    again()
    const failed = clock.advance(10, 5)
    const next = clock.advance(10)
    const refused = clock.advance(Number.NaN)
    await expect(refused).rejects.toThrow(ConfigurationError)
    await expect(failed).rejects.toSatisfy(StepLimitError.isInstance)
    await next
    expect([clock.now(), set, clock.pendingTimers]).toEqual([10, 20, 0])
  })

  it('fires a timer set for longer than a timer can wait (2³¹−1 ms), Infinity included, as one set for 0', async () => {
    // Node's own setTimeout fires such a timer at once (after 1 ms); a time of Infinity would never move again.
    const clock = new FakeClock()
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`longest@${clock.now()}`), 2_147_483_647)
    clock.setTimeout(() => fired.push(`infinite@${clock.now()}`), Number.POSITIVE_INFINITY)
    clock.setTimeout(() => fired.push(`too long@${clock.now()}`), 2_147_483_648)
    await clock.runAll()
    expect(fired).toEqual(['infinite@0', 'too long@0', 'longest@2147483647'])
    await clock.advance(1)
    expect(clock.now()).toBe(2_147_483_648)
  })

  it('refuses, rather than hangs on, a timer that sets itself again without moving time in an advance', async () => {
    const clock = new FakeClock()
    const again = (): void => {
      clock.setTimeout(again, 0)
    }
    again()
    const moved = clock.advance(10, 50)
    await expect(moved).rejects.toSatisfy(StepLimitError.isInstance)
    await expect(moved).rejects.toThrow('FakeClock.advance: step limit of 50 timers reached')
  })

  it('refuses a callback that is not a function when the timer is set, not with a TypeError when it fires', async () => {
    const clock = new FakeClock()
    for (const callback of [undefined, null, 5, 'tick', {}]) {
      expect(() => clock.setTimeout(callback as never, 10)).toThrow(ConfigurationError)
      expect(() => clock.setTimeout(callback as never, 10)).toThrow(
        /^FakeClock.setTimeout: callback must be a function, got /,
      )
    }
    expect(clock.pendingTimers).toBe(0)
    await clock.advance(10)
    expect(clock.now()).toBe(10)
  })

  it('refuses a limit that is not a whole number ≥ 1, which would let a timer that sets itself again run forever', async () => {
    const clock = new FakeClock()
    let set = 0
    // Sets itself again 2,000 times without moving time: a limit of NaN, never reached, would let it run on.
    const again = (): void => {
      if (++set < 2_000) clock.setTimeout(again, 0)
    }
    again()
    for (const limit of [Number.NaN, -1, 0, 1.5, '50' as unknown as number]) {
      const moved = clock.advance(10, limit)
      await expect(moved).rejects.toThrow(ConfigurationError)
      await expect(moved).rejects.toThrow('FakeClock.advance: limit must be')
      const ran = clock.runAll(limit)
      await expect(ran).rejects.toThrow(ConfigurationError)
      await expect(ran).rejects.toThrow('FakeClock.runAll: limit must be')
    }
    expect([clock.now(), set, clock.pendingTimers]).toEqual([0, 1, 1])
    await clock.runAll(Number.POSITIVE_INFINITY)
    expect([set, clock.pendingTimers]).toEqual([2_000, 0])
  })
})
