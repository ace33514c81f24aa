import { AbortError, optionError } from '@tinyllm/core'
import type { RateLimiterLike, RateLimitPermit, RateLimitRequest } from '@tinyllm/llm'
import {
  abortedWith,
  checkLimits,
  checkSignal,
  listenForAbort,
  RateLimitError,
  requestedTokens,
  requireCount,
} from '@tinyllm/llm'
import type { Redis } from 'ioredis'
import { callScript, checkKeyName, closeRedis, openRedis, type RedisConnection } from './redis-connection.js'
import {
  acquireScript,
  coolDownScript,
  releaseScript,
  settleScript,
  statusScript,
} from './redis-rate-limiter-scripts.js'
import { checkOptionKeys, checkPrefix, checkTimerMs, limiterKeySegment } from './run-job.js'

/** Options of {@link RedisRateLimiter}. Give at least one limit, or the limiter only enforces cool-downs. */
export interface RedisRateLimiterOptions {
  /** Where Redis is. */
  readonly connection: RedisConnection
  /** Limiters of the same name (and prefix) share their window and cool-down, in every process. */
  readonly name: string
  /** Most requests granted in any window. */
  readonly requestsPerMinute?: number
  /** Most tokens (input + expected output) granted in any window. */
  readonly tokensPerMinute?: number
  /** The window the limits count in, in ms; default 60,000 (a minute). Shorter windows are for tests. */
  readonly windowMs?: number
  /** Longest cool-down one call of `coolDown` can impose, in ms. Default 60,000. */
  readonly maxCoolDownMs?: number
  /**
   * First part of the limiter's keys (`{<prefix>:limiter:<name>}`); default `tinyllm`. One with a `:limiter` part is
   * refused: its keys would be those of a limiter of another name under a shorter prefix.
   */
  readonly prefix?: string
}

/** What a shared limiter's window holds right now, by the server's clock. */
export interface RedisRateLimiterStatus {
  /** Requests granted in the current window, by every process. */
  readonly requests: number
  /** Tokens granted in the current window, by every process. */
  readonly tokens: number
  /** Acquisitions queued in this process. */
  readonly waiting: number
  /** Remaining shared cool-down, in ms. */
  readonly coolDownMs: number
}

/** A permit of a RedisRateLimiter: its grant's id and the server time it was granted at (µs). */
class RedisPermit implements RateLimitPermit {
  tokens: number
  readonly grantedAt: number
  readonly limiter: RedisRateLimiter
  readonly id: string
  readonly grantedAtMicros: number

  constructor(limiter: RedisRateLimiter, id: string, grantedAtMicros: number, tokens: number) {
    this.limiter = limiter
    this.id = id
    this.grantedAtMicros = grantedAtMicros
    this.grantedAt = grantedAtMicros / 1000
    this.tokens = tokens
  }
}

/** A queued acquisition of this process, a link of the queue; its own abort listener. */
class Waiter {
  readonly tokens: number
  readonly signal: AbortSignal | undefined
  readonly resolve: (permit: RateLimitPermit) => void
  readonly reject: (error: unknown) => void
  private readonly limiter: RedisRateLimiter
  done = false
  previous: Waiter | undefined = undefined
  next: Waiter | undefined = undefined

  constructor(
    limiter: RedisRateLimiter,
    tokens: number,
    signal: AbortSignal | undefined,
    resolve: (permit: RateLimitPermit) => void,
    reject: (error: unknown) => void,
  ) {
    this.limiter = limiter
    this.tokens = tokens
    this.signal = signal
    this.resolve = resolve
    this.reject = reject
  }

  handleEvent(): void {
    this.limiter.abandon(this)
  }
}

const scripts = {
  acquire: ['tinyllmLimiterAcquire', acquireScript],
  settle: ['tinyllmLimiterSettle', settleScript],
  release: ['tinyllmLimiterRelease', releaseScript],
  coolDown: ['tinyllmLimiterCoolDown', coolDownScript],
  status: ['tinyllmLimiterStatus', statusScript],
} as const
const owner = 'RedisRateLimiter'
/** A waiter told to wait longer than this asks again then: another process may have settled for less. */
const longestSleepMs = 1_000

/**
 * The contract and guarantee of `@tinyllm/llm`'s `RateLimiter`, shared by every process that uses a limiter of the
 * same name on the same Redis: in any window (a minute by default), the requests granted never exceed
 * `requestsPerMinute` and the tokens granted never exceed `tokensPerMinute`, across all of them. Each grant is decided
 * in one Lua script on the server's clock (`TIME`): the grants of the last window are a sorted set, each one leaves
 * exactly one window after it was granted, and capacity comes back as they leave — never a fixed window that could
 * grant twice the limit across its edge. When the server's clock is set back, the limiter's goes on from its newest
 * grant instead of stalling every process until the server's catches up. `coolDown(ms)` after a 429 pauses every
 * process at once.
 *
 * Within a process waiters are served in arrival order; across processes, whichever asks first once room frees.
 * Waiting is cancellable through the signal (the waiter leaves; a grant that arrives after it left is taken back).
 * While Redis is unreachable, acquisitions wait for it; when Redis answers with an error (the limiter's keys hold
 * another program's values), they fail with a non-retryable {@link RateLimitError}. `settle` and `coolDown` return at
 * once and reach the server in the background.
 *
 * @example
 * const rateLimiter = new RedisRateLimiter({ connection: redisUrl, name: 'openai', requestsPerMinute: 500, tokensPerMinute: 200_000 })
 * const chat = new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', rateLimiter })
 */
