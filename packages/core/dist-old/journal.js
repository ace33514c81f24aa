import { describeThrown, ValidationError } from './errors.js'
/**
 * A journal in memory: replays finished steps within the process (a retried batch, a resumed run) and is the model of
 * every other journal. It keeps each entry as JSON, as a journal in a database does: a replay hands out the output the
 * step produced, not an object its caller has changed since. It lives as long as the object does.
 *
 * @example
 * const journal = new MemoryJournal()
 * await pipeline.invoke(input, { runId: 'batch-7/42', journal }) // a second call with the same runId replays
 */
export class MemoryJournal {
  entries = new Map()
  read(key) {
    const kept = this.entries.get(key)
    return kept === undefined ? undefined : JSON.parse(kept)
  }
  write(key, entry) {
    let kept = this.entries.get(key)
    if (kept === undefined) {
      kept = JSON.stringify(entry)
      this.entries.set(key, kept)
    }
    return JSON.parse(kept)
  }
  /** How many steps are journaled. */
  get size() {
    return this.entries.size
  }
}
/** The largest JSON a journal entry's output (or a value sent to another process) may take: 1 MiB. */
export const maxJsonBytes = 1024 * 1024
/**
 * Throws a {@link ValidationError} naming the path of every part of `value` that JSON would not carry to another
 * process as it is — a BigInt, a function, a symbol, `NaN` or `Infinity`, `undefined` in a list, a cycle, a class
 * instance (a `Date`, a `Map`, an object of your own class) — or when its JSON is larger than {@link maxJsonBytes}.
 * Plain objects, arrays, strings, finite numbers, booleans and `null` pass.
 */
export function assertJsonSafe(value, where) {
  const issues = []
  collectJsonIssues(value, [], new Set(), issues)
  if (issues.length === 0) {
    const bytes = new TextEncoder().encode(JSON.stringify(value) ?? '').length
    if (bytes <= maxJsonBytes) return
    issues.push({ path: [], message: `its JSON is ${bytes} bytes, more than the ${maxJsonBytes} allowed` })
  }
  throw new ValidationError({ functionName: where.functionName, state: where.state, issues })
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
 * made to collide, replay each other's output), or the JSON itself where the runtime has no `node:crypto`.
 */
export function hashJson(value) {
  const text = JSON.stringify(value) ?? 'undefined'
  return createHash === undefined ? text : `sha256:${createHash('sha256').update(text).digest('base64url')}`
}
/** The most issues {@link assertJsonSafe} lists: past them, looking further only costs time. */
const maxJsonIssues = 20
function collectJsonIssues(value, path, ancestors, issues) {
  if (issues.length >= maxJsonIssues) return
  const problem = primitiveProblem(value)
  if (problem !== undefined) {
    issues.push({ path: [...path], message: `${problem} is not JSON-safe` })
    return
  }
  if (typeof value !== 'object' || value === null) return
  if (ancestors.has(value)) {
    issues.push({ path: [...path], message: 'a cycle is not JSON-safe' })
    return
  }
  try {
    collectObjectIssues(value, path, ancestors, issues)
  } catch (cause) {
    // A getter or a Proxy trap that throws: JSON could not read it either.
    issues.push({ path: [...path], message: unreadable(cause) })
  } finally {
    ancestors.delete(value)
  }
}
function collectObjectIssues(value, path, ancestors, issues) {
  const prototype = Object.getPrototypeOf(value)
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
    const name = value.constructor?.name
    issues.push({
      path: [...path],
      message: `an instance of ${typeof name === 'string' ? name : 'a class'} is not JSON-safe`,
    })
    return
  }
  ancestors.add(value)
  if (Array.isArray(value)) {
    // Stops at the last issue listed: a sparse list as long as 2³²−1 is 20 issues, not one per hole.
    for (let index = 0; index < value.length && issues.length < maxJsonIssues; index++) {
      if (value[index] === undefined)
        issues.push({ path: [...path, index], message: 'undefined in a list is not JSON-safe' })
      else collectJsonIssues(value[index], [...path, index], ancestors, issues)
    }
  } else {
    for (const key of Object.keys(value)) {
      let item
      try {
        item = value[key]
      } catch (cause) {
        issues.push({ path: [...path, key], message: unreadable(cause) })
        continue
      }
      if (item !== undefined) collectJsonIssues(item, [...path, key], ancestors, issues)
    }
  }
}
const unsafeTypes = { bigint: 'a BigInt', function: 'a function', symbol: 'a symbol' }
function primitiveProblem(value) {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : String(value)
  return unsafeTypes[typeof value]
}
function unreadable(cause) {
  return `a value that could not be read (${describeThrown(cause)}) is not JSON-safe`
}
//# sourceMappingURL=journal.js.map
