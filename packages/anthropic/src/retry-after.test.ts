import { describe, expect, it } from 'vitest'
import { parseRetryAfterMs } from './retry-after.js'

const headers = (values: Record<string, string>) => new Headers(values)

describe('parseRetryAfterMs', () => {
  it('reads retry-after as seconds, decimals included', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after': '2' }))).toBe(2_000)
    expect(parseRetryAfterMs(headers({ 'retry-after': '0.1' }))).toBe(100)
    expect(parseRetryAfterMs(headers({ 'retry-after': '0' }))).toBe(0)
  })

  it('prefers retry-after-ms', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250)
  })

  it('reads an HTTP date relative to now, a past date as 0', () => {
    const now = Date.parse('2026-11-20T10:00:00Z')
    expect(parseRetryAfterMs(headers({ 'retry-after': 'Fri, 20 Nov 2026 10:00:05 GMT' }), now)).toBe(5_000)
    expect(parseRetryAfterMs(headers({ 'retry-after': 'Fri, 20 Nov 2026 09:00:00 GMT' }), now)).toBe(0)
  })

  it('ignores negative, garbage and missing values (the caller falls back to backoff)', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after': '-1' }))).toBeUndefined()
    expect(parseRetryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined()
    expect(parseRetryAfterMs(headers({ 'retry-after-ms': 'NaN' }))).toBeUndefined()
    expect(parseRetryAfterMs(headers({ 'retry-after': '1e3' }))).toBeUndefined()
    expect(parseRetryAfterMs(headers({ 'retry-after': '9'.repeat(400) }))).toBeUndefined()
    expect(parseRetryAfterMs(headers({}))).toBeUndefined()
    expect(parseRetryAfterMs(undefined)).toBeUndefined()
  })

  it('passes a huge value on unclamped: clamping is the retry policy’s job', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after': '86400' }))).toBe(86_400_000)
  })
})
