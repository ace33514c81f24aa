import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { toJsonSchema } from './json-schema.js'

describe('toJsonSchema', () => {
  it("reads a schema's Standard JSON Schema (input side), without the $schema marker", () => {
    const schema = toJsonSchema(z.object({ city: z.string(), days: z.number().int().default(1) }))
    expect(schema).toMatchObject({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] })
    expect('$schema' in schema).toBe(false)
  })

  it('uses an explicit JSON Schema when given, and explains what is missing otherwise', () => {
    expect(toJsonSchema(undefined, { jsonSchema: { type: 'string' } })).toEqual({ type: 'string' })
    expect(() => toJsonSchema(undefined)).toThrow(ConfigurationError)
    expect(() => toJsonSchema(undefined, { jsonSchema: [] as never, functionName: 'f' })).toThrow(
      'f: jsonSchema must be a JSON Schema object, got []',
    )
  })

  it('turns a conversion failure into a ConfigurationError', () => {
    expect(() => toJsonSchema(z.custom<string>(() => true))).toThrow(ConfigurationError)
  })
})
