import { quoteGiven } from './known-options.js'
import type { LogFields } from './logger.js'
import { longestRegisteredSecret, replaceRegisteredSecrets } from './registered-secrets.js'
import {
  encodedValueEnd,
  isBasicCredentials,
  isSecretAssignment,
  isSecretQueryName,
  isSecretStringField,
  isUserAndPassword,
  isUserFlag,
  JSON_MEMBER_PATTERN,
  mayHoldUrl,
  NAME_AFTER_VALUE_PATTERN,
  SECRET_ASSIGNMENT_PATTERN,
  SECRET_FLAG_PATTERN,
  SECRET_KEY_PATTERN,
  SECRET_VALUE_PATTERN,
  SHORTEST_ASSIGNMENT_MATCH,
  SHORTEST_PATTERN_MATCH,
  secretFlagName,
  URL_CREDENTIALS_PATTERN,
  USER_FLAG_PATTERN,
  XML_ELEMENT_PATTERN,
  yamlListItems,
} from './secret-patterns.js'

/** What a secret is replaced with. */
export const REDACTED = '[REDACTED]'

const CIRCULAR = '[Circular]'
/** What stands for a value nested too deep, or past what a copy may take. */
const TRUNCATED = '[Truncated]'
/** What stands for a value that cannot be read or copied (a getter or a `Proxy` that throws). */
const UNSERIALIZABLE = '[Unserializable]'
/** Deeper structures are cut rather than risk a stack overflow inside a log call. */
const MAX_DEPTH = 64
/**
 * Entries kept of one array, object, Map or Set; the rest are counted, not copied. An array's `length` says nothing of
 * what it holds (`sparse[4294967294] = 1` makes a 4,294,967,295-item array of one value), so copying stops here.
 */
const MAX_ENTRIES = 10_000
/** Entries copied by one call in all: a value that shares one array in many places is a small value with a huge copy. */
const MAX_TOTAL_ENTRIES = 1_000_000
/**
 * Characters of text (strings and keys) copied by one call in all, past which no entry is copied: a value that shares
 * one list of long strings in many places is as small, and its copy would take seconds and outgrow a string.
 */
const MAX_TOTAL_CHARACTERS = 10_000_000
/**
 * The longest string a copy takes whole (2²⁶ characters), and the most its text may take past
 * {@link MAX_TOTAL_CHARACTERS} in all: JSON writes a character as up to six (`\u0000`), and a string's JSON past 2²⁹−24
 * characters is longer than a string can be ("Invalid string length").
 */
const MAX_STRING_CHARACTERS = 2 ** 26
/** Where a copied object keeps the count of its keys left out. */
const KEYS_LEFT_OUT = '…'

/** One copy in progress: the objects on the path to the current value (to find cycles), and the entries it may copy. */
interface Walk {
  readonly ancestors: object[]
  /** What it may still copy: its own, or one that several copies share (see {@link redactWithin}). */
  readonly budget: RedactBudget
  /** How deep the copy is: where a `redact` called during it (by a `toJSON`) goes on from. */
  depth: number
  /**
   * Where every string below is cut, however deep: {@link MAX_ERROR_STRING} inside an error's copy, what
   * `redactQuoted` was given, or `undefined` where strings are copied whole.
   */
  maxString: number | undefined
}

/**
 * The copy in progress. A `toJSON` it calls that redacts in turn (a run record's, an error's) continues it — its
 * cycle check, depth and budget — rather than starting afresh: a value that holds the record twice is copied once, not
 * again inside each copy.
 */
let activeWalk: Walk | undefined

function replaceUrlCredentials(
  _match: string,
  scheme: string | undefined,
  at: string | undefined,
  encodedScheme: string,
  encodedAt: string,
): string {
  return scheme === undefined ? `${encodedScheme}${REDACTED}${encodedAt}` : `${scheme}${REDACTED}${at}`
}

function replaceKnownValue(
  match: string,
  headerScheme: string | undefined,
  bearerScheme: string | undefined,
  basicScheme: string | undefined,
  basicCredentials: string | undefined,
): string {
  // Base64 after "basic" that is no user and password is prose, or another key's shape (`Basic AKIA…`): read on.
  if (basicCredentials !== undefined && !isBasicCredentials(basicCredentials)) {
    const head = match.slice(0, match.length - basicCredentials.length)
    return `${head}${basicCredentials.replace(SECRET_VALUE_PATTERN, replaceKnownValue)}`
  }
  // The Bearer scheme is kept with the space after it, as it was written (`Bearer%20`).
  if (bearerScheme !== undefined) return `${bearerScheme}${REDACTED}`
  const kept = headerScheme ?? basicScheme
  return kept === undefined ? REDACTED : `${kept} ${REDACTED}`
}

