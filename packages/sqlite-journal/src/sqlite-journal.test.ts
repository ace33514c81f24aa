import { execFile, spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { DatabaseSync } from 'node:sqlite'
import { promisify } from 'node:util'
import {
  ConfigurationError,
  defineFunction,
  type JournalEntry,
  keptJournalEntry,
  type RunContext,
  TinyLLMError,
} from '@tinyllm/core'
import { afterAll, describe, expect, it } from 'vitest'
import { CorruptJournalEntryError, SqliteJournal, SqliteJournalError } from './index.js'

const folder = mkdtempSync(join(tmpdir(), 'tinyllm-sqlite-journal-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
let files = 0
const freshFile = (): string => join(folder, `journal-${++files}.db`)
const fixture = (name: string): string => join(import.meta.dirname, '__fixtures__', name)
/**
 * Root may write any file, so a journal file nobody may write is opened as another user (nobody, 65534) there: possible
 * only where that user can run this Node and read the fixtures (a checkout under a folder only root may enter is not).
 */
const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
const otherCanOpen =
  process.platform !== 'win32' &&
  spawnSync(process.execPath, ['-e', 'require("node:fs").accessSync(process.argv[1])', fixture('open-journal.ts')], {
    ...asOther,
    stdio: 'ignore',
  }).status === 0

const entry = (output: unknown, at = 1): JournalEntry => ({
  function: 'classify',
  kind: 'llm-call',
  input: 'sha256:x',
  output,
  at,
})
const usage = { calls: 1, inputTokens: 20, outputTokens: 1, totalTokens: 21, costUsd: 0.0000036, unpricedCalls: 0 }

describe('SqliteJournal', () => {
  it('keeps entries as JSON and reads them back as they were written, annotations included', () => {
    const journal = new SqliteJournal(freshFile())
    const written: JournalEntry = {
      ...entry({ label: 'bad', scores: [0.1, 0.9], note: null }),
      usage,
      annotations: { model: 'm-1', usageEstimated: true, finishReasons: ['stop'] },
    }
    expect(journal.write('batch/1/classify', written)).toEqual(written)
    expect(journal.read('batch/1/classify')).toEqual(written)
    expect(journal.read('batch/2/classify')).toBeUndefined()
    // A step whose output is undefined (a side effect returning nothing) replays as undefined.
    journal.write('batch/1/notify', {
      function: 'notify',
      kind: 'function',
      input: 'sha256:y',
      output: undefined,
      at: 2,
    })
    expect(journal.read('batch/1/notify')).toEqual({ function: 'notify', kind: 'function', input: 'sha256:y', at: 2 })
    expect(journal.read('batch/1/notify')?.output).toBeUndefined()
    expect(journal.size).toBe(2)
    journal.close()
  })

  it("keeps a ':memory:' journal in that object alone: another made alike starts empty and shares nothing", () => {
    const first = new SqliteJournal(':memory:')
    const second = new SqliteJournal({ path: ':memory:' })
    first.write('batch/1/classify', entry('good'))
    expect(first.read('batch/1/classify')).toEqual(entry('good'))
    expect(second.read('batch/1/classify')).toBeUndefined()
    expect(second.size).toBe(0)
    expect(second.write('batch/1/classify', entry('bad'))).toEqual(entry('bad'))
    expect(first.read('batch/1/classify')).toEqual(entry('good'))
    first.close()
    second.close()
  })

  it('lets the first writer win, between two journals on one file', () => {
    const path = freshFile()
    const first = new SqliteJournal(path)
    const second = new SqliteJournal(path)
    const winner = entry('good', 1)
    expect(first.write('run/step', winner)).toEqual(winner)
    expect(second.write('run/step', entry('bad', 2))).toEqual(winner)
    expect(first.write('run/step', entry('worse', 3))).toEqual(winner)
    expect(second.read('run/step')).toEqual(winner)
    expect(first.size).toBe(1)
    first.close()
    second.close()
  })

  it('survives being closed and reopened', () => {
    const path = freshFile()
    const before = new SqliteJournal({ path, table: 'credit_runs' })
    before.write('run/a', { ...entry('good'), usage })
    before.close()
    const after = new SqliteJournal({ path, table: 'credit_runs' })
    expect(after.read('run/a')).toEqual({ ...entry('good'), usage })
    // Another table in the same file is another journal.
    const other = new SqliteJournal(path)
    expect(other.read('run/a')).toBeUndefined()
    after.close()
    other.close()
  })

  it('refuses a corrupt row with a typed error naming the key and what is wrong', () => {
    const path = freshFile()
    const journal = new SqliteJournal(path)
    const database = new DatabaseSync(path)
    const insert = database.prepare('INSERT INTO tinyllm_journal (key, entry) VALUES (?, ?)')
    insert.run('r/not-json', '{"function":"classify",')
    insert.run('r/not-an-object', '[1,2]')
    insert.run('r/no-function', '{"kind":"llm-call","output":"x","at":1}')
    insert.run('r/bad-usage', JSON.stringify({ ...entry('x'), usage: { ...usage, costUsd: 'free' } }))
    insert.run('r/bad-annotations', JSON.stringify({ ...entry('x'), annotations: ['replayed'] }))
    insert.run('r/blob', new TextEncoder().encode(JSON.stringify(entry('x'))))
    database.close()
    const problems: Record<string, string> = {}
    for (const key of [
      'r/not-json',
      'r/not-an-object',
      'r/no-function',
      'r/bad-usage',
      'r/bad-annotations',
      'r/blob',
    ]) {
      const error = catching(() => journal.read(key))
      expect(CorruptJournalEntryError.isInstance(error)).toBe(true)
      expect(SqliteJournalError.isInstance(error)).toBe(true)
      expect((error as CorruptJournalEntryError).key).toBe(key)
      expect((error as CorruptJournalEntryError).retryable).toBe(false)
      problems[key] = (error as CorruptJournalEntryError).problem
    }
    expect(problems['r/not-json']).toMatch(/^it is not JSON/)
    expect(problems).toMatchObject({
      'r/not-an-object': 'it is not a plain object',
      'r/no-function': 'function is not a string',
      'r/bad-usage': 'usage.costUsd is not a finite number',
      'r/bad-annotations': 'annotations is not a plain object',
      // Written by another program as bytes: said so, not "a object".
      'r/blob': 'it holds a BLOB, not JSON text',
    })
    // A write that loses to a corrupt row does not hand the corrupt row to the step either.
    expect(CorruptJournalEntryError.isInstance(catching(() => journal.write('r/no-function', entry('y'))))).toBe(true)
    journal.close()
  })

  it('quotes no part of a corrupt row in its error, where a cut could leave part of a secret', () => {
    const secret = 'sk-proj-Q7xv93Lm2ZpKa8Rt51Wd'
    const path = freshFile()
    const journal = new SqliteJournal(path)
    const database = new DatabaseSync(path)
    const insert = database.prepare('INSERT INTO tinyllm_journal (key, entry) VALUES (?, ?)')
    insert.run('r/secret', `${secret} was written here by something else`)
    insert.run('r/cut-short', '{"function":"classify",')
    database.close()
    try {
      const error = catching(() => journal.read('r/secret')) as CorruptJournalEntryError
      expect(error.problem).toBe('it is not JSON')
      for (const text of [error.message, String(error.stack), JSON.stringify(error)])
        expect(text).not.toContain('sk-proj')
      // What the parser says without quoting the row stays.
      expect((catching(() => journal.read('r/cut-short')) as CorruptJournalEntryError).problem).toMatch(
        /^it is not JSON \(.+\)$/,
      )
    } finally {
      journal.close()
    }
  })

  it('quotes a long step key in its errors cut short, the whole key kept in the key field', () => {
    const path = freshFile()
    const journal = new SqliteJournal(path)
    const long = `run-${'r'.repeat(1_000_000)}`
    const database = new DatabaseSync(path)
    database.prepare('INSERT INTO tinyllm_journal (key, entry) VALUES (?, ?)').run(long, '[]')
    const corrupt = catching(() => journal.read(long)) as CorruptJournalEntryError
    const surrogate = catching(() => journal.read(`${long}\uD800`)) as ConfigurationError
    database.exec('DROP TABLE tinyllm_journal')
    database.close()
    const failed = catching(() => journal.write(long, entry('x'))) as SqliteJournalError
    expect(CorruptJournalEntryError.isInstance(corrupt)).toBe(true)
    expect(ConfigurationError.isInstance(surrogate)).toBe(true)
    expect(SqliteJournalError.isInstance(failed)).toBe(true)
    for (const error of [corrupt, surrogate, failed]) {
      expect(error.message).toMatch(/"run-rrr/)
      expect(error.message.length).toBeLessThan(1_000)
      expect(JSON.stringify(error).length).toBeLessThan(2_000)
    }
    expect(corrupt.key).toBe(long)
    expect(failed.key).toBe(long)
    journal.close()
  })

  it('quotes a long path in its errors cut short, the whole path kept in the path field, and refuses a table name longer than 200 characters', () => {
    const path = join(tmpdir(), 'p'.repeat(1_000_000))
    const failed = catching(() => new SqliteJournal(path)) as SqliteJournalError
    const corrupt = new CorruptJournalEntryError({ path, table: 't', key: 'k', problem: 'it is not JSON' })
    for (const error of [failed, corrupt]) {
      expect(SqliteJournalError.isInstance(error)).toBe(true)
      expect(error.message).toMatch(/ppp/)
      expect(error.message.length).toBeLessThan(1_500)
      expect(error.path).toBe(path)
    }
    const long = catching(() => new SqliteJournal({ path: ':memory:', table: 't'.repeat(201) }))
    expect(ConfigurationError.isInstance(long)).toBe(true)
    expect((long as Error).message).toMatch(
      /^SqliteJournal: table must be a name of .*, at most 200 characters long, got "ttt/,
    )
    const longest = new SqliteJournal({ path: ':memory:', table: 't'.repeat(200) })
    expect(longest.size).toBe(0)
    longest.close()
  })

  it('fails a run whose durable step finds a corrupt row, instead of replaying it', async () => {
    const path = freshFile()
    const journal = new SqliteJournal(path)
    const database = new DatabaseSync(path)
    database.prepare('INSERT INTO tinyllm_journal (key, entry) VALUES (?, ?)').run('job-1/step', 'garbage')
    database.close()
    let ran = 0
    const step = defineFunction({ name: 'step', durable: true, run: () => ++ran })
    const pipeline = defineFunction({
      name: 'pipeline',
      run: (input: string, context: RunContext) => context.invoke(step, input, { key: 'step' }),
    })
    const error = await pipeline.invoke('x', { runId: 'job-1', journal }).catch((thrown: unknown) => thrown)
    expect(CorruptJournalEntryError.isInstance(error)).toBe(true)
    expect(ran).toBe(0)
    journal.close()
  })

  it('replays a durable step from the file after the journal is reopened', async () => {
    const path = freshFile()
    let ran = 0
    const step = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number, context: RunContext) => {
        ran += 1
        context.annotate('usageEstimated', true)
        return { charged: amount, key: context.idempotencyKey }
      },
    })
    const first = new SqliteJournal(path)
    const output = await step.invoke(12, { runId: 'order-9', journal: first })
    first.close()
    const second = new SqliteJournal(path)
    const record = await step.trace(12, { runId: 'order-9', journal: second })
    expect(ran).toBe(1)
    expect(record.output).toEqual(output)
    expect(record.output).toEqual({ charged: 12, key: 'order-9' })
    expect(record.annotations).toEqual({ usageEstimated: true, replayed: true })
    // The same step handed another amount under the same run id is not replayed: the file kept the input's digest.
    const changed = await step.invoke(13, { runId: 'order-9', journal: second }).catch((error: unknown) => error)
    expect(TinyLLMError.isInstance(changed) && changed.name).toBe('NonDeterminismError')
    expect((changed as Error).message).toMatch(/charge \(function\) with another input ran there/)
    expect(ran).toBe(1)
    second.close()
  })

  it('refuses a step key with a lone surrogate before its step runs, instead of replaying another run', async () => {
    // UTF-8 has no lone surrogates: both run ids would be stored as order-\uFFFD, one order replaying the other's charge.
    const journal = new SqliteJournal(freshFile())
    let charges = 0
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number) => {
        charges += 1
        return { charged: amount }
      },
    })
    for (const runId of ['order-\uD800', 'order-\uDC00']) {
      const error = await charge.invoke(40, { runId, journal }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      // Refused where the run id is read (core), before the journal sees it; the journal refuses such a key too (below).
      expect((error as Error).message).toMatch(/lone surrogate/)
    }
    expect(charges).toBe(0)
    expect(journal.size).toBe(0)
    expect(ConfigurationError.isInstance(catching(() => journal.write('run/\uD83D', entry('x'))))).toBe(true)
    // A whole pair is a character like any other.
    expect(journal.write('run/\uD83D\uDE00', entry('x'))).toEqual(entry('x'))
    expect(journal.read('run/\uD83D\uDE00')).toEqual(entry('x'))
    journal.close()
  })

  it('refuses a step key that is not a string with a ConfigurationError, instead of reading another key or none', () => {
    const journal = new SqliteJournal(freshFile())
    journal.write('123', entry('x'))
    for (const key of [123, undefined, null]) {
      const read = catching(() => journal.read(key as never))
      expect(ConfigurationError.isInstance(read), String(read)).toBe(true)
      expect((read as Error).message).toBe(`SqliteJournal: key must be a string, got ${String(key)}`)
      expect(ConfigurationError.isInstance(catching(() => journal.write(key as never, entry('y'))))).toBe(true)
    }
    expect(journal.read('123')).toEqual(entry('x'))
    journal.close()
  })

  it('refuses bad options with a ConfigurationError naming the option', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ path: '' }, 'path', /path must be the path of a database file/],
      // Stored as UTF-8, tenant-\uD800.db and tenant-\uD801.db would both be tenant-\uFFFD.db: one tenant's journal.
      [{ path: join(tmpdir(), 'tenant-\uD800.db') }, 'path', /without a lone surrogate, got ".*tenant-\\ud800\.db"$/],
      // The file system ends a name at a NUL: no file has one, and the message would carry the control character.
      [
        { path: join(tmpdir(), 'tenant\u0000.db') },
        'path',
        /without a NUL character and without a lone surrogate, got ".*tenant\\u0000\.db"$/,
      ],
      [{ path: freshFile(), table: 'runs; DROP TABLE x' }, 'table', /table must be a name of letters, digits and _/],
      [{ path: freshFile(), table: 'sqlite_master' }, 'table', /not starting with sqlite_/],
      [{ path: freshFile(), busyTimeoutMs: -1 }, 'busyTimeoutMs', /busyTimeoutMs must be an integer ≥ 0/],
      // SQLite keeps the timeout in a 32-bit int: a longer one would be no wait at all.
      [{ path: freshFile(), busyTimeoutMs: 2 ** 31 }, 'busyTimeoutMs', /≤ 2147483647, got 2147483648$/],
      [{ path: freshFile(), synchronous: 'off' }, 'synchronous', /one of 'normal', 'full'/],
      [{ path: freshFile(), tabel: 'x' }, 'tabel', /did you mean table\?/],
      // Options whose reading throws: a getter, a Proxy.
      [
        {
          get path(): string {
            throw new Error('not readable')
          },
        },
        'options',
        /options could not be read: Error: not readable/,
      ],
      [
        new Proxy(
          { path: freshFile(), table: 'runs' },
          {
            get(target, key) {
              if (key === 'table') throw new Error('not readable')
              return Reflect.get(target, key)
            },
          },
        ),
        'options',
        /options could not be read/,
      ],
    ]
    for (const [options, option, message] of cases) {
      const error = catching(() => new SqliteJournal(options as never))
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as ConfigurationError).option).toBe(option)
      expect((error as Error).message).toMatch(/^SqliteJournal: /)
      expect((error as Error).message).toMatch(message)
    }
  })

  it('refuses a String object as its options with a ConfigurationError, never naming its characters as options', () => {
    const error = catching(() => new SqliteJournal(new String(freshFile()) as unknown as string))
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as ConfigurationError).option).toBe('options')
    expect((error as Error).message).toMatch(/^SqliteJournal: options must be an object, got "/)
  })

  it('refuses a file: URI as its path, whose parameters would keep its entries in memory or share the file unlocked', () => {
    // SQLite reads a name starting with `file:` as a URI and obeys its parameters: `mode=memory` keeps nothing past the
    // process (a resumed run would pay for every step again), `nolock=1` lets two processes write the file at once.
    const uris = [`file:${freshFile()}?mode=memory`, `file:${freshFile()}?nolock=1`, 'file::memory:', 'file:runs.db']
    for (const path of uris) {
      const error = catching(() => new SqliteJournal(path))
      expect(ConfigurationError.isInstance(error), `${path}: ${String(error)}`).toBe(true)
      expect((error as ConfigurationError).option).toBe('path')
      expect((error as Error).message).toMatch(
        /^SqliteJournal: path must be the path of a database file, not a file: URI/,
      )
    }
    // A name that only looks alike is a file's: SQLite reads a URI in `file:` alone, in lower case.
    const folderLike = join(folder, 'FILE:journal.db')
    const journal = new SqliteJournal(folderLike)
    journal.write('k', entry('kept'))
    journal.close()
    const reopened = new SqliteJournal(folderLike)
    expect(reopened.read('k')?.output).toBe('kept')
    reopened.close()
  })

  it('fails with a SqliteJournalError when the file is not a database, or the journal is closed', () => {
    const path = freshFile()
    writeFileSync(path, 'this is not a database, and it is long enough for SQLite to read a header from it')
    const notADatabase = catching(() => new SqliteJournal(path))
    expect(SqliteJournalError.isInstance(notADatabase)).toBe(true)
    expect((notADatabase as Error).message).toMatch(/opening the journal on .* failed: file is not a database/)
    const journal = new SqliteJournal(freshFile())
    journal.close()
    journal.close()
    const closed = catching(() => journal.read('k'))
    expect(SqliteJournalError.isInstance(closed)).toBe(true)
    expect((closed as Error).message).toMatch(/is closed/)
  })

  it('refuses a write once its file or the -wal beside it was deleted or moved while open: the entry would vanish with the process', async () => {
    for (const gone of ['-wal', '', 'moved'] as const) {
      const path = freshFile()
      const journal = new SqliteJournal(path)
      journal.write('before', entry('kept'))
      if (gone === 'moved') renameSync(path, `${path}.old`)
      else rmSync(`${path}${gone}`)
      const refused = catching(() => journal.write('after', entry('lost')))
      expect(SqliteJournalError.isInstance(refused)).toBe(true)
      expect(refused).toMatchObject({ path, key: 'after', retryable: false })
      expect((refused as Error).message).toMatch(/is no longer the file the journal opened/)
      // A durable step fails on the write, unretried, instead of running on with an entry no re-run would find.
      let charges = 0
      const charge = defineFunction({
        name: 'charge',
        durable: true,
        run: () => {
          charges += 1
          return 'charged'
        },
      })
      const failed = await charge.invoke(undefined, { runId: `gone${gone}`, journal }).catch((error: unknown) => error)
      expect(TinyLLMError.isInstance(failed) && failed.retryable).toBe(false)
      expect(charges).toBe(1)
      journal.close()
    }
  })

  it('refuses a table of its name, made by another program, in which two step keys would share one entry', () => {
    // Each would read a step's key as another's: `007` as `7`, `Batch-7` as `batch-7`, `batch-7 ` as `batch-7`.
    const sharing = [
      'key NUMERIC PRIMARY KEY, entry TEXT',
      'key TEXT PRIMARY KEY COLLATE NOCASE, entry TEXT',
      'key TEXT COLLATE RTRIM PRIMARY KEY, entry TEXT',
    ]
    for (const columns of sharing) {
      const path = freshFile()
      const database = new DatabaseSync(path)
      database.exec(`CREATE TABLE tinyllm_journal (${columns})`)
      database.close()
      const error = catching(() => new SqliteJournal(path))
      expect([columns, SqliteJournalError.isInstance(error)]).toEqual([columns, true])
      expect((error as Error).message).toMatch(
        /^SqliteJournal: opening the journal on .* failed: table tinyllm_journal would keep two step keys under one entry/,
      )
    }
    // Made otherwise, but keeping every key apart (no declared type): it is used, and its rows are left as they were.
    const path = freshFile()
    const database = new DatabaseSync(path)
    database.exec('CREATE TABLE tinyllm_journal (key PRIMARY KEY, entry)')
    database.close()
    const first = new SqliteJournal(path)
    first.write('7', entry('seven'))
    first.write('007', entry('double-o seven'))
    first.close()
    const reopened = new SqliteJournal(path)
    expect([reopened.read('7')?.output, reopened.read('007')?.output, reopened.size]).toEqual([
      'seven',
      'double-o seven',
      2,
    ])
    reopened.close()
  })

  it('fails with a SqliteJournalError when the database refuses a read, a write or the count of its entries', () => {
    const path = freshFile()
    const journal = new SqliteJournal(path)
    const other = new DatabaseSync(path)
    other.exec('DROP TABLE tinyllm_journal')
    other.close()
    const failures = [
      catching(() => journal.read('k')),
      catching(() => journal.write('k', entry('good'))),
      catching(() => journal.size),
    ]
    for (const failure of failures) {
      expect(SqliteJournalError.isInstance(failure)).toBe(true)
      expect(failure).toMatchObject({ path, table: 'tinyllm_journal', retryable: false })
      expect((failure as Error).message).toMatch(/no such table: tinyllm_journal/)
      expect((failure as Error).cause).toBeInstanceOf(Error)
    }
    expect((failures[2] as Error).message).toMatch(/^SqliteJournal: counting the entries on .* failed: /)
    journal.close()
  })

  it('fails a step whose write finds the file locked unretried: a retrying run above it does not run the step again', async () => {
    const path = freshFile()
    const journal = new SqliteJournal({ path, busyTimeoutMs: 0 })
    const other = new DatabaseSync(path)
    let charges = 0
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number) => {
        charges += 1
        // Another connection takes the write lock as the step finishes: its entry cannot be written.
        if (charges === 1) other.exec('BEGIN IMMEDIATE')
        return { charged: amount }
      },
    })
    const checkout = defineFunction({
      name: 'checkout',
      retry: { attempts: 3, initialDelayMs: 0 },
      run: async (amount: number, context: RunContext) => {
        try {
          return await context.invoke(charge, amount)
        } finally {
          if (other.isTransaction) other.exec('ROLLBACK')
        }
      },
    })
    const error = await checkout.invoke(40, { runId: 'order-1', journal }).catch((thrown: unknown) => thrown)
    other.close()
    journal.close()
    expect(charges).toBe(1)
    expect(error).toMatchObject({ name: 'FunctionError', state: 'journal (order-1/charge#1)', retryable: false })
    const cause = (error as Error).cause as SqliteJournalError
    expect(SqliteJournalError.isInstance(cause)).toBe(true)
    expect(cause.retryable).toBe(true)
  })

  it('keeps what it checked: a getter answering another value on a later read is never written unchecked', () => {
    for (let turn = 1; turn <= 8; turn++) {
      let reads = 0
      const output = {
        get text() {
          reads += 1
          // Small for the first reads, 2 MB (more than any journal keeps) from read `turn` on.
          return reads >= turn ? 'x'.repeat(2 * 1024 * 1024) : 'small'
        },
      }
      const journal = new SqliteJournal(freshFile())
      const hostile = { ...entry(output), usage: { ...usage, extra: 'x'.repeat(10) } } as JournalEntry
      let written: JournalEntry | undefined
      try {
        written = journal.write('k', hostile)
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        journal.close()
        continue
      }
      // What it wrote and answers is an entry every journal replays: reading it back is not a corrupt row.
      expect([turn, typeof keptJournalEntry(written)]).toEqual([turn, 'object'])
      expect([turn, typeof keptJournalEntry(journal.read('k'))]).toEqual([turn, 'object'])
      // The fields the check measured, and only those: a usage field of another name is not written out.
      expect(journal.read('k')?.usage).toEqual(usage)
      journal.close()
    }
  })

  it('writes only the fields of an entry whose toJSON answers more, and answers what a read gives back', () => {
    const path = freshFile()
    const journal = new SqliteJournal(path)
    const fields = { ...entry('good'), usage }
    // JSON writes what toJSON answers: fields of other names, and megabytes of them, that no check measured.
    const padded = {
      ...fields,
      toJSON: () => ({ ...fields, usage: { ...usage, extra: 'x' }, padding: 'x'.repeat(4 * 1024 * 1024) }),
    }
    const written = journal.write('k', padded as JournalEntry)
    expect(written).toEqual(fields)
    expect(journal.read('k')).toEqual(written)
    const database = new DatabaseSync(path)
    const row = database.prepare('SELECT length(entry) AS length FROM tinyllm_journal WHERE key = ?').get('k')
    database.close()
    expect(row?.length).toBe(JSON.stringify(fields).length)
    journal.close()
  })

  it('refuses options that are a revoked Proxy with a ConfigurationError, not a TypeError', () => {
    const { proxy, revoke } = Proxy.revocable({ path: freshFile() }, {})
    revoke()
    const error = catching(() => new SqliteJournal(proxy))
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ option: 'options' })
    expect((error as Error).message).toMatch(/^SqliteJournal: options could not be read: TypeError: /)
  })

  it('rehydrates its errors as the same classes from JSON', () => {
    const error = new CorruptJournalEntryError({ path: 'runs.db', table: 't', key: 'k', problem: 'at is not a number' })
    const copy = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(error)))
    expect(CorruptJournalEntryError.isInstance(copy)).toBe(true)
    expect(copy).toMatchObject({ key: 'k', path: 'runs.db', table: 't', problem: 'at is not a number' })
  })
})

