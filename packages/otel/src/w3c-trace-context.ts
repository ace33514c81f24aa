import { type Context, createTraceState, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api'

/** `version-traceid-parentid-flags`, lower-case hex; a later version may append fields (W3C Trace Context, §3.2). */
const traceparentPattern = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/

/**
 * Writes the span context of `context` as W3C `traceparent` and `tracestate` into `carried`; nothing when it holds no
 * valid span. What `@opentelemetry/core`'s W3CTraceContextPropagator writes, for a process that registered none.
 */
export function injectTraceContext(context: Context, carried: Record<string, string>): void {
  const spanContext = trace.getSpanContext(context)
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')
  carried.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`
  const state = spanContext.traceState?.serialize()
  if (state) carried.tracestate = state
}

/**
 * `context` with the remote span context that `carried`'s W3C `traceparent` and `tracestate` describe; `context`
 * itself when they describe none (absent, malformed, all-zero ids, version `ff`).
 */
export function extractTraceContext(context: Context, carried: Readonly<Record<string, string>>): Context {
  // Fields whose reading throws (a getter, a revoked `Proxy`) describe nothing, as for the SDK's propagators, which
  // the API calls inside a catch: the run goes on without the remote parent rather than fail for its tracing.
  try {
    return readTraceContext(context, carried)
  } catch {
    return context
  }
}

function readTraceContext(context: Context, carried: Readonly<Record<string, string>>): Context {
  // Read as the SDK's propagator reads them (a list's first traceparent, its tracestates joined), and only as strings:
  // what was carried comes from another process, through a queue, and may be anything.
  const fields = (typeof carried === 'object' && carried !== null ? carried : {}) as Readonly<Record<string, unknown>>
  const traceparent = Array.isArray(fields.traceparent) ? fields.traceparent[0] : fields.traceparent
  const match = traceparentPattern.exec(typeof traceparent === 'string' ? traceparent.trim() : '')
  if (match === null) return context
  const [, version, traceId = '', spanId = '', flags = '', extra] = match
  if (version === 'ff' || (version === '00' && extra !== undefined)) return context
  const spanContext: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true }
  if (!isSpanContextValid(spanContext)) return context
  const state = Array.isArray(fields.tracestate) ? fields.tracestate.join(',') : fields.tracestate
  if (typeof state === 'string' && state !== '') spanContext.traceState = createTraceState(state)
  return trace.setSpanContext(context, spanContext)
}
