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

  it('refuses a schema that throws when read, or whose converter gives no object, with a ConfigurationError', () => {
    const throwing = {
      get '~standard'(): never {
        throw new Error('schema getter')
      },
    }
    const noObject = {
      '~standard': { version: 1, vendor: 'x', validate: () => ({ value: 1 }), jsonSchema: { input: () => null } },
    }
    for (const [schema, message] of [
      [throwing, 'verdict: the schema could not be read (schema getter)'],
      [noObject, 'the schema library gave no JSON Schema object for the schema'],
    ] as const) {
      const read = () =>
        toJsonSchema(schema as never, { option: 'structuredOutput.jsonSchema', functionName: 'verdict' })
      expect(read).toThrow(ConfigurationError)
      expect(read).toThrow(message)
    }
  })
})
