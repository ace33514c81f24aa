import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { ChatRequest, ChatResult } from '../chat-model.js'
import { toJsonSchema } from '../json-schema.js'
import { restoreStrictAnswers, toStrictJsonSchema } from './strict-json-schema.js'

describe('toStrictJsonSchema', () => {
  it('keeps properties named __proto__ and constructor as properties, writing the schema and reading the answer', () => {
    const schema = JSON.parse(
      '{"type":"object","properties":{"__proto__":{"type":"object","properties":{"note":{"type":"string"}}},"a":{"type":"string"}},"required":["a"]}',
    )
    const strict = toStrictJsonSchema(schema)
    const properties = (strict.schema as { properties: object }).properties
    expect(Object.keys(properties)).toEqual(['__proto__', 'a'])
    expect((strict.schema as { required: string[] }).required).toEqual(['__proto__', 'a'])
    expect(Object.getPrototypeOf(properties)).toBe(Object.prototype)
    const restored = strict.restore(JSON.parse('{"__proto__":{"note":null},"a":"x","constructor":null}')) as object
    expect(Object.getPrototypeOf(restored)).toBe(Object.prototype)
    expect(Object.hasOwn(restored, '__proto__')).toBe(true)
    expect(JSON.stringify(restored)).toBe('{"__proto__":{},"a":"x","constructor":null}')
  })

  it('closes every object, requires every property and makes the optional ones nullable', () => {
    const schema = toJsonSchema(
      z.object({
        verdict: z.enum(['good', 'bad']),
        confidence: z.number().optional(),
        note: z.string().nullish(),
        tags: z.array(z.object({ name: z.string(), weight: z.number().optional() })),
        address: z.object({ city: z.string() }).optional(),
      }),
    )
    expect(toStrictJsonSchema(schema).schema).toEqual({
      type: 'object',
      properties: {
        verdict: { type: 'string', enum: ['good', 'bad'] },
        confidence: { type: ['number', 'null'] },
        note: { type: ['string', 'null'] },
        tags: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, weight: { type: ['number', 'null'] } },
            required: ['name', 'weight'],
            additionalProperties: false,
          },
        },
        address: {
          anyOf: [
            {
              type: 'object',
              properties: { city: { type: 'string' } },
              required: ['city'],
              additionalProperties: false,
            },
            { type: 'null' },
          ],
        },
      },
      required: ['verdict', 'confidence', 'note', 'tags', 'address'],
      additionalProperties: false,
    })
  })

  it('adds null to an enum made nullable, turns oneOf into anyOf, and rewrites $defs', () => {
    const strict = toStrictJsonSchema({
      type: 'object',
      properties: {
        unit: { type: 'string', enum: ['C', 'F'] },
        shape: { oneOf: [{ type: 'object', properties: { r: { type: 'number' } } }, { $ref: '#/$defs/square' }] },
      },
      required: ['shape'],
      $defs: { square: { type: 'object', properties: { side: { type: 'number' } } } },
    }).schema as Record<string, Record<string, Record<string, unknown>>>
    expect(strict.properties?.unit).toEqual({ type: ['string', 'null'], enum: ['C', 'F', null] })
    expect(strict.properties?.shape).toEqual({
      anyOf: [
        {
          type: 'object',
          properties: { r: { type: ['number', 'null'] } },
          required: ['r'],
          additionalProperties: false,
        },
        { $ref: '#/$defs/square' },
      ],
    })
    expect(strict.$defs?.square).toMatchObject({ required: ['side'], additionalProperties: false })
  })

  it('refuses an object that lists no properties, naming where it is', () => {
    const record = toJsonSchema(z.object({ scores: z.record(z.string(), z.number()) }))
    let caught: unknown
    try {
      toStrictJsonSchema(record, 'responseFormat.schema')
    } catch (error) {
      caught = error
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true)
    expect(caught).toMatchObject({ option: 'responseFormat.schema' })
    expect((caught as Error).message).toContain('#/properties/scores')
    expect(toStrictJsonSchema({ type: 'object', additionalProperties: false }).schema).toEqual({
      type: 'object',
      additionalProperties: false,
    })
  })

  it('refuses a schema that is not an object, contains itself or nests past 1,000 levels, with a ConfigurationError', () => {
    const cyclic: Record<string, unknown> = { type: 'object', properties: {} }
    ;(cyclic.properties as Record<string, unknown>).self = cyclic
    let deep: Record<string, unknown> = { type: 'string' }
    for (let level = 0; level < 20_000; level++) deep = { type: 'object', properties: { a: deep } }
    const shared = { type: 'string' }
    for (const [schema, message] of [
      [null, /^tools\[0\]\.parameters must be a JSON Schema \(an object\), got null$/],
      [cyclic, /^tools\[0\]\.parameters: the schema at #\/properties\/self contains itself \(a cycle; /],
      [deep, /^tools\[0\]\.parameters: the schema at #[a-z/]+… is nested more than 1000 levels deep$/],
    ] as const) {
      let caught: unknown
      try {
        toStrictJsonSchema(schema as never, 'tools[0].parameters')
      } catch (error) {
        caught = error
      }
      expect(ConfigurationError.isInstance(caught), String(caught)).toBe(true)
      expect((caught as Error).message).toMatch(message)
    }
    // The same schema object in two places is no cycle.
    const twice = { type: 'object', properties: { a: shared, b: shared }, required: ['a', 'b'] }
    expect(toStrictJsonSchema(twice).schema).toMatchObject({ properties: { a: shared, b: shared } })
  })

  it('is computed once per schema object, and leaves the input untouched', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    const strict = toStrictJsonSchema(schema)
    expect(toStrictJsonSchema(schema)).toBe(strict)
    expect(schema).toEqual({ type: 'object', properties: { a: { type: 'string' } } })
  })

  it('reads back the nulls it let in as absent properties, so the original schema accepts the answer', () => {
    const original = z.object({
      verdict: z.string(),
      confidence: z.number().optional(),
      note: z.string().nullish(),
      items: z.array(z.object({ name: z.string(), weight: z.number().optional() })),
      defaulted: z.number().default(1),
    })
    const strict = toStrictJsonSchema(toJsonSchema(original))
    expect(strict.restores).toBe(true)
    const answer = {
      verdict: 'good',
      confidence: null,
      note: null,
      items: [
        { name: 'a', weight: null },
        { name: 'b', weight: 2 },
      ],
      defaulted: null,
    }
    const restored = strict.restore(answer)
    expect(restored).toEqual({ verdict: 'good', note: null, items: [{ name: 'a' }, { name: 'b', weight: 2 }] })
    expect(original.parse(restored)).toEqual({
      verdict: 'good',
      note: null,
      items: [{ name: 'a' }, { name: 'b', weight: 2 }],
      defaulted: 1,
    })
    const untouched = { verdict: 'x', items: [] }
    expect(strict.restore(untouched)).toBe(untouched)
  })

  it('follows $ref, recursion included', () => {
    const node = {
      type: 'object',
      properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
      required: ['name'],
    }
    const restored = toStrictJsonSchema(node).restore({
      name: 'root',
      children: [{ name: 'leaf', children: null }],
    })
    expect(restored).toEqual({ name: 'root', children: [{ name: 'leaf' }] })
  })

  it('restores along a schema whose branches lead back to it in steps linear in its size, not exponential', () => {
    // Twelve definitions, each naming the next twice in its allOf: walked path by path, 4,096 walks of the last.
    let reads = 0
    const $defs: Record<string, object> = {}
    for (let index = 0; index < 12; index++) {
      const next = { $ref: `#/$defs/A${index + 1}` }
      $defs[`A${index}`] = Object.defineProperty({ type: 'object', properties: { x: { type: 'string' } } }, 'allOf', {
        enumerable: true,
        get: () => {
          reads += 1
          return [next, next]
        },
      })
    }
    $defs.A12 = { type: 'object', properties: { x: { type: 'string' } } }
    const chain = toStrictJsonSchema({ $defs, $ref: '#/$defs/A0' } as never)
    reads = 0
    expect(chain.restore({ x: null })).toEqual({})
    expect(reads).toBeLessThan(100)
    // A definition whose allOf names itself: walked once, where it was walked until the thread gave up.
    const A = { type: 'object', properties: { x: { type: 'string' } }, allOf: [{ $ref: '#/$defs/A' }] }
    A.allOf.push({ $ref: '#/$defs/A' })
    const recursive = toStrictJsonSchema({ $defs: { A }, $ref: '#/$defs/A' } as never)
    expect(recursive.restore({ x: null })).toEqual({})
  })

  it("reads a union member's nulls back by the branch its discriminator names, not the first with the same keys", () => {
    const item = z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('a'), note: z.string().optional() }),
      z.object({ kind: z.literal('b'), note: z.string().nullable() }),
    ])
    const schema = z.object({ item })
    const strict = toStrictJsonSchema(toJsonSchema(schema))
    // Branch b takes a null note: it stays, where branch a's rule (optional, not nullable) dropped it.
    const b = strict.restore({ item: { kind: 'b', note: null } })
    expect(b).toEqual({ item: { kind: 'b', note: null } })
    expect(schema.safeParse(b).success).toBe(true)
    expect(strict.restore({ item: { kind: 'a', note: null } })).toEqual({ item: { kind: 'a' } })
  })

  it('reads back the nulls of a union member that is a $ref (a recursive schema in a union)', () => {
    const Node: z.ZodType = z.object({
      kind: z.literal('node'),
      note: z.string().optional(),
      get next() {
        return Node.optional()
      },
    })
    const schema = z.object({ item: z.union([Node, z.object({ kind: z.literal('leaf') })]) })
    const strict = toStrictJsonSchema(toJsonSchema(schema))
    const restored = strict.restore({
      item: { kind: 'node', note: null, next: { kind: 'node', note: 'x', next: null } },
    })
    expect(restored).toEqual({ item: { kind: 'node', next: { kind: 'node', note: 'x' } } })
    expect(schema.safeParse(restored).success).toBe(true)
  })

  it('leaves as it is a value under a $ref that does not resolve, a malformed percent-escape included', () => {
    const note = { type: 'object', properties: { note: { type: 'string' } } }
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/50%' }, b: { $ref: '#/$defs/%FF' } },
      required: ['a', 'b'],
      $defs: { '50%': note, '%FF': note },
    }
    const answer = { a: { note: null }, b: { note: null } }
    expect(toStrictJsonSchema(schema).restore(answer)).toBe(answer)
    const text = JSON.stringify(answer)
    const answered: ChatResult = {
      choices: [{ index: 0, finishReason: 'stop', message: { role: 'assistant', content: text } }],
      model: 'm',
    }
    const request: ChatRequest = {
      messages: [{ role: 'user', content: 'x' }],
      responseFormat: { type: 'json_schema', name: 'notes', schema, strict: true },
    }
    expect(restoreStrictAnswers(answered, request, {})).toBe(answered)
  })
})

