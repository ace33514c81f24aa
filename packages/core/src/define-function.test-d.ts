import * as v from 'valibot'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { defineFunction } from './define-function.js'
import { Function } from './function.js'

describe('type inference', () => {
  it('infers invoke input and output from zod schemas', () => {
    const fn = defineFunction({
      name: 'typed',
      input: z.object({ name: z.string(), age: z.coerce.number() }),
      output: z.object({ greeting: z.string() }),
      run: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ name: string; age: number }>()
        return { greeting: `hi ${input.name}` }
      },
    })
    expectTypeOf(fn.invoke).parameter(0).toEqualTypeOf<{ name: string; age: unknown }>()
    expectTypeOf(fn.invoke).returns.resolves.toEqualTypeOf<{ greeting: string }>()
  })

  it('infers from valibot schemas too', () => {
    const fn = defineFunction({ name: 'v', input: v.object({ n: v.number() }), run: ({ n }) => n * 2 })
    expectTypeOf(fn.invoke).parameter(0).toEqualTypeOf<{ n: number }>()
    expectTypeOf(fn.invoke).returns.resolves.toEqualTypeOf<number>()
  })

  it('infers from run when there are no schemas, and from processOutput', () => {
    const plain = defineFunction({ name: 'p', run: async (text: string) => text.length })
    expectTypeOf(plain.invoke).parameter(0).toEqualTypeOf<string>()
    expectTypeOf(plain.invoke).returns.resolves.toEqualTypeOf<number>()
    const processed = defineFunction({ name: 'q', run: (n: number) => n, processOutput: (n) => ({ doubled: n * 2 }) })
    expectTypeOf(processed.invoke).returns.resolves.toEqualTypeOf<{ doubled: number }>()
  })

  it('resolves invoke with what the processedOutput schema gives', () => {
    const counted = defineFunction({
      name: 'counted',
      run: (text: string) => text,
      processedOutput: z.string().transform((text) => text.length),
    })
    expectTypeOf(counted.invoke).returns.resolves.toEqualTypeOf<number>()
    const processed = defineFunction({
      name: 'processed',
      output: z.number(),
      run: () => 2,
      processOutput: (n) => `${n}`,
      processedOutput: z.string().transform((text) => ({ text })),
    })
    expectTypeOf(processed.invoke).returns.resolves.toEqualTypeOf<{ text: string }>()
  })

  it('types class-based Functions from their generics', () => {
    class Upper extends Function<string, string> {
      run(input: string) {
        return input.toUpperCase()
      }
    }
    expectTypeOf(new Upper({ name: 'u' }).invoke).returns.resolves.toEqualTypeOf<string>()
    // @ts-expect-error input must be a string
    void new Upper({ name: 'u' }).invoke(42)
  })
})
