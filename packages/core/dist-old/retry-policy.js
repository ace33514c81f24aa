import { isPromiseLike } from './cancellation.js'
import { ConfigurationError, describeThrown, safeStringify, ValidationError } from './errors.js'
import { checkBoolean, checkKnownOptions, checkNumber, optionError, unreadableOption } from './options.js'

const dontRetry = Object.freeze({ retry: false })
/**
 * The one place tinyllm decides whether a failed attempt is tried again, and after how long: not past the last
 * attempt, not after output was streamed, not a validation failure unless the policy opts in, only what the policy
 * calls retryable (by default, what says so itself: `error.retryable`); then after the server's `retry-after` hint
 * (clamped to `maxRetryAfterMs`) or an exponential backoff with jitter — unless that wait outlasts the deadline.
 */
export function decideRetry(policy, error, facts) {
  if (facts.attempt >= policy.attempts || facts.streamedParts > 0) return dontRetry
  if (ValidationError.isInstance(error) && !policy.retryInvalidOutput) return dontRetry
  if (!ValidationError.isInstance(error) && !askRetryable(policy, error, facts)) return dontRetry
  const delayMs = retryDelay(policy, facts.attempt, error, facts.random)
  if (facts.remainingMs !== undefined && delayMs >= facts.remainingMs) return { retry: false, outOfTime: true }
  return { retry: true, delayMs }
}
/** The policy's `retryable` answer for `error`: true or false, else a ConfigurationError naming the policy. */
function askRetryable(policy, error, facts) {
  let answer
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
  throw new ConfigurationError({
    option: 'retry.retryable',
    message: `retry.retryable must answer true or false, got ${isPromiseLike(answer) ? 'a promise (it cannot be async)' : safeStringify(answer, 60)}`,
    functionName: facts.functionName,
  })
}
/**
 * The default retry rule: an error retries when it says so (`retryable`: HTTP 429 and 5xx, dropped connections,
 * attempt timeouts, errors thrown by a Function's own code unless they carry `retryable: false`); validation, abort,
 * budget and configuration errors never do.
 */
export function isRetryableError(error) {
  return error.retryable
}
/**
 * The wait before attempt `attempt + 1`: the error's `retryAfterMs` hint when it has a usable one (clamped to
 * `[0, maxRetryAfterMs]`), otherwise exponential backoff capped at `maxDelayMs` with `jitter` randomised away.
 */
export function retryDelay(policy, attempt, error, random = Math.random) {
  const hint = error.retryAfterMs
  if (typeof hint === 'number' && Number.isFinite(hint)) return Math.min(Math.max(hint, 0), policy.maxRetryAfterMs)
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1))
  return base - base * policy.jitter * random()
}
/** One attempt, no retry: the default of every Function. */
export const noRetry = Object.freeze({
  attempts: 1,
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
  retryInvalidOutput: false,
  retryable: isRetryableError,
})
const policyKeys = new Set(Object.keys(noRetry))
/** Checks a policy and fills in defaults; throws {@link ConfigurationError} on a nonsensical value or unknown key. */
export function resolveRetryPolicy(policy, owner) {
  if (policy === undefined) return noRetry
  try {
    return checkPolicy(policy, owner)
  } catch (error) {
    // A policy whose reading throws (a getter, a Proxy) is a nonsensical one too.
    throw unreadableOption(error, 'retry', owner)
  }
}
function checkPolicy(policy, owner) {
  const defaults = noRetry
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw optionError('retry', 'a retry policy ({ attempts, initialDelayMs, … })', policy, owner)
  }
  checkKnownOptions(policy, policyKeys, owner)
  const number = (key, rule) => checkNumber(policy[key], `retry.${key}`, rule, owner) ?? defaults[key]
  const retryable = policy.retryable ?? defaults.retryable
  if (typeof retryable !== 'function') throw optionError('retry.retryable', 'a function', retryable, owner)
  const retryInvalidOutput =
    checkBoolean(policy.retryInvalidOutput, 'retry.retryInvalidOutput', owner) ?? defaults.retryInvalidOutput
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
}
//# sourceMappingURL=retry-policy.js.map
