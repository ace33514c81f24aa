import {
  createTraceState,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { describe, expect, it } from 'vitest'
import { extractTraceContext, injectTraceContext } from './w3c-trace-context.js'

// The fallback must write and read exactly what the SDK's W3C propagator does, so that a producer with the SDK's
// propagator and a worker without one (or the other way round) still link their spans.
const reference = new W3CTraceContextPropagator()

const sampled: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  traceState: createTraceState('vendor=opaque,other=1'),
}

function referenceInject(spanContext: SpanContext): Record<string, string> {
  const carried: Record<string, string> = {}
  reference.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carried, defaultTextMapSetter)
  return carried
}

function referenceExtract(carried: Record<string, string>): SpanContext | undefined {
  return trace.getSpanContext(reference.extract(ROOT_CONTEXT, carried, defaultTextMapGetter))
}

function extracted(carried: Record<string, string>): SpanContext | undefined {
  return trace.getSpanContext(extractTraceContext(ROOT_CONTEXT, carried))
}

describe('W3C trace context, without a registered propagator', () => {
  it('injects what the SDK’s W3C propagator injects', () => {
    const unsampled: SpanContext = { traceId: sampled.traceId, spanId: sampled.spanId, traceFlags: TraceFlags.NONE }
    for (const spanContext of [sampled, unsampled]) {
      const carried: Record<string, string> = {}
      injectTraceContext(trace.setSpanContext(ROOT_CONTEXT, spanContext), carried)
      expect(carried).toEqual(referenceInject(spanContext))
    }
    const carried: Record<string, string> = {}
    injectTraceContext(trace.setSpanContext(ROOT_CONTEXT, sampled), carried)
    expect(carried).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=opaque,other=1',
    })
  })

  it('injects nothing without a valid span', () => {
    for (const context of [ROOT_CONTEXT, trace.setSpanContext(ROOT_CONTEXT, { ...sampled, traceId: '0'.repeat(32) })]) {
      const carried: Record<string, string> = {}
      injectTraceContext(context, carried)
      expect(carried).toEqual({})
    }
  })

  it('extracts what the SDK’s W3C propagator extracts: a remote span context, or nothing', () => {
    const cases: Array<Record<string, string>> = [
      referenceInject(sampled),
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' },
      // A later version may carry more fields; version 00 may not, and version ff is invalid.
      { traceparent: '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later' },
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later' },
      { traceparent: 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' },
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01' },
      { traceparent: '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01' },
      { traceparent: 'not a trace parent' },
      { tracestate: 'vendor=opaque' },
      {},
    ]
    for (const carried of cases) {
      const ours = extracted(carried)
      const theirs = referenceExtract(carried)
      expect(ours && { ...ours, traceState: ours.traceState?.serialize() }, JSON.stringify(carried)).toEqual(
        theirs && { ...theirs, traceState: theirs.traceState?.serialize() },
      )
    }
    // From another process, through a queue: fields of any kind are read as the SDK reads them, never thrown on.
    const { traceparent = '', tracestate = '' } = referenceInject(sampled)
    const odd = [
      { traceparent: 5 },
      { traceparent: [traceparent, 'second'] },
      { traceparent, tracestate: [tracestate, 'more=2'] },
      { traceparent: null, tracestate: {} },
    ] as unknown as Array<Record<string, string>>
    for (const carried of odd) {
      const ours = extracted(carried)
      const theirs = referenceExtract(carried)
      expect(ours && { ...ours, traceState: ours.traceState?.serialize() }, JSON.stringify(carried)).toEqual(
        theirs && { ...theirs, traceState: theirs.traceState?.serialize() },
      )
    }
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const unreadable = [
      Object.defineProperty({}, 'traceparent', {
        get() {
          throw new Error('not readable')
        },
      }),
      revoked.proxy,
    ] as unknown as Array<Record<string, string>>
    for (const carried of unreadable) expect(extracted(carried)).toBeUndefined()
    expect(extracted(referenceInject(sampled))).toMatchObject({
      traceId: sampled.traceId,
      spanId: sampled.spanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    })
  })
})
