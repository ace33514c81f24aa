/** What a provider's strict mode demands of a JSON schema, for a loopback server to refuse what the real API refuses. */
export interface StrictSchemaRules {
  /** Every object must say `additionalProperties: false` (OpenAI and Anthropic). */
  readonly closedObjects: boolean
  /** Every property of an object must be listed in `required` (OpenAI). */
  readonly everyPropertyRequired: boolean
  /** The schema itself must be an object schema, not `anyOf` (OpenAI). */
  readonly objectRoot: boolean
  /** Keywords strict mode does not support anywhere (OpenAI: `allOf`, `oneOf`, `not`, …). */
  readonly unsupportedKeywords: ReadonlyArray<string>
}

/** The first thing in a schema that strict mode refuses. */
export interface StrictSchemaViolation {
  /** The keys leading to the offending schema, e.g. `['properties', 'address']`; empty for the schema itself. */
  readonly path: ReadonlyArray<string>
  /** `root`: not an object schema; `additionalProperties`: an open object; `required`: a property not required. */
  readonly rule: 'root' | 'additionalProperties' | 'required' | 'keyword'
  /** The property missing from `required`, the unsupported keyword, or the root's type. */
  readonly detail?: string | undefined
}

type Schema = Record<string, unknown>

/**
 * Finds the first part of `schema` that a provider's strict mode refuses under `rules`, depth first in the order of
 * the schema's keys, or `undefined` when strict mode accepts it. Nested objects, array items, `anyOf`/`allOf`/`oneOf`
 * branches and `$defs`/`definitions` are all checked.
 *
 * @example
 * findStrictSchemaViolation({ type: 'object', properties: { a: { type: 'string' } } }, openAIRules)
 * // { path: [], rule: 'additionalProperties' }
 */
export function findStrictSchemaViolation(
  schema: unknown,
  rules: StrictSchemaRules,
): StrictSchemaViolation | undefined {
  if (rules.objectRoot && !(isSchema(schema) && isObjectSchema(schema) && schema.anyOf === undefined)) {
    const type = isSchema(schema) ? schema.type : undefined
    return { path: [], rule: 'root', detail: typeof type === 'string' ? type : 'none' }
  }
  return check(schema, [], rules, 0)
}

function check(
  schema: unknown,
  path: ReadonlyArray<string>,
  rules: StrictSchemaRules,
  depth: number,
): StrictSchemaViolation | undefined {
  if (!isSchema(schema) || depth > 64) return undefined
  const keyword = rules.unsupportedKeywords.find((name) => name in schema)
  if (keyword !== undefined) return { path, rule: 'keyword', detail: keyword }
  if (isObjectSchema(schema)) {
    if (rules.closedObjects && schema.additionalProperties !== false) return { path, rule: 'additionalProperties' }
    if (rules.everyPropertyRequired && isSchema(schema.properties)) {
      const required = Array.isArray(schema.required) ? schema.required : []
      const missing = Object.keys(schema.properties).find((name) => !required.includes(name))
      if (missing !== undefined) return { path, rule: 'required', detail: missing }
    }
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' || key === '$defs' || key === 'definitions') {
      if (!isSchema(value)) continue
      for (const [name, child] of Object.entries(value)) {
        const found = check(child, [...path, key, name], rules, depth + 1)
        if (found !== undefined) return found
      }
    } else if (key === 'items' || key === 'not' || key === 'additionalProperties') {
      const found = check(value, [...path, key], rules, depth + 1)
      if (found !== undefined) return found
    }
    if (
      Array.isArray(value) &&
      (key === 'anyOf' || key === 'allOf' || key === 'oneOf' || key === 'prefixItems' || key === 'items')
    ) {
      for (const [index, child] of value.entries()) {
        const found = check(child, [...path, key, String(index)], rules, depth + 1)
        if (found !== undefined) return found
      }
    }
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