export class RedisRateLimiter implements RateLimiterLike {
  readonly name: string
  readonly requestsPerMinute: number | undefined
  readonly tokensPerMinute: number | undefined
  readonly windowMs: number
  readonly maxCoolDownMs: number
  private readonly client: Redis
  private readonly keys: readonly [string, string, string]
  private readonly windowMicros: number
  private readonly ttlMs: number
  /** The queue, in arrival order: a waiter that leaves is unlinked at once. */
  private first: Waiter | undefined = undefined
  private last: Waiter | undefined = undefined
  private waiting = 0
  private draining = false
  private wake: (() => void) | undefined = undefined
  private closed = false

  constructor(given: RedisRateLimiterOptions) {
    const options = checkOptionKeys(
      given,
      ['connection', 'name', 'requestsPerMinute', 'tokensPerMinute', 'windowMs', 'maxCoolDownMs', 'prefix'],
      owner,
    )
    // Redis keeps keys as UTF-8: names that differ only in a lone surrogate would share one window.
    this.name = checkKeyName(options.name, 'name', owner)
    // One with a `:limiter` part would name the keys of another prefix's limiter of another name.
    const prefix = checkPrefix(options.prefix ?? 'tinyllm', owner, limiterKeySegment)
    const limits = checkLimits(options, owner)
    this.requestsPerMinute = limits.requestsPerMinute
    this.tokensPerMinute = limits.tokensPerMinute
    this.windowMs = checkTimerMs(options.windowMs, 'windowMs', 1, owner) ?? 60_000
    this.maxCoolDownMs = checkTimerMs(options.maxCoolDownMs, 'maxCoolDownMs', 0, owner) ?? 60_000
    this.windowMicros = this.windowMs * 1000
    this.ttlMs = this.windowMs + this.maxCoolDownMs + 1_000
    const base = `{${prefix}:${limiterKeySegment}:${this.name}}`
    this.keys = [`${base}:grants`, `${base}:tokens`, `${base}:state`]
    this.client = openRedis(options.connection, owner)
    for (const [command, lua] of Object.values(scripts)) this.client.defineCommand(command, { numberOfKeys: 3, lua })
  }

  /**
   * Resolves with a permit once one request and `tokens` tokens fit in the window of every process and no cool-down
   * is running. Rejects with {@link AbortError} when `signal` aborts first, and at once with a non-retryable
   * {@link RateLimitError} when `tokens` exceeds `tokensPerMinute` (it could never be served).
   */
  acquire(request: RateLimitRequest = {}, signal?: AbortSignal): Promise<RateLimitPermit> {
    const limiter = `${owner} ${this.name}`
    let tokens: number
    let aborted: AbortError | undefined
    try {
      tokens = requestedTokens(request, this.tokensPerMinute, limiter)
      aborted = abortedWith(checkSignal(signal, limiter), limiter)
    } catch (error) {
      return Promise.reject(error)
    }
    if (aborted !== undefined) return Promise.reject(aborted)
    if (this.closed) return Promise.reject(closedError(this.name))
    return new Promise<RateLimitPermit>((resolve, reject) => {
      const waiter = new Waiter(this, tokens, signal, resolve, reject)
      // Before the waiter joins the queue: a signal that cannot be listened to leaves nothing behind.
      try {
        listenForAbort(signal, waiter, limiter)
      } catch (error) {
        reject(error)
        return
      }
      waiter.previous = this.last
      if (this.last === undefined) this.first = waiter
      else this.last.next = waiter
      this.last = waiter
      this.waiting += 1
      if (!this.draining) void this.drain()
    })
  }

  /** Replaces a permit's estimated tokens with what the call really used (in the background). */
  settle(permit: RateLimitPermit, actualTokens: number): void {
    if (!(permit instanceof RedisPermit) || permit.limiter !== this) {
      throw optionError('permit', 'a permit this limiter granted', permit, owner)
    }
    requireCount(actualTokens, 'actualTokens', 'tokens', `${owner}.settle`)
    permit.tokens = actualTokens
    this.background(scripts.settle[0], [permit.id, permit.grantedAtMicros, actualTokens]).then(() => this.wake?.())
  }

