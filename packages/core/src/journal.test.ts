import { runInNewContext } from 'node:vm'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { defineFunction } from './define-function.js'
import { ConfigurationError, NonDeterminismError, TinyLLMError, ValidationError } from './errors.js'
import type { LifecycleEvent } from './events.js'
import { Function } from './function.js'
import { assertJsonSafe, hashJson, type JournalEntry, MemoryJournal, type StepJournal } from './journal.js'
import type { RunContext } from './run-context.js'

/** A durable step that counts how often it really ran, and records one model call's usage. */
function counted(name: string) {
  const runs = { count: 0 }
  const fn = defineFunction({
    name,
    durable: true,
    run: (input: string, context: RunContext) => {
      runs.count += 1
      context.addUsage({ inputTokens: 10, outputTokens: 5, totalTokens: 15 }, 0.001)
      return `${name}(${input})`
    },
  })
  return { fn, runs }
}

/** A value as PostgreSQL's jsonb hands it back: the same JSON, its object keys ordered by length, then by bytes. */
function asJsonb(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asJsonb)
  if (typeof value !== 'object' || value === null) return value
  const keys = Object.keys(value).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
  return Object.fromEntries(keys.map((key) => [key, asJsonb((value as Record<string, unknown>)[key])]))
}

/**
 * A journal kept in a jsonb column: a write that inserts answers the entry it was handed (the one that stands), a read
 * answers the row as the database hands it back.
 */
class JsonbJournal implements StepJournal {
  readonly rows = new Map<string, string>()

  read(key: string): JournalEntry | undefined {
    const row = this.rows.get(key)
    return row === undefined ? undefined : (asJsonb(JSON.parse(row)) as JournalEntry)
  }

  write(key: string, entry: JournalEntry): JournalEntry {
    if (this.rows.has(key)) return this.read(key) as JournalEntry
    this.rows.set(key, JSON.stringify(entry))
    return entry
  }
}

describe('run identity and step keys', () => {
  it('derives child ids, step paths and idempotency keys from the root id and the position', async () => {
    const seen: Array<{ runId: string; stepPath: string; key: string }> = []
    const leaf = defineFunction({
      name: 'leaf',
      run: (_: undefined, context: RunContext) => {
        seen.push({ runId: context.runId, stepPath: context.stepPath, key: context.idempotencyKey })
      },
    })
    const root = defineFunction({
      name: 'root',
      run: async (_: undefined, context: RunContext) => {
        await context.invoke(leaf, undefined)
        await context.invoke(leaf, undefined)
        await context.invoke(leaf, undefined, { key: 'named/step' })
        await leaf.invoke(undefined)
      },
    })
    await root.invoke(undefined, { runId: 'job-7' })
    expect(seen).toEqual([
      { runId: 'job-7/leaf#1', stepPath: 'leaf#1', key: 'job-7/leaf#1' },
      { runId: 'job-7/leaf#2', stepPath: 'leaf#2', key: 'job-7/leaf#2' },
      { runId: 'job-7/named%2fstep', stepPath: 'named%2fstep', key: 'job-7/named%2fstep' },
      { runId: 'job-7/leaf#3', stepPath: 'leaf#3', key: 'job-7/leaf#3' },
    ])
  })

  it('gives a root without a runId an id no other process gives, though their Math.random answers alike', async () => {
    // Two processes sharing one journal on disk, each running a root without a runId: another copy of core stands for
    // the other process, with Math.random answering as it did in the first.
    const journal = new MemoryJournal()
    const ids: string[] = []
    let charged = 0
    for (let copy = 0; copy < 2; copy++) {
      vi.resetModules()
      const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
      try {
        const { defineFunction: define } = await import('./define-function.js')
        const charge = define({
          name: 'charge',
          durable: true,
          run: (amount: number, context: RunContext) => {
            ids.push(context.idempotencyKey)
            charged += amount
            return amount
          },
        })
        await charge.invoke(40, { journal })
      } finally {
        random.mockRestore()
      }
    }
    // Each process's charge ran, under a key of its own: neither replayed the other's.
    expect(charged).toBe(80)
    expect(ids[0]).not.toBe(ids[1])
  })

  it('keeps idempotency keys across a parent’s retries, and gives the retried children ids of their own', async () => {
    const seen: Array<[string, string]> = []
    const leaf = defineFunction({
      name: 'leaf',
      run: (_: undefined, context: RunContext) => {
        seen.push([context.runId, context.idempotencyKey])
      },
    })
    let attempt = 0
    const root = defineFunction({
      name: 'root',
      retry: { attempts: 2, initialDelayMs: 1 },
      run: async (_: undefined, context: RunContext) => {
        await context.invoke(leaf, undefined)
        attempt += 1
        if (attempt === 1) throw new Error('try again')
      },
    })
    await root.invoke(undefined, { runId: 'r' })
    expect(seen).toEqual([
      ['r/leaf#1', 'r/leaf#1'],
      ['r/leaf#1@2', 'r/leaf#1'],
    ])
  })

  it('refuses a key given to a second step of one attempt: two steps would share a run id and one journal entry', async () => {
    const { fn: ask, runs } = counted('ask')
    let attempt = 0
    const root = defineFunction({
      name: 'root',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: async (_: undefined, context: RunContext) => {
        attempt += 1
        const first = await context.invoke(ask, 'one', { key: 'ask' })
        // The same key in the next attempt is that step again; in this attempt it would be another step under its id.
        if (attempt === 1) throw new Error('try again')
        const second = await context.invoke(ask, 'one', { key: 'ask' }).catch((error: unknown) => error)
        const third = await context.invoke(ask, 'one', { key: 'ask again' })
        return [first, second, third]
      },
    })
    const [first, second, third] = (await root.invoke(undefined, { runId: 'keys', journal: new MemoryJournal() })) as [
      string,
      unknown,
      string,
    ]
    expect(first).toBe('ask(one)')
    expect(ConfigurationError.isInstance(second), String(second)).toBe(true)
    expect((second as ConfigurationError).option).toBe('key')
    expect((second as Error).message).toBe(
      'ask: key "ask" was given to another step of this run of "root" (attempt 2); two steps would share one run id and one journal entry, so give each its own key',
    )
    expect(third).toBe('ask(one)')
    // The first attempt ran the step, the second replayed it, the refused one ran nothing, the other key ran.
    expect(runs.count).toBe(2)
  })

  it('keeps a root whose run id holds "/" apart from another root’s nested step, on one journal', async () => {
    const keys: string[] = []
    const c = defineFunction({
      name: 'c',
      durable: true,
      run: (_: undefined, context: RunContext) => {
        keys.push(context.idempotencyKey)
        return `run ${keys.length}`
      },
    })
    const b = defineFunction({
      name: 'b',
      run: (_: undefined, context: RunContext) => context.invoke(c, undefined, { key: 'c' }),
    })
    const nested = defineFunction({
      name: 'root',
      run: (_: undefined, context: RunContext) => context.invoke(b, undefined, { key: 'b' }),
    })
    const flat = defineFunction({
      name: 'root',
      run: (_: undefined, context: RunContext) => context.invoke(c, undefined, { key: 'c' }),
    })
    const journal = new MemoryJournal()
    expect(await nested.invoke(undefined, { runId: 'a', journal })).toBe('run 1')
    const record = await flat.trace(undefined, { runId: 'a/b', journal })
    expect(record.output).toBe('run 2')
    expect(record.children[0]?.annotations.replayed).toBeUndefined()
    expect(keys).toEqual(['a/b/c', 'a%2fb/c'])
    // Each still replays under its own run id.
    expect((await flat.trace(undefined, { runId: 'a/b', journal })).children[0]?.annotations.replayed).toBe(true)
    expect(keys).toHaveLength(2)
  })

  it('counts processOutput’s children on from the attempt’s, so each durable one runs and replays as itself', async () => {
    const { fn: send, runs } = counted('send')
    const job = defineFunction({
      name: 'job',
      run: (draft: string) => send.invoke(draft),
      processOutput: async (sent: string) => [sent, await send.invoke('final')],
    })
    const journal = new MemoryJournal()
    const record = await job.trace('draft', { runId: 'job-1', journal })
    expect(record.output).toEqual(['send(draft)', 'send(final)'])
    expect(record.children.map((child) => child.runId)).toEqual(['job-1/send#1', 'job-1/send#2'])
    expect(runs.count).toBe(2)
    expect(await job.invoke('draft', { runId: 'job-1', journal })).toEqual(['send(draft)', 'send(final)'])
    expect(runs.count).toBe(2)
  })
})

