import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it, vi } from 'vitest'
import {
  assertStrictSchemaAccepted,
  findStrictSchemaViolation,
  type StrictSchemaRules,
  type StrictSchemaViolation,
} from './strict-schema-violation.js'

const openAI: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: true,
  objectRoot: true,
  unsupportedKeywords: ['allOf', 'oneOf', 'not'],
}
/** An object schema of these properties, every one required. */
function openAIShape(properties: Record<string, unknown>) {
  return { type: 'object', properties, required: Object.keys(properties) }
}
const closedOnly: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: false,
  objectRoot: false,
  unsupportedKeywords: [],
}

const strict = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    tags: {
      type: 'array',
      items: { type: 'object', properties: { v: { type: 'string' } }, required: ['v'], additionalProperties: false },
    },
    choice: { anyOf: [{ type: 'string' }, { type: 'null' }] },
  },
  required: ['name', 'tags', 'choice'],
  additionalProperties: false,
}

describe('findStrictSchemaViolation', () => {
  it('returns at once for a schema that contains itself, however many times', () => {
    // Three branches back to the schema would triple the walk at every level: 3^64 steps. Its reads are counted, so a walk
    // that goes round the loop fails the test at once instead of holding its thread.
    let reads = 0
    const properties: Record<string, unknown> = {}
    const schema = {
      type: 'object',
      get properties() {
        reads += 1
        if (reads > 1_000) throw new Error('the walk went round the loop')
        return properties
      },
      required: ['a', 'b', 'c'],
      additionalProperties: false,
    }
    Object.assign(properties, { a: schema, b: schema, c: { type: 'array', items: schema } })
    expect(findStrictSchemaViolation(schema, openAI)).toBeUndefined()
    const open = { type: 'object', properties: {}, required: [], additionalProperties: false }
    const outer = { ...openAIShape({ loop: schema, d: open }), additionalProperties: false }
    expect(findStrictSchemaViolation(outer, openAI)).toBeUndefined()
    open.additionalProperties = true as never
    expect(findStrictSchemaViolation(outer, openAI)).toEqual({
      path: ['properties', 'd'],
      rule: 'additionalProperties',
    })
  })

  it('walks a schema used under two properties at every level once per level, still counting each use', () => {
    // 40 levels, each the one below under two names: walked once per use, 2^40 schemas. Its reads are counted, so a
    // walk that doubles at every level fails the test at once instead of holding its thread.
    let reads = 0
    let schema: Record<string, unknown> = { type: 'string' }
    for (let level = 0; level < 40; level++) {
      const properties = { a: schema, b: schema }
      schema = {
        type: 'object',
        get properties() {
          reads += 1
          if (reads > 10_000) throw new Error('the walk went through every use')
          return properties
        },
        required: ['a', 'b'],
        additionalProperties: false,
      }
    }
    expect(findStrictSchemaViolation(schema, openAI)).toBeUndefined()
    // Sent as JSON, each use is written out: 2 + 4 + … + 2^40 properties, 40 levels.
    const limits = { nestingLevels: 100, objectProperties: 5_000 }
    expect(findStrictSchemaViolation(schema, { ...openAI, limits })).toEqual({
      path: [],
      rule: 'objectProperties',
      count: 2 ** 41 - 2,
      limit: 5_000,
    })
    expect(findStrictSchemaViolation(schema, { ...openAI, limits: { nestingLevels: 39 } })).toEqual({
      path: [],
      rule: 'nestingLevels',
      count: 40,
      limit: 39,
    })
  })

  it('accepts a strict schema', () => {
    expect(findStrictSchemaViolation(strict, openAI)).toBeUndefined()
  })

  it('finds an open object or a property missing from required, with its path', () => {
    const open = structuredClone(strict)
    delete (open.properties.tags.items as { additionalProperties?: boolean }).additionalProperties
    expect(findStrictSchemaViolation(open, openAI)).toEqual({
      path: ['properties', 'tags', 'items'],
      rule: 'additionalProperties',
    })
    const optional = { ...strict, required: ['name', 'tags'] }
    expect(findStrictSchemaViolation(optional, openAI)).toEqual({ path: [], rule: 'required', detail: 'choice' })
    expect(findStrictSchemaViolation(optional, closedOnly)).toBeUndefined()
    const extra = { ...strict, required: [...strict.required, 'nickname'] }
    expect(findStrictSchemaViolation(extra, openAI)).toEqual({ path: [], rule: 'extraRequired', detail: 'nickname' })
    expect(findStrictSchemaViolation(extra, closedOnly)).toBeUndefined()
  })

  it('refuses a root that is not an object, and unsupported keywords', () => {
    expect(findStrictSchemaViolation({ type: 'array', items: { type: 'string' } }, openAI)).toEqual({
      path: [],
      rule: 'root',
      detail: 'array',
    })
    const oneOf = { ...strict, properties: { ...strict.properties, choice: { oneOf: [{ type: 'string' }] } } }
    expect(findStrictSchemaViolation(oneOf, openAI)).toEqual({
      path: ['properties', 'choice'],
      rule: 'keyword',
      detail: 'oneOf',
    })
  })

  it('counts levels of object nesting, properties and enum values against the limits given, and only those', () => {
    const limits = { nestingLevels: 3, objectProperties: 4, enumValues: 3 }
    const limited: StrictSchemaRules = { ...openAI, limits }
    const object = (properties: Record<string, unknown>) => ({
      type: 'object',
      properties,
      required: Object.keys(properties),
      additionalProperties: false,
    })
    // Three levels, through array items and anyOf branches, which add none of their own.
    const threeLevels = object({
      a: { type: 'array', items: object({ b: { anyOf: [object({}), { type: 'null' }] } }) },
    })
    expect(findStrictSchemaViolation(threeLevels, limited)).toBeUndefined()
    expect(findStrictSchemaViolation(object({ wrap: threeLevels }), limited)).toEqual({
      path: [],
      rule: 'nestingLevels',
      count: 4,
      limit: 3,
    })
    expect(findStrictSchemaViolation(object({ wrap: threeLevels }), openAI)).toBeUndefined()
    // A definition counts from its own root.
    expect(findStrictSchemaViolation({ ...threeLevels, $defs: { d: threeLevels } }, limited)).toBeUndefined()

    const text = { type: 'string' }
    const fourProperties = object({ a: object({ b: text }), c: text, d: text })
    expect(findStrictSchemaViolation(fourProperties, limited)).toBeUndefined()
    expect(findStrictSchemaViolation({ ...fourProperties, $defs: { e: object({ f: text }) } }, limited)).toEqual({
      path: [],
      rule: 'objectProperties',
      count: 5,
      limit: 4,
    })

    const colours = (values: string[]) => object({ c: { type: 'string', enum: values } })
    expect(findStrictSchemaViolation(colours(['r', 'g', 'b']), limited)).toBeUndefined()
    expect(findStrictSchemaViolation(object({ x: colours(['r', 'g']), y: colours(['b', 'w']) }), limited)).toEqual({
      path: [],
      rule: 'enumValues',
      count: 4,
      limit: 3,
    })
  })

  it('counts the characters of names, enum and const values, and of one long string enum, against the limits given', () => {
    const limited: StrictSchemaRules = {
      ...openAI,
      limits: { stringLength: 20, enumStringLength: { values: 2, characters: 6 } },
    }
    const object = (properties: Record<string, unknown>) => ({
      type: 'object',
      properties,
      required: Object.keys(properties),
      additionalProperties: false,
    })
    // 'abc' + 'de' + 'fg' + 'hijk' (a definition's name) + 'x' + 'yz' + 'const' + 'ab': 21 characters; numbers are none.
    const definition = object({ x: { type: 'string', enum: ['yz', 1, 2] } })
    const text = object({ abc: { type: 'string', const: 'const' }, de: { enum: ['ab'] }, fg: { $ref: '#/$defs/hijk' } })
    expect(findStrictSchemaViolation({ ...text, $defs: { hijk: definition } }, limited)).toEqual({
      path: [],
      rule: 'stringLength',
      count: 21,
      limit: 20,
    })
    expect(findStrictSchemaViolation({ ...text, $defs: { hij: definition } }, limited)).toBeUndefined()
    // A schema used twice is counted twice, as it is sent twice.
    const shared = { type: 'string', enum: ['0123456789'] }
    expect(findStrictSchemaViolation(object({ a: shared, b: shared }), limited)).toMatchObject({ count: 22 })
    // Of one enum: more than 2 string values, more than 6 characters together; at its path.
    expect(findStrictSchemaViolation(object({ e: { enum: ['ab', 'cd', 'ef'] } }), limited)).toBeUndefined()
    expect(findStrictSchemaViolation(object({ e: { enum: ['ab', 'cd', 'efg', 4] } }), limited)).toEqual({
      path: ['properties', 'e'],
      rule: 'enumStringLength',
      count: 7,
      limit: 6,
    })
    expect(findStrictSchemaViolation(object({ e: { enum: ['abcd', 'efg'] } }), limited)).toBeUndefined()
  })

  it('finds constraints of a type that the rules refuse, naming every one of that schema', () => {
    const numeric = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']
    const noBounds: StrictSchemaRules = {
      ...closedOnly,
      unsupportedConstraint: (type, keyword, value) =>
        ((type === 'number' || type === 'integer') && numeric.includes(keyword)) ||
        (type === 'array' && keyword === 'minItems' && value !== 0 && value !== 1),
    }
    const closed = (properties: Record<string, unknown>) => ({
      type: 'object',
      properties,
      additionalProperties: false,
    })
    expect(
      findStrictSchemaViolation(closed({ n: { type: 'integer' }, s: { type: 'string', minLength: 2 } }), noBounds),
    ).toBeUndefined()
    expect(
      findStrictSchemaViolation(
        closed({ score: { type: ['number', 'null'], maximum: 1, minimum: 0, description: 'x' } }),
        noBounds,
      ),
    ).toEqual({ path: ['properties', 'score'], rule: 'constraint', detail: 'number', keywords: ['maximum', 'minimum'] })
    const tags = { type: 'array', items: { type: 'string' } }
    expect(findStrictSchemaViolation(closed({ tags: { ...tags, minItems: 1 } }), noBounds)).toBeUndefined()
    expect(findStrictSchemaViolation({ $defs: { t: { ...tags, minItems: 2 } } }, noBounds)).toEqual({
      path: ['$defs', 't'],
      rule: 'constraint',
      detail: 'array',
      keywords: ['minItems'],
    })
    // Rules without the predicate take every constraint.
    expect(findStrictSchemaViolation(closed({ n: { type: 'number', minimum: 0 } }), closedOnly)).toBeUndefined()
  })

  it('refuses rules it could not follow with a ConfigurationError, instead of a TypeError mid-walk', () => {
    const schema = { type: 'object', properties: {} }
    const cases: Array<[unknown, string]> = [
      [undefined, 'findStrictSchemaViolation: rules must be StrictSchemaRules, got undefined'],
      [
        { ...openAI, unsupportedKeywords: 'allOf' },
        'rules.unsupportedKeywords must be a list of keywords, got "allOf"',
      ],
      [{ ...openAI, unsupportedConstraint: true }, 'rules.unsupportedConstraint must be a function, got true'],
      [{ ...openAI, limits: 5 }, 'rules.limits must be an object of limits, got 5'],
      [{ ...openAI, recursion: 'no' }, 'rules.recursion must be a boolean, got "no"'],
    ]
    for (const [rules, message] of cases) {
      expect(() => findStrictSchemaViolation(schema, rules as never)).toThrow(ConfigurationError)
      expect(() => findStrictSchemaViolation(schema, rules as never)).toThrow(message)
    }
  })
})

