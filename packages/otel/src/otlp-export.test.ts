import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as OTLPProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { creditPipeline } from './__fixtures__/credit-pipeline.js'
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './__fixtures__/otlp-receiver.js'
import { RunTracer } from './run-tracer.js'

let receiver: OtlpReceiver
let server: OpenAICompatibleServer

beforeEach(async () => {
  receiver = await startOtlpReceiver()
})
afterEach(async () => {
  await receiver.close()
  await server?.close()
})

const encodings: Array<{ name: string; contentType: string; exporter: (url: string) => SpanExporter }> = [
  { name: 'JSON', contentType: 'application/json', exporter: (url) => new OTLPJsonTraceExporter({ url }) },
  {
    name: 'protobuf',
    contentType: 'application/x-protobuf',
    exporter: (url) => new OTLPProtobufTraceExporter({ url }),
  },
]

describe.each(encodings)('spans of the demo pipeline sent over OTLP/HTTP ($name)', ({ contentType, exporter }) => {
  it('arrive at a real receiver with the run tree as parents and the GenAI attributes on the model call', async () => {
    server = await startOpenAICompatibleServer({
      replies: [{ content: 'bad', usage: { promptTokens: 52, completionTokens: 1 } }],
    })
    const provider = new TracerProvider({
      spanProcessors: [new BatchSpanProcessor({ exporter: exporter(receiver.url) })],
    })
    const tracing = new RunTracer({ tracerProvider: provider })
    const pipeline = creditPipeline(server.baseURL)

    const result = await pipeline.invoke(
      { loan_application: 'Three missed payments this year, utilisation at 95%.' },
      { onEvent: tracing.listener },
    )
    expect(result).toBe('referred')
    await provider.forceFlush()
    await provider.shutdown()

    expect(receiver.contentTypes.length).toBeGreaterThan(0)
    for (const received of receiver.contentTypes) expect(received).toContain(contentType)
    const spans = receiver.spans
    const byName = (name: string): ReceivedSpan => {
      const found = spans.filter((span) => span.attributes['tinyllm.function'] === name)
      expect(found, name).toHaveLength(1)
      return found[0]!
    }
    const parentName = (span: ReceivedSpan): unknown =>
      spans.find((candidate) => candidate.spanId === span.parentSpanId)?.attributes['tinyllm.function']

    expect(spans).toHaveLength(10)
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1)
    expect(byName('Credit analysis').parentSpanId).toBe('')
    expect(parentName(byName('CreditClassification'))).toBe('Credit analysis')
    expect(parentName(byName('Outcome'))).toBe('Credit analysis')
    expect(parentName(byName('Loan Classifier Template'))).toBe('CreditClassification')
    expect(parentName(byName('Role'))).toBe('Loan Classifier Template')
    expect(parentName(byName('openai_chat'))).toBe('CreditClassification')
    expect(parentName(byName('Bad credit analysis'))).toBe('CreditClassification')
    expect(parentName(byName('EmailNotification'))).toBe('Bad credit analysis')
    expect(parentName(byName('FurtherAnalysis'))).toBe('Bad credit analysis')

    const chat = byName('openai_chat')
    expect(chat.name).toBe('chat gpt-4o-mini')
    expect(chat.kind).toBe(SpanKind.CLIENT)
    expect(chat.scope).toBe('@tinyllm/otel')
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0,
      'gen_ai.request.max_tokens': 8,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 52,
      'gen_ai.usage.output_tokens': 1,
      'tinyllm.kind': 'openai-chat',
      'tinyllm.attempt': 1,
    })
    expect(chat.attributes['tinyllm.request_id']).toEqual(expect.any(String))
    expect(chat.attributes['gen_ai.response.id']).toMatch(/^chatcmpl-/)
    expect(chat.attributes['tinyllm.cost_usd']).toBeGreaterThan(0)
    expect(chat.events.map((event) => event.name)).toEqual([
      'input_validation',
      'running',
      'output_validation',
      'processing_output',
      'complete',
    ])
    expect(byName('CreditClassification').attributes).toMatchObject({
      'tinyllm.kind': 'decision',
      'tinyllm.decision.choice': 'bad',
    })
    expect(byName('Credit analysis').status.code).toBe(SpanStatusCode.UNSET)
  })

  it('carry a failed call: the retry as an event, the error and the status', async () => {
    server = await startOpenAICompatibleServer({
      replies: [
        { error: { status: 503, message: 'overloaded' } },
        { error: { status: 400, message: 'the prompt is not allowed' } },
      ],
    })
    const provider = new TracerProvider({
      spanProcessors: [new BatchSpanProcessor({ exporter: exporter(receiver.url) })],
    })
    const tracing = new RunTracer({ tracerProvider: provider })
    const pipeline = creditPipeline(server.baseURL)

    await expect(pipeline.invoke({ loan_application: 'x' }, { onEvent: tracing.listener })).rejects.toMatchObject({
      name: 'ProviderCallError',
    })
    await provider.forceFlush()
    await provider.shutdown()

    const chat = receiver.spans.find((span) => span.attributes['tinyllm.function'] === 'openai_chat')!
    expect(chat.events.map((event) => event.name)).toEqual([
      'input_validation',
      'running',
      'retrying',
      'running',
      'failed',
      'exception',
    ])
    expect(String(chat.events[2]!.attributes['tinyllm.retry.reason'])).toContain('overloaded')
    expect(chat.attributes).toMatchObject({ 'error.type': 'ProviderCallError', 'tinyllm.attempt': 2 })
    expect(chat.status.code).toBe(SpanStatusCode.ERROR)
    expect(chat.status.message).toContain('the prompt is not allowed')
    const root = receiver.spans.find((span) => span.attributes['tinyllm.function'] === 'Credit analysis')!
    expect(root.status.code).toBe(SpanStatusCode.ERROR)
  })
})
