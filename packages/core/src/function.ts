import type { FunctionNode } from './function-node.js'
import { checkBoolean, checkTimeout, optionError, unreadableOption } from './options.js'
import { type ResolvedRetryPolicy, type RetryPolicy, resolveRetryPolicy } from './retry-policy.js'
import { startRun } from './run.js'
import type { Invocable, InvokeOptions, RunContext } from './run-context.js'
import type { RunRecord } from './run-record.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { isStandardSchema, Validator } from './validator.js'

/** The longest Function name, in characters: errors, log lines and run trees quote it. */
const maxNameLength = 200

/** Whether `text` has more than `max` characters (code points: an emoji is one), counted no further than that. */
function codePointsBeyond(text: string, max: number): boolean {
  let count = 0
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index)
    // The high half of a pair counts; its low half does not.
    if (unit < 0xdc00 || unit > 0xdfff) count += 1
    if (count > max) return true
  }
  return false
}

/**
 * Options every Function accepts, read and checked once, when the Function is built: its fields are `readonly`, and no
 * run changes them.
 */
export interface FunctionOptions {
  /** Shown in errors, logs, events, run trees and graphs. */
  readonly name: string
  /** Validates (and may transform) the input before `run`. */
  readonly input?: StandardSchemaV1
  /** Validates (and may transform) what `run` returns. */
  readonly output?: StandardSchemaV1
  /** Validates what `processOutput` returns. */
  readonly processedOutput?: StandardSchemaV1
  /** Retry policy for `run`. Default: one attempt. */
  readonly retry?: RetryPolicy
  /** Limit on the whole run, retries included, in ms. */
  readonly timeoutMs?: number
  /** Limit on each attempt of `run`, in ms; an attempt that exceeds it fails with a retryable TimeoutError. */
  readonly attemptTimeoutMs?: number
  /**
   * Journal the run's output when its tree has a journal, and replay it from there on a re-run instead of running it
   * again: for steps with side effects or a cost (LLM calls are durable by default). Default false: the run re-runs,
   * and its durable children replay.
   */
  readonly durable?: boolean
}

/** The keys of {@link FunctionOptions}, for classes that check their options for unknown keys. */
export const functionOptionKeys = Object.freeze([
  'name',
  'input',
  'output',
  'processedOutput',
  'retry',
  'timeoutMs',
  'attemptTimeoutMs',
  'durable',
] as const satisfies ReadonlyArray<keyof FunctionOptions>)

/**
 * The unit of every tinyllm graph. Subclass it and implement `run` (and optionally `processOutput`); call `invoke`.
 * Every run walks `init → input_validation → running → output_validation → processing_output → complete`, or ends in
 * `failed`; a retry shows as `running → retrying → running`. State belongs to the run: one instance serves any number
 * of concurrent runs. A Function invoked while another one's `run` is executing joins that run's tree (its
 * cancellation, deadline, budget, logger and record), as if invoked through `context.invoke`.
 *
 * @example
 * class Greet extends Function<{ name: string }, string> {
 *   async run(input: { name: string }) { return `Hello, ${input.name}` }
 * }
 * await new Greet({ name: 'greet' }).invoke({ name: 'Ada' }) // 'Hello, Ada'
 */
