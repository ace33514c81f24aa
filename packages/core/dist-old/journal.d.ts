import type { UsageTotals } from './usage.js'
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
  /** Tokens and cost of the step and everything under it, counted again when it is replayed. */
  readonly usage?: UsageTotals | undefined
  /** Epoch ms the step finished. */
  readonly at: number
}
/**
 * Where finished durable steps are kept, by their idempotency key (`<root run id>/<step path>`). A run given a journal
 * reads each durable step's entry before running it — a step found there is replayed, not run — and writes the entry
 * of each one it finishes. Failures are never written. Reads and writes may be synchronous or return promises.
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
 * step produced, not an object its caller has changed since. It lives as long as the object does.
 *
 * @example
 * const journal = new MemoryJournal()
 * await pipeline.invoke(input, { runId: 'batch-7/42', journal }) // a second call with the same runId replays
 */
export declare class MemoryJournal implements StepJournal {
  private readonly entries
  read(key: string): JournalEntry | undefined
  write(key: string, entry: JournalEntry): JournalEntry
  /** How many steps are journaled. */
  get size(): number
}
/** The largest JSON a journal entry's output (or a value sent to another process) may take: 1 MiB. */
export declare const maxJsonBytes: number
/**
 * Throws a {@link ValidationError} naming the path of every part of `value` that JSON would not carry to another
 * process as it is — a BigInt, a function, a symbol, `NaN` or `Infinity`, `undefined` in a list, a cycle, a class
 * instance (a `Date`, a `Map`, an object of your own class) — or when its JSON is larger than {@link maxJsonBytes}.
 * Plain objects, arrays, strings, finite numbers, booleans and `null` pass.
 */
export declare function assertJsonSafe(
  value: unknown,
  where: {
    readonly functionName: string
    readonly state: string
  },
): void
/**
 * A digest of a value's JSON, to notice that a step's input changed: its SHA-256 (so that no two inputs, not even ones
 * made to collide, replay each other's output), or the JSON itself where the runtime has no `node:crypto`.
 */
export declare function hashJson(value: unknown): string
//# sourceMappingURL=journal.d.ts.map
