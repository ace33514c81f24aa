import {
  checkKnownOptions,
  type FunctionOptions,
  functionOptionKeys,
  optionError,
  type RunContext,
  type StandardSchemaV1,
} from '@tinyllm/core'
import { readingOptions, Tool, type ToolDescription } from './tool.js'

/** Everything {@link defineTool} needs: a name, a description, an input schema and the work; any Function option too. */
export interface ToolDefinition<InSchema extends StandardSchemaV1, OutSchema, RunOut>
  extends Omit<FunctionOptions, 'input' | 'output' | 'processedOutput' | 'durable'>,
    ToolDescription<StandardSchemaV1.InferOutput<InSchema>> {
  /** Validates the model's arguments (and is sent to the model as JSON Schema). */
  readonly input: InSchema
  /** Validates what `run` returns, if given. */
  readonly output?: OutSchema
  /**
   * Journal the tool's result when the run tree has a journal, and replay it on a re-run (a resumed agent run) instead
   * of calling the tool again. Default true: a tool's result is part of the conversation, and a re-run that got
   * another answer could not replay the model turns after it.
   */
  readonly durable?: boolean
  /** The work: receives the validated arguments and the run context (signal, logger, idempotency key…). */
  readonly run: (arguments_: StandardSchemaV1.InferOutput<InSchema>, context: RunContext) => Promise<RunOut> | RunOut
}

type OutputOf<OutSchema, RunOut> = OutSchema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<OutSchema> : RunOut

/**
 * Defines a {@link Tool} from a function: its arguments are typed by the input schema, its result by `run`.
 *
 * @example
 * const weather = defineTool({
 *   name: 'weather',
 *   description: 'Current weather in a city',
 *   input: z.object({ city: z.string() }),
 *   run: async ({ city }) => ({ city, celsius: 21 }),
 * })
 */
export function defineTool<
  InSchema extends StandardSchemaV1,
  OutSchema extends StandardSchemaV1 | undefined = undefined,
  RunOut = OutSchema extends StandardSchemaV1 ? StandardSchemaV1.InferInput<OutSchema> : unknown,
>(
  definition: ToolDefinition<InSchema, OutSchema, RunOut>,
): Tool<
  StandardSchemaV1.InferInput<InSchema>,
  OutputOf<OutSchema, Awaited<RunOut>>,
  StandardSchemaV1.InferOutput<InSchema>
> {
  return new DefinedTool(definition as unknown as ToolDefinition<StandardSchemaV1, undefined, unknown>) as never
}

const definitionKeys: ReadonlySet<string> = new Set([
  ...functionOptionKeys,
  'description',
  'needsApproval',
  'strict',
  'parameters',
  'run',
])

class DefinedTool extends Tool<unknown, unknown> {
  private readonly work: ToolDefinition<StandardSchemaV1, undefined, unknown>['run']

  constructor(definition: ToolDefinition<StandardSchemaV1, undefined, unknown>) {
    super(
      readingOptions(
        () =>
          ({ ...definition, durable: definition.durable ?? true }) as unknown as ConstructorParameters<typeof Tool>[0],
        'defineTool',
      ),
    )
    const run = readingOptions(() => {
      checkKnownOptions(definition, definitionKeys, this.name)
      return definition.run
    }, this.name)
    if (typeof run !== 'function') throw optionError('run', 'a function', run, this.name)
    this.work = run
  }

  run(arguments_: unknown, context: RunContext): unknown {
    return this.work(arguments_, context)
  }
}