describe('restoreStrictAnswers', () => {
  const schema = {
    type: 'object',
    properties: { city: { type: 'string' }, note: { type: 'string' } },
    required: ['city'],
  }
  const result = (content: string | null, toolArguments?: string): ChatResult => ({
    choices: [
      {
        index: 0,
        finishReason: 'stop',
        message:
          toolArguments === undefined
            ? { role: 'assistant', content }
            : { role: 'assistant', content, toolCalls: [{ id: 't1', name: 'lookup', arguments: toolArguments }] },
      },
    ],
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    model: 'm',
  })
  const request = (strict: boolean): ChatRequest => ({
    messages: [{ role: 'user', content: 'x' }],
    responseFormat: { type: 'json_schema', name: 'city', schema, strict },
    tools: [{ name: 'lookup', parameters: schema, strict }],
  })

  it('restores the JSON answer and strict tool arguments, and nothing for a format that was not strict', () => {
    const answered = result('{"city":"Paris","note":null}', '{"city":"Oslo","note":null}')
    const restored = restoreStrictAnswers(answered, request(true), { strictResponseFormat: 'when-asked' })
    expect(restored.choices[0]?.message).toEqual({
      role: 'assistant',
      content: '{"city":"Paris"}',
      toolCalls: [{ id: 't1', name: 'lookup', arguments: '{"city":"Oslo"}' }],
    })
    expect(restoreStrictAnswers(answered, request(false), { strictResponseFormat: 'when-asked' })).toBe(answered)
  })

  it('restores a JSON answer inside a Markdown code fence, which LLMCall reads as the JSON in it', () => {
    const answered = result('```json\n{"city":"Paris","note":null}\n```')
    const restored = restoreStrictAnswers(answered, request(true), { strictResponseFormat: 'when-asked' })
    expect(JSON.parse(restored.choices[0]?.message.content ?? '')).toEqual({ city: 'Paris' })
  })

  it('restores every JSON answer for a provider whose format is always strict, as its profile says; only asked ones by default', () => {
    const answered = result('{"city":"Paris","note":null}')
    expect(
      restoreStrictAnswers(answered, request(false), { strictResponseFormat: 'always' }).choices[0]?.message,
    ).toEqual({
      role: 'assistant',
      content: '{"city":"Paris"}',
    })
    expect(restoreStrictAnswers(answered, request(false), {})).toBe(answered)
  })

  it('leaves as it is an answer nested too deep to write back (a hostile model), for the caller to validate, never throwing', () => {
    // A null to drop at the top, then 100,000 levels: JSON.parse reads it, JSON.stringify overflows the stack on it.
    const deep = `{"city":"Paris","note":null,"nested":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    const answered = result(deep, deep)
    const restored = restoreStrictAnswers(answered, request(true), { strictResponseFormat: 'when-asked' })
    expect(restored.choices[0]?.message.content).toBe(deep)
    expect(restored.choices[0]?.message.toolCalls?.[0]?.arguments).toBe(deep)
  })

  it('leaves an answer that is not JSON, or needs nothing, as it is', () => {
    for (const content of ['not json', '{"city":"Paris"}', null]) {
      const answered = result(content)
      expect(restoreStrictAnswers(answered, request(true), { strictResponseFormat: 'when-asked' })).toBe(answered)
    }
  })
})
