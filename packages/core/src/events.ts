import type { TinyLLMError } from './errors.js'
import type { LifecycleState } from './lifecycle.js'
import type { UsageTotals } from './usage.js'

/** One transition of one run. Built only when someone listens. */
export interface LifecycleEvent {
  readonly runId: string
  readonly parentRunId: string | undefined
  /** Name of the Function. */
  readonly function: string
  readonly from: LifecycleState
  readonly to: LifecycleState
  /** Epoch milliseconds, sub-millisecond precision. */
  readonly at: number
  /** Attempt number, from 1; 0 before the first attempt starts. */
  readonly attempt: number
  /** Why the run is retrying or failed. */
  readonly error?: TinyLLMError
  /**
   * What the run has recorded about itself so far, as a bridge to a tracing system needs it when it happens: a
   * Decision's `choice`, an LLM call's `model` and `requestId`, `replayed` for a step replayed from a journal.
   */
  readonly annotations?: Readonly<Record<string, unknown>>
  /** Tokens and cost of the run and everything under it so far, once it made (or replayed) a model call. */
  readonly usage?: Readonly<UsageTotals>
}

/** Receives lifecycle events. It must not throw; if it does, the error is logged and the run goes on. */
export type LifecycleListener = (event: LifecycleEvent) => void

interface EventRegistry {
  listeners: LifecycleListener[]
}

const registryKey = Symbol.for('tinyllm.events.global')

/** Shared through `globalThis`, so duplicated copies of core see the same subscribers. */
export const globalEventRegistry: EventRegistry = ((globalThis as Record<symbol, unknown>)[registryKey] as
  | EventRegistry
  | undefined) ?? { listeners: [] }
;(globalThis as Record<symbol, unknown>)[registryKey] = globalEventRegistry

/**
 * Subscribes to the lifecycle events of every run in the process. Returns a function that unsubscribes.
 *
 * @example
 * const stop = onLifecycleEvent((event) => console.log(event.function, event.from, '→', event.to))
 */
export function onLifecycleEvent(listener: LifecycleListener): () => void {
  // Copy on write: a run iterating the list is never disturbed by (un)subscription.
  globalEventRegistry.listeners = [...globalEventRegistry.listeners, listener]
  return () => {
    globalEventRegistry.listeners = globalEventRegistry.listeners.filter((candidate) => candidate !== listener)
  }
}
