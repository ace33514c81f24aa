import {
  BudgetExceededError,
  CancelScope,
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkTimeout,
  Function,
  type FunctionNode,
  type InvokeOptions,
  isPromiseLike,
  NonDeterminismError,
  optionError,
  partNotHandedOut,
  type RunContext,
  type StandardSchemaV1,
  StepLimitError,
  safeStringify,
  TinyLLMError,
  unreadableOption,
  ValidationError,
  Validator,
} from '@tinyllm/core'
import {
  type AssistantMessage,
  type ChatMessage,
  type ChatResult,
  type LLMCall,
  type LLMStreamDelta,
  ProviderCallError,
  streamingOptions,
  streamRun,
  type ToolCall,
  ToolCallError,
  type ToolDefinition,
  type ToolMessage,
  toJsonSchema,
} from '@tinyllm/llm'
import type { AgentEvent, ToolCallStatus } from './agent-event.js'
import { agentInputSchema } from './agent-input.js'
import type {
  AgentAwaitingApproval,
  AgentCompleted,
  AgentInput,
  AgentOutcome,
  ApprovalDecision,
  PendingApproval,
} from './agent-outcome.js'
import type { AgentStream } from './agent-stream.js'
import { ApprovalRequestStep, ApprovalStep, recordedDecision } from './approval-step.js'
import { deeperThan, maxArgumentsDepth } from './arguments-depth.js'
import { CallCounter, callSignature } from './call-counter.js'
import { type AgentTool, checkToolDescription, parametersOf, readingOptions, Tool } from './tool.js'
import { describeToolFailure, jsonSafeResult, toolErrorContent, toolResultContent } from './tool-result.js'

/** Any tool, whatever its arguments and result. */
export type AnyAgentTool = AgentTool<never, unknown>

/** A final-answer tool: the model answers by calling it, and its arguments, validated by `schema`, are the output. */
export interface FinalAnswerOptions<Schema extends StandardSchemaV1> {
  readonly schema: Schema
  /** The tool's name. Default `final_answer`. */
  readonly name?: string
  readonly description?: string
}

/** What to do when a tool call cannot give a result: tell the model (`feed-back`, the default) or fail the run. */
export type ToolErrorPolicy = 'feed-back' | 'fail'

/** Options of an {@link Agent}. */
export interface AgentOptions<Schema extends StandardSchemaV1 = never> {
  /** Shown in errors, logs, events and run trees. */
  readonly name: string
  /**
   * The model of every turn: an LLMCall (`OpenAIChat`, `AnthropicChat`, …) with `output: 'result'`. Its retries, rate
   * limiter, prices and settings apply to each turn.
   */
  readonly model: LLMCall<'result', never>
  /** The tools offered to the model. */
  readonly tools?: ReadonlyArray<AnyAgentTool>
  /** A system message sent first in every turn (not part of the outcome's `messages`). */
  readonly instructions?: string
  /** Ask for a structured answer through a final-answer tool; without it, the answer is the model's last text. */
  readonly finalAnswer?: FinalAnswerOptions<Schema>
  /** Most model turns in one run (a continued run counts the turns before it). Default 10. */
  readonly maxSteps?: number
  /** Most tool calls of one turn running at once. Default 4. */
  readonly toolConcurrency?: number
  /** Limit on each tool call, in ms, for tools without a `timeoutMs` of their own. Default 60,000. */
  readonly toolTimeoutMs?: number
  /**
   * Most times the same tool runs with the same arguments in one conversation. One more such call is not run: the
   * model is told so; after that, the run fails with a StepLimitError. Default 3.
   */
  readonly maxIdenticalCalls?: number
  /** A tool call that cannot give a result: tell the model (`feed-back`, default) or fail the run (`fail`). */
  readonly onToolError?: ToolErrorPolicy
  /** Limit on the whole run, in ms. */
  readonly timeoutMs?: number
}

/** The output of an agent: the model's text, or the final answer's type. */
export type AgentOutput<Schema extends StandardSchemaV1> = [Schema] extends [never]
  ? string
  : StandardSchemaV1.InferOutput<Schema>

const agentOptionKeys: ReadonlySet<string> = new Set([
  'name',
  'model',
  'tools',
  'instructions',
  'finalAnswer',
  'maxSteps',
  'toolConcurrency',
  'toolTimeoutMs',
  'maxIdenticalCalls',
  'onToolError',
  'timeoutMs',
])

const finalAnswerKeys: ReadonlySet<string> = new Set(['schema', 'name', 'description'])

/** One tool as the agent offers it. */
interface OfferedTool {
  readonly tool: AnyAgentTool
  readonly needsApproval: AgentTool<unknown, unknown>['needsApproval']
  /** Checks a call's arguments before a `needsApproval` function reads them: it is written for the tool's input. */
  readonly input: Validator | undefined
}

/** The final-answer tool, resolved. */
interface FinalAnswer {
  readonly name: string
  readonly validator: Validator
}

/**
 * A tool loop that is a Function: the model is called with the conversation and the tools; the tool calls it makes
 * run — each a child run, several at once up to `toolConcurrency`, each bounded by a deadline — and their results go
 * back to the model, until it answers without a tool call (or through the final-answer tool). Each model turn and
 * each tool call is a run of its own in the run tree, with its lifecycle, retries, tokens and cost; the agent composes
 * inside Chain, Decision and Parallel like any Function.
 *
 * It stops with a StepLimitError after `maxSteps` model turns, or when the model insists on a call it already made
 * `maxIdenticalCalls` times; with a BudgetExceededError before a turn that would exceed the run tree's budget; with an
 * AbortError or a TimeoutError when cancelled or out of time. A tool call the model got wrong — an unknown tool,
 * arguments that are not JSON or do not match the tool's schema — and a tool that throws, times out or returns
 * something that is not JSON-safe, is told to the model as the call's result (`{"error": "…"}`), or fails the run with
 * the typed error when `onToolError` is `fail`. A tool that needs approval pauses the run: it resolves with an
 * `awaiting-approval` outcome, and {@link Agent.resume} continues it.
 *
 * @example
 * const agent = new Agent({
 *   name: 'assistant',
 *   model: new OpenAIChat({ name: 'model', model: 'gpt-4o-mini', output: 'result' }),
 *   tools: [weather],
 * })
 * const outcome = await agent.invoke('What is the weather in Paris?')
 * if (outcome.status === 'complete') console.log(outcome.output)
 */
