/** Reads a header by name from whatever headers object an HTTP error carries. */
export interface HeaderReader {
  get(name: string): string | null | undefined
}

/**
 * The server's hint of how long to wait before retrying, in ms: `retry-after-ms`, else `retry-after` as seconds or
 * as an HTTP date. Negative, non-numeric or unparsable values give `undefined` (the caller falls back to backoff);
 * clamping a huge hint is the retry policy's job.
 */
export function parseRetryAfterMs(headers: HeaderReader | undefined, now: number = Date.now()): number | undefined {
  if (headers === undefined) return undefined
  const milliseconds = decimal(headers.get('retry-after-ms'))
  if (milliseconds !== undefined) return milliseconds
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  const seconds = decimal(value)
  if (seconds !== undefined) return seconds * 1000
  // Only something that looks like an HTTP date: Date.parse also accepts bare numbers such as "-1" as years.
  if (!/[a-z]/i.test(value)) return undefined
  const date = Date.parse(value)
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined
}

const unsignedNumber = /^\d+(\.\d+)?$/

/** A plain non-negative decimal, finite (400 digits are not): `1e3`, `Infinity`, `-1` and `soon` are not numbers here. */
function decimal(text: string | null | undefined): number | undefined {
  const trimmed = text?.trim()
  if (!trimmed || !unsignedNumber.test(trimmed)) return undefined
  const number = Number(trimmed)
  return Number.isFinite(number) ? number : undefined
}
