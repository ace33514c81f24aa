import { createHash } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { defineFunction } from './define-function.js'
import { ConfigurationError, safeStringify, TinyLLMError } from './errors.js'
import { FSM } from './fsm.js'
import { MemoryJournal } from './journal.js'
import type { RunRecord } from './run-record.js'
import { formatRunTree } from './run-tree.js'
import { checkBudget } from './usage.js'

describe('durable steps journaled before the digest took its keys in one order', () => {
  it.fails('replays a step whose entry kept the digest of its input as written, keys in the order given', async () => {
    // A journal entry as the previous patch release wrote it: the SHA-256 of the input's JSON, keys as given. A run
    // that crashed before the upgrade is resumed after it with the same input.
    const input = { name: 'Ada', age: 36 }
    const digestAsWritten = `sha256:${createHash('sha256').update(JSON.stringify(input)).digest('base64url')}`
    const journal = new MemoryJournal()
    journal.write('job-1', {
      function: 'profile',
      kind: 'function',
      input: digestAsWritten,
      output: 'Ada, 36',
      at: 0,
    })
    let runs = 0
    const profile = defineFunction({
      name: 'profile',
      durable: true,
      run: (person: { name: string; age: number }) => {
        runs += 1
        return `${person.name}, ${person.age}`
      },
    })
    const resumed = await profile.invoke(input, { runId: 'job-1', journal }).catch((caught: unknown) => caught)
    expect(resumed).toBe('Ada, 36')
    expect(runs).toBe(0)
  })
})

describe('safeStringify on bytes', () => {
  it.fails('renders a Buffer without copying its every byte into a list first', () => {
    // A Buffer is a typed array with a toJSON of its own, which JSON calls before any replacer sees the value: the
    // typed-array cut never applies, and a 1 MB file's bytes become a list of a million numbers to print 60 characters.
    const toJSON = Buffer.prototype.toJSON
    let listed = 0
    const spy = vi.spyOn(Buffer.prototype, 'toJSON').mockImplementation(function (this: Buffer) {
      const json = toJSON.call(this)
      listed += json.data.length
      return json
    })
    try {
      expect(safeStringify(Buffer.alloc(1_000_000), 60)).toMatch(/…$/)
      expect(listed).toBeLessThan(1_000)
    } finally {
      spy.mockRestore()
    }
  })
})

describe('TinyLLMError.fromJSON names', () => {
  it.fails('keeps a name read back from JSON at 200 characters, also once its control characters are escaped', () => {
    // Cut, then escaped: 300 control characters become 200 escapes of six characters each.
    const error = TinyLLMError.fromJSON({ name: '\u0001'.repeat(300), message: 'm' })
    expect(error.name.length).toBeLessThanOrEqual(201)
    expect(error.stack?.split('\n')[0]?.length).toBeLessThan(300)
  })
})

describe('FSM given a lookalike definition', () => {
  it.fails('refuses an object that carries only the definition brand with a ConfigurationError, when it is given', () => {
    // The brand lets another copy's definition in; a plain object carrying it is taken as one too, and fails on the
    // first transition with a TypeError naming nothing.
    let thrown: unknown
    try {
      new FSM({ [Symbol.for('tinyllm.stateMachineDefinition')]: true } as never)
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true)
  })
})

describe('checkBudget on a budget that cannot be read', () => {
  it.fails('throws a ConfigurationError naming budget, as resolveRetryPolicy does for a retry policy', () => {
    // Exported for code that checks a budget of its own (a queue that checks before it enqueues): a getter's raw Error
    // escapes it, where every other options check of core names the option that could not be read.
    const unreadable = {
      get maxTokens(): never {
        throw new Error('getter exploded')
      },
    }
    let thrown: unknown
    try {
      checkBudget(unreadable as never, 'enqueue')
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown) && thrown.option).toBe('budget')
    expect((thrown as Error).message).toMatch(/^enqueue: budget could not be read: Error: getter exploded/)
  })
})

describe("formatRunTree on a record whose parts are not a record's", () => {
  it.fails('refuses states or usage that no run record holds with a ConfigurationError naming record', () => {
    // A record read back from JSON that was cut or edited: its top is shaped, what the tree reads below it is not, and
    // each fails with a TypeError naming nothing (reading 'state' of null, calling toFixed of undefined).
    const top = { function: 'Assess', kind: 'function', status: 'complete', children: [], annotations: {} }
    const broken: unknown[] = [
      { ...top, states: [null] },
      { ...top, states: [{ state: 'init', at: 0, attempt: 1 }], usage: { totalTokens: 5 } },
    ]
    for (const record of broken) {
      let thrown: unknown
      try {
        formatRunTree(record as RunRecord)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown) && thrown.option).toBe('record')
    }
  })
})
