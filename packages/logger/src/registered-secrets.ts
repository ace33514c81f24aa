/**
 * Shared by every copy of this package in the process, so a secret registered through one copy is redacted by all. The
 * value is plain data (no methods), so copies of different versions agree on it as long as its `version` matches.
 */
const REGISTRY_KEY = Symbol.for('tinyllm.logger.secret-registry')

/** Shorter values would match ordinary text and shred every log line. */
const MINIMUM_SECRET_LENGTH = 4

/**
 * Up to this many values, a text is searched for each in turn; beyond it, the text is scanned once and each position
 * looked up by its first characters, so that redaction costs the same with ten thousand tenants' keys as with fifty.
 */
const VALUE_BY_VALUE_LIMIT = 32

interface SecretRegistry {
  readonly version: 1
  /** How many registrations hold each value (a key registered by two models stays until both release it). */
  readonly holders: Map<string, number>
  /** The values by a number computed from their first four characters, longest first within a bucket. */
  readonly buckets: Map<number, string[]>
}

type RegistryStore = { [REGISTRY_KEY]?: SecretRegistry }

function registry(): SecretRegistry {
  const store = globalThis as RegistryStore
  let found = store[REGISTRY_KEY]
  if (found === undefined) {
    found = { version: 1, holders: new Map(), buckets: new Map() }
    store[REGISTRY_KEY] = found
  }
  return found
}

/**
 * Registers an exact secret value (an API key read from the environment, a password) so that every logger, and
 * `redact` and `redactString`, replace it wherever it appears in a string — also URL-encoded, any of its characters
 * escaped (as `new URL`, `encodeURIComponent` or a form body write it), as a server or a proxy may echo it in a URL, and
 * escaped as in a JSON string (a password holding `"` or `\`, in a request body).
 * Surrounding whitespace is ignored; empty values, `undefined` and values shorter than 4 characters are ignored, so an
 * unset variable can be passed as is. A value that is not a string is a `TypeError`.
 *
 * Registrations are counted: the same value registered twice (two clients with one key) is redacted until both are
 * released. Release what you register when it is no longer in use — a per-tenant key, say — so the registry does not
 * grow with every tenant the process has ever served.
 *
 * @returns A function that releases this registration (calling it again does nothing).
 * @example
 * ```ts
 * const release = registerSecret(tenant.apiKey)
 * // ... later, when the tenant's client is gone
 * release()
 * ```
 */
export function registerSecret(value: string | undefined): () => void {
  if (value !== undefined && typeof value !== 'string')
    throw new TypeError(`registerSecret: value must be a string or undefined, got ${typeof value}`)
  const secret = value?.trim() ?? ''
  if (secret.length < MINIMUM_SECRET_LENGTH) return () => {}
  const values = withEncodedForms(secret)
  const secrets = registry()
  for (const form of values) hold(secrets, form)
  let released = false
  return () => {
    if (released) return
    released = true
    for (const form of values) drop(secrets, form)
  }
}

/**
 * How many distinct values the redaction looks for (a secret's JSON-escaped form and its form with spaces as `+` count
 * apart). For diagnostics and tests: it should stay flat while tenants come and go.
 */
export function registeredSecretCount(): number {
  return registry().holders.size
}

/**
 * The length of the longest value the redaction looks for (0 with none), for code that reads only the head of a long
 * text and must read far enough to find a secret starting in it whole.
 */
export function longestRegisteredSecret(): number {
  let longest = 0
  for (const value of registry().holders.keys()) longest = Math.max(longest, value.length)
  return longest
}

/**
 * Replaces every registered value in `text` with `replacement`, also where the text percent-encodes any of its
 * characters (see {@link percentDecoded}); where two matches overlap, their union goes.
 */
export function replaceRegisteredSecrets(text: string, replacement: string): string {
  const { holders, buckets } = registry()
  if (holders.size === 0 || text.length < MINIMUM_SECRET_LENGTH) return text
  const find = (view: string): number[] | undefined =>
    holders.size <= VALUE_BY_VALUE_LIMIT ? findEach(view, holders.keys()) : scan(view, buckets, holders)
  let ranges = find(text)
  const decoded = text.includes('%') ? percentDecoded(text) : undefined
  const found = decoded === undefined ? undefined : find(decoded.text)
  if (decoded !== undefined && found !== undefined) {
    ranges ??= []
    for (const at of found) ranges.push(decoded.originalOffset(at))
  }
  if (ranges === undefined) return text
  return replaceRanges(text, ranges, replacement)
}

