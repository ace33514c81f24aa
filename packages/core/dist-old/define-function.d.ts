import { Function, type FunctionOptions } from './function.js'
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
export declare function defineFunction<
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
>
//# sourceMappingURL=define-function.d.ts.map
