import { escapeControls, redact, redactAndCut, redactQuoted, redactString } from '@tinyllm/logger'

/** The longest message an error keeps: one made of a 5 MB text would make every record and log line holding it 5 MB. */
const maxMessageLength = 10_000

/** Every error class this copy of core branded, by its `name`, for {@link TinyLLMError.fromJSON}. */
const errorClasses = new Map<string, { readonly prototype: TinyLLMError }>()
/**
 * The error classes branded through any copy of core in the process (the first class of each name), on `globalThis`
 * under a `Symbol.for` key: a package that brought its own copy brands its classes there, and `fromJSON` of this copy
 * reads them back as those classes all the same.
 */
const processErrorClasses = sharedErrorClasses()

function sharedErrorClasses(): Map<string, { readonly prototype: TinyLLMError }> {
  const key = Symbol.for('tinyllm.errorClasses')
  const store = globalThis as Record<symbol, unknown>
  const shared = store[key]
  if (shared instanceof Map) return shared
  const created = new Map<string, { readonly prototype: TinyLLMError }>()
  Object.defineProperty(store, key, { value: created, configurable: true })
  return created
}
/** The names of core's own error classes, once they are all branded: no other class may take one. */
let coreErrorNames: ReadonlySet<string> | undefined

/** Where in a Function's lifecycle something went wrong. */
export interface ErrorLocation {
  /** Name of the Function whose run failed. */
  readonly functionName?: string | undefined
  /** Lifecycle state the run was in. */
  readonly state?: string | undefined
}

/** Options shared by every tinyllm error. */
export interface TinyLLMErrorOptions extends ErrorLocation {
  readonly message: string
  readonly cause?: unknown
  /** Whether retrying the same operation may succeed. */
  readonly retryable?: boolean | undefined
  /** A server's hint (e.g. `retry-after`) of how long to wait before retrying, in milliseconds. */
  readonly retryAfterMs?: number | undefined
}

/**
 * The base of every error tinyllm throws. Recognise one with `TinyLLMError.isInstance(error)` — it works across
 * duplicated copies of the package, where `instanceof` does not.
 */
export class TinyLLMError extends Error {
  override readonly name: string = 'TinyLLMError'
  readonly functionName: string | undefined
  readonly state: string | undefined
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined

  constructor(options: TinyLLMErrorOptions) {
    super(keptMessage(options?.message), options?.cause === undefined ? undefined : { cause: options.cause })
    this.functionName = options?.functionName
    this.state = options?.state
    // Only `true` makes an error retryable: from plain JavaScript, `'yes'` would otherwise pass for one and then be
    // refused as the answer of the retry policy's `retryable`, blaming an option nobody set.
    this.retryable = options?.retryable === true
    this.retryAfterMs = options?.retryAfterMs
  }

  /**
   * True for a tinyllm error, from any copy of the package (where `instanceof` fails); each subclass has its own:
   * `TimeoutError.isInstance(error)`. It needs no `this`, so `errors.filter(TimeoutError.isInstance)` works.
   */
  declare static isInstance: (error: unknown) => error is TinyLLMError

