import { closestName, redactAndCut } from '@tinyllm/logger'
import { ConfigurationError, describeThrown, safeStringify, TinyLLMError } from './errors.js'

/** The longest delay a timer can wait in one go (2³¹−1 ms, about 24.8 days); longer ones are re-armed. */
export const maxTimerDelayMs = 2_147_483_647

/** What a numeric option must be, for {@link checkNumber}. */
export interface NumberRule {
  /** Whole numbers only, each one a number holds exactly (at most 2⁵³−1 in size). */
  readonly integer?: boolean
  /** Smallest allowed value (inclusive). */
  readonly min?: number
  /** Values must be greater than this (exclusive). */
  readonly above?: number
  /** Largest allowed value (inclusive). */
  readonly max?: number
  /** `Infinity` is also allowed (meaning "no limit"). */
  readonly orInfinity?: boolean
  /** The unit, shown in the message (`ms`, `tokens`). */
  readonly unit?: string
}

/**
 * Checks a numeric option and returns it (`undefined` when absent). Anything else is a {@link ConfigurationError} in
 * the one format every option of tinyllm uses: `<owner>: <option> must be …, got …`.
 *
 * @example
 * checkNumber(options.concurrency, 'concurrency', { integer: true, min: 1, orInfinity: true }, name)
 */
export function checkNumber(value: unknown, option: string, rule: NumberRule, owner?: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'number' && !Number.isNaN(value)) {
    if (value === Number.POSITIVE_INFINITY ? rule.orInfinity === true : withinRule(value, rule)) return value
    // An integer past 2⁵³ is no count a number holds exactly (1e300 attempts): the bound is said where it is broken.
    if (rule.integer === true && Number.isInteger(value) && !Number.isSafeInteger(value))
      rule =
        value > 0
          ? { ...rule, max: rule.max ?? Number.MAX_SAFE_INTEGER }
          : { ...rule, min: rule.min ?? Number.MIN_SAFE_INTEGER }
  }
  throw optionError(option, describeRule(rule), value, owner)
}

/** Checks a numeric option that must be given, as {@link checkNumber} checks one, and returns it. */
export function requireNumber(value: unknown, option: string, rule: NumberRule, owner?: string): number {
  const checked = checkNumber(value, option, rule, owner)
  if (checked === undefined) throw optionError(option, describeRule(rule), value, owner)
  return checked
}

/** A timeout or delay in ms: a number > 0, at most 2³¹−1 (2,147,483,647), the longest delay a timer can hold. */
export function checkTimeout(value: unknown, option: string, owner?: string): number | undefined {
  return checkNumber(value, option, { above: 0, max: maxTimerDelayMs, unit: 'ms' }, owner)
}

function withinRule(value: number, rule: NumberRule): boolean {
  if (!Number.isFinite(value)) return false
  if (rule.integer === true && !Number.isSafeInteger(value)) return false
  if (rule.min !== undefined && value < rule.min) return false
  if (rule.above !== undefined && value <= rule.above) return false
  return rule.max === undefined || value <= rule.max
}

function describeRule(rule: NumberRule): string {
  const unit = rule.unit === undefined ? '' : ` ${rule.unit}`
  let text = rule.integer === true ? 'an integer' : `a number${unit === '' ? '' : ` of${unit}`}`
  const low = rule.min !== undefined ? `≥ ${rule.min}` : rule.above !== undefined ? `> ${rule.above}` : undefined
  if (low !== undefined && rule.max !== undefined) text += ` ${low} and ≤ ${rule.max}`
  else if (low !== undefined) text += ` ${low}`
  else if (rule.max !== undefined) text += ` ≤ ${rule.max}`
  return rule.orInfinity === true ? `${text}, or Infinity` : text
}

/** Checks a boolean option and returns it (`undefined` when absent). */
export function checkBoolean(value: unknown, option: string, owner?: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw optionError(option, 'true or false', value, owner)
}

/** Checks that an option is one of `allowed`; returns it (`undefined` when absent). */
export function checkOneOf<const Allowed extends string>(
  value: unknown,
  option: string,
  allowed: ReadonlyArray<Allowed>,
  owner?: string,
): Allowed | undefined {
  if (value === undefined || allowed.includes(value as Allowed)) return value as Allowed | undefined
  throw optionError(option, `one of ${allowed.map((choice) => `'${choice}'`).join(', ')}`, value, owner)
}