export class Agent<Schema extends StandardSchemaV1 = never> extends Function<
  AgentInput | string,
  AgentOutcome<AgentOutput<Schema>>,
  AgentOutcome<AgentOutput<Schema>>,
  AgentInput
> {
  override readonly kind: string = 'agent'
  readonly model: LLMCall<'result', never>
  readonly tools: ReadonlyArray<AnyAgentTool>
  readonly instructions: string | undefined
  readonly maxSteps: number
  readonly toolConcurrency: number
  readonly toolTimeoutMs: number
  readonly maxIdenticalCalls: number
  readonly onToolError: ToolErrorPolicy
  /** The tool definitions sent with every turn (the final-answer tool last). */
  readonly toolDefinitions: ReadonlyArray<ToolDefinition>
  private readonly offered: ReadonlyMap<string, OfferedTool>
  private readonly finalAnswer: FinalAnswer | undefined
  private readonly approval = new ApprovalStep()

  constructor(options: AgentOptions<Schema>) {
    super(
      readingOptions(
        () => ({
          name: options?.name as string,
          input: agentInputSchema,
          ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        }),
        'Agent',
      ),
    )
    const name = this.name
    // Options whose reading throws (a getter, a Proxy) are bad options too.
    try {
      checkKnownOptions(options, agentOptionKeys, name)
      const model = options.model as Partial<LLMCall<'result', never>> | undefined
      if (typeof model?.invoke !== 'function' || model.outputMode === undefined) {
        throw optionError('model', "an LLMCall (OpenAIChat, AnthropicChat, …) with output: 'result'", model, name)
      }
      if (model.outputMode !== 'result' || model.structuredOutput !== undefined) {
        throw new ConfigurationError({
          option: 'model',
          message: `the agent reads each turn's tool calls from the whole result: give the model output: 'result' and no structuredOutput (it has output: '${model.outputMode}'${model.structuredOutput === undefined ? '' : ' and a structuredOutput'}); for a structured answer, give the agent finalAnswer`,
          functionName: name,
        })
      }
      // The model checked above, not the option read again: a getter cannot answer the check one model and keep another.
      this.model = model as LLMCall<'result', never>
      this.instructions = options.instructions
      if (this.instructions !== undefined && typeof this.instructions !== 'string') {
        throw optionError('instructions', 'a string', this.instructions, name)
      }
      this.maxSteps = checkNumber(options.maxSteps, 'maxSteps', { integer: true, min: 1 }, name) ?? 10
      this.toolConcurrency =
        checkNumber(options.toolConcurrency, 'toolConcurrency', { integer: true, min: 1 }, name) ?? 4
      this.toolTimeoutMs = checkTimeout(options.toolTimeoutMs, 'toolTimeoutMs', name) ?? 60_000
      this.maxIdenticalCalls =
        checkNumber(options.maxIdenticalCalls, 'maxIdenticalCalls', { integer: true, min: 1 }, name) ?? 3
      this.onToolError = checkOneOf(options.onToolError, 'onToolError', ['feed-back', 'fail'], name) ?? 'feed-back'

      const tools = options.tools ?? []
      if (!Array.isArray(tools)) {
        throw optionError('tools', 'a list of tools', tools, name)
      }
      const offered = new Map<string, OfferedTool>()
      const definitions: ToolDefinition[] = []
      for (const [index, tool] of tools.entries()) {
        const definition = toolDefinition(tool, `tools[${index}]`, name)
        if (offered.has(definition.offered.name)) {
          throw new ConfigurationError({
            option: 'tools',
            message: `two tools are named "${definition.offered.name}"; the model calls tools by name, so names must be unique`,
            functionName: name,
          })
        }
        // The rule as it was read and checked for the definition, not read again.
        const needsApproval = definition.needsApproval
        const inputSchema = typeof needsApproval === 'function' ? tool.inputSchema : undefined
        offered.set(definition.offered.name, {
          tool,
          needsApproval,
          input:
            inputSchema === undefined
              ? undefined
              : new Validator(inputSchema, { functionName: definition.offered.name, state: 'input_validation' }),
        })
        definitions.push(definition.offered)
      }
      this.tools = Object.freeze([...tools])
      const finalAnswer = options.finalAnswer
      if (finalAnswer !== undefined) {
        // `{ schema }`, not the schema itself; and a key it does not know (a misspelt `description`) is refused.
        if (typeof finalAnswer !== 'object' || finalAnswer === null || finalAnswer.schema === undefined) {
          throw optionError('finalAnswer', '{ schema, name?, description? }', finalAnswer, name)
        }
        checkKnownOptions(finalAnswer, finalAnswerKeys, name)
        const answerName = finalAnswer.name ?? 'final_answer'
        checkToolDescription(answerName, { description: finalAnswer.description ?? 'x' })
        if (offered.has(answerName)) {
          throw new ConfigurationError({
            option: 'finalAnswer.name',
            message: `a tool is already named "${answerName}"; give the final answer another name`,
            functionName: name,
          })
        }
        definitions.push({
          name: answerName,
          description:
            finalAnswer.description ??
            'Gives your final answer, once you have everything you need. Its arguments are the answer; call it alone.',
          parameters: parametersOf(
            answerName,
            undefined,
            toJsonSchema(finalAnswer.schema, { option: 'finalAnswer.schema', functionName: name }),
            true,
          ),
          strict: true,
        })
        this.finalAnswer = {
          name: answerName,
          validator: new Validator(finalAnswer.schema, {
            functionName: `${name} (${answerName})`,
            state: 'input_validation',
          }),
        }
      } else this.finalAnswer = undefined
      this.offered = offered
      this.toolDefinitions = Object.freeze(definitions)
    } catch (error) {
      throw unreadableOption(error, 'options', name)
    }
  }

  /**
   * Runs the agent streaming its progress: iterate the result for {@link AgentEvent}s, await its `result` for the
   * outcome. The same run as `invoke`, events included. Leaving the loop before the run ended (a `break`, a `return`,
   * a throw in the loop's body) cancels the run: what it is doing stops, and `result` rejects with an `AbortError`.
   * Leaving on the run's last event (`approval-requested`, or the `step-finished` of the turn that answered) cancels
   * nothing: `result` is the outcome.
   */
  stream(input: AgentInput | string, options?: InvokeOptions): AgentStream<AgentOutput<Schema>> {
    let scope: CancelScope | undefined
    // Whether the last event handed out may be the run's last: a reader leaving after it stops nothing then, unless
    // the run goes on to hand out another (a final answer it refused), which stops it.
    let mayBeLast = false
    let readerLeft = false
    const leave = (): void => scope?.cancel(new Error(`${this.name}: the stream's reader left before the run ended`))
    return streamRun(
      (push: (event: AgentEvent) => void) => {
        let streaming: InvokeOptions
        try {
          // Options that are not an object (`5`, `null`, a list) go to `invoke` as they are, which refuses them: spread,
          // they would have been read as no options at all. (Asked inside the try: `Array.isArray` of a revoked Proxy
          // throws.)
          if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
            return super.invoke(input, options)
          }
          // Read once: the caller's own listener hears every event too. One that is not a function is left in place
          // for `invoke` to refuse with its typed error.
          const listener = options?.stream
          if (listener !== undefined && typeof listener !== 'function') return super.invoke(input, options)
          const handOut = (event: AgentEvent): unknown => {
            if (readerLeft) leave()
            else {
              // The end of a turn that offered a final answer ends the run, unless the answer is refused.
              mayBeLast = isLastEvent(event) || (event.type === 'step-finished' && event.finalAnswer === true)
              push(event)
            }
            const heard: unknown = listener?.(event)
            // An async listener's promise goes back to the run, which reports its rejection as it does for a listener
            // given to `invoke`: dropped here, it would be an unhandled rejection, which ends a Node process. Any other
            // answer (a `partNotHandedOut`) is not the reader's, who was handed the event.
            return isPromiseLike(heard) ? heard : undefined
          }
          // The caller's signal still cancels the run; leaving the loop does too.
          const signal = options?.signal
          try {
            scope = new CancelScope(undefined, { signal, manual: true })
          } catch {
            // A signal that is not one: `invoke` refuses it with its typed error.
          }
          // Read as `invoke` reads them: a settings class's getter is not left out, as a spread would leave it.
          streaming = streamingOptions(options, handOut as (part: unknown) => void, scope?.signal)
        } catch (error) {
          // Options that cannot be read (a getter or a Proxy that throws) fail as `invoke` fails them: a typed error.
          return Promise.reject(unreadableOption(error, 'options', this.name))
        }
        // `super`'s, which refuses a method detached from its agent (`const { stream } = agent`) with a typed error.
        const run = super.invoke(input, streaming)
        run.then(
          () => scope?.dispose(),
          () => scope?.dispose(),
        )
        return run
      },
      () => {
        readerLeft = true
        if (!mayBeLast) leave()
      },
    )
  }

  /**
   * Continues a run that paused for approval, with a decision on each pending call (by tool call id); a call left
   * without one pauses the run again. In this process or another one — the paused outcome is JSON-safe. Give the run's
   * `runId` and `journal` to continue the same durable run: its steps replay on a re-run, and a decision once acted on
   * cannot change.
   *
   * @example
   * const next = await agent.resume(outcome, { [outcome.approvals[0].toolCallId]: { approved: true } })
   */
  resume(
    paused: AgentAwaitingApproval,
    decisions: Readonly<Record<string, ApprovalDecision>>,
    options?: InvokeOptions,
  ): Promise<AgentOutcome<AgentOutput<Schema>>> {
    let input: AgentInput
    try {
      input = resumeInput(paused, decisions)
    } catch (error) {
      // Like `invoke`, it never throws: what cannot be continued is a rejected, typed error.
      return Promise.reject(unreadableOption(error, 'paused', nameOf(this)))
    }
    // `super`'s, which refuses a method detached from its agent (`const { resume } = agent`) with a typed error.
    return super.invoke(input, options)
  }

  run(input: AgentInput, context: RunContext): Promise<AgentOutcome<AgentOutput<Schema>>> {
    return new AgentRun(this, this.offered, this.finalAnswer, this.approval, input, context).run() as Promise<
      AgentOutcome<AgentOutput<Schema>>
    >
  }

  override describe(): FunctionNode {
    return {
      kind: this.kind,
      name: this.name,
      layout: 'group',
      children: [this.model.describe(), ...this.tools.map((tool) => tool.describe())],
    }
  }
}

