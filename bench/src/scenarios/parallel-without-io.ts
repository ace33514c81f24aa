import { assertEqual, timeIterations } from '../harness/measure.ts'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'

/** Parameters of one case: how many branches run side by side. */
export interface ParallelParams {
  readonly branches: number
  readonly minRepetitionMs: number
}

/** Builds the fan-out once; returns one invocation, which resolves with the sum of every branch's output. */
type FanOutFactory = (branches: number) => Promise<() => Promise<number>>

/** Every branch adds 1 to its index, so the outputs sum to n(n + 1) / 2. */
const expectedSum = (branches: number): number => (branches * (branches + 1)) / 2

const sum = (values: Iterable<number>): number => {
  let total = 0
  for (const value of values) total += value
  return total
}

function subject(
  id: string,
  label: string,
  group: SubjectDefinition<ParallelParams>['group'],
  build: FanOutFactory,
): SubjectDefinition<ParallelParams> {
  return {
    id,
    label,
    group,
    async measure(params: ParallelParams, plan: RepetitionPlan): Promise<Measurement> {
      const fanOut = await build(params.branches)
      assertEqual(await fanOut(), expectedSum(params.branches), `${label}: sum of branch outputs`)
      const timed = await timeIterations({ plan, minRepetitionMs: params.minRepetitionMs, iteration: fanOut })
      return {
        metrics: {
          usPerBranch: timed.msPerIteration.map((ms) => (ms * 1000) / params.branches),
          cpuUsPerBranch: timed.cpuMsPerIteration.map((ms) => (ms * 1000) / params.branches),
        },
        details: { 'fan-outs per repetition': timed.iterationsPerRepetition },
      }
    },
  }
}

const inputsOf = (branches: number): number[] => Array.from({ length: branches }, (_, index) => index)

const promiseAll: FanOutFactory = async (branches) => {
  const inputs = inputsOf(branches)
  const branch = async (value: number): Promise<number> => value + 1
  return async () => sum(await Promise.all(inputs.map(branch)))
}

const tinyllmMap =
  (concurrency: number | undefined, defaults = false): FanOutFactory =>
  async (branches) => {
    const { defineFunction } = await import('@tinyllm/core')
    const { Parallel } = await import('@tinyllm/flow')
    const { z } = await import('zod')
    const branch = defaults
      ? defineFunction({ name: 'branch', input: z.number(), output: z.number(), run: (value) => value + 1 })
      : defineFunction({ name: 'branch', run: (value: number) => value + 1 })
    const parallel = new Parallel({
      name: 'fan-out',
      map: branch,
      ...(concurrency === undefined ? {} : { concurrency }),
    })
    const inputs = inputsOf(branches)
    if (!defaults) return async () => sum(await parallel.invoke(inputs))
    let events = 0
    const onEvent = (): void => {
      events += 1
    }
    return async () => {
      const record = await parallel.trace(inputs, { onEvent })
      if (record.children.length !== branches || events === 0) throw new Error('the trace is incomplete')
      return sum(record.output as number[])
    }
  }

const tinyllmChildren: FanOutFactory = async (branches) => {
  const { defineFunction } = await import('@tinyllm/core')
  const { Parallel } = await import('@tinyllm/flow')
  const children: Record<string, ReturnType<typeof defineFunction<undefined, undefined, number, number>>> = {}
  for (let index = 0; index < branches; index++) {
    // Like RunnableParallel: every child gets the same input, so each adds its own offset.
    children[`branch-${index}`] = defineFunction({ name: `branch-${index}`, run: (value: number) => value + index + 1 })
  }
  const parallel = new Parallel({ name: 'fan-out', children })
  return async () => sum(Object.values(await parallel.invoke(0)))
}

const langchainParallel: FanOutFactory = async (branches) => {
  const { RunnableLambda, RunnableParallel } = await import('@langchain/core/runnables')
  const steps: Record<string, InstanceType<typeof RunnableLambda<number, number>>> = {}
  for (let index = 0; index < branches; index++) {
    // Every branch of a RunnableParallel receives the same input: offset by the branch's index to sum like the rest.
    steps[`branch-${index}`] = RunnableLambda.from((value: number) => value + index + 1)
  }
  const parallel = RunnableParallel.from(steps)
  return async () => sum(Object.values(await parallel.invoke(0)) as number[])
}

