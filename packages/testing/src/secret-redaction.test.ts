import { describe, expect, it } from 'vitest'
import { redactSecretsDeep, redactSecretsInText } from './secret-redaction.js'

describe('secret redaction', () => {
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

  it('replaces the whole value of every field named like a secret, as the logger does, and keeps the rest', () => {
    expect(
      redactSecretsDeep({
        password: 'hunter2',
        nested: [{ client_secret: 'cs-plain', apiKey: { id: 'plain-api-key-value' }, accessToken: 42 }],
        secret: null,
        max_tokens: 256,
        usage: { prompt_tokens: 3, completion_tokens: 5 },
        content: 'reset your password',
      }),
    ).toEqual({
      password: '[REDACTED]',
      nested: [{ client_secret: '[REDACTED]', apiKey: '[REDACTED]', accessToken: '[REDACTED]' }],
      secret: null,
      max_tokens: 256,
      usage: { prompt_tokens: 3, completion_tokens: 5 },
      content: 'reset your password',
    })
  })

  it('replaces a string under auth, pass or pwd as the logger does, and keeps an auth object, a pass count and a path', () => {
    expect(
      redactSecretsDeep({
        request: { auth: 'ada:hunter2' },
        login: { pass: 'hunter2', pwd: 's3cret' },
        auth: { user: 'ada' },
        tests: { pass: 12 },
        env: { PWD: '/home/ada' },
      }),
    ).toEqual({
      request: { auth: '[REDACTED]' },
      login: { pass: '[REDACTED]', pwd: '[REDACTED]' },
      auth: { user: 'ada' },
      tests: { pass: 12 },
      env: { PWD: '/home/ada' },
    })
  })

  it('copies large values whole, where a log line would be cut', () => {
    const embedding = Array.from({ length: 20_000 }, (_, index) => index / 7)
    expect(redactSecretsDeep({ data: [{ embedding }] })).toEqual({ data: [{ embedding }] })
  })

  it('keeps a __proto__ key of a parsed body as a key, without touching any prototype', () => {
    const redacted = redactSecretsDeep(JSON.parse('{"__proto__":{"polluted":"sk-proj-abc_DEF-1234567890abcdef"}}'))
    expect(Object.hasOwn(redacted as object, '__proto__')).toBe(true)
    expect(JSON.stringify(redacted)).toBe('{"__proto__":{"polluted":"[REDACTED]"}}')
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype)
  })
})
