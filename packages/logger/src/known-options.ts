import { redactAndCut } from './redact.js'

/**
 * Refuses option keys nobody reads (a misspelling such as `levle`) with a `TypeError` that names the option meant, when
 * one is a near miss, and the known ones: like a wrong `level`, a programming error to fix, not to ignore. Keys whose
 * value is `undefined` are ignored, as everywhere in tinyllm. Options that are not an object, or whose reading throws,
 * are a `TypeError` too. Returns the options as read, each once: read them there, not again from what was given.
 */
export function checkKnownOptions<Options extends object>(
  options: Options,
  known: Readonly<Record<string, true>>,
  owner: string,
): Partial<Options> {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${owner}: options must be an object, got ${options === null ? 'null' : typeof options}`)
  const given = readOnce(options, owner)
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(known, key) || given[key] === undefined) continue
    const names = Object.keys(known)
    // A key longer than any option name is quoted cut short, and no name is suggested for it.
    const shown = redactAndCut(key, MAX_QUOTED_LENGTH)
    const suggestion = shown === key ? closestName(key, names) : undefined
    throw new TypeError(
      `${owner}: ${shown} is not an option${suggestion === undefined ? '' : `; did you mean ${suggestion}?`} (known: ${names.join(', ')})`,
    )
  }
  return given as Partial<Options>
}

/**
 * The options' own keys and values, each read once: options whose reading throws (a getter, a `Proxy`) are a
 * `TypeError` saying so, and a getter that answers differently each time is not asked twice.
 */
function readOnce(options: object, owner: string): Record<string, unknown> {
  try {
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(options)) {
      Object.defineProperty(copy, key, {
        value: (options as Record<string, unknown>)[key],
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return copy
  } catch (error) {
    throw unreadableOptions(owner, error)
  }
}

/** The `TypeError` for options whose reading threw `error`: what was thrown, its secrets replaced and cut short. */
export function unreadableOptions(owner: string, error: unknown): TypeError {
  let thrown: string
  try {
    thrown = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  } catch {
    thrown = 'a value that cannot be shown'
  }
  return new TypeError(`${owner}: options could not be read: ${redactAndCut(thrown, MAX_QUOTED_LENGTH)}`, {
    cause: error,
  })
}

/** The longest text an option error quotes of what it was given. */
const MAX_QUOTED_LENGTH = 64

/**
 * A value given as an option, as an option error quotes it: text JSON-quoted, its secrets replaced before it is cut at
 * 64 characters; a number or boolean as it is; anything else by its type, which reading cannot make throw.
 */
export function quoteGiven(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(redactAndCut(value, MAX_QUOTED_LENGTH))
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return String(value)
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`
}

/**
 * The name of `names` at most two edits from `key` (case aside), the closest first; `undefined` when none is that near.
 * What every "did you mean …?" of tinyllm suggests.
 *
 * @example
 * closestName('levle', ['level', 'stream']) // 'level'
 */
export function closestName(key: string, names: Iterable<string>): string | undefined {
  let closest: string | undefined
  let closestDistance = 3
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase())
    if (distance < closestDistance) {
      closest = name
      closestDistance = distance
    }
  }
  return closest
}

/** Levenshtein distance; 3 (too far) without computing it when the lengths alone differ by more than 2. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] as number
}
