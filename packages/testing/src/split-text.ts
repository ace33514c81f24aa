import { checkNumber, optionError } from '@tinyllm/core'

/**
 * Cuts a text into the pieces a loopback server streams: `chunkChars` characters each, or — without `chunkChars` and
 * with `byWords` — word by word, each word with the space before it, as models stream text. A piece never ends inside
 * a character written as a surrogate pair (an emoji): it takes the pair's second half too, as a provider never streams
 * half a character. A `text` that is not a string, or a `chunkChars` that is not a whole number ≥ 1 (NaN would lose the
 * text), is a ConfigurationError.
 *
 * @example
 * splitText('The quick fox', undefined, true) // ['The', ' quick', ' fox']
 * splitText('{"a":1}', 3, false) // ['{"a', '":1', '}']
 */
export function splitText(text: string, chunkChars: number | undefined, byWords: boolean): string[] {
  if (typeof text !== 'string') throw optionError('text', 'a string', text, 'splitText')
  checkNumber(chunkChars, 'chunkChars', { integer: true, min: 1 }, 'splitText')
  if (chunkChars === undefined && byWords) return text.match(/\s*\S+|\s+$/g) ?? [text]
  const size = chunkChars ?? Math.max(1, text.length)
  const pieces: string[] = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(start + size, text.length)
    if (isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) end += 1
    pieces.push(text.slice(start, end))
    start = end
  }
  return pieces
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}
