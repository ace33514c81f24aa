import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { ConfigurationError, defineFunction, type JournalEntry, type StepJournal } from '@tinyllm/core'
import { SqliteJournal } from '@tinyllm/sqlite-journal'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisJournal } from './redis-journal.js'
import { type RedisServer, startRedisServer } from './testing/index.js'

/**
 * Entries as a journal keeps them (their JSON), and what every journal says of each: `undefined` for one it keeps and
 * replays, else what is wrong with it. Both journals read the same table, and write it.
 */
const entry = {
  function: 'step',
  kind: 'function',
  input: `sha256:${createHash('sha256').update('1').digest('base64url')}`,
  output: 'done',
  at: 1,
}
const usage = { calls: 1, inputTokens: 2, outputTokens: 3, totalTokens: 5, costUsd: 0.5, unpricedCalls: 0 }
const table: ReadonlyArray<readonly [string, unknown, string | undefined]> = [
  ['an entry', entry, undefined],
  ['an entry with usage and annotations', { ...entry, usage, annotations: { model: 'm', n: [1] } }, undefined],
  ['an entry without output (a step that returned nothing)', { ...entry, output: undefined }, undefined],
  ['an entry without input (kept, never replayed)', { ...entry, input: undefined }, undefined],
  ['an entry with a __proto__ annotation', { ...entry, annotations: JSON.parse('{"__proto__":{"a":1}}') }, undefined],
  ['a time that is a word', { ...entry, at: 'yesterday' }, 'at is not a finite number'],
  ['no time', { ...entry, at: undefined }, 'at is not a finite number'],
  ['a time that was NaN', { ...entry, at: null }, 'at is not a finite number'],
  ['annotations in a list', { ...entry, annotations: ['replayed'] }, 'annotations is not a plain object'],
  ['annotations that are null', { ...entry, annotations: null }, 'annotations is not a plain object'],
  ['usage that is null', { ...entry, usage: null }, 'usage is not a plain object'],
  ['usage with a count that is a word', { ...entry, usage: { ...usage, costUsd: 'free' } }, 'usage.costUsd'],
  ['usage missing a count', { ...entry, usage: { calls: 1 } }, 'usage.inputTokens is not a finite number'],
  ['an input that is a number', { ...entry, input: 5 }, 'input is not a string'],
  ['no function', { ...entry, function: undefined }, 'function is not a string'],
  ['a kind that is a list', { ...entry, kind: ['function'] }, 'kind is not a string'],
  ['a list', [entry], 'it is not a plain object'],
  ['a string', 'done', 'it is not a plain object'],
  ['null', null, 'it is not a plain object'],
]

/** Entries no JSON text holds, refused by every journal's write alike (`MemoryJournal` would keep what JSON makes of them). */
const cyclic: Record<string, unknown> = {}
cyclic.self = cyclic
const notJson: typeof table = [
  ['an output that is a BigInt', { ...entry, output: { n: 1n } }, 'output.n: a BigInt is not JSON-safe'],
  ['an output that is a Date', { ...entry, output: new Date(0) }, 'output: an instance of Date is not JSON-safe'],
  ['an output that is NaN', { ...entry, output: [Number.NaN] }, 'output.0: NaN is not JSON-safe'],
  ['a cyclic output', { ...entry, output: cyclic }, 'output.self: a cycle is not JSON-safe'],
  ['annotations holding a BigInt', { ...entry, annotations: { n: 1n } }, 'JSON cannot hold it'],
  [
    'annotations whose toJSON answers a list',
    { ...entry, annotations: { toJSON: () => ['x'] } },
    'annotations is not a plain object',
  ],
  ['an entry whose toJSON answers a word', { ...entry, toJSON: () => 'x' }, 'it is not a plain object'],
]

let redis: RedisServer
let raw: Redis
const folder = mkdtempSync(join(tmpdir(), 'tinyllm-journal-entries-'))
const journals: Array<{
  name: string
  journal: StepJournal & { close(): unknown }
  store: (key: string, text: string) => Promise<unknown> | unknown
}> = []