/** The opening quote of a quoted value, backslashes included when the quotes were escaped (`\"secret\"`). */
const OPENING_QUOTE = /^\\*["']/

/** `value` with its quotes (see {@link OPENING_QUOTE}) and what is inside them. */
function unquote(value: string): { quote: string; unquoted: string } {
  const quote = OPENING_QUOTE.exec(value)?.[0] ?? ''
  return { quote, unquoted: quote === '' ? value : value.slice(quote.length, -quote.length) }
}

function replaceAssignedValue(match: string, assignment: string, name: string, given: string): string {
  // Percent-encoded, the value ends where the encoded URL's next parameter starts, which is kept.
  const end = encodedValueEnd(assignment, given)
  const value = given.slice(0, end)
  // A YAML list goes whole, brackets and dashes too, as a list under a JSON member's name does.
  const items = yamlListItems(value)
  const { quote, unquoted } = items === undefined ? unquote(value) : { quote: '', unquoted: items }
  if (!isSecretAssignment(name, unquoted)) return match
  return `${assignment}${quote}${REDACTED}${quote}${given.slice(end)}`
}

/** The text of an XML element named like a secret goes (`<password>[REDACTED]</password>`); whitespace alone stays. */
function replaceElementText(
  match: string,
  openingTag: string,
  _qualifiedName: string,
  name: string,
  text: string,
  closingTag: string,
): string {
  return text.trim() === '' || !isSecretFieldName(name) ? match : `${openingTag}${REDACTED}${closingTag}`
}

/** The user and password after curl's `-u` or `--user` go, quotes kept; a user alone stays. */
function replaceUserAndPassword(match: string, flag: string, value: string): string {
  const { quote, unquoted } = unquote(value)
  return isUserAndPassword(unquoted) ? `${flag}${quote}${REDACTED}${quote}` : match
}

/**
 * Replaces what looks like a secret inside a string: registered secrets (`registerSecret`, URL-encoded forms included),
 * API keys with a known shape (`sk-...`, `sk-proj-...`, `sk-ant-...`, `AKIA...`, `ghp_...`, `xox...`, JWTs, PEM private
 * keys), the credential of `Bearer <token>` and `Basic <credentials>` (and of `Authorization: Digest …`), the value of
 * a `Cookie` or `Set-Cookie` header, the user and password of a URL (`https://user:pw@host`,
 * also with its slashes escaped or percent-encoded whole),
 * the value in `api_key=...`-style assignments (JSON escaped into a string, `api_key%3D…` and `api%5Fkey%3A…`
 * percent-encoded, and a YAML list, `apiKey: [ … ]` or a block of `- …` items, included), the value of a JSON member
 * named like a secret as `redact` replaces the field (`{"apiKey":["…"]}`, `{"auth":"…"}`,
 * `[{"name":"apiKey","value":"…"}]`, `[{"value":"…","name":"apiKey"}]`), the text of an XML element so named
 * (`<password>…</password>`), the values of query parameters named like credentials (`?key=`, `&X-Amz-Signature=`, `?subscription-key=`; see `isSecretQueryName`),
 * the value after a command-line flag named like a secret (`--password hunter2`) and the user and password after
 * curl's `-u` or `--user` (`-u alice:hunter2`).
 * Ordinary text is left alone. A `text` that is not a string is a `TypeError`.
 *
 * @example
 * ```ts
 * redactString('401 for key sk-proj-Abc123...') // '401 for key [REDACTED]'
 * ```
 */
export function redactString(text: string): string {
  if (typeof text !== 'string') throw new TypeError(`redactString: text must be a string, got ${quoteGiven(text)}`)
  let result = replaceRegisteredSecrets(text, REDACTED)
  if (result.length < SHORTEST_PATTERN_MATCH && !mayHoldAssignment(result)) return result
  // Most strings hold no URL: the test is cheaper than the pattern.
  if (mayHoldUrl(result)) result = result.replace(URL_CREDENTIALS_PATTERN, replaceUrlCredentials)
  // JSON members go before assignments, so that a list under a quoted name becomes a JSON string (`"[REDACTED]"`), not
  // the YAML list an assignment would make of it.
  result = replaceSecretMembers(result.replace(SECRET_VALUE_PATTERN, replaceKnownValue)).replace(
    SECRET_ASSIGNMENT_PATTERN,
    replaceAssignedValue,
  )
  // Most strings hold no closing tag: the test is cheaper than the pattern.
  if (result.includes('</')) result = result.replace(XML_ELEMENT_PATTERN, replaceElementText)
  // Most strings hold no flag: the test is cheaper than the patterns.
  if (!result.includes('-')) return result
  return result.replace(SECRET_FLAG_PATTERN, replaceAssignedValue).replace(USER_FLAG_PATTERN, replaceUserAndPassword)
}

/**
 * JSON written in free text (a body an error quotes, a message holding `JSON.stringify(…)`, escaped into a string at
 * any depth, or a Python or JavaScript literal in single quotes) with the value of each member named like a secret
 * replaced whole, as `redact` replaces the field: a list or an object under such a name (`{"apiKey":["…"]}`,
 * `{"secret":{"value":"…"}}`), a string under `auth`, `pass` or `pwd` (`{"auth":"…"}`), and the value of a name and
 * value pair that names a secret (`[{"name":"apiKey","value":"…"}]`; written value first, a string value:
 * `[{"value":"…","name":"apiKey"}]`), and the string of an entry of a list that names a secret (`[["x-api-key","…"]]`). Strings under other names are for the assignment pattern, which keeps an
 * `Authorization`'s scheme and a placeholder; a string the patterns replaced a part of already (`"Bearer [REDACTED]"`)
 * stays as they left it. A value cut before its end goes as far as it runs.
 */
function replaceSecretMembers(text: string): string {
  if (!text.includes(':') && !text.includes('[')) return text
  let result = ''
  let copiedTo = 0
  JSON_MEMBER_PATTERN.lastIndex = 0
  for (let match = JSON_MEMBER_PATTERN.exec(text); match !== null; match = JSON_MEMBER_PATTERN.exec(text)) {
    // Groups 1–3 are a name and value pair, 4–6 a member, 7–9 an entry (see JSON_MEMBER_PATTERN).
    const first = match[3] !== undefined ? 1 : match[6] !== undefined ? 4 : 7
    const kind = first === 1 ? 'pair' : first === 4 ? 'member' : 'entry'
    const backslashes = match[first] ?? ''
    const quote = match[first + 1] ?? '"'
    const name = match[first + 2] ?? ''
    const start = JSON_MEMBER_PATTERN.lastIndex
    const end = secretMemberValueEnd(text, start, backslashes.length, quote, name, kind)
    if (end === -1) continue
    result += `${text.slice(copiedTo, start)}${backslashes}${quote}${REDACTED}${backslashes}${quote}`
    copiedTo = end
    JSON_MEMBER_PATTERN.lastIndex = end
  }
  return copiedTo === 0 ? text : `${result}${text.slice(copiedTo)}`
}

/**
 * Where the value of the member `name` that starts at `start` ends, when it is a secret; `-1` when it is not, or is
 * no list, object or string. `depth` is the number of backslashes before the name's quote: none in JSON, one in JSON
 * escaped into a string, three in JSON escaped twice.
 */
function secretMemberValueEnd(
  text: string,
  start: number,
  depth: number,
  quote: string,
  name: string,
  kind: 'pair' | 'member' | 'entry',
): number {
  const opening = text[start]
  if (opening === '[' || opening === '{')
    return kind !== 'entry' && isSecretFieldName(name) ? compoundEnd(text, start, depth, quote) : -1
  const quoteAtDepth = `${'\\'.repeat(depth)}${quote}`
  if (!text.startsWith(quoteAtDepth, start)) return -1
  const valueStart = start + quoteAtDepth.length
  const { valueEnd, end } = stringEnd(text, valueStart, depth, quote)
  const value = text.slice(valueStart, valueEnd)
  // An entry's string after a secret's name goes, as in a list of entries `redact` copies (see `isSecretPair`), and so
  // does one cut before its end; a list of more than two items is a list of names (`["apiKey", "model", "n"]`).
  if (kind === 'entry') return isSecretFieldName(name) && ENTRY_END.test(text.slice(end, end + 65)) ? end : -1
  // A value the patterns replaced already keeps what they kept: the scheme of `Bearer [REDACTED]`.
  if (value.includes(REDACTED)) return -1
  if (kind === 'pair') return isSecretNamedValue(name, value) ? end : -1
  // A pair may name its value after it (`{"value": "…", "name": "apiKey"}`).
  const namedAfter = name === 'value' || name === 'Value' ? nameAfterValue(text, end, depth, quote) : undefined
  if (namedAfter !== undefined) return isSecretNamedValue(namedAfter, value) ? end : -1
  return isSecretStringField(name, value) ? end : -1
}

/** What follows the value of an entry of a list: the list's closing bracket, or the end of a text cut there. */
const ENTRY_END = /^(?:\s{0,64}\]|$)/

