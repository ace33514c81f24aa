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
 * that is not closed, bounds of a number, the length of a string, and an array's `maxItems` or a `minItems` other
 * than 0 or 1. Recursive schemas, which they refuse too, are found by `recursiveReference`. The request builder refuses
 * such a schema; the loopback server answers it with Anthropic's 400.
 */
export const anthropicStrictRules: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: false,
  objectRoot: false,
  unsupportedKeywords: [],
  unsupportedConstraint: refusedConstraint,
}

/**
 * Anthropic's words for a schema its strict mode refuses ("For 'number' type, property 'minimum' is not supported").
 */
export function anthropicStrictSchemaProblem({ rule, detail: type, keywords = [] }: StrictSchemaViolation): string {
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

/** Past this many schemas nested in one another (`$ref`s followed included), a walk for recursion looks no deeper. */
const maxRecursionWalkDepth = 1_000

const recursion = new WeakMap<Schema, string | null>()

/** One walk for recursion: the schema `$ref`s point into, the schemas being walked, and those walked whole. */
interface RecursionWalk {
  readonly root: Schema
  readonly inside: Set<Schema>
  readonly done: Set<Schema>
}

/**
 * Where `schema` is recursive, which Anthropic's structured outputs and strict tools refuse (its "JSON Schema
 * limitations": "Recursive schemas" are not supported): the path of the first local `$ref` (`#`, `#/$defs/Name`, any
 * JSON pointer into the schema) that refers to a schema it is inside of, such as the `$ref` that z.toJSONSchema writes
 * for a zod schema naming itself; `undefined` when there is none. A definition used in many places is walked once. The
 * answer is cached per schema object.
 *
 * @example
 * recursiveReference({ type: 'object', properties: { next: { $ref: '#' } } }) // '#/properties/next'
 */
export function recursiveReference(schema: Schema): string | undefined {
  const known = recursion.get(schema)
  if (known !== undefined) return known ?? undefined
  const found = findRecursion(schema, '#', { root: schema, inside: new Set(), done: new Set() }, 0)
  recursion.set(schema, found ?? null)
  return found
}

function findRecursion(schema: Schema, path: string, walk: RecursionWalk, depth: number): string | undefined {
  if (walk.done.has(schema) || walk.inside.has(schema) || depth > maxRecursionWalkDepth) return undefined
  walk.inside.add(schema)
  const target = typeof schema.$ref === 'string' ? resolveReference(schema.$ref, walk.root) : undefined
  if (target !== undefined && walk.inside.has(target)) return path
  const found =
    (target === undefined ? undefined : findRecursion(target, schema.$ref as string, walk, depth + 1)) ??
    findInChildren(schema, path, walk, depth)
  walk.inside.delete(schema)
  // A walk that found nothing found nothing for good: a schema reaching one it is inside of reaches itself.
  if (found === undefined) walk.done.add(schema)
  return found
}

function findInChildren(schema: Schema, path: string, walk: RecursionWalk, depth: number): string | undefined {
  for (const [key, value] of Object.entries(schema)) {
    let children: Array<[string, unknown]> = []
    if (Array.isArray(value)) {
      if ((schemaLists as readonly string[]).includes(key)) children = value.map((child, index) => [`${index}`, child])
    } else if ((oneSchema as readonly string[]).includes(key)) {
      children = [['', value]]
    } else if ((schemaMaps as readonly string[]).includes(key) && isSchema(value)) {
      children = Object.entries(value)
    }
    for (const [name, child] of children) {
      if (!isSchema(child)) continue
      const found = findRecursion(child, name === '' ? `${path}/${key}` : `${path}/${key}/${name}`, walk, depth + 1)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** The schema a local `$ref` points to; `undefined` for another `$ref`, or one that points to no schema. */
function resolveReference(ref: string, root: Schema): Schema | undefined {
  if (!ref.startsWith('#')) return undefined
  let target: unknown = root
  for (const part of ref.slice(1).split('/').slice(1)) {
    let name: string
    try {
      name = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~')
    } catch {
      return undefined
    }
    if (!isSchema(target) || !Object.hasOwn(target, name)) return undefined
    target = target[name]
  }
  return isSchema(target) ? target : undefined
}
