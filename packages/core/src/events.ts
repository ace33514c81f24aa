import { describeNonBoolean } from './cancellation.js'
import { ConfigurationError, type TinyLLMError } from './errors.js'
import type { FunctionNode } from './function-node.js'
import type { LifecycleState } from './lifecycle.js'
import { checkKnownOptions, optionError, unreadableOption } from './options.js'
import type { RunContext } from './run-context.js'
import type { UsageTotals } from './usage.js'

/** One transition of one run. Built only when someone listens. */
export interface LifecycleEvent {
  readonly runId: string
  readonly parentRunId: string | undefined
  /** Name of the Function. */
  readonly function: string
  /** The Function's kind (`function`, `chain`, `llm-call`…). */
  readonly kind: string
  /** The Function itself, for a listener that needs more than its name (an LLM call's model and settings, say). */
  readonly source: FunctionLike
  readonly from: LifecycleState
  readonly to: LifecycleState
  /**
   * Epoch milliseconds, sub-millisecond precision. Transitions the engine makes back to back, with no user code or wait
   * between them, share one reading of the clock.
   */
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
  /**
   * Tokens and cost of the run and everything under it so far, once it made (or replayed) a model call: a copy, as of
   * this event, like `annotations`.
   */
  readonly usage?: Readonly<UsageTotals>
  /** On the event leaving `init`: the run's input, as given. */
  readonly input?: unknown
  /** On the `complete` event: the run's output. */
  readonly output?: unknown
}

/** What an event's `source` offers: every Function is one. */
export interface FunctionLike {
  readonly name: string
  readonly kind: string
  describe(): FunctionNode
}

/**
 * Code run around every attempt of every run (and its `processOutput`), with the run's context: how a tracing bridge
 * makes a run's span the active one while it executes, so spans started inside it (an SDK's HTTP client span) nest
 * under it. It must call `call` exactly once, before it returns, and return what it returns: a wrapper that does not
 * call it, or calls it again, fails the run with a ConfigurationError.
 */
export type RunWrapper = <Result>(run: RunContext, call: () => Result) => Result

/** Options of {@link onLifecycleEvent}. */
export interface LifecycleSubscription {
  /**
   * Decides once per run tree, when its root starts, whether this listener hears that tree: no event is built for a
   * tree nobody hears. It answers `true` or `false`; anything else (a promise included) is logged, and the listener
   * does not hear the tree. Default: every tree.
   */
  readonly accepts?: (root: { readonly runId: string; readonly function: string; readonly kind: string }) => boolean
}

/**
 * Receives lifecycle events. It must not throw; if it does, the error is logged and the run goes on. It is no run's
 * code: a Function it invokes while it is handed the event starts a run tree of its own (after an `await`, pass
 * `parent: null` for the same).
 */
export type LifecycleListener = (event: LifecycleEvent) => void

/** One subscription: removing it removes this record, whichever other subscriptions share its listener. */
export interface Subscriber extends LifecycleSubscription {
  readonly listener: LifecycleListener
}

interface EventRegistry {
  subscribers: readonly Subscriber[]
  /** The listeners of every subscriber that hears every tree: what a tree gets when none filters. */
  listeners: readonly LifecycleListener[]
  wrapper: RunWrapper | undefined
  /** How many subscriptions ended: a tree whose count is behind drops the listeners no longer subscribed. */
  unsubscribed: number
}

const registryKey = Symbol.for('tinyllm.events.global')

/** Shared through `globalThis`, so duplicated copies of core see the same subscribers. */
export const globalEventRegistry: EventRegistry = ((globalThis as Record<symbol, unknown>)[registryKey] as
  | EventRegistry
  | undefined) ?? { subscribers: [], listeners: [], wrapper: undefined, unsubscribed: 0 }
;(globalThis as Record<symbol, unknown>)[registryKey] = globalEventRegistry
globalEventRegistry.unsubscribed ??= 0

const subscriptionKeys: ReadonlySet<string> = new Set(['accepts'])