/** The name a pair gives right after its value, which ends at `end`, quoted as the value is; or `undefined`. */
function nameAfterValue(text: string, end: number, depth: number, quote: string): string | undefined {
  NAME_AFTER_VALUE_PATTERN.lastIndex = end
  const match = NAME_AFTER_VALUE_PATTERN.exec(text)
  return match !== null && match[1]?.length === depth && match[2] === quote ? match[3] : undefined
}

/**
 * Whether the run of `count` backslashes before a quote makes it a quote of the JSON whose quotes come after `depth`
 * backslashes, opening or closing a string there: `depth` of them, after any number of escaped backslashes of that
 * JSON (`2 * depth + 2` each).
 */
function isQuoteAtDepth(count: number, depth: number): boolean {
  return count % (2 * depth + 2) === depth
}

/**
 * Where the string whose content starts at `from` ends: `valueEnd` before its closing quote, `end` after it; a string
 * without one runs to the end of its line.
 */
function stringEnd(text: string, from: number, depth: number, quote: string): { valueEnd: number; end: number } {
  for (let index = from; index < text.length; ) {
    const character = text[index]
    if (character === '\n' || character === '\r') return { valueEnd: index, end: index }
    let count = 0
    while (text[index + count] === '\\') count++
    if (text[index + count] === quote && isQuoteAtDepth(count, depth))
      return { valueEnd: index, end: index + count + 1 }
    index += count + 1
  }
  return { valueEnd: text.length, end: text.length }
}

/** Where the list or object that opens at `start` closes (after its bracket); one cut before its end runs to the end. */
function compoundEnd(text: string, start: number, depth: number, quote: string): number {
  let level = 0
  let inString = false
  for (let index = start; index < text.length; ) {
    let count = 0
    while (text[index + count] === '\\') count++
    const character = text[index + count]
    if (character === quote) {
      if (isQuoteAtDepth(count, depth)) inString = !inString
    } else if (count === 0 && !inString) {
      if (character === '[' || character === '{') level++
      else if ((character === ']' || character === '}') && --level === 0) return index + 1
    }
    index += count + 1
  }
  return text.length
}

/**
 * A log call's message as redacted text. What is not a string is made one as `String` makes it; one that cannot be (an
 * object without a prototype, a `toString` that throws) is `"[Unserializable]"`, as a field whose reading throws, so
 * that the line is still written with its fields.
 */
export function redactMessage(message: unknown): string {
  let text: string
  try {
    text = String(message)
  } catch {
    return UNSERIALIZABLE
  }
  return redactString(text)
}

/** The least {@link redactAndCut} reads past a cut: a secret starting before the cut and up to this long goes whole. */
const SECRET_SPAN = 4_096

/**
 * How far past a cut to read so that a secret starting before it goes whole: 4,096 characters, or for a longer
 * registered secret (a PEM private key, say) as far as it can run written with every character escaped — at most nine
 * characters for each of its own (`€` is `%E2%82%AC`).
 */
function secretSpan(): number {
  return Math.max(SECRET_SPAN, 9 * longestRegisteredSecret())
}

/**
 * The head of `text` that can show once it is redacted and cut at `maxLength` (see {@link secretSpan}): a 10 MB string
 * costs no more than a short one. The longest registered secret is looked up, which reads every registered value, only
 * for a text longer than the least span past the cut: a text within it is read whole anyway, so redaction costs the
 * same with ten thousand registered values as with a few.
 */
function headToRedact(text: string, maxLength: number): string {
  return text.length <= maxLength + SECRET_SPAN ? text : headOf(text, maxLength + secretSpan())
}

/**
 * The first `maxLength` UTF-16 code units of `text`, or fewer where the cut would fall inside a character as people see
 * it: a surrogate pair (an emoji, a CJK extension character), or an emoji of several code points (a flag, a family
 * joined by ZWJs, a skin tone, a keycap) or a letter and its accents. Every cut of this module is made here, so none
 * leaves half a character — a lone surrogate that a strict UTF-8 encoder refuses or replaces, or half a flag. A lone
 * surrogate `text` holds itself is kept.
 */
function headOf(text: string, maxLength: number): string {
  return text.slice(0, maxLength < text.length ? graphemeCut(text, maxLength) : maxLength)
}

/** How far back from a cut {@link graphemeCut} reads: longer than any emoji sequence (the longest take some 15 units). */
const GRAPHEME_WINDOW = 64

/** Made at the first cut that needs it: most text is cut beside a character that joins nothing. */
let graphemes: Intl.Segmenter | undefined

