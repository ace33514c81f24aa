import { describe, expect, it } from 'vitest'
import { redactHeaders, redactSecretsDeep, redactSecretsInText } from './secret-redaction.js'

describe('secret redaction', () => {
  it('redacts credential headers only', () => {
    expect(
      redactHeaders({ authorization: 'Bearer x', 'x-api-key': 'k', 'x-goog-api-key': 'g', cookie: 'c', accept: '*/*' }),
    ).toEqual({
      authorization: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      'x-goog-api-key': '[REDACTED]',
      cookie: '[REDACTED]',
      accept: '*/*',
    })
  })

  it('redacts API-key-shaped strings and literal secrets anywhere in text and JSON', () => {
    expect(redactSecretsInText('key sk-proj-abc_DEF-1234567890abcdef and Bearer eyJhbGciOiJIUzI1NiJ9x-y')).toBe(
      'key [REDACTED] and Bearer [REDACTED]',
    )
    expect(
      redactSecretsDeep({ a: ['sk-ant-api03-abcdef1234567890XYZ', 'task-list'], n: 1, s: 'my secret' }, ['my secret']),
    ).toEqual({
      a: ['[REDACTED]', 'task-list'],
      n: 1,
      s: '[REDACTED]',
    })
  })

  it('keeps a __proto__ key of a parsed body as a key, without touching any prototype', () => {
    const redacted = redactSecretsDeep(JSON.parse('{"__proto__":{"polluted":"sk-proj-abc_DEF-1234567890abcdef"}}'))
    expect(Object.hasOwn(redacted as object, '__proto__')).toBe(true)
    expect(JSON.stringify(redacted)).toBe('{"__proto__":{"polluted":"[REDACTED]"}}')
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype)
  })
})
