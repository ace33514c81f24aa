import { ConfigurationError, describeThrown, safeStringify, ValidationError, type ValidationIssue } from './errors.js'
import { requireNumber } from './options.js'
import { checkUsage, type UsageTotals } from './usage.js'

/** What a journal keeps of one finished durable step. */
export interface JournalEntry {
  /** Name of the Function that ran the step: a different one at the same position on re-run is refused. */
  readonly function: string
  /** Its kind (`llm-call`, `function`…). */
  readonly kind: string
  /** The step's final (processed) output, JSON-safe. */
  readonly output: unknown
  /**
   * A digest of the step's input: a re-run that hands the step another input does not replay it. A journal must keep
   * it; an entry without one is not replayed.
   */
  readonly input: string
  /**
   * Tokens and cost of the step and everything under it, counted again when another run replays it (the tree that ran
   * the step, replaying it in a retried parent, has counted it once).
   */
  readonly usage?: UsageTotals | undefined
  /**
   * What the step annotated about itself (an LLM call's `model`, `usageEstimated`…), as its record's JSON shows it:
   * JSON-safe, secrets replaced, at most 1 MiB of JSON. A replay annotates them again, beside `replayed: true`.
   */
  readonly annotations?: Readonly<Record<string, unknown>> | undefined
  /** Epoch ms the step finished. */
  readonly at: number
}

/**
 * Where finished durable steps are kept, by their idempotency key (`<root run id>/<step path>`, the root run id escaped
 * as a step key is: `batch-7/42` is `batch-7%2f42`, so no root's id can pass for another root's step) — save that a step
 * started after its parent's output failed its schema (a retry with `retryInvalidOutput`) is kept under its key there
 * with `@<attempt>` after it, so that the retry asks again instead of replaying the answer that failed. A run given a
 * journal reads each durable step's entry before running it — a step found there is replayed, not run — and writes
 * the entry of each one it finishes. Failures are never written. Reads and writes may be synchronous or return promises.
 */
export interface StepJournal {
  /** The entry written for `key`, if any. */
  read(key: string): JournalEntry | undefined | PromiseLike<JournalEntry | undefined>
  /** Writes `entry` unless `key` already has one (the first writer wins); answers the entry that stands. */
  write(key: string, entry: JournalEntry): JournalEntry | PromiseLike<JournalEntry>
}

/**
 * A journal in memory: replays finished steps within the process (a retried batch, a resumed run) and is the model of
 * every other journal. It keeps each entry as JSON, as a journal in a database does: a replay hands out the output the
 * step produced, not an object its caller has changed since. It lives as long as the object does, and keeps every entry
 * it is given until then — one per durable step of every run id, with no limit: a long-lived process gives each batch a
 * journal of its own, or keeps its entries on disk (`@tinyllm/sqlite-journal`).
 *
 * @example
 * const journal = new MemoryJournal()
 * await pipeline.invoke(input, { runId: 'batch-7/42', journal }) // a second call with the same runId replays
 */
export class MemoryJournal implements StepJournal {
  private readonly entries = new Map<string, string>()

  read(key: string): JournalEntry | undefined {
    const kept = this.entries.get(key)
    return kept === undefined ? undefined : JSON.parse(kept)
  }

  /**
   * Writes `entry` unless `key` has one; an entry no journal would replay (see {@link keptJournalEntry}), before or
   * as its JSON keeps it (a BigInt or a cycle among its annotations, a `toJSON` that answers something else), is a
   * ConfigurationError.
   */
  write(key: string, entry: JournalEntry): JournalEntry {
    // Checked whether or not the key is taken, as the other journals check it: a bad entry is refused alike.
    const json = entryJson(key, entry)
    let kept = this.entries.get(key)
    if (kept === undefined) {
      kept = json
      this.entries.set(key, kept)
    }
    return JSON.parse(kept)
  }

  /** How many steps are journaled. */
  get size(): number {
    return this.entries.size
  }
}

/** The JSON a MemoryJournal keeps of `entry`, checked before and as it is kept; else a ConfigurationError. */
function entryJson(key: string, entry: JournalEntry): string {
  // The copy that was checked, read once: a getter that answered the check one value cannot have another one kept.
  const kept = keptJournalEntry(entry)
  if (typeof kept !== 'string') return JSON.stringify(kept)
  const problem = kept
  throw new ConfigurationError({
    option: 'entry',
    message: `the entry for ${safeStringify(key)} is not a journal entry: ${problem}`,
    functionName: 'MemoryJournal',
  })
}

