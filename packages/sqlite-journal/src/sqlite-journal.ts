import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import {
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  type JournalEntry,
  optionError,
  type StepJournal,
  safeStringify,
  unreadableOption,
} from '@tinyllm/core'
import { decodeJournalEntry, encodeJournalEntry } from './journal-entry-codec.js'
import { loadSqlite } from './load-sqlite.js'
import { CorruptJournalEntryError, quotedPath, SqliteJournalError } from './sqlite-journal-error.js'

/** Options of a {@link SqliteJournal}. */
export interface SqliteJournalOptions {
  /**
   * The database file, created when missing. `':memory:'` keeps the journal in this object's memory alone: each such
   * journal is its own, empty when made, and two share nothing. A path holding a lone surrogate is refused: the file
   * system would name the file with U+FFFD, another path's file; so is one holding a NUL character, which no file name
   * has; so is a `file:` URI, whose parameters SQLite would obey (`mode=memory` keeps nothing past the process,
   * `nolock=1` shares the file without locks).
   */
  readonly path: string
  /**
   * The table of entries, created when missing: letters, digits and `_`, at most 200 of them. Default
   * `tinyllm_journal`. As in SQL, case does not tell tables apart: `Runs` and `runs` are one table, whose entries both
   * journals share.
   */
  readonly table?: string
  /** How long a read or write waits for another process's write to end before it fails, in ms. Default 5000. */
  readonly busyTimeoutMs?: number
  /**
   * When a write is flushed to the disk (SQLite's `synchronous`). `'normal'` (default): a finished write survives the
   * process being killed at any point; a power cut may lose the last ones, whose steps then run again. `'full'`:
   * every write survives a power cut too, at the price of one flush to the disk per write.
   */
  readonly synchronous?: 'normal' | 'full'
}

const owner = 'SqliteJournal'
const knownOptions: ReadonlySet<string> = new Set(['path', 'table', 'busyTimeoutMs', 'synchronous'])
const tableNamePattern = /^(?!sqlite_)[A-Za-z_][A-Za-z0-9_]*$/i
/** A table's name is a name, as a Function's is: SQLite's own errors quote it whole (`no such table: …`). */
const maxTableNameLength = 200
/** SQLite keeps the busy timeout in a 32-bit int: a longer one reads back as 0, no wait at all. */
const maxBusyTimeoutMs = 2_147_483_647
/** SQLite's primary result codes for "another connection holds the lock". */
const sqliteBusy = 5
const sqliteLocked = 6
const loneSurrogate = /\p{Surrogate}/u

/** Whether SQLite failed because another connection holds the lock (`SQLITE_BUSY`, `SQLITE_LOCKED`, extended or not). */
function isLockedError(cause: unknown): boolean {
  const code = (cause as { errcode?: unknown } | null)?.errcode
  const primary = typeof code === 'number' ? code & 0xff : undefined
  return primary === sqliteBusy || primary === sqliteLocked
}

/** What `Atomics.wait` sleeps on between tries: nothing ever wakes it, so each wait lasts its timeout. */
const pause = new Int32Array(new SharedArrayBuffer(4))

/** Runs `step`, again after 20 ms while SQLite answers that the file is locked, at most 50 times. */
function whileLockedBriefly(step: () => void): void {
  for (let tries = 1; ; tries++) {
    try {
      step()
      return
    } catch (cause) {
      if (tries >= 50 || !isLockedError(cause)) throw cause
      Atomics.wait(pause, 0, 0, 20)
    }
  }
}

/** A file's identity (its device and inode), or `undefined` when it is not there (or cannot be asked). */
function identityOf(path: string): string | undefined {
  try {
    const stats = statSync(path, { bigint: true, throwIfNoEntry: false })
    // A file system without inode numbers (0) cannot tell one file from another.
    return stats === undefined || stats.ino === 0n ? undefined : `${stats.dev}:${stats.ino}`
  } catch {
    return undefined
  }
}

