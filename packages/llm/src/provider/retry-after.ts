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
 * `undefined` and the caller falls back to its own backoff. A date in the past means "now" (0). Huge values are returned as they are;
 * the retry policy clamps them to its `maxRetryAfterMs`.
 *
 * @param now - the current time in epoch ms, for HTTP dates (injectable for tests).
 * @example
 * retryAfterMs(new Headers({ 'retry-after': '1.5' })) // 1500
 * retryAfterMs(new Headers({ 'retry-after': '-1' })) // undefined
 */
export function retryAfterMs(headers: HeaderReader | undefined, now: number = Date.now()): number | undefined {
  if (headers === undefined) return undefined
  const milliseconds = parseDecimal(headers.get('retry-after-ms'))
  if (milliseconds !== undefined) return milliseconds
  const value = headers.get('retry-after')?.trim()
  if (value === undefined || value === '') return undefined
  const seconds = parseDecimal(value)
  if (seconds !== undefined) return seconds * 1000
  const at = parseHttpDate(value, now)
  return at === undefined ? undefined : Math.max(0, at - now)
}

function parseDecimal(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined
  const text = value.trim()
  if (!decimalNumber.test(text)) return undefined
  const number = Number(text)
  return Number.isFinite(number) ? number : undefined
}