const usageFields = ['calls', 'inputTokens', 'outputTokens', 'totalTokens', 'costUsd', 'unpricedCalls'] as const

/**
 * `value` as a journal keeps it — a copy, as its JSON keeps it — or what keeps it from being a {@link JournalEntry}: a
 * string. The one check a journal makes of an entry it is asked to write and of one it reads back, so that every journal
 * keeps and replays the same entries; store the copy (`JSON.stringify(kept)`), never `value`: its fields were read once,
 * so a getter that answered the check one value cannot have another one stored or replayed. An entry is a plain object
 * whose `function` and `kind` are strings, `input` a string (an entry without one is kept but never replayed), `output`
 * JSON-safe (see {@link assertJsonSafe}), `at` a finite number, `usage` (when there) a plain object of finite counts and
 * `annotations` (when there) a plain object, output and annotations each at most 1 MiB of JSON — as given, and as its
 * JSON keeps it. Only the fields of an entry and of its usage are kept.
 *
 * @example
 * const kept = keptJournalEntry(entry)
 * if (typeof kept === 'string') throw new Error(`not a journal entry: ${kept}`)
 * await db.put(key, JSON.stringify(kept))
 */
export function keptJournalEntry(value: unknown): JournalEntry | string {
  const problem = fieldProblem(value)
  if (problem !== undefined) return problem
  // As its JSON keeps it, which is what every journal stores: a BigInt or a cycle among the annotations, or a `toJSON`
  // answering something else, is refused here alike, not as one journal's encoding error or a corrupt entry later.
  let kept: unknown
  try {
    kept = JSON.parse(boundedJson(entryFields(value as JournalEntry)))
  } catch (cause) {
    if (cause instanceof TooLarge) return `${cause.field}: its JSON is more than the ${maxJsonBytes} bytes allowed`
    return `JSON cannot hold it (${describeThrown(cause)})`
  }
  const keptProblem = fieldProblem(kept)
  if (keptProblem !== undefined) return keptProblem
  // The walk counts no more than JSON writes: what it let through is measured once, as assertJsonSafe measures it.
  // The annotations too: a step's facts are kept whole in its record, but no journal row holds megabytes of them.
  const issues: ValidationIssue[] = []
  for (const field of ['output', 'annotations'] as const)
    if (jsonSizeIssue((kept as JournalEntry)[field], maxJsonBytes, issues)) return `${field}: ${issues[0]?.message}`
  return kept as JournalEntry
}

/**
 * The fields of an entry, and of its usage, that a journal keeps: a field of another name (which no check measured, and
 * whose parts may be shared many times over) is not written out.
 */
function entryFields(given: JournalEntry): unknown {
  // An entry with a `toJSON` is kept as JSON writes it: what that answers, of which only an entry's fields are kept.
  const toJSON = (given as { toJSON?: unknown }).toJSON
  const entry = (typeof toJSON === 'function' ? toJSON.call(given, '') : given) as JournalEntry
  if (typeof entry !== 'object' || entry === null) return entry
  const { function: name, kind, input, output, usage, annotations, at } = entry
  const counts =
    usage === undefined
      ? undefined
      : (Object.fromEntries(usageFields.map((field) => [field, usage[field]])) as unknown as UsageTotals)
  return { function: name, kind, input, output, usage: counts, annotations, at }
}

function fieldProblem(value: unknown): string | undefined {
  try {
    if (!isPlainObject(value)) return 'it is not a plain object'
    const { function: name, kind, input, output, at, usage, annotations } = value as Record<string, unknown>
    if (typeof name !== 'string') return 'function is not a string'
    if (typeof kind !== 'string') return 'kind is not a string'
    if (input !== undefined && typeof input !== 'string') return 'input is not a string'
    const issues: ValidationIssue[] = []
    collectJsonIssues(output, ['output'], new Set(), { issues, size: 0, limit: maxJsonBytes })
    const first = issues[0]
    if (first !== undefined)
      return first.path.length === 0 ? first.message : `${first.path.join('.')}: ${first.message}`
    if (!Number.isFinite(at)) return 'at is not a finite number'
    if (usage !== undefined) {
      if (!isPlainObject(usage)) return 'usage is not a plain object'
      const field = usageFields.find((field) => !Number.isFinite((usage as Record<string, unknown>)[field]))
      if (field !== undefined) return `usage.${field} is not a finite number`
      // Replayed through addUsage: what it would refuse (a negative count, 1.5 calls), no journal keeps.
      try {
        checkUsage(usage as UsageTotals, undefined, 'journal')
      } catch (cause) {
        return (cause as Error).message.replace(/^journal: /, '')
      }
    }
    if (annotations !== undefined && !isPlainObject(annotations)) return 'annotations is not a plain object'
    // Replayed through annotate: a key it would refuse (empty, over 1,000 characters, a lone surrogate), no journal keeps.
    // (Their size is measured as JSON writes them: see boundedJson.)
    if (annotations !== undefined)
      for (const key of Object.keys(annotations as object))
        if (key === '' || key.length > 1_000 || !key.isWellFormed())
          return `annotations has a key annotate refuses (${safeStringify(key, 40)})`
    return undefined
  } catch (cause) {
    return `it could not be read (${describeThrown(cause)})`
  }
}

