import { AbortError, ConfigurationError, TinyLLMError } from './errors.js'

/** How a Function retries a failed `run`. Retries happen in this one layer only. */
export interface RetryPolicy {
  /** Total attempts including the first; 1 means no retry. Default 1. */
  readonly attempts?: number
  /** Delay before the first retry, in ms. Default 200. */
  readonly initialDelayMs?: number
  /** Upper bound of any backoff delay, in ms. Default 10,000. */
  readonly maxDelayMs?: number
  /** Growth factor of the delay per attempt. Default 2. */
  readonly multiplier?: number
  /** Share of each delay that is randomised, 0 (none) to 1 (full jitter). Default 0.5. */
  readonly jitter?: number
  /** Longest server `retry-after` hint honoured, in ms; longer hints are clamped to it. Default 60,000. */
  readonly maxRetryAfterMs?: number
  /** Decides whether an error is worth another attempt. Default: {@link isRetryableError}. */
  readonly retryable?: (error: unknown, attempt: number) => boolean
}

/** A retry policy with every field decided. */
export interface ResolvedRetryPolicy {
  readonly attempts: number
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly multiplier: number
  readonly jitter: number
  readonly maxRetryAfterMs: number
  readonly retryable: (error: unknown, attempt: number) => boolean
}

/**
 * The default retry rule: tinyllm errors retry when they say so (`retryable`: 429, 5xx, connection failures, attempt
 * timeouts); validation, abort, budget and configuration errors never do; other errors thrown by user code retry.
 */
export function isRetryableError(error: unknown): boolean {
  if (TinyLLMError.isInstance(error)) {
    if (error.name === 'FunctionError') return error.retryable || !hasRetryableFalse(error.cause)
    return error.retryable
  }
  return !hasRetryableFalse(error)
}

function hasRetryableFalse(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false
}

let defaultPolicy: ResolvedRetryPolicy | undefined

/** Checks a policy and fills in defaults; throws {@link ConfigurationError} on a nonsensical value. */
export function resolveRetryPolicy(policy: RetryPolicy | undefined, functionName?: string): ResolvedRetryPolicy {
  if (policy === undefined && defaultPolicy !== undefined) return defaultPolicy
  const where = functionName === undefined ? {} : { functionName }
  const attempts = policy?.attempts ?? 1
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new ConfigurationError({
      option: 'retry.attempts',
      message: `must be an integer ≥ 1, got ${String(attempts)}`,
      ...where,
    })
  }
  const nonNegative = (name: string, value: number): number => {
    if (!Number.isFinite(value) || value < 0) {
      throw new ConfigurationError({
        option: `retry.${name}`,
        message: `must be a finite number ≥ 0, got ${String(value)}`,
        ...where,
      })
    }
    return value
  }
  const jitter = nonNegative('jitter', policy?.jitter ?? 0.5)
  if (jitter > 1)
    throw new ConfigurationError({
      option: 'retry.jitter',
      message: `must be between 0 and 1, got ${jitter}`,
      ...where,
    })
  const multiplier = nonNegative('multiplier', policy?.multiplier ?? 2)
  if (multiplier < 1) {
    throw new ConfigurationError({ option: 'retry.multiplier', message: `must be ≥ 1, got ${multiplier}`, ...where })
  }
  const retryable = policy?.retryable ?? isRetryableError
  if (typeof retryable !== 'function') {
    throw new ConfigurationError({ option: 'retry.retryable', message: 'must be a function', ...where })
  }
  const resolved: ResolvedRetryPolicy = {
    attempts,
    initialDelayMs: nonNegative('initialDelayMs', policy?.initialDelayMs ?? 200),
    maxDelayMs: nonNegative('maxDelayMs', policy?.maxDelayMs ?? 10_000),
    multiplier,
    jitter,
    maxRetryAfterMs: nonNegative('maxRetryAfterMs', policy?.maxRetryAfterMs ?? 60_000),
    retryable,
  }
  if (policy === undefined) defaultPolicy = resolved
  return resolved
}

/**
 * The wait before attempt `attempt + 1`: the error's `retryAfterMs` hint when it has a usable one (clamped to
 * `[0, maxRetryAfterMs]`), otherwise exponential backoff capped at `maxDelayMs` with `jitter` randomised away.
 */
export function retryDelay(
  policy: ResolvedRetryPolicy,
  attempt: number,
  error: unknown,
  random: () => number = Math.random,
): number {
  const hint = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs
  if (typeof hint === 'number' && Number.isFinite(hint)) return Math.min(Math.max(hint, 0), policy.maxRetryAfterMs)
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1))
  return base - base * policy.jitter * random()
}

/** Resolves after `ms`, or rejects with {@link AbortError} as soon as `signal` aborts; leaves no timer or listener. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortError({ reason: signal.reason }))
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortError({ reason: signal?.reason }))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
