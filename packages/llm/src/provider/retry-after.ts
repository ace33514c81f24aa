import { optionError, unreadableOption } from '@tinyllm/core'
import { parseHttpDate } from './http-date.js'

/** Anything with a case-insensitive `get`, like fetch `Headers`. */
export interface HeaderReader {
  get(name: string): string | null | undefined
}

const decimalNumber = /^\d+(?:\.\d+)?$/

/**
 * How long a server asked us to wait before retrying, in milliseconds, from a response's headers:
 * `retry-after-ms` (milliseconds, sent by OpenAI and Anthropic) first, then `retry-after` as seconds or as an HTTP date.
 *
 * Values that are negative, empty, not a plain decimal number (`1e3`, `Infinity`, `soon`) or not an HTTP date in one
 * of the forms of RFC 9110 (IMF-fixdate, RFC 850, asctime; `Dec 12` is not one) are ignored: the result is
 * `undefined` and the caller falls back to its own backoff, as it does for a value past the largest number of
 * milliseconds. A date in the past means "now" (0). Huge values are returned as they are; the retry policy clamps them
 * to its `maxRetryAfterMs`. A `now` that is not a finite number is a ConfigurationError. No headers (`undefined`, `null`) is `undefined`; headers without a
 * `get` method, or whose reading throws, are a ConfigurationError.
 *
 * @param now - the current time in epoch ms, for HTTP dates (injectable for tests).
 * @example
 * retryAfterMs(new Headers({ 'retry-after': '1.5' })) // 1500
 * retryAfterMs(new Headers({ 'retry-after': '-1' })) // undefined
 */
export function retryAfterMs(headers: HeaderReader | undefined, now: number = Date.now()): number | undefined {
  // A clock that is no time would make every date's wait NaN, which reads as no hint at all.
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw optionError('now', 'a time in epoch ms (a finite number)', now, 'retryAfterMs')
  }
  if (headers === undefined || headers === null) return undefined
  let milliseconds: unknown
  let retryAfter: unknown
  try {
    // Inside the try: headers whose `get` cannot be read (a getter or a Proxy that throws) are unreadable too.
    if (typeof (headers as Partial<HeaderReader>).get !== 'function') {
      throw optionError('headers', 'headers with a get(name) method, such as a Headers', headers, 'retryAfterMs')
    }
    milliseconds = headers.get('retry-after-ms')
    retryAfter = headers.get('retry-after')
  } catch (error) {
    throw unreadableOption(error, 'headers', 'retryAfterMs')
  }
  const wait = parseDecimal(milliseconds)
  if (wait !== undefined) return wait
  // A value that is not text (a reader of another kind) is ignored, as garbage is.
  const value = typeof retryAfter === 'string' ? retryAfter.trim() : ''
  if (value === '') return undefined
  const seconds = parseDecimal(value)
  // Seconds past the largest number of milliseconds are ignored, as a number past the largest number is.
  if (seconds !== undefined) return Number.isFinite(seconds * 1000) ? seconds * 1000 : undefined
  const at = parseHttpDate(value, now)
  return at === undefined ? undefined : Math.max(0, at - now)
}

function parseDecimal(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (!decimalNumber.test(text)) return undefined
  const number = Number(text)
  return Number.isFinite(number) ? number : undefined
}
