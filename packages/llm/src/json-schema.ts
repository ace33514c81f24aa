import {
  ConfigurationError,
  checkKnownOptions,
  checkOneOf,
  optionError,
  type StandardSchemaV1,
  unreadableOption,
} from '@tinyllm/core'

/** A JSON Schema document, as sent to providers in response formats and tool definitions. */
export type JsonSchema = Readonly<Record<string, unknown>>

/**
 * The part of the Standard JSON Schema interface (https://standardschema.dev, `~standard.jsonSchema`) that tinyllm
 * uses. zod ≥ 4.2 implements it, as do other schema libraries; core reads it without depending on any of them.
 */
export interface StandardJsonSchemaConverter {
  readonly input: (options: { readonly target: string }) => Record<string, unknown>
  readonly output: (options: { readonly target: string }) => Record<string, unknown>
}

/** Options of {@link toJsonSchema}. */
export interface ToJsonSchemaOptions {
  /** Used as is instead of asking the schema, for libraries without Standard JSON Schema. */
  readonly jsonSchema?: JsonSchema
  /** JSON Schema dialect asked of the schema library. Default `draft-2020-12`. */
  readonly target?: 'draft-2020-12' | 'draft-07'
  /** Names the option in the error when no JSON Schema can be had. Default `jsonSchema`. */
  readonly option?: string
  readonly functionName?: string
}

/**
 * The JSON Schema of what a Standard Schema accepts (its input side: what the model must produce before the schema
 * parses it), from the schema's `~standard.jsonSchema` converter, or `options.jsonSchema` when given. The top-level
 * `$schema` marker is left out, as providers do not want it. Throws {@link ConfigurationError} when neither is
 * available or the library cannot convert the schema (e.g. a transform).
 *
 * @example
 * const parameters = toJsonSchema(z.object({ city: z.string() }))
 * const tools = [{ name: 'weather', description: 'Current weather', parameters }]
 */
export function toJsonSchema(schema: StandardSchemaV1 | undefined, options: ToJsonSchemaOptions = {}): JsonSchema {
  const { jsonSchema, target, option, functionName } = readOptions(options)
  const where = functionName === undefined ? {} : { functionName }
  if (jsonSchema !== undefined) {
    if (typeof jsonSchema !== 'object' || jsonSchema === null || Array.isArray(jsonSchema)) {
      throw optionError(option, 'a JSON Schema object', jsonSchema, functionName)
    }
    try {
      return withoutDialect(jsonSchema as JsonSchema)
    } catch (error) {
      throw unreadableOption(error, option, functionName)
    }
  }
  let converter: Partial<StandardJsonSchemaConverter> | undefined
  try {
    converter = (schema?.['~standard'] as { jsonSchema?: Partial<StandardJsonSchemaConverter> } | undefined)?.jsonSchema
  } catch (cause) {
    // A schema whose properties throw when read (a getter, a Proxy) is refused as a bad option, typed.
    throw new ConfigurationError({
      option,
      message: `the schema could not be read (${describe(cause)})`,
      cause,
      ...where,
    })
  }
  if (typeof converter?.input !== 'function') {
    throw new ConfigurationError({
      option,
      message:
        'the schema does not expose Standard JSON Schema (`~standard.jsonSchema`, e.g. zod ≥ 4.2); pass its JSON Schema explicitly, e.g. `jsonSchema: z.toJSONSchema(schema)`',
      ...where,
    })
  }
  let document: unknown
  try {
    document = converter.input({ target })
  } catch (cause) {
    throw new ConfigurationError({
      option,
      message: `the schema library could not convert the schema to JSON Schema (${describe(cause)}); pass it explicitly as \`jsonSchema\``,
      cause,
      ...where,
    })
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ConfigurationError({
      option,
      message: 'the schema library gave no JSON Schema object for the schema; pass it explicitly as `jsonSchema`',
      ...where,
    })
  }
  return withoutDialect(document as JsonSchema)
}

const owner = 'toJsonSchema'
const optionNames: ReadonlySet<string> = new Set(['jsonSchema', 'target', 'option', 'functionName'])
const targets: ReadonlyArray<NonNullable<ToJsonSchemaOptions['target']>> = ['draft-2020-12', 'draft-07']

/**
 * The options, read once and checked: options that are not an object, a key nobody reads (a typo), a `target` no
 * schema library knows, an `option` or `functionName` that is not a string, or a getter or Proxy that throws are a
 * ConfigurationError, not a plain error nor ignored.
 */
function readOptions(options: ToJsonSchemaOptions): {
  jsonSchema: unknown
  target: NonNullable<ToJsonSchemaOptions['target']>
  option: string
  functionName: string | undefined
} {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  try {
    checkKnownOptions(options, optionNames, owner)
    const { jsonSchema, target, option, functionName } = options
    // Both name the error: anything but a string would be shown as its string form, or throw when shown.
    if (option !== undefined && typeof option !== 'string') throw optionError('option', 'a string', option, owner)
    if (functionName !== undefined && typeof functionName !== 'string')
      throw optionError('functionName', 'a string', functionName, owner)
    return {
      jsonSchema,
      target: checkOneOf(target, 'target', targets, owner) ?? 'draft-2020-12',
      option: option ?? 'jsonSchema',
      functionName,
    }
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
}

function describe(cause: unknown): string {
  try {
    return cause instanceof Error ? cause.message : String(cause)
  } catch {
    return 'an error that cannot be shown'
  }
}

function withoutDialect(document: JsonSchema): JsonSchema {
  if (!Object.hasOwn(document, '$schema')) return document
  const { $schema: _dialect, ...rest } = document
  return rest
}
