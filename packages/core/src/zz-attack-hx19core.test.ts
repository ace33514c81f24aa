import { describe, expect, it } from 'vitest'
import { defineFunction } from './define-function.js'
import { BudgetExceededError, ConfigurationError, NonDeterminismError } from './errors.js'
import { FSM } from './fsm.js'
import type { JournalEntry, StepJournal } from './journal.js'
import type { RunContext } from './run-context.js'
import type { RunRecord } from './run-record.js'
import { formatRunTree } from './run-tree.js'

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

describe('promises of the engine, attacked', () => {
  it.fails('a cost budget stops a tree once it is spent, also for code that reserves its tokens without a cost', async () => {
    // The README's own pattern for code that spends tokens of its own: reserve the tokens, record usage and cost.
    const modelCall = defineFunction({
      name: 'ModelCall',
      run: (tokens: number, context: RunContext) => {
        const release = context.reserveBudget({ tokens })
        try {
          context.addUsage({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens }, tokens * 0.000001)
        } finally {
          release()
        }
        return tokens
      },
    })
    const batch = defineFunction({
      name: 'Batch',
      run: async (sizes: number[], context: RunContext) => {
        for (const size of sizes) await context.invoke(modelCall, size)
        return context.treeUsage.costUsd
      },
    })
    // $0.0004 a call against $0.0005: the second call starts with the budget not yet spent; the third finds it spent.
    const error = await batch.invoke([400, 400, 400], { budget: { maxCostUsd: 0.0005 } }).catch((caught) => caught)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect((error as BudgetExceededError).limit).toBe('cost')
  })

  it.fails('a journaled run resumes from a journal that hands its JSON back with the keys in another order', async () => {
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
    expect(NonDeterminismError.isInstance(resumed) ? resumed.message : resumed).toBe('Hello, Ada 1')
    expect(runs).toBe(2)
  })

  it.fails('FSM.onTransition refuses a listener that is not a function with a ConfigurationError, when it is given', () => {
    const machine = new FSM({ name: 'door', initial: 'closed', transitions: { closed: ['open'], open: ['closed'] } })
    let thrown: unknown
    try {
      machine.onTransition('open' as never)
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true)
    expect((thrown as ConfigurationError).message).toBe('FSM: listener must be a function, got "open"')
  })

  it.fails('formatRunTree refuses what is not a run record (a trace not awaited, an output) with a ConfigurationError', async () => {
    const assess = defineFunction({ name: 'Assess', run: (id: string) => `approve ${id}` })
    const notRecords: unknown[] = [assess.trace('A-1'), await assess.invoke('A-1'), undefined]
    for (const notRecord of notRecords) {
      let thrown: unknown
      try {
        formatRunTree(notRecord as RunRecord)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown) && thrown.option).toBe('record')
      expect((thrown as Error).message).toMatch(
        /^formatRunTree: record must be a RunRecord \(what trace resolves with\)/,
      )
    }
  })
})
