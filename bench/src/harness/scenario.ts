/** `full` is the published run; `smoke` is a tiny run that only proves every subject works (CI). */
export type BenchSize = 'full' | 'smoke'

/** How many repetitions a subject runs before measuring (warm-up) and while measuring. */
export interface RepetitionPlan {
  readonly warmup: number
  readonly repetitions: number
}

/** One number a scenario reports per repetition. */
export interface MetricDefinition {
  readonly key: string
  /** Column header, e.g. `µs / step`. */
  readonly label: string
  /** Whether a smaller value is better (time, bytes) or a larger one (throughput). */
  readonly better: 'lower' | 'higher'
  /** Decimal places in the report. */
  readonly digits: number
}

/** What a subject measured in its child process: one value per measured repetition for each metric. */
export interface Measurement {
  readonly metrics: Readonly<Record<string, readonly number[]>>
  /** Facts worth printing beside the numbers: iterations per repetition, bundle bytes before gzip… */
  readonly details?: Readonly<Record<string, string | number>>
}

/** Who a subject is: the floor (plain code, the best possible), tinyllm, or a peer library. */
export type SubjectGroup = 'floor' | 'tinyllm' | 'peer'

/** One implementation of a scenario: plain code, tinyllm, or a peer. */
export interface SubjectDefinition<Params> {
  readonly id: string
  /** Shown in the report, e.g. `LangChain.js RunnableSequence`. */
  readonly label: string
  readonly group: SubjectGroup
  /** Id of the tinyllm subject this one's "× tinyllm" ratio is taken against; default: the scenario's reference. */
  readonly compareTo?: string
  /** Whether this subject runs in a case (default: every case), e.g. a peer measured at one size only. */
  readonly appliesTo?: (params: Params) => boolean
  /** Extra Node.js flags for the child process that measures this subject. */
  readonly nodeOptions?: readonly string[]
  /** Runs inside a fresh child process: sets up, warms up, measures, tears down. */
  measure(params: Params, plan: RepetitionPlan): Promise<Measurement>
}

/** One size or variant of a scenario, e.g. a Chain of 1,000 steps. */
export interface ScenarioCase<Params> {
  readonly id: string
  readonly label: string
  readonly params: Params
}

/** A benchmark scenario: what is measured, at which sizes, by which subjects. */
export interface ScenarioDefinition<Params> {
  readonly id: string
  readonly title: string
  /** Markdown: what is measured and how, printed above the scenario's table. */
  readonly method: string
  readonly metrics: readonly MetricDefinition[]
  /** The metric the ratios are computed on. */
  readonly primaryMetric: string
  /** Id of the floor subject ("× floor" column), if the scenario has one. */
  readonly floor?: string
  /** Id of the tinyllm subject the "× tinyllm" column divides by. */
  readonly reference?: string
  cases(size: BenchSize): readonly ScenarioCase<Params>[]
  plan(size: BenchSize): RepetitionPlan
  /**
   * How long one turn of a subject (its set-up and warm-up, or one measured repetition) may take before its process is
   * killed and it is reported as failed.
   */
  timeoutMs(size: BenchSize): number
  readonly subjects: readonly SubjectDefinition<Params>[]
}

/** Any scenario, its parameters erased: what the registry and the runner handle. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds scenarios of different parameter types.
export type AnyScenario = ScenarioDefinition<any>

/** Type helper: keeps the parameter type of a scenario's cases and subjects tied together. */
export function defineScenario<Params>(scenario: ScenarioDefinition<Params>): ScenarioDefinition<Params> {
  return scenario
}