  /**
   * A JSON-safe view, for logs, run records and transport between processes: what JSON cannot hold (a BigInt, a
   * circular value a Decision received) is made safe, secrets are replaced, as in a log line, and a string the error
   * quotes (its cause, an abort reason, a value received) is cut at 1,000 characters. A tinyllm error that caused it
   * is shown as its own JSON, eight causes deep; deeper ones (a cycle of causes) by name and message.
   */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, message: this.message }
    for (const key of Object.keys(this)) {
      const value = (this as unknown as Record<string, unknown>)[key]
      if (value !== undefined) json[key] = quoted(value)
    }
    if (this.cause !== undefined) json.cause = quoted(this.cause)
    return redact(json)
  }

  /**
   * What `console.log(error)` and `util.inspect(error)` print in Node: the usual text, with secrets replaced as in a log
   * line — also in the `cause`, which is kept as it was thrown (an SDK error that quotes a request header, say).
   */
  [Symbol.for('nodejs.util.inspect.custom')](
    depth: number,
    options: { readonly depth?: number | null },
    inspect: (value: unknown, options: object) => string,
  ): string {
    // Values are redacted before they are printed: printed, a secret may be escaped (quotes, control characters) or cut.
    return redactString(
      inspect(redactedForPrint(this, 0), {
        ...options,
        depth: options.depth === null ? null : depth,
        customInspect: false,
      }),
    )
  }

  /**
   * The typed error a `toJSON()` view describes, as another process received it: the same class (any branded class
   * whose package is loaded, else TinyLLMError), message, `retryable` and fields. Only own data keys the class does not
   * define itself are copied, onto a fresh error: JSON can neither reach a prototype through it (`__proto__`,
   * `constructor`) nor replace a method (`toJSON`, `toString`).
   *
   * @example
   * const error = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(timeout)))
   * TimeoutError.isInstance(error) // true; error.kind, error.timeoutMs and error.retryable as they were
   */
  static fromJSON(json: unknown): TinyLLMError {
    try {
      return rehydrate(json)
    } catch (cause) {
      // Not JSON: a Proxy or a getter that throws, a symbol.
      return new TinyLLMError({ message: `an error that could not be read back: ${describeThrown(cause)}`, cause })
    }
  }
}
brandError(TinyLLMError, 'TinyLLMError')

/**
 * An error's message as it keeps it, made or read back from JSON. Messages quote what they were given (a thrown error,
 * an abort reason, a model's answer) and end up in logs, run trees and terminals: secrets are replaced as in a log line,
 * and a message is cut at 10,000 characters. One that is not a string is shown as a value is; none is an empty message.
 */
function keptMessage(message: unknown): string {
  if (typeof message === 'string') return redactAndCut(message, maxMessageLength)
  return message === undefined ? '' : safeStringify(message, 1_000)
}

/**
 * The error {@link TinyLLMError.fromJSON} reads back from `json`, with the cause it kept read back as an error too,
 * `depth` causes down; throws what reading it throws.
 */
function rehydrate(json: unknown, depth = 0): TinyLLMError {
  const data = (typeof json === 'object' && json !== null ? json : { message: String(json) }) as Record<string, unknown>
  // This copy's own class of a name first: core's classes read back by this copy are this copy's.
  const errorClass = typeof data.name === 'string' ? brandedClass(data.name) : undefined
  const error = Object.create((errorClass ?? TinyLLMError).prototype) as TinyLLMError
  const define = (key: string, value: unknown, enumerable: boolean): void => {
    Object.defineProperty(error, key, { value, enumerable, writable: true, configurable: true })
  }
  for (const key of Object.keys(data)) if (!(key in error)) define(key, data[key], true)
  if (data.cause !== undefined) define('cause', rehydratedCause(data.cause, depth + 1), true)
  define('name', typeof data.name === 'string' ? keptName(data.name) : 'TinyLLMError', true)
  define('message', keptMessage(data.message), false)
  define('retryable', data.retryable === true, true)
  define('stack', `${error.name}: ${error.message}\n    (rehydrated from JSON)`, false)
  return error
}

/** The class branded as `name`: this copy's own, else one another copy of core branded. */
function brandedClass(name: string): { readonly prototype: TinyLLMError } | undefined {
  return errorClasses.get(name) ?? processErrorClasses.get(name)
}

/**
 * A name read back from JSON as the constructor would keep it: secrets replaced (the JSON may come from a process that
 * did not know this one's secrets), cut at 200 characters, on one line with control characters escaped (and then cut,
 * so the escapes do not take it past 200): a name with a newline would forge a frame of the stack below it.
 */
function keptName(name: string): string {
  return redactAndCut(escapeControls(redactAndCut(name, 200), false), 200)
}

/**
 * The cause an error's JSON shows, read back as what it was: a tinyllm error's JSON (a branded name, or `retryable`)
 * as its class, an error's summary (`{ name, message }` alone) as an `Error`, anything else as it is. Causes deeper
 * than an error's JSON shows whole are left as they are.
 */
