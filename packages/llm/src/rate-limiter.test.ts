import { getEventListeners } from 'node:events'
import { AbortError, ConfigurationError } from '@tinyllm/core'
import { createSeededRandom, FakeClock } from '@tinyllm/testing'
import { describe, expect, it } from 'vitest'
import { RateLimitError } from './provider-errors.js'
import { checkLimits, RateLimiter, type RateLimitPermit } from './rate-limiter.js'

const minute = 60_000

/** The most requests and tokens found in any 60 s window [t, t + 60 s) over the given grants. */
function busiestWindow(permits: ReadonlyArray<RateLimitPermit>): { requests: number; tokens: number } {
  const sorted = [...permits].sort((a, b) => a.grantedAt - b.grantedAt)
  let requests = 0
  let tokens = 0
  let windowTokens = 0
  let end = 0
  for (let start = 0; start < sorted.length; start++) {
    const from = sorted[start]!.grantedAt
    while (end < sorted.length && sorted[end]!.grantedAt < from + minute) {
      windowTokens += sorted[end]!.tokens
      end += 1
    }
    requests = Math.max(requests, end - start)
    tokens = Math.max(tokens, windowTokens)
    windowTokens -= sorted[start]!.tokens
  }
  return { requests, tokens }
}

describe('RateLimiter', () => {
  it('refuses option keys it does not know, suggesting the right name: a typo never means no limit', () => {
    const build = () => new RateLimiter({ requestPerMinute: 2, tokenPerMinute: 10 } as never)
    expect(build).toThrow(ConfigurationError)
    expect(build).toThrow(/^RateLimiter: requestPerMinute is not an option; did you mean requestsPerMinute\?/)
    expect(() => new RateLimiter({ tokenPerMinute: 10 } as never)).toThrow(/did you mean tokensPerMinute\?/)
    expect(() => new RateLimiter(null as never)).toThrow(ConfigurationError)
  })

  async function simulate(options: {
    requestsPerMinute: number
    tokensPerMinute: number
    calls: number
    maxEstimate: number
    maxPauseMs: number
    seed: number
  }): Promise<{ permits: RateLimitPermit[]; limiter: RateLimiter; clock: FakeClock; finished: number }> {
    const clock = new FakeClock()
    const random = createSeededRandom(options.seed)
    const limiter = new RateLimiter({
      requestsPerMinute: options.requestsPerMinute,
      tokensPerMinute: options.tokensPerMinute,
      clock,
    })
    const permits: RateLimitPermit[] = []
    let started = 0
    let finished = 0
    const arrive = (): void => {
      started += 1
      const estimate = 1 + Math.floor(random() * options.maxEstimate)
      // Most calls use less than estimated; settling returns the difference to the window.
      const actual = Math.floor(estimate * (0.3 + random() * 0.7))
      const latency = 200 + random() * 3_000
      void limiter.acquire({ tokens: estimate }).then((permit) => {
        permits.push(permit)
        clock.setTimeout(() => {
          limiter.settle(permit, actual)
          finished += 1
        }, latency)
      })
      // Bursts of simultaneous arrivals, then pauses: the worst case for a limiter.
      if (started < options.calls) clock.setTimeout(arrive, random() < 0.8 ? 0 : random() * options.maxPauseMs)
    }
    clock.setTimeout(arrive, 0)
    await clock.runAll()
    return { permits, limiter, clock, finished }
  }

  it('never exceeds its tokens per minute in any 60 s window (5,000 simulated calls, tokens binding)', async () => {
    const { permits, limiter, clock, finished } = await simulate({
      requestsPerMinute: 120,
      tokensPerMinute: 40_000,
      calls: 5_000,
      maxEstimate: 2_000,
      maxPauseMs: 20_000,
      seed: 42,
    })
    expect(finished).toBe(5_000)
    expect(permits).toHaveLength(5_000)
    const busiest = busiestWindow(permits)
    expect(busiest.requests).toBeLessThanOrEqual(120)
    expect(busiest.tokens).toBeLessThanOrEqual(40_000)
    // And it is not needlessly slow: under this load some window is (nearly) full.
    expect(busiest.tokens).toBeGreaterThan(38_000)
    expect(limiter.status().waiting).toBe(0)
    expect(clock.pendingTimers).toBe(0)
  })

  it('never exceeds its requests per minute in any 60 s window (5,000 simulated calls, requests binding)', async () => {
    const { permits, finished } = await simulate({
      requestsPerMinute: 300,
      tokensPerMinute: 1_000_000,
      calls: 5_000,
      maxEstimate: 1_000,
      maxPauseMs: 1_000,
      seed: 7,
    })
    expect(finished).toBe(5_000)
    const busiest = busiestWindow(permits)
    expect(busiest.requests).toBe(300)
    expect(busiest.tokens).toBeLessThanOrEqual(1_000_000)
  })

  it('keeps the token limit when calls use more than estimated, and serves a request as large as the limit', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ tokensPerMinute: 1_000, clock })
    const first = await limiter.acquire({ tokens: 400 })
    limiter.settle(first, 700)
    const waiting = limiter.acquire({ tokens: 400 })
    let granted: RateLimitPermit | undefined
    void waiting.then((permit) => {
      granted = permit
    })
    await clock.advance(minute - 1)
    expect(granted).toBeUndefined()
    await clock.advance(1)
    expect(granted?.grantedAt).toBe(minute)
    const whole = limiter.acquire({ tokens: 1_000 })
    await clock.advance(minute)
    expect((await whole).grantedAt).toBe(2 * minute)
  })

  it('serves waiters strictly in arrival order; a large request is not overtaken', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ tokensPerMinute: 100, clock })
    const order: string[] = []
    await limiter.acquire({ tokens: 90 })
    const big = limiter.acquire({ tokens: 50 }).then(() => order.push('big'))
    const small = limiter.acquire({ tokens: 5 }).then(() => order.push('small'))
    await clock.flush()
    // `small` would fit now, but it arrived after `big`.
    expect(order).toEqual([])
    expect(limiter.status().waiting).toBe(2)
    await clock.advance(minute)
    await Promise.all([big, small])
    expect(order).toEqual(['big', 'small'])
  })

  it('frees capacity at once when a call settles below its estimate', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ tokensPerMinute: 1_000, clock })
    const permit = await limiter.acquire({ tokens: 1_000 })
    let granted = false
    void limiter.acquire({ tokens: 600 }).then(() => {
      granted = true
    })
    await clock.flush()
    expect(granted).toBe(false)
    limiter.settle(permit, 300)
    await clock.flush()
    expect(granted).toBe(true)
    expect(limiter.status()).toMatchObject({ requests: 2, tokens: 900, waiting: 0 })
    expect(clock.now()).toBe(0)
  })

  it('removes an aborted waiter and its listener, and serves the next one', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 1, clock })
    await limiter.acquire()
    const controller = new AbortController()
    const aborted = limiter.acquire({}, controller.signal)
    const next = limiter.acquire()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    expect(limiter.status().waiting).toBe(2)
    controller.abort(new Error('user cancelled'))
    await expect(aborted).rejects.toSatisfy(AbortError.isInstance)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    expect(limiter.status().waiting).toBe(1)
    await clock.advance(minute)
    expect((await next).grantedAt).toBe(minute)
    expect(clock.pendingTimers).toBe(0)
  })

  it('leaves no abort listener behind on thousands of waiters sharing one signal', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 1_000, clock })
    const signal = new AbortController().signal
    const permits = Array.from({ length: 3_000 }, () => limiter.acquire({}, signal))
    expect(getEventListeners(signal, 'abort')).toHaveLength(2_000)
    await clock.advance(2 * minute)
    expect(await Promise.all(permits)).toHaveLength(3_000)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
  })

  it('rejects at once when the signal is already aborted', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    await expect(limiter.acquire({}, AbortSignal.abort())).rejects.toSatisfy(AbortError.isInstance)
    expect(limiter.status().requests).toBe(0)
  })

  it('turns a storm of 429 cool-downs into one shared pause, not one backoff per call', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 10_000, clock })
    // 50 calls are rejected with `retry-after: 2` within 100 ms of each other and all retry through the limiter.
    const retries: Array<Promise<RateLimitPermit>> = []
    for (let call = 0; call < 50; call++) {
      limiter.coolDown(2_000)
      retries.push(limiter.acquire())
      await clock.advance(2)
    }
    expect(limiter.status().coolDownMs).toBeCloseTo(2_000 - 2, 6)
    await clock.advance(2_000)
    const grantedAt = (await Promise.all(retries)).map((permit) => permit.grantedAt)
    // Everyone goes as soon as the last cool-down ends: ~2.1 s in all, not 50 × 2 s.
    expect(Math.max(...grantedAt)).toBe(98 + 2_000)
    expect(new Set(grantedAt).size).toBe(1)
    // A shorter cool-down never shortens a running one; absurd lengths are clamped.
    limiter.coolDown(5_000)
    limiter.coolDown(1_000)
    expect(limiter.status().coolDownMs).toBe(5_000)
    limiter.coolDown(10 * minute)
    expect(limiter.status().coolDownMs).toBe(minute)
  })

  it('rejects a request larger than the whole token limit at once, as non-retryable', async () => {
    const limiter = new RateLimiter({ tokensPerMinute: 1_000 })
    const error = await limiter.acquire({ tokens: 1_001 }).catch((caught: unknown) => caught)
    expect(RateLimitError.isInstance(error)).toBe(true)
    expect((error as RateLimitError).retryable).toBe(false)
    expect((error as Error).message).toMatch(/can never be served/)
    await expect(limiter.acquire({ tokens: -1 })).rejects.toSatisfy(ConfigurationError.isInstance)
  })

  it('checks its options and its permits', () => {
    expect(() => new RateLimiter({ requestsPerMinute: 0 })).toThrow(ConfigurationError)
    expect(() => new RateLimiter({ tokensPerMinute: Number.POSITIVE_INFINITY })).toThrow(ConfigurationError)
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    expect(() => limiter.settle({ tokens: 1, grantedAt: 0 }, 1)).toThrow(ConfigurationError)
    expect(() => limiter.settle({ tokens: 1, grantedAt: 0 }, 1)).toThrow(
      'RateLimiter: permit must be one this limiter granted, got an object',
    )
  })

  it('refuses a cool-down that is not a finite number of ms >= 0, and pauses nothing for 0', () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ clock })
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, '5', undefined, null]) {
      let error: unknown
      try {
        limiter.coolDown(ms as never)
      } catch (thrown) {
        error = thrown
      }
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as ConfigurationError).message).toMatch(/^RateLimiter\.coolDown: ms must be /)
    }
    expect(limiter.status().coolDownMs).toBe(0)
    limiter.coolDown(0)
    expect(limiter.status().coolDownMs).toBe(0)
    limiter.coolDown(500)
    expect(limiter.status().coolDownMs).toBe(500)
  })

  it('refuses to settle tokens that are not a finite number >= 0, keeping the permit as it was', async () => {
    const limiter = new RateLimiter({ tokensPerMinute: 1_000, clock: new FakeClock() })
    const permit = await limiter.acquire({ tokens: 100 })
    for (const tokens of [Number.NaN, Number.POSITIVE_INFINITY, -1, '5', undefined]) {
      let error: unknown
      try {
        limiter.settle(permit, tokens as never)
      } catch (thrown) {
        error = thrown
      }
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as ConfigurationError).message).toMatch(/^RateLimiter\.settle: actualTokens must be /)
    }
    expect(limiter.status().tokens).toBe(100)
    limiter.settle(permit, 40)
    expect(limiter.status().tokens).toBe(40)
  })

  it('without limits, only cool-downs make callers wait', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ clock })
    for (let call = 0; call < 1_000; call++) await limiter.acquire({ tokens: 1_000_000 })
    expect(limiter.status()).toMatchObject({ requests: 0, waiting: 0 })
  })

  it('refuses a fraction of a request per minute, which could never be granted', () => {
    expect(() => new RateLimiter({ requestsPerMinute: 0.5 })).toThrow(
      'RateLimiter: requestsPerMinute must be an integer ≥ 1, got 0.5',
    )
    // A cool-down longer than a timer can hold would fire at once and re-arm forever.
    expect(() => new RateLimiter({ maxCoolDownMs: 3e9 })).toThrow(
      'RateLimiter: maxCoolDownMs must be a number of ms ≥ 0 and ≤ 2147483647, got 3000000000',
    )
  })

  it('checkLimits checks the limits of any limiter as RateLimiter checks its own, naming that limiter', () => {
    expect(checkLimits({}, 'SharedLimiter')).toEqual({ requestsPerMinute: undefined, tokensPerMinute: undefined })
    expect(checkLimits({ requestsPerMinute: 10, tokensPerMinute: 2.5 }, 'SharedLimiter')).toEqual({
      requestsPerMinute: 10,
      tokensPerMinute: 2.5,
    })
    expect(() => checkLimits({ requestsPerMinute: 0.5 }, 'SharedLimiter')).toThrow(
      'SharedLimiter: requestsPerMinute must be an integer ≥ 1, got 0.5',
    )
    expect(() => checkLimits({ tokensPerMinute: 0 }, 'SharedLimiter')).toThrow(
      'SharedLimiter: tokensPerMinute must be a number ≥ 1, got 0',
    )
  })

  it('rejects a queued waiter with a typed AbortError even when the abort reason is a hostile Proxy', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1, clock: new FakeClock() })
    await limiter.acquire()
    const controller = new AbortController()
    const queued = limiter.acquire({}, controller.signal)
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
    controller.abort(hostile)
    const error = await queued.catch((thrown: unknown) => thrown)
    expect(AbortError.isInstance(error)).toBe(true)
    expect(limiter.status().waiting).toBe(0)
  })

  it("rejects a queued waiter with a typed AbortError, and throws nothing out of the abort, when its signal's reason cannot be read", async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 1, clock })
    await limiter.acquire()
    const controller = new AbortController()
    Object.defineProperty(controller.signal, 'reason', {
      get() {
        throw new Error('no reason for you')
      },
    })
    const queued = limiter.acquire({}, controller.signal)
    const behind = limiter.acquire()
    // A listener that throws is reported as an uncaught exception: the abort itself must not throw out of it.
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown): void => {
      uncaught.push(error)
    }
    process.on('uncaughtException', onUncaught)
    try {
      controller.abort()
      const settled = await Promise.race([
        queued.catch((thrown: unknown) => thrown),
        clock.advance(0).then(() => 'still queued'),
      ])
      expect(AbortError.isInstance(settled), String(settled)).toBe(true)
      await new Promise((resolve) => setImmediate(resolve))
      expect(uncaught).toEqual([])
      expect(limiter.status().waiting).toBe(1)
      await clock.advance(minute)
      await expect(behind).resolves.toMatchObject({ grantedAt: minute })
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  it('counts fractional tokens exactly: a window of fractions never makes room that is not there', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ tokensPerMinute: 1, clock })
    // Summed as given, these left rounding dust that let the 1-token request below through at once.
    for (const [second, tokens] of [0.1516, 0.1634, 0.0722, 0.1768, 0.175].entries()) {
      clock.time = second
      await limiter.acquire({ tokens })
    }
    clock.time = minute // the first grant leaves; the other four are still in the window
    let granted: RateLimitPermit | undefined
    void limiter.acquire({ tokens: 1 }).then((permit) => {
      granted = permit
    })
    await clock.advance(3)
    expect(granted).toBeUndefined()
    await clock.advance(1)
    expect(granted?.grantedAt).toBe(minute + 4)
  })

  it('serves a request as large as a limit that is not a whole number, and lets nothing in beside it', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ tokensPerMinute: 1.0000001, clock })
    expect((await limiter.acquire({ tokens: 1.0000001 })).grantedAt).toBe(0)
    const small = limiter.acquire({ tokens: 0.00000001 })
    await clock.advance(minute)
    expect((await small).grantedAt).toBe(minute)
  })

  it('rejects every bad argument of acquire with a ConfigurationError, never a synchronous throw', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1, clock: new FakeClock() })
    await limiter.acquire({ tokens: 1 })
    const rejection = (call: () => Promise<unknown>): Promise<unknown> => {
      let promise: Promise<unknown>
      expect(() => {
        promise = call()
      }).not.toThrow()
      return promise!.then(
        () => 'resolved',
        (error: unknown) => error,
      )
    }
    const cases: Array<[() => Promise<unknown>, string]> = [
      // Queued (the window is full): the signal's listener is never reached with something that is not a signal.
      [() => limiter.acquire({ tokens: 1 }, {} as never), 'RateLimiter: signal must be an AbortSignal, got an object'],
      [() => limiter.acquire({ tokens: 1 }, 'x' as never), 'RateLimiter: signal must be an AbortSignal, got "x"'],
      [
        () => limiter.acquire(null as never),
        'RateLimiter: request must be an object such as { tokens: 100 }, got null',
      ],
      [
        () =>
          limiter.acquire({
            get tokens(): number {
              throw new Error('getter')
            },
          }),
        'RateLimiter: tokens could not be read: Error: getter',
      ],
    ]
    for (const [call, message] of cases) {
      const error = await rejection(call)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(message)
    }
    // A bad signal is refused even when the request would be granted at once.
    const free = new RateLimiter({ clock: new FakeClock() })
    const error = await rejection(() => free.acquire({ tokens: 1 }, {} as never))
    expect(ConfigurationError.isInstance(error)).toBe(true)
    // So is a misspelt key, which would count the call as no tokens at all.
    const misspelt = await rejection(() => free.acquire({ token: 500 } as never))
    expect(ConfigurationError.isInstance(misspelt)).toBe(true)
    expect((misspelt as Error).message).toBe(
      'RateLimiter: token is not an option; did you mean tokens? (known: tokens)',
    )
    expect(limiter.status().waiting).toBe(0)
  })

  it('rejects, never throws, when a signal that passed its check fails when listened to, and leaves the queue as it was', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1, clock: new FakeClock() })
    await limiter.acquire({ tokens: 1 })
    const refusing = {
      aborted: false,
      addEventListener(): never {
        throw new Error('no listeners here')
      },
      removeEventListener(): void {},
    }
    let reads = 0
    const fickle = {
      get aborted(): boolean {
        reads += 1
        if (reads > 1) throw new Error('aborted read twice')
        return false
      },
      addEventListener(): void {},
      removeEventListener(): void {},
    }
    for (const signal of [refusing, fickle]) {
      let promise: Promise<unknown> | undefined
      expect(() => {
        promise = limiter.acquire({ tokens: 1 }, signal as never)
      }).not.toThrow()
      const error = await (promise as Promise<unknown>).then(
        () => 'granted',
        (caught: unknown) => caught,
      )
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^RateLimiter: signal /)
      expect(limiter.status().waiting).toBe(0)
    }
  })

  it('grants a waiter whose signal cannot stop listening, and its later abort leaves the queue behind it as it was', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 1, clock })
    await limiter.acquire()
    const controller = new AbortController()
    const clinging = {
      get aborted(): boolean {
        return controller.signal.aborted
      },
      get reason(): unknown {
        return controller.signal.reason
      },
      addEventListener: controller.signal.addEventListener.bind(controller.signal),
      removeEventListener(): never {
        throw new Error('cannot stop listening')
      },
    }
    const first = limiter.acquire({}, clinging as never)
    const second = limiter.acquire()
    await clock.advance(minute)
    await expect(first).resolves.toMatchObject({ grantedAt: minute })
    // Its abort, heard after the grant, must not take the waiter behind it out of the queue.
    controller.abort()
    expect(limiter.status().waiting).toBe(1)
    await clock.advance(minute)
    await expect(second).resolves.toMatchObject({ grantedAt: 2 * minute })
  })

  it('looks at a waiting call a bounded number of grants, however many settle or give up while it waits', async () => {
    const clock = new FakeClock()
    const grants = 2_000
    const limiter = new RateLimiter({ tokensPerMinute: grants, clock })
    // Every step from one grant in the window to the next is a read of its `next`: count them.
    let steps = 0
    const permits: RateLimitPermit[] = []
    for (let index = 0; index < grants; index++) {
      clock.time = index
      const permit = await limiter.acquire({ tokens: 1 })
      let next: unknown = (permit as unknown as { next: unknown }).next
      Object.defineProperty(permit, 'next', {
        get: () => {
          steps += 1
          return next
        },
        set: (value: unknown) => {
          next = value
        },
      })
      permits.push(permit)
    }
    // A call as large as the whole limit waits for every grant to leave; small ones queue behind it and give up.
    const large = limiter.acquire({ tokens: grants })
    const controllers = Array.from({ length: grants }, () => new AbortController())
    const small = controllers.map((controller) =>
      limiter.acquire({ tokens: 1 }, controller.signal).catch(() => 'gave up'),
    )
    // Each call in flight settles for less than it asked, and each small waiter gives up: each frees room or a place.
    for (const permit of permits) limiter.settle(permit, 0.5)
    await clock.flush()
    const settling = steps
    expect(settling).toBeLessThan(grants * 10)
    for (const controller of controllers) controller.abort()
    expect(await Promise.all(small)).toEqual(controllers.map(() => 'gave up'))
    expect(steps - settling).toBeLessThan(grants * 10)
    // It is still served when it fits, and not before: once the last grant has left the window.
    let served: RateLimitPermit | undefined
    void large.then((permit) => {
      served = permit
    })
    while (served === undefined && (await clock.step())) {}
    expect(served?.grantedAt).toBe(grants - 1 + minute)
    expect(steps).toBeLessThan(grants * 20)
  })

  it('refuses options that cannot be read, and a clock that is not one, with a ConfigurationError', () => {
    const unreadable = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys trap')
        },
      },
    )
    expect(() => new RateLimiter(unreadable)).toThrow(ConfigurationError)
    expect(() => new RateLimiter(unreadable)).toThrow('RateLimiter: options could not be read: Error: ownKeys trap')
    const getter = {
      get tokensPerMinute(): number {
        throw new Error('getter')
      },
    }
    expect(() => new RateLimiter(getter)).toThrow(ConfigurationError)
    expect(() => new RateLimiter({ requestsPerMinute: 5, clock: {} as never })).toThrow(
      'RateLimiter: clock must be an object with now, setTimeout and clearTimeout functions, got an object',
    )
    expect(() => new RateLimiter({ clock: 5 as never })).toThrow(ConfigurationError)
  })

  it('refuses a clock whose now() is not a finite number of ms, instead of granting past its limits', async () => {
    for (const reading of [new Date(), Number.NaN, undefined, '5', 5n]) {
      const clock = new FakeClock()
      let now: unknown = 0
      const limiter = new RateLimiter({
        requestsPerMinute: 1,
        clock: {
          now: () => now as number,
          setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
          clearTimeout: (handle) => clock.clearTimeout(handle),
        },
      })
      await limiter.acquire()
      // The clock goes wrong with a call queued, and before the next one: neither is granted.
      const queued = limiter.acquire().then(
        () => 'granted',
        (error: unknown) => error,
      )
      now = reading
      const next = limiter.acquire().then(
        () => 'granted',
        (error: unknown) => error,
      )
      await clock.advance(minute)
      for (const outcome of [await queued, await next]) {
        expect(outcome).toBeInstanceOf(ConfigurationError)
        expect((outcome as Error).message).toMatch(/^RateLimiter: clock\.now\(\) must be a finite number of ms, got /)
      }
      expect(() => limiter.coolDown(10)).toThrow(ConfigurationError)
      expect(clock.pendingTimers).toBe(0)
    }
  })

  it('rejects every waiter with a ConfigurationError when its clock cannot set a timer, never throws nor hangs', async () => {
    const clock = new FakeClock()
    let timers = true
    const limiter = new RateLimiter({
      requestsPerMinute: 1,
      clock: {
        now: () => clock.now(),
        setTimeout: (callback, ms) => {
          if (!timers) throw new Error('no timers left')
          return clock.setTimeout(callback, ms)
        },
        clearTimeout: (handle) => clock.clearTimeout(handle),
      },
    })
    await limiter.acquire()
    timers = false
    const outcome = (call: () => Promise<unknown>): Promise<unknown> => {
      try {
        return call().then(
          () => 'granted',
          (error: unknown) => error,
        )
      } catch (thrown) {
        return Promise.resolve(`thrown: ${String(thrown)}`)
      }
    }
    // The first waiter asks for a timer at once; one queued behind it when a cool-down asks again.
    const first = outcome(() => limiter.acquire())
    const second = outcome(() => limiter.acquire())
    for (const result of [await first, await second]) {
      expect(result).toBeInstanceOf(ConfigurationError)
      expect((result as Error).message).toBe('RateLimiter: clock could not be read: Error: no timers left')
    }
    expect(limiter.status().waiting).toBe(0)
    // The timer of a wait already under way fails as the clock's now() does: its waiters hear why.
    timers = true
    const queued = outcome(() => limiter.acquire())
    timers = false
    const behind = outcome(() => limiter.acquire())
    expect(() => limiter.coolDown(10)).not.toThrow()
    for (const result of [await queued, await behind]) expect(result).toBeInstanceOf(ConfigurationError)
    expect(limiter.status().waiting).toBe(0)
  })
})