/** The name of the agent a method is called on, for its errors; `undefined` when it is called on none (detached). */
function nameOf(agent: unknown): string | undefined {
  try {
    return agent instanceof Agent ? agent.name : undefined
  } catch {
    // A revoked Proxy, whose prototype cannot be read.
    return undefined
  }
}

/**
 * The input that continues a paused run: its conversation (which ends with the calls awaiting approval), the decisions,
 * and the turns taken. `agent.resume(paused, decisions)` invokes the agent with it; stream it with
 * `agent.stream(resumeInput(paused, decisions))`.
 */
export function resumeInput(
  paused: AgentAwaitingApproval,
  decisions: Readonly<Record<string, ApprovalDecision>>,
): AgentInput {
  if (typeof paused !== 'object' || paused === null) {
    throw optionError('paused', 'the awaiting-approval outcome to continue', paused)
  }
  // A complete outcome has nothing to continue: going on with its conversation would ask the model again.
  const status: unknown = paused.status
  if (status !== 'awaiting-approval') {
    throw optionError('paused.status', '"awaiting-approval": only a paused run continues', status)
  }
  return { messages: paused.messages, approvals: decisions, stepsTaken: paused.steps }
}

/**
 * The definition a tool is offered with, and its approval rule, each read once; throws a ConfigurationError naming what
 * is missing.
 */
