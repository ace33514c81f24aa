import { defineFunction, type TinyLLMError } from '@tinyllm/core'
import { describe, expectTypeOf, it } from 'vitest'
import { Parallel, type Settled } from './parallel.js'

const email = defineFunction({ name: 'email', run: (loan: { text: string }) => ({ sent: loan.text.length > 0 }) })
const analysis = defineFunction({ name: 'analysis', run: (loan: { amount: number }) => ({ risk: loan.amount }) })
const score = defineFunction({ name: 'score', run: (text: string) => text.length })

describe('Parallel types', () => {
  it('keys results by the keys of an object of children, as literal types', () => {
    const parallel = new Parallel({ name: 'p', children: { email, analysis } })
    expectTypeOf(parallel.invoke).parameter(0).toEqualTypeOf<{ text: string } & { amount: number }>()
    expectTypeOf(parallel.invoke).returns.resolves.toEqualTypeOf<{
      email: { sent: boolean }
      analysis: { risk: number }
    }>()
    // @ts-expect-error the input must satisfy every child: amount is missing
    void parallel.invoke({ text: 'a' })
  })

  it('keys results by name for a list of children', () => {
    const parallel = new Parallel({ name: 'p', children: [email, analysis] })
    expectTypeOf(parallel.invoke).returns.resolves.toEqualTypeOf<{
      [name: string]: { sent: boolean } | { risk: number }
    }>()
  })

  it('takes a list and resolves with a list in the map form', () => {
    const parallel = new Parallel({ name: 'p', map: score, concurrency: 4 })
    expectTypeOf(parallel.invoke).parameter(0).toEqualTypeOf<ReadonlyArray<string>>()
    expectTypeOf(parallel.invoke).returns.resolves.toEqualTypeOf<number[]>()
    // @ts-expect-error the map form takes a list of the child's inputs
    void parallel.invoke('one')
  })

  it('wraps every result in Settled in settle-all mode', () => {
    const mapped = new Parallel({ name: 'p', map: score, mode: 'settle-all' })
    expectTypeOf(mapped.invoke).returns.resolves.toEqualTypeOf<Array<Settled<number>>>()
    const keyed = new Parallel({ name: 'q', children: { email }, mode: 'settle-all' })
    expectTypeOf(keyed.invoke).returns.resolves.toEqualTypeOf<{ email: Settled<{ sent: boolean }> }>()
    expectTypeOf<Extract<Settled<number>, { status: 'rejected' }>['error']>().toEqualTypeOf<TinyLLMError>()
  })
})