function rehydratedCause(cause: unknown, depth: number): unknown {
  if (depth > maxCauseDepth || typeof cause !== 'object' || cause === null) return cause
  try {
    const { name, message, retryable } = cause as Record<string, unknown>
    if (typeof name !== 'string' || typeof message !== 'string') return cause
    if (brandedClass(name) !== undefined || typeof retryable === 'boolean') return rehydrate(cause, depth)
    if (Object.keys(cause).length !== 2) return cause
    const error = new Error(keptMessage(message))
    Object.defineProperty(error, 'name', { value: keptName(name), writable: true, configurable: true })
    error.stack = `${error.name}: ${error.message}\n    (rehydrated from JSON)`
    return error
  } catch {
    // A cause that cannot be read (a Proxy's traps throw) is kept as it was handed over.
    return cause
  }
}
/**
 * Gives an error class its own `isInstance`, recognised across duplicated copies of its package through a `Symbol.for`
 * marker (where `instanceof` fails), and lets {@link TinyLLMError.fromJSON} rehydrate it. Every tinyllm error class is
 * branded; an error class of another package calls it once after the class, with the class's `name`.
 *
 * @example
 * class TemplateError extends TinyLLMError {
 *   override readonly name = 'TemplateError'
 *   declare static isInstance: (error: unknown) => error is TemplateError
 * }
 * brandError(TemplateError, 'TemplateError')
 */
export function brandError(target: { readonly prototype: TinyLLMError }, name: string): void {
  // Brands decide what `isInstance` and `fromJSON` answer for every error: only a TinyLLMError class takes one, and the
  // name of one of core's own classes stays that class's.
  const refuse = (option: string, expected: string, value: unknown): ConfigurationError =>
    new ConfigurationError({
      option,
      message: `${option} must be ${expected}, got ${safeStringify(value, 60)}`,
      functionName: 'brandError',
    })
  const given: unknown = target
  if (typeof given !== 'function' || !(given === TinyLLMError || given.prototype instanceof TinyLLMError))
    throw refuse('target', 'a class extending TinyLLMError', given)
  if (typeof name !== 'string' || name === '') throw refuse('name', 'a class name', name)
  if (coreErrorNames?.has(name) === true && errorClasses.get(name) !== target)
    throw refuse('name', "a name of its own, not one of tinyllm's error classes", name)
  // A class keeps the brand it has: branded again under another name, its errors would pass for another class's.
  for (const [branded, errorClass] of errorClasses)
    if (errorClass === target && branded !== name) throw refuse('name', `its own brand, ${branded}`, name)
  const marker = Symbol.for(`tinyllm.error.${name}`)
  Object.defineProperty(target.prototype, marker, { value: true })
  Object.defineProperty(target, 'isInstance', { value: (error: unknown) => hasMarker(error, marker), writable: true })
  errorClasses.set(name, target)
  if (!processErrorClasses.has(name)) processErrorClasses.set(name, target)
}

function hasMarker(error: unknown, marker: symbol): boolean {
  if (typeof error !== 'object' || error === null) return false
  try {
    // An error, of any realm: a plain object carrying the marker is not one.
    return (error as Record<symbol, unknown>)[marker] === true && isError(error)
  } catch {
    // A hostile value (a Proxy whose traps throw) is not a tinyllm error.
    return false
  }
}

/** The longest thrown string an error's JSON quotes whole, and the most issues a ValidationError's message lists. */
const maxQuotedLength = 1_000
const maxListedIssues = 20

/** `Error.isError` where the runtime has it: true for an error of any realm, never for an object dressed as one. */
const isNativeError = (Error as { isError?: (value: unknown) => boolean }).isError

/**
 * Whether `value` is an error, of this realm or another (a `node:vm` context, a test runner's sandbox), where
 * `instanceof Error` is false; never throws for a hostile value (a Proxy whose traps throw). An object that only says it
 * is one (its `Symbol.toStringTag`) is not.
 */
function isError(value: unknown): value is Error {
  try {
    if (value instanceof Error) return true
    if (typeof value !== 'object' || value === null) return false
    if (isNativeError !== undefined) return isNativeError(value)
    return Object.prototype.toString.call(value) === '[object Error]' && !(Symbol.toStringTag in value)
  } catch {
    return false
  }
}

/** `: <message>` for an abort reason that is an error or a string, else nothing; never throws. */
function describeReason(reason: unknown): string {
  if (typeof reason === 'string') return `: ${redactAndCut(reason, 200)}`
  try {
    return isError(reason) ? `: ${redactAndCut(String(reason.message), 200)}` : ''
  } catch {
    return ''
  }
}

