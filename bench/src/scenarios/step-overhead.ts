import { assertEqual, timeIterations } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'

/** Parameters of one case: how many no-op steps the chain has. */
export interface StepOverheadParams {
  readonly steps: number
  /** One repetition lasts at least this long (it runs the whole chain as often as needed). */
  readonly minRepetitionMs: number
}

/** Builds the chain once, returns one invocation of it from 0 (every step adds 1, so it must end at `steps`). */
export type ChainFactory = (steps: number) => Promise<(input: number) => Promise<number>>

/** A subject timing a chain of no-op steps per step (wall and CPU); the OpenTelemetry bridge scenario uses it too. */
export function chainSubject(
  id: string,
  label: string,
  group: SubjectDefinition<StepOverheadParams>['group'],
  build: ChainFactory,
): SubjectDefinition<StepOverheadParams> {
  return {
    id,
    label,
    group,
    async measure(params: StepOverheadParams, plan: RepetitionPlan): Promise<Measurement> {
      const invoke = await build(params.steps)
      assertEqual(await invoke(0), params.steps, `${label}: chain output`)
      const timed = await timeIterations({
        plan,
        minRepetitionMs: params.minRepetitionMs,
        iteration: () => invoke(0),
      })
      assertEqual(await invoke(0), params.steps, `${label}: chain output after timing`)
      return {
        metrics: {
          usPerStep: timed.msPerIteration.map((ms) => (ms * 1000) / params.steps),
          cpuUsPerStep: timed.cpuMsPerIteration.map((ms) => (ms * 1000) / params.steps),
        },
        details: { 'chain runs per repetition': timed.iterationsPerRepetition },
      }
    },
  }
}

const plainLoop: ChainFactory = async (steps) => {
  const functions = Array.from({ length: steps }, () => async (value: number) => value + 1)
  return async (input) => {
    let value = input
    for (const step of functions) value = await step(value)
    return value
  }
}

interface ChainMode {
  /** zod `z.number()` input and output schemas on every step. */
  readonly zod: boolean
  /** `trace` (the run records itself and every step) instead of `invoke`. */
  readonly trace: boolean
  /** An `onEvent` listener on the run: lifecycle events are built for it. */
  readonly listener: boolean
}

const tinyllmChain =
  ({ zod, trace, listener }: ChainMode): ChainFactory =>
  async (steps) => {
    const { defineFunction } = await import('@tinyllm/core')
    const { Chain } = await import('@tinyllm/flow')
    const { z } = await import('zod')
    const functions = Array.from({ length: steps }, (_, index) =>
      zod
        ? defineFunction({
            name: `step-${index}`,
            input: z.number(),
            output: z.number(),
            run: (value) => value + 1,
          })
        : defineFunction({ name: `step-${index}`, run: (value: number) => value + 1 }),
    )
    const chain = new Chain({ name: 'chain', children: functions })
    let events = 0
    const options = listener
      ? {
          onEvent: () => {
            events += 1
          },
        }
      : undefined
    if (!trace) return (input) => chain.invoke(input, options)
    return async (input) => {
      const record = await chain.trace(input, options)
      if (record.children.length !== steps || (listener && events === 0)) throw new Error('the trace is incomplete')
      return record.output as number
    }
  }

const langchainSequence: ChainFactory = async (steps) => {
  const { RunnableLambda, RunnableSequence } = await import('@langchain/core/runnables')
  if (steps < 2) throw new Error('a RunnableSequence needs at least two steps')
  const step = () => RunnableLambda.from((value: number) => value + 1)
  const middle = Array.from({ length: steps - 2 }, step)
  const sequence = RunnableSequence.from([step(), ...middle, step()])
  return (input) => sequence.invoke(input)
}

const langgraphStateGraph: ChainFactory = async (steps) => {
  const { Annotation, END, START, StateGraph } = await import('@langchain/langgraph')
  const State = Annotation.Root({ value: Annotation<number>() })
  // Node names are data here, so the builder's literal-typed node names are erased to string.
  const graph = new StateGraph(State) as unknown as LooseStateGraph
  let previous: string = START
  for (let index = 0; index < steps; index++) {
    const name = `step-${index}`
    graph.addNode(name, (state: { value: number }) => ({ value: state.value + 1 }))
    graph.addEdge(previous, name)
    previous = name
  }
  graph.addEdge(previous, END)
  const app = graph.compile()
  // LangGraph counts every super-step against recursionLimit (default 25): a chain of N nodes needs N.
  const config = { recursionLimit: steps + 1 }
  return async (input) => ((await app.invoke({ value: input }, config)) as { value: number }).value
}

/**
 * The floor for records: the plain loop, keeping per step a record shaped like a tinyllm trace's (six state entries
 * with a timestamp each, a list of children, annotations) until the run ends. Retaining anything per step costs more
 * per step as the graph grows (the garbage collector copies and marks what is kept); this says how much of that is the
 * keeping itself.
 */
const plainLoopWithRecords: ChainFactory = async (steps) => {
  const functions = Array.from({ length: steps }, () => async (value: number) => value + 1)
  const clock = (): number => performance.timeOrigin + performance.now()
  return async (input) => {
    const children: PlainRecord[] = []
    const root = plainRecord('run-1', undefined, 'chain', input, clock())
    root.children = children
    let value = input
    for (let index = 0; index < steps; index++) {
      const record = plainRecord(`run-1/step-${index}#1`, root.runId, `step-${index}`, value, clock())
      children.push(record)
      for (const state of ['input_validation', 'running', 'output_validation', 'processing_output'])
        record.states.push({ state, at: clock(), attempt: 1 })
      value = await (functions[index] as (value: number) => Promise<number>)(value)
      endRecord(record, clock(), value)
    }
    endRecord(root, clock(), value)
    if (root.children.length !== steps) throw new Error('the records are incomplete')
    return value
  }
}

