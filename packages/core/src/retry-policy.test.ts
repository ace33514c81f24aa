import { describe, expect, it } from 'vitest'
import { defineFunction } from './define-function.js'
import {
  AbortError,
  BudgetExceededError,
  ConfigurationError,
  NonDeterminismError,
  StepLimitError,
  TinyLLMError,
  ValidationError,
} from './errors.js'
import { decideRetry, resolveRetryPolicy, retryDelay } from './retry-policy.js'

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
    expect(
      [1, 2, 3, 4, 5].map((attempt) =>
        retryDelay(policy, attempt, new TinyLLMError({ message: 'x', retryable: true }), () => 0),
      ),
    ).toEqual([100, 200, 400, 800, 1000])
    expect(
      [1, 2, 3].map((attempt) =>
        retryDelay(policy, attempt, new TinyLLMError({ message: 'x', retryable: true }), () => 1),
      ),
    ).toEqual([50, 100, 200])
  })

  it('uses a retry-after hint instead, clamped to [0, maxRetryAfterMs]', () => {
    const hinted = (retryAfterMs: number) => new TinyLLMError({ message: 'x', retryable: true, retryAfterMs })
    expect(retryDelay(policy, 1, hinted(30))).toBe(30)
    expect(retryDelay(policy, 1, hinted(-10))).toBe(0)
    expect(retryDelay(policy, 1, hinted(3_600_000))).toBe(5_000)
    expect(retryDelay(policy, 1, hinted(Number.NaN), () => 0)).toBe(100)
  })

  it('decides in one place: retryable errors only, never after streamed output, never past the last attempt', () => {
    const retryable = new TinyLLMError({ message: 'x', retryable: true })
    const facts = { attempt: 1, streamedParts: 0, remainingMs: undefined, random: () => 0 }
    expect(decideRetry(policy, retryable, facts)).toEqual({ retry: true, delayMs: 100 })
    expect(decideRetry(policy, new TinyLLMError({ message: 'x' }), facts)).toEqual({ retry: false })
    expect(decideRetry(policy, retryable, { ...facts, streamedParts: 1 })).toEqual({ retry: false })
    expect(decideRetry(policy, retryable, { ...facts, attempt: 5 })).toEqual({ retry: false })
  })

  it('never retries what no attempt can mend, even when the policy calls every error retryable', async () => {
    const errors = [
      new ConfigurationError({ option: 'model', message: 'model must be a string' }),
      new BudgetExceededError({ limit: 'tokens', budget: 10, spent: 10, requested: 5 }),
      new AbortError({ reason: 'stopped' }),
      new StepLimitError({ limit: 1000, what: 'nested runs' }),
      new NonDeterminismError({ key: 'k', expected: 'a', found: 'b', functionName: 'f' }),
    ]
    const eager = resolveRetryPolicy({ attempts: 3, initialDelayMs: 0, retryable: () => true })
    const facts = { attempt: 1, streamedParts: 0, remainingMs: undefined, random: () => 0 }
    for (const error of errors) expect(decideRetry(eager, error, facts), error.name).toEqual({ retry: false })
    // The same through a run: one attempt each, and the run ends in the error its code threw.
    for (const error of errors) {
      let attempts = 0
      const fn = defineFunction({
        name: 'eager',
        retry: { attempts: 3, initialDelayMs: 0, retryable: () => true },
        run: () => {
          attempts += 1
          throw error
        },
      })
      await expect(fn.invoke(1)).rejects.toBe(error)
      expect(attempts, error.name).toBe(1)
    }
    // What the policy may still decide on: an error of a Function's own code.
    expect(decideRetry(eager, new TinyLLMError({ message: 'x' }), facts)).toEqual({ retry: true, delayMs: 0 })
  })

  it('retries invalid output only when the policy opts in', () => {
    const invalid = new ValidationError({ functionName: 'f', state: 'output_validation', issues: [] })
    const facts = { attempt: 1, streamedParts: 0, remainingMs: undefined, random: () => 0 }
    expect(decideRetry(policy, invalid, facts)).toEqual({ retry: false })
    const opted = resolveRetryPolicy({ attempts: 2, initialDelayMs: 10, retryInvalidOutput: true })
    expect(decideRetry(opted, invalid, facts)).toEqual({ retry: true, delayMs: 10 })
  })

  it('never retries an invalid input, even when the policy retries invalid output (a child refused what it was handed)', () => {
    const invalidInput = new ValidationError({ functionName: 'child', state: 'input_validation', issues: [] })
    const facts = { attempt: 1, streamedParts: 0, remainingMs: undefined, random: () => 0 }
    const opted = resolveRetryPolicy({ attempts: 3, initialDelayMs: 10, retryInvalidOutput: true })
    expect(decideRetry(opted, invalidInput, facts)).toEqual({ retry: false })
  })

  it('waits no time after any number of attempts when initialDelayMs is 0, and at most maxDelayMs however it grows', () => {
    const none = resolveRetryPolicy({ attempts: 5_000, initialDelayMs: 0, multiplier: 1e200 })
    const grown = resolveRetryPolicy({ attempts: 5_000, initialDelayMs: 1, multiplier: 1e200, maxDelayMs: 50 })
    const error = new TinyLLMError({ message: 'x', retryable: true })
    for (const attempt of [1, 3, 1_025, 4_000]) {
      expect(retryDelay(none, attempt, error, () => 0)).toBe(0)
      expect(retryDelay(grown, attempt, error, () => 0)).toBe(attempt === 1 ? 1 : 50)
    }
  })

  it('ends a run whose next wait would outlast its deadline, instead of waiting for the timeout', () => {
    const hinted = new TinyLLMError({ message: 'x', retryable: true, retryAfterMs: 3_000 })
    const facts = { attempt: 1, streamedParts: 0, remainingMs: 2_000 }
    expect(decideRetry(policy, hinted, facts)).toEqual({ retry: false, outOfTime: true })
    expect(decideRetry(policy, hinted, { ...facts, remainingMs: 4_000 })).toEqual({ retry: true, delayMs: 3_000 })
  })

  it('takes an error whose retryable is not a boolean (set from plain JavaScript) for one that is not retryable', async () => {
    const error = new TinyLLMError({ message: 'odd', retryable: 'yes' as unknown as boolean })
    expect(error.retryable).toBe(false)
    let calls = 0
    const fn = defineFunction({
      name: 'odd',
      retry: { attempts: 3, initialDelayMs: 0 },
      run: () => {
        calls++
        throw new TinyLLMError({ message: 'odd', retryable: 'yes' as unknown as boolean })
      },
    })
    const failure = await fn.invoke(1).catch((thrown: unknown) => thrown)
    expect(failure).toBeInstanceOf(TinyLLMError)
    expect(failure).not.toBeInstanceOf(ConfigurationError)
    expect((failure as TinyLLMError).message).toBe('odd')
    expect(calls).toBe(1)
  })

  it('takes only true or false from retryable: an answer of another kind, or a throw, is a ConfigurationError', () => {
    const refused = new TinyLLMError({ message: 'bad request', retryable: false })
    const facts = { attempt: 1, streamedParts: 0, remainingMs: undefined, random: () => 0, functionName: 'f' }
    const asking = (retryable: (error: TinyLLMError) => unknown) =>
      resolveRetryPolicy({ attempts: 3, initialDelayMs: 10, retryable: retryable as () => boolean })
    expect(
      decideRetry(
        asking(() => true),
        refused,
        facts,
      ),
    ).toEqual({ retry: true, delayMs: 10 })
    expect(
      decideRetry(
        asking(() => false),
        refused,
        facts,
      ),
    ).toEqual({ retry: false })
    // An async rule answers a promise, which is truthy whatever it will say: taking it for yes retries a 400.
    expect(() =>
      decideRetry(
        asking(async () => false),
        refused,
        facts,
      ),
    ).toThrow('f: retry.retryable must answer true or false, got a promise (it cannot be async)')
    expect(() =>
      decideRetry(
        asking(() => 1),
        refused,
        facts,
      ),
    ).toThrow('f: retry.retryable must answer true or false, got 1')
    const bug = new Error('rule bug')
    let thrown: unknown
    try {
      decideRetry(
        asking(() => {
          throw bug
        }),
        refused,
        facts,
      )
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true)
    expect((thrown as ConfigurationError).option).toBe('retry.retryable')
    expect((thrown as Error).message).toBe(
      'f: retry.retryable threw Error: rule bug deciding whether to retry after TinyLLMError: bad request',
    )
    expect((thrown as Error).cause).toBe(bug)
  })

  it('ends the run in that ConfigurationError, after one attempt', async () => {
    let attempts = 0
    const f = defineFunction({
      name: 'f',
      retry: { attempts: 3, initialDelayMs: 1, retryable: (async () => false) as never },
      run: () => {
        attempts += 1
        throw Object.assign(new Error('bad request'), { retryable: false })
      },
    })
    const error = await f.invoke(undefined).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect(attempts).toBe(1)
  })

  it('refuses an async retryable that rejects with a ConfigurationError, and its rejection ends no process', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const f = defineFunction({
        name: 'f',
        retry: {
          attempts: 3,
          initialDelayMs: 0,
          retryable: (async () => {
            throw new Error('rule that failed')
          }) as never,
        },
        run: () => {
          throw new Error('attempt failed')
        },
      })
      const error = await f.invoke(undefined).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(
        'f: retry.retryable must answer true or false, got a promise (it cannot be async)',
      )
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('rejects a nonsensical policy in the one message format, and unknown keys with a suggestion', () => {
    expect(() => resolveRetryPolicy({ attempts: 0 }, 'f')).toThrow('f: retry.attempts must be an integer ≥ 1, got 0')
    expect(() => resolveRetryPolicy({ jitter: 2 }, 'f')).toThrow('f: retry.jitter must be a number ≥ 0 and ≤ 1, got 2')
    // Named where it is, as the number checks name theirs.
    expect(() => resolveRetryPolicy({ atempts: 3 } as never, 'f')).toThrow(
      /^f: retry.atempts is not an option; did you mean retry.attempts\?/,
    )
  })

  it('fills what a policy leaves unset from the defaults it is given, each key read by name', () => {
    const defaults = { attempts: 3, initialDelayMs: 500 }
    class Policy {
      get attempts(): number {
        return 1
      }
    }
    expect(resolveRetryPolicy(new Policy(), 'f', defaults)).toMatchObject({ attempts: 1, initialDelayMs: 500 })
    expect(resolveRetryPolicy({ attempts: undefined } as never, 'f', defaults)).toMatchObject({
      attempts: 3,
      multiplier: 2,
    })
    expect(resolveRetryPolicy(undefined, 'f', defaults)).toMatchObject({ attempts: 3, initialDelayMs: 500 })
    expect(() => resolveRetryPolicy({ attempts: 0 }, 'f', defaults)).toThrow('f: retry.attempts must be an integer ≥ 1')
  })
})
