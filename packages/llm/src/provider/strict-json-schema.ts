import { ConfigurationError, optionError } from '@tinyllm/core'
import { redactAndCut } from '@tinyllm/logger'
import type { ChatChoice, ChatRequest, ChatResult, ToolCall } from '../chat-model.js'
import { stripCodeFence } from '../code-fence.js'
import type { JsonSchema } from '../json-schema.js'
import { resolveLocalReference } from './local-reference.js'
import type { ProviderProfile } from './provider-profile.js'

/** A JSON schema rewritten for a provider's strict mode, and the way back for what a model answers under it. */
export interface StrictJsonSchema {
  /** The schema to send: every object closed, every property required, the optional ones nullable. */
  readonly schema: JsonSchema
  /** Whether an answer may hold a `null` that {@link StrictJsonSchema.restore} turns back into an absent property. */
  readonly restores: boolean
  /**
   * A value the model produced under {@link StrictJsonSchema.schema}, as the original schema wants it: a `null` for a
   * property the original made optional, and that does not accept `null` itself, is removed — `{ "note": null }` becomes
   * `{}` for `note: z.string().optional()` — so that the caller's schema validates it. Returns the value itself when
   * nothing changed.
   */
  restore(value: unknown): unknown
}

type Schema = Record<string, unknown>

const cache = new WeakMap<object, StrictJsonSchema>()

/**
 * A JSON schema made valid for strict structured output and strict tools (OpenAI's `strict: true`, Anthropic's output
 * format and strict tools), which accept a subset of JSON Schema and read it their own way:
 *
 * - every object is closed (`additionalProperties: false`) — an object that lists no properties (a record, a free-form
 *   object) cannot be, and is a {@link ConfigurationError} naming where it is: list its properties or turn strict off;
 * - every property is listed in `required`; one that was optional becomes nullable (`type: ['string', 'null']`, or an
 *   `anyOf` with `{ type: 'null' }`), and {@link StrictJsonSchema.restore} reads the model's `null` back as "absent";
 * - `oneOf` becomes `anyOf` (the caller's schema still checks that exactly one matches).
 *
 * Nested objects, arrays, `anyOf`/`allOf` branches and `$defs`/`definitions` are rewritten alike; `$ref`s are kept. The
 * result is cached per schema object, so a schema sent with every call is rewritten once.
 *
 * @param option - names the schema in the error, e.g. `responseFormat.schema` or `tools[0].parameters`.
 */
export function toStrictJsonSchema(schema: JsonSchema, option = 'schema'): StrictJsonSchema {
  if (!isSchema(schema)) throw optionError(option, 'a JSON Schema (an object)', schema)
  const cached = cache.get(schema)
  if (cached !== undefined) return cached
  const state: StrictState = { restores: false, option, ancestors: new Set() }
  const strict = strictNode(schema, '#', state) as JsonSchema
  const result: StrictJsonSchema = {
    schema: strict,
    restores: state.restores,
    restore: state.restores ? (value) => restoreValue(value, schema, { root: schema, steps: 0 }, 0) : (value) => value,
  }
  cache.set(schema, result)
  return result
}

/**
 * The result of a request sent with strict schemas, read back as the original schemas want it: for the JSON-schema
 * response format, each choice's JSON text; for strict tools, the arguments of their calls (see
 * {@link StrictJsonSchema.restore}). Text that is not JSON, or nested too deep to be written back, is left as it is, for
 * the caller's validation to report.
 * Returns the result itself when nothing needed restoring.
 *
 * @param provider - when the provider enforces a JSON-schema response format strictly (and was sent its strict schema),
 *   as its profile says: `strictResponseFormat: 'when-asked'` (the default), as OpenAI, for a format with
 *   `strict: true`; `'always'`, as Anthropic's output format.
 *
 * @example
 * return restoreStrictAnswers(toChatResult(completion), request, openAIProfile)
 */
