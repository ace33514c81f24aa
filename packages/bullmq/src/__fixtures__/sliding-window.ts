/** One grant as a limiter reported it: when (server clock, ms) and how many tokens. */
export interface GrantRecord {
  readonly at: number
  readonly tokens: number
}

/**
 * The most requests and tokens granted within any window of `windowMs` (a grant at `t` counts in every window
 * `[s, s + windowMs)` that contains `t`; the busiest such window starts at some grant's time).
 */
export function busiestWindow(grants: ReadonlyArray<GrantRecord>, windowMs: number) {
  const sorted = [...grants].sort((left, right) => left.at - right.at)
  let requests = 0
  let tokens = 0
  let end = 0
  let windowTokens = 0
  for (let start = 0; start < sorted.length; start++) {
    // A microsecond of slack for the ms conversion: the server decides in whole microseconds.
    while (end < sorted.length && sorted[end]!.at < sorted[start]!.at + windowMs - 0.0005) {
      windowTokens += sorted[end]!.tokens
      end++
    }
    requests = Math.max(requests, end - start)
    tokens = Math.max(tokens, windowTokens)
    windowTokens -= sorted[start]!.tokens
  }
  return { requests, tokens }
}
