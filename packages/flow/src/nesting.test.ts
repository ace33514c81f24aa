import { getEventListeners } from 'node:events'
import { AbortError, defineFunction, formatRunTree, type RunContext } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { aborted, deferred, withoutDurations } from './__fixtures__/helpers.js'
import { DecisionError } from './decision.js'
import { Chain, Decision, Parallel, toMermaid } from './index.js'

interface Order {
  readonly customer: string
  readonly items: ReadonlyArray<number>
}

function buildPipeline(price: (amount: number, context: RunContext) => number | Promise<number>) {
  const priceEach = defineFunction({ name: 'Price', run: price })
  const size = new Decision({
    name: 'Size',
    decide: (order: Order) => (order.items.length > 2 ? 'large' : 'small'),
    branches: {
      small: defineFunction({ name: 'Standard', run: (order: Order) => `standard for ${order.customer}` }),
      large: defineFunction({ name: 'Bulk', run: (order: Order) => `bulk for ${order.customer}` }),
    },
  })
  const summarise = new Chain({
    name: 'Summarise',
    children: [size, defineFunction({ name: 'Shout', run: (text: string) => text.toUpperCase() })],
  })
  const prices = new Chain({
    name: 'Prices',
    children: [
      defineFunction({ name: 'Items', run: (order: Order) => order.items }),
      new Parallel({ name: 'PriceEach', map: priceEach, concurrency: 2 }),
    ],
  })
  return new Chain({
    name: 'Checkout',
    children: [
      new Parallel({ name: 'Fan', children: { prices, summary: summarise } }),
      defineFunction({
        name: 'Total',
        run: ({ prices, summary }: { prices: number[]; summary: string }) => ({
          total: prices.reduce((sum, value) => sum + value, 0),
          summary,
        }),
      }),
    ],
  })
}

describe('combinators nested three levels deep', () => {
  it('run, type and record through every level', async () => {
    const pipeline = buildPipeline((amount) => amount * 1.5)
    const result = await pipeline.invoke({ customer: 'ada', items: [10, 20, 30] })
    expect(result).toEqual({ total: 90, summary: 'BULK FOR ADA' })

    const record = await pipeline.trace({ customer: 'bob', items: [4] })
    expect(record.output).toEqual({ total: 6, summary: 'STANDARD FOR BOB' })
    // Children are listed in the order they started, which is the declared order.
    expect(withoutDurations(formatRunTree(record))).toBe(
      [
        '✔ Checkout (chain)',
        '├─ ✔ Fan (parallel)',
        '│  ├─ ✔ Prices (chain)',
        '│  │  ├─ ✔ Items (function)',
        '│  │  └─ ✔ PriceEach (parallel)',
        '│  │     └─ ✔ Price (function)',
        '│  └─ ✔ Summarise (chain)',
        '│     ├─ ✔ Size (decision) choice=small',
        '│     │  └─ ✔ Standard (function)',
        '│     └─ ✔ Shout (function)',
        '└─ ✔ Total (function)',
      ].join('\n'),
    )
  })

  it('draws the whole nested graph', () => {
    expect(toMermaid(buildPipeline((amount) => amount))).toBe(
      [
        'flowchart TD',
        '  subgraph n0["Checkout (chain)"]',
        '    subgraph n1["Fan (parallel)"]',
        '      subgraph n2["Prices (chain)"]',
        '        n3["Items"]',
        '        subgraph n4["PriceEach (parallel map)"]',
        '          n5["Price"]',
        '        end',
        '      end',
        '      subgraph n6["Summarise (chain)"]',
        '        n7{"Size"}',
        '        n8["Standard"]',
        '        n9["Bulk"]',
        '        n10["Shout"]',
        '      end',
        '    end',
        '    n11["Total"]',
        '  end',
        '  n3 --> n4',
        '  n7 -->|"small"| n8',
        '  n7 -->|"large"| n9',
        '  n8 --> n10',
        '  n9 --> n10',
        '  n1 --> n11',
      ].join('\n'),
    )
  })

  it('surfaces an error from the deepest level with its own type, and shows where it happened', async () => {
    const pipeline = new Chain({
      name: 'Outer',
      children: [
        new Parallel({
          name: 'Middle',
          children: [new Decision({ name: 'Inner', choices: ['yes', 'no'], decide: () => 'perhaps' })],
        }),
      ],
    })
    const record = await pipeline.trace(undefined)
    expect(DecisionError.isInstance(record.error)).toBe(true)
    expect(record.error?.functionName).toBe('Inner')
    expect(withoutDurations(formatRunTree(record))).toBe(
      [
        '✖ Outer (chain)',
        '│  init → input_validation → running → failed',
        '│  DecisionError from Middle (below)',
        '└─ ✖ Middle (parallel)',
        '   │  init → input_validation → running → failed',
        '   │  DecisionError from Inner (below)',
        '   └─ ✖ Inner (decision)',
        '         init → input_validation → running → failed',
        '         DecisionError in running: Inner: decision "perhaps" is not one of the choices [yes, no]',
      ].join('\n'),
    )
  })

  it('propagates an abort from the root to the deepest running branch', async () => {
    const reached = deferred()
    const seen: AbortSignal[] = []
    const pipeline = buildPipeline(async (amount, context) => {
      seen.push(context.signal)
      if (seen.length === 2) reached.resolve()
      await aborted(context.signal)
      return amount
    })
    const controller = new AbortController()
    const pending = pipeline.trace({ customer: 'ada', items: [1, 2, 3, 4] }, { signal: controller.signal })
    await reached.promise
    controller.abort('closing')
    const record = await pending
    expect(AbortError.isInstance(record.error)).toBe(true)
    expect(seen).toHaveLength(2)
    expect(seen.every((signal) => signal.aborted)).toBe(true)
    const fan = record.children[0]!
    expect(fan.status).toBe('failed')
    const priceEach = fan.children.find((child) => child.function === 'Prices')!.children[1]!
    expect(priceEach.function).toBe('PriceEach')
    expect(priceEach.children).toHaveLength(2)
    expect(priceEach.children.every((child) => AbortError.isInstance(child.error))).toBe(true)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})
