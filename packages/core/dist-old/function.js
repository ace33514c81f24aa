import { checkBoolean, checkTimeout, optionError, unreadableOption } from './options.js'
import { resolveRetryPolicy } from './retry-policy.js'
import { startRun } from './run.js'
import { Validator } from './validator.js'
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
])
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
export class Function {
  name
  /** What kind of node this is in graphs and run trees. */
  kind = 'function'
  inputSchema
  outputSchema
  processedOutputSchema
  retry
  timeoutMs
  attemptTimeoutMs
  /** Whether the run is journaled and replayed when its tree has a journal. */
  durable
  /** @internal Checks the input against `inputSchema`. */
  inputValidator
  /** @internal Checks what `run` returns against `outputSchema`. */
  outputValidator
  /** @internal Checks what `processOutput` returns against `processedOutputSchema`. */
  processedOutputValidator
  constructor(options) {
    let owner = 'Function'
    try {
      if (typeof options !== 'object' || options === null) {
        throw optionError('options', 'an object with a name', options, owner)
      }
      const name = options.name
      if (typeof name !== 'string' || name.trim() === '') throw optionError('name', 'a non-empty string', name, owner)
      owner = name
      this.name = name
      this.inputSchema = options.input
      this.outputSchema = options.output
      this.processedOutputSchema = options.processedOutput
      this.inputValidator = validatorOf(this.inputSchema, name, 'input_validation')
      this.outputValidator = validatorOf(this.outputSchema, name, 'output_validation')
      this.processedOutputValidator = validatorOf(this.processedOutputSchema, name, 'processing_output')
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
  get processesOutput() {
    return this.processOutput !== Function.prototype.processOutput
  }
  /** Turns a validated output into the run's final value. Default: the output itself. */
  processOutput(output, _context) {
    return output
  }
  /**
   * Runs the Function and resolves with its (processed) output, or rejects with a typed {@link TinyLLMError} — bad
   * options included: `invoke` never throws.
   */
  invoke(input, options) {
    return startRun(this, input, options, false)
  }
  /**
   * Runs the Function and resolves with its full {@link RunRecord} (state history, attempts, duration, output or
   * error, children) whether it succeeded or not. For debugging and for callers who want a settled result. Rejects
   * only when the options are invalid and no run could start.
   */
  trace(input, options) {
    return startRun(this, input, options, true)
  }
  /** This Function as a graph node. Combinators override it to describe their children. */
  describe() {
    return { kind: this.kind, name: this.name }
  }
}
function validatorOf(schema, functionName, state) {
  return schema === undefined ? undefined : new Validator(schema, { functionName, state })
}
//# sourceMappingURL=function.js.map