describe('findStrictSchemaViolation: recursion', () => {
  const noRecursion: StrictSchemaRules = { ...closedOnly, recursion: false }
  const closed = (properties: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
    type: 'object',
    properties,
    additionalProperties: false,
    ...more,
  })

  it('refuses a $ref to the root or to a definition it is in, where the rules refuse recursion, naming the $ref', () => {
    const list = closed({ value: { type: 'string' }, next: { anyOf: [{ $ref: '#' }, { type: 'null' }] } })
    expect(findStrictSchemaViolation(list, noRecursion)).toEqual({
      path: ['properties', 'next', 'anyOf', '0'],
      rule: 'recursion',
      detail: '#',
    })
    // What z.toJSONSchema writes for a tree: found at the $ref inside the definition, reached through the property.
    const node = closed({ name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } })
    const tree = closed({ root: { $ref: '#/$defs/node' } }, { $defs: { node } })
    expect(findStrictSchemaViolation(tree, noRecursion)).toEqual({
      path: ['$defs', 'node', 'properties', 'children', 'items'],
      rule: 'recursion',
      detail: '#/$defs/node',
    })
    // Rules that allow recursion (OpenAI's), or say nothing of it, take both.
    for (const rules of [closedOnly, { ...closedOnly, recursion: true }]) {
      expect(findStrictSchemaViolation(list, rules)).toBeUndefined()
      expect(findStrictSchemaViolation(tree, rules)).toBeUndefined()
    }
  })

  it('finds a chain of $refs through definitions that loops after two hops, names escaped or percent-encoded', () => {
    const chain = closed(
      { start: { $ref: '#/$defs/a~1b' } },
      {
        $defs: {
          'a/b': closed({ on: { $ref: '#/definitions/c~0d' } }),
          'e f': { type: 'string' },
        },
        definitions: { 'c~d': { anyOf: [{ $ref: '#/$defs/a%2Fb' }, { $ref: '#/$defs/e%20f' }] } },
      },
    )
    expect(findStrictSchemaViolation(chain, noRecursion)).toEqual({
      path: ['definitions', 'c~d', 'anyOf', '0'],
      rule: 'recursion',
      detail: '#/$defs/a%2Fb',
    })
    // One definition used in many places, and a chain that ends, are no recursion.
    const leaf = closed({ x: { type: 'string' } })
    const twice = closed(
      { a: { $ref: '#/$defs/leaf' }, b: { $ref: '#/$defs/middle' } },
      { $defs: { leaf, middle: { type: 'array', items: { $ref: '#/$defs/leaf' } } } },
    )
    expect(findStrictSchemaViolation(twice, noRecursion)).toBeUndefined()
  })

  it('leaves a $ref that points nowhere in the schema to the provider, and judges what the schema it points to holds', () => {
    for (const ref of ['#/$defs/missing', '#/$defs/50%', '#/$defs/toString', '#/required', 'https://x.test/s.json']) {
      const schema = closed({ a: { $ref: ref } }, { $defs: { real: { type: 'string' } }, required: ['a'] })
      expect(findStrictSchemaViolation(schema, noRecursion)).toBeUndefined()
    }
    // A violation inside a definition is found where the definition is, whichever way the walk came to it.
    const open = { type: 'object', properties: { x: { type: 'string' } } }
    expect(
      findStrictSchemaViolation(closed({ a: { $ref: '#/$defs/open' } }, { $defs: { open } }), noRecursion),
    ).toEqual({
      path: ['$defs', 'open'],
      rule: 'additionalProperties',
    })
  })

  it('counts a definition where it is defined, however many $refs it is followed through', () => {
    const limited = (recursion: boolean): StrictSchemaRules => ({
      ...openAI,
      recursion,
      limits: { objectProperties: 3, nestingLevels: 2, stringLength: 100 },
    })
    const pair = { type: 'object', properties: { x: { type: 'string' } }, required: ['x'], additionalProperties: false }
    const schema = {
      ...openAIShape({ a: { $ref: '#/$defs/pair' }, b: { $ref: '#/$defs/pair' } }),
      additionalProperties: false,
      $defs: { pair },
    }
    expect(findStrictSchemaViolation(schema, limited(false))).toBeUndefined()
    expect(findStrictSchemaViolation(schema, limited(true))).toBeUndefined()
    expect(findStrictSchemaViolation(schema, { ...limited(false), limits: { objectProperties: 2 } })).toEqual({
      path: [],
      rule: 'objectProperties',
      count: 3,
      limit: 2,
    })
  })

  it('follows $refs that each name the next definition twice, 40 deep, once per depth', () => {
    // Followed through every use, 2^40 schemas. The reads are counted, so a walk that doubles at every definition
    // fails the test at once instead of holding its thread.
    let reads = 0
    const $defs: Record<string, unknown> = {}
    for (let level = 0; level < 40; level++) {
      const next = level === 39 ? { type: 'string' } : { $ref: `#/$defs/d${level + 1}` }
      const properties = { a: next, b: next }
      $defs[`d${level}`] = {
        type: 'object',
        get properties() {
          reads += 1
          if (reads > 100_000) throw new Error('the walk went through every use')
          return properties
        },
        additionalProperties: false,
      }
    }
    const schema = closed({ start: { $ref: '#/$defs/d0' } }, { $defs })
    expect(findStrictSchemaViolation(schema, noRecursion)).toBeUndefined()
    // The last one naming the one before it: found, as soon.
    $defs.d39 = closed({ back: { $ref: '#/$defs/d38' } })
    expect(findStrictSchemaViolation(schema, noRecursion)).toMatchObject({ rule: 'recursion', detail: '#/$defs/d38' })
  })

  it('does not look more than 64 schemas ($refs followed included) deep, for recursion as for every rule, and returns', () => {
    const nested = (levels: number, innermost: unknown) => {
      let schema = innermost
      for (let level = 0; level < levels; level++) schema = { type: 'array', items: schema }
      return closed({ deep: schema })
    }
    expect(findStrictSchemaViolation(nested(60, { $ref: '#' }), noRecursion)).toMatchObject({ rule: 'recursion' })
    expect(findStrictSchemaViolation(nested(70, { $ref: '#' }), noRecursion)).toBeUndefined()
    expect(findStrictSchemaViolation(nested(70, { type: 'object' }), noRecursion)).toBeUndefined()
    // A loop of definitions: each $ref followed is a level, so a loop of 10 is found, one of 100 is too deep to see.
    const loop = (length: number) =>
      Object.fromEntries(
        Array.from({ length }, (_, index) => [`d${index}`, { $ref: `#/$defs/d${(index + 1) % length}` }]),
      )
    expect(findStrictSchemaViolation(closed({}, { $defs: loop(10) }), noRecursion)).toEqual({
      path: ['$defs', 'd9'],
      rule: 'recursion',
      detail: '#/$defs/d0',
    })
    expect(findStrictSchemaViolation(closed({}, { $defs: loop(100) }), noRecursion)).toBeUndefined()
    // Deeper than any stack: an answer, not a RangeError.
    expect(findStrictSchemaViolation(nested(100_000, { $ref: '#' }), noRecursion)).toBeUndefined()
  })
})

