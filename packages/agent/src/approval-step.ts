import { Function, type RunContext } from '@tinyllm/core'
import type { ApprovalDecision } from './agent-outcome.js'

/** What the approval step of one tool call records. */
export interface ApprovalRecord {
  readonly toolCallId: string
  readonly toolName: string
  /** The model's arguments, as the person saw them. */
  readonly arguments: unknown
  readonly decision: ApprovalDecision
}

/**
 * @internal The step that records a person's decision on one tool call, as a child run of the agent (kind
 * `approval`): durable, so a re-run of the same run id replays the decision — and refuses, with a NonDeterminismError,
 * a different decision on a call that was already decided.
 */
export class ApprovalStep extends Function<ApprovalRecord, ApprovalDecision> {
  override readonly kind: string = 'approval'

  constructor() {
    super({ name: 'approval', durable: true })
  }

  run(record: ApprovalRecord, context: RunContext): ApprovalDecision {
    context.annotate('tool', record.toolName)
    context.annotate('approved', record.decision.approved)
    return record.decision
  }
}
