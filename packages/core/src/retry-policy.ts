import { describeNonBoolean } from './cancellation.js'
import {
  AbortError,
  BudgetExceededError,
  ConfigurationError,
  describeThrown,
  NonDeterminismError,
  StepLimitError,
  safeStringify,
  type TinyLLMError,
  ValidationError,
} from './errors.js'
import { checkBoolean, checkKnownOptions, checkNumber, optionError, unreadableOption } from './options.js'

/** How a Function retries a failed attempt. Retries happen in this one layer only. */
export interface RetryPolicy {
  /** Total attempts including the first; 1 means no retry. Default 1 (LLM calls: 3). */
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
  /**
   * Also retry when the output fails its schema (the output schema, or a model's structured answer): a model asked
   * again often answers well. Default false: a validation error ends the run.
   */
  readonly retryInvalidOutput?: boolean
  /**
   * Decides whether an error is worth another attempt: `true` or `false` (anything else, a promise included, and a
   * throw are a {@link ConfigurationError} that ends the run). Default: the error's `retryable`.
   * Not asked about what no attempt can mend, which is never retried: a configuration, budget, abort, step-limit or
   * non-determinism error (and a validation failure, decided by `retryInvalidOutput`).
   */
  readonly retryable?: (error: TinyLLMError, attempt: number) => boolean
}

/** A retry policy with every field decided. */
export type ResolvedRetryPolicy = Required<RetryPolicy>

/** What an attempt's failure leads to: another attempt after `delayMs`, or the end of the run. */
export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | {
      readonly retry: false
      /** The wait the error asked for would outlast the run's deadline: it ends in a timeout, so end it now. */
      readonly outOfTime?: boolean
    }

/** What the run engine knows about a failed attempt besides its error. */
export interface AttemptFacts {
  /** The attempt number that failed, from 1. */
  readonly attempt: number
  /**
   * Parts the attempt already streamed to the caller: retrying would repeat what the reader has seen. Parts its stream
   * listener handed to no reader (it returned `partNotHandedOut`) are not counted.
   */
  readonly streamedParts: number
  /** Time left before the run's deadline, in ms, if it has one. */
  readonly remainingMs: number | undefined
  /** Random number source for jitter, [0, 1). Default `Math.random`. */
  readonly random?: () => number
  /** Whose policy decides: named in the error when its `retryable` throws or answers neither true nor false. */
  readonly functionName?: string | undefined
}

const dontRetry: RetryDecision = Object.freeze({ retry: false })

/**
 * Errors another attempt cannot mend, whatever a policy's `retryable` says: the same options, the same spent budget,
 * the same cancelled signal, the same nesting and the same journal would end it the same way.
 */
const beyondRetry = [ConfigurationError, BudgetExceededError, AbortError, StepLimitError, NonDeterminismError]

/**
 * The one place tinyllm decides whether a failed attempt is tried again, and after how long: not past the last
 * attempt, not after output was streamed, not a validation failure unless the policy opts in (and then only of an
 * output), never what no attempt can mend (a configuration, budget, abort, step-limit or non-determinism error), only
 * what the policy calls retryable (by default, what says so itself: `error.retryable`); then after the
 * server's `retry-after` hint (clamped to `maxRetryAfterMs`) or an exponential backoff with jitter — unless that wait
 * outlasts the deadline.
 */
export function decideRetry(policy: ResolvedRetryPolicy, error: TinyLLMError, facts: AttemptFacts): RetryDecision {
  if (facts.attempt >= policy.attempts || facts.streamedParts > 0) return dontRetry
  if (ValidationError.isInstance(error)) {
    // An output that fails its schema, when the policy opts in; never an input (a child's, thrown through this run's
    // code), which another attempt would hand over the same. `retryable` is not asked about validation failures.
    if (!policy.retryInvalidOutput || error.state === 'input_validation') return dontRetry
  } else if (beyondRetry.some((kind) => kind.isInstance(error)) || !askRetryable(policy, error, facts)) return dontRetry
  const delayMs = retryDelay(policy, facts.attempt, error, facts.random)
  if (facts.remainingMs !== undefined && delayMs >= facts.remainingMs) return { retry: false, outOfTime: true }
  return { retry: true, delayMs }
}