export function restoreStrictAnswers(
  result: ChatResult,
  request: ChatRequest,
  provider: Pick<ProviderProfile, 'strictResponseFormat'>,
): ChatResult {
  const format = request.responseFormat
  const answer =
    format?.type === 'json_schema' && (provider.strictResponseFormat === 'always' || format.strict === true)
      ? toStrictJsonSchema(format.schema)
      : undefined
  const tools = strictToolSchemas(request)
  if (answer?.restores !== true && tools === undefined) return result
  let changed = false
  const choices = result.choices.map((choice): ChatChoice => {
    const message = choice.message
    const content =
      answer?.restores === true && message.content !== null
        ? restoreJson(message.content, answer, true)
        : message.content
    let toolCalls = message.toolCalls
    if (tools !== undefined && toolCalls !== undefined) {
      const restoredCalls = toolCalls.map((call): ToolCall => {
        const schema = tools.get(call.name)
        const restored = schema === undefined ? call.arguments : restoreJson(call.arguments, schema)
        return restored === call.arguments ? call : { ...call, arguments: restored }
      })
      if (restoredCalls.some((call, index) => call !== toolCalls?.[index])) toolCalls = restoredCalls
    }
    if (content === message.content && toolCalls === message.toolCalls) return choice
    changed = true
    return { ...choice, message: { ...message, content, ...(toolCalls === undefined ? {} : { toolCalls }) } }
  })
  return changed ? { ...result, choices } : result
}

function strictToolSchemas(request: ChatRequest): Map<string, StrictJsonSchema> | undefined {
  let schemas: Map<string, StrictJsonSchema> | undefined
  for (const [index, tool] of (request.tools ?? []).entries()) {
    if (tool.strict !== true) continue
    const strict = toStrictJsonSchema(tool.parameters, `tools[${index}].parameters`)
    if (!strict.restores) continue
    schemas ??= new Map()
    schemas.set(tool.name, strict)
  }
  return schemas
}

/**
 * `text` with its JSON restored — for an `answer`, the JSON inside a Markdown code fence too, as LLMCall reads it, then
 * written back without the fence; as it is when it is not JSON, or when the restored value cannot be written back (an
 * answer nested deeper than the stack allows): the caller's validation then reports it, as it would without strict.
 */
function restoreJson(text: string, schema: StrictJsonSchema, answer = false): string {
  try {
    const value: unknown = JSON.parse(answer ? stripCodeFence(text) : text)
    const restored = schema.restore(value)
    return restored === value ? text : JSON.stringify(restored)
  } catch {
    return text
  }
}

/** What rewriting one schema keeps: whether an answer needs restoring, its name, and the schemas being rewritten. */
interface StrictState {
  restores: boolean
  readonly option: string
  /** The schemas from the root down to the one being rewritten: one among its own ancestors is a cycle. */
  readonly ancestors: Set<object>
}

/** The deepest nesting rewritten: no schema a provider accepts comes near it (OpenAI allows 5 levels, say). */
const maxSchemaDepth = 1_000

/**
 * A schema node rewritten for strict mode. A schema object that contains itself (JSON has no cycles: a `$ref` says
 * that) or nests past {@link maxSchemaDepth} is a ConfigurationError naming where, not a stack overflow.
 */
function strictNode(node: unknown, path: string, state: StrictState): unknown {
  if (!isSchema(node)) return node
  const problem = state.ancestors.has(node)
    ? 'contains itself (a cycle; write a recursive schema with $ref)'
    : state.ancestors.size >= maxSchemaDepth
      ? `is nested more than ${maxSchemaDepth} levels deep`
      : undefined
  if (problem !== undefined) {
    const where = redactAndCut(path, 200)
    throw new ConfigurationError({
      option: state.option,
      message: `${state.option}: the schema at ${where} ${problem}`,
    })
  }
  state.ancestors.add(node)
  try {
    return strictObject(node, path, state)
  } finally {
    state.ancestors.delete(node)
  }
}