/** How many causes deep an error's JSON shows tinyllm errors whole; deeper ones (a cycle) by name and message. */
const maxCauseDepth = 8
let causeDepth = 0

/** What an error's JSON shows of an error that caused it; never throws (a `name` or `message` getter may). */
function errorSummary(error: Error): Record<string, unknown> {
  if (TinyLLMError.isInstance(error) && causeDepth < maxCauseDepth) {
    causeDepth += 1
    try {
      const json: unknown = error.toJSON()
      if (typeof json === 'object' && json !== null) return json as Record<string, unknown>
    } catch {
      // A subclass's `toJSON` that throws (or an error without one): shown by name and message, as any error.
    } finally {
      causeDepth -= 1
    }
  }
  const read = (key: 'name' | 'message'): unknown => {
    try {
      return redactAndCut(String(error[key]), maxQuotedLength)
    } catch {
      return '[an unreadable value]'
    }
  }
  return { name: read('name'), message: read('message') }
}

/**
 * A value as an error's JSON quotes it: a string longer than {@link maxQuotedLength} cut short, wherever it is in the
 * value (an abort reason `{ body: <5 MB> }`, a Decision's answer), an error as its summary.
 */
function quoted(value: unknown): unknown {
  if (typeof value === 'string') return redactAndCut(value, maxQuotedLength)
  if (isError(value)) return errorSummary(value)
  return typeof value === 'object' && value !== null ? redactQuoted(value) : value
}