function toolDefinition(
  tool: AnyAgentTool,
  option: string,
  agentName: string,
): { readonly offered: ToolDefinition; readonly needsApproval: OfferedTool['needsApproval'] } {
  const candidate = tool as Partial<AgentTool<unknown, unknown>> | null
  if (typeof candidate?.invoke !== 'function' || typeof candidate.describe !== 'function') {
    throw optionError(
      option,
      'a tool: a Function with an input schema and a description (defineTool, asTool)',
      tool,
      agentName,
    )
  }
  if (tool instanceof Tool) {
    return {
      offered: { name: tool.name, description: tool.description, parameters: tool.parameters, strict: tool.strict },
      needsApproval: (tool as AgentTool<unknown, unknown>).needsApproval ?? false,
    }
  }
  const name = String(candidate.name)
  const { description, strict, needsApproval } = checkToolDescription(name, candidate as AgentTool<never, unknown>)
  return {
    offered: {
      name,
      description,
      parameters: parametersOf(name, candidate.inputSchema, candidate.parameters, strict),
      strict,
    },
    needsApproval: needsApproval as OfferedTool['needsApproval'],
  }
}

/** One tool call of a turn, from planning to its result. */
interface PlannedCall {
  readonly index: number
  readonly call: ToolCall
  readonly key: string
  readonly tool: AnyAgentTool | undefined
  arguments: unknown
  /** The result's content for the model, once the call settled. */
  content: string | undefined
}

/**
 * Whether a tool call's error fails the run whatever `onToolError` says: a budget, a step limit, a configuration error,
 * and a journal that does not match or failed (core names a journal's failure by its state, `journal (<key>)`): a tool
 * whose result could not be journaled did its work, and a model told it failed would call it again.
 */
const propagating = (error: TinyLLMError): boolean =>
  BudgetExceededError.isInstance(error) ||
  NonDeterminismError.isInstance(error) ||
  StepLimitError.isInstance(error) ||
  ConfigurationError.isInstance(error) ||
  (typeof error.state === 'string' && error.state.startsWith('journal ('))

/** The state of one agent run: its conversation, turn count and identical-call counts. */
class AgentRun {
  private readonly conversation: ChatMessage[]
  private step: number
  private readonly calls: CallCounter
  /** The tool call ids of the conversation: a new call that repeats one gets another id. */
  private readonly callIds: Set<string>
  /** For each id given again, the first suffix not yet tried: every suffix below it is taken. */
  private readonly nextSuffix = new Map<string, number>()
  private readonly stream: ((event: AgentEvent) => void) | undefined

  constructor(
    private readonly agent: Agent<StandardSchemaV1>,
    private readonly offered: ReadonlyMap<string, OfferedTool>,
    private readonly finalAnswer: FinalAnswer | undefined,
    private readonly approval: ApprovalStep,
    private readonly input: AgentInput,
    private readonly context: RunContext,
  ) {
    this.conversation = [...input.messages]
    this.step = input.stepsTaken ?? 0
    this.calls = new CallCounter()
    this.callIds = new Set()
    for (const message of this.conversation) {
      if (message.role === 'assistant') for (const call of message.toolCalls ?? []) this.callIds.add(call.id)
    }
    this.stream = context.stream as ((event: AgentEvent) => void) | undefined
  }

