import type { FunctionOptions } from '@tinyllm/core'
import { describe, expectTypeOf, it } from 'vitest'
import type { functionOptionNames } from './any-function.js'

describe('functionOptionNames', () => {
  it('names every option of FunctionOptions, and nothing else', () => {
    expectTypeOf<(typeof functionOptionNames)[number]>().toEqualTypeOf<keyof FunctionOptions>()
  })
})
