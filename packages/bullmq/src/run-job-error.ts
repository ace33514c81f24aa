import { brandError, safeStringify, TinyLLMError } from '@tinyllm/core'

/** The longest reason a RunJobError's message quotes whole. */
const maxReasonLength = 1_000

/**
 * A run's job failed outside the run itself, so there is no typed error of the run to report: BullMQ gave up on it
 * (it stalled more often than `maxStalledCount` allows, say), the job under the run id belongs to another graph, or its
 * data is not a run's (another program queued it).
 */
export class RunJobError extends TinyLLMError {
  override readonly name = 'RunJobError'
  declare static isInstance: (error: unknown) => error is RunJobError
  /** The run's id (the job's id). */
  readonly runId: string
  /** What BullMQ or the check recorded. */
  readonly reason: string

  constructor(options: { runId: string; reason: string; functionName?: string | undefined }) {
    super({
      // What BullMQ recorded may be anything another program wrote: quoted cut past 1,000 characters, its secrets
      // replaced before the cut, as every tinyllm error keeps what it quotes short. `reason` keeps it whole.
      message: `${options.functionName ?? 'run'}: the job of run ${options.runId} failed: ${options.reason.length <= maxReasonLength ? options.reason : safeStringify(options.reason, maxReasonLength)}`,
      functionName: options.functionName,
    })
    this.runId = options.runId
    this.reason = options.reason
  }
}
brandError(RunJobError, 'RunJobError')