  async run(): Promise<AgentOutcome<unknown>> {
    const conversation = this.conversation
    // A conversation that ends with tool calls not all answered (a paused run's) has them run first.
    const last = lastAssistantIndex(conversation)
    const unanswered = last === -1 ? [] : unansweredCalls(conversation, last)
    this.calls.countMessages(conversation, unanswered.length > 0 ? last : conversation.length)
    if (unanswered.length > 0) {
      const outcome = await this.runCalls(last, unanswered, true)
      if (outcome !== undefined) return outcome
    }
    for (;;) {
      if (this.step >= this.agent.maxSteps) {
        throw new StepLimitError({
          limit: this.agent.maxSteps,
          what: 'model turns (maxSteps); the model was still calling tools',
          functionName: this.agent.name,
          state: 'running',
        })
      }
      this.step += 1
      const step = this.step
      this.emit({ type: 'step-started', step })
      const result = await this.modelTurn(step)
      if (result === undefined) continue
      const choice = result.choices[0]
      if (choice === undefined) {
        throw new ProviderCallError({
          provider: this.agent.model.model.provider,
          message: `${this.agent.name}: the model's answer has no choice`,
          providerErrorType: 'malformed_response',
        })
      }
      const toolCalls = this.withUniqueIds(choice.message.toolCalls ?? [])
      // The model's reasoning goes back with its turn: Anthropic refuses a tool loop whose thinking was left out.
      const reasoning = choice.message.reasoning !== undefined ? { reasoning: choice.message.reasoning } : {}
      const message: AssistantMessage =
        toolCalls.length === 0
          ? { role: 'assistant', content: choice.message.content ?? '', ...reasoning }
          : { role: 'assistant', content: choice.message.content, toolCalls, ...reasoning }
      conversation.push(message)
      // A turn that only calls the final-answer tool ends the run once its answer is taken: nothing follows then.
      const finalAnswer = this.finalAnswer
      const answering =
        finalAnswer !== undefined && toolCalls.length > 0 && toolCalls.every((call) => call.name === finalAnswer.name)
      this.emit({
        type: 'step-finished',
        step,
        finishReason: choice.finishReason,
        toolCalls: toolCalls.length,
        usage: result.usage,
        ...(answering ? { finalAnswer: true } : {}),
      })
      if (toolCalls.length === 0) return this.complete(await this.textAnswer(message.content ?? ''), 'answer')
      const outcome = await this.runCalls(
        conversation.length - 1,
        toolCalls.map((_, index) => index),
        false,
      )
      if (outcome !== undefined) return outcome
    }
  }

  /** One model turn; `undefined` when the model called a tool that does not exist and was told so. */
  private async modelTurn(step: number): Promise<ChatResult | undefined> {
    const agent = this.agent
    const messages: ChatMessage[] =
      agent.instructions === undefined
        ? this.conversation.slice()
        : [{ role: 'system', content: agent.instructions }, ...this.conversation]
    const request =
      agent.toolDefinitions.length === 0
        ? { messages }
        : {
            messages,
            tools: agent.toolDefinitions,
            ...(this.finalAnswer === undefined ? {} : { toolChoice: 'required' as const }),
          }
    const stream = this.stream
    try {
      const result = await this.context.invoke(agent.model, request, {
        key: `turn-${step}`,
        ...(stream === undefined
          ? {}
          : {
              stream: (part: unknown) => {
                const delta = part as LLMStreamDelta
                // A turn replayed from the journal streams its recorded text too (LLMCall.replayParts).
                if (delta.type !== 'text-delta' || delta.choiceIndex !== 0) return partNotHandedOut
                stream({ type: 'text-delta', step, text: delta.text })
                return true
              },
            }),
      })
      return result
    } catch (error) {
      // LLMCall refuses an answer that calls a tool the request did not offer (its tokens are counted): the model is
      // told which tools exist, and asked again, as the next step.
      if (!ToolCallError.isInstance(error) || error.reason !== 'unknown-tool' || agent.onToolError === 'fail')
        throw error
      const names = agent.toolDefinitions.map((tool) => tool.name).join(', ')
      this.conversation.push({
        role: 'user',
        content: `(${agent.name}) Your last answer called the tool ${safeStringify(error.toolName, 100)}, which does not exist, so it was not run. The tools are: ${names}. Call one of them, or answer.`,
      })
      // The turn ended as every turn does, for a stream to close the step it opened; none of its calls runs.
      this.emit({ type: 'step-finished', step, finishReason: 'tool_calls', toolCalls: 0, usage: undefined })
      this.emit({
        type: 'tool-call-finished',
        step,
        toolCallId: error.toolCallId,
        toolName: error.toolName,
        status: 'error',
        error: describeToolFailure(error),
      })
      return undefined
    }
  }

