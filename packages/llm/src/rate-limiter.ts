import {
  AbortError,
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  optionError,
  unreadableOption,
} from '@tinyllm/core'
import { RateLimitError } from './provider-errors.js'

/** The time source of a {@link RateLimiter}; inject a fake one in tests. Times are in milliseconds. */
export interface RateLimiterClock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Options of {@link RateLimiter}. Give at least one limit, or the limiter only enforces cool-downs. */
export interface RateLimiterOptions {
  /** Most requests granted in any 60-second window. */
  readonly requestsPerMinute?: number
  /** Most tokens (input + expected output) granted in any 60-second window. */
  readonly tokensPerMinute?: number
  /** Longest cool-down one call of `coolDown` can impose, in ms (guards against absurd `retry-after`). Default 60,000. */
  readonly maxCoolDownMs?: number
  /** Default: `performance.now()` and the global timers. */
  readonly clock?: RateLimiterClock
}

/** What an acquisition asks for. */
export interface RateLimitRequest {
  /** Tokens the call is expected to use (input + maximum output). Default 0. */
  readonly tokens?: number
}

/** A granted acquisition. Pass it to {@link RateLimiter.settle} once the real token usage is known. */
export interface RateLimitPermit {
  /** Tokens this permit counts against the window (the estimate until settled). */
  readonly tokens: number
  /** Clock time the permit was granted at, in ms. */
  readonly grantedAt: number
}

/**
 * Throws a ConfigurationError naming `option` unless `value` is a finite number ≥ 0 of `unit`: the check every rate
 * limiter makes of the tokens it settles and the pause it cools down for.
 */
export function requireCount(value: unknown, option: string, unit: string, owner: string): void {
  if (checkNumber(value, option, { min: 0, unit }, owner) === undefined) {
    throw optionError(option, `a number of ${unit} ≥ 0`, value, owner)
  }
}

/**
 * What LLMCall needs of a rate limiter: the contract of {@link RateLimiter}, so that another implementation (one shared
 * by many processes through a server, say) plugs in. Its guarantee must be RateLimiter's: in any 60-second window, no
 * more requests and tokens granted than its limits.
 */
export interface RateLimiterLike {
  /** Resolves once one request of `tokens` may be sent; rejects with an AbortError when `signal` aborts first. */
  acquire(request?: RateLimitRequest, signal?: AbortSignal): Promise<RateLimitPermit>
  /** Replaces a permit's estimate with the tokens the call really used. */
  settle(permit: RateLimitPermit, actualTokens: number): void
  /** Pauses every acquisition for `ms`, after a 429 with `retry-after`. */
  coolDown(ms: number): void
}

/** What a limiter is doing right now. */
export interface RateLimiterStatus {
  /** Requests granted in the current 60-second window. */
  readonly requests: number
  /** Tokens granted in the current 60-second window, each grant rounded up to a millionth of a token. */
  readonly tokens: number
  /** Acquisitions queued. */
  readonly waiting: number
  /** Remaining shared cool-down, in ms. */
  readonly coolDownMs: number
}

const windowMs = 60_000
/**
 * Tokens are counted on a grid of 2⁻²⁰ (about a millionth of a token), so that the window's running total never
 * rounds: sums and differences of such numbers below 2³³ tokens are exact, and a grant leaving the window frees exactly
 * what it took. (Counted as given, fractional estimates leave rounding dust that once let a window over-grant.)
 */
const tokenGrid = 2 ** 20
/** From here on every double is already on the grid (and multiplying by it could overflow). */
const gridExactFrom = 2 ** 32
/** The longest delay a timer can hold (2³¹−1 ms). */
const maxTimerDelayMs = 2_147_483_647
/** Names the limiter in its configuration errors. */
const owner = 'RateLimiter'
/** Every option of {@link RateLimiter}: a misspelt limit is refused, never read as no limit. */
const optionKeys: ReadonlySet<string> = new Set(
  Object.keys({
    requestsPerMinute: true,
    tokensPerMinute: true,
    maxCoolDownMs: true,
    clock: true,
  } satisfies Record<keyof RateLimiterOptions, true>),
)

