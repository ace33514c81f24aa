import { TimeoutError, TinyLLMError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { storedErrorJson } from './run-job.js'

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value))

describe('storedErrorJson', () => {
  it('keeps an error of less than 1 MiB of JSON as it is', () => {
    const json = new TimeoutError({ timeoutMs: 5, kind: 'attempt', functionName: 'f' }).toJSON()
    expect(storedErrorJson(json)).toBe(json)
  })

  it('cuts each list to what fits, from the first entry, and counts the rest beside what was counted already', () => {
    const json = { name: 'ValidationError', message: 'm', issues: Array.from({ length: 5_000 }, () => 'x'.repeat(500)) }
    const kept = storedErrorJson({ ...json, issuesLeftOut: 7 }) as { issues: string[]; issuesLeftOut: number }
    expect(bytes(kept)).toBeLessThanOrEqual(1024 * 1024)
    expect(kept.issues.length).toBeGreaterThan(1_000)
    expect(kept.issues.length + kept.issuesLeftOut).toBe(5_007)
  })

  it('drops a field too large in itself, keeping what reads the error back typed: its name, message and location', () => {
    const json = {
      name: 'TimeoutError',
      message: 'f: timed out',
      functionName: 'f',
      state: 'running',
      retryable: true,
      kind: 'attempt',
      cause: { body: 'x'.repeat(2 * 1024 * 1024) },
    }
    const kept = storedErrorJson(json)
    expect(kept).toEqual({
      name: 'TimeoutError',
      message: 'f: timed out',
      functionName: 'f',
      state: 'running',
      retryable: true,
      kind: 'attempt',
    })
    const read = TinyLLMError.fromJSON(kept)
    expect(TimeoutError.isInstance(read)).toBe(true)
    expect(read.message).toBe('f: timed out')
  })
})