function strictObject(node: Schema, path: string, state: StrictState): unknown {
  const copy: Schema = { ...node }
  if (Array.isArray(copy.oneOf)) {
    copy.anyOf = [...(Array.isArray(copy.anyOf) ? copy.anyOf : []), ...copy.oneOf]
    delete copy.oneOf
  }
  for (const key of ['anyOf', 'allOf', 'prefixItems'] as const) {
    const branches = copy[key]
    if (Array.isArray(branches))
      copy[key] = branches.map((branch, index) => strictNode(branch, `${path}/${key}/${index}`, state))
  }
  for (const key of ['$defs', 'definitions'] as const) {
    const definitions = copy[key]
    if (isSchema(definitions)) {
      copy[key] = Object.fromEntries(
        Object.entries(definitions).map(([name, definition]) => [
          name,
          strictNode(definition, `${path}/${key}/${name}`, state),
        ]),
      )
    }
  }
  if (Array.isArray(copy.items))
    copy.items = copy.items.map((item, index) => strictNode(item, `${path}/items/${index}`, state))
  else if (isSchema(copy.items)) copy.items = strictNode(copy.items, `${path}/items`, state)
  if (!isObjectSchema(copy)) return copy
  const properties = copy.properties
  if (!isSchema(properties)) {
    if (copy.additionalProperties === false) return copy
    throw new ConfigurationError({
      option: state.option,
      message: `${state.option}: strict mode needs every object's properties listed, and the object at ${path} lists none (a record or a free-form object); list its properties, or turn strict off`,
    })
  }
  const required = new Set(Array.isArray(copy.required) ? copy.required : [])
  // Built from entries, so a property named `__proto__` (JSON.parse keeps it as a key of its own) stays one.
  const strictProperties: Schema = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => {
      const strictProperty = strictNode(property, `${path}/properties/${name}`, state)
      if (required.has(name) || acceptsNull(property)) return [name, strictProperty]
      state.restores = true
      return [name, nullable(strictProperty)]
    }),
  )
  copy.properties = strictProperties
  copy.required = Object.keys(strictProperties)
  copy.additionalProperties = false
  return copy
}

/** The schema, also accepting `null`: a type list gains `'null'`, anything else is wrapped in an `anyOf`. */
function nullable(schema: unknown): unknown {
  if (!isSchema(schema)) return schema
  const type = schema.type
  const primitive = (name: unknown) =>
    name === 'string' || name === 'number' || name === 'integer' || name === 'boolean'
  const canListNull =
    schema.$ref === undefined &&
    schema.anyOf === undefined &&
    schema.const === undefined &&
    (primitive(type) || (Array.isArray(type) && type.every(primitive)))
  if (!canListNull) return { anyOf: [schema, { type: 'null' }] }
  const copy: Schema = { ...schema, type: [...(Array.isArray(type) ? type : [type]), 'null'] }
  if (Array.isArray(schema.enum)) copy.enum = [...schema.enum, null]
  return copy
}

/** Whether a schema lets `null` through (as far as can be told without resolving `$ref`s). */
function acceptsNull(schema: unknown): boolean {
  if (schema === true) return true
  if (!isSchema(schema)) return false
  if (Object.keys(schema).every((key) => key === 'description' || key === 'title' || key === 'default')) return true
  const type = schema.type
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true
  if (schema.const === null) return true
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key]
    if (Array.isArray(branches) && branches.some(acceptsNull)) return true
  }
  return false
}

/** One restoring of an answer: the schema its `$ref`s point into, and how many steps it has taken. */
interface Walk {
  readonly root: JsonSchema
  steps: number
}

/**
 * The most steps (a value walked along a schema) one answer is restored in. A schema whose branches lead back to
 * itself, or to two schemas that each do, would otherwise take a number of steps exponential in its depth (seconds for
 * 20 levels, forever for a recursive `$ref`), on the thread, after the answer came; past it, the rest of the answer is
 * left as it is, for the caller's schema to judge.
 */
const maxRestoreSteps = 1_000_000

/**
 * Walks `value` along the original `schema`, dropping the `null`s the strict rewrite let in. `applied` holds the schemas
 * already walked for this value (through `allOf`/`anyOf` branches): each is walked once, so a schema whose branches
 * name it again (`allOf: [{ $ref: '#/$defs/A' }, …]` inside `A`) costs one walk, not one per path to it.
 */
