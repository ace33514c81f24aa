import type { BenchSize } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'
import { type ChainFactory, chainSubject, type StepOverheadParams } from './step-overhead.ts'

/** Parameters of one case: how many no-op steps the traced chain has, and how long a repetition lasts at least. */
export type OtelBridgeParams = StepOverheadParams

/** Sets up tracing (or not) in the subject's own process and returns one invocation of the chain. */
type Setup = ChainFactory

const subject = chainSubject

async function chainOf(steps: number): Promise<(input: number) => Promise<number>> {
  const { defineFunction } = await import('@tinyllm/core')
  const { Chain } = await import('@tinyllm/flow')
  const chain = new Chain({
    name: 'chain',
    children: Array.from({ length: steps }, (_, index) =>
      defineFunction({ name: `step-${index}`, run: (value: number) => value + 1 }),
    ),
  })
  return (input) => chain.invoke(input)
}

const noBridge: Setup = chainOf

/** Any process-wide listener: what core spends building lifecycle events for someone, before the bridge does anything. */
const emptyListener: Setup = async (steps) => {
  const { onLifecycleEvent } = await import('@tinyllm/core')
  onLifecycleEvent(() => {})
  return chainOf(steps)
}

/**
 * The bridge listening to every run, with no tracer provider registered: it accepts no run tree, so core builds no
 * lifecycle event for it and it must cost next to nothing.
 */
const bridgeWithoutTracer: Setup = async (steps) => {
  const { RunTracer } = await import('@tinyllm/otel')
  new RunTracer().start()
  return chainOf(steps)
}

/** The bridge with the SDK registered: spans built, batched and handed to an exporter that drops them. */
const bridgeWithTracer: Setup = async (steps) => {
  const { trace } = await import('@opentelemetry/api')
  const { BatchSpanProcessor, TracerProvider } = await import('@opentelemetry/sdk-trace')
  const { RunTracer } = await import('@tinyllm/otel')
  const exporter = {
    export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }),
    shutdown: async () => {},
  }
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] }))
  new RunTracer().start()
  return chainOf(steps)
}

/** What the OpenTelemetry bridge adds to each step, with and without a tracer provider registered. */
export const otelBridge = defineScenario<OtelBridgeParams>({
  id: 'otel-bridge',
  title: 'OpenTelemetry bridge overhead',
  method: [
    'The chain of the step-overhead scenario (N no-op `defineFunction` steps in a `Chain`), invoked from 0',
    'sequentially as often as fills a repetition; the figure is the repetition time ÷ (runs × N). Floor: the chain',
    'with nothing listening. Then with an empty process-wide listener (what core spends building lifecycle events for',
    'anyone), and with `@tinyllm/otel`’s `RunTracer` listening to every run in the process',
    '(`start()`): first with no tracer provider registered (the bridge accepts no run tree as it starts, so core',
    'builds no lifecycle event for it), then with the OpenTelemetry SDK’s `TracerProvider` registered globally, a',
    '`BatchSpanProcessor` and an exporter that drops what it is given (one span and five span events per run, each',
    'run’s span made the active context while it executes).',
  ].join(' '),
  metrics: [
    { key: 'usPerStep', label: 'µs / step', better: 'lower', digits: 3 },
    { key: 'cpuUsPerStep', label: 'CPU µs / step', better: 'lower', digits: 3 },
  ],
  primaryMetric: 'usPerStep',
  floor: 'no-bridge',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [{ id: '10-steps', label: '10 steps', params: { steps: 10, minRepetitionMs: 2 } }]
      : [{ id: '100-steps', label: '100 steps', params: { steps: 100, minRepetitionMs: 250 } }],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 3, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 180_000),
  subjects: [
    subject('no-bridge', 'tinyllm Chain, nothing listening (floor)', 'floor', noBridge),
    subject('empty-listener', 'an empty onLifecycleEvent listener', 'tinyllm', emptyListener),
    subject('bridge-no-tracer', 'with RunTracer, no tracer provider registered', 'tinyllm', bridgeWithoutTracer),
    subject('bridge-tracer', 'with RunTracer and the OpenTelemetry SDK registered', 'tinyllm', bridgeWithTracer),
  ],
})
