import {
  abortErrorFor,
  ConfigurationError,
  checkNumber,
  type JournalEntry,
  keptJournalEntry,
  optionError,
  type StepJournal,
  safeStringify,
} from '@tinyllm/core'
import type { Redis } from 'ioredis'
import { callScript, closeGraceMs, closeRedis, openRedis, type RedisConnection } from './redis-connection.js'
import { checkOptionKeys, checkPrefix, journalKeySegment } from './run-job.js'

/** Options of {@link RedisJournal}. */
export interface RedisJournalOptions {
  /** Where Redis is. */
  readonly connection: RedisConnection
  /**
   * First part of every key; default `tinyllm`. Keys are `<prefix>:journal:<idempotency key>`, so a prefix with a
   * `:journal` part (`app:journal`, `app:journal:x`), whose keys would be a shorter prefix's, is refused.
   */
  readonly prefix?: string
  /** How long an entry is kept after it is written, in ms; default 7 days. A run re-run after that runs again. */
  readonly ttlMs?: number
}

/** Writes the entry unless the key has one; answers the entry that stands (nil when this one was written). */
const writeOnceScript = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`

const writeOnce = 'tinyllmJournalWriteOnce'

/** A journal's `close()` bounded by the time given: how a worker closes its own journal within `closeTimeoutMs`. */
export const closeWithin = Symbol('closeWithin')
const defaultTtlMs = 7 * 24 * 60 * 60 * 1000

/**
 * A step journal in Redis, shared by every process that reaches the server: each finished durable step is one key,
 * written once (the first writer wins, atomically on the server) and read back by whichever worker re-runs the run.
 * It is what `serve` gives every run by default; use it in-process too, to resume runs across machines.
 *
 * @example
 * const journal = new RedisJournal({ connection: 'redis://127.0.0.1:6379' })
 * await pipeline.invoke(input, { runId: 'batch-7/42', journal }) // a re-run with this runId replays finished steps
 * await journal.close()
 */
export class RedisJournal implements StepJournal {
  readonly prefix: string
  readonly ttlMs: number
  private readonly client: Redis
  private closed = false

  constructor(given: RedisJournalOptions) {
    const options = checkOptionKeys(given, ['connection', 'prefix', 'ttlMs'], 'RedisJournal')
    this.prefix = checkPrefix(options.prefix ?? 'tinyllm', 'RedisJournal')
    this.ttlMs =
      checkNumber(
        options.ttlMs,
        'ttlMs',
        { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER, unit: 'ms' },
        'RedisJournal',
      ) ?? defaultTtlMs
    this.client = openRedis(options.connection, 'RedisJournal')
    this.client.defineCommand(writeOnce, { numberOfKeys: 1, lua: writeOnceScript })
  }

  async read(key: string): Promise<JournalEntry | undefined> {
    this.checkOpen()
    const text = await this.client.get(this.keyOf(key)).catch(this.failed(key))
    return text === null ? undefined : parseEntry(text, key)
  }

  /**
   * Writes `entry` unless `key` already has one (the first writer wins); answers the entry that stands. An entry that no
   * journal would replay (see `keptJournalEntry`) is a ConfigurationError, and is not written.
   */
  async write(key: string, entry: JournalEntry): Promise<JournalEntry> {
    this.checkOpen()
    const encoded = encodeEntry(entry)
    if (typeof encoded === 'string') {
      throw new ConfigurationError({
        option: 'entry',
        message: `the entry for ${safeStringify(key)} is not a journal entry: ${encoded}`,
        functionName: 'RedisJournal',
      })
    }
    const written = callScript(this.client, writeOnce, [this.keyOf(key), encoded.text, this.ttlMs])
    const standing = (await written.catch(this.failed(key))) as string | null
    // The copy that was checked and written, not `entry`, whose getters may answer otherwise now.
    return standing === null ? encoded.kept : parseEntry(standing, key)
  }

  /**
   * Closes the journal's connection; reads and writes reject with an AbortError from then on, those waiting for Redis
   * (it is away) included. A Redis that has not answered within 2 s (frozen, or cut off without the connection
   * closing) has the connection cut.
   */
  close(): Promise<void> {
    return this[closeWithin](closeGraceMs)
  }

  /** `close()`, cutting the connection when Redis has not answered within `withinMs`. */
  [closeWithin](withinMs: number): Promise<void> {
    this.closed = true
    return closeRedis(this.client, withinMs)
  }

  /** A closed journal has no connection left: a read or write is refused as such, not with a Redis client's error. */
  private checkOpen(): void {
    if (this.closed) throw abortErrorFor('the journal is closed', { functionName: 'RedisJournal' })
  }

  /**
   * A command on `key` failed: the journal was closed meanwhile (which failed it), or Redis answered with an error (the
   * key holds another program's value, say), which asking again would only repeat — a ConfigurationError saying so.
   */
  private failed(key: string): (error: unknown) => never {
    return (error) => {
      this.checkOpen()
      throw new ConfigurationError({
        option: 'journal',
        message: `Redis answered the journal's command on ${safeStringify(key)} with an error: ${error instanceof Error ? error.message : safeStringify(error)}`,
        functionName: 'RedisJournal',
        cause: error,
      })
    }
  }

  /**
   * The Redis key of a step's idempotency key. One with a lone surrogate is refused, before its step runs: Redis keeps
   * strings as UTF-8, in which every lone surrogate becomes U+FFFD, so it would store it as the key of another step,
   * whose entry it would then replay.
   */
  private keyOf(key: string): string {
    if (typeof key !== 'string') throw optionError('key', 'a string', key, 'RedisJournal')
    if (!key.isWellFormed()) {
      throw new ConfigurationError({
        option: 'key',
        message: `the step key ${safeStringify(key)} holds a lone surrogate, which Redis would store as U+FFFD, the key of other steps; give run ids and step keys whole characters`,
        functionName: 'RedisJournal',
      })
    }
    return `${this.prefix}:${journalKeySegment}:${key}`
  }
}

/**
 * The text the journal stores for `entry` and the entry that text holds, or what is wrong with it (see
 * `keptJournalEntry`, the check every journal makes): what is stored is the checked copy, whose fields were read once,
 * and only an entry's fields.
 */
function encodeEntry(entry: JournalEntry): { readonly text: string; readonly kept: JournalEntry } | string {
  const kept = keptJournalEntry(entry)
  return typeof kept === 'string' ? kept : { text: JSON.stringify(kept), kept }
}

/**
 * The entry stored as `text`; text that is not one (see `keptJournalEntry`, the check every journal makes) is a
 * ConfigurationError saying what is wrong. Text that is not JSON is said to be so, not quoted: the parser's message
 * quotes its first characters, cut where a secret may be, too short for redaction.
 */
function parseEntry(text: string, key: string): JournalEntry {
  let kept: JournalEntry | string
  try {
    kept = keptJournalEntry(JSON.parse(text))
  } catch {
    kept = 'it is not JSON'
  }
  if (typeof kept !== 'string') return kept
  const problem = kept
  throw new ConfigurationError({
    option: 'journal',
    message: `the entry at ${safeStringify(key)} is not a journal entry: ${problem} (another program writes under this prefix?)`,
    functionName: 'RedisJournal',
  })
}