/**
 * Where a cut at `maxLength` keeps whole graphemes: `maxLength` when one starts there, else the start of the one the
 * cut falls inside. Only the characters near the cut are read; a grapheme longer than the window (a letter under
 * dozens of marks) is cut at a code point.
 */
function graphemeCut(text: string, maxLength: number): number {
  const next = text.charCodeAt(maxLength)
  // Below U+0300 (the combining marks) no character joins the one before it: most cuts cost this comparison alone.
  if (maxLength <= 0 || next < 0x300) return maxLength
  let start = Math.max(0, maxLength - GRAPHEME_WINDOW)
  if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start--
  // Regional indicators pair into flags from the start of their run: a window that starts inside a run starts at a flag.
  if (isRegionalIndicator(text.codePointAt(start))) {
    let runStart = start
    while (runStart >= 2 && isRegionalIndicator(text.codePointAt(runStart - 2))) runStart -= 2
    if ((start - runStart) % 4 !== 0) start -= 2
  }
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  let cut = start
  // The code point at the cut is read whole: a skin tone's first half alone would read as a boundary before it.
  for (const { index } of graphemes.segment(text.slice(start, maxLength + 2))) {
    if (start + index > maxLength) break
    cut = start + index
  }
  if (cut > start || start === 0) return cut
  return isHighSurrogate(text.charCodeAt(maxLength - 1)) && isLowSurrogate(next) ? maxLength - 1 : maxLength
}

