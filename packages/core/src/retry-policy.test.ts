import { describe, expect, it } from 'vitest'
import { TinyLLMError } from './errors.js'
import { isRetryableError, resolveRetryPolicy, retryDelay } from './retry-policy.js'

describe('retry policy', () => {
  const policy = resolveRetryPolicy({
    attempts: 5,
    initialDelayMs: 100,
    maxDelayMs: 1_000,
    multiplier: 2,
    jitter: 0.5,
    maxRetryAfterMs: 5_000,
  })

  it('backs off exponentially, capped, with jitter taking up to half of each delay', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelay(policy, attempt, new Error('x'), () => 0))).toEqual([
      100, 200, 400, 800, 1000,
    ])
    expect([1, 2, 3].map((attempt) => retryDelay(policy, attempt, new Error('x'), () => 1))).toEqual([50, 100, 200])
  })

  it('uses a retry-after hint instead, clamped to [0, maxRetryAfterMs]', () => {
    const hinted = (retryAfterMs: number) => new TinyLLMError({ message: 'x', retryable: true, retryAfterMs })
    expect(retryDelay(policy, 1, hinted(30))).toBe(30)
    expect(retryDelay(policy, 1, hinted(-10))).toBe(0)
    expect(retryDelay(policy, 1, hinted(3_600_000))).toBe(5_000)
    expect(retryDelay(policy, 1, hinted(Number.NaN), () => 0)).toBe(100)
  })

  it('retries what says it is retryable, never validation-like refusals', () => {
    expect(isRetryableError(new TinyLLMError({ message: 'x', retryable: true }))).toBe(true)
    expect(isRetryableError(new TinyLLMError({ message: 'x' }))).toBe(false)
    expect(isRetryableError(new Error('user code'))).toBe(true)
    expect(isRetryableError(Object.assign(new Error('no'), { retryable: false }))).toBe(false)
  })
})
