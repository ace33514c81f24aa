/** A source of pseudo-random floats in `[0, 1)`. */
export type RandomSource = () => number

import { optionError } from '@tinyllm/core'

/**
 * Creates a deterministic pseudo-random number generator (mulberry32): the same seed always yields the same sequence,
 * so latency and fault rolls — and a test's own simulations — are reproducible from one run to the next. The seed is
 * 32 bits, signed or not (`x ^ y` gives a signed one); any other number — fractional, larger, NaN — would roll as some
 * other seed does, and is a ConfigurationError.
 *
 * @example
 * const random = createSeededRandom(42)
 * const delayMs = Math.floor(random() * 100) // the same on every run
 */
export function createSeededRandom(seed: number): RandomSource {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < -(2 ** 31) || seed > 2 ** 32 - 1) {
    throw optionError('seed', 'an integer from -2147483648 to 4294967295 (32 bits)', seed, 'createSeededRandom')
  }
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
  }
}
