import { isSecretFieldName, isSecretStringField, REDACTED, redactString } from '@tinyllm/logger'
import { setOwn } from './set-own.js'

/**
 * Replaces the given literal secrets, then everything `@tinyllm/logger` recognises as a secret (API-key-shaped
 * strings, bearer tokens, `password=…`-style assignments, registered secrets), so cassettes and logs share one
 * definition of a secret.
 */
export function redactSecretsInText(text: string, secrets: readonly string[] = []): string {
  let result = text
  for (const secret of secrets) if (secret.length > 0) result = result.replaceAll(secret, REDACTED)
  return redactString(result)
}

/**
 * The text of a JSON value too deep to parse and walk, with secrets replaced as {@link redactSecretsDeep} replaces them:
 * the whole value of a field named like a secret (`null` kept), then {@link redactSecretsInText}. Read in one pass
 * without recursion, so any depth is fine; text that is not JSON comes out as {@link redactSecretsInText} leaves it.
 */
export function redactSecretsInJsonText(text: string, secrets: readonly string[] = []): string {
  let result = ''
  let copied = 0
  for (let index = 0; index < text.length; index++) {
    if (text[index] !== '"') continue
    const keyEnd = stringEnd(text, index)
    let colon = keyEnd
    while (/\s/.test(text[colon] ?? '')) colon++
    if (text[colon] !== ':') {
      index = keyEnd - 1
      continue
    }
    let valueStart = colon + 1
    while (/\s/.test(text[valueStart] ?? '')) valueStart++
    let key: unknown
    try {
      key = JSON.parse(text.slice(index, keyEnd))
    } catch {
      key = undefined
    }
    // The value's end is looked for only behind a secret's name, so the text is read once however deep it nests.
    const valueEnd = typeof key === 'string' && isSecretFieldName(key) ? jsonValueEnd(text, valueStart) : undefined
    if (valueEnd !== undefined && text.slice(valueStart, valueEnd) !== 'null') {
      result += `${text.slice(copied, valueStart)}${JSON.stringify(REDACTED)}`
      copied = valueEnd
      index = valueEnd - 1
    } else {
      index = colon
    }
  }
  return redactSecretsInText(result + text.slice(copied), secrets)
}

/** Where the JSON string that opens at `start` ends (just past its closing quote, or the end of the text). */
function stringEnd(text: string, start: number): number {
  for (let index = start + 1; index < text.length; index++) {
    if (text[index] === '\\') index++
    else if (text[index] === '"') return index + 1
  }
  return text.length
}

/** Where the JSON value that starts at `start` ends: a string, an object or array however deep, or a literal. */
function jsonValueEnd(text: string, start: number): number {
  let depth = 0
  for (let index = start; index < text.length; index++) {
    const char = text[index]
    if (char === '"') {
      index = stringEnd(text, index) - 1
      if (depth === 0) return index + 1
    } else if (char === '{' || char === '[') depth++
    else if (char === '}' || char === ']') {
      if (depth === 0) return index
      depth--
      if (depth === 0) return index + 1
    } else if (depth === 0 && (char === ',' || /\s/.test(char ?? ''))) return index
  }
  return text.length
}

/**
 * A copy of a JSON value with secrets replaced as `@tinyllm/logger`'s `redact` replaces them: the whole value of a field
 * named like a secret (`password`, `apiKey`, `client_secret`…; `null` is kept, so a missing key stays visible), and
 * secret-looking parts of every other string and key. Unlike `redact` the copy is complete, however large, because a
 * cassette must replay what was recorded.
 */
export function redactSecretsDeep(value: unknown, secrets: readonly string[] = []): unknown {
  if (typeof value === 'string') return redactSecretsInText(value, secrets)
  if (Array.isArray(value)) return value.map((item) => redactSecretsDeep(item, secrets))
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      const secret =
        item !== null &&
        item !== undefined &&
        (isSecretFieldName(key) || (typeof item === 'string' && isSecretStringField(key, item)))
      setOwn(result, redactSecretsInText(key, secrets), secret ? REDACTED : redactSecretsDeep(item, secrets))
    }
    return result
  }
  return value
}

/** A string a stream's event holds, where it sits: `holder[key]`, in event `event`. */
interface StreamedPiece {
  readonly holder: Record<string, unknown>
  readonly key: string
  readonly event: number
}

/**
 * Replaces a secret a stream sends in pieces — a key split across the deltas of several events — in the parsed JSON of
 * each event, in place. The strings at one path (`choices.0.delta.content`) are read as the one text they add up to;
 * the span where its redaction differs is cut from the pieces, and the first piece it touches takes the marker. Answers
 * the indexes of the events it changed.
 */
export function redactAcrossEvents(events: readonly unknown[], secrets: readonly string[] = []): Set<number> {
  const paths = new Map<string, StreamedPiece[]>()
  const collect = (value: unknown, path: string, event: number): void => {
    if (typeof value !== 'object' || value === null) return
    for (const [key, field] of Object.entries(value)) {
      const at = `${path}.${key}`
      if (typeof field !== 'string') collect(field, at, event)
      else if (paths.has(at)) paths.get(at)?.push({ holder: value as Record<string, unknown>, key, event })
      else paths.set(at, [{ holder: value as Record<string, unknown>, key, event }])
    }
  }
  for (let event = 0; event < events.length; event++) collect(events[event], '', event)
  const changed = new Set<number>()
  for (const pieces of paths.values()) {
    if (pieces.length < 2) continue
    const joined = pieces.map((piece) => piece.holder[piece.key] as string).join('')
    const redacted = redactSecretsInText(joined, secrets)
    if (redacted === joined) continue
    let start = 0
    while (joined[start] === redacted[start]) start++
    let end = joined.length
    while (end > start && joined[end - 1] === redacted[redacted.length - joined.length + end - 1]) end--
    let offset = 0
    for (const piece of pieces) {
      const text = piece.holder[piece.key] as string
      const from = Math.max(start - offset, 0)
      const to = Math.min(end - offset, text.length)
      if (from < to) {
        setOwn(piece.holder, piece.key, text.slice(0, from) + (start >= offset ? REDACTED : '') + text.slice(to))
        changed.add(piece.event)
      }
      offset += text.length
    }
  }
  return changed
}