/** The largest JSON a journal entry's output (or a value sent to another process) may take: 1 MiB. */
const maxJsonBytes = 1024 * 1024

/** What {@link boundedJson} throws when the JSON of an entry's output or annotations passes {@link maxJsonBytes}. */
class TooLarge {
  readonly field: string
  constructor(field: string) {
    this.field = field
  }
}

/**
 * The JSON of an entry's fields, stopped (with {@link TooLarge}) as soon as what it wrote of the output or of the
 * annotations passes 1 MiB, whose parts are counted as JSON reaches them: annotations need not be JSON-safe, and what
 * no walk of them measures — a class instance's fields, what a `toJSON` answers, the holes of a list, each part shared
 * many times over — is never written out along each of its paths. A lower bound of what JSON writes is counted (a key,
 * its quotes and colon; a string and its quotes; a character for anything else, `null` for a hole), so nothing under
 * the limit is refused here; the exact size is checked afterwards.
 */
function boundedJson(fields: unknown): string {
  let field: string | undefined
  let size = 0
  return JSON.stringify(fields, function (this: unknown, key: string, item: unknown) {
    if (this === fields) {
      field = key === 'output' || key === 'annotations' ? key : undefined
      size = 0
    }
    if (field === undefined) return item
    const written = item !== undefined && typeof item !== 'function' && typeof item !== 'symbol'
    if (Array.isArray(this)) size += written ? 0 : 4
    else if (written) size += key.length + 3
    if (written) size += typeof item === 'string' ? item.length + 2 : 1
    if (size > maxJsonBytes) throw new TooLarge(field)
    return item
  })
}

/**
 * Throws a {@link ValidationError} naming the path of every part of `value` that JSON would not carry to another
 * process as it is — a BigInt, a function, a symbol, `NaN` or `Infinity`, `undefined` in a list, a cycle, a class
 * instance (a `Date`, a `Map`, an object of your own class) — or when its JSON is larger than `maxBytes` (1 MiB).
 * Plain objects, arrays, strings, finite numbers, booleans and `null` pass.
 */
export function assertJsonSafe(
  value: unknown,
  where: { readonly functionName: string; readonly state: string },
  maxBytes: number = maxJsonBytes,
): void {
  requireNumber(maxBytes, 'maxBytes', { integer: true, min: 0, unit: 'bytes' }, 'assertJsonSafe')
  const walk: JsonWalk = { issues: [], size: 0, limit: maxBytes }
  const issues = walk.issues
  collectJsonIssues(value, [], new Set(), walk)
  if (issues.length === 0 && !jsonSizeIssue(value, maxBytes, issues)) return
  // `where` may be missing from plain JavaScript: the issues are still the error.
  throw new ValidationError({ functionName: where?.functionName, state: where?.state, issues })
}

/** `createHash` of `node:crypto`, where the runtime has it (Node, Bun, Deno). */
const createHash = (() => {
  try {
    return globalThis.process?.getBuiltinModule?.('node:crypto')?.createHash
  } catch {
    return undefined
  }
})()

/**
 * A digest of a value's JSON, to notice that a step's input changed: its SHA-256 (so that no two inputs, not even ones
 * made to collide, replay each other's output), or the JSON itself where the runtime has no `node:crypto`. Its objects'
 * keys are taken in one order: a JSON object is unordered, and a journal may hand an output back with its keys in
 * another order (PostgreSQL's jsonb does) — the step it is the input of is handed the same input all the same.
 */
export function hashJson(value: unknown): string {
  const text = JSON.stringify(withSortedKeys(value)) ?? 'undefined'
  return createHash === undefined ? text : `sha256:${createHash('sha256').update(text).digest('base64url')}`
}

