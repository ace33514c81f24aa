import type { TinyLLMError } from './errors.js'
import type { LifecycleState } from './lifecycle.js'
import type { UsageTotals } from './usage.js'

/** One visited state of a run. */
export interface RunStateEntry {
  readonly state: LifecycleState
  /**
   * Epoch milliseconds. Transitions the engine makes back to back, with no user code or wait between them, share one
   * reading of the clock.
   */
  readonly at: number
  readonly attempt: number
  /** The error that made the run retry or fail. */
  readonly error?: TinyLLMError
}

/**
 * What happened in one run, with its children: the answer to "what happened in my pipeline?". JSON-serialisable
 * (errors serialise through their `toJSON`, which cuts what they quote).
 */
export interface RunRecord<Output = unknown> {
  readonly runId: string
  readonly parentRunId: string | undefined
  /** Name of the Function. */
  readonly function: string
  /** `function`, `chain`, `decision`, `parallel`, `llm-call`, … */
  readonly kind: string
  /** What the run was given (redacted when the record is serialised). */
  readonly input?: unknown
  status: 'running' | 'complete' | 'failed'
  readonly states: RunStateEntry[]
  attempts: number
  readonly startedAt: number
  endedAt: number | undefined
  durationMs: number | undefined
  output?: Output
  error?: TinyLLMError
  /** Tokens and cost of this run and everything under it; absent when it made no model call. */
  usage?: UsageTotals
  /** Facts a Function recorded about its run, e.g. a Decision's `choice`. */
  readonly annotations: Record<string, unknown>
  readonly children: RunRecord[]
}
