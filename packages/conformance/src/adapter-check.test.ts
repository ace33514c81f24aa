import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { referenceAdapter } from './__fixtures__/reference-provider.js'
import { describeChatModelConformance } from './chat-model-conformance.js'

/** What declaring the suite for `adapter` threw: an adapter it refuses is refused before any test is declared. */
function declared(adapter: unknown): unknown {
  try {
    describeChatModelConformance(adapter as typeof referenceAdapter)
  } catch (error) {
    return error
  }
  return undefined
}

describe('describeChatModelConformance', () => {
  it('refuses an adapter it cannot run on with a ConfigurationError naming the field, before declaring a test', () => {
    const cases: [string, unknown, string, RegExp][] = [
      [
        'a misspelt field',
        { ...referenceAdapter, multipleChoice: true },
        'multipleChoice',
        /did you mean multipleChoices/,
      ],
      ['no boolean multipleChoices', { ...referenceAdapter, multipleChoices: 'yes' }, 'multipleChoices', /boolean/],
      ['no name', { ...referenceAdapter, name: '' }, 'name', /non-empty string/],
      ['a chatPath without a slash', { ...referenceAdapter, chatPath: 'v1/chat' }, 'chatPath', /starting with \//],
      ['no startServer', { ...referenceAdapter, startServer: undefined }, 'startServer', /function/],
      ['no readRequest', { ...referenceAdapter, readRequest: {} }, 'readRequest', /function/],
      [
        'an sdk without createModel',
        { ...referenceAdapter, sdk: { packageName: 'x', installedFrom: import.meta.url } },
        'sdk.createModel',
        /function/,
      ],
      ['not an object', null, 'adapter', /an object/],
    ]
    for (const [what, adapter, option, message] of cases) {
      const error = declared(adapter)
      expect(ConfigurationError.isInstance(error), `${what}: ${String(error)}`).toBe(true)
      expect((error as ConfigurationError).option, what).toBe(option)
      expect((error as Error).message, what).toMatch(message)
      expect((error as Error).message, what).toContain('describeChatModelConformance')
    }
  })

  it('refuses an adapter whose getter throws as it is read, with a ConfigurationError', () => {
    const adapter = {
      ...referenceAdapter,
      get createModel(): never {
        throw new Error('not ready')
      },
    }
    const error = declared(adapter)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/could not be read: .*not ready/)
  })
})