  /**
   * Runs calls `indexes` of the assistant message at `messageIndex`, and appends their results to the conversation.
   * Returns the outcome when the run ends here (a final answer, or calls awaiting approval). `inInput`: the message is
   * the input's, whose calls awaiting approval the person deciding on them holds.
   */
  private async runCalls(
    messageIndex: number,
    indexes: ReadonlyArray<number>,
    inInput: boolean,
  ): Promise<AgentOutcome<unknown> | undefined> {
    const message = this.conversation[messageIndex] as AssistantMessage
    const toolCalls = message.toolCalls ?? []
    const step = this.step
    const planned: PlannedCall[] = []
    const runnable: PlannedCall[] = []
    const pending: PendingApproval[] = []
    /** The calls that need a person's decision, in the order of the turn. */
    const awaiting: PlannedCall[] = []
    let answer: { readonly value: unknown } | undefined
    /** The final-answer calls whose arguments are valid: answered in the conversation once the run completes. */
    const answerCalls: PlannedCall[] = []
    const running = new Set(indexes)
    let editedCalls: ToolCall[] | undefined
    for (let index = 0; index < toolCalls.length; index++) {
      const call = toolCalls[index] as ToolCall
      const repeats = this.calls.add(callSignature(call))
      if (!running.has(index)) continue
      const finalAnswer = this.finalAnswer
      if (finalAnswer !== undefined && call.name === finalAnswer.name) {
        // Taken once the other calls of the turn have settled: those that need approval pause the run first.
        const tried = await this.tryFinalAnswer(call)
        if (!tried.ok) {
          if (isInvalidJson(tried.error)) editedCalls = this.withoutArguments(messageIndex, index, editedCalls)
          planned.push(this.settled(index, call, step, undefined, tried.error))
        } else {
          answer ??= tried
          answerCalls.push({
            index,
            call,
            key: `turn-${step}-${index}`,
            tool: undefined,
            arguments: tried.value,
            content: undefined,
          })
        }
        continue
      }
      const offered = this.offered.get(call.name)
      if (offered === undefined) {
        const error = new ToolCallError({
          reason: 'unknown-tool',
          message: `the model called tool ${safeStringify(call.name, 100)}, which does not exist (the tools are: ${[...this.offered.keys()].join(', ')})`,
          toolName: call.name,
          toolCallId: call.id,
          availableTools: [...this.offered.keys()],
          functionName: this.agent.name,
          state: 'running',
        })
        planned.push(this.settled(index, call, step, undefined, error))
        continue
      }
      if (repeats >= this.agent.maxIdenticalCalls) {
        const limit = new StepLimitError({
          limit: this.agent.maxIdenticalCalls,
          what: `identical calls of ${call.name} (maxIdenticalCalls): the model kept calling it with the same arguments`,
          functionName: this.agent.name,
          state: 'running',
        })
        if (repeats > this.agent.maxIdenticalCalls || this.agent.onToolError === 'fail') throw limit
        const refusal = `this exact call already ran ${repeats} times, so it was not run again; use the results you have, call the tool with other arguments, or answer`
        planned.push(this.settled(index, call, step, offered.tool, refusal))
        continue
      }
      let arguments_: unknown
      try {
        arguments_ = parseArguments(call, this.agent.name)
      } catch (error) {
        if (isInvalidJson(error)) editedCalls = this.withoutArguments(messageIndex, index, editedCalls)
        planned.push(this.settled(index, call, step, offered.tool, error as TinyLLMError))
        continue
      }
      const entry: PlannedCall = {
        index,
        call,
        key: `turn-${step}-${index}`,
        tool: offered.tool,
        arguments: arguments_,
        content: undefined,
      }
      planned.push(entry)
      if (await this.needsApproval(offered, call, arguments_)) awaiting.push(entry)
      else runnable.push(entry)
    }
    // A decision answers only a call a person was shown: one of the paused conversation handed in, or of a turn whose
    // pause this run id journaled. A turn the model answered anew (another run id, no journal, a run that never
    // paused) pauses, whatever decisions were given for its call ids: a model may give the same id to other arguments.
    const shown = awaiting.length > 0 && (inInput || (await this.shownBefore(step, awaiting)))
    for (const entry of awaiting) {
      const { call, index } = entry
      const approvals = this.input.approvals
      const given =
        shown && approvals !== undefined && Object.hasOwn(approvals, call.id) ? approvals[call.id] : undefined
      if (given === undefined) {
        pending.push({ toolCallId: call.id, toolName: call.name, arguments: entry.arguments, step })
        continue
      }
      // In one order wherever it came from: the approval step, the tool and the next turn are journaled with it.
      const decision = recordedDecision(given)
      await this.context.invoke(
        this.approval,
        { toolCallId: call.id, toolName: call.name, arguments: entry.arguments, decision },
        { key: `${entry.key}-approval` },
      )
      if (!decision.approved) {
        const reason = decision.reason === undefined ? '' : `: ${decision.reason}`
        const denial = `the user denied this call${reason}; it was not run`
        entry.content = toolErrorContent(denial)
        this.emitFinished(entry, step, 'denied', undefined, denial)
        continue
      }
      if (decision.arguments !== undefined) {
        entry.arguments = decision.arguments
        // The conversation shows the call as it ran, in a copy of the turn's calls made once for all its edits.
        editedCalls ??= this.copyCalls(messageIndex)
        editedCalls[index] = { ...call, arguments: JSON.stringify(decision.arguments) }
      }
      runnable.push(entry)
    }
    await this.execute(runnable, step)
    // A complete conversation answers each of its calls, the final answer's too, so it can be carried on: a provider
    // refuses a tool call without its result. A paused run leaves it unanswered, to be taken when the run goes on.
    if (pending.length === 0) {
      for (const entry of answerCalls) {
        entry.content = toolResultContent('answer received')
        planned.push(entry)
      }
    }
    this.addResults(messageIndex, planned)
    if (pending.length === 0) return answer === undefined ? undefined : this.complete(answer.value, 'final-answer')
    this.emit({ type: 'approval-requested', approvals: pending })
    this.context.annotate('outcome', 'awaiting-approval')
    this.context.annotate('steps', this.step)
    const paused: AgentAwaitingApproval = {
      status: 'awaiting-approval',
      approvals: pending,
      messages: this.conversation,
      steps: this.step,
    }
    return paused
  }

  /**
   * Puts the results of the calls that settled after the assistant message at `messageIndex`, in the order of its calls
   * — among the results already there when a paused run goes on.
   */
  private addResults(messageIndex: number, planned: ReadonlyArray<PlannedCall>): void {
    const conversation = this.conversation
    const message = conversation[messageIndex] as AssistantMessage
    // After the assistant message come only the tool messages answering it (see lastAssistantIndex).
    const results = conversation.splice(messageIndex + 1) as ToolMessage[]
    for (const entry of planned) {
      if (entry.content !== undefined) results.push({ role: 'tool', toolCallId: entry.call.id, content: entry.content })
    }
    const order = new Map((message.toolCalls ?? []).map((call, index) => [call.id, index]))
    const position = (result: ToolMessage): number => order.get(result.toolCallId) ?? Number.POSITIVE_INFINITY
    results.sort((first, second) => position(first) - position(second))
    // One by one: a turn of 150,000 calls has as many results, too many to spread into push.
    for (const result of results) conversation.push(result)
  }