/**
 * A limiter's `requestsPerMinute` and `tokensPerMinute`, checked as every limiter checks them: each absent, or a number
 * ≥ 1, a whole one for requests. Anything else is a {@link ConfigurationError}.
 */
export function checkLimits(
  options: Pick<RateLimiterOptions, 'requestsPerMinute' | 'tokensPerMinute'>,
  limiter: string,
): { readonly requestsPerMinute: number | undefined; readonly tokensPerMinute: number | undefined } {
  return {
    // A fraction of a request per minute could never be granted: the window would never hold room for one.
    requestsPerMinute: checkNumber(options.requestsPerMinute, 'requestsPerMinute', { integer: true, min: 1 }, limiter),
    tokensPerMinute: checkNumber(options.tokensPerMinute, 'tokensPerMinute', { min: 1 }, limiter),
  }
}

/** The keys of an acquisition request. */
const requestKeys: ReadonlySet<string> = new Set(['tokens'])

/**
 * The tokens `request` asks a limiter for, checked as every limiter checks them: an object (or `undefined`) whose
 * `tokens` is a count ≥ 0, and never more than `tokensPerMinute` (a call that could never be served is a non-retryable
 * {@link RateLimitError}). Anything else, or a request whose reading throws, is a {@link ConfigurationError}.
 */
export function requestedTokens(
  request: RateLimitRequest | undefined,
  tokensPerMinute: number | undefined,
  limiter: string,
): number {
  if (request === undefined) return 0
  if (typeof request !== 'object' || request === null) {
    throw optionError('request', 'an object such as { tokens: 100 }', request, limiter)
  }
  let given: unknown
  try {
    // A misspelt key (`token`) would count the call as 0 tokens: it is refused, with the right name.
    checkKnownOptions(request, requestKeys, limiter)
    given = request.tokens
  } catch (error) {
    throw unreadableOption(error, 'tokens', limiter)
  }
  const tokens = checkNumber(given, 'tokens', { min: 0 }, limiter) ?? 0
  if (tokensPerMinute !== undefined && tokens > tokensPerMinute)
    throw new RateLimitError({
      provider: 'rate-limiter',
      message: `${limiter}: a call needing ${tokens} tokens can never be served with tokensPerMinute = ${tokensPerMinute}; lower maxTokens or raise the limit`,
      retryable: false,
    })
  return tokens
}

/**
 * Checks the `signal` an acquisition was given, as every limiter checks it: `undefined` or an AbortSignal of any realm
 * (or one that behaves as one); anything else is a {@link ConfigurationError}, never a listener call that throws.
 */
export function checkSignal(signal: unknown, limiter: string = owner): AbortSignal | undefined {
  if (signal === undefined) return undefined
  let valid: boolean
  try {
    const candidate = signal as AbortSignal
    valid =
      typeof candidate === 'object' &&
      candidate !== null &&
      typeof candidate.addEventListener === 'function' &&
      typeof candidate.removeEventListener === 'function' &&
      typeof candidate.aborted === 'boolean'
  } catch {
    valid = false
  }
  if (!valid) throw optionError('signal', 'an AbortSignal', signal, limiter)
  return signal as AbortSignal
}

/**
 * The AbortError of a `signal` that has aborted, or `undefined`: its state read once, so a signal whose reading throws
 * (a lookalike's getter) is a ConfigurationError, never a throw out of `acquire`. Every limiter asks it.
 */
export function abortedWith(signal: AbortSignal | undefined, limiter: string = owner): AbortError | undefined {
  if (signal === undefined) return undefined
  let reason: unknown
  try {
    if (!signal.aborted) return undefined
    reason = signal.reason
  } catch (error) {
    throw unreadableOption(error, 'signal', limiter)
  }
  return new AbortError({ reason })
}

