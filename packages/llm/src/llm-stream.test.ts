import { describe, expect, it } from 'vitest'
import { streamRun } from './llm-stream.js'

describe('streamRun', () => {
  it('never throws: a start that throws fails the stream’s result and its iteration with that error', async () => {
    const thrown = new Error('start failed')
    const stream = streamRun<string, string>(() => {
      throw thrown
    })
    await expect(stream.result).rejects.toBe(thrown)
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toBe(thrown)
  })
})