/** One problem a schema found, with where it is. */
export interface ValidationIssue {
  /** Path to the offending value, e.g. `['applicant', 'income']`; empty for the value itself. */
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** Formats a path as `applicant.incomes[0]`, or `(root)` when empty. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)'
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else {
      // A path read back from another process's JSON may hold anything: quoted as any value, never thrown on.
      const key =
        typeof segment === 'string'
          ? segment
          : typeof segment === 'symbol'
            ? segment.toString()
            : safeStringify(segment)
      text += /^[A-Za-z_$][\w$]*$/.test(key) ? (text === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`
    }
  }
  return text
}

/**
 * `<path>: <message>` for each of the first `max` issues (a long path or message cut short), and a last line saying how
 * many more there are: what messages and run trees show of a validation that found many issues. Issues read back from
 * another process's JSON may have any shape: what is not a path or a message is shown as text.
 */
export function describeIssues(issues: ReadonlyArray<ValidationIssue>, max: number): string[] {
  const lines = issues.slice(0, max).map((issue: Partial<ValidationIssue> | null) => {
    const path = issue?.path
    const shown = Array.isArray(path) ? path : path === undefined ? [] : [String(path)]
    const message = issue?.message
    return `${redactAndCut(formatIssuePath(shown), 200)}: ${typeof message === 'string' ? redactAndCut(message, 200) : safeStringify(message, 200)}`
  })
  if (issues.length > max) lines.push(`… and ${issues.length - max} more`)
  return lines
}

/**
 * Where an error happened, taken from its options: an error class hands the base that and what it means itself, never
 * its options whole — a `retryable: true` or `retryAfterMs` among them would make an abort, a bad option or a budget
 * retried.
 */
function locationOf(options: ErrorLocation | undefined): ErrorLocation {
  return { functionName: options?.functionName, state: options?.state }
}

/**
 * An error class's options, or none: like {@link TinyLLMError}, an error made from plain JavaScript without its options
 * (or with `null`) is an error of its class all the same, its message saying what it was not told — never a TypeError.
 */
function given<Options extends object>(options: Options | undefined): Partial<Options> {
  return typeof options === 'object' && options !== null ? options : {}
}

/** Input, output or processed output did not match its schema. Lists each issue with its path. */
export class ValidationError extends TinyLLMError {
  override readonly name = 'ValidationError'
  declare static isInstance: (error: unknown) => error is ValidationError
  readonly issues: ReadonlyArray<ValidationIssue>

  constructor(options: {
    functionName: string
    state: string
    issues: ReadonlyArray<ValidationIssue>
    cause?: unknown
  }) {
    const { functionName = 'operation', state, cause } = given(options)
    const what =
      state === 'input_validation'
        ? 'input'
        : state === 'output_validation' || state === 'processing_output'
          ? 'output'
          : 'value'
    // Issues read from plain JavaScript may be missing: none is listed then, never a TypeError.
    const issues = Array.isArray(options?.issues) ? options.issues : []
    const lines = describeIssues(issues, maxListedIssues).map((line) => `  - ${line}`)
    super({
      ...locationOf(options),
      cause,
      message: `${functionName}: invalid ${what} (${state ?? 'no state given'}, ${issues.length} issue${issues.length === 1 ? '' : 's'})\n${lines.join('\n')}`,
    })
    this.issues = issues
  }

  /**
   * As every error's JSON, with the path and message of each issue it lists cut at 1,000 characters. A JSON view holds
   * issues only: past the most a list in it holds (10,000), `issuesLeftOut` says how many more there were.
   */
  override toJSON(): Record<string, unknown> {
    const json = super.toJSON()
    if (Array.isArray(json.issues)) {
      const issues = json.issues.filter((issue) => typeof issue === 'object' && issue !== null).map(quotedIssue)
      json.issues = issues
      if (this.issues.length > issues.length) json.issuesLeftOut = this.issues.length - issues.length
    }
    return json
  }
}
brandError(ValidationError, 'ValidationError')

/** An issue of a ValidationError's JSON with its strings cut short. */
function quotedIssue(issue: { path?: unknown; message?: unknown }): unknown {
  const { path, message } = issue
  return { path: Array.isArray(path) ? path.map(quoted) : path, message: quoted(message) }
}
/** A state machine was asked to move along a transition its table does not allow. */
export class InvalidTransitionError extends TinyLLMError {
  override readonly name = 'InvalidTransitionError'
  declare static isInstance: (error: unknown) => error is InvalidTransitionError
  readonly machine: string
  readonly from: string
  readonly to: string

  /** `from` and `to` are quoted as given, cut at 200 characters: a caller may pass anything as a state. */
  constructor(options: { machine: string; from: unknown; to: unknown; allowed: ReadonlyArray<string> }) {
    const { machine = 'state machine', allowed: next } = given(options)
    const from = quotedState(options?.from)
    const to = quotedState(options?.to)
    const allowed = !Array.isArray(next)
      ? 'not given'
      : next.length === 0
        ? 'none (terminal state)'
        : next.map(quotedState).join(', ')
    super({
      message: `${quotedState(machine)}: illegal transition ${from} → ${to} (allowed from ${from}: ${allowed})`,
      state: from,
    })
    this.machine = machine
    this.from = from
    this.to = to
  }
}
brandError(InvalidTransitionError, 'InvalidTransitionError')

/** A state as an error names it: a string cut at 200 characters, anything else as {@link safeStringify} renders it. */
function quotedState(state: unknown): string {
  return typeof state === 'string' ? redactAndCut(state, 200) : safeStringify(state, 200)
}
/** A run, an attempt or a stream exceeded its time limit. */
export class TimeoutError extends TinyLLMError {
  override readonly name = 'TimeoutError'
  declare static isInstance: (error: unknown) => error is TimeoutError
  readonly timeoutMs: number
  readonly kind: 'total' | 'attempt' | 'idle'

  /** `detail` says what happened, when it is more than "timed out after N ms". */
  constructor(
    options: ErrorLocation & { timeoutMs: number; kind: 'total' | 'attempt' | 'idle'; detail?: string | undefined },
  ) {
    const { kind = 'total', timeoutMs = Number.NaN, detail, functionName = 'operation' } = given(options)
    const what = kind === 'total' ? 'run' : kind === 'attempt' ? 'attempt' : 'stream idle'
    super({
      ...locationOf(options),
      message: `${functionName}: ${detail ?? `${what} timed out${Number.isNaN(timeoutMs) ? '' : ` after ${timeoutMs} ms`}`}`,
      // An attempt that timed out may succeed when tried again; a run out of total time may not.
      retryable: kind !== 'total',
    })
    this.timeoutMs = timeoutMs
    this.kind = kind
  }
}
brandError(TimeoutError, 'TimeoutError')
/** The run was cancelled through its AbortSignal. `reason` is the signal's reason. */
export class AbortError extends TinyLLMError {
  override readonly name = 'AbortError'
  declare static isInstance: (error: unknown) => error is AbortError
  readonly reason: unknown

  constructor(options: ErrorLocation & { reason?: unknown }) {
    const { reason, functionName = 'operation', state } = given(options)
    super({
      ...locationOf(options),
      message: `${functionName}: aborted${state ? ` in ${state}` : ''}${describeReason(reason)}`,
      cause: reason,
    })
    this.reason = reason
  }
}
brandError(AbortError, 'AbortError')
/** A call was stopped before it was sent because it would exceed the run tree's token or cost budget. */
export class BudgetExceededError extends TinyLLMError {
  override readonly name = 'BudgetExceededError'
  declare static isInstance: (error: unknown) => error is BudgetExceededError
  readonly limit: 'tokens' | 'cost'
  readonly budget: number
  readonly spent: number
  readonly requested: number

  constructor(options: ErrorLocation & { limit: 'tokens' | 'cost'; budget: number; spent: number; requested: number }) {
    const { limit = 'cost', budget = Number.NaN, spent = Number.NaN, requested = Number.NaN } = given(options)
    const unit = limit === 'tokens' ? ' tokens' : ' USD'
    super({
      ...locationOf(options),
      message: `${options?.functionName ?? 'call'}: budget of ${budget}${unit} would be exceeded (spent ${spent}${unit}, this call needs up to ${requested}${unit}); the call was not sent`,
    })
    this.limit = limit
    this.budget = budget
    this.spent = spent
    this.requested = requested
  }
}
brandError(BudgetExceededError, 'BudgetExceededError')
/**
 * A Function, policy or model was given an invalid option: thrown at construction, or the rejection of a call given
 * one. The message reads `<Function name>: <what is wrong with the option>`; `option` names it.
 */
export class ConfigurationError extends TinyLLMError {
  override readonly name = 'ConfigurationError'
  declare static isInstance: (error: unknown) => error is ConfigurationError
  readonly option: string

  constructor(options: { option: string; message: string; functionName?: string | undefined; cause?: unknown }) {
    const { option = 'options', message = 'an invalid option', functionName, cause } = given(options)
    super({ functionName, cause, message: `${functionName ? `${functionName}: ` : ''}${message}` })
    this.option = option
  }
}
brandError(ConfigurationError, 'ConfigurationError')
/** A construct that can loop (retries, tool loops, graphs) went past its step limit. */
export class StepLimitError extends TinyLLMError {
  override readonly name = 'StepLimitError'
  declare static isInstance: (error: unknown) => error is StepLimitError
  readonly limit: number
  /** What was counted (`nested runs`, `model turns`…): which limit this is. */
  readonly what: string
  /**
   * Whether the limit is the run tree's (its nesting depth, its runs in progress at once) rather than one run's own (an
   * agent's model turns): reached in one branch, it is the whole graph's, so a `settle-all` Parallel fails with it
   * instead of settling it as that branch's outcome.
   */
  readonly ofRunTree: boolean

  constructor(options: { limit: number; functionName?: string; state?: string; what?: string; ofRunTree?: boolean }) {
    const { limit = Number.NaN, what = 'steps', functionName = 'operation', ofRunTree } = given(options)
    super({ ...locationOf(options), message: `${functionName}: step limit of ${limit} ${what} reached` })
    this.limit = limit
    this.what = what
    this.ofRunTree = ofRunTree === true
  }
}
brandError(StepLimitError, 'StepLimitError')
/**
 * A Function's own code threw something that is not a tinyllm error. The original is kept as `cause`, and the
 * message says which Function and state it came from.
 */
export class FunctionError extends TinyLLMError {
  override readonly name = 'FunctionError'
  declare static isInstance: (error: unknown) => error is FunctionError

  constructor(options: { functionName: string; state: string; cause: unknown; retryable?: boolean }) {
    const read = given(options)
    const { functionName = 'operation', state = 'a state not given', cause } = read
    super({ ...read, message: `${functionName}: ${state} threw ${describeThrown(cause)}` })
  }
}
brandError(FunctionError, 'FunctionError')
/**
 * A durable run was replayed from its journal, and the step at some position is not the one that ran there before: the
 * graph (or a custom `run`'s order of calls) changed. Replaying would hand the wrong output to the wrong step.
 */
export class NonDeterminismError extends TinyLLMError {
  override readonly name = 'NonDeterminismError'
  declare static isInstance: (error: unknown) => error is NonDeterminismError
  /** The step's idempotency key. */
  readonly key: string
  readonly expected: string
  readonly found: string

  constructor(options: { key: string; expected: string; found: string; functionName: string }) {
    const { key = '', expected = '', found = '', functionName = 'operation' } = given(options)
    super({
      functionName: options?.functionName,
      // What the journal holds is quoted as any value an error quotes: a journal may answer anything.
      message: `${functionName}: the journal holds ${redactAndCut(String(expected), 400)} at ${redactAndCut(String(key), 400)}, but ${redactAndCut(String(found), 400)} ran there; the graph changed since the run was journaled (run it under a new runId)`,
      state: 'init',
    })
    this.key = key
    this.expected = expected
    this.found = found
  }
}
brandError(NonDeterminismError, 'NonDeterminismError')
coreErrorNames = new Set(errorClasses.keys())

/** The longest string of an error printed: a message at its cut, and the frames of its stack. */
const maxPrintedString = 2 * maxMessageLength

/**
 * `value` to print: an error as an error of its class whose own fields (its causes, eight deep) hold redacted copies,
 * each string cut at 20,000 characters (a cause thrown with a message of megabytes prints in kilobytes); anything else
 * as {@link redact} copies it. What cannot be read is printed as it is, and redacted as text.
 */
function redactedForPrint(value: unknown, depth: number): unknown {
  try {
    if (!(value instanceof Error)) return typeof value === 'object' && value !== null ? redact(value) : value
  } catch {
    // A Proxy whose traps throw: Node's own printing would throw on it too.
    return '[an unreadable value]'
  }
  if (depth > 8) return `${value.name}: ${redactString(value.message)}`
  try {
    const shown = Object.create(Object.getPrototypeOf(value)) as Error
    for (const key of Reflect.ownKeys(value)) {
      Object.defineProperty(shown, key, {
        value: printedField(value, key, depth),
        enumerable: Object.prototype.propertyIsEnumerable.call(value, key),
        writable: true,
        configurable: true,
      })
    }
    return shown
  } catch {
    // An error that cannot be rebuilt for printing (a Proxy's traps throw) is printed as `redact` copies it: printed as
    // it is, its fields named like a secret would show.
    return redact(value)
  }
}

/**
 * The field `key` of `error`, to print: redacted, or `"[Unserializable]"` when reading it throws (a getter), as
 * {@link redact} writes it, so that the fields beside it are still printed redacted.
 */
function printedField(error: Error, key: PropertyKey, depth: number): unknown {
  let field: unknown
  try {
    // Read, not copied as described: V8's `stack` is an accessor that reads nothing on another object.
    field = Reflect.get(error, key)
  } catch {
    return '[Unserializable]'
  }
  return typeof field === 'string' ? redactAndCut(field, maxPrintedString) : redactedForPrint(field, depth + 1)
}

/**
 * Renders any value for an error message without ever throwing (circular values, BigInt, symbols), in time bounded by
 * `maxLength`: past `maxLength` characters nothing more is read, so a list as long as 2³²−1, an object whose parts are
 * shared many times over (each level holding the next twice) and a megabyte string all render at once. Secrets in its
 * strings are replaced, as in a log line.
 */
export function safeStringify(value: unknown, maxLength = 200): string {
  let text: string
  // A lower bound of the characters let through so far: a key shows itself, its quotes and a colon, a string its
  // quotes and itself, anything else JSON prints at least a character.
  let shown = 0
  let stopped = false
  try {
    // A Buffer's own toJSON lists its every byte before a replacer sees it: bytes given whole are cut here, as a list.
    if (ArrayBuffer.isView(value) && typeof (value as { subarray?: unknown }).subarray === 'function')
      value = Array.from((value as Uint8Array).subarray(0, maxLength + 1))
    // JSON has no text for a symbol or `undefined`, and a function's would be its `toJSON`'s.
    text =
      typeof value === 'bigint'
        ? `${value}n`
        : typeof value === 'function'
          ? String(value)
          : (JSON.stringify(value, function (this: unknown, key: string, item: unknown) {
              // What would be let through past the cut is never shown: it is not read either.
              if (shown > maxLength) {
                stopped = true
                return undefined
              }
              const printed = item !== undefined && typeof item !== 'function' && typeof item !== 'symbol'
              // A key of an object is written whole: one that alone passes the cut is not let through either.
              if (printed && key !== '' && !Array.isArray(this)) {
                if (key.length > maxLength) {
                  shown = maxLength + 1
                  stopped = true
                  return undefined
                }
                shown += key.length + 3
              }
              if (typeof item === 'string') {
                // A string's secrets go before JSON escapes it: `\n` before a key would hide where the key starts.
                const cut = redactAndCut(item, maxLength)
                shown += cut.length + 2
                return cut
              }
              if (printed) shown += 1
              if (Array.isArray(item)) return item.length > maxLength ? item.slice(0, maxLength + 1) : item
              // A typed array (an embedding, a file's bytes) is a list too, JSON would write its every index as a key:
              // shown as a list, it is cut as one, and nothing past the cut is read.
              if (ArrayBuffer.isView(item) && typeof (item as { subarray?: unknown }).subarray === 'function')
                return Array.from((item as Uint8Array).subarray(0, maxLength + 1))
              return item
            }) ?? String(value))
  } catch {
    try {
      text = Object.prototype.toString.call(value)
    } catch {
      // A Proxy whose traps throw has no text at all.
      text = '[an unreadable value]'
    }
  }
  const shownText = redactAndCut(text, maxLength)
  // Something was left out though the text is short (a key longer than the cut): it says so, as a cut does.
  return stopped && !shownText.endsWith('…') ? `${shownText}…` : shownText
}

/**
 * `<name>: <message>` of a thrown error, else the value as {@link safeStringify} renders it, cut at `maxLength`; never
 * throws.
 */
export function describeThrown(value: unknown, maxLength = 200): string {
  try {
    if (isError(value)) return redactAndCut(`${String(value.name)}: ${String(value.message)}`, maxLength)
  } catch {
    // An error whose `name` or `message` getter throws is described like any other value.
  }
  return safeStringify(value, maxLength)
}

/**
 * The tinyllm error for an operation cancelled with `reason` (an abort reason, or an aborted signal): the reason itself
 * when it already is an {@link AbortError} or a {@link TimeoutError} (but an AbortError that names no Function — a
 * scope cancelled without a reason, a Parallel aborting its branches — is made again naming `where`, with its reason),
 * else an AbortError carrying it.
 */
export function abortErrorFor(reason: unknown, where?: ErrorLocation): AbortError | TimeoutError {
  const cause = isAbortSignal(reason) ? reasonOf(reason) : reason
  // An AbortError naming no Function was made for whoever it ends: the run it ended names itself.
  if (AbortError.isInstance(cause) && where !== undefined && cause.functionName === undefined)
    return new AbortError({ reason: cause.reason, functionName: where.functionName, state: where.state })
  if (AbortError.isInstance(cause) || TimeoutError.isInstance(cause)) return cause
  return new AbortError({ reason: cause, functionName: where?.functionName, state: where?.state })
}

/**
 * A signal's `reason`, or `undefined` when it cannot be read (a getter that throws): such a signal still cancels, as
 * one aborted without a reason — thrown from an abort listener, the getter's error would be an uncaught exception.
 */
export function reasonOf(signal: AbortSignal): unknown {
  try {
    return signal.reason
  } catch {
    return undefined
  }
}

/** An `AbortSignal` of any realm (or one that behaves as one); never throws. */
export function isAbortSignal(value: unknown): value is AbortSignal {
  try {
    const signal = value as AbortSignal
    return (
      typeof signal === 'object' &&
      signal !== null &&
      typeof signal.addEventListener === 'function' &&
      typeof signal.removeEventListener === 'function' &&
      'aborted' in signal
    )
  } catch {
    return false
  }
}