/**
 * Has `listener` hear `signal`'s abort, once, before a waiter joins a limiter's queue: a signal that cannot be listened
 * to (a lookalike whose `addEventListener` throws) is a ConfigurationError, and leaves nothing queued. Every limiter
 * listens through it.
 */
export function listenForAbort(
  signal: AbortSignal | undefined,
  listener: Parameters<AbortSignal['addEventListener']>[1],
  limiter: string = owner,
): void {
  try {
    signal?.addEventListener('abort', listener, { once: true })
  } catch (error) {
    throw optionError('signal', 'an AbortSignal that can be listened to', signal, limiter, error)
  }
}

/** Checks a limiter's `clock` option: `undefined`, or an object with `now`, `setTimeout` and `clearTimeout`. */
function checkClock(clock: unknown): RateLimiterClock | undefined {
  if (clock === undefined) return undefined
  const candidate = clock as Partial<RateLimiterClock> | null
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.now !== 'function' ||
    typeof candidate.setTimeout !== 'function' ||
    typeof candidate.clearTimeout !== 'function'
  ) {
    throw optionError('clock', 'an object with now, setTimeout and clearTimeout functions', clock, owner)
  }
  return candidate as RateLimiterClock
}

/** `tokens` rounded up to the grid: a grant is never counted as less than it took. */
function countedTokens(tokens: number): number {
  return tokens >= gridExactFrom ? tokens : Math.ceil(tokens * tokenGrid) / tokenGrid
}

const systemClock: RateLimiterClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** One granted permit; also a node of the list of grants inside the window, oldest first. */
class Grant implements RateLimitPermit {
  tokens: number
  /** What the grant counts against the window: `tokens` on the grid. */
  counted: number
  readonly grantedAt: number
  readonly limiter: RateLimiter
  next: Grant | undefined = undefined
  /** Still counted in the window. */
  live = false

  constructor(limiter: RateLimiter, tokens: number, counted: number, grantedAt: number) {
    this.limiter = limiter
    this.tokens = tokens
    this.counted = counted
    this.grantedAt = grantedAt
  }
}

/** A queued acquisition; a node of the FIFO list, and its own abort listener (no closure per waiter). */
class Waiter {
  readonly tokens: number
  readonly signal: AbortSignal | undefined
  private readonly cancel: (waiter: Waiter) => void
  resolve: (permit: RateLimitPermit) => void = noop
  reject: (error: unknown) => void = noop
  previous: Waiter | undefined = undefined
  next: Waiter | undefined = undefined
  /** In the queue: an abort heard after the waiter left it (granted) changes nothing. */
  queued = false

  constructor(cancel: (waiter: Waiter) => void, tokens: number, signal: AbortSignal | undefined) {
    this.cancel = cancel
    this.tokens = tokens
    this.signal = signal
  }

  handleEvent(): void {
    if (this.queued) this.cancel(this)
  }
}

function noop(): void {}

/**
 * Removes a granted waiter's abort listener. A signal that behaves as one only until then (its `removeEventListener`
 * throws) would otherwise throw out of the timer that grants it, leaving the waiter never answered; its listener stays,
 * and finds the waiter out of the queue if it ever fires.
 */
function stopListening(waiter: Waiter): void {
  try {
    waiter.signal?.removeEventListener('abort', waiter)
  } catch {
    // The waiter is out of the queue: its abort, if it comes, does nothing (Waiter.handleEvent).
  }
}

/**
 * Limits requests and tokens per minute for every call that shares it, across any number of concurrent runs.
 *
 * Guarantee: in any 60-second window, the requests granted never exceed `requestsPerMinute` and the tokens granted
 * never exceed `tokensPerMinute`. Each grant drains the minute's bucket and flows back into it exactly 60 s later, so
 * capacity refills continuously as old grants leave the window (a classic token bucket that also refills while a
 * burst is still inside the window could grant twice the limit in one minute). Waiters are served strictly in arrival
 * order from an O(1) linked queue; an aborted waiter leaves the queue and its listener at once. `coolDown(ms)` pauses
 * every acquisition: a storm of 429s extends one shared pause instead of starting one backoff per call.
 *
 * @example
 * const limiter = new RateLimiter({ requestsPerMinute: 500, tokensPerMinute: 200_000 })
 * const chat = new LLMCall({ name: 'chat', model, rateLimiter: limiter })
 */