describe('a journal replays finished durable steps', () => {
  it('replays the output the step produced, not the object its caller changed since', async () => {
    const step = defineFunction({ name: 'step', durable: true, run: (item: string) => ({ items: [item] }) })
    const journal = new MemoryJournal()
    const first = await step.invoke('a', { runId: 'r', journal })
    first.items.push('added by the caller')
    const replayed = await step.invoke('a', { runId: 'r', journal })
    expect(replayed).toEqual({ items: ['a'] })
    replayed.items.push('added again')
    expect(await step.invoke('a', { runId: 'r', journal })).toEqual({ items: ['a'] })
  })

  it('tells a changed step by its name, kind and input only: a step that kept its name replays what the old one wrote', async () => {
    const journal = new MemoryJournal()
    const before = defineFunction({ name: 'classify', durable: true, run: (text: string) => `old model: ${text}` })
    expect(await before.invoke('a', { runId: 'r', journal })).toBe('old model: a')
    // Another body (another model, another prompt) under the same name: not told apart, its step replays.
    const sameName = defineFunction({ name: 'classify', durable: true, run: (text: string) => `new model: ${text}` })
    const replayed = await sameName.trace('a', { runId: 'r', journal })
    expect([replayed.output, replayed.annotations.replayed]).toEqual(['old model: a', true])
    // Another name is a NonDeterminismError, as is the same name given another input.
    const renamed = defineFunction({ name: 'classify v2', durable: true, run: (text: string) => `new model: ${text}` })
    await expect(renamed.invoke('a', { runId: 'r', journal })).rejects.toBeInstanceOf(NonDeterminismError)
    await expect(sameName.invoke('b', { runId: 'r', journal })).rejects.toBeInstanceOf(NonDeterminismError)
    // So is a Function of the same name and input but another kind (a tool where a function ran).
    class ClassifyTool extends Function<string, string> {
      override readonly kind = 'tool'
      run(text: string): string {
        return `tool: ${text}`
      }
    }
    const otherKind = await new ClassifyTool({ name: 'classify', durable: true })
      .invoke('a', { runId: 'r', journal })
      .catch((thrown: unknown) => thrown)
    expect(NonDeterminismError.isInstance(otherKind)).toBe(true)
    expect((otherKind as Error).message).toMatch(/holds classify \(function\) at r, but classify \(tool\) ran there/)
  })

  it('replays a step whose code changed its input (a chat history it appended to): the digest is of the input as given', async () => {
    let runs = 0
    const reply = defineFunction({
      name: 'reply',
      durable: true,
      run: (history: { messages: string[] }) => {
        runs += 1
        history.messages.push('assistant: hi')
        return 'hi'
      },
    })
    const journal = new MemoryJournal()
    expect(await reply.invoke({ messages: ['user: hello'] }, { runId: 'r', journal })).toBe('hi')
    const again = await reply.trace({ messages: ['user: hello'] }, { runId: 'r', journal })
    expect([again.status, again.output, again.annotations.replayed, runs]).toEqual(['complete', 'hi', true, 1])
  })

  it('runs each durable step once per run id; a re-run replays output, usage and cost, and shows it', async () => {
    const first = counted('classify')
    const second = counted('summarise')
    const pipeline = defineFunction({
      name: 'pipeline',
      run: async (input: string, context: RunContext) =>
        context.invoke(second.fn, await context.invoke(first.fn, input)),
    })
    const journal = new MemoryJournal()
    const before = await pipeline.trace('a', { runId: 'batch/1', journal })
    const events: LifecycleEvent[] = []
    const after = await pipeline.trace('a', { runId: 'batch/1', journal, onEvent: (event) => events.push(event) })
    expect([first.runs.count, second.runs.count]).toEqual([1, 1])
    expect(after.output).toBe(before.output)
    expect(after.output).toBe('summarise(classify(a))')
    expect(after.usage).toEqual(before.usage)
    expect(after.usage?.totalTokens).toBe(30)
    expect(after.children.map((child) => child.annotations.replayed)).toEqual([true, true])
    expect(events.some((event) => event.to === 'complete' && event.annotations?.replayed === true)).toBe(true)
    expect(journal.size).toBe(2)
    // Another run id runs everything again.
    await pipeline.invoke('a', { runId: 'batch/2', journal })
    expect([first.runs.count, second.runs.count]).toEqual([2, 2])
  })

  it('hands a replayed step’s stream listener the parts its Function rebuilds from the recorded output', async () => {
    class Words extends Function<string, string> {
      run(text: string, context: RunContext): string {
        for (const word of text.split(' ')) context.stream?.(word)
        return text.toUpperCase()
      }
      override replayParts(output: string): string[] {
        return output.toLowerCase().split(' ')
      }
    }
    const words = new Words({ name: 'words', durable: true })
    const journal = new MemoryJournal()
    const heard: unknown[][] = [[], []]
    for (const run of [0, 1])
      await words.invoke('one two', { runId: 'w', journal, stream: (part) => heard[run]?.push(part) })
    expect(heard).toEqual([
      ['one', 'two'],
      ['one', 'two'],
    ])
    // A Function that says nothing of its parts streams none when replayed.
    const plain = defineFunction({ name: 'plain', durable: true, run: (text: string) => text })
    const parts: unknown[] = []
    await plain.invoke('x', { runId: 'p', journal })
    await plain.invoke('x', { runId: 'p', journal, stream: (part) => parts.push(part) })
    expect(parts).toEqual([])
  })

  it('replays the annotations the step made beside replayed: true, as its record’s JSON shows them', async () => {
    let runs = 0
    const estimated = defineFunction({
      name: 'estimated call',
      durable: true,
      run: (prompt: string, context: RunContext) => {
        runs += 1
        context.addUsage({ inputTokens: 12, outputTokens: 0, totalTokens: 12 }, undefined)
        context.annotate('usageEstimated', true)
        context.annotate('model', 'm-1')
        context.annotate('finishedAt', new Date(0))
        context.annotate('header', 'Bearer sk-live-0123456789abcdefghij')
        return `answer to ${prompt}`
      },
    })
    const journal = new MemoryJournal()
    const first = await estimated.trace('q', { runId: 'estimate-1', journal })
    const replayed = await estimated.trace('q', { runId: 'estimate-1', journal })
    expect(runs).toBe(1)
    expect(first.annotations.replayed).toBeUndefined()
    expect(replayed.output).toBe('answer to q')
    expect(replayed.annotations).toEqual({
      usageEstimated: true,
      model: 'm-1',
      finishedAt: '1970-01-01T00:00:00.000Z',
      header: 'Bearer [REDACTED]',
      replayed: true,
    })
    expect(JSON.stringify(journal.read('estimate-1'))).not.toContain('sk-live')
  })

  it('journals nothing for a failed step, and the first writer wins', async () => {
    let fail = true
    const flaky = defineFunction({
      name: 'flaky',
      durable: true,
      run: () => {
        if (fail) throw new Error('down')
        return 'up'
      },
    })
    const journal = new MemoryJournal()
    await expect(flaky.invoke(undefined, { runId: 'x', journal })).rejects.toThrow('down')
    expect(journal.size).toBe(0)
    fail = false
    expect(await flaky.invoke(undefined, { runId: 'x', journal })).toBe('up')
    const winner = journal.write('y', { function: 'flaky', kind: 'function', input: 'i', output: 'first', at: 0 })
    expect(journal.write('y', { function: 'flaky', kind: 'function', input: 'i', output: 'second', at: 1 })).toEqual(
      winner,
    )
  })

  it('MemoryJournal refuses to write an entry no journal would replay, as RedisJournal and SqliteJournal do', () => {
    const journal = new MemoryJournal()
    const entry = { function: 'f', kind: 'function', input: 'i', output: 1, at: 0 }
    const usage = { calls: 1, inputTokens: 5, outputTokens: 5, totalTokens: 10, costUsd: 0.5, unpricedCalls: 0 }
    for (const [bad, problem] of [
      [{ ...entry, at: 'yesterday' }, 'at is not a finite number'],
      [{ ...entry, annotations: ['a'] }, 'annotations is not a plain object'],
      [{ ...entry, output: 10n }, 'output'],
      [
        { ...entry, usage: { ...usage, totalTokens: -5 } },
        'usage.totalTokens must be a number of tokens ≥ 0 and ≤ 9007199254740991, got -5',
      ],
      [
        { ...entry, usage: { ...usage, calls: 1.5 } },
        'usage.calls must be an integer ≥ 0 and ≤ 9007199254740991, got 1.5',
      ],
      [{ ...entry, usage: { ...usage, costUsd: -1 } }, 'usage.costUsd must be'],
      [{ ...entry, annotations: { ['k'.repeat(1_001)]: 1 } }, 'annotations has a key annotate refuses'],
      [{ ...entry, annotations: { '': 1 } }, 'annotations has a key annotate refuses'],
      [
        { ...entry, output: Array(300_000).fill(false) },
        'output: its JSON is 1800001 bytes, more than the 1048576 allowed',
      ],
    ] as const) {
      expect(() => journal.write('k', bad as never)).toThrow(ConfigurationError)
      expect(() => journal.write('k', bad as never)).toThrow(problem)
    }
    expect(journal.size).toBe(0)
    expect(journal.write('k', { ...entry, usage })).toEqual({ ...entry, usage })
    // The key is taken now: a bad entry is refused all the same, as RedisJournal and SqliteJournal refuse it.
    expect(() => journal.write('k', { ...entry, output: 10n } as never)).toThrow(ConfigurationError)
  })

  it('MemoryJournal refuses with a ConfigurationError an entry its JSON cannot hold or would keep as something else', () => {
    const journal = new MemoryJournal()
    const entry = { function: 'f', kind: 'function', input: 'i', output: 1, at: 0 }
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    for (const [bad, problem] of [
      [
        { ...entry, annotations: { count: 10n } },
        'JSON cannot hold it (TypeError: Do not know how to serialize a BigInt)',
      ],
      [{ ...entry, annotations: cycle }, 'JSON cannot hold it (TypeError: Converting circular structure to JSON'],
      [{ ...entry, toJSON: () => 5 }, 'it is not a plain object'],
    ] as const) {
      expect(() => journal.write('k', bad as never)).toThrow(ConfigurationError)
      expect(() => journal.write('k', bad as never)).toThrow(
        `MemoryJournal: the entry for "k" is not a journal entry: ${problem}`,
      )
    }
    expect(journal.size).toBe(0)
    // An entry with a toJSON is kept as JSON writes it, and only the fields of an entry (and of its usage) of that.
    const usage = { calls: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2, costUsd: 0, unpricedCalls: 0 }
    const padded = { ...entry, toJSON: () => ({ ...entry, usage: { ...usage, extra: 1 }, padding: 'x'.repeat(1e6) }) }
    expect(journal.write('padded', padded as never)).toEqual({ ...entry, usage })
    expect(journal.read('padded')).toEqual({ ...entry, usage })
    // What JSON writes as null (NaN in an annotation, as a record's JSON shows it) is kept so.
    expect(journal.write('k', { ...entry, annotations: { score: Number.NaN } })).toEqual({
      ...entry,
      annotations: { score: null },
    })
  })

  it('refuses to replay into a different Function at the same position (the graph changed)', async () => {
    const journal = new MemoryJournal()
    const make = (child: Function<string, string>) =>
      defineFunction({
        name: 'root',
        run: (input: string, context: RunContext) => context.invoke(child, input, { key: 'step' }),
      })
    await make(counted('old').fn).invoke('a', { runId: 'r', journal })
    const error = await make(counted('new').fn)
      .invoke('a', { runId: 'r', journal })
      .catch((thrown: unknown) => thrown)
    expect(NonDeterminismError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/holds old \(function\) at r\/step, but new \(function\) ran there/)
  })

  it('refuses an output that is not JSON-safe, naming the path', async () => {
    const odd = defineFunction({ name: 'odd', durable: true, run: () => ({ total: 10n, when: new Date(0) }) })
    const error = await odd.invoke(undefined, { runId: 'r', journal: new MemoryJournal() }).catch((thrown) => thrown)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).issues.map((issue) => issue.path.join('.'))).toEqual(['total', 'when'])
  })
})

