import { ConfigurationError, optionError } from '@tinyllm/core'
import { redactAndCut } from '@tinyllm/logger'
import { resolveLocalReference } from './local-reference.js'

/**
 * What a provider's strict mode demands of a JSON schema: its request builder refuses what breaks them before sending,
 * and its loopback server refuses it as the real API does.
 */
export interface StrictSchemaRules {
  /** Every object must say `additionalProperties: false` (OpenAI and Anthropic). */
  readonly closedObjects: boolean
  /** Every property of an object must be listed in `required` (OpenAI). */
  readonly everyPropertyRequired: boolean
  /** The schema itself must be an object schema, not `anyOf` (OpenAI). */
  readonly objectRoot: boolean
  /** Keywords strict mode does not support anywhere (OpenAI: `allOf`, `oneOf`, `not`, …). */
  readonly unsupportedKeywords: ReadonlyArray<string>
  /** How large a strict schema may be; unlimited where unset. */
  readonly limits?: StrictSchemaLimits | undefined
  /**
   * Whether a keyword that constrains values of a type (`minimum` of a number, `maxLength` of a string, `minItems` of an
   * array) is refused with that value; every such keyword is allowed where unset (Anthropic refuses most of them).
   */
  readonly unsupportedConstraint?: ((type: string, keyword: string, value: unknown) => boolean) | undefined
  /**
   * Whether a local `$ref` may refer to a schema it is inside of (a recursive schema, as z.toJSONSchema writes for a zod
   * schema naming itself): OpenAI takes one, Anthropic refuses it. Allowed where unset.
   */
  readonly recursion?: boolean | undefined
}

/**
 * The size limits of a provider's strict mode (OpenAI: 10 levels, 5000 properties, 1000 enum values, 120,000 characters
 * of names and values, 15,000 characters in an enum of more than 250 string values).
 */
export interface StrictSchemaLimits {
  /** Levels of object schemas nested in one another, the root object being the first; a definition starts anew. */
  readonly nestingLevels?: number | undefined
  /** Properties of all object schemas together, definitions included. */
  readonly objectProperties?: number | undefined
  /** Values of all `enum` lists together. */
  readonly enumValues?: number | undefined
  /**
   * Characters of all property names, definition names, string `enum` values and string `const` values together.
   */
  readonly stringLength?: number | undefined
  /** Characters of the values of one `enum` that has more than `values` string values. */
  readonly enumStringLength?: { readonly values: number; readonly characters: number } | undefined
}

/**
 * What the strict mode of some shipped provider refuses, each rule its strictest provider's: OpenAI's unsupported
 * keywords and limits (its structured-outputs guide), Anthropic's refusal of recursive schemas. A schema these rules
 * accept is taken in strict mode by OpenAI and by Anthropic (whose request builder moves the constraints Anthropic
 * refuses into the description). For code that decides on strict mode before it knows the provider, such as a tool of
 * an MCP server; a provider's own rules start from these.
 */
export const portableStrictRules: StrictSchemaRules = Object.freeze({
  closedObjects: true,
  everyPropertyRequired: true,
  objectRoot: true,
  unsupportedKeywords: Object.freeze([
    'allOf',
    'oneOf',
    'not',
    'if',
    'then',
    'else',
    'dependentRequired',
    'dependentSchemas',
    'patternProperties',
    'unevaluatedProperties',
    'propertyNames',
  ]),
  recursion: false,
  limits: Object.freeze({
    nestingLevels: 10,
    objectProperties: 5000,
    enumValues: 1000,
    stringLength: 120_000,
    enumStringLength: Object.freeze({ values: 250, characters: 15_000 }),
  }),
})

