/** A lone surrogate (half of a UTF-16 pair): with the `u` flag, `\p{Cs}` matches no surrogate that is part of a pair. */
const loneSurrogate = /\p{Cs}/u

/**
 * Whether `key` holds a lone surrogate, which no step key may: core refuses such a key when the run starts, so a
 * combinator whose branch key has one is refused when it is built, not on every run.
 */
export function hasLoneSurrogate(key: string): boolean {
  return loneSurrogate.test(key)
}
