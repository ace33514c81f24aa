import { defineFunction, type Function } from '@tinyllm/core'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { Chain } from './chain.js'
import { Decision } from './decision.js'
import { Parallel } from './parallel.js'

const parse = defineFunction({ name: 'parse', run: (text: string) => Number(text) })
const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
const format = defineFunction({ name: 'format', run: (value: number) => ({ text: `${value}` }) })

describe('Chain types', () => {
  it('accepts what the first child accepts and resolves with what the last child resolves with', () => {
    const chain = new Chain({ name: 'c', children: [parse, double, format] })
    expectTypeOf(chain.invoke).parameter(0).toEqualTypeOf<string>()
    expectTypeOf(chain.invoke).returns.resolves.toEqualTypeOf<{ text: string }>()
    expectTypeOf(chain).toExtend<Function<string, { text: string }>>()
  })

  it('infers through schemas and processOutput', () => {
    const validated = defineFunction({
      name: 'validated',
      input: z.object({ amount: z.coerce.number() }),
      output: z.object({ cents: z.number() }),
      run: ({ amount }) => ({ cents: amount * 100 }),
      processOutput: ({ cents }) => cents,
    })
    const chain = new Chain({ name: 'c', children: [validated, double] })
    expectTypeOf(chain.invoke).parameter(0).toEqualTypeOf<{ amount: unknown }>()
    expectTypeOf(chain.invoke).returns.resolves.toEqualTypeOf<number>()
  })

  it('rejects a child that does not accept the previous output', () => {
    // @ts-expect-error format resolves with { text }, parse needs a string
    new Chain({ name: 'c', children: [format, parse] })
    const needsMore = defineFunction({ name: 'needsMore', run: (value: { text: string; id: number }) => value.id })
    // @ts-expect-error format's { text } lacks the id that needsMore requires
    new Chain({ name: 'c', children: [double, format, needsMore] })
    const takesLess = defineFunction({ name: 'takesLess', run: (value: object) => Object.keys(value).length })
    new Chain({ name: 'c', children: [double, format, takesLess] })
  })

  it('rejects an empty list of children', () => {
    // @ts-expect-error a Chain needs at least one child
    new Chain({ name: 'c', children: [] })
  })

  it('types a chain built from a list', () => {
    const steps: Array<Function<number, number>> = [double, double]
    const chain = new Chain({ name: 'many', children: steps })
    expectTypeOf(chain.invoke).parameter(0).toEqualTypeOf<number>()
    expectTypeOf(chain.invoke).returns.resolves.toEqualTypeOf<number>()
  })

  it('types a chain built from a readonly tuple, and checks its links', () => {
    const steps = [parse, double, format] as const
    const chain = new Chain({ name: 'c', children: steps })
    expectTypeOf(chain.invoke).parameter(0).toEqualTypeOf<string>()
    expectTypeOf(chain.invoke).returns.resolves.toEqualTypeOf<{ text: string }>()
    const wrong = [format, parse] as const
    // @ts-expect-error format resolves with { text }, parse needs a string
    new Chain({ name: 'c', children: wrong })
  })

  it('composes with the other combinators, nested', () => {
    const route = new Decision({
      name: 'route',
      decide: (value: number) => (value > 0 ? 'positive' : 'other'),
      branches: { positive: format, other: new Chain({ name: 'neg', children: [double, format] }) },
    })
    const fan = new Parallel({ name: 'fan', children: { routed: route, doubled: double } })
    const chain = new Chain({ name: 'outer', children: [parse, fan] })
    expectTypeOf(chain.invoke).parameter(0).toEqualTypeOf<string>()
    expectTypeOf(chain.invoke).returns.resolves.toEqualTypeOf<{ routed: { text: string }; doubled: number }>()
    const pick = defineFunction({ name: 'pick', run: (value: { routed: { text: string } }) => value.routed.text })
    const picked = new Chain({ name: 'picked', children: [chain.children[1], pick] })
    expectTypeOf(picked.invoke).returns.resolves.toEqualTypeOf<string>()
    // @ts-expect-error fan resolves with { routed, doubled }, parse needs a string
    new Chain({ name: 'wrong', children: [fan, parse] })
  })
})

describe('Functions written inline as children', () => {
  it('keep the types they would have on their own', () => {
    const chain = new Chain({
      name: 'inline',
      children: [
        defineFunction({ name: 'start', run: () => ({ ok: true }) }),
        new Parallel({
          name: 'fan',
          children: [defineFunction({ name: 'a', run: (value: { ok: boolean }) => value.ok })],
        }),
        new Decision({
          name: 'route',
          decide: (results: { [name: string]: boolean }) => (results.a ? 'only' : 'none'),
          branches: { only: defineFunction({ name: 'b', run: (value) => ({ seen: value }) }) },
        }),
      ],
    })
    expectTypeOf(chain.invoke).parameter(0).toEqualTypeOf<unknown>()
    expectTypeOf(chain.invoke).returns.resolves.toEqualTypeOf<{ seen: { [name: string]: boolean } }>()
  })
})
