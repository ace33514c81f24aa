import { getEventListeners } from 'node:events'
import { createMemoryLogger, setDefaultLogger } from '@tinyllm/logger'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CancelScope, isPromiseLike, sleep } from './cancellation.js'
import { defineFunction } from './define-function.js'
import { AbortError, ConfigurationError, TimeoutError } from './errors.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('a scope is read-only to the code it is handed to', () => {
  it("a run's code cannot cancel, or poison, the scope other runs share", async () => {
    const poison = defineFunction({
      name: 'poison',
      run: (_: number, context) => {
        const scope = context.cancelScope as unknown as Record<string, unknown>
        for (const field of ['cancelled', 'reason', 'deadline', 'cancellable', 'parent'])
          expect(() => {
            scope[field] = field === 'deadline' ? 0 : 'poisoned'
          }).toThrow(TypeError)
        return 1
      },
    })
    await poison.invoke(1)
    expect(await defineFunction({ name: 'other', run: () => 2 }).invoke(1)).toBe(2)
    const scope = new CancelScope(undefined, { manual: true })
    expect(() => {
      ;(scope as unknown as { cancelled: boolean }).cancelled = true
    }).toThrow(TypeError)
    expect(scope.cancelled).toBe(false)
  })
})

describe('CancelScope', () => {
  it('cancelled without a reason, it rejects and throws an AbortError, never undefined', async () => {
    const scope = new CancelScope(undefined, { manual: true })
    const raced = scope.race(new Promise(() => {}))
    const slept = scope.sleep(60_000)
    scope.cancel(undefined)
    await expect(raced).rejects.toBeInstanceOf(AbortError)
    await expect(slept).rejects.toBeInstanceOf(AbortError)
    expect(() => scope.throwIfCancelled()).toThrow(AbortError)
    expect(AbortError.isInstance(scope.reason)).toBe(true)
    expect(AbortError.isInstance(scope.signal.reason)).toBe(true)
  })

  it('costs nothing when nothing can cancel it: the work itself, a shared signal that never aborts', async () => {
    const scope = new CancelScope(undefined)
    expect(scope.cancellable).toBe(false)
    const work = Promise.resolve(1)
    expect(scope.race(work)).toBe(work)
    expect(scope.signal).toBe(new CancelScope(undefined).signal)
    expect(scope.signal.aborted).toBe(false)
  })

  it('keeps no listener on the signal every run nothing can cancel shares: one added to it would stay for good', async () => {
    const signals = new Set<AbortSignal>()
    const run = defineFunction({
      name: 'spawns',
      run: (input: number, { signal }) => {
        signals.add(signal)
        // What code does with a signal it takes to be its own (a child process killed on abort, say).
        signal.addEventListener('abort', () => input, { once: true })
        signal.onabort = () => input
        return input
      },
    })
    for (let index = 0; index < 20; index++) await run.invoke(index)
    expect(signals.size).toBe(1)
    const [shared] = [...signals] as [AbortSignal]
    expect(shared).toBe(new CancelScope(undefined).signal)
    expect([getEventListeners(shared, 'abort').length, shared.onabort, shared.aborted]).toEqual([0, null, false])
  })

  it('cancels its whole subtree with the reason, by direct calls', async () => {
    const controller = new AbortController()
    const root = new CancelScope(undefined, { signal: controller.signal })
    const child = new CancelScope(root)
    const grandchild = new CancelScope(child)
    const pending = grandchild.race(new Promise(() => {}))
    controller.abort('stop')
    expect([root.cancelled, child.cancelled, grandchild.cancelled]).toEqual([true, true, true])
    expect(grandchild.reason).toBe('stop')
    expect(grandchild.signal.aborted).toBe(true)
    await expect(pending).rejects.toBe('stop')
  })

  it('cancels the scopes under it before it calls its own listeners, the innermost first', () => {
    const root = new CancelScope(undefined, { manual: true })
    const child = new CancelScope(root)
    const grandchild = new CancelScope(child)
    const heard: string[] = []
    root.listen(() => heard.push('root'))
    child.listen(() => heard.push('child'))
    grandchild.listen(() => heard.push('grandchild'))
    root.cancel('stop')
    expect(heard).toEqual(['grandchild', 'child', 'root'])
  })

  it('calls a listener given after the scope was cancelled at once, with the reason; never, for a scope nothing cancels', () => {
    const scope = new CancelScope(undefined, { manual: true })
    scope.cancel('user left')
    const heard: unknown[] = []
    scope.listen((reason) => heard.push(reason))
    expect(heard).toEqual(['user left'])
    new CancelScope(undefined).listen((reason) => heard.push(reason))
    expect(heard).toEqual(['user left'])
  })

  it('cancels every listener and child after a listener that throws, logs what it threw, and throws nothing', async () => {
    const logger = createMemoryLogger()
    setDefaultLogger(logger)
    try {
      for (const cancel of ['by hand', 'by its signal'] as const) {
        const controller = new AbortController()
        const root = new CancelScope(undefined, { signal: controller.signal, manual: true })
        const heard: unknown[] = []
        root.listen(() => {
          throw new Error('cleanup failed')
        })
        root.listen((reason) => heard.push(reason))
        const child = new CancelScope(root)
        const sleeping = child.sleep(60_000)
        if (cancel === 'by hand') expect(() => root.cancel('stop')).not.toThrow()
        // An abort listener that throws would be an uncaught exception: the process would end.
        else expect(() => controller.abort('stop')).not.toThrow()
        expect(heard).toEqual(['stop'])
        expect(child.cancelled).toBe(true)
        await expect(sleeping).rejects.toBe('stop')
      }
      const logged = logger.entries.filter((entry) => entry.message.startsWith('a cancellation listener threw'))
      expect(logged).toHaveLength(2)
    } finally {
      setDefaultLogger(undefined)
    }
  })

  it('disposed while scopes under it live, still cancels them by its deadline and signal, and lets go when they end', () => {
    vi.useFakeTimers()
    const timed = new CancelScope(undefined, { timeoutMs: 1_000 })
    const left = new CancelScope(timed)
    timed.dispose()
    vi.advanceTimersByTime(1_000)
    expect(left.cancelled).toBe(true)
    const controller = new AbortController()
    const linked = new CancelScope(undefined, { signal: controller.signal, timeoutMs: 1_000 })
    const first = new CancelScope(linked)
    const second = new CancelScope(new CancelScope(linked))
    linked.dispose()
    first.dispose()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort('the caller left')
    expect(second.reason).toBe('the caller left')
    const parent = new CancelScope(undefined, { signal: new AbortController().signal, timeoutMs: 1_000 })
    const child = new CancelScope(parent)
    parent.dispose()
    expect(vi.getTimerCount()).toBe(1)
    child.dispose()
    // The last scope under it ended: no timer, no listener is left behind.
    expect(vi.getTimerCount()).toBe(0)
  })

  it('puts one listener on an outside signal however many scopes link to it, and removes it when they end', () => {
    const controller = new AbortController()
    const scopes = Array.from({ length: 10_000 }, () => new CancelScope(undefined, { signal: controller.signal }))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    for (const scope of scopes) scope.dispose()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('is cancelled with an AbortError when an outside signal whose reason cannot be read aborts, and throws nothing out of the abort', async () => {
    const controller = new AbortController()
    Object.defineProperty(controller.signal, 'reason', {
      get() {
        throw new Error('no reason for you')
      },
    })
    const scope = new CancelScope(undefined, { signal: controller.signal })
    const waiting = scope.race(new Promise(() => {}))
    // A listener that throws is reported as an uncaught exception: the abort itself must not throw out of it.
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown): void => {
      uncaught.push(error)
    }
    process.on('uncaughtException', onUncaught)
    try {
      controller.abort()
      const error = await waiting.catch((thrown: unknown) => thrown)
      expect(scope.cancelled).toBe(true)
      expect(AbortError.isInstance(error), String(error)).toBe(true)
      await new Promise((resolve) => setImmediate(resolve))
      expect(uncaught).toEqual([])
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  it('is cancelled, not refused, when an outside signal whose reason cannot be read has already aborted', async () => {
    const controller = new AbortController()
    controller.abort('the user left')
    Object.defineProperty(controller.signal, 'reason', {
      get() {
        throw new Error('no reason for you')
      },
    })
    const scope = new CancelScope(undefined, { signal: controller.signal })
    expect(scope.cancelled).toBe(true)
    expect(AbortError.isInstance(scope.reason)).toBe(true)
    // The same signal reaching `sleep` and `invoke`: an AbortError, as when it aborts later, not a bad option.
    const slept = await sleep(10, controller.signal).catch((thrown: unknown) => thrown)
    expect(AbortError.isInstance(slept), String(slept)).toBe(true)
    let ran = false
    const never = defineFunction({
      name: 'Never',
      run: () => {
        ran = true
      },
    })
    const invoked = await never.invoke(undefined, { signal: controller.signal }).catch((thrown: unknown) => thrown)
    expect(AbortError.isInstance(invoked), String(invoked)).toBe(true)
    expect(ran).toBe(false)
  })

  it('hands out a signal of its own, which aborts with the outside signal and when the scope is cancelled by hand', () => {
    const controller = new AbortController()
    const linked = new CancelScope(undefined, { signal: controller.signal })
    expect(linked.signal).not.toBe(controller.signal)
    controller.abort('gone')
    expect(linked.signal.aborted).toBe(true)
    expect(linked.signal.reason).toBe('gone')
    const other = new AbortController()
    const byHand = new CancelScope(undefined, { signal: other.signal })
    const signal = byHand.signal
    byHand.cancel('done')
    expect(signal.aborted).toBe(true)
    expect(other.signal.aborted).toBe(false)
  })

  it('times out with the reason it is given, and its children with it', () => {
    vi.useFakeTimers()
    const scope = new CancelScope(undefined, {
      timeoutMs: 100,
      timeoutReason: () => new TimeoutError({ timeoutMs: 100, kind: 'total' }),
    })
    const child = new CancelScope(scope)
    expect(child.deadline).toBe(scope.deadline)
    vi.advanceTimersByTime(99)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(1)
    expect(TimeoutError.isInstance(child.reason)).toBe(true)
  })

  it('waits out timeouts longer than a timer can hold (2³¹−1 ms) instead of firing at once', () => {
    vi.useFakeTimers()
    const scope = new CancelScope(undefined, { timeoutMs: 3e9 })
    vi.advanceTimersByTime(10)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(2_147_483_647)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(3e9 - 2_147_483_647)
    expect(scope.cancelled).toBe(true)
  })

  it('sees a deadline that passed while synchronous code ran, when no timer could fire', () => {
    const scope = new CancelScope(undefined, { timeoutMs: 5, timeoutReason: () => 'late' })
    const until = Date.now() + 20
    while (Date.now() < until) {
      // A synchronous step that outlasts the deadline.
    }
    expect(() => scope.throwIfCancelled()).toThrow('late')
    expect(scope.cancelled).toBe(true)
  })

  it('restarts its own timeout on a sign of life (an idle timeout)', () => {
    vi.useFakeTimers()
    const scope = new CancelScope(undefined, { timeoutMs: 100 })
    vi.advanceTimersByTime(80)
    scope.restartTimeout(100)
    vi.advanceTimersByTime(80)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(20)
    expect(scope.cancelled).toBe(true)
  })

  it('arms no timer when restarted after it was disposed, and refuses an infinite timeout as its constructor does', () => {
    vi.useFakeTimers()
    const scope = new CancelScope(undefined, { timeoutMs: 100 })
    scope.dispose()
    scope.restartTimeout(100)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(200)
    expect(scope.cancelled).toBe(false)
    const other = new CancelScope(undefined, { timeoutMs: 100 })
    expect(() => other.restartTimeout(Number.POSITIVE_INFINITY)).toThrow(ConfigurationError)
    other.dispose()
  })

  it('is cancelled at its deadline option, which is its deadline as given; with a timeout, the sooner counts', () => {
    vi.useFakeTimers()
    const deadline = Date.now() + 100
    const scope = new CancelScope(undefined, { deadline, timeoutReason: () => 'at the deadline' })
    vi.advanceTimersByTime(5)
    expect(scope.deadline).toBe(deadline)
    expect(new CancelScope(scope).deadline).toBe(deadline)
    vi.advanceTimersByTime(94)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(1)
    expect(scope.reason).toBe('at the deadline')
    const sooner = new CancelScope(undefined, { deadline: Date.now() + 1_000, timeoutMs: 10 })
    expect(sooner.deadline).toBe(Date.now() + 10)
    const later = new CancelScope(undefined, { deadline: Date.now() + 10, timeoutMs: 1_000 })
    expect(later.deadline).toBe(Date.now() + 10)
    // A restarted timeout never moves the scope past its deadline.
    vi.advanceTimersByTime(5)
    later.restartTimeout(1_000)
    expect(later.deadline).toBe(Date.now() + 5)
    vi.advanceTimersByTime(5)
    expect(later.cancelled).toBe(true)
    sooner.dispose()
    expect(() => new CancelScope(undefined, { deadline: Number.NaN })).toThrow(
      'CancelScope: deadline must be a number of epoch ms ≥ 0, got NaN',
    )
    // A deadline that has passed cancels the scope once its timer runs, as a timeout of 0 does.
    const passed = new CancelScope(undefined, { deadline: Date.now() - 1 })
    vi.advanceTimersByTime(0)
    expect(passed.cancelled).toBe(true)
  })

  it('has no timeout to restart when given only a deadline: a restart neither shortens nor moves it', () => {
    vi.useFakeTimers()
    const deadline = Date.now() + 10_000
    const scope = new CancelScope(undefined, { deadline, timeoutReason: () => 'at the deadline' })
    const under = new CancelScope(scope)
    scope.restartTimeout(100)
    expect(scope.deadline).toBe(deadline)
    expect(under.deadline).toBe(deadline)
    vi.advanceTimersByTime(9_999)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(1)
    expect(scope.reason).toBe('at the deadline')
    expect(under.cancelled).toBe(true)
  })

  it('restarts its own timeout with a shorter one, and refuses one that is not a number of ms', () => {
    vi.useFakeTimers()
    const scope = new CancelScope(undefined, { timeoutMs: 1_000 })
    scope.restartTimeout(50)
    vi.advanceTimersByTime(49)
    expect(scope.cancelled).toBe(false)
    vi.advanceTimersByTime(1)
    expect(scope.cancelled).toBe(true)
    const other = new CancelScope(undefined, { timeoutMs: 100 })
    expect(() => other.restartTimeout(Number.NaN)).toThrow('CancelScope: timeoutMs must be a number of ms ≥ 0, got NaN')
    expect(() => other.restartTimeout(-1)).toThrow(ConfigurationError)
    vi.advanceTimersByTime(99)
    expect(other.cancelled).toBe(false)
    other.dispose()
  })

  it('passes a restarted timeout on to the scopes under it: none expires it early, and their own timeouts still hold', () => {
    vi.useFakeTimers()
    // A child whose deadline is its parent's does not expire the parent at the deadline the parent had before.
    const idle = new CancelScope(undefined, { timeoutMs: 100 })
    const under = new CancelScope(idle)
    vi.advanceTimersByTime(60)
    idle.restartTimeout(300)
    vi.advanceTimersByTime(80)
    expect(() => under.throwIfCancelled()).not.toThrow()
    expect(idle.cancelled).toBe(false)
    expect(under.deadline).toBe(idle.deadline)
    under.dispose()
    idle.dispose()
    // A child with a longer timeout of its own times out when it is due, however often its parent restarts.
    const parent = new CancelScope(undefined, { timeoutMs: 100 })
    const child = new CancelScope(parent, { timeoutMs: 150 })
    for (let elapsed = 0; elapsed < 120; elapsed += 30) {
      vi.advanceTimersByTime(30)
      parent.restartTimeout(100)
    }
    vi.advanceTimersByTime(29)
    expect(child.cancelled).toBe(false)
    vi.advanceTimersByTime(1)
    expect(child.cancelled).toBe(true)
    expect(parent.cancelled).toBe(false)
    // A restart to a sooner deadline than a child's own reaches the child through its parent.
    const late = new CancelScope(parent, { timeoutMs: 1_000 })
    parent.restartTimeout(20)
    expect(late.deadline).toBe(parent.deadline)
    vi.advanceTimersByTime(20)
    expect(late.cancelled).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sleeps cancellably and leaves no timer behind', async () => {
    vi.useFakeTimers()
    const scope = new CancelScope(undefined, { manual: true })
    const slept = scope.sleep(1_000)
    scope.cancel('enough')
    await expect(slept).rejects.toBe('enough')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('lets go of children that timed out or were cancelled on their own, while the parent lives on', () => {
    vi.useFakeTimers()
    const parent = new CancelScope(undefined, { manual: true })
    const childrenOf = (scope: CancelScope): number =>
      (scope as unknown as { children?: Set<CancelScope> }).children?.size ?? 0
    const timed = Array.from({ length: 100 }, () => new CancelScope(parent, { timeoutMs: 10 }))
    const manual = new CancelScope(parent, { manual: true })
    expect(childrenOf(parent)).toBe(101)
    vi.advanceTimersByTime(10)
    manual.cancel('done')
    expect(timed.every((scope) => scope.cancelled)).toBe(true)
    expect(childrenOf(parent)).toBe(0)
    // The parent still cancels what it holds now.
    const late = new CancelScope(parent)
    parent.cancel('end')
    expect(late.reason).toBe('end')
  })

  it('leaves nothing in its parent for a lookalike signal that throws when listened to, and sleep refuses one typed', async () => {
    vi.useFakeTimers()
    const lookalike = {
      aborted: false,
      reason: undefined,
      addEventListener: () => {
        throw new Error('no listeners here')
      },
      removeEventListener: () => {},
    } as unknown as AbortSignal
    const parent = new CancelScope(undefined, { manual: true })
    for (let index = 0; index < 100; index++)
      expect(() => new CancelScope(parent, { signal: lookalike, timeoutMs: 10 })).toThrow('no listeners here')
    expect((parent as unknown as { children?: Set<CancelScope> }).children?.size ?? 0).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    const slept = sleep(10, lookalike)
    await expect(slept).rejects.toThrow(ConfigurationError)
    await expect(slept).rejects.toThrow('sleep: signal could not be read: Error: no listeners here')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('is unaffected by a disposed child, and a child made under a cancelled parent starts cancelled', () => {
    const parent = new CancelScope(undefined, { manual: true })
    const child = new CancelScope(parent)
    child.dispose()
    parent.cancel('gone')
    expect(child.cancelled).toBe(false)
    expect(new CancelScope(parent).reason).toBe('gone')
  })
})

describe('bad options', () => {
  it('refuses a parent that is no scope, work that is no promise and a listener that is no function, typed', async () => {
    expect(() => new CancelScope(42 as never)).toThrow(
      /^CancelScope: parent must be a CancelScope or undefined, got 42/,
    )
    const scope = new CancelScope(undefined, { manual: true })
    const raced = await scope.race(42 as never).catch((error: unknown) => error)
    expect(ConfigurationError.isInstance(raced)).toBe(true)
    expect((raced as Error).message).toBe('CancelScope.race: work must be a promise, got 42')
    expect(() => scope.listen(42 as never)).toThrow(ConfigurationError)
  })

  it('refuses as its parent an object that only looks like a scope (its prototype, a Proxy of one, a revoked Proxy), typed', () => {
    const { proxy: revoked, revoke } = Proxy.revocable({}, {})
    revoke()
    const lookalikes = [
      Object.create(CancelScope.prototype),
      new Proxy(new CancelScope(undefined, { manual: true }), {}),
      new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('no prototype')
          },
        },
      ),
      revoked,
    ]
    for (const parent of lookalikes) {
      let thrown: unknown
      try {
        new CancelScope(parent)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown) && thrown.option).toBe('parent')
      expect((thrown as Error).message).toMatch(/^CancelScope: parent must be a CancelScope or undefined, got /)
    }
  })

  it('race and sleep called apart from their scope (or on another object) reject typed, never throw', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    const scope = new CancelScope(undefined, { manual: true })
    for (const self of [undefined, {}, proxy])
      for (const [method, argument] of [
        ['race', Promise.resolve(1)],
        ['sleep', 1],
      ] as const) {
        let outcome: unknown
        try {
          outcome = await (scope[method] as (this: unknown, value: unknown) => Promise<unknown>)
            .call(self, argument)
            .catch((error: unknown) => error)
        } catch (thrown) {
          outcome = { thrownSynchronously: thrown }
        }
        expect(ConfigurationError.isInstance(outcome) && outcome.option).toBe('this')
        expect((outcome as Error).message).toBe(
          `CancelScope: ${method} must be called on a CancelScope (scope.${method}(…)), not detached from it or on another object`,
        )
      }
  })

  it('a scope refuses a timeout that is not a number ≥ 0, and sleep rejects a bad delay or signal', async () => {
    for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(() => new CancelScope(undefined, { timeoutMs: timeoutMs as number })).toThrow(
        /CancelScope: timeoutMs must be a number of ms ≥ 0/,
      )
    }
    await expect(sleep(Number.NaN)).rejects.toThrow(/sleep: ms must be a number of ms ≥ 0, got NaN/)
    await expect(sleep(-5)).rejects.toThrow(ConfigurationError)
    await expect(sleep(5, 'stop' as never)).rejects.toThrow(/sleep: signal must be an AbortSignal/)
  })

  it("a scope's sleep, and sleep without a delay, reject a delay that is not a number ≥ 0 (a string would wait for ever)", async () => {
    vi.useFakeTimers()
    const scopes = [new CancelScope(undefined), new CancelScope(undefined, { timeoutMs: 1_000 })]
    for (const scope of scopes) {
      for (const ms of ['100', -1, Number.NaN, undefined, null]) {
        let slept: Promise<void> | undefined
        expect(() => {
          slept = scope.sleep(ms as number)
        }).not.toThrow()
        await expect(slept).rejects.toThrow(/^CancelScope: ms must be a number of ms ≥ 0, got /)
      }
      scope.dispose()
    }
    await expect(sleep(undefined as never)).rejects.toThrow('sleep: ms must be a number of ms ≥ 0, got undefined')
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('sleep', () => {
  it('rejects with a typed AbortError carrying the reason, and removes its listener', async () => {
    const controller = new AbortController()
    const slept = sleep(10_000, controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort('user')
    const error = await slept.catch((thrown: unknown) => thrown)
    expect(AbortError.isInstance(error)).toBe(true)
    expect((error as AbortError).reason).toBe('user')
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('cancels with what a timeoutReason that throws threw, never throwing from its timer', async () => {
    vi.useFakeTimers()
    const bug = new Error('reason bug')
    const scope = new CancelScope(undefined, {
      timeoutMs: 50,
      timeoutReason: () => {
        throw bug
      },
    })
    const raced = scope.race(new Promise(() => {})).catch((reason: unknown) => reason)
    // A timer callback that throws would be an uncaught exception: fake timers rethrow it here.
    expect(() => vi.advanceTimersByTime(50)).not.toThrow()
    expect(scope.cancelled).toBe(true)
    expect(await raced).toBe(bug)
  })

  it('a race whose work has a then that throws rejects with it and keeps no listener on the scope', async () => {
    const scope = new CancelScope(undefined, { manual: true })
    const listenerCount = () => (scope as unknown as { listeners?: Set<unknown> }).listeners?.size ?? 0
    const bug = new Error('then bug')
    const hostile = {
      // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point of the test
      then() {
        throw bug
      },
    }
    for (let index = 0; index < 3; index++) await expect(scope.race(hostile)).rejects.toBe(bug)
    expect(listenerCount()).toBe(0)
    scope.dispose()
  })

  it('refuses a timeoutReason that is not a function, and a manual that is not a boolean', () => {
    expect(() => new CancelScope(undefined, { timeoutMs: 50, timeoutReason: 'late' as never })).toThrow(
      'CancelScope: timeoutReason must be a function, got "late"',
    )
    expect(() => new CancelScope(undefined, { manual: 'yes' as never })).toThrow(
      'CancelScope: manual must be true or false, got "yes"',
    )
  })

  it('does not throw for an abort reason that is a hostile Proxy', async () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap')
        },
        get() {
          throw new Error('trap')
        },
      },
    )
    const controller = new AbortController()
    const slept = sleep(10_000, controller.signal)
    controller.abort(hostile)
    const error = await slept.catch((thrown: unknown) => thrown)
    expect(AbortError.isInstance(error)).toBe(true)
    expect(JSON.stringify(error)).toContain('AbortError')
  })
})

describe('isPromiseLike', () => {
  it('recognises promises of any realm and thenables, as await does', () => {
    expect(isPromiseLike(Promise.resolve())).toBe(true)
    // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about.
    expect(isPromiseLike({ then: () => {} })).toBe(true)
    // biome-ignore lint/suspicious/noThenProperty: and so is a value whose `then` is not a function.
    expect(isPromiseLike({ then: 1 })).toBe(false)
    expect(isPromiseLike(null)).toBe(false)
  })

  it('the signal of a scope made with only an outside signal aborts when the scope is cancelled by hand', () => {
    const controller = new AbortController()
    const scope = new CancelScope(undefined, { signal: controller.signal })
    const signal = scope.signal
    scope.cancel('done with it')
    expect(scope.cancelled).toBe(true)
    // "An AbortSignal that aborts with this scope": code handed the signal must see the cancellation.
    expect(signal.aborted).toBe(true)
    expect(scope.signal.aborted).toBe(true)
    expect(scope.signal.reason).toBe('done with it')
    // The caller's own signal is the caller's: cancelling the scope does not abort it.
    expect(controller.signal.aborted).toBe(false)
  })

  it('race rejects, never throws, for work whose then cannot be read', async () => {
    const scope = new CancelScope(undefined, { manual: true })
    const work = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable whose then cannot be read is the point of the test
      get then(): never {
        throw new Error('then is unreadable')
      },
    }
    let raced: Promise<unknown> | undefined
    expect(() => {
      raced = scope.race(work as unknown as PromiseLike<unknown>)
    }).not.toThrow()
    await expect(raced).rejects.toThrow('then is unreadable')
  })

  it('options that are not an object, or cannot be read, are a ConfigurationError naming them', () => {
    const unreadable = {
      get signal(): never {
        throw new Error('getter exploded')
      },
    }
    for (const options of [null, unreadable]) {
      let thrown: unknown
      try {
        new CancelScope(undefined, options as never)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown)).toBe(true)
      expect((thrown as ConfigurationError).message).toMatch(/^CancelScope: /)
    }
  })
})
