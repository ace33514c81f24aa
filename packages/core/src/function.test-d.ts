import { describe, expectTypeOf, it } from 'vitest'
import type { FunctionOptions, functionOptionKeys } from './function.js'

describe('functionOptionKeys', () => {
  it('lists exactly the keys of FunctionOptions, so unknown-key checks stay in step with it', () => {
    expectTypeOf<(typeof functionOptionKeys)[number]>().toEqualTypeOf<keyof FunctionOptions>()
  })
})
