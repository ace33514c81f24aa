import { context, SpanKind } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { creditPipeline } from './__fixtures__/credit-pipeline.js'
import { memoryTracing } from './__fixtures__/spans.js'
import { RunTracer } from './run-tracer.js'

// What a traced service sets up: a context manager, and the undici instrumentation that traces Node's fetch (the
// client the provider SDKs use).
const { provider, spans } = memoryTracing()
// Enabled on construction; it subscribes to the diagnostics channels of Node's fetch.
const undici = new UndiciInstrumentation()
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  undici.setTracerProvider(provider)
  undici.enable()
})
afterAll(() => {
  undici.disable()
  context.disable()
})

describe('the provider SDK’s HTTP client span', () => {
  it('nests under the span of the LLM call that sent the request', async () => {
    const server = await startOpenAICompatibleServer({ replies: ['good'] })
    try {
      const tracing = new RunTracer({ tracerProvider: provider })
      const pipeline = creditPipeline(server.baseURL)
      await expect(
        pipeline.invoke({ loan_application: 'Steady income.' }, { onEvent: tracing.listener }),
      ).resolves.toBe('approved')
    } finally {
      await server.close()
    }
    const finished = await spans()
    const chat = finished.find((span) => span.attributes['tinyllm.function'] === 'openai_chat')!
    const http = finished.filter((span) => span.instrumentationScope.name === '@opentelemetry/instrumentation-undici')
    expect(http).toHaveLength(1)
    expect(http[0]!.kind).toBe(SpanKind.CLIENT)
    expect(http[0]!.attributes['http.request.method']).toBe('POST')
    expect(http[0]!.parentSpanContext?.spanId).toBe(chat.spanContext().spanId)
    expect(http[0]!.spanContext().traceId).toBe(chat.spanContext().traceId)
  })
})
