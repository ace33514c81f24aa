import { safeStringify } from '@tinyllm/core'
import { CarriedContextError } from './carried-context-error.js'

/**
 * Carries the caller's context (an OpenTelemetry trace context, say) from the producer that submits a run to the
 * worker that runs it: `inject` reads the active context into strings, which travel in the run's job, and `extract`
 * makes them the active context again while the worker runs the graph. `traceContextCarrier()` of `@tinyllm/otel` is
 * one; any object of this shape is.
 *
 * @example
 * const context = traceContextCarrier() // from @tinyllm/otel
 * const executor = new BullMQExecutor({ connection, context })
 * const worker = await serve({ graphs: [pipeline], connection, context })
 */
export interface ContextCarrier {
  /** The active context as strings, e.g. `{ traceparent: '00-…' }`; an empty object when there is none. */
  inject(): Readonly<Record<string, string>>
  /** Calls `call` with the context `carried` describes active, and returns what it returns. */
  extract<R>(carried: Readonly<Record<string, string>>, call: () => R): R
}

/**
 * Longest carried context, in characters of its JSON. W3C trace context takes under 600; OpenTelemetry's baggage
 * propagator may add up to 8,192 of baggage, which must still travel. Anything longer is not a context but a payload.
 */
export const maxCarriedContextLength = 16_384

/**
 * What `carrier.inject()` gives, checked so that it can travel in a job: strings only, at most
 * {@link maxCarriedContextLength} characters of JSON; `undefined` when it is empty. Throws a CarriedContextError
 * otherwise, before anything is queued.
 */
export function injectContext(
  carrier: ContextCarrier,
  functionName: string,
): Readonly<Record<string, string>> | undefined {
  let injected: unknown
  try {
    injected = carrier.inject()
  } catch (cause) {
    throw new CarriedContextError({ reason: "the carrier's inject() threw", functionName, cause })
  }
  let entries: Array<[string, unknown]> | string
  try {
    entries = entriesOf(injected)
  } catch (cause) {
    // A getter or a Proxy trap that throws: JSON could not read it either.
    throw new CarriedContextError({
      reason: "what the carrier's inject() returned could not be read",
      functionName,
      cause,
    })
  }
  if (typeof entries === 'string') {
    throw new CarriedContextError({
      reason: `the carrier's inject() must return an object of strings, got ${entries}`,
      functionName,
    })
  }
  if (entries.length === 0) return undefined
  for (const [key, value] of entries) {
    if (typeof value !== 'string') {
      throw new CarriedContextError({
        reason: `the carrier's inject() returned ${kindOf(value)} under ${safeStringify(key, 60)}; only strings travel`,
        functionName,
      })
    }
  }
  const carried = Object.fromEntries(entries) as Record<string, string>
  const length = JSON.stringify(carried).length
  if (length > maxCarriedContextLength) {
    throw new CarriedContextError({
      reason: `the carrier's inject() returned ${length} characters of JSON, more than the ${maxCarriedContextLength} a context may take`,
      functionName,
    })
  }
  return carried
}

/**
 * The entries of an object of the `{}` kind (of any realm: its prototype is null or an `Object.prototype`), or what
 * `value` is instead: a Promise (an async `inject()`), a Map or another class's instance would carry nothing.
 */
function entriesOf(value: unknown): Array<[string, unknown]> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return kindOf(value)
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== null && Object.getPrototypeOf(prototype) !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return `an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'}`
  }
  return Object.entries(value)
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  const type = typeof value
  return type === 'object' ? 'an object' : `a ${type}`
}
