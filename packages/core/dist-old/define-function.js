import { Function, functionOptionKeys } from './function.js'
import { checkKnownOptions, optionError, unreadableOption } from './options.js'
/**
 * Defines a Function from an async function and optional schemas, without a class. Input and output types are
 * inferred from the schemas (or from `run`'s signature when there are none); `invoke` resolves with what the
 * `processedOutput` schema gives, when there is one.
 *
 * @example
 * const greet = defineFunction({
 *   name: 'greet',
 *   input: z.object({ name: z.string() }),
 *   output: z.string(),
 *   run: async ({ name }) => `Hello, ${name}`,
 * })
 * const text: string = await greet.invoke({ name: 'Ada' })
 */
export function defineFunction(definition) {
  return new DefinedFunction(definition)
}
const definitionKeys = new Set([...functionOptionKeys, 'run', 'processOutput'])
class DefinedFunction extends Function {
  definition
  // Read once from the definition: what was checked is what runs (called on the definition, as `this`).
  work
  process
  constructor(definition) {
    super(definition)
    try {
      checkKnownOptions(definition, definitionKeys, this.name)
      const { run, processOutput } = definition
      if (typeof run !== 'function') throw optionError('run', 'a function', run, this.name)
      if (processOutput !== undefined && typeof processOutput !== 'function')
        throw optionError('processOutput', 'a function', processOutput, this.name)
      this.definition = definition
      this.work = run
      this.process = processOutput
    } catch (error) {
      // A definition whose reading throws (a getter, a Proxy) is a bad one too.
      throw unreadableOption(error, 'options', this.name)
    }
  }
  get processesOutput() {
    return this.process !== undefined
  }
  run(input, context) {
    return this.work.call(this.definition, input, context)
  }
  processOutput(output, context) {
    const process = this.process
    return process === undefined ? output : process.call(this.definition, output, context)
  }
}
//# sourceMappingURL=define-function.js.map