  /**
   * Pauses every acquisition of every process sharing the limiter for `ms` (clamped to `maxCoolDownMs`), e.g. after a
   * 429 with `retry-after`. Cool-downs overlap rather than add up. Reaches the server in the background.
   */
  coolDown(ms: number): void {
    requireCount(ms, 'ms', 'ms', `${owner}.coolDown`)
    if (ms === 0) return
    this.background(scripts.coolDown[0], [Math.round(Math.min(ms, this.maxCoolDownMs) * 1000)])
  }

  /** The shared window's requests and tokens, this process's queue, and the cool-down left. */
  async status(): Promise<RedisRateLimiterStatus> {
    // A closed limiter has no connection: not Redis answering with an error.
    if (this.closed) throw closedError(this.name)
    const [requests, tokens, coolDownMicros] = (await callScript(this.client, scripts.status[0], [
      ...this.keys,
      this.windowMicros,
    ]).catch((error: unknown) => {
      // Closed meanwhile, which failed the command: not Redis answering with an error either.
      throw this.closed ? closedError(this.name) : this.refused(error)
    })) as [number, string, number]
    return {
      requests,
      tokens: Number(tokens),
      waiting: this.waiting,
      coolDownMs: coolDownMicros / 1000,
    }
  }

  /**
   * Rejects every waiting acquisition and closes the connection; a Redis that has not answered within 2 s (frozen, or
   * cut off without the connection closing) has it cut.
   */
  async close(): Promise<void> {
    this.closed = true
    while (this.first !== undefined) this.finish(this.first)
    this.wake?.()
    await closeRedis(this.client)
  }

  /** @internal A waiter's signal aborted: it leaves the queue, and the next one may go. */
  abandon(waiter: Waiter): void {
    if (waiter.done) return
    const wasHead = waiter === this.first
    this.finish(waiter)
    waiter.reject(new AbortError({ reason: waiter.signal?.reason }))
    if (wasHead) this.wake?.()
  }

  /** Serves the queue head first: asks the server, grants, or sleeps as long as it says (at most a second). */
  private async drain(): Promise<void> {
    this.draining = true
    try {
      for (let waiter = this.head(); waiter !== undefined; waiter = this.head()) {
        let answer: [0, number] | [1, number, number]
        try {
          answer = (await callScript(this.client, scripts.acquire[0], [
            ...this.keys,
            this.windowMicros,
            this.ttlMs,
            waiter.tokens,
            this.requestsPerMinute ?? 0,
            this.tokensPerMinute ?? 0,
          ])) as typeof answer
        } catch (error) {
          // Commands wait while Redis is unreachable; this is Redis answering with an error (the limiter's keys hold
          // another program's values, say), which asking again would only repeat: the waiter fails with it.
          if (!waiter.done) {
            this.finish(waiter)
            waiter.reject(this.refused(error))
          }
          continue
        }
        if (answer[0] === 1) {
          const permit = new RedisPermit(this, String(answer[1]), answer[2], waiter.tokens)
          if (waiter.done) {
            this.background(scripts.release[0], [permit.id, permit.grantedAtMicros])
            continue
          }
          this.finish(waiter)
          waiter.resolve(permit)
          continue
        }
        // Refused: wait as long as the server says, unless something changes first.
        const waitMs = Math.max(1, Math.ceil(answer[1] / 1000))
        if (!waiter.done) await this.sleep(Math.min(waitMs, longestSleepMs))
      }
    } finally {
      this.draining = false
    }
  }

  /** The first waiter still waiting. */
  private head(): Waiter | undefined {
    return this.closed ? undefined : this.first
  }

  /** Redis answered one of the limiter's scripts with an error. */
  private refused(cause: unknown): RateLimitError {
    const detail = cause instanceof Error ? cause.message : String(cause)
    return new RateLimitError({
      provider: 'rate-limiter',
      message: `${owner} ${this.name}: Redis answered the limiter's script (on ${this.keys.join(', ')}) with an error: ${detail}`,
      retryable: false,
      cause,
    })
  }

  /** The waiter leaves the queue (granted, refused, cancelled or closed). */
  private finish(waiter: Waiter): void {
    if (waiter.done) return
    waiter.done = true
    waiter.signal?.removeEventListener('abort', waiter)
    if (waiter.previous === undefined) this.first = waiter.next
    else waiter.previous.next = waiter.next
    if (waiter.next === undefined) this.last = waiter.previous
    else waiter.next.previous = waiter.previous
    waiter.previous = undefined
    waiter.next = undefined
    this.waiting -= 1
    if (this.closed) waiter.reject(closedError(this.name))
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, ms)
      const self = this
      function wake(): void {
        clearTimeout(timer)
        if (self.wake === wake) self.wake = undefined
        resolve()
      }
      this.wake = wake
    })
  }

  private background(command: string, args: ReadonlyArray<string | number>): Promise<unknown> {
    return callScript(this.client, command, [...this.keys, this.windowMicros, this.ttlMs, ...args]).catch(
      () => undefined,
    )
  }
}

function closedError(name: string): AbortError {
  return new AbortError({ reason: `rate limiter ${name} was closed` })
}