  /**
   * The calls of a turn, each with an id no other call of the conversation has: a repeated id (two calls of one turn,
   * or a call of an earlier turn) gets a suffix, `-2`, `-3`…, and a call without one is `call`, so that every call gets
   * its own result and its own approval decision.
   */
  private withUniqueIds(toolCalls: ReadonlyArray<ToolCall>): ReadonlyArray<ToolCall> {
    const ids = this.callIds
    return toolCalls.map((call) => {
      // A call without an id (some OpenAI-compatible servers send `""`) gets one: the result that answers it names it.
      const given = call.id === '' ? 'call' : call.id
      let id = given
      if (ids.has(id)) {
        // Counted on from the last suffix given, so a turn of n calls under one id takes n steps, not n²/2.
        let suffix = this.nextSuffix.get(given) ?? 2
        while (ids.has(`${given}-${suffix}`)) suffix++
        id = `${given}-${suffix}`
        this.nextSuffix.set(given, suffix + 1)
      }
      ids.add(id)
      return id === call.id ? call : { ...call, id }
    })
  }

  /**
   * Whether the calls of turn `step` that need a decision were shown to a person before: their pause was journaled under
   * this run id (the step replays). Otherwise it is journaled now, as they are about to be shown.
   */
  private async shownBefore(step: number, awaiting: ReadonlyArray<PlannedCall>): Promise<boolean> {
    let shownNow = false
    await this.context.invoke(
      new ApprovalRequestStep(() => {
        shownNow = true
      }),
      {
        calls: awaiting.map(({ call, arguments: arguments_ }) => ({
          toolCallId: call.id,
          toolName: call.name,
          arguments: arguments_,
        })),
      },
      { key: `turn-${step}-approval-request` },
    )
    return !shownNow
  }

  /** Runs the calls, at most `toolConcurrency` at once, each a child run; fills in each one's content. */
  private async execute(calls: ReadonlyArray<PlannedCall>, step: number): Promise<void> {
    if (calls.length === 0) return
    // A call that throws fails the run (a budget, a step limit, a journal that does not match, any error under
    // `fail`): its siblings still in flight are cancelled with it, not waited for.
    const siblings = new AbortController()
    let failure: TinyLLMError | undefined
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < calls.length && failure === undefined) {
        const entry = calls[next++] as PlannedCall
        try {
          await this.executeOne(entry, step, siblings.signal)
        } catch (error) {
          failure ??= error as TinyLLMError
          siblings.abort(error)
        }
      }
    }
    const workers: Array<Promise<void>> = []
    for (let count = 0; count < Math.min(this.agent.toolConcurrency, calls.length); count++) workers.push(worker())
    await Promise.all(workers)
    if (failure !== undefined) throw failure
  }

  private async executeOne(entry: PlannedCall, step: number, signal: AbortSignal): Promise<void> {
    const tool = entry.tool as AnyAgentTool
    this.emit({
      type: 'tool-call-started',
      step,
      toolCallId: entry.call.id,
      toolName: entry.call.name,
      arguments: entry.arguments,
    })
    let result: unknown
    try {
      result = await this.context.invoke(tool as AgentTool<unknown, unknown>, entry.arguments, {
        key: entry.key,
        timeoutMs: tool.timeoutMs ?? this.agent.toolTimeoutMs,
        metadata: { toolCallId: entry.call.id },
        signal,
      })
      // A Tool checks this itself; a Function of another kind is checked here, and what was checked goes on.
      if (!(tool instanceof Tool)) result = jsonSafeResult(result, tool.name)
    } catch (thrown) {
      // A child run rejects with a tinyllm error, and so does the JSON-safety check.
      const error = thrown as TinyLLMError
      if (this.context.signal.aborted || propagating(error) || this.agent.onToolError === 'fail') throw error
      const message = describeToolFailure(error, tool.name)
      entry.content = toolErrorContent(message)
      this.emitFinished(entry, step, 'error', undefined, message)
      return
    }
    entry.content = toolResultContent(result)
    this.emitFinished(entry, step, 'ok', result, undefined)
  }

  /** A call settled without running: its error, fed back (or thrown under `fail`), or what the model is told. */
  private settled(
    index: number,
    call: ToolCall,
    step: number,
    tool: AnyAgentTool | undefined,
    error: TinyLLMError | string,
  ): PlannedCall {
    if (typeof error !== 'string' && this.agent.onToolError === 'fail') throw error
    const message = typeof error === 'string' ? error : describeToolFailure(error)
    const entry: PlannedCall = {
      index,
      call,
      key: `turn-${step}-${index}`,
      tool,
      arguments: undefined,
      content: toolErrorContent(message),
    }
    this.emitFinished(entry, step, 'error', undefined, message)
    return entry
  }

  /**
   * Whether the call waits for approval; a rule that answers anything but true or false fails the run. A rule reads the
   * arguments as the tool's schema gives them; arguments the schema refuses never reach it: they need no approval, as
   * the tool refuses them without running (and the model is told).
   */
  private async needsApproval(offered: OfferedTool, call: ToolCall, arguments_: unknown): Promise<boolean> {
    const rule = offered.needsApproval
    let answer: unknown = rule
    if (typeof rule === 'function') {
      let input = arguments_
      try {
        if (offered.input !== undefined) input = await offered.input.validate(arguments_)
      } catch (error) {
        if (ValidationError.isInstance(error)) return false
        throw error
      }
      try {
        answer = await rule(input, this.context)
      } catch (error) {
        // A rule that throws gives no answer: a ConfigurationError naming it and the tool, as any answer but true or
        // false is, and as an MCP server's rule that throws is. A cancelled run stays cancelled.
        if (this.context.signal.aborted) throw error
        throw unreadableOption(error, 'needsApproval', call.name)
      }
    }
    if (typeof answer === 'boolean') return answer
    throw optionError(
      'needsApproval',
      `true or false (its answer for call ${safeStringify(call.id, 100)})`,
      answer,
      call.name,
    )
  }

  private async tryFinalAnswer(
    call: ToolCall,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: TinyLLMError }> {
    try {
      const value = await (this.finalAnswer as FinalAnswer).validator.validate(parseArguments(call, this.agent.name))
      return { ok: true, value }
    } catch (error) {
      if (!TinyLLMError.isInstance(error)) throw error
      return { ok: false, error }
    }
  }

  /** The model answered in text: the output, or — with a final-answer schema — the text read as JSON and validated. */
  private async textAnswer(text: string): Promise<unknown> {
    const finalAnswer = this.finalAnswer
    if (finalAnswer === undefined) return text
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      throw new ValidationError({
        functionName: this.agent.name,
        state: 'running',
        issues: [
          {
            path: [],
            message: `the model answered in text instead of calling ${finalAnswer.name}, and the text is not JSON`,
          },
        ],
        cause,
      })
    }
    return finalAnswer.validator.validate(value)
  }

  private complete(output: unknown, finishedBy: AgentCompleted<unknown>['finishedBy']): AgentCompleted<unknown> {
    this.context.annotate('outcome', finishedBy)
    this.context.annotate('steps', this.step)
    return { status: 'complete', output, finishedBy, messages: this.conversation, steps: this.step }
  }

  /**
   * Puts in the conversation a copy of the assistant message at `messageIndex` and of its calls, and answers the copy's
   * list of calls, for a person's edits: the message the caller handed in (a paused outcome's) is left as it was.
   */
  private copyCalls(messageIndex: number): ToolCall[] {
    const message = this.conversation[messageIndex] as AssistantMessage
    const toolCalls = [...(message.toolCalls ?? [])]
    this.conversation[messageIndex] = { ...message, toolCalls }
    return toolCalls
  }

  /**
   * Puts in the conversation the call at `index` of the message at `messageIndex` with `{}` for arguments that are not
   * JSON (a streamed turn cut inside a call): the model is told they were not, and the next turn carries a call every
   * provider takes — Anthropic takes a call's input only as an object, and would refuse the whole conversation.
   */
  private withoutArguments(messageIndex: number, index: number, editedCalls: ToolCall[] | undefined): ToolCall[] {
    const calls = editedCalls ?? this.copyCalls(messageIndex)
    calls[index] = { ...(calls[index] as ToolCall), arguments: '{}' }
    return calls
  }

  private emit(event: AgentEvent): void {
    this.stream?.(event)
  }

  private emitFinished(
    entry: PlannedCall,
    step: number,
    status: ToolCallStatus,
    result: unknown,
    error: string | undefined,
  ): void {
    if (this.stream === undefined) return
    this.stream({
      type: 'tool-call-finished',
      step,
      toolCallId: entry.call.id,
      toolName: entry.call.name,
      status,
      ...(status === 'ok' ? { result } : {}),
      ...(error === undefined ? {} : { error }),
    })
  }
}

