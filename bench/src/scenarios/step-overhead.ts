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
type ChainFactory = (steps: number) => Promise<(input: number) => Promise<number>>

function subject(
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
        metrics: { usPerStep: timed.msPerIteration.map((ms) => (ms * 1000) / params.steps) },
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

const tinyllmChain =
  (withSchemas: boolean): ChainFactory =>
  async (steps) => {
    const { defineFunction } = await import('@tinyllm/core')
    const { Chain } = await import('@tinyllm/flow')
    const { z } = await import('zod')
    const functions = Array.from({ length: steps }, (_, index) =>
      withSchemas
        ? defineFunction({
            name: `step-${index}`,
            input: z.number(),
            output: z.number(),
            run: (value) => value + 1,
          })
        : defineFunction({ name: `step-${index}`, run: (value: number) => value + 1 }),
    )
    const chain = new Chain({ name: 'chain', children: functions })
    return (input) => chain.invoke(input)
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
    'as many times as fills a repetition of ≥ 250 ms; the figure is the repetition time ÷ (runs × N).',
    'Floor: a plain `for` loop awaiting N async functions. tinyllm: `Chain` of `defineFunction` steps, without and',
    'with zod `z.number()` input and output schemas on every step. LangChain.js: `RunnableSequence.from` of',
    '`RunnableLambda`s. LangGraph.js: `StateGraph` with one `Annotation` channel and N nodes in a line',
    '(`recursionLimit` raised to N + 1: it counts super-steps, default 25). No callbacks, tracing or checkpointer.',
  ].join(' '),
  metrics: [{ key: 'usPerStep', label: 'µs / step', better: 'lower', digits: 3 }],
  primaryMetric: 'usPerStep',
  floor: 'plain-loop',
  reference: 'tinyllm',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [{ id: '10-steps', label: '10 steps', params: { steps: 10, minRepetitionMs: 2 } }]
      : [
          { id: '1000-steps', label: '1,000 steps', params: { steps: 1000, minRepetitionMs: 250 } },
          { id: '10-steps', label: '10 steps', params: { steps: 10, minRepetitionMs: 250 } },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 3, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 180_000),
  subjects: [
    subject('plain-loop', 'plain loop of awaits (floor)', 'floor', plainLoop),
    subject('tinyllm', 'tinyllm Chain, no schemas', 'tinyllm', tinyllmChain(false)),
    subject('tinyllm-zod', 'tinyllm Chain, zod input + output schemas', 'tinyllm', tinyllmChain(true)),
    subject('langchain', 'LangChain.js RunnableSequence of RunnableLambda', 'peer', langchainSequence),
    subject('langgraph', 'LangGraph.js StateGraph, one node per step', 'peer', langgraphStateGraph),
  ],
})