/** A {@link ConfigurationError} saying `<owner>: <option> must be <expected>, got <value>`. */
export function optionError(
  option: string,
  expected: string,
  value: unknown,
  owner?: string,
  cause?: unknown,
): ConfigurationError {
  return new ConfigurationError({
    option,
    message: `${option} must be ${expected}, got ${showValue(value)}`,
    functionName: owner,
    cause,
  })
}

function showValue(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  if (typeof value === 'object' && value !== null) {
    const collection = collectionOf(value)
    if (collection !== undefined) return `a ${collection}`
    if (isPlainObjectLike(value)) return 'an object'
  }
  return safeStringify(value, 60)
}

/**
 * `Map` or `Set` when `value` is one (of any realm), whose entries are no properties: options given as one would read as
 * none. The tag is asked first, which costs a plain object next to nothing; the brand check settles it. `undefined`
 * otherwise, and for a value that cannot be asked (a revoked Proxy).
 */
function collectionOf(value: object): 'Map' | 'Set' | undefined {
  try {
    const tag = Object.prototype.toString.call(value)
    if (tag === '[object Map]') {
      Map.prototype.has.call(value, undefined)
      return 'Map'
    }
    if (tag === '[object Set]') {
      Set.prototype.has.call(value, undefined)
      return 'Set'
    }
  } catch {
    // Tagged as one, and no Map or Set: its properties are its options.
  }
  return undefined
}

/**
 * Not a list nor a String object; false for a revoked Proxy too (`Array.isArray` throws for it), which safeStringify
 * calls unreadable.
 */
function isPlainObjectLike(value: object): boolean {
  try {
    return !Array.isArray(value) && !isStringObject(value)
  } catch {
    return false
  }
}

/**
 * Whether `value` is a String object (`new String('…')`), whose characters `Object.keys` lists as keys. The tag is
 * asked first, which throws for no plain object: the brand check that settles it throws for every other value.
 */
function isStringObject(value: object): boolean {
  try {
    if (Object.prototype.toString.call(value) !== '[object String]') return false
    String.prototype.valueOf.call(value)
    return true
  } catch {
    return false
  }
}

/**
 * Checks that `value` is an object whose properties are options: not a list or a String object (whose entries or
 * characters would be read as options), nor a Map or a Set (whose entries no check reads: a budget or limits given as
 * one would read as none). Anything else is a {@link ConfigurationError} saying `<option> must be an object, got …`;
 * one that cannot be read (a revoked Proxy) too.
 */
export function checkOptionsObject(value: unknown, option: string, owner?: string): asserts value is object {
  if (typeof value !== 'object' || value === null) throw optionError(option, 'an object', value, owner)
  try {
    // A revoked Proxy throws as soon as it is asked whether it is a list.
    if (Array.isArray(value) || isStringObject(value) || collectionOf(value) !== undefined)
      throw optionError(option, 'an object', value, owner)
  } catch (cause) {
    throw unreadableOption(cause, option, owner)
  }
}

/**
 * Rejects option keys nobody reads — a misspelling, or another library's name for a setting (`max_tokens`,
 * `top_p`, `model_name`) — with a {@link ConfigurationError} that suggests the right name, instead of silently ignoring
 * them. Keys whose value is `undefined` are ignored. `within` names the option that holds these (`retry`): its keys are
 * then named `retry.attempts`. Options that are no object of options (a list, a String object, a Map or a Set) are
 * refused.
 */