/** The first thing in a schema that strict mode refuses. */
export interface StrictSchemaViolation {
  /** The keys leading to the offending schema, e.g. `['properties', 'address']`; empty for the schema itself. */
  readonly path: ReadonlyArray<string>
  /**
   * `root`: not an object schema; `additionalProperties`: an open object; `required`: a property not required;
   * `extraRequired`: a required key that is no property (with `everyPropertyRequired`);
   * `keyword`: an unsupported keyword; `constraint`: constraints of a type that are refused (see `keywords`);
   * `recursion`: a `$ref` to a schema it is inside of (with `recursion: false`); the others: a limit of
   * {@link StrictSchemaLimits} exceeded (the path is empty, but for `enumStringLength`: the enum's).
   */
  readonly rule:
    | 'root'
    | 'additionalProperties'
    | 'required'
    | 'extraRequired'
    | 'keyword'
    | 'constraint'
    | 'recursion'
    | 'nestingLevels'
    | 'objectProperties'
    | 'enumValues'
    | 'stringLength'
    | 'enumStringLength'
  /**
   * The property missing from `required`, the required key that is no property, the unsupported keyword, the root's
   * type, the constrained type, or the recursive `$ref` as written.
   */
  readonly detail?: string | undefined
  /** For a refused constraint: every refused keyword of that schema and type, in alphabetical order. */
  readonly keywords?: ReadonlyArray<string> | undefined
  /** For an exceeded limit: how many the schema has. */
  readonly count?: number | undefined
  /** For an exceeded limit: the limit. */
  readonly limit?: number | undefined
}

/**
 * What the walk counts for the limits, the schemas it is inside of (a schema met inside itself is not entered, and the
 * walk is then `cut`), what each schema walked whole added to the counts, by where it was met, and the schema local
 * `$ref`s point into.
 */
interface Tally {
  nestingLevels: number
  objectProperties: number
  enumValues: number
  stringLength: number
  cut: boolean
  readonly within: Set<object>
  readonly walked: Map<object, Map<string, Counts>>
  readonly root: unknown
}

type Counts = Pick<Tally, 'nestingLevels' | 'objectProperties' | 'enumValues' | 'stringLength'>

type Schema = Record<string, unknown>

/**
 * Finds the first part of `schema` that a provider's strict mode refuses under `rules`, depth first in the order of
 * the schema's keys, or `undefined` when strict mode accepts it. Nested objects, array items, `anyOf`/`allOf`/`oneOf`
 * branches and `$defs`/`definitions` are all checked; the size limits, if any, once the whole schema passed. Where
 * `rules` refuse recursion, a local `$ref` (`#`, `#/$defs/Name`, any JSON pointer into the schema) is followed to the
 * schema it points to, and one pointing to a schema it is inside of is the violation; a `$ref` that points nowhere in
 * the schema is left to the provider. A schema found inside itself (an object graph no JSON can hold) is not entered
 * again, one object used in many places is walked once for each depth it is met at (and counted at every use), and
 * what lies more than 64 schemas (or `$ref`s followed) deep is not looked at, so the walk always ends, and soon.
 * `rules` that are not {@link StrictSchemaRules} are a ConfigurationError.
 *
 * @example
 * findStrictSchemaViolation({ type: 'object', properties: { a: { type: 'string' } } }, openAIRules)
 * // { path: [], rule: 'additionalProperties' }
 */
export function findStrictSchemaViolation(
  schema: unknown,
  rules: StrictSchemaRules,
): StrictSchemaViolation | undefined {
  checkRules(rules)
  if (rules.objectRoot && !(isSchema(schema) && isObjectSchema(schema) && schema.anyOf === undefined)) {
    const type = isSchema(schema) ? schema.type : undefined
    return { path: [], rule: 'root', detail: typeof type === 'string' ? type : 'none' }
  }
  const tally: Tally = {
    nestingLevels: 0,
    objectProperties: 0,
    enumValues: 0,
    stringLength: 0,
    cut: false,
    within: new Set(),
    walked: new Map(),
    root: schema,
  }
  const found = check(schema, [], rules, 0, 0, tally)
  if (found !== undefined || rules.limits === undefined) return found
  for (const rule of ['nestingLevels', 'objectProperties', 'enumValues', 'stringLength'] as const) {
    const limit = rules.limits[rule]
    if (limit !== undefined && tally[rule] > limit) return { path: [], rule, count: tally[rule], limit }
  }
  return undefined
}