export class RateLimiter implements RateLimiterLike {
  readonly requestsPerMinute: number | undefined
  readonly tokensPerMinute: number | undefined
  readonly maxCoolDownMs: number
  private readonly clock: RateLimiterClock
  private readonly tracking: boolean
  /** `tokensPerMinute` rounded down to the grid (`Infinity` without a token limit). */
  private readonly tokenCapacity: number
  private windowRequests = 0
  private windowTokens = 0
  private oldest: Grant | undefined = undefined
  private newest: Grant | undefined = undefined
  private head: Waiter | undefined = undefined
  private tail: Waiter | undefined = undefined
  private waiting = 0
  private coolDownUntil = Number.NEGATIVE_INFINITY
  private timer: unknown = undefined
  private readonly onTimer = (): void => {
    this.timer = undefined
    this.drain()
  }
  /** Called by a waiter's abort listener: the waiter leaves the queue, and the next one may go. */
  private readonly cancelWaiter = (waiter: Waiter): void => {
    const wasHead = waiter === this.head
    this.unlink(waiter)
    let reason: unknown
    try {
      reason = waiter.signal?.reason
    } catch {
      // A reason that cannot be read (a getter that throws) still cancels, as a signal aborted without one: thrown from
      // this abort listener, it would be an uncaught exception, and the waiter would never be answered.
      reason = undefined
    }
    waiter.reject(new AbortError({ reason }))
    if (wasHead) this.drain()
  }

  constructor(options: RateLimiterOptions = {}) {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
    try {
      checkKnownOptions(options, optionKeys, owner)
      const limits = checkLimits(options, owner)
      this.requestsPerMinute = limits.requestsPerMinute
      this.tokensPerMinute = limits.tokensPerMinute
      this.maxCoolDownMs =
        checkNumber(options.maxCoolDownMs, 'maxCoolDownMs', { min: 0, max: maxTimerDelayMs, unit: 'ms' }, owner) ??
        60_000
      this.clock = checkClock(options.clock) ?? systemClock
    } catch (error) {
      // Options whose reading throws (a getter, a Proxy) are bad options too.
      throw unreadableOption(error, 'options', owner)
    }
    const tokensPerMinute = this.tokensPerMinute
    this.tokenCapacity =
      tokensPerMinute === undefined || tokensPerMinute >= gridExactFrom
        ? (tokensPerMinute ?? Number.POSITIVE_INFINITY)
        : Math.floor(tokensPerMinute * tokenGrid) / tokenGrid
    this.tracking = this.requestsPerMinute !== undefined || tokensPerMinute !== undefined
  }

  /**
   * Resolves with a permit once one request and `tokens` tokens fit in the last 60 s and no cool-down is running, in
   * arrival order. Rejects with {@link AbortError} when `signal` aborts first (the waiter leaves the queue), and at once
   * with a non-retryable {@link RateLimitError} when `tokens` exceeds `tokensPerMinute` (it could never be served), and
   * with a {@link ConfigurationError} for a request or a signal of the wrong kind.
   */
  acquire(request?: RateLimitRequest, signal?: AbortSignal): Promise<RateLimitPermit> {
    let tokens: number
    let aborted: AbortError | undefined
    try {
      tokens = requestedTokens(request, this.tokensPerMinute, owner)
      aborted = abortedWith(checkSignal(signal))
    } catch (error) {
      return Promise.reject(error)
    }
    if (aborted !== undefined) return Promise.reject(aborted)
    if (this.head === undefined) {
      let now: number
      try {
        now = this.now()
      } catch (error) {
        return Promise.reject(error)
      }
      this.expire(now)
      if (this.waitFor(tokens, now) <= 0) return Promise.resolve(this.grant(tokens, now))
    }
    const waiter = new Waiter(this.cancelWaiter, tokens, signal)
    const promise = new Promise<RateLimitPermit>((resolve, reject) => {
      waiter.resolve = resolve
      waiter.reject = reject
    })
    // Before the waiter joins the queue: a signal that cannot be listened to leaves nothing behind.
    try {
      listenForAbort(signal, waiter)
    } catch (error) {
      return Promise.reject(error)
    }
    this.waiting += 1
    waiter.queued = true
    if (this.tail === undefined) {
      this.head = waiter
      this.tail = waiter
      this.drain()
    } else {
      waiter.previous = this.tail
      this.tail.next = waiter
      this.tail = waiter
    }
    return promise
  }

