import { ConfigurationError } from '@tinyllm/core'
import { redactString } from '@tinyllm/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveApiKey } from './api-key.js'

const variable = 'TINYLLM_TEST_API_KEY'

afterEach(() => {
  delete process.env[variable]
})

describe('resolveApiKey', () => {
  it('names the variable when no key is passed or set, and treats an empty variable as unset', () => {
    process.env[variable] = ''
    let caught: unknown
    try {
      resolveApiKey({ apiKey: undefined, variable, provider: 'Example' })
    } catch (error) {
      caught = error
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true)
    expect((caught as Error).message).toContain(`set the ${variable} environment variable`)
    expect((caught as Error).message).toContain('a server that needs no key')
  })

  it('refuses a key that is not a string with a ConfigurationError naming its type, never showing it', () => {
    for (const [apiKey, kind] of [
      [5, 'a number'],
      [{ key: 'sk-object-key-0123456789' }, 'an object'],
    ] as const) {
      let caught: unknown
      try {
        resolveApiKey({ apiKey: apiKey as never, variable, provider: 'Example' })
      } catch (error) {
        caught = error
      }
      expect(ConfigurationError.isInstance(caught), String(caught)).toBe(true)
      expect((caught as Error).message).toBe(`resolveApiKey: apiKey must be a string, got ${kind}`)
    }
  })

  it('prefers the key passed, reads the variable otherwise, and registers the key for redaction', () => {
    process.env[variable] = 'from-the-environment-0123456789'
    expect(resolveApiKey({ apiKey: 'passed-key-0123456789', variable, provider: 'Example' })).toBe(
      'passed-key-0123456789',
    )
    expect(resolveApiKey({ apiKey: undefined, variable, provider: 'Example' })).toBe('from-the-environment-0123456789')
    expect(redactString('key=from-the-environment-0123456789')).not.toContain('from-the-environment-0123456789')
  })
})
