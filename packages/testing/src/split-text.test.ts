import { describe, expect, it } from 'vitest'
import { splitText } from './split-text.js'

describe('splitText', () => {
  it('cuts word by word, or every n characters', () => {
    expect(splitText('The quick  fox ', undefined, true)).toEqual(['The', ' quick', '  fox', ' '])
    expect(splitText('{"a":1}', 3, false)).toEqual(['{"a', '":1', '}'])
    expect(splitText('abc', undefined, false)).toEqual(['abc'])
    expect(splitText('', 2, false)).toEqual([])
  })

  it('never cuts a character written as a surrogate pair in half', () => {
    expect(splitText('a😀b👍🏽c', 2, false)).toEqual(['a😀', 'b👍', '🏽', 'c'])
    expect(splitText('😀😀', 1, false)).toEqual(['😀', '😀'])
    // A lone surrogate in the text stays as it is, alone in its piece.
    expect(splitText('\ud800ab\udc00', 1, false)).toEqual(['\ud800', 'a', 'b', '\udc00'])
  })
})