function isRegionalIndicator(code: number | undefined): boolean {
  return code !== undefined && code >= 0x1f1e6 && code <= 0x1f1ff
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/**
 * `text` with its secrets replaced, then cut at `maxLength` characters and an ellipsis: what an error's message or JSON
 * quotes of a long string. Secrets are replaced before the cut, so none shows in part where the cut falls inside it;
 * only the head that can show is read, so a 10 MB string costs no more than a short one. The cut never splits a
 * surrogate pair: it keeps one character fewer rather than half an emoji. A `text` that is not a string, or a
 * `maxLength` that is not an integer ≥ 0, is a `TypeError`.
 *
 * @example
 * ```ts
 * redactAndCut(`${'x'.repeat(990)} sk-proj-Abc123…`, 1_000) // 'xxx… [REDACTED]'
 * ```
 */
export function redactAndCut(text: string, maxLength: number): string {
  if (typeof text !== 'string') throw new TypeError(`redactAndCut: text must be a string, got ${quoteGiven(text)}`)
  if (!Number.isSafeInteger(maxLength) || maxLength < 0)
    throw new TypeError(`redactAndCut: maxLength must be an integer ≥ 0, got ${quoteGiven(maxLength)}`)
  if (text.length <= maxLength) return redactString(text)
  const redacted = redactString(headToRedact(text, maxLength))
  return redacted.length > maxLength ? `${headOf(redacted, maxLength)}…` : redacted
}

/** Whether a short string may hold `secret=x`: the separator is cheaper to look for than the pattern. */
function mayHoldAssignment(text: string): boolean {
  return text.length >= SHORTEST_ASSIGNMENT_MATCH && (text.includes('=') || text.includes(':'))
}

/**
 * Whether values under this field or header name are secrets (`apiKey`, `Authorization`, `api-key`, `x-api-key`,
 * `refresh_token`, `set-cookie`...): `redact` replaces such a field's whole value.
 *
 * @example
 * ```ts
 * isSecretFieldName('x-api-key') // true
 * isSecretFieldName('maxTokens') // false
 * ```
 */
export function isSecretFieldName(name: string): boolean {
  return SECRET_KEY_PATTERN.test(name)
}

/**
 * A deep, JSON-safe copy of `value` with secrets replaced by `"[REDACTED]"`: the whole value of every field whose name
 * looks secret (`apiKey`, `authorization`, `accessToken`, `password`, `secret`, `cookie`, ... — `null` and `undefined`
 * are kept, so a missing key stays visible), the string after such a name in a list of name and value pairs (Node's
 * `rawHeaders`, a header entry `['cookie', 'sid=…']`), and secret-looking substrings of every string (see
 * `redactString`).
 *
 * JSON data keeps its shape, within the bounds below. What JSON cannot hold is made safe: an `Error` becomes
 * `{ name, message, stack, ...own enumerable properties, cause }`, each string of it, however deep (a thrown string
 * that caused it too, a field of the body an SDK error parsed, and the message in the stack) cut at 1,000 characters
 * and an ellipsis, as a tinyllm error's JSON; a bigint its
 * decimal string, a cycle `"[Circular]"`, a field or item whose reading throws `"[Unserializable]"` (the ones beside it
 * copied), a `Map`, fetch `Headers`, `URLSearchParams` or `FormData` an object (a name given more than once with the
 * list of its values; a Map's key that prints like one before it, as two objects do, numbered:
 * `"[object Object] (2)"`), a `Set` an array, a `Blob` its size, a boxed string,
 * number or boolean its value, a symbol or a function its description (redacted too), and objects with `toJSON` (such
 * as `Date`) what `toJSON` returns.
 *
 * The copy is bounded, whatever `value` is: an array, object, Map or Set keeps its first 10,000 entries, and says how
 * many it left out (`"[4294957295 more items]"` as the last item of an array or Set, `"…": "[12 more keys]"` in an
 * object or Map); one call copies at most 1,000,000 entries and 10,000,000 characters of text in all (an entry is
 * copied whole or not at all: a 10 MB string is copied whole, one longer than 2²⁶ characters, which JSON could not
 * write, is written `"[Truncated]"`, and so is a key, its value kept, as is a key beside a value that took the copy 2²⁶
 * characters past its limit), and nesting deeper than 64 levels is written `"[Truncated]"`. So a sparse array with a
 * length of 2³²−1 is copied in time proportional to 10,000, not to its length.
 *
 * @example
 * ```ts
 * redact({ headers: { Authorization: 'Bearer abc' }, model: 'gpt-4o' })
 * // { headers: { Authorization: '[REDACTED]' }, model: 'gpt-4o' }
 * ```
 */
export function redact<T>(value: T): T {
  return copyRedacted(value, undefined)
}

/**
 * What an error quotes of a value it was given (an abort reason, a cause, an answer it received): a copy as
 * {@link redact} makes it, with every string in it, however deep, cut at `maxLength` characters (default 1,000, as the
 * strings an error holds are) and an ellipsis. Each string is read only as far as it can show (see
 * {@link redactAndCut}), so a value that holds a 10 MB text, or one text many times, costs no more than a short one:
 * what shows a value's head (a preview of its JSON) copies it with this, at the length it shows. A `maxLength` that is
 * not an integer ≥ 0 is a `TypeError`.
 *
 * @example
 * redactQuoted({ body: 'x'.repeat(5_000_000) }) // { body: 'xxx…' } (1,000 characters and the ellipsis)
 */
export function redactQuoted<T>(value: T, maxLength = MAX_ERROR_STRING): T {
  if (!Number.isSafeInteger(maxLength) || maxLength < 0)
    throw new TypeError(`redactQuoted: maxLength must be an integer ≥ 0, got ${quoteGiven(maxLength)}`)
  return copyRedacted(value, maxLength)
}

/** The shorter of two cuts, `undefined` standing for none. */
function shorterCut(left: number | undefined, right: number | undefined): number | undefined {
  return left === undefined ? right : right === undefined ? left : Math.min(left, right)
}

function copyRedacted<T>(value: T, maxString: number | undefined): T {
  const active = activeWalk
  if (active !== undefined) {
    const outer = active.maxString
    active.maxString = shorterCut(outer, maxString)
    try {
      return copyValue(value, active, active.depth) as T
    } finally {
      active.maxString = outer
    }
  }
  const walk = startWalk()
  walk.maxString = maxString
  activeWalk = walk
  try {
    return copyValue(value, walk, 0) as T
  } finally {
    activeWalk = undefined
  }
}

function startWalk(budget: RedactBudget = createRedactBudget()): Walk {
  return { ancestors: [], budget, depth: 0, maxString: undefined }
}

/**
 * What copies may still take of the limits of one copy — 1,000,000 entries and 10,000,000 characters of text — when
 * they share them (see {@link redactWithin}); the entry that takes one below zero is copied whole, unless it is text
 * longer than 2²⁶ characters, which is written `"[Truncated]"`.
 */
export interface RedactBudget {
  entries: number
  characters: number
}

/** A fresh {@link RedactBudget}: the limits of one copy. */
export function createRedactBudget(): RedactBudget {
  return { entries: MAX_TOTAL_ENTRIES, characters: MAX_TOTAL_CHARACTERS }
}

/**
 * A copy as {@link redact} makes it, drawing on `budget`, which other copies share: copies made one by one (each run of
 * a run record's tree, whose JSON is written a run at a time) stay within the limits of one copy together: once it is
 * spent, entries are counted rather than copied, and text is written `"[Truncated]"`. Inside another copy (a `toJSON`
 * that copy calls), it goes on as part of that copy instead.
 */
export function redactWithin<T>(value: T, budget: RedactBudget): T {
  if (activeWalk !== undefined) return copyRedacted(value, undefined)
  const walk = startWalk(budget)
  activeWalk = walk
  try {
    return copyValue(value, walk, 0) as T
  } finally {
    activeWalk = undefined
  }
}

/**
 * Bindings (outermost first) and then fields merged into one redacted object. Later keys win, as with object spread.
 * Never throws: a log call must not fail because of what it was given.
 */
export function mergeRedacted(bindings: readonly LogFields[], fields: LogFields | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = {}
  // A line of its own, even when written during another copy (by a getter): the `toJSON`s it calls continue it.
  const outer = activeWalk
  const walk = startWalk()
  activeWalk = walk
  try {
    for (const source of bindings) copySource(merged, source, walk)
    if (fields !== undefined) copySource(merged, fields, walk)
  } finally {
    activeWalk = outer
  }
  return merged
}

function copySource(target: Record<string, unknown>, source: LogFields, walk: Walk): void {
  if (source === null || source === undefined) return
  try {
    // Fields given as an error (`logger.error('failed', error)`, from plain JavaScript) or as a lone value have no
    // enumerable keys to copy, so they would be lost: each is written as a field of its own, `error` or `fields`.
    if (typeof source !== 'object' || isError(source)) {
      setEntry(target, typeof source === 'object' ? 'error' : 'fields', source, walk, 1)
      return
    }
    walk.ancestors.push(source)
    try {
      copyEntries(target, source, walk, 1)
    } finally {
      walk.ancestors.pop()
    }
  } catch {
    // A throwing getter or proxy: keep what was copied so far.
  }
}

function copyValue(value: unknown, walk: Walk, depth: number): unknown {
  switch (typeof value) {
    case 'string': {
      // Text met once the copy has taken all it may (a `toJSON`'s answer, a value on its own) is not copied either.
      if (walk.budget.characters <= 0) return TRUNCATED
      // Nor is text whose JSON could be longer than a string can be: 300,000,000 newlines copied whole made JSON that
      // threw "Invalid string length". It takes nothing, so what comes after it is copied as before.
      if (walk.maxString === undefined && !fitsWhole(walk.budget, value.length)) return TRUNCATED
      const copy = walk.maxString === undefined ? redactString(value) : redactAndCut(value, walk.maxString)
      walk.budget.characters -= copy.length
      return copy
    }
    case 'bigint':
      return value.toString()
    case 'symbol':
      return redactString(value.toString())
    case 'function':
      return functionText(value)
    case 'object':
      return value === null ? null : copyObject(value, walk, depth)
    default:
      return value
  }
}

/** `[Function: name]`, or `[Function]` for a function without a name or whose `name` cannot be read as text. */
function functionText(value: { readonly name: unknown }): string {
  const name = readText(value, 'name')
  return name === '' || name === UNSERIALIZABLE ? '[Function]' : `[Function: ${redactString(name)}]`
}

function copyObject(value: object, walk: Walk, depth: number): unknown {
  const ancestors = walk.ancestors
  if (ancestors.includes(value)) return CIRCULAR
  if (depth >= MAX_DEPTH) return TRUNCATED
  ancestors.push(value)
  const outerDepth = walk.depth
  walk.depth = depth + 1
  try {
    return copyObjectOf(value, walk, depth + 1)
  } catch {
    return UNSERIALIZABLE
  } finally {
    ancestors.pop()
    walk.depth = outerDepth
  }
}

/**
 * Whether text of `length` characters (a string, or a key) is copied whole: at most 2²⁶ characters, and not taking the
 * copy more than that past its limit of text in all, so that no copy makes JSON longer than a string can be.
 */
function fitsWhole(budget: RedactBudget, length: number): boolean {
  return length <= MAX_STRING_CHARACTERS && budget.characters - length >= -MAX_STRING_CHARACTERS
}

/** Whether a collection that has copied `copied` entries may copy one more; counts it against the walk when it may. */
function mayCopy(walk: Walk, copied: number): boolean {
  const budget = walk.budget
  if (copied >= MAX_ENTRIES || budget.entries <= 0 || budget.characters <= 0) return false
  budget.entries--
  return true
}

function itemsLeftOut(count: number): string {
  return `[${count} more ${count === 1 ? 'item' : 'items'}]`
}

function keysLeftOut(target: Record<string, unknown>, count: number): void {
  if (count > 0) target[KEYS_LEFT_OUT] = `[${count} more ${count === 1 ? 'key' : 'keys'}]`
}

function copyObjectOf(value: object, walk: Walk, depth: number): unknown {
  if (Array.isArray(value)) {
    const length = value.length
    const copy: unknown[] = []
    for (let index = 0; index < length; index++) {
      if (!mayCopy(walk, index)) {
        copy.push(itemsLeftOut(length - index))
        break
      }
      copy.push(copyValue(readEntry(value, index), walk, depth))
    }
    // A list of name and value entries, as `Object.entries(headers)` and a `Headers`' entries are: a value after a
    // secret name goes. Judged by the copies, each item read once: a getter cannot show one name and copy another, and
    // a boxed name or value is its string.
    if (copy.length > 0 && copy.every(isEntry))
      for (const entry of copy as unknown[][]) if (isSecretPair(entry[0], entry[1])) entry[1] = REDACTED
    redactFlagValues(copy)
    return copy
  }
  if (isError(value)) return copyError(value, walk, depth)
  // fetch `Headers` (as on the errors of the OpenAI SDK) keep their entries out of sight, like a Map.
  if (value instanceof Map || (typeof Headers === 'function' && value instanceof Headers)) {
    const copy: Record<string, unknown> = {}
    // Keys that print alike (two objects, `1` and `'1'`, two secrets) are told apart, so no entry is lost.
    const renamed = new Map<string, number>()
    let copied = 0
    let leftOut = 0
    for (const [key, item] of value) {
      if (leftOut === 0 && mayCopy(walk, copied)) {
        setEntry(copy, String(key), item, walk, depth, renamed)
        copied++
      } else leftOut++
    }
    keysLeftOut(copy, leftOut)
    return copy
  }
  if (isFormEntries(value)) return copyFormEntries(value, walk, depth)
  if (value instanceof Set) {
    const copy: unknown[] = []
    for (const item of value) {
      if (!mayCopy(walk, copy.length)) {
        copy.push(itemsLeftOut(value.size - copy.length))
        break
      }
      copy.push(copyValue(item, walk, depth))
    }
    return copy
  }
  // A boxed primitive is its value, as in JSON: `new String(key)` would otherwise be copied one character per field.
  const unbox = unboxers.get(Object.prototype.toString.call(value))
  if (unbox !== undefined) return copyValue(unbox.call(value), walk, depth)
  if (ArrayBuffer.isView(value)) return sizeText(value, value.byteLength)
  // A Blob (a File of a form) keeps its bytes out of sight as well: its size stands for them, as a buffer's does.
  if (typeof Blob === 'function' && value instanceof Blob) return sizeText(value, value.size)
  if (value instanceof RegExp) return redactString(value.toString())
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return copyValue(toJSON.call(value), walk, depth)
  const copy: Record<string, unknown> = {}
  copyEntries(copy, value as Record<string, unknown>, walk, depth)
  redactNamedValue(copy)
  return copy
}

/**
 * `[Uint8Array (3 bytes)]`: what stands for bytes kept out of sight. The name is whatever the constructor gives (a
 * class of the caller's, a `constructor` field), so it is redacted as any text is.
 */
function sizeText(value: object, size: number): string {
  return redactString(`[${value.constructor.name} (${size} bytes)]`)
}

/** A query (`URLSearchParams`) or a form (`FormData`): entries of a name and a value, kept out of sight like a Map's. */
function isFormEntries(value: object): value is URLSearchParams | FormData {
  return (
    (typeof URLSearchParams === 'function' && value instanceof URLSearchParams) ||
    (typeof FormData === 'function' && value instanceof FormData)
  )
}

/**
 * The copy of a query or a form: an object of its names, each with its value, or the list of its values when the name
 * is given more than once (`page=2&page=3`). A value is replaced as a field of its name is, and as the value of a URL's
 * query parameter of its name is (`code=…`, `X-Amz-Signature=…`): a query is what a URL's query is read into.
 */
function copyFormEntries(value: URLSearchParams | FormData, walk: Walk, depth: number): Record<string, unknown> {
  const byName = new Map<string, unknown[]>()
  let copied = 0
  let leftOut = 0
  for (const [name, item] of value) {
    if (leftOut === 0 && mayCopy(walk, copied)) {
      copied++
      const values = byName.get(name)
      const kept = typeof item === 'string' && isSecretNamedValue(name, item) ? REDACTED : item
      if (values === undefined) byName.set(name, [kept])
      else values.push(kept)
    } else leftOut++
  }
  const copy: Record<string, unknown> = {}
  for (const [name, values] of byName) setEntry(copy, name, values.length === 1 ? values[0] : values, walk, depth)
  keysLeftOut(copy, leftOut)
  return copy
}

/**
 * The keys under which an object names the value it holds: HAR's headers, query strings, cookies and form params and a
 * container's environment (`{ name, value }`), a request collection's headers (`{ key, value }`), a cloud resource's
 * tags (`{ Key, Value }`).
 */
const NAME_KEYS = ['name', 'Name', 'key', 'Key'] as const
const VALUE_KEYS = ['value', 'Value'] as const

/**
 * Replaces the value of a copied object that names it with a secret name, whatever its type, as a field of that name
 * would be (`{ name: 'Authorization', value: 'Bearer …' }`, `{ name: 'password', value: 12345678 }`; `null` and
 * `undefined` kept), or with a name a URL's query reads as secret and a value that looks like a credential
 * (`{ name: 'key', value: 'Zq8vR2mKp4' }`), as in the URL the entry was read from. Judged by the copy, each field read
 * once.
 */
function redactNamedValue(copy: Record<string, unknown>): void {
  let name: unknown
  for (const key of NAME_KEYS) {
    name = copy[key]
    if (typeof name === 'string') break
  }
  if (typeof name !== 'string') return
  for (const key of VALUE_KEYS) {
    const value = copy[key]
    if (value !== null && value !== undefined && isSecretNamedValue(name, value)) copy[key] = REDACTED
  }
}

function isSecretNamedValue(name: string, value: unknown): boolean {
  if (isSecretFieldName(name)) return true
  return (
    typeof value === 'string' &&
    (isSecretStringField(name, value) || (isSecretQueryName(name) && isSecretAssignment(name, value)))
  )
}

/**
 * In an argument list (`process.argv`, what a child process was spawned with), the argument after a flag named like a
 * secret (`['--password', 'hunter2']`), judged as the value of `--password hunter2` on a command line is, and the user
 * and password after curl's `-u` or `--user` (`['-u', 'alice:hunter2']`).
 */
function redactFlagValues(list: unknown[]): void {
  for (let index = 1; index < list.length; index++) {
    const flag = list[index - 1]
    const value = list[index]
    if (typeof flag !== 'string' || typeof value !== 'string' || value.startsWith('-')) continue
    const name = secretFlagName(flag)
    if (name !== undefined ? isSecretAssignment(name, value) : isUserFlag(flag) && isUserAndPassword(value))
      list[index] = REDACTED
  }
}

/** Whether `value` is a string that follows a field name that looks secret in a list of pairs (`['Cookie', 'sid=…']`). */
function isSecretPair(name: unknown, value: unknown): boolean {
  return typeof name === 'string' && typeof value === 'string' && isSecretFieldName(name)
}

function isEntry(item: unknown): boolean {
  return Array.isArray(item) && item.length === 2
}

/**
 * A field holding a flat list of header names and values, as Node's `rawHeaders`. Only there is a list read as pairs:
 * elsewhere `['apiKey', 'model']` is a list of names (a schema's `required`), not a name and its value.
 */
const HEADER_LIST_FIELD = /^(?:raw)?(?:headers|trailers)$/i

function redactFlatPairs(list: unknown[]): void {
  for (let index = 1; index < list.length; index += 2)
    if (isSecretPair(list[index - 1], list[index])) list[index] = REDACTED
}

/**
 * How a boxed string, number or boolean gives its value, by its tag: from this realm or another (a `node:vm` context),
 * where `instanceof String` is false. An object that only claims the tag (`Symbol.toStringTag`) throws when unboxed,
 * and is written `"[Unserializable]"`.
 */
const unboxers: ReadonlyMap<string, (this: unknown) => unknown> = new Map<string, (this: unknown) => unknown>([
  ['[object String]', String.prototype.valueOf],
  ['[object Number]', Number.prototype.valueOf],
  ['[object Boolean]', Boolean.prototype.valueOf],
])

/**
 * Whether `value` is an error, from this realm or another (a `node:vm` context, a test runner's sandbox), where
 * `instanceof Error` is false: such an error would otherwise be copied as its enumerable fields, `{}`.
 */
function isError(value: object): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]'
}

