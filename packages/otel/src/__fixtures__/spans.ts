import {
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace'

/** A tracer provider that keeps every finished span in memory. */
export function memoryTracing(options: { readonly sampler?: Sampler } = {}) {
  const exporter = new InMemorySpanExporter()
  const provider = new TracerProvider({
    ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  })
  /** Every span finished so far, once the processor has handed them all to the exporter. */
  const spans = async (): Promise<ReadableSpan[]> => {
    await provider.forceFlush()
    return exporter.getFinishedSpans()
  }
  return { exporter, provider, spans }
}

/** The span of the run of that function (the only one of that name). */
export function spanOf(spans: ReadonlyArray<ReadableSpan>, functionName: string): ReadableSpan {
  const found = spans.filter((span) => span.attributes['tinyllm.function'] === functionName)
  if (found.length !== 1) throw new Error(`expected one span of ${functionName}, found ${found.length}`)
  return found[0]!
}

/** The function name of a span's parent span, or `undefined` for a root (or a parent outside these spans). */
export function parentOf(spans: ReadonlyArray<ReadableSpan>, span: ReadableSpan): string | undefined {
  const parentId = span.parentSpanContext?.spanId
  const parent = spans.find((candidate) => candidate.spanContext().spanId === parentId)
  return parent === undefined ? undefined : String(parent.attributes['tinyllm.function'] ?? parent.name)
}

/** The names of a span's events, in order. */
export function eventNames(span: ReadableSpan): string[] {
  return span.events.map((event) => event.name)
}
