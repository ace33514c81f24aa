import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { checkCombinatorOptions, combinatorOptionNames } from './combinator-options.js'

describe('checkCombinatorOptions', () => {
  const known = combinatorOptionNames(['children'])

  it("knows every Function's options and the combinator's own", () => {
    expect(known.has('children')).toBe(true)
    expect(known.has('retry')).toBe(true)
    expect(() => checkCombinatorOptions({ name: 'c', retry: { attempts: 2 } }, known, true)).not.toThrow()
  })

  it('rejects an unknown option of the combinator itself, suggesting the right name', () => {
    const options = { name: 'c', chidren: [] } as { name: string }
    expect(() => checkCombinatorOptions(options, known, true)).toThrow(ConfigurationError)
    expect(() => checkCombinatorOptions(options, known, true)).toThrow(
      /c: chidren is not an option; did you mean children\?/,
    )
  })

  it("leaves a subclass's own options to the subclass", () => {
    expect(() => checkCombinatorOptions({ name: 'c', label: 'mine' } as { name: string }, known, false)).not.toThrow()
  })
})