describe('assertJsonSafe', () => {
  it('names what JSON would not carry when called from plain JavaScript without saying where', () => {
    const check = assertJsonSafe as (value: unknown) => void
    expect(() => check({ id: 1n })).toThrow(ValidationError)
    expect(() => check({ id: 1n })).toThrow(/id/)
  })

  it('refuses a limit that is not a count of bytes', () => {
    for (const limit of [Number.NaN, -1, '16', 1.5])
      expect(() => assertJsonSafe({ a: 1 }, { functionName: 'f', state: 's' }, limit as never)).toThrow(
        ConfigurationError,
      )
  })

  it('passes a value whose JSON is under 1 MiB however small its parts: 250,000 zeros, 100,000 small objects', async () => {
    const zeros = new Array(250_000).fill(0)
    const rows = Array.from({ length: 100_000 }, () => ({ a: 1 }))
    expect(JSON.stringify(rows).length).toBeLessThan(1024 * 1024)
    expect(() => assertJsonSafe(zeros, { functionName: 'f', state: 's' })).not.toThrow()
    expect(() => assertJsonSafe(rows, { functionName: 'f', state: 's' })).not.toThrow()
    // An entry such a step journaled is replayed, not refused as one no journal would keep.
    const step = defineFunction({ name: 'zeros', durable: true, run: () => zeros })
    const journal = new MemoryJournal()
    await step.invoke('text', { runId: 'zeros', journal })
    expect(journal.size).toBe(1)
    expect(await step.invoke('text', { runId: 'zeros', journal })).toEqual(zeros)
  })

  it('refuses a value whose parts are shared many times over once its JSON passes 1 MiB, without walking every path', () => {
    let reads = 0
    let shared: unknown = 'x'.repeat(1_000)
    for (let level = 0; level < 40; level++) {
      const next = shared
      shared = {
        get a() {
          reads += 1
          return next
        },
        get b() {
          reads += 1
          return next
        },
      }
    }
    // 2⁴⁰ paths, and a JSON of petabytes: walked along each, the check would never end.
    expect(() => assertJsonSafe(shared, { functionName: 'f', state: 's' })).toThrow(/more than the 1048576 bytes/)
    expect(reads).toBeLessThan(10_000)
  })

  it('passes JSON data, and names every part JSON would not carry as it is', () => {
    expect(() =>
      assertJsonSafe({ a: [1, 'x', null, true, { b: undefined }] }, { functionName: 'f', state: 's' }),
    ).not.toThrow()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const value = { big: 1n, fn: () => {}, nan: Number.NaN, list: [undefined], map: new Map(), cyclic }
    const error = (() => {
      try {
        assertJsonSafe(value, { functionName: 'f', state: 's' })
      } catch (thrown) {
        return thrown as ValidationError
      }
    })()
    expect(error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'big: a BigInt is not JSON-safe',
      'fn: a function is not JSON-safe',
      'nan: NaN is not JSON-safe',
      'list.0: undefined in a list is not JSON-safe',
      'map: an instance of Map is not JSON-safe',
      'cyclic.self: a cycle is not JSON-safe',
    ])
  })

  it('passes plain objects and lists made in another realm (node:vm), and still names an instance made there', () => {
    const foreign = runInNewContext('({ a: 1, list: [{ b: 2 }], nested: Object.create(null) })')
    expect(() => assertJsonSafe(foreign, { functionName: 'f', state: 's' })).not.toThrow()
    const instance = runInNewContext('new (class Account {})()')
    expect(() => assertJsonSafe({ instance }, { functionName: 'f', state: 's' })).toThrow(
      /instance: an instance of Account is not JSON-safe/,
    )
  })

  it('names the path of a getter that throws, and of a Proxy whose traps throw, as values JSON could not read', () => {
    const getter = Object.defineProperty({}, 'secretField', {
      enumerable: true,
      get() {
        throw new Error('getter boom')
      },
    })
    const trap = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap')
        },
      },
    )
    let error: ValidationError | undefined
    try {
      assertJsonSafe({ nested: getter, list: [trap] }, { functionName: 'f', state: 's' })
    } catch (thrown) {
      error = thrown as ValidationError
    }
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'nested.secretField: a value that could not be read (Error: getter boom) is not JSON-safe',
      'list.0: a value that could not be read (Error: trap) is not JSON-safe',
    ])
  })

  it('refuses, as a ValidationError, a value whose getter answers JSON something else than it answered the check', () => {
    let reads = 0
    const fickle = {
      get amount() {
        reads += 1
        return reads === 1 ? 1 : 10n
      },
    }
    expect(() => assertJsonSafe(fickle, { functionName: 'f', state: 's' })).toThrow(
      /^f: invalid value \(s, 1 issue\)\n {2}- \(root\): a value that could not be read \(TypeError: Do not know how to serialize a BigInt\) is not JSON-safe$/,
    )
  })

  it('lists at most 20 issues, and stops looking there: a sparse list as long as 2³²−1 is refused at once', () => {
    for (const length of [1_000, 2 ** 32 - 1]) {
      let error: ValidationError | undefined
      try {
        assertJsonSafe({ list: new Array(length) }, { functionName: 'f', state: 's' })
      } catch (thrown) {
        error = thrown as ValidationError
      }
      expect(ValidationError.isInstance(error)).toBe(true)
      expect(error?.issues).toHaveLength(20)
      expect(error?.issues[19]).toEqual({ path: ['list', 19], message: 'undefined in a list is not JSON-safe' })
    }
  })

  it('refuses JSON larger than the documented cap', () => {
    expect(() => assertJsonSafe('x'.repeat(1024 * 1024 + 1), { functionName: 'f', state: 's' })).toThrow(
      /more than the 1048576/,
    )
  })
})

