import { describe, expect, it } from 'vitest'
import { jsonDifferences } from './json-difference.js'

describe('jsonDifferences', () => {
  it('lists differing leaves with their paths', () => {
    expect(
      jsonDifferences(
        { model: 'a', messages: [{ content: 'x' }], 'odd-key': 1 },
        { model: 'a', messages: [{ content: 'y' }, { content: 'z' }], extra: true },
      ).differences,
    ).toEqual([
      { path: '$.extra', expected: undefined, actual: true },
      { path: '$.messages[0].content', expected: 'x', actual: 'y' },
      { path: '$.messages[1]', expected: undefined, actual: { content: 'z' } },
      { path: '$["odd-key"]', expected: 1, actual: undefined },
    ])
  })

  it('finds no difference between equal values, and counts those past the limit without listing them', () => {
    expect(jsonDifferences({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual({ differences: [], count: 0 })
    const capped = jsonDifferences([1, 2, 3], [4, 5, 6], 2)
    expect(capped.differences.map((difference) => difference.path)).toEqual(['$[0]', '$[1]'])
    expect(capped.count).toBe(3)
  })
})