/**
 * The database file and its `-wal` beside it, each with the identity it had when the journal opened them (none for
 * `':memory:'`). SQLite goes on writing to files it holds open after they were deleted or moved: every write then
 * lands where no process will look, and is gone with this one.
 */
function openedFiles(path: string): ReadonlyArray<{ readonly path: string; readonly identity: string }> {
  if (path === ':memory:') return []
  // Absolute, as SQLite opened it: the process may change its working directory later.
  const database = resolve(path)
  return [database, `${database}-wal`].flatMap((file) => {
    const identity = identityOf(file)
    return identity === undefined ? [] : [{ path: file, identity }]
  })
}

/** Keys that a table keeping every key apart keeps apart, and that one made otherwise by another program may not. */
const probeKeys = ['7', '007', 'a', 'A', 'a ']

/**
 * Whether `table` keeps each key to itself, as the table this journal makes does: a table of that name made by
 * another program, with keys of a numeric type (`007` is `7`) or compared without case (NOCASE) or trailing spaces
 * (RTRIM), would answer one step's entry for another's key. The probe keys are written as a write writes them, in a
 * savepoint rolled back (rows that held them are back as they were), and each must have taken a row of its own. It is
 * a write, too: SQLite opens a file it may not write (read-only, or its -wal beside it on a read-only disk) for
 * reading without a word, and the journal's first write would fail only after its step ran and was paid for.
 */
function keepsKeysApart(database: DatabaseSync, table: string, insert: StatementSync): boolean {
  database.exec('SAVEPOINT tinyllm_probe')
  database.prepare(`DELETE FROM "${table}" WHERE key IN (${probeKeys.map(() => '?').join(', ')})`).run(...probeKeys)
  let rows = 0
  for (const key of probeKeys) rows += Number(insert.run(key, '{}').changes)
  database.exec('ROLLBACK TO tinyllm_probe; RELEASE tinyllm_probe')
  return rows === probeKeys.length
}

