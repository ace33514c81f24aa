import { Function, type FunctionOptions, functionOptionKeys } from './function.js'
import { checkKnownOptions, optionError, unreadableOption } from './options.js'
import type { RunContext } from './run-context.js'
import type { StandardSchemaV1 } from './standard-schema.js'

type InputOf<InSchema, RunIn> = InSchema extends StandardSchemaV1 ? StandardSchemaV1.InferInput<InSchema> : RunIn
type ValidatedOf<InSchema, RunIn> = InSchema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<InSchema> : RunIn
type OutputOf<OutSchema, RunOut> = OutSchema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<OutSchema> : RunOut

/** Everything `defineFunction` needs: the options of any Function, schemas, and the work itself. */
export interface FunctionDefinition<InSchema, OutSchema, RunIn, RunOut, Processed, ProcessedSchema = undefined>
  extends Omit<FunctionOptions, 'input' | 'output' | 'processedOutput'> {
  readonly input?: InSchema
  readonly output?: OutSchema
  readonly processedOutput?: ProcessedSchema
  /** The work of one attempt. */
  readonly run: (input: ValidatedOf<InSchema, RunIn>, context: RunContext) => Promise<RunOut> | RunOut
  /** Optional post-processing of the validated output. */
  readonly processOutput?: (output: OutputOf<OutSchema, RunOut>, context: RunContext) => Promise<Processed> | Processed
}

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
export function defineFunction<
  InSchema extends StandardSchemaV1 | undefined = undefined,
  OutSchema extends StandardSchemaV1 | undefined = undefined,
  RunIn = unknown,
  RunOut = OutSchema extends StandardSchemaV1 ? StandardSchemaV1.InferInput<OutSchema> : unknown,
  Processed = OutputOf<OutSchema, Awaited<RunOut>>,
  ProcessedSchema extends StandardSchemaV1 | undefined = undefined,
>(
  definition: FunctionDefinition<InSchema, OutSchema, RunIn, RunOut, Processed, ProcessedSchema>,
): Function<
  InputOf<InSchema, RunIn>,
  OutputOf<OutSchema, Awaited<RunOut>>,
  OutputOf<ProcessedSchema, Processed>,
  ValidatedOf<InSchema, RunIn>
> {
  return new DefinedFunction(definition as Definition) as never
}

const definitionKeys: ReadonlySet<string> = new Set([...functionOptionKeys, 'run', 'processOutput'])

type Definition = FunctionDefinition<unknown, unknown, unknown, unknown, unknown, unknown>

class DefinedFunction extends Function<unknown, unknown, unknown> {
  private readonly definition: Definition
  // Read once from the definition: what was checked is what runs (called on the definition, as `this`).
  private readonly work: Definition['run']
  private readonly process: Definition['processOutput'] | undefined

  constructor(definition: Definition) {
    super(definition as FunctionOptions)
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

  override get processesOutput(): boolean {
    return this.process !== undefined
  }

  run(input: unknown, context: RunContext): unknown {
    return this.work.call(this.definition, input, context)
  }

  override processOutput(output: unknown, context: RunContext): unknown {
    const process = this.process
    return process === undefined ? output : process.call(this.definition, output, context)
  }
}