/** A run of percent escapes (`%C3%BC%2F`). */
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g

/** The text with its percent escapes decoded, and where each of its offsets lies in the text it was decoded from. */
interface DecodedText {
  readonly text: string
  originalOffset(offset: number): number
}

/**
 * `text` with every percent escape that encodes a character (in UTF-8) decoded, or `undefined` when none does. A
 * secret is echoed in a URL with whatever of its characters the writer chose to escape: `new URL` escapes `ü` and a
 * space in a path or query but not `/`, `+` or `$`, which `encodeURIComponent` escapes, so no fixed list of encoded
 * forms finds them all; its decoded text holds the secret as it was registered. Only the escapes are mapped, so a
 * text costs memory in proportion to its escapes, not its length.
 */
function percentDecoded(text: string): DecodedText | undefined {
  const parts: string[] = []
  let length = 0
  let copied = 0
  // Where each decoded character stands (decoded offset, original offset); text between them is copied as it was.
  const decodedAt: number[] = []
  const originalAt: number[] = []
  for (const run of text.matchAll(ESCAPES)) {
    const end = run.index + run[0].length
    let at = run.index
    while (at < end) {
      // The whole run at once when it is valid UTF-8, as it nearly always is; else one character's escapes at a time.
      const whole = at === run.index ? decodeEscapes(run[0]) : undefined
      const characters = whole ?? decodeEscapes(text.slice(at, Math.min(at + 3 * utf8Length(text, at), end)))
      if (characters === undefined) {
        at += 3
        continue
      }
      parts.push(text.slice(copied, at), characters)
      length += at - copied
      for (let index = 0; index < characters.length; index++) {
        const code = characters.charCodeAt(index)
        // A character outside the BMP is a surrogate pair: four bytes, two UTF-16 units.
        const units = code >= 0xd800 && code <= 0xdbff ? 2 : 1
        const bytes = units === 2 ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3
        decodedAt.push(length, length + units)
        originalAt.push(at, at + 3 * bytes)
        length += units
        at += 3 * bytes
        index += units - 1
      }
      copied = at
    }
  }
  if (decodedAt.length === 0) return undefined
  parts.push(text.slice(copied))
  const decoded = parts.join('')
  return {
    text: decoded,
    originalOffset(offset) {
      // The last mapped point at or before `offset`: inside a decoded character it is that character's start.
      let low = 0
      let high = decodedAt.length - 1
      if (offset < (decodedAt[0] as number)) return offset
      while (low < high) {
        const middle = (low + high + 1) >> 1
        if ((decodedAt[middle] as number) <= offset) low = middle
        else high = middle - 1
      }
      const point = decodedAt[low] as number
      // Points come in pairs, a decoded character's start and end: after an end, text was copied as it was.
      return low % 2 === 1 ? (originalAt[low] as number) + offset - point : (originalAt[low] as number)
    },
  }
}

/** How many escapes, from the one at `at`, encode one character in UTF-8, by its first byte. */
function utf8Length(text: string, at: number): number {
  const lead = Number.parseInt(text.slice(at + 1, at + 3), 16)
  return lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4
}

/** The character that escapes encode, or `undefined` when they encode none (a stray continuation byte, say). */
function decodeEscapes(escapes: string): string | undefined {
  try {
    return decodeURIComponent(escapes)
  } catch {
    return undefined
  }
}

/**
 * The value, and where they differ from it, the forms of it a text may hold that decoding its percent escapes does not
 * give back (see {@link replaceRegisteredSecrets}): as written inside a JSON string (a request body, a JSON log line
 * held as text: `"` and `\` escaped), and with each space a `+`, as a form body or `URLSearchParams` (a URL's
 * `searchParams`) writes one.
 */
function withEncodedForms(secret: string): string[] {
  const forms = [secret]
  const escaped = JSON.stringify(secret).slice(1, -1)
  if (escaped !== secret) forms.push(escaped)
  const spacesAsPlus = secret.replaceAll(' ', '+')
  if (spacesAsPlus !== secret) forms.push(spacesAsPlus)
  return forms
}

