import { describe, expect, it } from 'vitest'
import { fitsUncounted, maxDeflateExpansion } from './response-size-limit.js'

describe('fitsUncounted', () => {
  const cap = 8 * 1024 * 1024

  it('passes a declared, uncompressed length within the cap, and nothing without a declared length', () => {
    expect(fitsUncounted(cap, null, cap)).toBe(true)
    expect(fitsUncounted(cap + 1, 'identity', cap)).toBe(false)
    expect(fitsUncounted(Number.NaN, null, cap)).toBe(false)
  })

  it('passes a gzip or deflate body whose declared length times the largest inflation fits the cap', () => {
    const largest = Math.floor(cap / maxDeflateExpansion)
    for (const encoding of ['gzip', 'x-gzip', 'deflate', ' GZIP ']) {
      expect(fitsUncounted(largest, encoding, cap), encoding).toBe(true)
      expect(fitsUncounted(largest + 1, encoding, cap), encoding).toBe(false)
    }
  })

  it('counts brotli and unknown encodings, whose inflation has no such bound', () => {
    expect(fitsUncounted(10, 'br', cap)).toBe(false)
    expect(fitsUncounted(10, 'gzip, br', cap)).toBe(false)
  })
})