/** The options, each read once: one whose reading throws (a getter, a `Proxy`) is a ConfigurationError. */
function readOptions(given: SqliteJournalOptions): {
  [Key in keyof SqliteJournalOptions]-?: SqliteJournalOptions[Key] | undefined
} {
  try {
    const { path, table, busyTimeoutMs, synchronous } = given
    return { path, table, busyTimeoutMs, synchronous }
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
}

/**
 * A step journal in one SQLite file, on Node's built-in `node:sqlite`: finished durable steps (LLM calls, Functions
 * with `durable: true`) outlive the process, so a batch killed half-way resumes under the same run ids without paying
 * again for what finished. Its guarantee: for each key, the first write to be committed stands — in one process, and
 * across processes that share the file (each write is one insert-or-ignore transaction on the key) — and a write that
 * returned survives the process being killed. Reads and writes are synchronous; entries are stored as JSON. The file
 * is in WAL mode, so readers never wait for a writer. Keep it on a local disk: SQLite's locks do not hold over network
 * file systems.
 *
 * @example
 * const journal = new SqliteJournal('runs.db')
 * await pipeline.invoke(application, { runId: 'batch-7/42', journal }) // after a crash, the same call resumes
 * journal.close()
 */
export class SqliteJournal implements StepJournal {
  /** The database file. */
  readonly path: string
  /** The table of entries. */
  readonly table: string
  readonly #database: DatabaseSync
  readonly #select: StatementSync
  readonly #insert: StatementSync
  readonly #count: StatementSync
  /** The files the journal opened, which each write checks are still at their paths. */
  readonly #files: ReadonlyArray<{ readonly path: string; readonly identity: string }>
  #open = true

  constructor(options: string | SqliteJournalOptions) {
    const resolved = typeof options === 'string' ? { path: options } : options
    if (typeof resolved !== 'object' || resolved === null) {
      throw optionError('options', 'a path or an object of options', resolved, owner)
    }
    checkKnownOptions(resolved, knownOptions, owner)
    const given = readOptions(resolved)
    // The file system keeps names as UTF-8 too: paths that differ only in a lone surrogate would open one file. No
    // name holds a NUL, which ends a name in C.
    if (
      typeof given.path !== 'string' ||
      given.path === '' ||
      given.path.includes('\0') ||
      loneSurrogate.test(given.path)
    ) {
      throw optionError(
        'path',
        'the path of a database file, without a NUL character and without a lone surrogate',
        given.path,
        owner,
      )
    }
    // SQLite reads a name starting with `file:` as a URI and obeys its parameters: `mode=memory` would keep nothing past
    // the process, `nolock=1` would let processes write the file at once, and nothing would say so.
    if (given.path.startsWith('file:')) {
      throw optionError(
        'path',
        "the path of a database file, not a file: URI (SQLite would obey its parameters, such as mode=memory or nolock=1); give the file's path, or ':memory:'",
        given.path,
        owner,
      )
    }
    const table = given.table ?? 'tinyllm_journal'
    if (typeof table !== 'string' || table.length > maxTableNameLength || !tableNamePattern.test(table)) {
      throw optionError(
        'table',
        `a name of letters, digits and _ not starting with sqlite_, at most ${maxTableNameLength} characters long`,
        table,
        owner,
      )
    }
    const busyTimeoutMs =
      checkNumber(
        given.busyTimeoutMs,
        'busyTimeoutMs',
        { integer: true, min: 0, max: maxBusyTimeoutMs, unit: 'ms' },
        owner,
      ) ?? 5000
    const synchronous = checkOneOf(given.synchronous, 'synchronous', ['normal', 'full'], owner) ?? 'normal'
    const { DatabaseSync } = loadSqlite(owner)
    this.path = given.path
    this.table = table
    let database: DatabaseSync | undefined
    try {
      database = new DatabaseSync(given.path)
      // The busy timeout first: switching to WAL and creating the table wait for other processes opening the file.
      database.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
      // Switching to WAL needs the file to itself, and SQLite answers "locked" at once, without the busy timeout, when
      // another process opening the file holds it a moment: asked again, up to a second, until one process has switched.
      whileLockedBriefly(() => database?.exec('PRAGMA journal_mode = WAL'))
      database.exec(`PRAGMA synchronous = ${synchronous.toUpperCase()}`)
      database.exec(
        `BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY NOT NULL, entry TEXT NOT NULL) WITHOUT ROWID`,
      )
      this.#select = database.prepare(`SELECT entry FROM "${table}" WHERE key = ?`)
      this.#insert = database.prepare(`INSERT INTO "${table}" (key, entry) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`)
      this.#count = database.prepare(`SELECT count(*) AS size FROM "${table}"`)
      if (!keepsKeysApart(database, table, this.#insert)) {
        throw new SqliteJournalError({
          message: `opening the journal on ${quotedPath(given.path)} failed: table ${table} would keep two step keys under one entry (another program made it, with keys of another type or compared otherwise: 007 as 7, A as a, "a " as a); give the journal a table of its own`,
          path: given.path,
          table,
        })
      }
      database.exec('COMMIT')
    } catch (cause) {
      database?.close()
      throw SqliteJournalError.isInstance(cause) ? cause : this.#failure('opening the journal', undefined, cause)
    }
    this.#database = database
    this.#files = openedFiles(given.path)
  }

  /** The entry written for `key`, if any; a row that is not an entry is a {@link CorruptJournalEntryError}. */
  read(key: string): JournalEntry | undefined {
    this.#assertOpen(key)
    this.#checkKey(key)
    let row: Record<string, unknown> | undefined
    try {
      row = this.#select.get(key) as Record<string, unknown> | undefined
    } catch (cause) {
      throw this.#failure('reading', key, cause)
    }
    if (row === undefined) return undefined
    const entry = decodeJournalEntry(row.entry)
    if (typeof entry === 'string') {
      throw new CorruptJournalEntryError({ path: this.path, table: this.table, key, problem: entry })
    }
    return entry
  }

  /**
   * Writes `entry` unless `key` already has one (the first committed write wins); answers the entry that stands. An
   * entry that no journal would replay (see `keptJournalEntry`) is a ConfigurationError, and is not written.
   */
  write(key: string, entry: JournalEntry): JournalEntry {
    this.#assertOpen(key)
    this.#checkKey(key)
    const encoded = encodeJournalEntry(entry)
    if (typeof encoded === 'string') {
      throw new ConfigurationError({
        option: 'entry',
        message: `the entry for ${safeStringify(key)} is not a journal entry: ${encoded}`,
        functionName: owner,
      })
    }
    let inserted: boolean
    try {
      inserted = this.#insert.run(key, encoded.text).changes > 0
    } catch (cause) {
      throw this.#failure('writing', key, cause)
    }
    this.#assertFilesInPlace(key)
    // The copy that was checked and written, not `entry`, whose getters may answer otherwise now.
    if (inserted) return encoded.kept
    const standing = this.read(key)
    if (standing !== undefined) return standing
    throw new SqliteJournalError({
      message: `writing ${safeStringify(key)} to ${quotedPath(this.path)}: an entry was there, and is gone (rows deleted while runs were writing?)`,
      path: this.path,
      table: this.table,
      key,
    })
  }

  /** How many steps are journaled. */
  get size(): number {
    this.#assertOpen(undefined)
    try {
      return Number((this.#count.get() as { size: number | bigint }).size)
    } catch (cause) {
      throw this.#failure('counting the entries', undefined, cause)
    }
  }

  /** Closes the database file; reads and writes fail from then on. Calling it again does nothing. */
  close(): void {
    if (!this.#open) return
    this.#open = false
    this.#database.close()
  }

  #assertOpen(key: string | undefined): void {
    if (this.#open) return
    throw new SqliteJournalError({
      message: `the journal on ${quotedPath(this.path)} is closed`,
      path: this.path,
      table: this.table,
      key,
    })
  }

  /**
   * Fails a write when the database file, or the `-wal` beside it, is no longer the one the journal opened (deleted,
   * moved or replaced while open): SQLite wrote to the file it holds, which no process will find, so the entry would
   * not survive this one, and a re-run would run and pay for its step again.
   */
  #assertFilesInPlace(key: string): void {
    for (const file of this.#files) {
      if (identityOf(file.path) === file.identity) continue
      throw new SqliteJournalError({
        message: `writing ${safeStringify(key)} to ${quotedPath(this.path)} failed: ${quotedPath(file.path)} is no longer the file the journal opened (deleted, moved or replaced while open), so the entry would be gone with this process; reopen the journal`,
        path: this.path,
        table: this.table,
        key,
      })
    }
  }

  /**
   * Refuses a key holding a lone surrogate (half of a UTF-16 pair), before its step runs: SQLite stores text as UTF-8,
   * in which every lone surrogate becomes U+FFFD, so the key would be another step's, and its entry replayed.
   */
  #checkKey(key: string): void {
    if (typeof key !== 'string') throw optionError('key', 'a string', key, owner)
    if (!loneSurrogate.test(key)) return
    throw new ConfigurationError({
      option: 'key',
      message: `the step key ${safeStringify(key)} holds a lone surrogate, which ${quotedPath(this.path)} would store as U+FFFD, the key of other steps; give run ids and step keys whole characters`,
      functionName: owner,
    })
  }

  #failure(action: string, key: string | undefined, cause: unknown): SqliteJournalError {
    const detail = cause instanceof Error ? cause.message : String(cause)
    return new SqliteJournalError({
      message: `${action}${key === undefined ? '' : ` ${safeStringify(key)}`} on ${quotedPath(this.path)} failed: ${detail}`,
      path: this.path,
      table: this.table,
      key,
      cause,
      retryable: isLockedError(cause),
    })
  }
}