/** How {@link assertStrictSchemaAccepted} names a refused schema. */
export interface StrictSchemaRefusal {
  /** The setting the schema came from, e.g. `responseFormat.schema` or `tools[0].parameters`. */
  readonly option: string
  /** The provider whose strict mode refuses it, e.g. `OpenAI`. */
  readonly provider: string
  /**
   * The provider's words for a violation, as its API (and its loopback server) would answer it; a recursive `$ref` is
   * worded with the way out instead.
   */
  readonly describe: (violation: StrictSchemaViolation) => string
}

const verdicts = new WeakMap<StrictSchemaRules, WeakMap<object, StrictSchemaViolation | null>>()

/**
 * Throws a ConfigurationError when a provider's strict mode refuses `schema` under `rules` — a schema that
 * `toStrictJsonSchema` made as valid as it could, but that is too deep, too large or uses a keyword the provider does
 * not take — naming the option, the provider's words and where: `responseFormat.schema: 11 levels of nesting exceeds
 * limit of 10 at #, …`, or for a recursive schema the `$ref` and how to bound it. The verdict is cached per schema
 * object and rules, so a schema sent with every call is walked once. A provider calls it on the schema it is about to
 * send, with the rules its loopback server refuses by.
 *
 * @example
 * assertStrictSchemaAccepted(toStrictJsonSchema(schema, 'responseFormat.schema').schema, openAIStrictRules, {
 *   option: 'responseFormat.schema',
 *   provider: 'OpenAI',
 *   describe: (violation) => violation.rule,
 * })
 */
export function assertStrictSchemaAccepted(
  schema: object,
  rules: StrictSchemaRules,
  refusal: StrictSchemaRefusal,
): void {
  const violation = verdictOf(schema, rules)
  if (violation === undefined) return
  const { option, provider, describe } = refusal
  const where = redactAndCut(['#', ...violation.path].join('/'), 200)
  const message =
    violation.rule === 'recursion'
      ? `${option}: the $ref at "${where}" refers to a schema it is inside of, and ${provider}'s strict mode refuses recursive schemas; bound the depth (list each level's properties), or turn strict off`
      : `${option}: ${describe(violation).replace(/\.$/, '')} at ${where}, which ${provider}'s strict mode refuses; simplify the schema, or turn strict off`
  throw new ConfigurationError({ option, message })
}

/** {@link findStrictSchemaViolation}'s answer, kept for a schema object and rules that can key a WeakMap. */
function verdictOf(schema: unknown, rules: StrictSchemaRules): StrictSchemaViolation | undefined {
  if (!isSchema(schema) || typeof rules !== 'object' || rules === null) return findStrictSchemaViolation(schema, rules)
  let known = verdicts.get(rules)
  if (known === undefined) {
    known = new WeakMap()
    verdicts.set(rules, known)
  }
  let violation = known.get(schema)
  if (violation === undefined) {
    violation = findStrictSchemaViolation(schema, rules) ?? null
    known.set(schema, violation)
  }
  return violation ?? undefined
}

/**
 * Rules a walk could not follow: missing, with keywords that are not a list, a constraint rule that is no function, a
 * recursion rule that is no boolean.
 */
function checkRules(rules: StrictSchemaRules): void {
  const owner = 'findStrictSchemaViolation'
  if (typeof rules !== 'object' || rules === null) throw optionError('rules', 'StrictSchemaRules', rules, owner)
  const { unsupportedKeywords, unsupportedConstraint, limits, recursion } = rules
  if (!Array.isArray(unsupportedKeywords) || !unsupportedKeywords.every((keyword) => typeof keyword === 'string')) {
    throw optionError('rules.unsupportedKeywords', 'a list of keywords', unsupportedKeywords, owner)
  }
  if (unsupportedConstraint !== undefined && typeof unsupportedConstraint !== 'function') {
    throw optionError('rules.unsupportedConstraint', 'a function', unsupportedConstraint, owner)
  }
  if (limits !== undefined && (typeof limits !== 'object' || limits === null)) {
    throw optionError('rules.limits', 'an object of limits', limits, owner)
  }
  if (recursion !== undefined && typeof recursion !== 'boolean') {
    throw optionError('rules.recursion', 'a boolean', recursion, owner)
  }
}

