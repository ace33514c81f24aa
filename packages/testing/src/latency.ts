import { optionError } from '@tinyllm/core'
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
 * Throws a ConfigurationError naming `owner` when `latency` is neither a number of ms nor `{ minMs, maxMs }` of numbers:
 * a delay of NaN would hold every request forever.
 */
export function checkLatency(latency: unknown, owner: string): void {
  if (latency === undefined) return
  const isMs = (value: unknown): boolean => typeof value === 'number' && !Number.isNaN(value)
  if (isMs(latency)) return
  const range = latency as { minMs?: unknown; maxMs?: unknown } | null
  if (typeof range === 'object' && range !== null && isMs(range.minMs) && isMs(range.maxMs)) return
  throw optionError('latency', 'a number of ms or { minMs, maxMs }', latency, owner)
}
