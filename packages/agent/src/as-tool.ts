import {
  checkKnownOptions,
  type FunctionNode,
  type Invocable,
  optionError,
  type RunContext,
  type StandardSchemaV1,
} from '@tinyllm/core'
import { Agent } from './agent.js'
import type { AgentOutcome } from './agent-outcome.js'
import { NestedApprovalError } from './nested-approval-error.js'
import { readingOptions, Tool, type ToolDescription } from './tool.js'

/** A Function to offer as a tool, as {@link asTool} takes it. */
export interface ToolTarget<Input, Output> extends Invocable<Input, Output> {
  readonly name: string
  readonly inputSchema: StandardSchemaV1 | undefined
  /** The Function's own total limit: the tool's, so that an agent's `toolTimeoutMs` does not replace it. */
  readonly timeoutMs?: number | undefined
  describe(): FunctionNode
}

/** Options of {@link asTool}: the description, and optionally another name or input schema. */
export interface AsToolOptions<Input> extends ToolDescription<Input> {
  /** The tool's name, for the model; default the Function's. */
  readonly name?: string
  /** The arguments' schema; default the Function's input schema. */
  readonly input?: StandardSchemaV1
  /** Journal the result and replay it on a re-run. Default true, as for {@link defineTool}. */
  readonly durable?: boolean
}

/**
 * Offers any Function — a Chain, a Decision, an LLMCall, an Agent, one of your own — to a model as a tool. The tool is
 * a run of its own (kind `tool`) with the Function as its child, so the run tree shows both the call and what it ran.
 * The Function's own limits hold: its `timeoutMs` is the tool's (an agent's `toolTimeoutMs` applies to a Function
 * without one). An agent that pauses for approval fails the call with a {@link NestedApprovalError}: a call made
 * inside a tool cannot wait for a person.
 *
 * @example
 * const summarise = asTool(summaryChain, { description: 'Summarises a document given its text' })
 */
export function asTool<Input, Output>(
  target: ToolTarget<Input, Output>,
  options: AsToolOptions<Input>,
): Tool<Input, Output> {
  // An option it does not know is refused, not ignored: a misspelt `needsApproval` would run the tool unasked.
  readingOptions(() => {
    // What it runs and draws is the target's `invoke` and `describe`: anything without them fails here, not at a call.
    const candidate = target as Partial<ToolTarget<Input, Output>> | null | undefined
    if (typeof candidate?.invoke !== 'function' || typeof candidate.describe !== 'function')
      throw optionError('target', 'a Function (with invoke and describe)', target, 'asTool')
    checkKnownOptions(options, asToolOptionKeys, typeof options?.name === 'string' ? options.name : target.name)
  }, 'asTool')
  return new FunctionTool(target, options)
}

const asToolOptionKeys: ReadonlySet<string> = new Set([
  'description',
  'needsApproval',
  'strict',
  'parameters',
  'name',
  'input',
  'durable',
])

class FunctionTool<Input, Output> extends Tool<Input, Output> {
  private readonly target: ToolTarget<Input, Output>

  constructor(target: ToolTarget<Input, Output>, options: AsToolOptions<Input>) {
    super(
      readingOptions(
        () => ({
          ...options,
          name: options.name ?? target.name,
          input: (options.input ?? target.inputSchema) as StandardSchemaV1,
          durable: options.durable ?? true,
          ...(target.timeoutMs === undefined ? {} : { timeoutMs: target.timeoutMs }),
        }),
        'asTool',
      ),
    )
    this.target = target
  }

  async run(arguments_: Input, context: RunContext): Promise<Output> {
    const output = await context.invoke(this.target, arguments_)
    // A paused outcome handed to the model as the call's result would read as an answer, and nothing would resume it.
    const outcome = output as AgentOutcome<unknown>
    if (this.target instanceof Agent && outcome.status === 'awaiting-approval')
      throw new NestedApprovalError({ approvals: outcome.approvals, functionName: this.target.name })
    return output
  }

  override describe(): FunctionNode {
    return { kind: this.kind, name: this.name, layout: 'sequence', children: [this.target.describe()] }
  }
}