/**
 * A copy of JSON data with every object's keys in sorted order, made with a stack of its own: JSON writes it as deep as
 * it writes the value itself (plain objects, which JSON writes on its fast path; `__proto__` defined as a key).
 */
function withSortedKeys(value: unknown): unknown {
  const root: Record<string, unknown> = { value }
  const work: Array<[holder: Record<PropertyKey, unknown>, key: PropertyKey, item: object]> = []
  if (typeof value === 'object' && value !== null) work.push([root, 'value', value])
  for (let next = work.pop(); next !== undefined; next = work.pop()) {
    const [holder, key, item] = next
    const list = Array.isArray(item)
    const copy = (list ? new Array(item.length) : {}) as Record<PropertyKey, unknown>
    if (key === '__proto__') Object.defineProperty(holder, key, { value: copy, enumerable: true, writable: true })
    else holder[key] = copy
    for (const part of list ? item.keys() : Object.keys(item).sort()) {
      const child = (item as Record<PropertyKey, unknown>)[part]
      // Set now, filled in later: a key keeps its place in the order.
      if (part === '__proto__') Object.defineProperty(copy, part, { value: child, enumerable: true, writable: true })
      else copy[part] = child
      if (typeof child === 'object' && child !== null) work.push([copy, part, child])
    }
  }
  return root.value
}

/** The most issues {@link assertJsonSafe} lists: past them, looking further only costs time. */
const maxJsonIssues = 20

/**
 * What a walk of a value for {@link assertJsonSafe} has found: its issues, and a lower bound of its JSON's size in
 * characters, counted as it goes — a value whose parts are shared many times over is refused once that passes 1 MiB,
 * not walked along each of its paths.
 */
interface JsonWalk {
  readonly issues: ValidationIssue[]
  size: number
  readonly limit: number
}
/** What JSON cannot carry, by `typeof`; a number that is not finite is named by itself. */
const unsafeTypes: Readonly<Record<string, string>> = { bigint: 'a BigInt', function: 'a function', symbol: 'a symbol' }

/**
 * A list or plain object the walk is inside of: its place (its parent and its key there, read back into a path only
 * for an issue) and how far through its parts the walk is.
 */
interface JsonFrame {
  readonly value: object
  readonly parent: JsonFrame | undefined
  readonly key: PropertyKey | undefined
  /** An object's keys; `undefined` for a list. */
  readonly keys: string[] | undefined
  next: number
}

/**
 * Walks `value` depth first with a stack of its own, not the call stack: however deep a value is nested, the walk
 * neither runs out of stack nor copies its path at each level — it costs what the value holds.
 */
function collectJsonIssues(value: unknown, path: PropertyKey[], ancestors: Set<object>, walk: JsonWalk): void {
  const issues = walk.issues
  const stack: JsonFrame[] = []
  const pathOf = (frame: JsonFrame | undefined, key?: PropertyKey): PropertyKey[] => framePath(path, frame, key)
  const enter = (frame: JsonFrame | undefined, item: unknown, key: PropertyKey | undefined): void => {
    const entered = jsonFrame(item, frame, key, ancestors, walk, path)
    if (entered !== undefined) stack.push(entered)
  }
  enter(undefined, value, undefined)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as JsonFrame
    if (issues.length >= maxJsonIssues || walk.size > walk.limit) break
    const parts = frame.value as Record<string, unknown> & unknown[]
    try {
      if (frame.keys === undefined) {
        // Stops at the last issue listed: a sparse list as long as 2³²−1 is 20 issues, not one per hole.
        if (frame.next < parts.length) {
          const index = frame.next++
          const item = parts[index]
          if (item === undefined)
            issues.push({ path: pathOf(frame, index), message: 'undefined in a list is not JSON-safe' })
          else enter(frame, item, index)
          continue
        }
      } else if (frame.next < frame.keys.length) {
        const key = frame.keys[frame.next++] as string
        let item: unknown
        try {
          item = parts[key]
        } catch (cause) {
          issues.push({ path: pathOf(frame, key), message: unreadable(cause) })
          continue
        }
        if (item !== undefined) enter(frame, item, key)
        continue
      }
    } catch (cause) {
      // A list whose length or item cannot be read (a Proxy whose traps throw): JSON could not read it either.
      issues.push({ path: pathOf(frame), message: unreadable(cause) })
    }
    ancestors.delete(frame.value)
    stack.pop()
  }
  for (const frame of stack) ancestors.delete(frame.value)
}

/**
 * Counts `value` into the walk and names what JSON could not carry of it; a list or plain object to walk into is
 * returned as a frame (and is among the ancestors until the walk leaves it).
 */
