import { ConfigurationError } from '@tinyllm/core'
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

  it('refuses a text that is not a string, or a chunkChars that is not a whole number ≥ 1, instead of losing the text', () => {
    const cases: Array<[unknown, unknown, string]> = [
      ['abc', Number.NaN, 'splitText: chunkChars must be an integer ≥ 1, got NaN'],
      ['abc', 0, 'splitText: chunkChars must be an integer ≥ 1, got 0'],
      ['abc', 1.5, 'splitText: chunkChars must be an integer ≥ 1, got 1.5'],
      [5, 2, 'splitText: text must be a string, got 5'],
    ]
    for (const [text, chunkChars, message] of cases) {
      expect(() => splitText(text as never, chunkChars as never, false)).toThrow(ConfigurationError)
      expect(() => splitText(text as never, chunkChars as never, false)).toThrow(message)
    }
  })
})
