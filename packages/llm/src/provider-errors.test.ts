import { TinyLLMError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { ProviderCallError, RateLimitError } from './provider-errors.js'

describe('provider errors', () => {
  it('are recognised across duplicated package copies through their Symbol.for marker', () => {
    // An error of another copy: its prototype carries the same global symbols.
    const foreign = Object.create(
      Object.assign(Object.create(Error.prototype), {
        [Symbol.for('tinyllm.error.TinyLLMError')]: true,
        [Symbol.for('tinyllm.error.RateLimitError')]: true,
      }),
    )
    expect(TinyLLMError.isInstance(foreign)).toBe(true)
    expect(RateLimitError.isInstance(foreign)).toBe(true)
    expect(ProviderCallError.isInstance(foreign)).toBe(false)
  })

  it('keep name, cause and their own fields, and serialise to JSON', () => {
    const cause = new Error('socket hang up')
    const error = new RateLimitError({
      provider: 'openai',
      status: 429,
      requestId: 'req_1',
      retryAfterMs: 100,
      message: 'slow down',
      cause,
    })
    expect(error.name).toBe('RateLimitError')
    expect(error.retryable).toBe(true)
    expect(ProviderCallError.isInstance(error) && TinyLLMError.isInstance(error)).toBe(true)
    expect(error.cause).toBe(cause)
    const json = JSON.parse(JSON.stringify(error))
    expect(json).toMatchObject({
      name: 'RateLimitError',
      status: 429,
      requestId: 'req_1',
      provider: 'openai',
      retryAfterMs: 100,
    })
    expect(json.cause).toEqual({ name: 'Error', message: 'socket hang up' })
    expect(new ProviderCallError({ provider: 'openai', status: 400, message: 'bad request' }).retryable).toBe(false)
  })

  it('rehydrate with TinyLLMError.fromJSON as the same class, message, retryable and fields', () => {
    const errors = [
      new RateLimitError({
        provider: 'openai',
        status: 429,
        message: 'slow down',
        retryAfterMs: 20,
        requestId: 'req_1',
      }),
      new ProviderCallError({ provider: 'anthropic', status: 529, message: 'overloaded', retryable: true }),
    ]
    for (const original of errors) {
      const copy = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(original)))
      expect(copy.constructor).toBe(original.constructor)
      expect(copy.name).toBe(original.name)
      expect(copy.message).toBe(original.message)
      expect(copy.retryable).toBe(original.retryable)
      expect(JSON.stringify(copy)).toBe(JSON.stringify(original))
    }
    const rateLimit = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(errors[0])))
    expect(RateLimitError.isInstance(rateLimit) && ProviderCallError.isInstance(rateLimit)).toBe(true)
    expect(rateLimit).toMatchObject({ status: 429, retryAfterMs: 20, requestId: 'req_1' })
  })
})