describe('a durable step given a large input', () => {
  it('runs and replays an input larger than a journal entry may be, of which only the digest is kept', async () => {
    let runs = 0
    const step = defineFunction({
      name: 'step',
      durable: true,
      run: (prompt: string) => {
        runs += 1
        return prompt.length
      },
    })
    const journal = new MemoryJournal()
    const prompt = 'p'.repeat(1_500_000)
    expect(await step.invoke(prompt, { runId: 'big', journal })).toBe(1_500_000)
    expect(await step.invoke(prompt, { runId: 'big', journal })).toBe(1_500_000)
    expect(runs).toBe(1)
    const error = await step.invoke('p'.repeat(17 * 1024 * 1024), { runId: 'bigger', journal }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/more than the 16777216 bytes allowed/)
  })
})

describe('a step replayed in the tree that ran it', () => {
  it('is paid once: a retried parent replaying its durable child does not count the child again', async () => {
    let paid = 0
    const call = defineFunction({
      name: 'call',
      durable: true,
      run: (input: string, context) => {
        paid += 600
        context.addUsage({ inputTokens: 500, outputTokens: 100, totalTokens: 600 }, 0.01)
        return `answer to ${input}`
      },
    })
    let attempts = 0
    const step = defineFunction({
      name: 'step',
      retry: { attempts: 2, initialDelayMs: 1 },
      run: async (input: string, context) => {
        const answer = await context.invoke(call, input)
        attempts += 1
        if (attempts === 1) throw new Error('post-processing failed once')
        return { answer, treeTokens: context.treeUsage.totalTokens }
      },
    })
    const journal = new MemoryJournal()
    const record = await step.trace('q', { journal, runId: 'job-1', budget: { maxTokens: 1_000 } })
    expect(paid).toBe(600)
    expect(record.status).toBe('complete')
    expect(record.usage).toMatchObject({ totalTokens: 600, calls: 1 })
    expect(record.output).toMatchObject({ treeTokens: 600 })
    // Another run under the same id (a resumed job) did not pay for it: it counts the step's usage as the journal holds it,
    // once, though its parent replays it again in its retry.
    attempts = 0
    const resumed = await step.trace('q', { journal, runId: 'job-1' })
    expect(paid).toBe(600)
    expect(resumed.usage).toMatchObject({ totalTokens: 600, calls: 1 })
  })

  it('a retry for an output that failed its schema asks its durable child again, and a re-run replays each answer in turn', async () => {
    const answers: number[] = []
    const keys: string[] = []
    const model = defineFunction({
      name: 'model',
      durable: true,
      run: (_: string, context: RunContext) => {
        answers.push(answers.length + 1)
        keys.push(context.idempotencyKey)
        context.addUsage({ inputTokens: 10, outputTokens: 5, totalTokens: 15 }, 0.001)
        return answers.length
      },
    })
    const even = z.number().refine((value) => value % 2 === 0, 'not even')
    const ask = defineFunction({
      name: 'ask',
      output: even,
      retry: { attempts: 3, retryInvalidOutput: true, initialDelayMs: 0 },
      run: (question: string, context: RunContext) => context.invoke(model, question),
    })
    const journal = new MemoryJournal()
    const record = await ask.trace('q', { journal, runId: 'job-2' })
    // The first answer failed the schema: the retry asked the model again instead of replaying it.
    expect(record.status).toBe('complete')
    expect(record.output).toBe(2)
    expect(answers).toEqual([1, 2])
    expect(record.usage).toMatchObject({ calls: 2, totalTokens: 30 })
    // A re-run pays for nothing: it replays the answer that failed, retries, and replays the one that passed.
    const resumed = await ask.trace('q', { journal, runId: 'job-2' })
    expect(resumed.status).toBe('complete')
    expect(resumed.output).toBe(2)
    expect(answers).toEqual([1, 2])
    expect(resumed.usage).toMatchObject({ calls: 2, totalTokens: 30 })
    expect(resumed.children.map((child) => child.annotations.replayed)).toEqual([true, true])
    // Journaled apart, yet the step's idempotency key (a side effect's) is its own on every attempt.
    expect(keys).toEqual(['job-2/model#1', 'job-2/model#1'])
  })

  it('a retry for a child’s output that failed its schema asks the durable step before it again, as without a journal', async () => {
    const answers: number[] = []
    const model = defineFunction({
      name: 'model',
      durable: true,
      run: (_: string) => {
        answers.push(answers.length + 1)
        return answers.length
      },
    })
    // The answer is checked by a step of its own, whose ValidationError the attempt throws.
    const parse = defineFunction({
      name: 'parse',
      output: z.number().refine((value) => value % 2 === 0, 'not even'),
      run: (value: number) => value,
    })
    const ask = defineFunction({
      name: 'ask',
      retry: { attempts: 3, retryInvalidOutput: true, initialDelayMs: 0 },
      run: async (question: string, context: RunContext) =>
        context.invoke(parse, await context.invoke(model, question)),
    })
    const journal = new MemoryJournal()
    const record = await ask.trace('q', { journal, runId: 'job-3' })
    expect(record.status).toBe('complete')
    expect(record.output).toBe(2)
    expect(answers).toEqual([1, 2])
    // A re-run replays the answer that failed, retries, and replays the one that passed: nothing is asked again.
    const resumed = await ask.trace('q', { journal, runId: 'job-3' })
    expect(resumed.output).toBe(2)
    expect(answers).toEqual([1, 2])
    expect(
      resumed.children.filter((child) => child.function === 'model').map((child) => child.annotations.replayed),
    ).toEqual([true, true])
  })
})

