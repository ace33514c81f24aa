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
  if (typeof latency === 'number') return Math.max(0, latency)
  const low = Math.max(0, Math.min(latency.minMs, latency.maxMs))
  const high = Math.max(low, latency.maxMs, latency.minMs)
  return low + random() * (high - low)
}

/**
 * Returns `latency` as read once (a range copied), or throws a ConfigurationError naming `owner` when it is neither a
 * number of ms nor `{ minMs, maxMs }` of numbers (a delay of NaN would hold every request forever), or cannot be read.
 */
export function checkLatency(latency: unknown, owner: string): Latency | undefined {
  try {
    if (latency === undefined) return undefined
    const isMs = (value: unknown): value is number => typeof value === 'number' && !Number.isNaN(value)
    if (isMs(latency)) return latency
    if (typeof latency === 'object' && latency !== null) {
      // Read once: a getter is not asked again as each request draws its delay.
      const { minMs, maxMs } = latency as { minMs?: unknown; maxMs?: unknown }
      if (isMs(minMs) && isMs(maxMs)) return { minMs, maxMs }
    }
  } catch (error) {
    throw unreadableOption(error, 'latency', owner)
  }
  throw optionError('latency', 'a number of ms or { minMs, maxMs }', latency, owner)
}
