import type { FunctionNode } from '@tinyllm/core'
import {
  ConfigurationError,
  Function,
  type FunctionOptions,
  type Invocable,
  optionError,
  type RunContext,
  type StandardSchemaV1,
  safeStringify,
  unreadableOption,
  ValidationError,
} from '@tinyllm/core'
import { type JsonSchema, toJsonSchema, toStrictJsonSchema } from '@tinyllm/llm'
import { jsonSafeResult } from './tool-result.js'

/**
 * Whether a call of a tool waits for a person's approval before it runs: always, never, or as a function of the call's
 * arguments (say, only for amounts above a limit). The function receives the arguments as the tool's input schema gives
 * them; arguments the schema refuses never reach it (the tool refuses them, and the model is told). It must answer
 * `true` or `false`: any other answer, or none (a rule that throws), fails the run with a ConfigurationError, and the
 * call does not run.
 */
export type ApprovalRule<Input = unknown> =
  | boolean
  | ((arguments_: Input, context: RunContext) => boolean | PromiseLike<boolean>)

/** What a Function needs besides its input schema to be offered to a model as a tool. */
export interface ToolDescription<Input = unknown> {
  /** What the tool does, for the model: when to call it and what it returns. */
  readonly description: string
  /** Calls of the tool pause the agent until they are approved or denied. Default false. */
  readonly needsApproval?: ApprovalRule<Input> | undefined
  /**
   * Send the tool's schema in strict mode (`strict: true`), where the provider makes the model's arguments match it:
   * every object closed, every property required, the optional ones nullable (the model's `null` is read back as
   * absent). Default true; a schema strict mode cannot express (a record, a free-form object) is a ConfigurationError
   * naming where it is — give `strict: false` for such a tool.
   */
  readonly strict?: boolean | undefined
  /**
   * The JSON Schema of the arguments, sent to the model. Default: from the input schema's Standard JSON Schema
   * converter (zod ≥ 4.2); give it for a schema library without one.
   */
  readonly parameters?: JsonSchema | undefined
}

/** Options of a {@link Tool}: those of every Function, an input schema (required), and how the model sees the tool. */
export interface ToolOptions<Input = unknown> extends Omit<FunctionOptions, 'processedOutput'>, ToolDescription<Input> {
  readonly input: StandardSchemaV1
}

/**
 * Anything an agent can offer a model as a tool: a Function (it is invoked as a child run of the agent) with an
 * input schema and a description. A {@link Tool} is one; so is any Function of your own with a `description` property,
 * and {@link asTool} makes one of a Function that has none.
 */
export interface AgentTool<Input = unknown, Output = unknown> extends Invocable<Input, Output> {
  readonly name: string
  readonly kind: string
  readonly description: string
  readonly inputSchema: StandardSchemaV1 | undefined
  readonly needsApproval?: ApprovalRule<Input> | undefined
  readonly strict?: boolean | undefined
  readonly parameters?: JsonSchema | undefined
  /** The Function's own total limit, if any: the agent's `toolTimeoutMs` applies otherwise. */
  readonly timeoutMs?: number | undefined
  describe(): FunctionNode
}

/**
 * A Function a model can call: its input schema is the tool's parameters (sent as JSON Schema, strict by default), its
 * `description` tells the model what it is for, and what its `run` returns goes back to the model as the call's
 * result. Its result must be JSON-safe (plain objects, arrays, strings, finite numbers, booleans, null): anything
 * else fails the run in `processing_output` with a ValidationError that names the path. Subclass it, or use
 * {@link defineTool}.
 *
 * @example
 * class Weather extends Tool<{ city: string }, { celsius: number }> {
 *   async run({ city }: { city: string }) { return { celsius: city === 'Paris' ? 21 : 15 } }
 * }
 * const weather = new Weather({ name: 'weather', description: 'Current weather in a city', input: z.object({ city: z.string() }) })
 */
