/** The text of a message's `content`, whether a string or a list of parts (non-text parts contribute nothing). */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  let text = ''
  for (const part of content) {
    if (typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string') text += part.text
  }
  return text
}
