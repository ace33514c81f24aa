import type { StrictSchemaRules, StrictSchemaViolation } from '@tinyllm/llm'

type Schema = Record<string, unknown>

/** Keywords that bound a number. */
const numberBounds: ReadonlySet<string> = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
])

/**
 * Whether Anthropic's structured outputs and strict tools refuse `keyword` with `value` on a schema of `type` (its
 * "JSON Schema limitations"): bounds of a number, the length of a string, an array's `maxItems` or a `minItems`
 * other than 0 or 1. The model moves such constraints into the description; the loopback server refuses them.
 */
export function refusedConstraint(type: unknown, keyword: string, value: unknown): boolean {
  if (type === 'number' || type === 'integer') return numberBounds.has(keyword)
  if (type === 'string') return keyword === 'minLength' || keyword === 'maxLength'
  if (type === 'array') return keyword === 'maxItems' || (keyword === 'minItems' && value !== 0 && value !== 1)
  return false
}

/**
 * What Anthropic's structured outputs and strict tools refuse in a schema (its "JSON Schema limitations"): an object
 * that is not closed, bounds of a number, the length of a string, an array's `maxItems` or a `minItems` other than 0
 * or 1, and a recursive schema (a `$ref` to `#` or to a definition it is in). The request builder refuses such a
 * schema; the loopback server answers it with Anthropic's 400.
 */
export const anthropicStrictRules: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: false,
  objectRoot: false,
  unsupportedKeywords: [],
  unsupportedConstraint: refusedConstraint,
  recursion: false,
}

/**
 * Anthropic's words for a schema its strict mode refuses ("For 'number' type, property 'minimum' is not supported").
 */
export function anthropicStrictSchemaProblem({ rule, detail: type, keywords = [] }: StrictSchemaViolation): string {
  if (rule === 'recursion') return 'Recursive schemas are not supported'
  if (rule !== 'constraint') return "For 'object' type, 'additionalProperties' must be explicitly set to false"
  if (type === 'array' && keywords.includes('minItems')) {
    return "For 'array' type, 'minItems' values other than 0 or 1 are not supported"
  }
  if (keywords.length === 1) return `For '${type}' type, property '${keywords[0]}' is not supported`
  return `For '${type}' type, properties ${keywords.join(', ')} are not supported`
}

/** Keys whose value is one schema, a list of schemas, or a map of schemas. */
const oneSchema = ['items', 'additionalProperties', 'not'] as const
const schemaLists = ['anyOf', 'allOf', 'oneOf', 'prefixItems', 'items'] as const
const schemaMaps = ['properties', '$defs', 'definitions'] as const

const cache = new WeakMap<Schema, Schema>()

/**
 * A strict schema as Anthropic's structured outputs and strict tools take it. Their "JSON Schema limitations" refuse
 * the bounds of a number (`minimum`, `maximum`, `multipleOf`…), the length of a string (`minLength`, `maxLength`) and
 * an array's `maxItems` or a `minItems` other than 0 or 1, with a 400 for the whole request — and zod writes
 * `minimum`/`maximum` for every `z.int()`. Such constraints are moved into the schema's `description`
 * (`{minimum: 0, maximum: 1}`), as `@anthropic-ai/sdk`'s own transform does: the model still reads them, and the
 * answer is validated against the caller's schema, which keeps them. Nested schemas (properties, items, branches,
 * definitions) are rewritten alike; the result is cached per schema object.
 */
export function withoutRefusedConstraints(schema: Schema): Schema {
  return rewrite(schema, new Map())
}

function rewrite(schema: Schema, seen: Map<Schema, Schema>): Schema {
  const known = cache.get(schema) ?? seen.get(schema)
  if (known !== undefined) return known
  const result: Schema = {}
  seen.set(schema, result)
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  const moved: string[] = []
  for (const [key, value] of Object.entries(schema)) {
    if (types.some((type) => refusedConstraint(type, key, value))) {
      moved.push(`${key}: ${JSON.stringify(value)}`)
    } else {
      result[key] = rewriteChild(key, value, seen)
    }
  }
  if (moved.length > 0) {
    const description = typeof schema.description === 'string' ? `${schema.description}\n\n` : ''
    result.description = `${description}{${moved.join(', ')}}`
  }
  cache.set(schema, result)
  return result
}

function rewriteChild(key: string, value: unknown, seen: Map<Schema, Schema>): unknown {
  if (Array.isArray(value)) {
    return (schemaLists as readonly string[]).includes(key)
      ? value.map((child) => (isSchema(child) ? rewrite(child, seen) : child))
      : value
  }
  if (!isSchema(value)) return value
  if ((oneSchema as readonly string[]).includes(key)) return rewrite(value, seen)
  if ((schemaMaps as readonly string[]).includes(key)) {
    return Object.fromEntries(
      Object.entries(value).map(([name, child]) => [name, isSchema(child) ? rewrite(child, seen) : child]),
    )
  }
  return value
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
