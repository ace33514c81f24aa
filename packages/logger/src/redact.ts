import type { LogFields } from './logger.js'
import { replaceRegisteredSecrets } from './registered-secrets.js'
import {
  SECRET_ASSIGNMENT_PATTERN,
  SECRET_KEY_PATTERN,
  SECRET_LIKE_VALUE,
  SECRET_VALUE_PATTERN,
  SHORTEST_PATTERN_MATCH,
  URL_CREDENTIALS_PATTERN,
} from './secret-patterns.js'

/** What a secret is replaced with. */
export const REDACTED = '[REDACTED]'

const CIRCULAR = '[Circular]'
/** Deeper structures are cut rather than risk a stack overflow inside a log call. */
const MAX_DEPTH = 64

function replaceKnownValue(_match: string, scheme: string | undefined): string {
  return scheme === undefined ? REDACTED : `${scheme} ${REDACTED}`
}

function replaceAssignedValue(match: string, assignment: string, value: string): string {
  if (!SECRET_LIKE_VALUE.test(value)) return match
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : ''
  return `${assignment}${quote}${REDACTED}${quote}`
}

/**
 * Replaces what looks like a secret inside a string: registered secrets (`registerSecret`, URL-encoded forms included),
 * API keys with a known shape (`sk-...`, `sk-proj-...`, `sk-ant-...`, `AKIA...`, `ghp_...`, `xox...`, JWTs), the
 * credential of `Bearer <token>`, the user and password of a URL (`https://user:pw@host`), and the value in
 * `api_key=...`-style assignments and `?key=...` query parameters. Ordinary text is left alone.
 *
 * @example
 * ```ts
 * redactString('401 for key sk-proj-Abc123...') // '401 for key [REDACTED]'
 * ```
 */
export function redactString(text: string): string {
  let result = replaceRegisteredSecrets(text, REDACTED)
  if (result.length < SHORTEST_PATTERN_MATCH) return result
  // Most strings hold no URL: the test is cheaper than the pattern.
  if (result.includes('://')) result = result.replace(URL_CREDENTIALS_PATTERN, `$1${REDACTED}@`)
  return result
    .replace(SECRET_VALUE_PATTERN, replaceKnownValue)
    .replace(SECRET_ASSIGNMENT_PATTERN, replaceAssignedValue)
}

/** Whether values under this field name are secrets (`apiKey`, `Authorization`, `refresh_token`, `set-cookie`...). */
function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key)
}

/**
 * A deep, JSON-safe copy of `value` with secrets replaced by `"[REDACTED]"`: the whole value of every field whose name
 * looks secret (`apiKey`, `authorization`, `accessToken`, `password`, `secret`, `cookie`, ... — `null` and `undefined`
 * are kept, so a missing key stays visible), and secret-looking substrings of every string (see `redactString`).
 *
 * JSON data keeps its shape. What JSON cannot hold is made safe: an `Error` becomes
 * `{ name, message, stack, ...own enumerable properties, cause }`, a bigint its decimal string, a cycle `"[Circular]"`,
 * a `Map` or fetch `Headers` an object, a `Set` an array, and objects with `toJSON` (such as `Date`) what `toJSON` returns.
 *
 * @example
 * ```ts
 * redact({ headers: { Authorization: 'Bearer abc' }, model: 'gpt-4o' })
 * // { headers: { Authorization: '[REDACTED]' }, model: 'gpt-4o' }
 * ```
 */
export function redact<T>(value: T): T {
  return copyValue(value, [], 0) as T
}

/**
 * Bindings (outermost first) and then fields merged into one redacted object. Later keys win, as with object spread.
 * Never throws: a log call must not fail because of what it was given.
 */
export function mergeRedacted(bindings: readonly LogFields[], fields: LogFields | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = {}
  const ancestors: object[] = []
  for (const source of bindings) copySource(merged, source, ancestors)
  if (fields !== undefined) copySource(merged, fields, ancestors)
  return merged
}

function copySource(target: Record<string, unknown>, source: LogFields, ancestors: object[]): void {
  if (typeof source !== 'object' || source === null) return
  ancestors.push(source)
  try {
    copyEntries(target, source, ancestors, 1)
  } catch {
    // A throwing getter or proxy: keep what was copied so far.
  } finally {
    ancestors.pop()
  }
}

function copyValue(value: unknown, ancestors: object[], depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return redactString(value)
    case 'bigint':
      return value.toString()
    case 'symbol':
      return value.toString()
    case 'function':
      return value.name === '' ? '[Function]' : `[Function: ${value.name}]`
    case 'object':
      return value === null ? null : copyObject(value, ancestors, depth)
    default:
      return value
  }
}

function copyObject(value: object, ancestors: object[], depth: number): unknown {
  if (ancestors.includes(value)) return CIRCULAR
  if (depth >= MAX_DEPTH) return '[Truncated]'
  ancestors.push(value)
  try {
    return copyObjectOf(value, ancestors, depth + 1)
  } catch {
    return '[Unserializable]'
  } finally {
    ancestors.pop()
  }
}

function copyObjectOf(value: object, ancestors: object[], depth: number): unknown {
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length)
    for (let index = 0; index < value.length; index++) copy[index] = copyValue(value[index], ancestors, depth)
    return copy
  }
  if (value instanceof Error) return copyError(value, ancestors, depth)
  // fetch `Headers` (as on the errors of the OpenAI SDK) keep their entries out of sight, like a Map.
  if (value instanceof Map || (typeof Headers === 'function' && value instanceof Headers)) {
    const copy: Record<string, unknown> = {}
    for (const [key, item] of value) setEntry(copy, String(key), item, ancestors, depth)
    return copy
  }
  if (value instanceof Set) {
    const copy: unknown[] = []
    for (const item of value) copy.push(copyValue(item, ancestors, depth))
    return copy
  }
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} (${value.byteLength} bytes)]`
  if (value instanceof RegExp) return redactString(value.toString())
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return copyValue(toJSON.call(value), ancestors, depth)
  const copy: Record<string, unknown> = {}
  copyEntries(copy, value as Record<string, unknown>, ancestors, depth)
  return copy
}

function copyError(error: Error, ancestors: object[], depth: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {
    name: redactString(String(error.name)),
    message: redactString(String(error.message)),
  }
  if (typeof error.stack === 'string') copy.stack = redactString(error.stack)
  copyEntries(copy, error as unknown as Record<string, unknown>, ancestors, depth)
  if (error instanceof AggregateError) copy.errors = copyValue(error.errors, ancestors, depth)
  if (error.cause !== undefined) copy.cause = copyValue(error.cause, ancestors, depth)
  return copy
}

function copyEntries(
  target: Record<string, unknown>,
  source: Readonly<Record<string, unknown>>,
  ancestors: object[],
  depth: number,
): void {
  for (const key of Object.keys(source)) setEntry(target, key, source[key], ancestors, depth)
}

function setEntry(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
  ancestors: object[],
  depth: number,
): void {
  const safeKey = redactString(key)
  const safeValue =
    value !== null && value !== undefined && isSecretKey(key) ? REDACTED : copyValue(value, ancestors, depth)
  // Assigning `__proto__` would set the copy's prototype instead of copying the field.
  if (safeKey === '__proto__')
    Object.defineProperty(target, safeKey, { value: safeValue, enumerable: true, writable: true, configurable: true })
  else target[safeKey] = safeValue
}