  /**
   * Replaces a permit's estimated tokens with what the call really used. Using less frees capacity for waiters at
   * once; using more counts against the window it was granted in. Settling again replaces the previous value. Tokens
   * that are not a finite number ≥ 0 (`NaN`, `-1`, `'5'`) are a ConfigurationError, not a settlement quietly ignored.
   */
  settle(permit: RateLimitPermit, actualTokens: number): void {
    if (!(permit instanceof Grant) || permit.limiter !== this) {
      throw optionError('permit', 'one this limiter granted', permit, owner)
    }
    requireCount(actualTokens, 'actualTokens', 'tokens', `${owner}.settle`)
    // Settling may count more than the limit: the surplus weighs on the window it was granted in.
    const counted = countedTokens(actualTokens)
    const delta = counted - permit.counted
    permit.tokens = actualTokens
    permit.counted = counted
    if (!permit.live) return
    this.windowTokens += delta
    if (delta < 0 && this.head !== undefined) this.drain()
  }

  /**
   * Pauses every acquisition for `ms` (clamped to `maxCoolDownMs`), e.g. after a 429 with `retry-after`. Cool-downs
   * overlap rather than add up: the pause ends at the latest end asked for; `0` pauses nothing. A pause that is not a
   * finite number ≥ 0 (`NaN`, `Infinity`, `-1`, `'5'`) is a ConfigurationError, not a call quietly ignored.
   */
  coolDown(ms: number): void {
    requireCount(ms, 'ms', 'ms', `${owner}.coolDown`)
    if (ms === 0) return
    const until = this.now() + Math.min(ms, this.maxCoolDownMs)
    if (until <= this.coolDownUntil) return
    this.coolDownUntil = until
    if (this.head !== undefined) this.drain()
  }

  /** Current window usage, queue length and cool-down, for logs and tests. */
  status(): RateLimiterStatus {
    const now = this.now()
    this.expire(now)
    return {
      requests: this.windowRequests,
      tokens: this.windowTokens,
      waiting: this.waiting,
      coolDownMs: Math.max(0, this.coolDownUntil - now),
    }
  }

  /** Grants queued waiters in order while they fit; then sleeps until the head one can, or the oldest grant leaves. */
  private drain(): void {
    let now: number
    try {
      now = this.now()
    } catch (error) {
      this.failWaiters(error)
      return
    }
    this.expire(now)
    for (let waiter = this.head; waiter !== undefined; waiter = this.head) {
      const wait = this.waitFor(waiter.tokens, now)
      if (wait > 0) {
        this.schedule(wait)
        return
      }
      this.unlink(waiter)
      stopListening(waiter)
      waiter.resolve(this.grant(waiter.tokens, now))
    }
    this.cancelTimer()
  }

  /**
   * The clock's time, checked at each reading: one that is not a finite number (a `Date`, `NaN`) compares false with
   * every grant, and would grant past every limit. Such a reading, or a `now()` that throws, is a ConfigurationError.
   */
  private now(): number {
    let now: unknown
    try {
      now = this.clock.now()
    } catch (error) {
      throw unreadableOption(error, 'clock', owner)
    }
    if (typeof now !== 'number' || !Number.isFinite(now))
      throw optionError('clock.now()', 'a finite number of ms', now, owner)
    return now
  }

