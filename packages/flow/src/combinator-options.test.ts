import { ConfigurationError, defineFunction } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { Chain } from './chain.js'
import { checkCombinatorOptions, combinatorOptionNames } from './combinator-options.js'
import { Decision } from './decision.js'
import { Parallel } from './parallel.js'

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

  it('rejects an option a settings class misspells in a getter, as it rejects an own key', () => {
    const step = defineFunction({ name: 'step', run: (value: number) => value })
    /** A combinator's options as a class holds them: its getters are read by name, the misspelt one too. */
    class FanOut {
      readonly name = 'fan'
      readonly map = step
      get concurency(): number {
        return 2
      }
    }
    expect(() => new Parallel(new FanOut() as never)).toThrow(
      'fan: concurency is not an option; did you mean concurrency?',
    )
    expect(() => new Chain(Object.assign(Object.create({ timeoutMS: 5 }), { name: 'c', children: [step] }))).toThrow(
      'c: timeoutMS is not an option; did you mean timeoutMs?',
    )
  })

  it("leaves a subclass's own options to the subclass", () => {
    expect(() => checkCombinatorOptions({ name: 'c', label: 'mine' } as { name: string }, known, false)).not.toThrow()
  })
})

describe('options that cannot be read', () => {
  const step = defineFunction({ name: 'step', run: (value: number) => value })
  /** `options` with `key` behind a getter that throws. */
  const unreadable = (options: object, key: string): never =>
    Object.defineProperty({ ...options }, key, {
      enumerable: true,
      get: () => {
        throw new Error(`no ${key}`)
      },
    }) as never

  it('are a ConfigurationError naming the combinator, for every option of every combinator', () => {
    for (const [build, key] of [
      [() => new Parallel(unreadable({ name: 'fan' }, 'map')), 'map'],
      [() => new Parallel(unreadable({ name: 'fan', map: step }, 'concurrency')), 'concurrency'],
      [() => new Parallel(unreadable({ name: 'fan', map: step }, 'mode')), 'mode'],
      [() => new Decision(unreadable({ name: 'fan', choices: ['a'] }, 'decide')), 'decide'],
    ] as const) {
      let thrown: unknown
      try {
        build()
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toBe(`fan: options could not be read: Error: no ${key}`)
    }
  })
})
