import type { JournalEntry } from '@tinyllm/core'

const usageFields = ['calls', 'inputTokens', 'outputTokens', 'totalTokens', 'costUsd', 'unpricedCalls'] as const

/**
 * The text a journal stores for an entry: its JSON. An `input`, `output`, `usage` or `annotations` that is `undefined`
 * is left out, and read back as `undefined`. The input's digest is kept: without it, a step given another input would
 * be replayed.
 */
export function encodeJournalEntry(entry: JournalEntry): string {
  return JSON.stringify({
    function: entry.function,
    kind: entry.kind,
    input: entry.input,
    output: entry.output,
    usage: entry.usage,
    annotations: entry.annotations,
    at: entry.at,
  })
}

/** The entry stored as `text`, or what is wrong with it: a string. */
export function decodeJournalEntry(text: unknown): JournalEntry | string {
  if (typeof text !== 'string') return `it holds ${text === null ? 'null' : `a ${typeof text}`}, not JSON text`
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    // The parser's message where it quotes no part of the row: the part it quotes is cut where a secret may be, too
    // short for redaction to recognise.
    const message = error instanceof Error ? error.message : ''
    return message === '' || message.includes('"') ? 'it is not JSON' : `it is not JSON (${message})`
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'its JSON is not an object'
  const entry = value as Record<string, unknown>
  if (typeof entry.function !== 'string') return 'function is not a string'
  if (typeof entry.kind !== 'string') return 'kind is not a string'
  if (entry.input !== undefined && typeof entry.input !== 'string') return 'input is not a string'
  if (typeof entry.at !== 'number' || !Number.isFinite(entry.at)) return 'at is not a number'
  const usage = entry.usage
  if (usage !== undefined) {
    if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return 'usage is not an object'
    for (const field of usageFields) {
      const count = (usage as Record<string, unknown>)[field]
      if (typeof count !== 'number' || !Number.isFinite(count)) return `usage.${field} is not a number`
    }
  }
  const annotations = entry.annotations
  if (
    annotations !== undefined &&
    (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations))
  )
    return 'annotations is not an object'
  return entry as unknown as JournalEntry
}