/**
 * Subscribes to the lifecycle events of the runs of the process: of every run tree that starts from now on, or of
 * those `accepts` chooses. Returns a function that unsubscribes: from the next event on the listener hears none, of
 * trees already running included (an event being handed out when it is called still reaches the listeners after it).
 * Each subscription is its own: a listener subscribed twice hears each event twice, and once after one unsubscribes.
 * A listener or an `accepts` that is not a function is a ConfigurationError; an `accepts` that throws is logged, and
 * its subscriber does not hear that tree.
 *
 * @example
 * const stop = onLifecycleEvent((event) => console.log(event.function, event.from, '→', event.to))
 */
export function onLifecycleEvent(listener: LifecycleListener, subscription?: LifecycleSubscription): () => void {
  const subscriber = checkSubscriber(listener, subscription)
  // Copy on write: a run iterating the lists is never disturbed by (un)subscription.
  updateSubscribers([...globalEventRegistry.subscribers, subscriber])
  return () => {
    updateSubscribers(globalEventRegistry.subscribers.filter((candidate) => candidate !== subscriber))
    globalEventRegistry.unsubscribed += 1
  }
}

/** Those of a tree's subscriptions that have not ended. */
export function stillSubscribed(subscribers: readonly Subscriber[]): readonly Subscriber[] {
  const current = new Set(globalEventRegistry.subscribers)
  return subscribers.filter((subscriber) => current.has(subscriber))
}

function updateSubscribers(subscribers: readonly Subscriber[]): void {
  globalEventRegistry.subscribers = subscribers
  globalEventRegistry.listeners = subscribers.every((subscriber) => subscriber.accepts === undefined)
    ? subscribers.map((subscriber) => subscriber.listener)
    : []
}

/** A subscription read once and checked. */
function checkSubscriber(listener: LifecycleListener, subscription: LifecycleSubscription | undefined): Subscriber {
  const owner = 'onLifecycleEvent'
  if (typeof listener !== 'function') throw optionError('listener', 'a function', listener, owner)
  if (subscription === undefined) return { listener }
  if (typeof subscription !== 'object' || subscription === null)
    throw optionError('subscription', '{ accepts? }', subscription, owner)
  let accepts: unknown
  try {
    checkKnownOptions(subscription, subscriptionKeys, owner)
    accepts = subscription.accepts
  } catch (error) {
    throw unreadableOption(error, 'subscription', owner)
  }
  if (accepts === undefined) return { listener }
  if (typeof accepts !== 'function') throw optionError('accepts', 'a function', accepts, owner)
  return { listener, accepts: accepts as NonNullable<LifecycleSubscription['accepts']> }
}

/**
 * The process-wide listeners that hear a tree starting at `root`. A subscriber whose `accepts` throws, or answers
 * neither true nor false, does not hear it, and `failed` is told.
 */
export function listenersOf(
  root: { readonly runId: string; readonly function: string; readonly kind: string },
  failed: (error: unknown) => void,
): readonly Subscriber[] {
  const hears = (subscriber: Subscriber): boolean => {
    let shown: string
    try {
      const answer = subscriber.accepts?.(root) ?? true
      if (typeof answer === 'boolean') return answer
      // A promise (an async accepts) would be taken for a yes whatever it resolves to. An answer whose `then` throws
      // when read is told as a throw of the accepts, never as the run's bad options.
      shown = describeNonBoolean(answer)
    } catch (error) {
      failed(error)
      return false
    }
    failed(
      new ConfigurationError({
        option: 'accepts',
        message: `accepts must answer true or false, got ${shown}`,
        functionName: 'onLifecycleEvent',
      }),
    )
    return false
  }
  return globalEventRegistry.subscribers.filter(hears)
}

/**
 * Sets the {@link RunWrapper} every run executes inside (one at a time); returns a function that removes it. One that
 * is not a function is a ConfigurationError, and the wrapper in place stays.
 */
export function setRunWrapper(wrapper: RunWrapper | undefined): () => void {
  if (wrapper !== undefined && typeof wrapper !== 'function')
    throw optionError('wrapper', 'a function, or undefined', wrapper, 'setRunWrapper')
  globalEventRegistry.wrapper = wrapper
  return () => {
    if (globalEventRegistry.wrapper === wrapper) globalEventRegistry.wrapper = undefined
  }
}
