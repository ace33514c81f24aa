import { type TinyLLMError, ValidationError, type ValidationIssue } from '@tinyllm/core'
import { redact, redactAndCut, redactQuoted, redactString } from '@tinyllm/logger'

/**
 * Run data as text on the page: strings as they are, anything else as indented JSON, with secrets redacted. Every name,
 * kind, choice, value and error message the report shows is made text here and nowhere else, and before any cut, so a
 * cut never leaves part of a secret on the page. With `maxLength`, what is not a string is copied with each string in
 * it read only as far as it can show there (see `redactQuoted`): no more of it can show once the text is cut at
 * `maxLength`.
 */
export function runText(value: unknown, maxLength?: number): string {
  if (typeof value === 'string') return redactString(value)
  const safe = maxLength === undefined ? redact(value) : redactQuoted(value, maxLength)
  return typeof safe === 'string' ? safe : (JSON.stringify(safe, null, 2) ?? String(safe))
}

/**
 * A value as {@link runText} writes it, cut at `maxLength` characters with a count of the rest. The cut is
 * `redactAndCut`'s, which never splits an emoji and reads a text only as far as it can show, secrets replaced before
 * the cut: a value that holds a 10 MB text, or one text many times, costs no more than a short one. The count is of
 * the characters the text had past the cut (of a value that is not a string, its JSON with each string in it cut).
 */
export function preview(value: unknown, maxLength: number): string {
  const text = typeof value === 'string' ? value : runText(value, maxLength)
  const cut = redactAndCut(text, maxLength)
  if (text.length <= maxLength || !cut.endsWith('…')) return cut
  const shown = cut.slice(0, -1)
  return `${shown}… (${text.length - shown.length} more characters)`
}

/** The longest name the page shows (a function's, a kind, a run id, a state, a choice, the title), in characters. */
const maxNameLength = 1_000

/**
 * A name as {@link runText} writes it, cut at 1,000 characters and an ellipsis: a record read back from storage may hold
 * a name of megabytes, which every row, tooltip and graph node would otherwise repeat whole. Text is read only as far
 * as it can show (see `redactAndCut`), so such a name costs no more than a short one.
 */
export function nameText(value: unknown): string {
  return redactAndCut(typeof value === 'string' ? value : runText(value, maxNameLength), maxNameLength)
}

/**
 * `Name in state: first line of the message` (each issue, for a validation error), secrets redacted (the message whole,
 * before its first line is taken), cut at `maxLength` characters as {@link preview} cuts: a run repeats it for every
 * retry and in its states.
 */
export function headline(error: TinyLLMError, maxLength: number): string {
  // A name and a state are names like any other: read back from storage, either may be an object (even one whose
  // `toString` is no function), which a template would throw on or write as `[object Object]`.
  const name = nameText(error.name)
  const where = error.state === undefined ? '' : ` in ${nameText(error.state)}`
  // Rebuilt from its JSON (a run in another process), the list ends past 10,000 issues with a count of the rest, and
  // may hold anything else JSON can: what is not a list of issues is left to the message. It is read as a log line
  // reads a list (its first 10,000 items and a count of the rest), so a sparse list of 2³²−1 holes takes no time.
  if (ValidationError.isInstance(error) && Array.isArray(error.issues)) {
    const issues = (redact(error.issues) as ReadonlyArray<unknown>).map(issueText)
    return preview(`${name}${where}: ${issues.join('; ')}`, maxLength)
  }
  // Redacted whole before its first line is taken: the first line of a secret that spans lines is not recognised alone.
  const message = redactString(error.message)
  const end = message.indexOf('\n')
  return preview(`${name}${where}: ${end === -1 ? message : message.slice(0, end)}`, maxLength)
}

/**
 * An error's fields without a stack — its own nor its causes' (an AggregateError's errors too) — as {@link preview}
 * writes them: a stack says where code was when it threw, in the machine's own paths, rather than what went wrong.
 */
export function errorDetail(error: TinyLLMError, maxLength: number): string {
  return preview(withoutStacks(redact(error)), maxLength)
}

/** How deep a chain of causes {@link withoutStacks} follows: the rest is shown as `redact` wrote it. */
const maxCauseDepth = 100

/**
 * A redacted error with `stack` left out of it and of every error it holds as its `cause` or among its `errors`; its
 * other fields (an input received, validation issues) are data, kept as they are, whatever their keys.
 */
function withoutStacks(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || depth > maxCauseDepth) return value
  const { stack: _stack, cause, errors, ...fields } = value as Record<string, unknown>
  const copy: Record<string, unknown> = fields
  if (cause !== undefined) copy.cause = withoutStacks(cause, depth + 1)
  if (errors !== undefined)
    copy.errors = Array.isArray(errors) ? errors.map((each) => withoutStacks(each, depth + 1)) : errors
  return copy
}

/** `path: message` of a validation issue (`(root)` for an empty path); an issue that is not one, as it is. */
function issueText(issue: unknown): string {
  if (typeof issue === 'string') return issue
  const { path, message } = (typeof issue === 'object' && issue !== null ? issue : {}) as Partial<ValidationIssue>
  if (!Array.isArray(path) || typeof message !== 'string') return runText(issue)
  return `${path.map(segmentText).join('.') || '(root)'}: ${message}`
}

/**
 * A segment of an issue's path as text: a key as it is, a Standard Schema segment (`{ key }`) as its key, anything
 * else a record read back from storage may hold as its JSON (`String()` throws on `{"toString":"x"}`).
 */
function segmentText(segment: unknown): string {
  if (typeof segment !== 'object' || segment === null) return String(segment)
  const key: unknown = (segment as { key?: unknown }).key
  if (typeof key === 'string' || typeof key === 'number') return String(key)
  try {
    return JSON.stringify(segment) ?? '?'
  } catch {
    return '?'
  }
}
