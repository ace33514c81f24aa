import type { BenchSize, Measurement } from './scenario.ts'

/** What the parent asks one fresh child process to measure. */
export interface SubjectJob {
  readonly scenarioId: string
  readonly subjectId: string
  readonly caseId: string
  readonly size: BenchSize
  /** Where a subject may write a heap snapshot or other artefacts, when profiling. */
  readonly artefactDirectory?: string
}

/** The one message a measuring child sends back before it exits. */
export type SubjectMessage =
  | { readonly type: 'measurement'; readonly measurement: Measurement; readonly peakRssBytes: number }
  | { readonly type: 'error'; readonly message: string }
