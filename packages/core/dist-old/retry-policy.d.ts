import { type TinyLLMError } from './errors.js'
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
   * throw are a {@link ConfigurationError} that ends the run). Default {@link isRetryableError}: the error's `retryable`.
   */
  readonly retryable?: (error: TinyLLMError, attempt: number) => boolean
}
/** A retry policy with every field decided. */
export type ResolvedRetryPolicy = Required<RetryPolicy>
/** What an attempt's failure leads to: another attempt after `delayMs`, or the end of the run. */
export type RetryDecision =
  | {
      readonly retry: true
      readonly delayMs: number
    }
  | {
      readonly retry: false
      /** The wait the error asked for would outlast the run's deadline: it ends in a timeout, so end it now. */
      readonly outOfTime?: boolean
    }
/** What the run engine knows about a failed attempt besides its error. */
export interface AttemptFacts {
  /** The attempt number that failed, from 1. */
  readonly attempt: number
  /** Parts the attempt already streamed to the caller: retrying would repeat what the reader has seen. */
  readonly streamedParts: number
  /** Time left before the run's deadline, in ms, if it has one. */
  readonly remainingMs: number | undefined
  /** Random number source for jitter, [0, 1). Default `Math.random`. */
  readonly random?: () => number
  /** Whose policy decides: named in the error when its `retryable` throws or answers neither true nor false. */
  readonly functionName?: string | undefined
}
/**
 * The one place tinyllm decides whether a failed attempt is tried again, and after how long: not past the last
 * attempt, not after output was streamed, not a validation failure unless the policy opts in, only what the policy
 * calls retryable (by default, what says so itself: `error.retryable`); then after the server's `retry-after` hint
 * (clamped to `maxRetryAfterMs`) or an exponential backoff with jitter — unless that wait outlasts the deadline.
 */
export declare function decideRetry(
  policy: ResolvedRetryPolicy,
  error: TinyLLMError,
  facts: AttemptFacts,
): RetryDecision
/**
 * The default retry rule: an error retries when it says so (`retryable`: HTTP 429 and 5xx, dropped connections,
 * attempt timeouts, errors thrown by a Function's own code unless they carry `retryable: false`); validation, abort,
 * budget and configuration errors never do.
 */
export declare function isRetryableError(error: TinyLLMError): boolean
/**
 * The wait before attempt `attempt + 1`: the error's `retryAfterMs` hint when it has a usable one (clamped to
 * `[0, maxRetryAfterMs]`), otherwise exponential backoff capped at `maxDelayMs` with `jitter` randomised away.
 */
export declare function retryDelay(
  policy: ResolvedRetryPolicy,
  attempt: number,
  error: TinyLLMError,
  random?: () => number,
): number
/** One attempt, no retry: the default of every Function. */
export declare const noRetry: ResolvedRetryPolicy
/** Checks a policy and fills in defaults; throws {@link ConfigurationError} on a nonsensical value or unknown key. */
export declare function resolveRetryPolicy(policy: RetryPolicy | undefined, owner?: string): ResolvedRetryPolicy
//# sourceMappingURL=retry-policy.d.ts.map
