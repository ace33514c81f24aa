/** Estimates the tokens in a text the way the loopback server reports usage: one token per four characters, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}