/**
 * The copy of an error: its strings (name, message, own fields, a thrown string that caused it) redacted, then cut at
 * 1,000 characters, as a tinyllm error's JSON cuts what it quotes; its stack keeps its frames (their first 20,000
 * characters), with the message in it cut as the message is.
 */
function copyError(error: Error, walk: Walk, depth: number): Record<string, unknown> {
  // What an error holds deeper down (an SDK error's parsed body, the errors of an AggregateError) is quoted as its own
  // fields are: a string of it cut, as in a tinyllm error's JSON.
  const outer = walk.maxString
  walk.maxString = shorterCut(outer, MAX_ERROR_STRING)
  try {
    return copyErrorFields(error, walk, depth)
  } finally {
    walk.maxString = outer
  }
}

function copyErrorFields(error: Error, walk: Walk, depth: number): Record<string, unknown> {
  // Each read once, as any field is: one whose getter throws is "[Unserializable]", and the rest is still copied.
  const fullMessage = readText(error, 'message')
  const message = redactAndCut(fullMessage, MAX_ERROR_STRING)
  const copy: Record<string, unknown> = {
    name: redactAndCut(readText(error, 'name'), MAX_ERROR_STRING),
    message,
  }
  const stack = readEntry(error, 'stack')
  if (typeof stack === 'string') copy.stack = cutStack(stack, fullMessage, message)
  // Strings are read only as far as they can show (see redactAndCut): a 10 MB field costs no more than a short one.
  copyEntries(copy, error as unknown as Record<string, unknown>, walk, depth, MAX_ERROR_STRING)
  if (error instanceof AggregateError) copy.errors = copyValue(readEntry(error, 'errors'), walk, depth)
  const cause = readEntry(error, 'cause')
  if (cause !== undefined)
    copy.cause = copyValue(typeof cause === 'string' ? headToRedact(cause, MAX_ERROR_STRING) : cause, walk, depth)
  for (const key of Object.keys(copy)) {
    const value = copy[key]
    if (key !== 'stack' && typeof value === 'string') copy[key] = cut(value)
  }
  // Its own text counts against the copy's limit as its fields' does: a list of a million errors is not copied whole.
  walk.budget.characters -= message.length + (typeof copy.stack === 'string' ? copy.stack.length : 0)
  return copy
}