export abstract class Function<Input = unknown, Output = unknown, Processed = Output, RunInput = Input>
  implements Invocable<Input, Processed>
{
  declare readonly name: string
  /** What kind of node this is in graphs and run trees. */
  readonly kind: string = 'function'
  readonly inputSchema: StandardSchemaV1 | undefined
  readonly outputSchema: StandardSchemaV1 | undefined
  readonly processedOutputSchema: StandardSchemaV1 | undefined
  readonly retry: ResolvedRetryPolicy
  readonly timeoutMs: number | undefined
  readonly attemptTimeoutMs: number | undefined
  /** Whether the run is journaled and replayed when its tree has a journal. */
  readonly durable: boolean
  /** @internal Checks the input against `inputSchema`. */
  readonly inputValidator: Validator | undefined
  /** @internal Checks what `run` returns against `outputSchema`. */
  readonly outputValidator: Validator | undefined
  /** @internal Checks what `processOutput` returns against `processedOutputSchema`. */
  readonly processedOutputValidator: Validator | undefined

  constructor(options: FunctionOptions) {
    let owner = 'Function'
    try {
      if (typeof options !== 'object' || options === null)
        throw optionError('options', 'an object with a name', options, owner)
      const name = options.name
      if (typeof name !== 'string' || name.trim() === '') throw optionError('name', 'a non-empty string', name, owner)
      // Every error, log line and record of its runs quotes it: kept short, they stay short.
      if (name.length > maxNameLength && codePointsBeyond(name, maxNameLength))
        throw optionError('name', `a string of at most ${maxNameLength} characters`, name, owner)
      // A lone surrogate (half of a UTF-16 pair) would make step keys that UTF-8 stores cannot keep apart.
      if (!name.isWellFormed()) throw optionError('name', 'well-formed Unicode, without a lone surrogate', name, owner)
      owner = name
      // Not writable: errors, records and journals name the Function by it (and it was checked for them).
      Object.defineProperty(this, 'name', { value: name, enumerable: true, writable: false, configurable: false })
      this.inputSchema = options.input
      this.outputSchema = options.output
      this.processedOutputSchema = options.processedOutput
      this.inputValidator = validatorOf(this.inputSchema, 'input', name, 'input_validation')
      this.outputValidator = validatorOf(this.outputSchema, 'output', name, 'output_validation')
      this.processedOutputValidator = validatorOf(
        this.processedOutputSchema,
        'processedOutput',
        name,
        'processing_output',
      )
      this.retry = resolveRetryPolicy(options.retry, name)
      this.timeoutMs = checkTimeout(options.timeoutMs, 'timeoutMs', name)
      this.attemptTimeoutMs = checkTimeout(options.attemptTimeoutMs, 'attemptTimeoutMs', name)
      this.durable = checkBoolean(options.durable, 'durable', name) ?? false
    } catch (error) {
      // Options whose reading throws (a getter, a Proxy) are bad options too.
      throw unreadableOption(error, 'options', owner)
    }
  }

  /**
   * @internal Whether `processOutput` does anything: runs skip the step otherwise. Asked per run, so a `processOutput`
   * the instance holds itself (a class field, one assigned in a subclass's constructor) counts too.
   */
  get processesOutput(): boolean {
    return this.processOutput !== Function.prototype.processOutput
  }

  /** The work of one attempt. Receives the validated input; must honour `context.signal` for prompt cancellation. */
  abstract run(input: RunInput, context: RunContext): Promise<Output> | Output

  /** Turns a validated output into the run's final value. Default: the output itself. */
  processOutput(output: Output, _context: RunContext): Promise<Processed> | Processed {
    return output as unknown as Processed
  }

  /**
   * What a run replayed from a journal hands its `stream` listener, in place of the parts `run` streamed the first
   * time: built from the recorded output (an LLMCall's answer as deltas). Default: nothing.
   */
  replayParts(_output: Processed): Iterable<unknown> {
    return []
  }

  /**
   * Runs the Function and resolves with its (processed) output, or rejects with a typed {@link TinyLLMError} — bad
   * options included: `invoke` never throws.
   */
  invoke(input: Input, options?: InvokeOptions): Promise<Processed> {
    return startRun(this, input, options, false) as Promise<Processed>
  }

  /**
   * Runs the Function and resolves with its full {@link RunRecord} (state history, attempts, duration, output or
   * error, children) whether it succeeded or not. For debugging and for callers who want a settled result. Rejects
   * only when the options are invalid and no run could start.
   */
  trace(input: Input, options?: InvokeOptions): Promise<RunRecord<Processed>> {
    return startRun(this, input, options, true) as Promise<RunRecord<Processed>>
  }

  /** This Function as a graph node. Combinators override it to describe their children. */
  describe(): FunctionNode {
    return { kind: this.kind, name: this.name }
  }
}

/** The validator of a schema option; one that is no Standard Schema is refused under the option's own name. */
function validatorOf(
  schema: StandardSchemaV1 | undefined,
  option: 'input' | 'output' | 'processedOutput',
  functionName: string,
  state: string,
): Validator | undefined {
  if (schema === undefined) return undefined
  if (!isStandardSchema(schema))
    throw optionError(option, 'a Standard Schema v1 object (zod 4, valibot, arktype, …)', schema, functionName)
  return new Validator(schema, { functionName, state })
}
