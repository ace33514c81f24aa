import { type JournalEntry, journalEntryProblem } from '@tinyllm/core'

const usageFields = ['calls', 'inputTokens', 'outputTokens', 'totalTokens', 'costUsd', 'unpricedCalls'] as const

/**
 * The text a journal stores for `entry` and the entry that text holds, or what is wrong with it (see
 * `journalEntryProblem`): a string. The entry is checked as given, then its fields are read once into the text, and the
 * text is checked again: a getter that answered the check one value cannot have another one stored. Only the fields of
 * an entry and of its usage are kept; an `input`, `output`, `usage` or `annotations` that is `undefined` is left out,
 * and read back as `undefined`. The input's digest is kept: without it, a step given another input would be replayed.
 */
export function encodeJournalEntry(
  entry: JournalEntry,
): { readonly text: string; readonly kept: JournalEntry } | string {
  const problem = journalEntryProblem(entry)
  if (problem !== undefined) return problem
  let text: string
  try {
    const { function: name, kind, input, output, usage, annotations, at } = entry
    const counts =
      usage === undefined ? undefined : Object.fromEntries(usageFields.map((field) => [field, usage[field]]))
    text = JSON.stringify({ function: name, kind, input, output, usage: counts, annotations, at })
  } catch (cause) {
    return `it could not be read (${cause instanceof Error ? cause.message : String(cause)})`
  }
  const kept = decodeJournalEntry(text)
  return typeof kept === 'string' ? kept : { text, kept }
}

/** The entry stored as `text`, or what is wrong with it (see `journalEntryProblem`, the check every journal makes): a string. */
export function decodeJournalEntry(text: unknown): JournalEntry | string {
  if (typeof text !== 'string') return `it holds ${storedKind(text)}, not JSON text`
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    // The parser's message where it quotes no part of the row: the part it quotes is cut where a secret may be, too
    // short for redaction to recognise.
    const message = error instanceof Error ? error.message : ''
    return message === '' || message.includes('"') ? 'it is not JSON' : `it is not JSON (${message})`
  }
  return journalEntryProblem(value) ?? (value as JournalEntry)
}

/** What a row holds instead of text: `node:sqlite` reads a BLOB (bytes another program wrote) as a Uint8Array. */
function storedKind(value: unknown): string {
  if (value === null) return 'null'
  return value instanceof Uint8Array ? 'a BLOB' : `a ${typeof value}`
}
