import { type JournalEntry, keptJournalEntry } from '@tinyllm/core'

/**
 * The text a journal stores for `entry` and the entry that text holds, or what is wrong with it (see
 * `keptJournalEntry`, the check every journal makes): a string. What is stored is the checked copy, whose fields were
 * read once, and only an entry's fields. An `input`, `output`, `usage` or `annotations` that is `undefined` is left
 * out, and read back as `undefined`. The input's digest is kept: without it, a step given another input would be replayed.
 */
export function encodeJournalEntry(
  entry: JournalEntry,
): { readonly text: string; readonly kept: JournalEntry } | string {
  const kept = keptJournalEntry(entry)
  return typeof kept === 'string' ? kept : { text: JSON.stringify(kept), kept }
}

/** The entry stored as `text`, or what is wrong with it (see `keptJournalEntry`, the check every journal makes): a string. */
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
  return keptJournalEntry(value)
}

/** What a row holds instead of text: `node:sqlite` reads a BLOB (bytes another program wrote) as a Uint8Array. */
function storedKind(value: unknown): string {
  if (value === null) return 'null'
  return value instanceof Uint8Array ? 'a BLOB' : `a ${typeof value}`
}