function restoreValue(
  value: unknown,
  schema: unknown,
  walk: Walk,
  depth: number,
  applied = new Set<Schema>(),
): unknown {
  if (depth > 64 || !isSchema(schema) || value === null || typeof value !== 'object') return value
  if (++walk.steps > maxRestoreSteps) return value
  const target = schema.$ref === undefined ? schema : resolveLocalReference(schema.$ref, walk.root)?.schema
  if (target === undefined || applied.has(target)) return value
  applied.add(target)
  if (Array.isArray(value)) return restoreItems(value, target, walk, depth)
  let result = value as Record<string, unknown>
  const properties = target.properties
  if (isSchema(properties)) {
    const required = new Set(Array.isArray(target.required) ? target.required : [])
    for (const [name, item] of Object.entries(value)) {
      const property = Object.hasOwn(properties, name) ? properties[name] : undefined
      if (property === undefined) continue
      if (item === null && !required.has(name) && !acceptsNull(property)) {
        if (result === value) result = { ...value }
        delete result[name]
        continue
      }
      const restored = restoreValue(item, property, walk, depth + 1)
      if (restored !== item) {
        if (result === value) result = { ...value }
        // Defined, not assigned: an answer's key `__proto__` is a key of its own, not the copy's prototype.
        Object.defineProperty(result, name, { value: restored, enumerable: true, writable: true, configurable: true })
      }
    }
  }
  for (const branch of matchingBranches(result, target, walk.root))
    result = restoreValue(result, branch, walk, depth + 1, applied) as typeof result
  return result
}

function restoreItems(value: unknown[], schema: Schema, walk: Walk, depth: number): unknown[] {
  const prefix = Array.isArray(schema.prefixItems)
    ? schema.prefixItems
    : Array.isArray(schema.items)
      ? schema.items
      : []
  const rest = isSchema(schema.items) ? schema.items : undefined
  let result = value
  for (let index = 0; index < value.length; index++) {
    const itemSchema = index < prefix.length ? prefix[index] : rest
    if (itemSchema === undefined) continue
    const restored = restoreValue(value[index], itemSchema, walk, depth + 1)
    if (restored !== value[index]) {
      if (result === value) result = [...value]
      result[index] = restored
    }
  }
  return result
}

/**
 * `allOf` branches all apply; of `anyOf`/`oneOf`, the object branch (a `$ref` resolved) that names every key of the
 * value and whose fixed values (`const`, `enum` — a union's discriminator) the value has, else the first that names
 * every key: members of a union often share their keys, and only the one the answer is of says which nulls it takes.
 */
function matchingBranches(value: Record<string, unknown>, schema: Schema, root: JsonSchema): unknown[] {
  const branches = Array.isArray(schema.allOf) ? [...schema.allOf] : []
  const keys = Object.keys(value)
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key]
    if (!Array.isArray(options)) continue
    let namesEveryKey: unknown
    for (const option of options) {
      const branch =
        isSchema(option) && option.$ref !== undefined ? resolveLocalReference(option.$ref, root)?.schema : option
      if (!isSchema(branch)) continue
      const properties = branch.properties
      if (!isSchema(properties) || !keys.every((name) => Object.hasOwn(properties, name))) continue
      if (hasFixedValues(value, properties)) {
        namesEveryKey = option
        break
      }
      namesEveryKey ??= option
    }
    if (namesEveryKey !== undefined) branches.push(namesEveryKey)
  }
  return branches
}

/** Whether each property of `value` that `properties` fixes to a `const` or an `enum` of plain values holds one of them. */
function hasFixedValues(value: Record<string, unknown>, properties: Schema): boolean {
  for (const name of Object.keys(value)) {
    const property = properties[name]
    if (!isSchema(property)) continue
    const item = value[name]
    if (Object.hasOwn(property, 'const') && isPlain(property.const) && property.const !== item) return false
    if (Array.isArray(property.enum) && property.enum.every(isPlain) && !property.enum.includes(item)) return false
  }
  return true
}

function isPlain(value: unknown): boolean {
  return value === null || typeof value !== 'object'
}

function isObjectSchema(schema: Schema): boolean {
  const type = schema.type
  return type === 'object' || (Array.isArray(type) && type.includes('object')) || isSchema(schema.properties)
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