describe('a journal refuses to replay what no longer fits', () => {
  it('a durable step handed another input than the one journaled is not replayed: NonDeterminismError', async () => {
    const { fn } = counted('step')
    const journal = new MemoryJournal()
    await fn.invoke('first input', { runId: 'r', journal })
    const error = await fn.invoke('second input', { runId: 'r', journal }).catch((thrown: unknown) => thrown)
    expect(NonDeterminismError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/with another input/)
  })

  it('a run that loses the race to journal a step with another input gets a NonDeterminismError, not the winner’s output', async () => {
    const gates = new Map<string, () => void>()
    const charge = defineFunction({
      name: 'charge',
      durable: true,
      run: (amount: number) =>
        new Promise<{ charged: number }>((resolve) => gates.set(String(amount), () => resolve({ charged: amount }))),
    })
    const journal = new MemoryJournal()
    const first = charge.invoke(40, { runId: 'order-7', journal })
    const second = charge.invoke(99, { runId: 'order-7', journal }).catch((thrown: unknown) => thrown)
    await vi.waitFor(() => expect(gates.size).toBe(2))
    gates.get('40')?.()
    expect(await first).toEqual({ charged: 40 })
    gates.get('99')?.()
    const error = await second
    expect(NonDeterminismError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/with another input/)
    // The same input racing is no conflict: the first writer wins, and the run whose write loses gets the output that
    // stands, not its own. Each run answers its own output, so taking its own instead is seen.
    const started: Array<() => void> = []
    let bothStarted: () => void = () => {}
    const starting = new Promise<void>((resolve) => {
      bothStarted = resolve
    })
    const quote = defineFunction({
      name: 'quote',
      durable: true,
      run: (amount: number) =>
        new Promise<{ quoted: number; by: number }>((resolve) => {
          const by = started.length + 1
          started.push(() => resolve({ quoted: amount, by }))
          if (started.length === 2) bothStarted()
        }),
    })
    const racing = [quote.invoke(5, { runId: 'order-8', journal }), quote.invoke(5, { runId: 'order-8', journal })]
    await starting
    started[0]?.()
    expect(await racing[0]).toEqual({ quoted: 5, by: 1 })
    started[1]?.()
    expect(await racing[1]).toEqual({ quoted: 5, by: 1 })
  })

  it('a journal that throws fails the run with an error naming the step and its key', async () => {
    const { fn } = counted('step')
    const broken = {
      read: () => {
        throw new Error('disk gone')
      },
      write: () => {
        throw new Error('disk gone')
      },
    }
    const error = await fn.invoke('x', { runId: 'r', journal: broken }).catch((thrown: unknown) => thrown)
    expect((error as Error).message).toMatch(/step: journal \(r\) threw Error: disk gone/)
    expect((error as { retryable?: boolean }).retryable).toBe(true)
  })

  it('a journal whose write throws fails the step unretried: a retrying run above it does not do its work again', async () => {
    let paid = 0
    const pay = defineFunction({
      name: 'pay',
      durable: true,
      run: async () => {
        paid += 1
        return 'paid'
      },
    })
    const order = defineFunction({
      name: 'order',
      retry: { attempts: 3, initialDelayMs: 0 },
      run: (_input: unknown, context: RunContext) => context.invoke(pay, undefined),
    })
    const journal = new MemoryJournal()
    let failures = 1
    const failingOnce: StepJournal = {
      read: (key) => journal.read(key),
      write: (key, entry) => {
        if (failures-- > 0) throw new Error('disk full')
        return journal.write(key, entry)
      },
    }
    const error = await order.invoke(undefined, { runId: 'o', journal: failingOnce }).catch((thrown: unknown) => thrown)
    expect((error as Error).message).toMatch(/pay: journal \(o\/pay#1\) threw Error: disk full/)
    expect((error as { retryable?: boolean }).retryable).toBe(false)
    expect(paid).toBe(1)
  })

  it('a journal whose write throws a retryable tinyllm error (a database locked) fails the step unretried all the same', async () => {
    let paid = 0
    const pay = defineFunction({
      name: 'pay',
      durable: true,
      run: async () => {
        paid += 1
        return 'paid'
      },
    })
    const order = defineFunction({
      name: 'order',
      retry: { attempts: 3, initialDelayMs: 0 },
      run: (_input: unknown, context: RunContext) => context.invoke(pay, undefined),
    })
    const journal = new MemoryJournal()
    let failures = 1
    const lockedOnce: StepJournal = {
      read: (key) => journal.read(key),
      write: async (key, entry) => {
        if (failures-- > 0) throw new TinyLLMError({ message: 'database is locked', retryable: true })
        return journal.write(key, entry)
      },
    }
    const error = await order.invoke(undefined, { runId: 'o', journal: lockedOnce }).catch((thrown: unknown) => thrown)
    expect(paid).toBe(1)
    expect(error).toMatchObject({ name: 'FunctionError', state: 'journal (o/pay#1)', retryable: false })
    expect(TinyLLMError.isInstance((error as Error).cause)).toBe(true)
    expect(((error as Error).cause as Error).message).toMatch(/database is locked/)
  })

  it('a step cancelled or out of time while its journal write is in flight fails naming the write: its work is done', async () => {
    const pay = defineFunction({ name: 'pay', durable: true, timeoutMs: 60_000, run: () => 'paid' })
    // Aborted by its caller while the write is in flight.
    const aborted = slowJournal('lands late')
    const controller = new AbortController()
    const cancelled = pay.invoke(undefined, { runId: 'a', journal: aborted.journal, signal: controller.signal })
    await aborted.writing
    controller.abort(new Error('shutting down'))
    expect(await cancelled.catch((thrown: unknown) => thrown)).toMatchObject({
      name: 'AbortError',
      state: 'journal (a)',
    })
    aborted.release()
    // Out of its own time while the write is in flight (a fake clock: the deadline passes when the test says so).
    vi.useFakeTimers()
    try {
      const late = slowJournal('lands late')
      const timedOut = pay.invoke(undefined, { runId: 't', journal: late.journal }).catch((thrown: unknown) => thrown)
      await late.writing
      vi.advanceTimersByTime(60_000)
      expect(await timedOut).toMatchObject({ name: 'TimeoutError', state: 'journal (t)', retryable: false })
      late.release()
    } finally {
      vi.useRealTimers()
    }
  })

  it('a journal that answers something other than an entry fails the run saying so, and is never replayed', async () => {
    const { fn, runs } = counted('step')
    const answering = (read: unknown, write: unknown) => ({
      read: () => read,
      write: () => write,
    })
    for (const [journal, message] of [
      [answering(null, undefined), 'step: journal.read must answer an entry or undefined, got null (for r)'],
      [answering('cached', undefined), 'step: journal.read must answer an entry or undefined, got "cached" (for r)'],
      [answering(undefined, undefined), 'step: journal.write must answer the entry that stands, got undefined (for r)'],
      [
        { read: async () => undefined, write: async () => true },
        'step: journal.write must answer the entry that stands, got true (for r)',
      ],
    ] as const) {
      const error = await fn.invoke('x', { runId: 'r', journal: journal as never }).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(message)
    }
    expect(runs.count).toBe(2)
  })
})

describe('journal replays: what is counted and handed out', () => {
  it('a durable step re-run in a retried ancestor journals the usage of the durable child it replayed', async () => {
    let paid = 0
    const call = defineFunction({
      name: 'call',
      durable: true,
      run: (input: string, context: RunContext) => {
        paid += 600
        context.addUsage({ inputTokens: 500, outputTokens: 100, totalTokens: 600 }, 0.01)
        return `answer to ${input}`
      },
    })
    let stepRuns = 0
    const step = defineFunction({
      name: 'step',
      durable: true,
      run: async (input: string, context: RunContext) => {
        const answer = await context.invoke(call, input)
        stepRuns += 1
        if (stepRuns === 1) throw new Error('post-processing failed once')
        return answer
      },
    })
    const root = defineFunction({
      name: 'root',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: (input: string, context: RunContext) => context.invoke(step, input),
    })
    const journal = new MemoryJournal()
    const first = await root.trace('q', { journal, runId: 'job-1' })
    expect(first.status).toBe('complete')
    expect(paid).toBe(600)
    expect(first.usage).toMatchObject({ totalTokens: 600 })
    // The entry of `step` holds "tokens and cost of the step and everything under it".
    const entry = journal.read('job-1/step#1')
    expect(entry?.usage).toMatchObject({ totalTokens: 600, calls: 1 })
    // A resumed run of the same id replays `step` and counts what it cost.
    const resumed = await root.trace('q', { journal, runId: 'job-1' })
    expect(paid).toBe(600)
    expect(resumed.usage).toMatchObject({ totalTokens: 600, calls: 1 })
  })

  it('assertJsonSafe answers a deep list JSON writes whole the same wherever it is called, never as unreadable', () => {
    let deep: unknown = 0
    // 3,000 levels: JSON carries it on every supported Node (22's own JSON.stringify overflows past about 4,000).
    for (let level = 0; level < 3_000; level++) deep = [deep]
    expect(JSON.stringify(deep)).toHaveLength(6_001)
    const outcome = (): string => {
      try {
        assertJsonSafe(deep, { functionName: 'step', state: 'input_validation' })
        return 'passed'
      } catch (error) {
        return ValidationError.isInstance(error) ? error.issues.map((issue) => issue.message).join('; ') : String(error)
      }
    }
    const nested = (frames: number): string => (frames === 0 ? outcome() : nested(frames - 1))
    const atTop = outcome()
    // Refused, if at all, for what the value is: not for a stack that ran out while it was walked.
    expect(atTop).not.toMatch(/could not be read|RangeError|SyntaxError/)
    // The same answer from code that is itself some frames deep (a step inside a nested run).
    expect(nested(2_000)).toBe(atTop)
  })

  it('assertJsonSafe passes a list 150,000 levels deep, or refuses it as deeper than JSON is written here, never as unreadable', () => {
    let deep: unknown = 0
    // 300,000 bytes of JSON: Node 26 writes it; Node 22's JSON.stringify runs out of stack long before.
    for (let level = 0; level < 150_000; level++) deep = [deep]
    let message = 'passed'
    try {
      assertJsonSafe(deep, { functionName: 'step', state: 'input_validation' })
    } catch (error) {
      message = ValidationError.isInstance(error)
        ? error.issues.map((issue) => issue.message).join('; ')
        : String(error)
    }
    expect(['passed', 'it nests deeper than JSON is written on this runtime']).toContain(message)
  })

  it('a journal entry is replayed as it was checked: a getter cannot answer the check one output and the replay another', async () => {
    let reads = 0
    const step = defineFunction({ name: 'step', durable: true, run: () => 'ran' })
    // A journal of its own answering an entry whose output is JSON-safe while it is checked, and a function afterwards.
    const hostile: StepJournal = {
      read: () => {
        const answer: Record<string, unknown> = {
          function: 'step',
          kind: 'function',
          at: 1,
          input: hashJson(undefined),
        }
        Object.defineProperty(answer, 'output', {
          enumerable: true,
          get: () => {
            reads += 1
            return reads <= 2 ? 'kept' : () => 'not JSON'
          },
        })
        return answer as unknown as JournalEntry
      },
      write: (_key, written) => written,
    }
    const output = await step.invoke(undefined, { runId: 'r', journal: hostile }).catch((error: unknown) => error)
    // Either the replay hands out what was checked, or the entry is refused: never a function as the step's output.
    expect(typeof output).not.toBe('function')
  })

  it('a journal answering a 10 MB Function name or kind fails the run with an error of kilobytes', async () => {
    const step = defineFunction({ name: 'step', durable: true, run: () => 'ran' })
    const long = 'f'.repeat(10_000_000)
    const answers = [
      { function: long, kind: 'function', at: 1, input: hashJson(undefined), output: 1 },
      { function: 'step', kind: long, at: 1, input: 'another digest', output: 1 },
    ]
    for (const answer of answers) {
      const journal: StepJournal = { read: () => answer, write: (_key, entry) => entry }
      const error = (await step.invoke(undefined, { runId: 'r', journal }).catch((thrown: unknown) => thrown)) as Error
      expect(error.name).toBe('NonDeterminismError')
      // "errors quoting it kept under 1,000 characters"
      expect(error.message.length).toBeLessThan(2_000)
      expect(JSON.stringify(error).length).toBeLessThan(10_000)
    }
  })

  it('a durable step cancelled while its journal write was in flight is counted once when a retried parent replays it', async () => {
    // A journal whose write lands at once and answers later, as a store across the network does.
    const { journal, writing, release: releaseWrites } = slowJournal('answers late')
    let paid = 0
    const call = defineFunction({
      name: 'call',
      durable: true,
      run: (input: string, context: RunContext) => {
        paid += 600
        context.addUsage({ inputTokens: 500, outputTokens: 100, totalTokens: 600 }, 0.01)
        return `answer to ${input}`
      },
    })
    let attempts = 0
    const step = defineFunction({
      name: 'step',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: async (input: string, context: RunContext) => {
        attempts += 1
        if (attempts === 1) {
          // The call is in its journal write when this attempt fails: the attempt's failure cancels it.
          void context.invoke(call, input).catch(() => {})
          await writing
          throw new Error('attempt 1 failed')
        }
        releaseWrites()
        return { answer: await context.invoke(call, input), treeTokens: context.treeUsage.totalTokens }
      },
    })
    const record = await step.trace('q', { journal, runId: 'job-1' })
    expect(record.status).toBe('complete')
    expect(paid).toBe(600)
    // "is paid once: a retried parent replaying its durable child does not count the child again"
    expect(record.output).toMatchObject({ treeTokens: 600 })
    expect(record.usage).toMatchObject({ totalTokens: 600, calls: 1 })
  })
  it('a retried parent waits for its durable child’s journal write still in flight, and replays it rather than paying again', async () => {
    // A journal whose write lands only when the store gets to it, as an insert across the network does.
    const { journal, writing, release: landWrites } = slowJournal('lands late')
    let calls = 0
    const call = defineFunction({
      name: 'call',
      durable: true,
      run: (input: string, context: RunContext) => {
        calls += 1
        context.addUsage({ inputTokens: 500, outputTokens: 100, totalTokens: 600 }, 0.01)
        return `answer ${calls} to ${input}`
      },
    })
    let attempts = 0
    const step = defineFunction({
      name: 'step',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: async (input: string, context: RunContext) => {
        attempts += 1
        if (attempts === 1) {
          // The call finished and is in its journal write when this attempt fails: the failure cancels it.
          void context.invoke(call, input).catch(() => {})
          await writing
          throw new Error('attempt 1 failed')
        }
        const answer = context.invoke(call, input)
        landWrites()
        return await answer
      },
    })
    const record = await step.trace('q', { journal, runId: 'job-1' })
    expect(record.status).toBe('complete')
    expect(calls).toBe(1)
    expect(record.output).toBe('answer 1 to q')
    expect(record.usage).toMatchObject({ totalTokens: 600, calls: 1 })
  })
})

describe('journal entries are bounded', () => {
  it('a durable step whose annotations take more than 1 MiB of JSON is refused before any journal keeps it', async () => {
    const journal = new MemoryJournal()
    const step = defineFunction({
      name: 'step',
      durable: true,
      run: (_: undefined, context: RunContext) => {
        // Each string is under the 1,000 characters an annotation keeps; 5,000 of them are 4.5 MB.
        context.annotate(
          'pages',
          Array.from({ length: 5_000 }, (_, index) => `${index}`.padEnd(900, '.')),
        )
        return 'done'
      },
    })
    const error = await step.invoke(undefined, { runId: 'r', journal }).catch((thrown: unknown) => thrown)
    expect((error as Error).message).toMatch(/annotations: its JSON is (\d+ bytes, )?more than the 1048576/)
    expect(journal.read('r')).toBeUndefined()
    // Under the limit, the same step is journaled.
    const small = defineFunction({
      name: 'step',
      durable: true,
      run: (_: undefined, context: RunContext) => {
        context.annotate(
          'pages',
          Array.from({ length: 1_000 }, (_, index) => `${index}`.padEnd(900, '.')),
        )
        return 'done'
      },
    })
    await expect(small.invoke(undefined, { runId: 'r2', journal })).resolves.toBe('done')
    expect(journal.read('r2')?.output).toBe('done')
  })

  it('a journaled run resumes from a journal that hands its JSON back with the keys in another order', async () => {
    let runs = 0
    const profile = defineFunction({
      name: 'profile',
      durable: true,
      run: (id: string) => {
        runs += 1
        return { name: `Ada ${id}`, age: 36 }
      },
    })
    const greet = defineFunction({
      name: 'greet',
      durable: true,
      run: (person: { name: string; age: number }) => {
        runs += 1
        return `Hello, ${person.name}`
      },
    })
    const pipeline = defineFunction({
      name: 'pipeline',
      run: async (id: string) => greet.invoke(await profile.invoke(id)),
    })
    const journal = new JsonbJournal()
    expect(await pipeline.invoke('1', { runId: 'job-1', journal })).toBe('Hello, Ada 1')
    expect(runs).toBe(2)
    // The same job again, as after a crash: both steps are journaled, and `{ age, name }` is the same JSON object.
    const resumed = await pipeline.invoke('1', { runId: 'job-1', journal }).catch((caught) => caught)
    expect(resumed).toBe('Hello, Ada 1')
    expect(runs).toBe(2)
  })
})

describe("the digest of a durable step's input", () => {
  it('digests an input nested 3,000 levels deep, its keys in any order, and replays it', async () => {
    const nest = (order: 'ab' | 'ba'): unknown => {
      let deep: unknown = 1
      for (let level = 0; level < 3_000; level++)
        deep = level % 2 === 0 ? [deep] : order === 'ab' ? { a: level, b: deep } : { b: deep, a: level }
      return deep
    }
    let runs = 0
    const step = defineFunction({ name: 'deep', durable: true, run: () => ++runs })
    const journal = new MemoryJournal()
    expect(await step.invoke(nest('ab'), { journal, runId: 'deep-2' })).toBe(1)
    expect(await step.invoke(nest('ba'), { journal, runId: 'deep-2' })).toBe(1)
    expect(runs).toBe(1)
  })

  it('digests an input nested 150,000 levels deep, or refuses it with a ValidationError, never a stack overflow', async () => {
    // Under 1 MiB, and JSON-safe. Node 26 writes JSON this deep; where the runtime's JSON cannot, the input is refused.
    let deep: unknown = 1
    for (let level = 0; level < 150_000; level++) deep = level % 2 === 0 ? [deep] : { b: deep, a: level }
    let runs = 0
    const step = defineFunction({ name: 'deep', durable: true, run: () => ++runs })
    const outcome = await step.invoke(deep, { journal: new MemoryJournal(), runId: 'deep-1' }).catch((caught) => caught)
    if (outcome === 1) return
    expect(ValidationError.isInstance(outcome), String(outcome)).toBe(true)
    expect((outcome as ValidationError).state).toBe('input_validation')
    expect((outcome as ValidationError).retryable).toBe(false)
    expect(runs).toBe(0)
  })

  it('a getter that throws only when the digest reads it is refused as unreadable, not as too deep', async () => {
    let reads = 0
    const input = {
      get name() {
        // The JSON-safety check reads it (its walk, then its size); the digest is the third read.
        if (++reads > 2) throw new Error('the session expired')
        return 'Ada'
      },
    }
    let runs = 0
    const step = defineFunction({ name: 'greet', durable: true, run: () => ++runs })
    const outcome = await step.invoke(input, { journal: new MemoryJournal(), runId: 'getter-1' }).catch((e) => e)
    expect(ValidationError.isInstance(outcome), String(outcome)).toBe(true)
    expect(reads).toBe(3)
    const [issue] = (outcome as ValidationError).issues
    expect(issue?.message).toMatch(/^could not be read to digest for the journal \(.*the session expired/)
    expect((outcome as ValidationError).retryable).toBe(false)
    expect(runs).toBe(0)
  })
})

/**
 * A journal kept in a Map whose writes wait for `release()`: one that `'lands late'` stores the entry only then, one that
 * `'answers late'` stores it at once and answers then. `writing` settles when the first write starts.
 */
function slowJournal(kind: 'lands late' | 'answers late') {
  const entries = new Map<string, JournalEntry>()
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let writeStarted: () => void = () => {}
  const writing = new Promise<void>((resolve) => {
    writeStarted = resolve
  })
  const store = (key: string, entry: JournalEntry): void => {
    if (!entries.has(key)) entries.set(key, JSON.parse(JSON.stringify(entry)))
  }
  const journal: StepJournal = {
    read: (key) => entries.get(key),
    write: async (key, entry) => {
      if (kind === 'answers late') store(key, entry)
      writeStarted()
      await released
      if (kind === 'lands late') store(key, entry)
      return entries.get(key) as JournalEntry
    },
  }
  return { journal, writing, release }
}