/** `levels`: the object schemas around this one. */
function check(
  schema: unknown,
  path: ReadonlyArray<string>,
  rules: StrictSchemaRules,
  depth: number,
  levels: number,
  tally: Tally,
): StrictSchemaViolation | undefined {
  // A schema that contains itself is no JSON a provider could receive; walked, each branch back to it would multiply the
  // walk at every level, and a call would never return.
  if (!isSchema(schema) || depth > 64) return undefined
  if (tally.within.has(schema)) {
    tally.cut = true
    return undefined
  }
  // A schema used in many places (one object under two properties, at every level) is walked once for each place and
  // depth: walked again, the walk would double at every level. It counts again, as it is sent again in the JSON.
  const place = `${levels}:${depth}`
  const known = tally.walked.get(schema)?.get(place)
  if (known !== undefined) {
    tally.objectProperties += known.objectProperties
    tally.enumValues += known.enumValues
    tally.stringLength += known.stringLength
    tally.nestingLevels = Math.max(tally.nestingLevels, known.nestingLevels)
    return undefined
  }
  const outer = { ...tally }
  tally.nestingLevels = 0
  tally.cut = false
  tally.within.add(schema)
  try {
    const keyword = rules.unsupportedKeywords.find((name) => name in schema)
    if (keyword !== undefined) return { path, rule: 'keyword', detail: keyword }
    const constraint = constraintViolation(schema, path, rules)
    if (constraint !== undefined) return constraint
    if (isSchema(schema.properties)) tally.objectProperties += Object.keys(schema.properties).length
    if (Array.isArray(schema.enum)) tally.enumValues += schema.enum.length
    const enumTooLong = countStrings(schema, path, rules, tally)
    if (enumTooLong !== undefined) return enumTooLong
    let inner = levels
    if (isObjectSchema(schema)) {
      inner += 1
      if (inner > tally.nestingLevels) tally.nestingLevels = inner
      if (rules.closedObjects && schema.additionalProperties !== false) return { path, rule: 'additionalProperties' }
      if (rules.everyPropertyRequired && isSchema(schema.properties)) {
        const required = Array.isArray(schema.required) ? schema.required : []
        const missing = Object.keys(schema.properties).find((name) => !required.includes(name))
        if (missing !== undefined) return { path, rule: 'required', detail: missing }
        // A required key no property names: no object could have it and be closed.
        const extra = required.find(
          (name) => typeof name !== 'string' || !Object.hasOwn(schema.properties as Schema, name),
        )
        if (extra !== undefined) return { path, rule: 'extraRequired', detail: String(extra) }
      }
    }
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' || key === '$defs' || key === 'definitions') {
        if (!isSchema(value)) continue
        // A definition is counted from its own root: where it is used is not known here.
        const childLevels = key === 'properties' ? inner : 0
        for (const [name, child] of Object.entries(value)) {
          const found = check(child, [...path, key, name], rules, depth + 1, childLevels, tally)
          if (found !== undefined) return found
        }
      } else if (key === 'items' || key === 'not' || key === 'additionalProperties') {
        const found = check(value, [...path, key], rules, depth + 1, inner, tally)
        if (found !== undefined) return found
      } else if (key === '$ref' && rules.recursion === false) {
        const found = followReference(value, path, rules, depth, tally)
        if (found !== undefined) return found
      }
      if (
        Array.isArray(value) &&
        (key === 'anyOf' || key === 'allOf' || key === 'oneOf' || key === 'prefixItems' || key === 'items')
      ) {
        for (const [index, child] of value.entries()) {
          const found = check(child, [...path, key, String(index)], rules, depth + 1, inner, tally)
          if (found !== undefined) return found
        }
      }
    }
    return undefined
  } finally {
    tally.within.delete(schema)
    // A walk cut short by a schema inside itself depends on the way in: it is not kept. One that found a violation ends.
    if (!tally.cut) {
      const counts = {
        nestingLevels: tally.nestingLevels,
        objectProperties: tally.objectProperties - outer.objectProperties,
        enumValues: tally.enumValues - outer.enumValues,
        stringLength: tally.stringLength - outer.stringLength,
      }
      const places = tally.walked.get(schema) ?? new Map<string, Counts>()
      tally.walked.set(schema, places.set(place, counts))
    }
    tally.nestingLevels = Math.max(outer.nestingLevels, tally.nestingLevels)
    tally.cut ||= outer.cut
  }
}

