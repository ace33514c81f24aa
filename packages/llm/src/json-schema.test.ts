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

  it('refuses options it cannot use (not an object, a misspelt key, an unknown target, a getter that throws) with a ConfigurationError', () => {
    const schema = z.object({ city: z.string() })
    const throwing = {
      get jsonSchema(): never {
        throw new Error('options getter')
      },
    }
    const unreadableSchema = new Proxy(
      {},
      {
        ownKeys: () => [],
        getOwnPropertyDescriptor: () => {
          throw new Error('schema descriptor')
        },
      },
    )
    const cases: Array<[unknown, string | RegExp]> = [
      [null, 'toJsonSchema: options must be an object, got null'],
      [{ jsonschema: { type: 'object' } }, /^toJsonSchema: jsonschema is not an option; did you mean jsonSchema\?/],
      [{ target: 'draft-03' }, "toJsonSchema: target must be one of 'draft-2020-12', 'draft-07', got \"draft-03\""],
      [throwing, 'toJsonSchema: options could not be read: Error: options getter'],
      [
        { jsonSchema: unreadableSchema, functionName: 'f' },
        'f: jsonSchema could not be read: Error: schema descriptor',
      ],
    ]
    for (const [options, message] of cases) {
      let thrown: unknown
      try {
        toJsonSchema(schema, options as never)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      if (typeof message === 'string') expect((thrown as Error).message).toBe(message)
      else expect((thrown as Error).message).toMatch(message)
    }
  })

  it('refuses an option or functionName that is not a string, which would name the error, with a ConfigurationError', () => {
    const unprintable = {
      toString(): never {
        throw new Error('toString')
      },
    }
    const cases: Array<[unknown, string]> = [
      [{ option: 5 }, 'toJsonSchema: option must be a string, got 5'],
      [{ functionName: unprintable }, 'toJsonSchema: functionName must be a string, got an object'],
      [{ jsonSchema: 5, option: {} }, 'toJsonSchema: option must be a string, got an object'],
    ]
    for (const [options, message] of cases) {
      let thrown: unknown
      try {
        toJsonSchema({} as never, options as never)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toBe(message)
    }
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
