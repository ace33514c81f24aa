/**
 * The answer inside a Markdown code fence (```` ```json ````, a newline, the answer, ```` ``` ````), else the answer
 * trimmed. Read by position, in one pass: a pattern that backtracked over the answer took seconds for one that opened a
 * fence and then sent tens of thousands of newlines, and the thread could not time out meanwhile.
 */
export function stripCodeFence(text: string): string {
  const trimmed = text.trim()
  if (!trimmed.startsWith('```') || !trimmed.endsWith('```')) return trimmed
  const firstLineEnd = trimmed.indexOf('\n')
  if (firstLineEnd === -1 || !/^[A-Za-z0-9_-]*$/.test(trimmed.slice(3, firstLineEnd).trimEnd())) return trimmed
  return trimmed.slice(firstLineEnd + 1, -3).trim()
}