/** The policy's `retryable` answer for `error`: true or false, else a ConfigurationError naming the policy. */
function askRetryable(policy: ResolvedRetryPolicy, error: TinyLLMError, facts: AttemptFacts): boolean {
  let answer: unknown
  try {
    answer = policy.retryable(error, facts.attempt)
  } catch (cause) {
    throw new ConfigurationError({
      option: 'retry.retryable',
      message: `retry.retryable threw ${describeThrown(cause)} deciding whether to retry after ${describeThrown(error)}`,
      functionName: facts.functionName,
      cause,
    })
  }
  if (typeof answer === 'boolean') return answer
  let shown: string
  try {
    shown = describeNonBoolean(answer)
  } catch {
    shown = safeStringify(answer, 60) // a `then` that cannot be read: no promise, shown as the value it is
  }
  throw new ConfigurationError({
    option: 'retry.retryable',
    message: `retry.retryable must answer true or false, got ${shown}`,
    functionName: facts.functionName,
  })
}

/**
 * The default retry rule: an error retries when it says so (`retryable`: HTTP 429 and 5xx, dropped connections,
 * attempt timeouts, errors thrown by a Function's own code unless they carry `retryable: false`); validation, abort,
 * budget and configuration errors never do.
 */
function isRetryableError(error: TinyLLMError): boolean {
  return error.retryable
}

/**
 * The wait before attempt `attempt + 1`: the error's `retryAfterMs` hint when it has a usable one (clamped to
 * `[0, maxRetryAfterMs]`), otherwise exponential backoff capped at `maxDelayMs` with `jitter` randomised away.
 */
export function retryDelay(
  policy: ResolvedRetryPolicy,
  attempt: number,
  error: TinyLLMError,
  random: () => number = Math.random,
): number {
  const hint = error.retryAfterMs
  if (typeof hint === 'number' && Number.isFinite(hint)) return Math.min(Math.max(hint, 0), policy.maxRetryAfterMs)
  // No delay grows no delay: 0 × a growth past the largest number would be NaN.
  const base =
    policy.initialDelayMs === 0
      ? 0
      : Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1))
  return base - base * policy.jitter * random()
}

/** One attempt, no retry: the default of every Function. */
export const noRetry: ResolvedRetryPolicy = Object.freeze({
  attempts: 1,
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
  retryInvalidOutput: false,
  retryable: isRetryableError,
})
const policyKeys: ReadonlySet<string> = new Set(Object.keys(noRetry))

/**
 * Checks a policy and fills in defaults: those of `defaults` (an LLM call's, say; itself checked the same way), else
 * one attempt's. Each key is read by name, so a policy class's getters and methods count; a key whose value is
 * `undefined` keeps its default. Throws {@link ConfigurationError} on a nonsensical value or unknown key.
 */
export function resolveRetryPolicy(
  policy: RetryPolicy | undefined,
  owner?: string,
  defaults: RetryPolicy = noRetry,
): ResolvedRetryPolicy {
  const fallback = defaults === noRetry ? noRetry : resolveRetryPolicy(defaults, owner)
  if (policy === undefined) return fallback
  try {
    if (typeof policy !== 'object' || policy === null || Array.isArray(policy))
      throw optionError('retry', 'a retry policy ({ attempts, initialDelayMs, … })', policy, owner)
    checkKnownOptions(policy, policyKeys, owner, 'retry')
    const number = (key: keyof RetryPolicy, rule: Parameters<typeof checkNumber>[2]): number =>
      checkNumber(policy[key], `retry.${key}`, rule, owner) ?? (fallback[key] as number)
    const retryable = policy.retryable ?? fallback.retryable
    if (typeof retryable !== 'function') throw optionError('retry.retryable', 'a function', retryable, owner)
    const retryInvalidOutput =
      checkBoolean(policy.retryInvalidOutput, 'retry.retryInvalidOutput', owner) ?? fallback.retryInvalidOutput
    return Object.freeze({
      attempts: number('attempts', { integer: true, min: 1 }),
      initialDelayMs: number('initialDelayMs', { min: 0, unit: 'ms' }),
      maxDelayMs: number('maxDelayMs', { min: 0, unit: 'ms' }),
      multiplier: number('multiplier', { min: 1 }),
      jitter: number('jitter', { min: 0, max: 1 }),
      maxRetryAfterMs: number('maxRetryAfterMs', { min: 0, unit: 'ms' }),
      retryInvalidOutput,
      retryable,
    })
  } catch (error) {
    // A policy whose reading throws (a getter, a Proxy) is a nonsensical one too.
    throw unreadableOption(error, 'retry', owner)
  }
}