export function checkKnownOptions(options: object, known: ReadonlySet<string>, owner?: string, within?: string): void {
  // Named as the option holding them names theirs: `retry.attempts`, not `attempts`.
  const named = (key: string): string => (within === undefined ? key : `${within}.${key}`)
  // A string's characters or a list's entries are no options: the index of the first would be named as one.
  checkOptionsObject(options, within ?? 'options', owner)
  let keys: string[]
  try {
    keys = optionKeysOf(options)
  } catch (cause) {
    throw unreadableOption(cause, within ?? 'options', owner)
  }
  for (const key of keys) {
    if (known.has(key)) continue
    let value: unknown
    try {
      value = (options as Record<string, unknown>)[key]
    } catch (cause) {
      throw unreadableOption(cause, 'options', owner)
    }
    if (value === undefined) continue
    // A key longer than any option name is quoted cut short, and no name is suggested for it.
    // Secrets go before the cut: cut first, a secret the cut falls inside would no longer be recognised.
    const shown = key.length > 64 ? redactAndCut(key, 64) : key
    // Another spelling of a known name, or one edit or two away.
    const suggestion = shown === key ? (knownSpelling(key, known) ?? closestName(key, known)) : undefined
    throw new ConfigurationError({
      option: named(shown),
      message: `${named(shown)} is not an option${suggestion === undefined ? '' : `; did you mean ${named(suggestion)}?`} (known: ${[...known].sort().join(', ')})`,
      functionName: owner,
    })
  }
}

/**
 * {@link checkKnownOptions} for options checked on a hot path (those of every `invoke`, every CancelScope): a plain
 * object whose keys are all known costs one loop over them, and the message is built only on a miss. Options of any
 * other kind (a settings class, whose getters the loop does not list; a list, a Map or a Set, refused) are checked whole.
 */
export function checkOptionKeys(options: object, known: ReadonlySet<string>, owner: string): void {
  let whole = Object.getPrototypeOf(options) !== Object.prototype
  for (const key in options) if (!known.has(key)) whole = true
  if (whole) checkKnownOptions(options, known, owner)
}

/**
 * The keys of `options` that an option read by its name would find: its own enumerable ones, and those it inherits —
 * enumerable, or a getter (a settings class's) — below the root of its prototype chain (`Object.prototype`, whose
 * `__proto__` is no option). A typo a settings class holds in a getter (`get timeoutMS()`) is refused as an own key is,
 * not silently ignored while the getters spelled right are read.
 */
function optionKeysOf(options: object): string[] {
  const keys = Object.keys(options)
  // A plain object's prototype is the root: one question, and no key to add. A Proxy may answer a new prototype each
  // time it is asked: no class hierarchy is 100 levels deep.
  let holder = Object.getPrototypeOf(options) as object | null
  for (let depth = 0; holder !== null && depth < 100; depth++) {
    const next = Object.getPrototypeOf(holder) as object | null
    if (next === null) break
    for (const key of Object.getOwnPropertyNames(holder)) {
      const property = Object.getOwnPropertyDescriptor(holder, key)
      if (property?.get !== undefined || property?.enumerable === true) keys.push(key)
    }
    holder = next
  }
  return keys
}

/**
 * The error for an option whose reading threw (a getter, a Proxy): the error itself when it already is a tinyllm error
 * (an option check), else a {@link ConfigurationError} naming the option, with what was thrown as its cause.
 */
export function unreadableOption(error: unknown, option: string, owner?: string): TinyLLMError {
  if (TinyLLMError.isInstance(error)) return error
  return new ConfigurationError({
    option,
    message: `${option} could not be read: ${describeThrown(error)}`,
    functionName: owner,
    cause: error,
  })
}

/** Other libraries' names for an option, in the form {@link knownSpelling} compares: lower case, without `_`. */
const aliases: ReadonlyMap<string, string> = new Map([
  ['modelname', 'model'],
  ['maxcompletiontokens', 'maxTokens'],
  ['maxoutputtokens', 'maxTokens'],
  ['stopsequences', 'stop'],
  ['timeout', 'timeoutMs'],
  ['requesttimeoutms', 'attemptTimeoutMs'],
  ['retries', 'retry'],
  ['maxretries', 'retry'],
])

/**
 * The known name `key` is another spelling of — another case, snake_case or kebab-case (`TopP`, `top_p`, `top-p`), or
 * another library's name (`model_name`, `maxOutputTokens`) — or `undefined`. No near misses: an LLM call's input, where
 * other keys may pass, is checked with it.
 */
export function knownSpelling(key: string, known: ReadonlySet<string>): string | undefined {
  const plain = key.replace(/[_-]/g, '').toLowerCase()
  const alias = aliases.get(plain)
  if (alias !== undefined && known.has(alias)) return alias
  for (const name of known) if (name.toLowerCase() === plain) return name
  return undefined
}
