import type { LoadSnapshot, MachineInfo } from '../harness/machine.ts'
import type { BenchSize, MetricDefinition, RepetitionPlan, SubjectGroup } from '../harness/scenario.ts'
import type { Summary } from '../harness/statistics.ts'

/** Everything one `pnpm bench` run measured: the content of `bench/results/latest.json`. */
export interface BenchResults {
  readonly formatVersion: 1
  readonly size: BenchSize
  readonly startedAt: string
  readonly finishedAt: string
  readonly machine: MachineInfo
  readonly loadBefore: LoadSnapshot
  readonly loadAfter: LoadSnapshot
  /** `git rev-parse --short HEAD`, with `-dirty` when the tree had uncommitted changes. */
  readonly commit: string
  /** Version of every library measured, as installed. */
  readonly packageVersions: Readonly<Record<string, string>>
  readonly scenarios: readonly ScenarioResult[]
  readonly targets: readonly TargetResult[]
}

export interface ScenarioResult {
  readonly id: string
  readonly title: string
  readonly method: string
  readonly metrics: readonly MetricDefinition[]
  readonly primaryMetric: string
  readonly floor: string | undefined
  readonly reference: string | undefined
  readonly plan: RepetitionPlan
  readonly cases: readonly CaseResult[]
}

export interface CaseResult {
  readonly id: string
  readonly label: string
  readonly subjects: readonly SubjectResult[]
}

/** One subject of one case, measured in its own process. */
export interface SubjectResult {
  readonly id: string
  readonly label: string
  readonly group: SubjectGroup
  /** The tinyllm subject the "× tinyllm" ratio divides by. */
  readonly compareTo: string | undefined
  readonly status: 'ok' | 'failed'
  /** Why it has no numbers: the failure, with the end of the child's output. */
  readonly message?: string
  /** How long its child process ran, set-up and warm-up included. */
  readonly durationMs: number
  /** 1-minute load average when the subject started and ended: other work on the machine shows here. */
  readonly loadAverage?: { readonly start: number; readonly end: number }
  /** The child's peak RSS over its whole life (`process.resourceUsage().maxRSS`). */
  readonly peakRssBytes?: number
  readonly metrics?: Readonly<Record<string, Summary>>
  readonly details?: Readonly<Record<string, string | number>>
  /** Median of the primary metric ÷ the floor's, and ÷ the tinyllm subject's. */
  readonly ratioToFloor?: number
  readonly ratioToTinyllm?: number
}

/** One of the targets, checked against this run. */
export interface TargetResult {
  readonly target: string
  /** What was measured, in words and numbers. */
  readonly measured: string
  readonly status: 'met' | 'missed' | 'not measured'
}