/** The longest string an error's copy keeps whole, as in a tinyllm error's JSON. */
const MAX_ERROR_STRING = 1_000

/** `text`, or its first 1,000 characters and an ellipsis. */
function cut(text: string): string {
  return text.length > MAX_ERROR_STRING ? `${headOf(text, MAX_ERROR_STRING)}…` : text
}

/**
 * A stack with the message its first line quotes cut as the message is (`shown`), its frames kept, secrets replaced;
 * what comes before the frames (the name and the message) at most {@link MAX_STACK_HEADER} characters, as a name set
 * after the error was made (a megabyte of it) is quoted there whole.
 */
function cutStack(stack: string, message: string, shown: string): string {
  const at = message.length <= MAX_ERROR_STRING ? -1 : stack.indexOf(message)
  if (at === -1)
    return cutHeader(message.length <= MAX_ERROR_STRING ? redactString(stack) : redactAndCut(stack, MAX_ERROR_STRING))
  return cutHeader(`${redactString(stack.slice(0, at))}${shown}${redactString(stack.slice(at + message.length))}`)
}

/** The most characters a stack's copy keeps before its frames: a name and a message, each cut, and what joins them. */
const MAX_STACK_HEADER = 2 * MAX_ERROR_STRING + 100
/** The most characters a stack's copy keeps of its frames, as an error's printed form keeps of each of its strings. */
const MAX_STACK_FRAMES = 20_000

