import { describe, expect, it } from 'vitest'
import { closestName } from './known-options.js'

describe('closestName', () => {
  it('names the option at most two edits away, case aside, and nothing further', () => {
    expect(closestName('levle', ['level', 'stream'])).toBe('level')
    expect(closestName('STREM', new Set(['level', 'stream']))).toBe('stream')
    expect(closestName('maxToken', ['maxTokens', 'maxCostUsd'])).toBe('maxTokens')
    expect(closestName('temperature', ['level', 'stream'])).toBeUndefined()
    expect(closestName('x'.repeat(10_000), ['level'])).toBeUndefined()
  })
})