const langchainBatch =
  (maxConcurrency: number | undefined): FanOutFactory =>
  async (branches) => {
    const { RunnableLambda } = await import('@langchain/core/runnables')
    const branch = RunnableLambda.from((value: number) => value + 1)
    const inputs = inputsOf(branches)
    const options = maxConcurrency === undefined ? undefined : { maxConcurrency }
    return async () => sum(await branch.batch(inputs, options))
  }

/** Scenario 2: what one branch of a fan-out costs when the branches do no I/O. */
export const parallelWithoutIo = defineScenario<ParallelParams>({
  id: 'parallel-without-io',
  title: 'Parallel without I/O',
  method: [
    'N branches, each adding 1 to a number, run side by side and joined (the outputs are summed and checked), as',
    'often as fills a repetition of ≥ 250 ms; the figure is the repetition time ÷ (fan-outs × N).',
    'Floor: `Promise.all(inputs.map(async branch))`. tinyllm: `Parallel` in its map form (one `defineFunction` over N',
    'inputs), unbounded and at `concurrency: 256`, and with N named children on one input. LangChain.js: `RunnableParallel.from` with N named `RunnableLambda`',
    'branches (its shape: every branch gets the same input), and `RunnableLambda.batch` over N inputs, unbounded',
    "(LangChain's default) and at `maxConcurrency: 256`. tinyllm is also measured in the modes an app runs (zod",
    'schemas on the branch, `trace`, an `onEvent` listener), and at 100,000 branches (without the peers) to show how',
    'its cost per branch scales. Subjects take turns, one repetition each (A B A B …).',
  ].join(' '),
  metrics: [
    { key: 'usPerBranch', label: 'µs / branch', better: 'lower', digits: 3 },
    { key: 'cpuUsPerBranch', label: 'CPU µs / branch', better: 'lower', digits: 3 },
  ],
  primaryMetric: 'usPerBranch',
  floor: 'promise-all',
  reference: 'tinyllm-unbounded',
  cases: (size: BenchSize) =>
    size === 'smoke'
      ? [{ id: '20-branches', label: '20 branches', params: { branches: 20, minRepetitionMs: 2 } }]
      : [
          { id: '10000-branches', label: '10,000 branches', params: { branches: 10_000, minRepetitionMs: 250 } },
          { id: '100000-branches', label: '100,000 branches', params: { branches: 100_000, minRepetitionMs: 250 } },
        ],
  plan: (size) => (size === 'smoke' ? { warmup: 1, repetitions: 2 } : { warmup: 3, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 60_000 : 180_000),
  subjects: [
    subject('promise-all', 'Promise.all (floor)', 'floor', promiseAll),
    subject('tinyllm-unbounded', 'tinyllm Parallel map, unbounded', 'tinyllm', tinyllmMap(undefined)),
    {
      ...subject('tinyllm-256', 'tinyllm Parallel map, concurrency 256', 'tinyllm', tinyllmMap(256)),
      compareTo: 'tinyllm-256',
    },
    {
      ...subject(
        'tinyllm-defaults',
        'tinyllm Parallel map, unbounded, zod + trace + onEvent listener',
        'tinyllm',
        tinyllmMap(undefined, true),
      ),
      compareTo: 'tinyllm-defaults',
    },
    {
      ...subject('tinyllm-children', 'tinyllm Parallel of N children', 'tinyllm', tinyllmChildren),
      compareTo: 'tinyllm-children',
      appliesTo: few,
    },
    {
      ...subject('langchain-parallel', 'LangChain.js RunnableParallel of N children', 'peer', langchainParallel),
      compareTo: 'tinyllm-children',
      appliesTo: few,
    },
    {
      ...subject('langchain-batch', 'LangChain.js RunnableLambda.batch, unbounded', 'peer', langchainBatch(undefined)),
      appliesTo: few,
    },
    {
      ...subject(
        'langchain-batch-256',
        'LangChain.js RunnableLambda.batch, maxConcurrency 256',
        'peer',
        langchainBatch(256),
      ),
      compareTo: 'tinyllm-256',
      appliesTo: few,
    },
  ],
})

/** The peers and the named children run at 10,000 branches. */
function few(params: ParallelParams): boolean {
  return params.branches <= 10_000
}
