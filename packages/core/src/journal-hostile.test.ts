import { describe, expect, it } from 'vitest'
import { defineFunction } from './define-function.js'
import { ConfigurationError } from './errors.js'
import { type JournalEntry, keptJournalEntry, MemoryJournal, type StepJournal } from './journal.js'
import type { RunContext } from './run-context.js'

/** A value whose parts are shared: `depth` levels of `[v, v]` over a leaf whose getter counts its reads. */
function sharedTree(depth: number): { value: unknown; reads: { count: number } } {
  const reads = { count: 0 }
  let value: unknown = {
    get v() {
      reads.count += 1
      return 1
    },
  }
  for (let level = 0; level < depth; level++) value = [value, value]
  return { value, reads }
}

describe('journal entry annotations', () => {
  it('refuses annotations whose parts are shared as soon as their size passes 1 MiB, as it does an output', () => {
    // 2^21 leaves of `{"v":1}`: about 16 MB of JSON, from a value of 22 objects.
    const { value, reads } = sharedTree(21)
    const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0, annotations: { a: value } }
    expect(keptJournalEntry(entry)).toMatch(/annotations/)
    // 1 MiB of JSON holds at most ~150,000 such leaves: a walk that stops at the limit reads no more than that.
    expect(reads.count).toBeLessThan(200_000)
  })

  it('a journal read answering such annotations is refused without writing their whole JSON', async () => {
    const { value, reads } = sharedTree(21)
    const step = defineFunction({ name: 'step', durable: true, run: (input: string) => input })
    const journal: StepJournal = {
      read: () =>
        ({
          function: 'step',
          kind: 'function',
          input: 'x',
          output: 'y',
          at: 0,
          annotations: { a: value },
        }) as JournalEntry,
      write: (_key, entry) => entry,
    }
    await expect(step.invoke('hi', { runId: 'r', journal })).rejects.toBeInstanceOf(ConfigurationError)
    expect(reads.count).toBeLessThan(200_000)
  })

  it('an entry with a field of its own whose parts are shared is checked without writing their whole JSON', () => {
    const { value, reads } = sharedTree(21)
    const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0, extra: value }
    keptJournalEntry(entry)
    expect(reads.count).toBeLessThan(200_000)
    const usage = {
      calls: 1,
      inputTokens: 1,
      outputTokens: 1,
      totalTokens: 2,
      costUsd: 0,
      unpricedCalls: 0,
      extra: value,
    }
    keptJournalEntry({ function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0, usage })
    expect(reads.count).toBeLessThan(200_000)
  })

  it('refuses within the limit annotations whose shared parts JSON reaches where no walk goes: class instances, a toJSON', () => {
    class Pair {
      readonly left: unknown
      readonly right: unknown
      constructor(part: unknown) {
        this.left = part
        this.right = part
      }
    }
    const shapes: Array<(part: unknown) => unknown> = [
      (part) => new Pair(part),
      (part) => ({ toJSON: () => [part, part] }),
      (part) => [new Pair(part)],
    ]
    for (const [index, shape] of shapes.entries()) {
      const reads = { count: 0 }
      let value: unknown = {
        get v() {
          reads.count += 1
          return 1
        },
      }
      // 2^21 leaves, about 16 MB of JSON; 2^30 of them would take JSON minutes to write.
      for (let level = 0; level < 21; level++) value = shape(value)
      const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: 1, at: 0, annotations: { a: value } }
      expect([index, keptJournalEntry(entry)]).toEqual([index, expect.stringMatching(/^annotations: its JSON is/)])
      expect([index, reads.count]).toEqual([index, expect.any(Number)])
      expect(reads.count).toBeLessThan(200_000)
    }
  })

  it('the output as a shared tree is refused within the limit (control)', () => {
    const { value, reads } = sharedTree(21)
    const entry = { function: 'f', kind: 'function', input: 'sha256:x', output: value, at: 0 }
    expect(keptJournalEntry(entry)).toMatch(/more than/)
    expect(reads.count).toBeLessThan(200_000)
  })

  it('a durable step never writes an entry whose annotations the run then refuses to read back', async () => {
    const kept = new Map<string, JournalEntry>()
    const written: JournalEntry[] = []
    // A journal that keeps what it is given, as the StepJournal interface describes it.
    const journal: StepJournal = {
      read: (key) => kept.get(key),
      write: (key, entry) => {
        written.push(entry)
        if (!kept.has(key)) kept.set(key, entry)
        return kept.get(key) as JournalEntry
      },
    }
    let runs = 0
    const step = defineFunction({
      name: 'noted',
      durable: true,
      run: (input: string, context: RunContext) => {
        runs += 1
        // 2,000 facts of 1,000 characters each: every one is kept whole by annotate, together 2 MB.
        for (let index = 0; index < 2_000; index++) context.annotate(`fact${index}`, 'x'.repeat(1_000))
        return input
      },
    })
    const first = await step.invoke('hi', { runId: 'poisoned', journal }).then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    // Whatever the first run does, it hands the journal nothing that every later read refuses.
    for (const entry of written) expect(keptJournalEntry(entry)).not.toBeTypeOf('string')
    // And the message of a failure names the step's annotations, not the journal's answer.
    if (first !== undefined) expect(first.message).not.toMatch(/journal\.write answered/)
    // Nothing is kept under the key: a re-run is not refused at its read, forever, for what this run wrote.
    expect(kept.size).toBe(0)
    expect(runs).toBeGreaterThan(0)
  })

  it('MemoryJournal: a step with 2 MB of annotations (control: what the shipped journal does)', async () => {
    const journal = new MemoryJournal()
    const step = defineFunction({
      name: 'noted',
      durable: true,
      run: (input: string, context: RunContext) => {
        for (let index = 0; index < 2_000; index++) context.annotate(`fact${index}`, 'x'.repeat(1_000))
        return input
      },
    })
    const outcome = await step.invoke('hi', { runId: 'm', journal }).then(
      () => 'complete',
      (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`,
    )
    expect(outcome).toMatch(/annotations/)
  })
})

describe('a parent that is no RunContext', () => {
  const leaf = defineFunction({ name: 'leaf', run: (input: string) => input })

  it('a hand-made object with runId and signal is not called a RunContext of another copy of core', async () => {
    const parent = { runId: 'r-1', signal: new AbortController().signal }
    const error = await leaf.invoke('x', { parent: parent as never }).catch((thrown: unknown) => thrown as Error)
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as Error).message).not.toMatch(/another copy of @tinyllm\/core/)
  })

  it('a Proxy parent whose every trap throws is a rejected ConfigurationError, not a synchronous throw', async () => {
    const fail = () => {
      throw new Error('trap')
    }
    const parent = new Proxy(
      {},
      { has: fail, get: fail, ownKeys: fail, getPrototypeOf: fail, getOwnPropertyDescriptor: fail },
    )
    let result: Promise<unknown> | undefined
    expect(() => {
      result = leaf.invoke('x', { parent: parent as never })
    }).not.toThrow()
    await expect(result).rejects.toBeInstanceOf(ConfigurationError)
  })
})

describe('MemoryJournal keeps what it checked', () => {
  it('an output getter that answers another value on a later read is never kept unchecked', () => {
    for (let turn = 1; turn <= 8; turn++) {
      let reads = 0
      const output = {
        get text() {
          reads += 1
          // Small for the first reads, 2 MB (more than any journal keeps) from read `turn` on.
          return reads >= turn ? 'x'.repeat(2 * 1024 * 1024) : 'small'
        },
      }
      const journal = new MemoryJournal()
      const entry = { function: 'f', kind: 'function', input: 'sha256:x', output, at: 0 } as JournalEntry
      let written: JournalEntry | undefined
      try {
        written = journal.write('k', entry)
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError)
        continue
      }
      // What it kept and answers is an entry every journal replays: a run reading it back does not refuse it.
      expect([turn, typeof keptJournalEntry(written)]).toEqual([turn, 'object'])
      expect([turn, typeof keptJournalEntry(journal.read('k'))]).toEqual([turn, 'object'])
    }
  })
})
