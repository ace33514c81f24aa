import { defineFunction, FunctionError } from '@tinyllm/core'
import { LLMCall } from '@tinyllm/llm'
import { ScriptedChatModel } from '@tinyllm/llm/testing'
import { describe, expect, it } from 'vitest'

// The defaults the READMEs and docs/guarantees.md give in numbers, read from what users build, so that a changed
// default fails here before it makes the docs wrong.
describe('documented defaults', () => {
  it('a Function makes one attempt; asked for more, it backs off from 200 ms, ×2, up to 10 s, jitter 0.5 (core README)', async () => {
    const plain = defineFunction({ name: 'plain', run: () => 1 })
    expect(plain.retry).toMatchObject({
      attempts: 1,
      initialDelayMs: 200,
      multiplier: 2,
      maxDelayMs: 10_000,
      jitter: 0.5,
      maxRetryAfterMs: 60_000,
      retryInvalidOutput: false,
      retryable: expect.any(Function),
    })
    expect(defineFunction({ name: 'three', retry: { attempts: 3 }, run: () => 1 }).retry).toMatchObject({
      attempts: 3,
      initialDelayMs: 200,
      maxDelayMs: 10_000,
    })
    let runs = 0
    const failing = defineFunction({
      name: 'failing',
      run: () => {
        runs += 1
        throw new Error('socket hang up')
      },
    })
    const record = await failing.trace(undefined)
    expect(FunctionError.isInstance(record.error)).toBe(true)
    expect(record.error?.retryable).toBe(true)
    expect([runs, record.attempts]).toEqual([1, 1])
    // The default rule is the error's own `retryable`.
    const refused = new FunctionError({ functionName: 'plain', state: 'running', cause: 'no', retryable: false })
    expect([plain.retry.retryable(record.error as FunctionError, 1), plain.retry.retryable(refused, 1)]).toEqual([
      true,
      false,
    ])
  })

  it('an LLMCall makes up to 3 attempts, backing off from 500 ms, ×2, up to 8 s (guarantees.md, llm README)', () => {
    const call = new LLMCall({ name: 'chat', model: new ScriptedChatModel() })
    expect(call.retry).toMatchObject({
      attempts: 3,
      initialDelayMs: 500,
      multiplier: 2,
      maxDelayMs: 8_000,
      jitter: 0.5,
      maxRetryAfterMs: 60_000,
    })
  })
})
