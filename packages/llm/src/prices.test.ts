import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { costOf, defaultPrices, definePrices, findPrice } from './prices.js'

const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 }

describe('prices', () => {
  it('prices a call from its usage, in USD per 1M tokens', () => {
    expect(costOf('gpt-4o', usage)).toBe(12.5)
    expect(costOf('gpt-4o-mini', { inputTokens: 1_000, outputTokens: 200 })).toBeCloseTo(0.00027, 12)
    expect(costOf('claude-sonnet-4-5', usage)).toBe(18)
  })

  it('prices tokens a usage does not split into input and output (only a total reported) at the dearer price, never 0', () => {
    // gpt-4o: 2.5 USD per 1M input tokens, 10 per 1M output tokens.
    expect(costOf('gpt-4o', { inputTokens: 0, outputTokens: 0, totalTokens: 1_000_000 })).toBe(10)
    expect(costOf('gpt-4o', { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 2_000_000 })).toBe(12.5)
    const inputDearer = { x: { inputPerMillion: 3, outputPerMillion: 1 } }
    expect(costOf('x', { inputTokens: 0, outputTokens: 0, totalTokens: 1_000_000 }, inputDearer)).toBe(3)
    // A total that is the sum of its parts, or below it, adds nothing.
    expect(costOf('gpt-4o', { ...usage, totalTokens: 2_000_000 })).toBe(12.5)
    expect(costOf('gpt-4o', { ...usage, totalTokens: 0 })).toBe(12.5)
    expect(() => costOf('gpt-4o', { ...usage, totalTokens: Number.NaN })).toThrow(
      'costOf: usage.totalTokens must be a number of tokens ≥ 0, got NaN',
    )
  })

  it('matches dated snapshot ids to their base entry, and prefers an exact entry', () => {
    expect(findPrice('gpt-4o-2024-08-06')).toBe(defaultPrices['gpt-4o'])
    expect(findPrice('gpt-4o-mini-2024-07-18')).toBe(defaultPrices['gpt-4o-mini'])
    expect(findPrice('claude-sonnet-4-5-20250929')).toBe(defaultPrices['claude-sonnet-4-5'])
    expect(findPrice('claude-3-5-haiku-latest')).toBe(defaultPrices['claude-3-5-haiku'])
    expect(findPrice('gpt-4o-2024-05-13')).toEqual({ inputPerMillion: 5, outputPerMillion: 15 })
  })

  it('reports an unknown model as unknown, never as free', () => {
    expect(costOf('my-local-llama', usage)).toBeUndefined()
    expect(costOf('gpt-4o-turbo-preview', usage)).toBeUndefined()
    expect(costOf('constructor', usage)).toBeUndefined()
    expect(costOf('__proto__', usage)).toBeUndefined()
    expect(costOf('toString', usage)).toBeUndefined()
  })

  it('merges user tables over the defaults, later tables winning', () => {
    const prices = definePrices(defaultPrices, {
      'my-finetune': { inputPerMillion: 3, outputPerMillion: 12 },
      'gpt-4o': { inputPerMillion: 1, outputPerMillion: 1 },
    })
    expect(costOf('my-finetune', usage, prices)).toBe(15)
    expect(costOf('gpt-4o', usage, prices)).toBe(2)
    expect(costOf('gpt-4o-mini', usage, prices)).toBe(0.75)
    expect(costOf('my-finetune', usage)).toBeUndefined()
    expect(Object.isFrozen(prices)).toBe(true)
  })

  it('rejects prices that are not finite numbers ≥ 0', () => {
    expect(() => definePrices({ x: { inputPerMillion: -1, outputPerMillion: 1 } })).toThrow(ConfigurationError)
    expect(() => definePrices({ x: { inputPerMillion: 1 } as never })).toThrow(/outputPerMillion/)
    expect(() => definePrices({ x: { inputPerMillion: Number.NaN, outputPerMillion: 1 } })).toThrow(ConfigurationError)
    expect(() => definePrices({ x: { inputPerMillion: 'cheap', outputPerMillion: 1 } as never })).toThrow(
      'definePrices: prices["x"].inputPerMillion must be a number ≥ 0 (USD per 1M tokens), got "cheap"',
    )
  })

  it('refuses to price what it cannot (a model id or usage that is not one, an unchecked table) rather than answer a wrong cost', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 0 }
    const unreadable = {
      outputTokens: 0,
      get inputTokens(): never {
        throw new Error('usage getter')
      },
    }
    const cases: Array<[() => unknown, string]> = [
      [() => costOf('gpt-4o', { inputTokens: -1_000_000, outputTokens: 0 }), 'costOf: usage.inputTokens must be'],
      [() => costOf('gpt-4o', { inputTokens: 0, outputTokens: Number.NaN }), 'costOf: usage.outputTokens must be'],
      [() => costOf('gpt-4o', null as never), 'costOf: usage could not be read'],
      [() => costOf('gpt-4o', unreadable), 'costOf: usage could not be read: Error: usage getter'],
      [
        () => costOf('x', usage, { x: { inputPerMillion: -3, outputPerMillion: 1 } }),
        'costOf: prices["x"].inputPerMillion',
      ],
      [
        () => costOf('x', usage, Object.freeze({ x: { inputPerMillion: 1, outputPerMillion: Number.NaN } })),
        'costOf: prices["x"].outputPerMillion',
      ],
      [() => costOf(7 as never, usage), 'costOf: modelId must be a model id (a string), got 7'],
      [() => findPrice(null as never), 'findPrice: modelId must be a model id (a string), got null'],
      [() => findPrice('gpt-4o', null as never), 'findPrice: prices must be a price table'],
    ]
    for (const [price, message] of cases) {
      expect(price).toThrow(ConfigurationError)
      expect(price).toThrow(message)
    }
    expect(costOf('x', usage, { x: { inputPerMillion: 3, outputPerMillion: 1 } })).toBe(3)
  })

  it('prices a call with the prices it checked, so a price getter that changes its answer cannot make a cost negative', () => {
    let reads = 0
    const table = {
      x: {
        get inputPerMillion(): number {
          reads += 1
          return reads === 1 ? 1 : -1e9
        },
        outputPerMillion: 1,
      },
    }
    const price = () => costOf('x', { inputTokens: 1_000_000, outputTokens: 0 }, table)
    expect(price).toThrow(ConfigurationError)
    expect(price).toThrow(
      'costOf: prices["x"].inputPerMillion must be a number ≥ 0 (USD per 1M tokens), got -1000000000',
    )
  })

  it('refuses a table that is not one, or cannot be read, with a ConfigurationError naming it', () => {
    const trap = () => {
      throw new Error('trap')
    }
    const cases: Array<[unknown, string]> = [
      [
        null,
        'definePrices: tables[1] must be a price table (model ids to { inputPerMillion, outputPerMillion }), got null',
      ],
      [undefined, 'definePrices: tables[1] must be a price table'],
      [new Proxy({}, { ownKeys: trap }), 'definePrices: tables[1] could not be read: Error: trap'],
      [
        {
          x: {
            get inputPerMillion(): number {
              return trap()
            },
            outputPerMillion: 1,
          },
        },
        'definePrices: tables[1] could not be read: Error: trap',
      ],
    ]
    for (const [table, message] of cases) {
      let error: unknown
      try {
        definePrices(defaultPrices, table as never)
      } catch (caught) {
        error = caught
      }
      expect(ConfigurationError.isInstance(error) && error.option).toBe('tables[1]')
      expect((error as Error).message.startsWith(message)).toBe(true)
    }
  })
})