function jsonFrame(
  value: unknown,
  parent: JsonFrame | undefined,
  key: PropertyKey | undefined,
  ancestors: Set<object>,
  walk: JsonWalk,
  path: PropertyKey[],
): JsonFrame | undefined {
  const issues = walk.issues
  // Built only for an issue: a walk that finds none copies no path.
  const pathOf = (): PropertyKey[] => framePath(path, parent, key)
  if (issues.length >= maxJsonIssues || walk.size > walk.limit) return undefined
  // No more than JSON writes, so that nothing under the limit is refused: a key with its quotes and colon (the first
  // has no comma before it), the value's own text — at least a character, so shared parts still add up.
  if (typeof key === 'string') walk.size += key.length + 3
  walk.size += typeof value === 'string' ? value.length + 2 : typeof value === 'object' ? (value === null ? 4 : 2) : 1
  if (walk.size > walk.limit) {
    issues.push({ path: [], message: `its JSON is more than the ${walk.limit} bytes allowed` })
    return undefined
  }
  const problem =
    typeof value === 'number' ? (Number.isFinite(value) ? undefined : String(value)) : unsafeTypes[typeof value]
  if (problem !== undefined) {
    issues.push({ path: pathOf(), message: `${problem} is not JSON-safe` })
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  if (ancestors.has(value)) {
    issues.push({ path: pathOf(), message: 'a cycle is not JSON-safe' })
    return undefined
  }
  try {
    const list = Array.isArray(value)
    if (!list && !isPlainPrototype(Object.getPrototypeOf(value))) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name
      issues.push({
        path: pathOf(),
        message: `an instance of ${typeof name === 'string' ? name : 'a class'} is not JSON-safe`,
      })
      return undefined
    }
    // JSON writes what a `toJSON` returns, not the value: two values that differ would share a digest. One a walk of
    // the keys does not see (not enumerable, or on a list) is refused as an enumerable one is.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      issues.push({ path: [...pathOf(), 'toJSON'], message: 'a function is not JSON-safe' })
      return undefined
    }
    const frame: JsonFrame = { value, parent, key, keys: list ? undefined : Object.keys(value), next: 0 }
    ancestors.add(value)
    return frame
  } catch (cause) {
    // A getter or a Proxy trap that throws: JSON could not read it either.
    issues.push({ path: pathOf(), message: unreadable(cause) })
    return undefined
  }
}

/** The path of `key` under `frame`, after the walk's own starting `path`. */
function framePath(path: PropertyKey[], frame: JsonFrame | undefined, key?: PropertyKey): PropertyKey[] {
  const keys: PropertyKey[] = key === undefined ? [] : [key]
  for (let at = frame; at?.key !== undefined; at = at.parent) keys.push(at.key)
  return [...path, ...keys.reverse()]
}

/** Adds an issue when `value`'s JSON is larger than `maxBytes` (or cannot be written): whether it added one. */
function jsonSizeIssue(value: unknown, maxBytes: number, issues: ValidationIssue[]): boolean {
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(value) ?? '').length
    if (bytes <= maxBytes) return false
    issues.push({ path: [], message: `its JSON is ${bytes} bytes, more than the ${maxBytes} allowed` })
  } catch (cause) {
    // Nested deeper than the runtime's own JSON recurses (Node 22's, past about 4,000 levels), or a getter that answers
    // another value when JSON reads it again (a BigInt, or a throw).
    issues.push({
      path: [],
      message: isStackOverflow(cause) ? 'it nests deeper than JSON is written on this runtime' : unreadable(cause),
    })
  }
  return true
}

/** Whether `cause` is the runtime running out of stack (a walk that recursed too deep), not a value that threw. */
export function isStackOverflow(cause: unknown): boolean {
  return cause instanceof RangeError && /call stack/i.test(cause.message)
}

function unreadable(cause: unknown): string {
  return `a value that could not be read (${describeThrown(cause)}) is not JSON-safe`
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && isPlainPrototype(Object.getPrototypeOf(value))
}

/** The prototype of a plain object: `Object.prototype` of this realm or of another one (a `node:vm` context), or none. */
function isPlainPrototype(prototype: object | null): boolean {
  if (prototype === Object.prototype || prototype === null) return true
  const constructor = (prototype as { constructor?: unknown }).constructor
  return (
    Object.getPrototypeOf(prototype) === null &&
    typeof constructor === 'function' &&
    constructor.name === 'Object' &&
    constructor.prototype === prototype
  )
}