  /** Milliseconds until one request of `tokens` fits; ≤ 0 when it fits now. Assumes `expire(now)` ran. */
  private waitFor(tokens: number, now: number): number {
    let wait = this.coolDownUntil - now
    const requestsPerMinute = this.requestsPerMinute
    if (requestsPerMinute !== undefined && this.windowRequests + 1 > requestsPerMinute) {
      // The window holds exactly `requestsPerMinute` grants; the oldest leaving makes room.
      wait = Math.max(wait, (this.oldest as Grant).grantedAt + windowMs - now)
    }
    if (this.windowTokens + this.count(tokens) > this.tokenCapacity) {
      // Room is looked for again each time the oldest grant leaves, never by walking the window: a walk per settle or
      // per abort made a queue behind a large request cost the square of the grants in the window. The window holds a
      // grant here (an empty one holds nothing, and a request never counts more than the capacity), and a wait ends at
      // the first leaving that makes room, as a search would have found it.
      wait = Math.max(wait, (this.oldest as Grant).grantedAt + windowMs - now)
    }
    return wait
  }

  /**
   * What a request of `tokens` counts against the window. One within a grid step of an off-grid `tokensPerMinute`
   * counts as the whole capacity: it fills the window alone, as it would anyway.
   */
  private count(tokens: number): number {
    return Math.min(countedTokens(tokens), this.tokenCapacity)
  }

  private grant(tokens: number, now: number): Grant {
    const grant = new Grant(this, tokens, this.count(tokens), now)
    if (!this.tracking) return grant
    grant.live = true
    this.windowRequests += 1
    this.windowTokens += grant.counted
    if (this.newest === undefined) this.oldest = grant
    else this.newest.next = grant
    this.newest = grant
    return grant
  }

  /** Drops grants that left the window: granted at or before `now - 60 s`. */
  private expire(now: number): void {
    let grant = this.oldest
    while (grant !== undefined && grant.grantedAt + windowMs <= now) {
      this.windowRequests -= 1
      this.windowTokens -= grant.counted
      grant.live = false
      const next = grant.next
      grant.next = undefined
      grant = next
    }
    this.oldest = grant
    if (grant === undefined) {
      this.newest = undefined
      // Sums past 2³³ tokens may round; an empty window holds exactly nothing.
      this.windowRequests = 0
      this.windowTokens = 0
    }
  }

  private unlink(waiter: Waiter): void {
    const { previous, next } = waiter
    if (previous === undefined) this.head = next
    else previous.next = next
    if (next === undefined) this.tail = previous
    else next.previous = previous
    waiter.previous = undefined
    waiter.next = undefined
    waiter.queued = false
    this.waiting -= 1
  }

  /**
   * Every queued waiter hears `error`: without the clock's time or a timer nothing can be granted, and drain, which may
   * run in a timer or inside `acquire`, must not throw.
   */
  private failWaiters(error: unknown): void {
    this.cancelTimer()
    for (let waiter = this.head; waiter !== undefined; waiter = this.head) {
      this.unlink(waiter)
      stopListening(waiter)
      waiter.reject(error)
    }
  }

  private schedule(wait: number): void {
    this.cancelTimer()
    try {
      // A wait longer than a timer can hold is slept in steps (a timer given more fires at once, and would spin).
      this.timer = this.clock.setTimeout(this.onTimer, Math.min(Math.max(1, Math.ceil(wait)), maxTimerDelayMs))
    } catch (error) {
      this.failWaiters(unreadableOption(error, 'clock', owner))
    }
  }

  private cancelTimer(): void {
    const timer = this.timer
    if (timer === undefined) return
    this.timer = undefined
    try {
      this.clock.clearTimeout(timer)
    } catch {
      // A timer left running only wakes drain early: it grants what fits and sleeps again.
    }
  }
}
