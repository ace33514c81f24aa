import { type Context, context as contextApi, propagation } from '@opentelemetry/api'
import { extractTraceContext, injectTraceContext } from './w3c-trace-context.js'

/**
 * Carries the active OpenTelemetry context between processes as strings: `inject` reads it, `extract` makes what was
 * read active around a call. The shape of `@tinyllm/bullmq`'s `ContextCarrier`, which this package does not depend on.
 */
export interface TraceContextCarrier {
  /** The active context as propagation fields (`traceparent`, `tracestate`, `baggage`…); empty when there is none. */
  inject(): Readonly<Record<string, string>>
  /** Calls `call` with the context `carried` describes active (a span started inside nests under the remote one). */
  extract<R>(carried: Readonly<Record<string, string>>, call: () => R): R
}

/**
 * Whether the process registered a propagator (the OpenTelemetry Node SDK registers W3C trace context and baggage): the
 * global one until then injects and extracts nothing, and says so by naming no field.
 */
function propagatorRegistered(): boolean {
  return propagation.fields().length > 0
}

const carrier: TraceContextCarrier = {
  inject() {
    const carried: Record<string, string> = {}
    const active = contextApi.active()
    if (propagatorRegistered()) propagation.inject(active, carried)
    else injectTraceContext(active, carried)
    return carried
  },
  extract(carried, call) {
    const active = contextApi.active()
    const extracted = extractedContext(active, carried)
    return extracted === active ? call() : contextApi.with(extracted, call)
  },
}

/**
 * `active` with the context `carried` describes; `active` itself when it describes none. What was carried comes from
 * another process, through a queue, and may be anything (`null`, a `Proxy` whose traps throw): a propagator that throws
 * reading it — one registered alone, which the API does not call inside a catch as the SDK's composite one does —
 * describes nothing, so the run goes on without the remote parent rather than fail for its tracing.
 */
function extractedContext(active: Context, carried: Readonly<Record<string, string>>): Context {
  if (!propagatorRegistered()) return extractTraceContext(active, carried)
  try {
    return propagation.extract(active, carried)
  } catch {
    return active
  }
}

/**
 * Carries the trace context from where a run is submitted to where it runs, so that its spans nest under the
 * submitter's span across processes. Give it to `@tinyllm/bullmq`'s `BullMQExecutor` and `serve` as `context`. It
 * propagates with the globally registered propagator (the OpenTelemetry Node SDK registers W3C trace context and
 * baggage), or with W3C trace context when none is registered. On the worker, a context manager must be registered
 * (the SDK's, or `AsyncLocalStorageContextManager`) for the run to see the extracted context, as for any active span.
 *
 * @example
 * const executor = new BullMQExecutor({ connection, context: traceContextCarrier() })
 * const worker = await serve({ graphs: [pipeline], connection, context: traceContextCarrier() })
 */
export function traceContextCarrier(): TraceContextCarrier {
  return carrier
}
