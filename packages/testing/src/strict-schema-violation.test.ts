import { describe, expect, it } from 'vitest'
import { findStrictSchemaViolation, type StrictSchemaRules } from './strict-schema-violation.js'

const openAI: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: true,
  objectRoot: true,
  unsupportedKeywords: ['allOf', 'oneOf', 'not'],
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
})
