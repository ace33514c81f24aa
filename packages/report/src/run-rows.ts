import type { RunRecord, UsageTotals } from '@tinyllm/core'
import { errorDetail, headline, nameText, preview } from './run-text.js'

/**
 * One run as the timeline and the details panel show it: times relative to the report's start, every name and value
 * redacted and names cut (see `runText` and `nameText`).
 */
export interface RunRow {
  readonly runId: string
  readonly function: string
  readonly kind: string
  /** `complete`, `failed` or `running`; a record read back from storage may hold other text, redacted and cut. */
  readonly status: string
  readonly depth: number
  /** The shape node this run is folded into. */
  readonly shape: string
  /** Start, from the report's start, in ms. */
  readonly startMs: number
  /** `undefined` while it runs. */
  readonly durationMs: number | undefined
  readonly attempts: number
  /**
   * The states visited: state, ms from the report's start, attempt, and the error that made it retry or fail. The first
   * and the last 50 of them; `statesLeftOut` counts those between.
   */
  readonly states: ReadonlyArray<readonly [string, number, number, string?]>
  /** States visited between the first and the last 50, which the page does not list. */
  readonly statesLeftOut?: number
  /** The waits between attempts, with why the attempt before failed: the first and the last 25. */
  readonly retries: ReadonlyArray<{
    readonly attempt: number
    readonly startMs: number
    readonly endMs: number
    readonly reason: string
  }>
  /** Waits between the first and the last 25, which the page does not list. */
  readonly retriesLeftOut?: number
  readonly output?: string
  readonly input?: string
  readonly usage?: RunRecord['usage']
  /** The call's usage is the estimate that stood in for what its server did not report. */
  readonly usageEstimated?: true
  readonly annotations?: string
  readonly error?: { readonly name: string; readonly headline: string; readonly detail: string }
}

/** What a row shows of a run's values. */
export interface RowOptions {
  readonly maxValueLength: number
  /** Time zero of the report, epoch ms. */
  readonly origin: number
  /** The time runs still in progress are drawn up to, epoch ms. */
  readonly now: number
}

/** A run's row. `shape` is the id of the shape node it belongs to. */
export function toRow(record: RunRecord, depth: number, shape: string, options: RowOptions): RunRow {
  const { origin, maxValueLength } = options
  const recorded = record.states
  // Each state and wait may repeat an error's headline: a run retried thousands of times shows its first and last.
  const states = headAndTail(recorded.length, maxListedStates).map((index) => {
    const entry = recorded[index]!
    const at = entry.at - origin
    return entry.error === undefined
      ? ([nameText(entry.state), at, entry.attempt] as const)
      : ([nameText(entry.state), at, entry.attempt, headline(entry.error, maxValueLength)] as const)
  })
  const waits: number[] = []
  for (let index = 0; index < recorded.length; index++) if (recorded[index]!.state === 'retrying') waits.push(index)
  const retries = headAndTail(waits.length, maxListedRetries).map((wait) => {
    const index = waits[wait]!
    const entry = recorded[index]!
    const next = recorded[index + 1]
    return {
      attempt: entry.attempt,
      startMs: entry.at - origin,
      endMs: (next?.at ?? options.now) - origin,
      reason: entry.error === undefined ? 'no reason recorded' : headline(entry.error, maxValueLength),
    }
  })
  const row: { -readonly [Key in keyof RunRow]: RunRow[Key] } = {
    runId: nameText(record.runId),
    function: nameText(record.function),
    kind: nameText(record.kind),
    status: nameText(record.status),
    depth,
    shape,
    startMs: record.startedAt - origin,
    durationMs: writtenNumber(record.durationMs, 'durationMs'),
    attempts: writtenNumber(record.attempts, 'attempts'),
    states,
    retries,
  }
  if (recorded.length > states.length) row.statesLeftOut = recorded.length - states.length
  if (waits.length > retries.length) row.retriesLeftOut = waits.length - retries.length
  if ('output' in record && record.output !== undefined) row.output = preview(record.output, maxValueLength)
  // Core's records do not hold the input yet; a record that carries one shows it.
  const input = (record as { input?: unknown }).input
  if (input !== undefined) row.input = preview(input, maxValueLength)
  const usage = usageOf(record)
  if (usage !== undefined) row.usage = usage
  if (usage !== undefined && record.annotations.usageEstimated === true) row.usageEstimated = true
  if (Object.keys(record.annotations).length > 0) row.annotations = preview(record.annotations, maxValueLength)
  if (record.error !== undefined) {
    row.error = {
      name: nameText(record.error.name),
      headline: headline(record.error, maxValueLength),
      detail: errorDetail(record.error, maxValueLength),
    }
  }
  return row
}

/**
 * A duration or a count of attempts as the row writes it into its markup, neither escaped nor redacted: a number, or
 * `undefined`. The record was checked before, but a getter or a `Proxy` may answer otherwise when read again (an object
 * whose text is markup): such a record is refused, as one that held it from the start.
 */
function writtenNumber<Value extends number | undefined>(value: Value, field: string): Value {
  if (value === undefined || (typeof value === 'number' && Number.isFinite(value))) return value
  throw new TypeError(`${field} is no longer a number when read again`)
}

/** Most states a row lists, the first and the last half of them. */
const maxListedStates = 100
/** Most waits between attempts a row lists and draws, the first and the last half of them. */
const maxListedRetries = 50

/** The indices of a list of `length` items that a row keeps of it: all, or the first and the last `most / 2`. */
function headAndTail(length: number, most: number): number[] {
  const half = most / 2
  const kept: number[] = []
  for (let index = 0; index < length; index++) {
    if (length > most && index === half) index = length - half
    kept.push(index)
  }
  return kept
}

/** The usage fields, each a count or an amount the page writes as a number. */
const usageFields = ['calls', 'inputTokens', 'outputTokens', 'totalTokens', 'costUsd', 'unpricedCalls'] as const

/**
 * A run's usage when it has one whose every field is a finite number, else `undefined`: a record read back from storage
 * may hold anything there, and the page writes these fields as numbers, neither escaped nor redacted.
 */
export function usageOf(record: RunRecord): UsageTotals | undefined {
  const usage = record.usage as Readonly<Record<string, unknown>> | undefined
  if (typeof usage !== 'object' || usage === null) return undefined
  const copy: Record<string, number> = {}
  for (const field of usageFields) {
    const value = usage[field]
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
    copy[field] = value
  }
  return copy as unknown as UsageTotals
}