beforeAll(async () => {
  redis = await startRedisServer()
  raw = new Redis(redis.url)
  const path = join(folder, 'journal.db')
  const sqlite = new SqliteJournal(path)
  const database = new DatabaseSync(path)
  const insert = database.prepare('INSERT INTO tinyllm_journal (key, entry) VALUES (?, ?)')
  journals.push(
    {
      name: 'RedisJournal',
      journal: new RedisJournal({ connection: redis.url, prefix: 'entries' }),
      store: (key, text) => raw.set(`entries:journal:${key}`, text),
    },
    { name: 'SqliteJournal', journal: sqlite, store: (key, text) => insert.run(key, text) },
  )
  afterAll(() => database.close())
})

afterAll(async () => {
  for (const { journal } of journals) await journal.close()
  raw?.disconnect()
  await redis?.stop()
  rmSync(folder, { recursive: true, force: true })
})

const settle = (work: () => unknown): Promise<{ value?: unknown; error?: unknown }> =>
  Promise.resolve()
    .then(work)
    .then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )

describe('every journal keeps, refuses and replays the same entries', () => {
  it('reads back the same entries, and refuses the same ones saying what is wrong', async () => {
    const seen: Record<string, Array<string | undefined>> = {}
    for (const { name, journal, store } of journals) {
      for (const [index, [label, value, problem]] of table.entries()) {
        await store(`read/${index}`, JSON.stringify(value))
        const { value: read, error } = await settle(() => journal.read(`read/${index}`))
        if (problem === undefined) expect(read, `${name}: ${label}`).toEqual(JSON.parse(JSON.stringify(value)))
        else expect((error as Error | undefined)?.message, `${name}: ${label}`).toContain(problem)
        seen[label] = [...(seen[label] ?? []), error === undefined ? 'kept' : 'refused']
      }
    }
    // Each entry the same in both.
    for (const [label, answers] of Object.entries(seen)) expect(new Set(answers).size, label).toBe(1)
  })

  it('writes the same entries, and refuses to write the ones no journal would replay', async () => {
    for (const { name, journal } of journals) {
      for (const [index, [label, value, problem]] of [...table, ...notJson].entries()) {
        const { value: written, error } = await settle(() => journal.write(`write/${index}`, value as JournalEntry))
        if (problem === undefined) {
          expect(written, `${name}: ${label}`).toEqual(JSON.parse(JSON.stringify(value)))
          expect(await journal.read(`write/${index}`)).toEqual(JSON.parse(JSON.stringify(value)))
        } else {
          expect(ConfigurationError.isInstance(error), `${name}: ${label}: ${String(error)}`).toBe(true)
          expect((error as Error).message).toContain(problem)
          expect(await journal.read(`write/${index}`), `${name}: ${label}`).toBeUndefined()
        }
      }
    }
  })

  it('refuses a step key that is not a string, in reads and writes alike, with a ConfigurationError', async () => {
    await journals[0]?.journal.write('123', entry)
    await journals[1]?.journal.write('123', entry)
    for (const { name, journal } of journals) {
      for (const key of [123, undefined, null, { toString: () => '123' }]) {
        for (const work of [() => journal.read(key as never), () => journal.write(key as never, entry)]) {
          const { value, error } = await settle(work)
          expect(value, `${name}: ${String(key)}`).toBeUndefined()
          expect(ConfigurationError.isInstance(error), `${name}: ${String(error)}`).toBe(true)
          expect((error as Error).message).toContain('key must be a string, got')
        }
      }
    }
  })

  it('a run resumed from a refused entry fails saying so, and runs nothing', async () => {
    let runs = 0
    const step = defineFunction({
      name: 'step',
      durable: true,
      run: (value: number) => {
        runs += 1
        return value
      },
    })
    for (const { name, journal, store } of journals) {
      await store('resume', JSON.stringify({ ...entry, at: 'yesterday' }))
      const record = await step.trace(1, { runId: 'resume', journal })
      expect(record.status, name).toBe('failed')
      expect(record.error?.message, name).toContain('at is not a finite number')
    }
    expect(runs).toBe(0)
  })
})