/**
 * Where `rules` refuse recursion: a `$ref` (at `path`) to a schema the walk is inside of is the violation; the schema
 * any other local `$ref` points to is walked, at its own path, for what it refers to in turn. It is counted where it is
 * defined, not here: what it adds to the tally is taken back. A `$ref` that points nowhere in the schema is not judged.
 */
function followReference(
  ref: unknown,
  path: ReadonlyArray<string>,
  rules: StrictSchemaRules,
  depth: number,
  tally: Tally,
): StrictSchemaViolation | undefined {
  const target = resolveLocalReference(ref, tally.root)
  if (target === undefined) return undefined
  if (tally.within.has(target.schema)) return { path, rule: 'recursion', detail: String(ref) }
  const { nestingLevels, objectProperties, enumValues, stringLength } = tally
  const found = check(target.schema, target.path, rules, depth + 1, 0, tally)
  Object.assign(tally, { nestingLevels, objectProperties, enumValues, stringLength })
  return found
}

/**
 * Adds the characters of `schema`'s own property names, definition names, string `enum` values and string `const` to
 * the tally; an `enum` of more string values than `rules` allow at length, whose values are too long together, is a
 * violation at `path`.
 */
function countStrings(
  schema: Schema,
  path: ReadonlyArray<string>,
  rules: StrictSchemaRules,
  tally: Tally,
): StrictSchemaViolation | undefined {
  for (const key of ['properties', '$defs', 'definitions'] as const) {
    const map = schema[key]
    if (isSchema(map)) for (const name of Object.keys(map)) tally.stringLength += name.length
  }
  if (typeof schema.const === 'string') tally.stringLength += schema.const.length
  if (!Array.isArray(schema.enum)) return undefined
  let values = 0
  let characters = 0
  for (const value of schema.enum) {
    if (typeof value !== 'string') continue
    values += 1
    characters += value.length
  }
  tally.stringLength += characters
  const limit = rules.limits?.enumStringLength
  if (limit === undefined || values <= limit.values || characters <= limit.characters) return undefined
  return { path, rule: 'enumStringLength', count: characters, limit: limit.characters }
}

/** The first type of `schema` (as listed in its `type`) with constraints `rules` refuse, naming all of them. */
function constraintViolation(
  schema: Schema,
  path: ReadonlyArray<string>,
  rules: StrictSchemaRules,
): StrictSchemaViolation | undefined {
  const refused = rules.unsupportedConstraint
  if (refused === undefined) return undefined
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  for (const type of types) {
    if (typeof type !== 'string') continue
    const keywords = Object.keys(schema)
      .filter((key) => refused(type, key, schema[key]))
      .sort()
    if (keywords.length > 0) return { path, rule: 'constraint', detail: type, keywords }
  }
  return undefined
}

function isObjectSchema(schema: Schema): boolean {
  const type = schema.type
  return type === 'object' || (Array.isArray(type) && type.includes('object')) || isSchema(schema.properties)
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
