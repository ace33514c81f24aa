import { brandError, safeStringify, TinyLLMError } from '@tinyllm/core'

/** Where in which journal something went wrong. */
export interface SqliteJournalErrorOptions {
  readonly message: string
  /** The journal's database file. */
  readonly path: string
  readonly table: string
  /** The step's idempotency key, when the failure concerns one step. */
  readonly key?: string | undefined
  readonly cause?: unknown
  readonly retryable?: boolean | undefined
}

/**
 * Reading or writing a SqliteJournal failed: the database refused (locked past the busy timeout, disk full, read-only,
 * not a database), its file was deleted or moved while open, or the journal was closed. `retryable` is true when another
 * process held the lock.
 */
export class SqliteJournalError extends TinyLLMError {
  override readonly name: string = 'SqliteJournalError'
  declare static isInstance: (error: unknown) => error is SqliteJournalError
  readonly path: string
  readonly table: string
  readonly key: string | undefined

  constructor(options: SqliteJournalErrorOptions) {
    super({ message: `SqliteJournal: ${options.message}`, cause: options.cause, retryable: options.retryable })
    this.path = options.path
    this.table = options.table
    this.key = options.key
  }
}
brandError(SqliteJournalError, 'SqliteJournalError')

/**
 * A row of the journal is not a journal entry (not JSON, or JSON of another shape): something other than tinyllm
 * wrote it, or the file was damaged. Replaying it could hand anything to the step, so the run fails instead; delete the
 * row to run the step again, or run under a new run id.
 */
export class CorruptJournalEntryError extends SqliteJournalError {
  override readonly name = 'CorruptJournalEntryError'
  declare static isInstance: (error: unknown) => error is CorruptJournalEntryError
  /** What is wrong with the row. */
  readonly problem: string

  constructor(options: { path: string; table: string; key: string; problem: string }) {
    super({
      message: `the entry at ${safeStringify(options.key)} in ${quotedPath(options.path)} (table ${options.table}) is corrupt: ${options.problem}`,
      path: options.path,
      table: options.table,
      key: options.key,
    })
    this.problem = options.problem
  }
}
brandError(CorruptJournalEntryError, 'CorruptJournalEntryError')

/**
 * @internal A journal's file as its errors quote it: as a step key is quoted, cut at 1,000 characters (the whole path
 * stays in the error's `path`), so a path of megabytes makes no message of as many.
 */
export function quotedPath(path: string): string {
  return safeStringify(path, 1_000)
}
