import { brandError, safeStringify, TinyLLMError } from '@tinyllm/core'
import type { PendingApproval } from './agent-outcome.js'

/** The most pending calls the error names: a turn of thousands of calls is told as a count past them. */
const maxNamed = 20

/**
 * An agent run as a tool (through {@link asTool}) paused for a person's approval: a call made inside a tool cannot
 * wait for one, so the calls that needed it were not run, and the tool's call fails with this error — told to the
 * model like any tool's failure, or failing the run with `onToolError: 'fail'`. Give the approval rule to the tool
 * that offers the agent (`asTool(agent, { needsApproval })`) to ask before the agent runs.
 */
export class NestedApprovalError extends TinyLLMError {
  override readonly name = 'NestedApprovalError'
  declare static isInstance: (error: unknown) => error is NestedApprovalError
  /** The calls the agent paused for (the first 20): their tool call ids and tool names. */
  readonly approvals: ReadonlyArray<{ readonly toolCallId: string; readonly toolName: string }>
  /** How many calls the agent paused for, the ones past the first 20 included. */
  readonly pending: number

  constructor(options: { approvals: ReadonlyArray<PendingApproval>; functionName: string }) {
    const named = options.approvals.slice(0, maxNamed)
    const calls = named
      .map((approval) => `${approval.toolName} (call ${safeStringify(approval.toolCallId, 100)})`)
      .join(', ')
    const more = options.approvals.length - named.length
    super({
      message: `${options.functionName}: paused for a person's approval of ${calls}${more > 0 ? ` and ${more} more calls` : ''}, which a call made inside a tool cannot wait for, so it was not run; give needsApproval to the tool that offers the agent instead`,
      functionName: options.functionName,
      state: 'running',
    })
    this.approvals = named.map(({ toolCallId, toolName }) => ({ toolCallId, toolName }))
    this.pending = options.approvals.length
  }
}
brandError(NestedApprovalError, 'NestedApprovalError')
