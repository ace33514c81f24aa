/** The spread of one metric over the measured repetitions of one subject. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  /** 25th percentile (linear interpolation between closest ranks). */
  readonly p25: number
  /** 75th percentile (linear interpolation between closest ranks). */
  readonly p75: number
  /** How many repetitions were measured. */
  readonly count: number
  /** Every measured value, in the order measured. */
  readonly samples: readonly number[]
}

/** Summarises measured values; throws on an empty list or a value that is not a finite number. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples')
  for (const sample of samples) {
    if (!Number.isFinite(sample)) throw new Error(`summarize: not a finite number: ${String(sample)}`)
  }
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    count: sorted.length,
    samples: [...samples],
  }
}

/** The `q` quantile of ascending `sorted` values. */
export function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q
  const below = Math.floor(position)
  const above = Math.ceil(position)
  const low = sorted[below]!
  const high = sorted[above]!
  return low + (high - low) * (position - below)
}
