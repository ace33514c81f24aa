/**
 * Cuts a text into the pieces a loopback server streams: `chunkChars` characters each, or — without `chunkChars` and
 * with `byWords` — word by word, each word with the space before it, as models stream text.
 *
 * @example
 * splitText('The quick fox', undefined, true) // ['The', ' quick', ' fox']
 * splitText('{"a":1}', 3, false) // ['{"a', '":1', '}']
 */
export function splitText(text: string, chunkChars: number | undefined, byWords: boolean): string[] {
  if (chunkChars === undefined && byWords) return text.match(/\s*\S+|\s+$/g) ?? [text]
  const size = Math.max(1, chunkChars ?? text.length)
  const pieces: string[] = []
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size))
  return pieces
}
