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
 * a different decision on a call that was already decided. The decision is its input, which a journal keeps as a
 * digest however large it is; its output is only whether the call was approved, so that edited arguments or a reason
 * as large as a decision may hold are journaled too (an output is kept whole, up to 1 MiB).
 */
export class ApprovalStep extends Function<ApprovalRecord, { readonly approved: boolean }> {
  override readonly kind: string = 'approval'

  constructor() {
    super({ name: 'approval', durable: true })
  }

  run(record: ApprovalRecord, context: RunContext): { readonly approved: boolean } {
    context.annotate('tool', record.toolName)
    context.annotate('approved', record.decision.approved)
    return { approved: record.decision.approved }
  }
}

/** The calls of one turn that wait for a person's decision, as they were shown. */
export interface ApprovalRequest {
  readonly calls: ReadonlyArray<{ readonly toolCallId: string; readonly toolName: string; readonly arguments: unknown }>
}

/**
 * @internal The step that records, when a run pauses, the calls of the turn a person is asked to decide on (kind
 * `approval-request`): durable, so that a re-run of the same run id knows the calls it replays were shown, and takes
 * the decisions given for them. It runs only where nothing was journaled: `onShown` hears that the calls are being
 * shown for the first time, so a decision given under their ids was made for other calls, and does not answer them.
 */
export class ApprovalRequestStep extends Function<ApprovalRequest, number> {
  override readonly kind: string = 'approval-request'

  constructor(private readonly onShown: () => void) {
    super({ name: 'approval-request', durable: true })
  }

  run(request: ApprovalRequest): number {
    this.onShown()
    return request.calls.length
  }
}

/**
 * @internal A person's decision as the run records and acts on it: only what the agent reads, in one order, the keys
 * of edited arguments sorted. So the same decision read back from a store that orders keys its own way (a JSON column)
 * replays on a re-run, instead of being taken for another decision.
 */
export function recordedDecision(decision: ApprovalDecision): ApprovalDecision {
  if (!decision.approved) {
    return decision.reason === undefined ? { approved: false } : { approved: false, reason: decision.reason }
  }
  return decision.arguments === undefined
    ? { approved: true }
    : { approved: true, arguments: sortedKeys(decision.arguments) as Record<string, unknown> }
}

/** A JSON value with the keys of every object in sorted order (`fromEntries` keeps a `__proto__` key a key). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (typeof value !== 'object' || value === null) return value
  const object = value as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(object)
      .sort()
      .map((key) => [key, sortedKeys(object[key])]),
  )
}
