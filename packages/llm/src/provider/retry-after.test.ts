import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { retryAfterMs } from './retry-after.js'

const now = Date.parse('2026-01-01T00:00:00Z')
const headers = (values: Record<string, string>) => new Headers(values)
const parse = (headers: Record<string, string>): number | undefined => retryAfterMs(new Headers(headers), now)

describe('retryAfterMs', () => {
  it('reads retry-after as seconds, fractions included', () => {
    expect(parse({ 'retry-after': '2' })).toBe(2000)
    expect(parse({ 'retry-after': '0.1' })).toBe(100)
    expect(parse({ 'retry-after': ' 0 ' })).toBe(0)
  })

  it('prefers retry-after-ms, in milliseconds', () => {
    expect(parse({ 'retry-after-ms': '150', 'retry-after': '9' })).toBe(150)
    expect(parse({ 'retry-after-ms': '12.5' })).toBe(12.5)
  })

  it('falls back to retry-after when retry-after-ms is unusable', () => {
    expect(parse({ 'retry-after-ms': 'soon', 'retry-after': '3' })).toBe(3000)
    expect(parse({ 'retry-after-ms': '-5', 'retry-after': '1' })).toBe(1000)
  })

  it('reads an HTTP date as the time left until it, and a date in the past as 0', () => {
    expect(parse({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' })).toBe(5000)
    expect(parse({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' })).toBe(0)
    expect(parse({ 'retry-after': 'Thursday, 01-Jan-26 00:00:02 GMT' })).toBe(2000)
    expect(parse({ 'retry-after': 'Thu Jan  1 00:00:03 2026' })).toBe(3000)
  })

  it('ignores negative, empty, non-decimal and garbage values', () => {
    for (const value of ['-1', '-0.5', '', '   ', 'soon', '1e3', 'Infinity', 'NaN', '0x10', '1,5', 'Thu, 99 Foo']) {
      expect(parse({ 'retry-after': value }), value).toBeUndefined()
    }
    expect(parse({})).toBeUndefined()
    expect(retryAfterMs(undefined)).toBeUndefined()
  })

  it('reads an HTTP date only in the forms of RFC 9110 (IMF-fixdate, RFC 850, asctime), never what Date.parse guesses', () => {
    // Date.parse takes each of these for a date (some for one far in the past, one for 2030).
    for (const value of ['retry in 3', 'soon 1', 'Dec 12', 'abc 2026', 'later 2030']) {
      expect(parse({ 'retry-after': value }), value).toBeUndefined()
    }
    // Near misses of the three forms, and other date formats.
    for (const value of [
      'Thu, 01 Jan 2026 00:00:05',
      'Thu, 01 Jan 2026 00:00:05 UTC',
      'Thu, 1 Jan 2026 00:00:05 GMT',
      'thu, 01 jan 2026 00:00:05 GMT',
      'Thursday, 01 Jan 2026 00:00:05 GMT',
      'Thu, 01-Jan-26 00:00:05 GMT',
      'Thu Jan 1 00:00:03 2026',
      'Thu, 31 Feb 2026 00:00:05 GMT',
      'Thu, 01 Jan 2026 24:00:00 GMT',
      'Thu, 01 Jan 2026 00:60:00 GMT',
      '2026-01-01T00:00:05Z',
      '01 Jan 2026 00:00:05 GMT',
      'Jan 1, 2026',
    ]) {
      expect(parse({ 'retry-after': value }), value).toBeUndefined()
    }
    // The three forms.
    expect(parse({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' })).toBe(5_000)
    expect(parse({ 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' })).toBe(60_000)
    expect(parse({ 'retry-after': 'Sat, 28 Feb 2026 00:00:00 GMT' })).toBe(Date.UTC(2026, 1, 28) - now)
    expect(parse({ 'retry-after': 'Thursday, 01-Jan-26 00:00:02 GMT' })).toBe(2_000)
    expect(parse({ 'retry-after': 'Wednesday, 31-Dec-25 23:00:00 GMT' })).toBe(0)
    expect(parse({ 'retry-after': 'Thu Jan  1 00:00:03 2026' })).toBe(3_000)
    expect(parse({ 'retry-after': 'Thu Jan 15 00:00:00 2026' })).toBe(14 * 86_400_000)
    // A two-digit year more than 50 years ahead is the most recent past one with those digits (RFC 9110).
    expect(parse({ 'retry-after': 'Sunday, 01-Jan-80 00:00:00 GMT' })).toBe(0)
    expect(parse({ 'retry-after': 'Friday, 01-Jan-76 00:00:00 GMT' })).toBe(Date.UTC(2076, 0, 1) - now)
  })

  it('returns huge values as they are: the retry policy clamps them', () => {
    expect(parse({ 'retry-after': '86400' })).toBe(86_400_000)
    expect(parse({ 'retry-after': '9'.repeat(400) })).toBeUndefined()
  })

  it('never answers Infinity or NaN: seconds past the largest number of milliseconds are ignored, as larger numbers are', () => {
    // 1e308 seconds is a number, but not as milliseconds: the policy would take Infinity for no hint at all.
    expect(parse({ 'retry-after': '9'.repeat(308) })).toBeUndefined()
    expect(parse({ 'retry-after-ms': '9'.repeat(308) })).toBe(Number('9'.repeat(308)))
    // A clock that is no time cannot place a date: refused, never a NaN wait.
    for (const clock of [Number.NaN, Number.POSITIVE_INFINITY, '0']) {
      const refusal = () => retryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), clock as never)
      expect(refusal).toThrow(ConfigurationError)
      expect(refusal).toThrow('retryAfterMs: now must be a time in epoch ms (a finite number), got')
    }
  })
})

describe('retryAfterMs (Anthropic cases)', () => {
  it('reads retry-after as seconds, decimals included', () => {
    expect(retryAfterMs(headers({ 'retry-after': '2' }))).toBe(2_000)
    expect(retryAfterMs(headers({ 'retry-after': '0.1' }))).toBe(100)
    expect(retryAfterMs(headers({ 'retry-after': '0' }))).toBe(0)
  })

  it('prefers retry-after-ms', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250)
  })

  it('reads an HTTP date relative to now, a past date as 0', () => {
    const now = Date.parse('2026-11-20T10:00:00Z')
    expect(retryAfterMs(headers({ 'retry-after': 'Fri, 20 Nov 2026 10:00:05 GMT' }), now)).toBe(5_000)
    expect(retryAfterMs(headers({ 'retry-after': 'Fri, 20 Nov 2026 09:00:00 GMT' }), now)).toBe(0)
  })

  it('ignores negative, garbage and missing values (the caller falls back to backoff)', () => {
    expect(retryAfterMs(headers({ 'retry-after': '-1' }))).toBeUndefined()
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined()
    expect(retryAfterMs(headers({ 'retry-after-ms': 'NaN' }))).toBeUndefined()
    expect(retryAfterMs(headers({ 'retry-after': '1e3' }))).toBeUndefined()
    expect(retryAfterMs(headers({ 'retry-after': '9'.repeat(400) }))).toBeUndefined()
    expect(retryAfterMs(headers({}))).toBeUndefined()
    expect(retryAfterMs(undefined)).toBeUndefined()
  })

  it('passes a huge value on unclamped: clamping is the retry policy’s job', () => {
    expect(retryAfterMs(headers({ 'retry-after': '86400' }))).toBe(86_400_000)
  })
})

describe('retryAfterMs given headers it cannot read', () => {
  it('reads no headers from null, ignores values that are not text, and refuses what has no get with a ConfigurationError', () => {
    expect(retryAfterMs(null as never)).toBeUndefined()
    const numbers = { get: (name: string) => (name === 'retry-after' ? 5 : null) }
    expect(retryAfterMs(numbers as never)).toBeUndefined()
    for (const headers of [{ 'retry-after': '1' }, 5, 'retry-after: 1']) {
      expect(() => retryAfterMs(headers as never)).toThrow(ConfigurationError)
      expect(() => retryAfterMs(headers as never)).toThrow('retryAfterMs: headers must be')
    }
    const throwing = {
      get(): never {
        throw new Error('unreadable header')
      },
    }
    expect(() => retryAfterMs(throwing)).toThrow('retryAfterMs: headers could not be read: Error: unreadable header')
    // Headers whose `get` itself cannot be read (a getter or a Proxy that throws) are unreadable headers too.
    const noGet = Object.defineProperty({}, 'get', {
      get(): never {
        throw new Error('no get for you')
      },
    })
    const proxy = new Proxy(
      {},
      {
        get: () => {
          throw new Error('revoked')
        },
      },
    )
    for (const headers of [noGet, proxy]) {
      expect(() => retryAfterMs(headers as never)).toThrow(ConfigurationError)
      expect(() => retryAfterMs(headers as never)).toThrow('retryAfterMs: headers could not be read')
    }
  })
})
