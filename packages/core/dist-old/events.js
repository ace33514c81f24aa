import { checkKnownOptions, optionError, unreadableOption } from './options.js'

const registryKey = Symbol.for('tinyllm.events.global')
/** Shared through `globalThis`, so duplicated copies of core see the same subscribers. */
export const globalEventRegistry = globalThis[registryKey] ?? { subscribers: [], listeners: [], wrapper: undefined }
globalThis[registryKey] = globalEventRegistry
const subscriptionKeys = new Set(['accepts'])
/**
 * Subscribes to the lifecycle events of the runs of the process: of every run tree that starts from now on, or of
 * those `accepts` chooses. Returns a function that unsubscribes. A listener or an `accepts` that is not a function is
 * a ConfigurationError; an `accepts` that throws is logged, and its subscriber does not hear that tree.
 *
 * @example
 * const stop = onLifecycleEvent((event) => console.log(event.function, event.from, '→', event.to))
 */
export function onLifecycleEvent(listener, subscription) {
  const subscriber = checkSubscriber(listener, subscription)
  // Copy on write: a run iterating the lists is never disturbed by (un)subscription.
  updateSubscribers([...globalEventRegistry.subscribers, subscriber])
  return () => updateSubscribers(globalEventRegistry.subscribers.filter((candidate) => candidate !== subscriber))
}
function updateSubscribers(subscribers) {
  globalEventRegistry.subscribers = subscribers
  globalEventRegistry.listeners = subscribers.every((subscriber) => subscriber.accepts === undefined)
    ? subscribers.map((subscriber) => subscriber.listener)
    : []
}
/** A subscription read once and checked. */
function checkSubscriber(listener, subscription) {
  const owner = 'onLifecycleEvent'
  if (typeof listener !== 'function') throw optionError('listener', 'a function', listener, owner)
  if (subscription === undefined) return { listener }
  if (typeof subscription !== 'object' || subscription === null)
    throw optionError('subscription', '{ accepts? }', subscription, owner)
  let accepts
  try {
    checkKnownOptions(subscription, subscriptionKeys, owner)
    accepts = subscription.accepts
  } catch (error) {
    throw unreadableOption(error, 'subscription', owner)
  }
  if (accepts === undefined) return { listener }
  if (typeof accepts !== 'function') throw optionError('accepts', 'a function', accepts, owner)
  return { listener, accepts: accepts }
}
/**
 * The process-wide listeners that hear a tree starting at `root`. A subscriber whose `accepts` throws does not hear it,
 * and `failed` is told.
 */
export function listenersOf(root, failed) {
  const { subscribers, listeners } = globalEventRegistry
  if (listeners.length === subscribers.length) return listeners
  const hears = (subscriber) => {
    try {
      return subscriber.accepts?.(root) ?? true
    } catch (error) {
      failed(error)
      return false
    }
  }
  return subscribers.filter(hears).map((subscriber) => subscriber.listener)
}
/**
 * Sets the {@link RunWrapper} every run executes inside (one at a time); returns a function that removes it. One that
 * is not a function is a ConfigurationError, and the wrapper in place stays.
 */
export function setRunWrapper(wrapper) {
  if (wrapper !== undefined && typeof wrapper !== 'function')
    throw optionError('wrapper', 'a function, or undefined', wrapper, 'setRunWrapper')
  globalEventRegistry.wrapper = wrapper
  return () => {
    if (globalEventRegistry.wrapper === wrapper) globalEventRegistry.wrapper = undefined
  }
}
//# sourceMappingURL=events.js.map
