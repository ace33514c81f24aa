import { optionError, unreadableOption } from '@tinyllm/core'
import type { RandomSource } from './seeded-random.js'

/**
 * How long the loopback server waits before it answers a request: a fixed number of milliseconds, or a range from which
 * each request draws uniformly (from the server's seeded generator).
 */
export type Latency = number | { readonly minMs: number; readonly maxMs: number }

/** Draws the delay for one request; a range always consumes exactly one random number, so sequences stay stable. */
export function pickLatencyMs(latency: Latency | undefined, random: RandomSource): number {
  if (latency === undefined) return 0
  if (typeof latency === 'number') return latency
  return latency.minMs + random() * (latency.maxMs - latency.minMs)
}

/** The longest a timer waits: Node answers a longer delay after 1 ms. */
const maxTimerDelayMs = 2_147_483_647

/**
 * Returns `latency` as read once (a range copied), or throws a ConfigurationError naming `owner` when it is neither a
 * number of ms from 0 to 2³¹−1 (`Infinity` holds every request until it is closed) nor `{ minMs, maxMs }` with
 * `0 ≤ minMs ≤ maxMs ≤ 2³¹−1` (a delay of NaN would hold every request forever; one longer than a timer can wait would
 * answer at once; a negative one or an inverted range is a mistake to name, not one to clamp), or cannot be read.
 */
export function checkLatency(latency: unknown, owner: string): Latency | undefined {
  try {
    if (latency === undefined) return undefined
    if (typeof latency === 'number' && latency >= 0 && (latency <= maxTimerDelayMs || latency === Infinity))
      return latency
    if (typeof latency === 'object' && latency !== null) {
      // Read once: a getter is not asked again as each request draws its delay.
      const { minMs, maxMs } = latency as { minMs?: unknown; maxMs?: unknown }
      if (
        typeof minMs === 'number' &&
        typeof maxMs === 'number' &&
        maxMs <= maxTimerDelayMs &&
        minMs >= 0 &&
        minMs <= maxMs
      ) {
        return { minMs, maxMs }
      }
    }
  } catch (error) {
    throw unreadableOption(error, 'latency', owner)
  }
  throw optionError(
    'latency',
    'a number of ms from 0 to 2147483647 (the longest a timer waits), Infinity, or { minMs, maxMs } with 0 ≤ minMs ≤ maxMs ≤ 2147483647',
    latency,
    owner,
  )
}
