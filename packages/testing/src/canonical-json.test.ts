import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonical-json.js'

describe('canonicalJson', () => {
  it('ignores key order at every depth but keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}')
    expect(canonicalJson({ a: { c: null, d: [2, 1] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }))
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]))
  })

  it('drops undefined properties as JSON does, and encodes undefined as the empty string', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}')
    expect(canonicalJson(undefined)).toBe('')
  })

  it('writes a value with toJSON as JSON does: two different dates are two different texts', () => {
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}')
    expect(canonicalJson({ at: new Date(0) })).not.toBe(canonicalJson({ at: new Date(1) }))
    expect(canonicalJson({ b: { toJSON: () => ({ y: 1, x: 2 }) }, a: 1 })).toBe('{"a":1,"b":{"x":2,"y":1}}')
  })

  it('keeps a __proto__ key of a parsed body as a key', () => {
    const body = JSON.parse('{"b":1,"__proto__":{"x":1}}')
    expect(canonicalJson(body)).toBe('{"__proto__":{"x":1},"b":1}')
    expect(canonicalJson(body)).not.toBe(canonicalJson({ b: 1 }))
  })

  it('refuses a cycle, a BigInt, nesting deeper than the stack or a getter that throws with a ConfigurationError, secrets redacted', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    let deep: unknown = 1
    for (let level = 0; level < 100_000; level++) deep = [deep]
    const throwing = {
      get token() {
        throw new Error('sk-proj-canonical0123456789abcdefghij leaked')
      },
    }
    for (const value of [cyclic, { n: 1n }, deep, throwing]) {
      let thrown: unknown
      try {
        canonicalJson(value)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toMatch(/^canonicalJson: the value is not one JSON can hold/)
      expect((thrown as Error).message).not.toContain('canonical0123456789')
    }
  })
})
