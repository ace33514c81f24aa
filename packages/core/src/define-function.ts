import { Function, type FunctionOptions, functionOptionKeys } from './function.js'
import { checkKnownOptions, optionError } from './options.js'
import type { RunContext } from './run-context.js'
import type { StandardSchemaV1 } from './standard-schema.js'

type InputOf<InSchema, RunIn> = InSchema extends StandardSchemaV1 ? StandardSchemaV1.InferInput<InSchema> : RunIn
type ValidatedOf<InSchema, RunIn> = InSchema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<InSchema> : RunIn
type OutputOf<OutSchema, RunOut> = OutSchema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<OutSchema> : RunOut

/** Everything `defineFunction` needs: the options of any Function, schemas, and the work itself. */
export interface FunctionDefinition<InSchema, OutSchema, RunIn, RunOut, Processed>
  extends Omit<FunctionOptions, 'input' | 'output' | 'processedOutput'> {
  readonly input?: InSchema
  readonly output?: OutSchema
  readonly processedOutput?: StandardSchemaV1
  /** The work of one attempt. */
  readonly run: (input: ValidatedOf<InSchema, RunIn>, context: RunContext) => Promise<RunOut> | RunOut
  /** Optional post-processing of the validated output. */
  readonly processOutput?: (output: OutputOf<OutSchema, RunOut>, context: RunContext) => Promise<Processed> | Processed
}

/**
 * Defines a Function from an async function and optional schemas, without a class. Input and output types are
 * inferred from the schemas (or from `run`'s signature when there are none).
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
>(
  definition: FunctionDefinition<InSchema, OutSchema, RunIn, RunOut, Processed>,
): Function<InputOf<InSchema, RunIn>, OutputOf<OutSchema, Awaited<RunOut>>, Processed, ValidatedOf<InSchema, RunIn>> {
  return new DefinedFunction(definition as FunctionDefinition<unknown, unknown, unknown, unknown, unknown>) as never
}

const definitionKeys: ReadonlySet<string> = new Set([...functionOptionKeys, 'run', 'processOutput'])

class DefinedFunction extends Function<unknown, unknown, unknown> {
  private readonly definition: FunctionDefinition<unknown, unknown, unknown, unknown, unknown>

  constructor(definition: FunctionDefinition<unknown, unknown, unknown, unknown, unknown>) {
    super(definition as FunctionOptions)
    checkKnownOptions(definition, definitionKeys, this.name)
    if (typeof definition.run !== 'function') throw optionError('run', 'a function', definition.run, this.name)
    if (definition.processOutput !== undefined && typeof definition.processOutput !== 'function')
      throw optionError('processOutput', 'a function', definition.processOutput, this.name)
    this.definition = definition
  }

  override get processesOutput(): boolean {
    return this.definition.processOutput !== undefined
  }

  run(input: unknown, context: RunContext): unknown {
    return this.definition.run(input, context)
  }

  override processOutput(output: unknown, context: RunContext): unknown {
    const process = this.definition.processOutput
    return process === undefined ? output : process(output, context)
  }
}
