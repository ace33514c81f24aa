import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { createSeededRandom } from './seeded-random.js'

describe('createSeededRandom', () => {
  it('gives the same sequence for the same seed, signed or unsigned 32 bits, and another for another seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, createSeededRandom(seed))
    expect(draw(42)).toEqual(draw(42))
    expect(draw(42)).not.toEqual(draw(43))
    expect(draw(-1)).toEqual(draw(2 ** 32 - 1))
    expect(draw(-(2 ** 31))).toHaveLength(5)
  })

  it('refuses a seed it would roll as another one — fractional, beyond 32 bits, NaN, not a number — with a ConfigurationError', () => {
    for (const seed of [1.5, 2 ** 32, 2 ** 63, -(2 ** 31) - 1, Number.NaN, Number.POSITIVE_INFINITY, '7', undefined]) {
      expect(() => createSeededRandom(seed as never), String(seed)).toThrow(ConfigurationError)
      expect(() => createSeededRandom(seed as never)).toThrow(
        /^createSeededRandom: seed must be an integer from -2147483648 to 4294967295 \(32 bits\), got /,
      )
    }
  })
})