/**
 * The call's arguments, parsed; a ToolCallError: `invalid-json` when they are not JSON, `invalid-arguments` when they
 * nest deeper than {@link maxArgumentsDepth} (the walks that read them, the journal's digest among them, would overflow
 * the stack). Empty counts as `{}`.
 */
function parseArguments(call: ToolCall, agentName: string): unknown {
  const text = typeof call.arguments === 'string' ? call.arguments.trim() : ''
  if (text === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new ToolCallError({
      reason: 'invalid-json',
      message: `the arguments of tool call ${safeStringify(call.id, 100)} (${safeStringify(call.name, 100)}) are not valid JSON (${(cause as Error).message})`,
      toolName: call.name,
      toolCallId: call.id,
      functionName: agentName,
      state: 'running',
      cause,
    })
  }
  // Parsed from text, so walked in full: past a cap, a deep part behind a million small ones would reach the tool.
  if (deeperThan(value, maxArgumentsDepth, Number.POSITIVE_INFINITY)) {
    throw new ToolCallError({
      reason: 'invalid-arguments',
      message: `the arguments of tool call ${safeStringify(call.id, 100)} (${safeStringify(call.name, 100)}) are nested more than ${maxArgumentsDepth} levels deep`,
      toolName: call.name,
      toolCallId: call.id,
      functionName: agentName,
      state: 'running',
    })
  }
  return value
}

function isInvalidJson(error: unknown): boolean {
  return ToolCallError.isInstance(error) && error.reason === 'invalid-json'
}

function lastAssistantIndex(conversation: ReadonlyArray<ChatMessage>): number {
  for (let index = conversation.length - 1; index >= 0; index--) {
    const role = (conversation[index] as ChatMessage).role
    if (role === 'assistant') return index
    if (role !== 'tool') return -1
  }
  return -1
}

/** Indexes of the calls of the assistant message at `index` that no tool message after it answers. */
function unansweredCalls(conversation: ReadonlyArray<ChatMessage>, index: number): number[] {
  const message = conversation[index] as AssistantMessage
  const calls = message.toolCalls ?? []
  if (calls.length === 0) return []
  const answered = new Set<string>()
  for (let at = index + 1; at < conversation.length; at++) {
    const reply = conversation[at] as ChatMessage
    if (reply.role === 'tool') answered.add(reply.toolCallId)
  }
  const unanswered: number[] = []
  calls.forEach((call, callIndex) => {
    if (!answered.has(call.id)) unanswered.push(callIndex)
  })
  return unanswered
}

/**
 * Whether nothing may follow `event` in a run: a pause for approval, or the end of a turn without a call — whatever its
 * finish reason says (some OpenAI-compatible servers answer `tool_calls` with no call). A turn that called a tool that
 * does not exist ends without a call too, and the run goes on: the event it hands out at once after it (the call's
 * `tool-call-finished`) is the one a reader who left is cancelled at, as for a refused final answer.
 */
function isLastEvent(event: AgentEvent): boolean {
  return event.type === 'approval-requested' || (event.type === 'step-finished' && event.toolCalls === 0)
}
