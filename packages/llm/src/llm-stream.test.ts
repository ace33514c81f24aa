import { describe, expect, it } from 'vitest'
import type { ChatModel, ChatRequest, ChatStreamPart } from './chat-model.js'
import { LLMCall } from './llm-call.js'
import { streamRun } from './llm-stream.js'
import { ProviderCallError } from './provider-errors.js'

describe('streamRun', () => {
  it('never throws: a start that throws fails the stream’s result and its iteration with that error', async () => {
    const thrown = new Error('start failed')
    const stream = streamRun<string, string>(() => {
      throw thrown
    })
    await expect(stream.result).rejects.toBe(thrown)
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toBe(thrown)
  })

  it('never throws: a start that answers a plain value ends the stream with it as the result', async () => {
    const stream = streamRun<string, string>(() => 'done' as unknown as Promise<string>)
    expect(await stream.result).toBe('done')
    expect(await stream[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true })
  })

  it('calls onLeave once when the reader leaves before the run ended, and never after the end', async () => {
    let left = 0
    let finish: (value: string) => void = () => {}
    const stream = streamRun<number, string>(
      (push) => {
        push(1)
        push(2)
        return new Promise((resolve) => {
          finish = resolve
        })
      },
      () => {
        left += 1
      },
    )
    for await (const part of stream) if (part === 1) break
    expect(left).toBe(1)
    finish('done')
    expect(await stream.result).toBe('done')
    const ended = streamRun<number, string>(
      async (push) => {
        push(1)
        return 'done'
      },
      () => {
        left += 1
      },
    )
    await ended.result
    for await (const _part of ended) break
    expect(left).toBe(1)
  })

  it('answers next() calls made before the last one settled, in order, and settles every one at the end', async () => {
    let push: (part: string) => void = () => {}
    let finish: (value: string) => void = () => {}
    const stream = streamRun<string, string>((given) => {
      push = given
      return new Promise((resolve) => {
        finish = resolve
      })
    })
    const iterator = stream[Symbol.asyncIterator]()
    const asked = [iterator.next(), iterator.next(), iterator.next(), iterator.next()]
    push('a')
    push('b')
    push('c')
    finish('abc')
    expect(await Promise.all(asked)).toEqual([
      { value: 'a', done: false },
      { value: 'b', done: false },
      { value: 'c', done: false },
      { value: undefined, done: true },
    ])
    expect(await stream.result).toBe('abc')
  })

  it('fails the first of the readers waiting when the run fails, and ends the others', async () => {
    const failure = new Error('run failed')
    let fail: (error: Error) => void = () => {}
    const stream = streamRun<string, string>(
      () =>
        new Promise((_resolve, reject) => {
          fail = reject
        }),
    )
    const iterator = stream[Symbol.asyncIterator]()
    const asked = [iterator.next(), iterator.next()].map((next) => next.catch((error: unknown) => error))
    fail(failure)
    expect(await Promise.all(asked)).toEqual([failure, { value: undefined, done: true }])
    expect(await iterator.next()).toEqual({ value: undefined, done: true })
  })

  it('answers a part it hands to no reader (the reader left) as not streamed: a call cut after it is retried', async () => {
    let calls = 0
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'test',
      modelId: 'test-1',
      doGenerate: () => Promise.reject(new Error('not called')),
      async *doStream(_request: ChatRequest): AsyncIterable<ChatStreamPart> {
        calls += 1
        const text = calls === 1 ? 'Hel' : 'ok'
        yield { type: 'text-delta', choiceIndex: 0, text }
        if (calls === 1) throw new ProviderCallError({ provider: 'test', message: 'cut', retryable: true })
        const message = { role: 'assistant' as const, content: text }
        yield { type: 'finish', result: { choices: [{ index: 0, message, finishReason: 'stop' }], model: 'test-1' } }
      },
    }
    const call = new LLMCall({ name: 'left', model, retry: { initialDelayMs: 0 } })
    const stream = call.stream({ messages: [{ role: 'user', content: 'hi' }] })
    // The reader leaves before the first part came: no part of the first attempt reaches anyone.
    await stream[Symbol.asyncIterator]().return?.()
    expect(await stream.result).toBe('ok')
    expect(calls).toBe(2)
  })
})