/**
 * `stack` (already redacted) with what comes before its first frame cut at {@link MAX_STACK_HEADER} characters, and its
 * frames at {@link MAX_STACK_FRAMES}: a stack set to megabytes is no longer than one of a deep recursion.
 */
function cutHeader(stack: string): string {
  if (stack.length <= MAX_STACK_HEADER) return stack
  const frames = stack.search(/\n[ \t]+at /)
  const header = frames === -1 ? stack : stack.slice(0, frames)
  const keptHeader = header.length <= MAX_STACK_HEADER ? header : `${headOf(header, MAX_STACK_HEADER)}…`
  if (frames === -1) return keptHeader
  const rest = stack.slice(frames)
  return `${keptHeader}${rest.length <= MAX_STACK_FRAMES ? rest : `${headOf(rest, MAX_STACK_FRAMES)}…`}`
}

/** Copies `source`'s own entries; with `cutAt`, a string is read only as far as it can show cut there. */
function copyEntries(
  target: Record<string, unknown>,
  source: Readonly<Record<string, unknown>>,
  walk: Walk,
  depth: number,
  cutAt?: number,
): void {
  const keys = Object.keys(source)
  for (let index = 0; index < keys.length; index++) {
    if (!mayCopy(walk, index)) {
      keysLeftOut(target, keys.length - index)
      return
    }
    const key = keys[index] as string
    const value = readEntry(source, key)
    setEntry(
      target,
      key,
      cutAt !== undefined && typeof value === 'string' ? headToRedact(value, cutAt) : value,
      walk,
      depth,
    )
  }
}

/**
 * `source[key]`, or `"[Unserializable]"` when reading it throws (a getter, a `Proxy`): the fields and items beside it
 * are copied all the same.
 */
function readEntry(source: object, key: string | number): unknown {
  try {
    return (source as Record<string | number, unknown>)[key]
  } catch {
    return UNSERIALIZABLE
  }
}

/**
 * `source[key]` as text, or `"[Unserializable]"` when reading it or making it text throws (an object without a
 * prototype, a `Proxy`): a function's name or an error's message that is no string.
 */
function readText(source: object, key: string): string {
  try {
    return String(readEntry(source, key))
  } catch {
    return UNSERIALIZABLE
  }
}

/**
 * Sets the copy of `value` under `key`, redacted. With `renamed` (a Map's copy, whose keys can print alike), a key the
 * copy holds already is written with the first free number after it (`"[object Object] (2)"`), and `renamed` keeps the
 * last number given to each key, so a Map of 10,000 keys that print alike is copied in time proportional to 10,000.
 */
function setEntry(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
  walk: Walk,
  depth: number,
  renamed?: Map<string, number>,
): void {
  // A key is text as a value is: one longer than 2²⁶ characters is written "[Truncated]", its value kept.
  let safeKey = key.length > MAX_STRING_CHARACTERS ? TRUNCATED : redactString(key)
  if (renamed !== undefined && Object.hasOwn(target, safeKey)) safeKey = freeKey(target, safeKey, renamed)
  let safeValue =
    value !== null && value !== undefined && isSecretFieldName(key) ? REDACTED : copyValue(value, walk, depth)
  // Counted after its value, so that an entry is copied whole or not at all; but not beside a value that took the copy
  // past its limit so far that the two would make JSON no string can hold: the key is "[Truncated]" then.
  if (!fitsWhole(walk.budget, safeKey.length)) safeKey = TRUNCATED
  if (safeKey === TRUNCATED && Object.hasOwn(target, safeKey)) safeKey = freeKey(target, safeKey, renamed ?? new Map())
  walk.budget.characters -= safeKey.length
  // Read on the copy, so that a boxed string or a `toJSON` that gives one counts as a string.
  if (typeof safeValue === 'string' && isSecretStringField(key, safeValue)) safeValue = REDACTED
  if (Array.isArray(safeValue) && HEADER_LIST_FIELD.test(key)) redactFlatPairs(safeValue)
  // Assigning `__proto__` would set the copy's prototype instead of copying the field.
  if (safeKey === '__proto__')
    Object.defineProperty(target, safeKey, { value: safeValue, enumerable: true, writable: true, configurable: true })
  else target[safeKey] = safeValue
}

/** `key (n)` for the first `n` from 2 (or after the last one given to `key`) that `target` does not hold yet. */
function freeKey(target: Record<string, unknown>, key: string, renamed: Map<string, number>): string {
  let number = renamed.get(key) ?? 1
  let candidate: string
  do {
    number++
    candidate = `${key} (${number})`
  } while (Object.hasOwn(target, candidate))
  renamed.set(key, number)
  return candidate
}
