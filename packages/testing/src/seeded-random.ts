/** A source of pseudo-random floats in `[0, 1)`. */
export type RandomSource = () => number

/**
 * Creates a deterministic pseudo-random number generator (mulberry32): the same seed always yields the same sequence,
 * so latency and fault rolls — and a test's own simulations — are reproducible from one run to the next.
 *
 * @example
 * const random = createSeededRandom(42)
 * const delayMs = Math.floor(random() * 100) // the same on every run
 */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
  }
}