describe('SqliteJournal across processes', () => {
  it('lets exactly one writer win each key when several processes write the same keys at once', async () => {
    const path = freshFile()
    const writers = 4
    const keyCount = 300
    const children = Array.from({ length: writers }, (_, writer) =>
      spawn(process.execPath, [fixture('concurrent-writer.ts'), path, String(writer), String(keyCount)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const outputs = children.map((child) => lines(child.stdout))
    // Every process has opened the journal before any of them writes.
    await Promise.all(outputs.map((next) => next()))
    for (const child of children) child.stdin.end('go\n')
    const standing = (await Promise.all(outputs.map((next) => next()))).map(
      (line) => JSON.parse(line) as Record<string, string>,
    )
    await Promise.all(children.map((child) => exited(child)))
    const journal = new SqliteJournal(path)
    expect(journal.size).toBe(keyCount)
    for (let index = 0; index < keyCount; index++) {
      const key = `batch/${index}/step`
      const stored = (journal.read(key)?.output as { writer: string } | undefined)?.writer
      // Every process was answered the entry that is in the file: the one that won.
      expect(standing.map((answers) => answers[key])).toEqual(Array(writers).fill(stored))
    }
    journal.close()
  }, 120_000)

  it.skipIf(!otherCanOpen)(
    'refuses a file it may not write when it opens, before a step runs and is paid for in vain',
    async () => {
      // A folder anyone may write, holding a journal file nobody may: SQLite opens such a file read-only, without a word.
      const shared = mkdtempSync(join(tmpdir(), 'tinyllm-read-only-journal-'))
      try {
        chmodSync(shared, 0o777)
        const path = join(shared, 'runs.db')
        const journal = new SqliteJournal(path)
        journal.write('k', entry('kept'))
        journal.close()
        chmodSync(path, 0o444)
        const stdout = await new Promise<string>((resolve, reject) => {
          execFile(process.execPath, [fixture('open-journal.ts'), path], asOther, (error, out) =>
            error === null ? resolve(out) : reject(error),
          )
        })
        const result = JSON.parse(stdout) as { opened: boolean; error?: unknown }
        expect(result.opened).toBe(false)
        const error = TinyLLMError.fromJSON(result.error)
        expect(SqliteJournalError.isInstance(error)).toBe(true)
        expect(error.message).toMatch(/^SqliteJournal: opening the journal on .* failed: .*readonly/)
      } finally {
        rmSync(shared, { recursive: true, force: true })
      }
    },
    60_000,
  )

  it('is a ConfigurationError naming the requirement where Node.js has no node:sqlite', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--no-experimental-sqlite',
      fixture('open-journal.ts'),
    ])
    const result = JSON.parse(stdout) as { opened: boolean; error: unknown }
    expect(result.opened).toBe(false)
    const error = TinyLLMError.fromJSON(result.error)
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as ConfigurationError).option).toBe('node:sqlite')
    expect(error.message).toMatch(/node:sqlite is not available in this runtime \(Node\.js v\d+/)
    expect(error.message).toMatch(/needs Node\.js 22\.13 or later \(23\.4 or later on 23\.x\)/)
    expect(error.message).toMatch(/--experimental-sqlite/)
  }, 60_000)
})

function catching(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

/** Reads a stream line by line: each call resolves with the next line. */
function lines(stream: NodeJS.ReadableStream): () => Promise<string> {
  const iterator = createInterface({ input: stream })[Symbol.asyncIterator]()
  return async () => {
    const next = await iterator.next()
    if (next.done === true) throw new Error('the process ended without a line')
    return next.value
  }
}

function exited(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once('exit', (code) => resolve(code))
  })
}