describe('assertStrictSchemaAccepted', () => {
  it("throws a ConfigurationError naming the option, the provider's words and where, and walks a schema once", () => {
    const words = vi.fn((violation: StrictSchemaViolation) => `'${violation.detail}' is not permitted.`)
    const refusal = { option: 'tools[0].parameters', provider: 'OpenAI', describe: words }
    const closed = { type: 'object', properties: {}, required: [], additionalProperties: false }
    expect(() => assertStrictSchemaAccepted(closed, openAI, refusal)).not.toThrow()
    const refused = { ...closed, properties: { a: { type: 'string', not: {} } }, required: ['a'] }
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(() => assertStrictSchemaAccepted(refused, openAI, refusal)).toThrow(ConfigurationError)
    }
    expect(() => assertStrictSchemaAccepted(refused, openAI, refusal)).toThrow(
      "tools[0].parameters: 'not' is not permitted at #/properties/a, which OpenAI's strict mode refuses",
    )
    // The verdict is kept (one violation, found by one walk) and described at every refusal.
    expect(words).toHaveBeenCalledTimes(3)
    expect(words.mock.calls.every(([violation]) => violation === words.mock.calls[0]?.[0])).toBe(true)
  })

  it('names a recursive $ref and the way out, where the rules refuse recursion', () => {
    const refusal = { option: 'responseFormat.schema', provider: 'Anthropic', describe: () => 'Recursive' }
    const list = { ...closedOnly, recursion: false }
    const schema = { type: 'object', properties: { next: { $ref: '#' } }, additionalProperties: false }
    expect(() => assertStrictSchemaAccepted(schema, list, refusal)).toThrow(
      `responseFormat.schema: the $ref at "#/properties/next" refers to a schema it is inside of, and Anthropic's strict mode refuses recursive schemas; bound the depth (list each level's properties), or turn strict off`,
    )
    expect(() => assertStrictSchemaAccepted(schema, { ...list, recursion: true }, refusal)).not.toThrow()
  })
})