function hold(secrets: SecretRegistry, value: string): void {
  const count = secrets.holders.get(value)
  secrets.holders.set(value, (count ?? 0) + 1)
  if (count !== undefined) return
  const key = prefixKey(value, 0)
  const bucket = secrets.buckets.get(key)
  if (bucket === undefined) {
    secrets.buckets.set(key, [value])
    return
  }
  let at = 0
  while (at < bucket.length && (bucket[at] as string).length >= value.length) at++
  bucket.splice(at, 0, value)
}

function drop(secrets: SecretRegistry, value: string): void {
  const count = secrets.holders.get(value)
  if (count === undefined) return
  if (count > 1) {
    secrets.holders.set(value, count - 1)
    return
  }
  secrets.holders.delete(value)
  const key = prefixKey(value, 0)
  const bucket = secrets.buckets.get(key)
  if (bucket === undefined) return
  bucket.splice(bucket.indexOf(value), 1)
  if (bucket.length === 0) secrets.buckets.delete(key)
}

/** A small integer from the four characters at `at`; equal prefixes give equal keys (unequal ones may too). */
function prefixKey(text: string, at: number): number {
  return (
    (((text.charCodeAt(at) * 31 + text.charCodeAt(at + 1)) * 31 + text.charCodeAt(at + 2)) * 31 +
      text.charCodeAt(at + 3)) &
    0x3fffffff
  )
}

/** Start and end of every occurrence of every value, as a flat list, or `undefined` when none occurs. */
function findEach(text: string, values: Iterable<string>): number[] | undefined {
  let ranges: number[] | undefined
  for (const value of values) {
    for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) {
      ranges ??= []
      ranges.push(at, at + value.length)
    }
  }
  return ranges
}

/** One pass over the text: at each position, the longest value that starts with its four characters and is there. */
function scan(
  text: string,
  buckets: ReadonlyMap<number, ReadonlyArray<string>>,
  holders: ReadonlyMap<string, number>,
): number[] | undefined {
  let ranges: number[] | undefined
  const last = text.length - MINIMUM_SECRET_LENGTH
  for (let at = 0; at <= last; at++) {
    const bucket = buckets.get(prefixKey(text, at))
    if (bucket === undefined) continue
    // A shorter value starting here lies inside the longest one.
    const length = longestValueAt(text, at, bucket, holders)
    if (length === 0) continue
    ranges ??= []
    ranges.push(at, at + length)
  }
  return ranges
}

/**
 * The length of the longest value of `bucket` (values whose first four characters are the text's at `at`, longest
 * first) that the text holds at `at`, or 0. Values are tried a length at a time: where several have one length (the
 * keys of ten thousand tenants, all `sk-proj-…` of one size), the text's slice of that length is looked up among every
 * value at once, so a text that repeats their shared prefix costs as much with ten thousand of them as with a few.
 */
function longestValueAt(
  text: string,
  at: number,
  bucket: ReadonlyArray<string>,
  holders: ReadonlyMap<string, number>,
): number {
  for (let from = 0; from < bucket.length; ) {
    const length = (bucket[from] as string).length
    const to = firstShorter(bucket, from, length)
    if (at + length <= text.length) {
      if (to - from > 2) {
        if (holders.has(text.slice(at, at + length))) return length
      } else {
        for (let index = from; index < to; index++) if (text.startsWith(bucket[index] as string, at)) return length
      }
    }
    from = to
  }
  return 0
}

/** The index of the first value after `from` shorter than `length`, in a bucket sorted longest first. */
function firstShorter(bucket: ReadonlyArray<string>, from: number, length: number): number {
  let low = from
  let high = bucket.length
  while (low < high) {
    const middle = (low + high) >> 1
    if ((bucket[middle] as string).length >= length) low = middle + 1
    else high = middle
  }
  return low
}

function replaceRanges(text: string, ranges: number[], replacement: string): string {
  const order: number[] = []
  for (let index = 0; index < ranges.length; index += 2) order.push(index)
  order.sort((left, right) => (ranges[left] as number) - (ranges[right] as number))
  let result = ''
  let copiedUpTo = 0
  let start = -1
  let end = -1
  for (const index of order) {
    const from = ranges[index] as number
    const to = ranges[index + 1] as number
    if (from <= end) {
      end = Math.max(end, to)
      continue
    }
    if (start !== -1) {
      result += text.slice(copiedUpTo, start) + replacement
      copiedUpTo = end
    }
    start = from
    end = to
  }
  return `${result}${text.slice(copiedUpTo, start)}${replacement}${text.slice(end)}`
}
