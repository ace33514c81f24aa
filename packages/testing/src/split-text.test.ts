import { describe, expect, it } from 'vitest'
import { splitText } from './split-text.js'

describe('splitText', () => {
  it('cuts word by word, or every n characters', () => {
    expect(splitText('The quick  fox ', undefined, true)).toEqual(['The', ' quick', '  fox', ' '])
    expect(splitText('{"a":1}', 3, false)).toEqual(['{"a', '":1', '}'])
    expect(splitText('abc', undefined, false)).toEqual(['abc'])
    expect(splitText('', 2, false)).toEqual([])
  })
})