export abstract class Tool<Input = unknown, Output = unknown, RunInput = Input>
  extends Function<Input, Output, Output, RunInput>
  implements AgentTool<Input, Output>
{
  override readonly kind: string = 'tool'
  readonly description: string
  readonly needsApproval: ApprovalRule<Input>
  readonly strict: boolean
  /** The JSON Schema of the arguments, as given or converted from the input schema. */
  readonly parameters: JsonSchema

  constructor(options: ToolOptions<Input>) {
    super(
      readingOptions(() => {
        // A tool's processed output is its result as the model gets it, checked JSON-safe here: one given would be
        // replaced without a word.
        if ((options as FunctionOptions | undefined)?.processedOutput !== undefined) {
          throw new ConfigurationError({
            option: 'processedOutput',
            message:
              "processedOutput is not an option of a tool: its result goes back to the model as it is, checked to be JSON-safe; check the result with 'output'",
            functionName: typeof options.name === 'string' ? options.name : undefined,
          })
        }
        return { ...options, processedOutput: jsonSafe }
      }, 'Tool'),
    )
    const described = readingOptions(() => checkToolDescription(this.name, options), this.name)
    this.description = described.description
    this.needsApproval = described.needsApproval as ApprovalRule<Input>
    this.strict = described.strict
    this.parameters = readingOptions(
      () => parametersOf(this.name, options.input, options.parameters, described.strict),
      this.name,
    )
  }

  /** The result as it is; the step is there so that the JSON-safety check (`processedOutput`) runs. */
  override processOutput(output: Output, _context: RunContext): Output {
    return output
  }
}

/** Checks a result is JSON-safe, as a Standard Schema: what a {@link Tool}'s `processedOutput` is. */
const jsonSafe: StandardSchemaV1 = {
  '~standard': {
    version: 1,
    vendor: 'tinyllm',
    validate(value) {
      try {
        // The copy that was checked goes on, to the journal and the model.
        return { value: jsonSafeResult(value, 'tool') }
      } catch (error) {
        if (!ValidationError.isInstance(error)) throw error
        return { issues: error.issues.map((issue) => ({ message: issue.message, path: [...issue.path] })) }
      }
    },
  },
}

/** Names OpenAI and Anthropic both accept for a tool. */
const toolNamePattern = /^[A-Za-z0-9_-]{1,64}$/

/** The description, approval rule and strictness of a tool, checked; throws a ConfigurationError naming the tool. */
export function checkToolDescription(
  name: string,
  options: ToolDescription<never>,
): { description: string; needsApproval: ApprovalRule<never>; strict: boolean } {
  // A name that is not a string (a final answer's `name: 7`) is refused as it is: `test` would read it as text.
  if (typeof name !== 'string' || !toolNamePattern.test(name)) {
    throw new ConfigurationError({
      option: 'name',
      message: `a tool's name is sent to the model, which accepts 1–64 letters, digits, _ and -; got ${safeStringify(name, 80)}`,
      functionName: typeof name === 'string' ? name : undefined,
    })
  }
  if (typeof options.description !== 'string' || options.description.trim() === '') {
    throw new ConfigurationError({
      option: 'description',
      message: 'a tool needs a description: it is what tells the model when to call it',
      functionName: name,
    })
  }
  // Read once: a getter cannot answer the check one rule and the agent another.
  const given = options.needsApproval
  const needsApproval = given === undefined ? false : given
  if (typeof needsApproval !== 'boolean' && typeof needsApproval !== 'function') {
    throw optionError('needsApproval', 'true, false, or a function of the arguments', needsApproval, name)
  }
  if (options.strict !== undefined && typeof options.strict !== 'boolean') {
    throw optionError('strict', 'true or false', options.strict, name)
  }
  return { description: options.description, needsApproval, strict: options.strict ?? true }
}

/**
 * The JSON Schema of a tool's arguments: given, or converted from its input schema; checked for strict mode when the
 * tool is strict, so that a schema strict mode cannot express fails when the tool is built, not at the first call.
 */
export function parametersOf(
  name: string,
  input: StandardSchemaV1 | undefined,
  parameters: JsonSchema | undefined,
  strict: boolean,
): JsonSchema {
  if (input === undefined && parameters === undefined) {
    throw new ConfigurationError({
      option: 'input',
      message: "a tool needs an input schema: it validates the model's arguments and is sent to the model",
      functionName: name,
    })
  }
  const schema = toJsonSchema(input, {
    ...(parameters === undefined ? {} : { jsonSchema: parameters }),
    option: 'parameters',
    functionName: name,
  })
  if (schema.type !== 'object') {
    throw new ConfigurationError({
      option: 'input',
      message: `a tool's arguments are an object (a model sends named arguments); the schema's type is ${JSON.stringify(schema.type)}`,
      functionName: name,
    })
  }
  if (strict) {
    try {
      toStrictJsonSchema(schema, `${name}.parameters`)
    } catch (cause) {
      throw new ConfigurationError({
        option: 'strict',
        message: `${(cause as Error).message} (or give the tool strict: false)`,
        functionName: name,
        cause,
      })
    }
  }
  return schema
}

/**
 * What `read` returns; options whose reading throws (a getter, a Proxy) are a ConfigurationError naming `owner`, as a
 * Function's own options are. A ConfigurationError `read` throws passes as it is.
 */
export function readingOptions<T>(read: () => T, owner: string): T {
  try {
    return read()
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
}