interface PlainRecord {
  readonly runId: string
  readonly parentRunId: string | undefined
  readonly function: string
  readonly input: unknown
  status: string
  readonly states: { state: string; at: number; attempt: number }[]
  attempts: number
  readonly startedAt: number
  endedAt: number | undefined
  durationMs: number | undefined
  readonly annotations: Record<string, unknown>
  children: PlainRecord[]
  output: unknown
}

function plainRecord(
  runId: string,
  parentRunId: string | undefined,
  name: string,
  input: unknown,
  at: number,
): PlainRecord {
  return {
    runId,
    parentRunId,
    function: name,
    input,
    status: 'running',
    states: [{ state: 'init', at, attempt: 0 }],
    attempts: 0,
    startedAt: at,
    endedAt: undefined,
    durationMs: undefined,
    annotations: {},
    children: [],
    output: undefined,
  }
}

function endRecord(record: PlainRecord, at: number, output: unknown): void {
  record.states.push({ state: 'complete', at, attempt: 1 })
  record.status = 'complete'
  record.attempts = 1
  record.endedAt = at
  record.durationMs = at - record.startedAt
  record.output = output
}

interface LooseStateGraph {
  addNode(name: string, run: (state: { value: number }) => { value: number }): unknown
  addEdge(from: string, to: string): unknown
  compile(): { invoke(input: { value: number }, config: { recursionLimit: number }): Promise<unknown> }
}

/** Scenario 1: what one step of a chain costs, over a plain loop of awaits. */
export const stepOverhead = defineScenario<StepOverheadParams>({
  id: 'step-overhead',
  title: 'Step overhead',
  method: [
    'A chain of N no-op steps (each adds 1 to a number; the output is checked to be N) invoked from 0, sequentially,',
    'as many times as fills a repetition of ≥ 250 ms; the figure is the repetition time ÷ (runs × N). Subjects take',
    'turns, one repetition each (A B A B …). Floor: a plain `for` loop awaiting N async functions. tinyllm: `Chain` of',
    '`defineFunction` steps — the cheapest (`invoke`, no schemas), with zod `z.number()` input and output schemas on',
    'every step, recorded (`trace`), and in the modes an app runs: zod schemas, `trace` and an `onEvent` listener',
    'together. LangChain.js: `RunnableSequence.from` of',
    '`RunnableLambda`s. LangGraph.js: `StateGraph` with one `Annotation` channel and N nodes in a line',
    '(`recursionLimit` raised to N + 1: it counts super-steps, default 25), measured at 10 and 1,000 steps (at 10,000',
    'a LangGraph run takes seconds). No callbacks, tracing or checkpointer for the peers. A second floor keeps, per',
    "step, a record shaped like a trace's (six state entries with timestamps, children, annotations) until the run",
    'ends: what retaining records costs in plain code, beside which `trace` is compared.',
  ].join(' '),
  metrics: [
    { key: 'usPerStep', label: 'µs / step', better: 'lower', digits: 3 },
    { key: 'cpuUsPerStep', label: 'CPU µs / step', better: 'lower', digits: 3 },
  ],
  primaryMetric: 'usPerStep',
  floor: 'plain-loop',
  reference: 'tinyllm',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [{ id: '10-steps', label: '10 steps', params: { steps: 10, minRepetitionMs: 2 } }]
      : [
          { id: '10-steps', label: '10 steps', params: { steps: 10, minRepetitionMs: 250 } },
          { id: '1000-steps', label: '1,000 steps', params: { steps: 1000, minRepetitionMs: 250 } },
          { id: '10000-steps', label: '10,000 steps', params: { steps: 10_000, minRepetitionMs: 250 } },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 3, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 60_000 : 180_000),
  subjects: [
    chainSubject('plain-loop', 'plain loop of awaits (floor)', 'floor', plainLoop),
    {
      ...chainSubject(
        'plain-loop-records',
        'plain loop keeping a record per step (floor for trace)',
        'floor',
        plainLoopWithRecords,
      ),
      compareTo: 'tinyllm-trace',
    },
    chainSubject(
      'tinyllm',
      'tinyllm Chain, no schemas',
      'tinyllm',
      tinyllmChain({ zod: false, trace: false, listener: false }),
    ),
    {
      ...chainSubject(
        'tinyllm-zod',
        'tinyllm Chain, zod input + output schemas',
        'tinyllm',
        tinyllmChain({ zod: true, trace: false, listener: false }),
      ),
      compareTo: 'tinyllm-zod',
    },
    {
      ...chainSubject(
        'tinyllm-trace',
        'tinyllm Chain, trace',
        'tinyllm',
        tinyllmChain({ zod: false, trace: true, listener: false }),
      ),
      compareTo: 'tinyllm-trace',
    },
    {
      ...chainSubject(
        'tinyllm-defaults',
        'tinyllm Chain, zod schemas + trace + onEvent listener',
        'tinyllm',
        tinyllmChain({ zod: true, trace: true, listener: true }),
      ),
      compareTo: 'tinyllm-defaults',
    },
    {
      ...chainSubject('langchain', 'LangChain.js RunnableSequence of RunnableLambda', 'peer', langchainSequence),
      appliesTo: few,
    },
    {
      ...chainSubject('langgraph', 'LangGraph.js StateGraph, one node per step', 'peer', langgraphStateGraph),
      appliesTo: few,
    },
  ],
})

/** The peers run at 10 and 1,000 steps. */
function few(params: StepOverheadParams): boolean {
  return params.steps <= 1000
}
