import { registerSecret } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineFunction } from './define-function.js'
import { ConfigurationError, TinyLLMError, ValidationError } from './errors.js'
import type { RunRecord } from './run-record.js'
import { formatRunTree } from './run-tree.js'

describe('formatRunTree', () => {
  it('refuses an option it does not know, or of the wrong kind, with a ConfigurationError', async () => {
    const record = await defineFunction({ name: 'plain', run: () => 1 }).trace(undefined)
    expect(() => formatRunTree(record, { colours: true } as never)).toThrow(
      'formatRunTree: colours is not an option; did you mean colors?',
    )
    expect(() => formatRunTree(record, { states: 'all' } as never)).toThrow(
      "formatRunTree: states must be one of 'full', 'compact', got \"all\"",
    )
    expect(() => formatRunTree(record, { colors: 'yes' } as never)).toThrow(ConfigurationError)
    expect(formatRunTree(record, { colors: false, states: 'full' })).toContain('init → input_validation')
  })

  it('prints a ValidationError read back from JSON without its issues by its message', async () => {
    const record = await defineFunction({ name: 'f', run: () => 1 }).trace(undefined)
    const error = TinyLLMError.fromJSON({ name: 'ValidationError', message: 'f: invalid output', state: 'running' })
    const failed = { ...record, status: 'failed', error } as RunRecord
    expect(formatRunTree(failed)).toContain('ValidationError in running: f: invalid output')
  })

  it('writes the control characters a run was handed as escapes, so no terminal escape or extra line is printed', async () => {
    const record = await defineFunction({
      name: 'name\u001b[2J',
      run: (_: undefined, context) => {
        context.annotate('model\u009b31m', 'gpt\u001b]0;title\u0007')
        context.annotate('finishReasons', ['length\r\nfake line'])
        throw new TinyLLMError({ message: 'boom \u001b[31mred\u007f' })
      },
    }).trace(undefined)
    const tree = formatRunTree(record)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it checks.
    expect(tree).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    expect(tree.split('\n')).toHaveLength(3)
    expect(tree).toContain('name\\u001b[2J')
    expect(tree).toContain('model\\u009b31m=gpt\\u001b]0;title\\u0007')
    expect(tree).toContain('finishReasons=["length\\r\\nfake line"]')
    expect(tree).toContain('TinyLLMError: boom \\u001b[31mred\\u007f')
    const coloured = formatRunTree(record, { colors: true })
    expect(coloured).toContain('\u001b[1mname\\u001b[2J\u001b[0m')
  })

  it('writes the states of a record edited in its JSON as escapes, and refuses attempts that are no number', async () => {
    const record = await defineFunction({
      name: 'flaky',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: (_: undefined, context) => {
        if (context.attempt === 1) throw new Error('once')
        return 1
      },
    }).trace(undefined)
    const edited = JSON.parse(JSON.stringify(record))
    edited.states[1].state = 'input_validation\n\u001b[2Jfake line'
    const tree = formatRunTree(edited)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it checks.
    expect(tree).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    expect(tree.split('\n')).toHaveLength(3)
    expect(tree).toContain('init → input_validation\\n\\u001b[2Jfake line → running')
    // A count printed as it is would write what it holds: `attempts=` followed by two new lines.
    const retried = edited.states.findIndex((entry: { state: string }) => entry.state === 'retrying')
    const broken = [
      { ...edited, attempts: '\n\n5' },
      { ...edited, attempts: { count: 5 } },
      { ...edited, states: edited.states.with(retried, { ...edited.states[retried], attempt: '1\n\nfake line' }) },
    ]
    for (const attempts of broken) {
      let thrown: unknown
      try {
        formatRunTree(attempts)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown) && thrown.option).toBe('record')
    }
  })

  it('replaces a secret in a Function’s name, an error’s name or state, as the record’s JSON does', async () => {
    const key = 'sk-proj-RunTreeNameCanary0123456789abcdef'
    const release = registerSecret(key)
    try {
      class LeakyError extends TinyLLMError {
        override readonly name = `LeakyError ${key}`
      }
      const record = await defineFunction({
        name: `child ${key}`,
        retry: { attempts: 2, initialDelayMs: 0 },
        run: () => {
          throw new LeakyError({ message: 'refused', state: `running ${key}`, retryable: true })
        },
      }).trace(undefined)
      // Checked as booleans: a failure must not print the key.
      expect(JSON.stringify(record).includes(key)).toBe(false)
      const tree = formatRunTree(record)
      expect(tree.includes(key)).toBe(false)
      expect(tree).toContain('✖ child [REDACTED] (function)')
      expect(tree).toContain('↻ attempt 1 failed, retrying: LeakyError [REDACTED] in running [REDACTED]: refused')
      expect(formatRunTree(record, { colors: true }).includes(key)).toBe(false)
    } finally {
      release()
    }
  })

  it('prints at most 1,000 characters of an annotation or an error message on a line', async () => {
    const record = await defineFunction({
      name: 'wordy',
      run: (_: undefined, context) => {
        context.annotate('finishReasons', ['F'.repeat(1_000_000)])
        context.annotate('K'.repeat(1_000), 'V'.repeat(1_000_000))
        throw new TinyLLMError({ message: `wordy: ${'E'.repeat(1_000_000)}` })
      },
    }).trace(undefined)
    const lines = formatRunTree(record).split('\n')
    expect(lines[0]).toContain('finishReasons=["FFF')
    expect(lines[0]?.match(/ (K+…)=V+…/)?.[1]?.length).toBeLessThanOrEqual(101)
    // Each value, and the error's message, cut at 1,000 characters (and the cut's mark).
    expect(lines[0]?.match(/=(V+…)/)?.[1]?.length).toBeLessThanOrEqual(1_001)
    expect(lines[0]?.match(/(\["F+…)/)?.[1]?.length).toBeLessThanOrEqual(1_001)
    expect(lines.at(-1)).toMatch(/^ {3}TinyLLMError: wordy: E+…$/)
    expect(lines.at(-1)?.trimStart().length).toBeLessThanOrEqual(1_001)
    for (const line of lines) expect(line.length).toBeLessThan(2_300)
  })

  it('reads of an annotated object’s long text only what a line shows, however many runs hold it', async () => {
    // 2,000 runs each annotated with a request holding one shared 1 MB text: a line shows 1,000 characters of it, and
    // redacting all of it for every run would read 2 GB (over a minute); what a line shows takes well under a second.
    const document = 'd'.repeat(1_000_000)
    const ask = defineFunction({
      name: 'Ask',
      run: (question: number, context) => {
        context.annotate('request', { document, question })
        return question
      },
    })
    const batch = defineFunction({
      name: 'Batch',
      run: async (_: undefined, context) => {
        for (let question = 0; question < 2_000; question++) await context.invoke(ask, question)
      },
    })
    const record = await batch.trace(undefined)
    const started = performance.now()
    const lines = formatRunTree(record).split('\n')
    expect(performance.now() - started).toBeLessThan(20_000)
    expect(lines).toHaveLength(2_001)
    expect(lines[1]).toMatch(/request=\{"document":"d+…/)
    for (const line of lines) expect(line.length).toBeLessThan(1_100)
  }, 180_000)

  it('prints a ValidationError read back from JSON whose issues have another shape, never throwing', async () => {
    const record = await defineFunction({ name: 'f', run: () => 1 }).trace(undefined)
    const issues = [
      { message: 'no path' },
      null,
      { path: 'a.b', message: 'a path as text' },
      { path: [{}], message: 5 },
    ]
    const error = TinyLLMError.fromJSON({
      name: 'ValidationError',
      message: 'f: invalid output',
      state: 'running',
      issues,
    })
    expect(formatRunTree({ ...record, status: 'failed', error } as RunRecord)).toContain(
      'ValidationError in running: (root): no path; (root): undefined; ["a.b"]: a path as text; ["{}"]: 5',
    )
  })

  it('refuses options whose reading throws with a ConfigurationError', async () => {
    const record = await defineFunction({ name: 'f', run: () => 1 }).trace(undefined)
    const options = {
      get colors(): boolean {
        throw new Error('no colours')
      },
    }
    expect(() => formatRunTree(record, options)).toThrow(ConfigurationError)
  })

  it('prints an error read back from JSON whatever its fields hold, on one line of at most 1,000 characters', async () => {
    const record = await defineFunction({ name: 'f', run: () => 1 }).trace(undefined)
    const odd = { toString: 1 }
    const errors = [
      TinyLLMError.fromJSON({
        name: 'ValidationError',
        message: 'm',
        state: odd,
        issues: [{ path: [odd], message: odd }],
      }),
      TinyLLMError.fromJSON({ name: 'TimeoutError', message: 'm', state: 's'.repeat(10_000_000) }),
      TinyLLMError.fromJSON({ name: 'TinyLLMError', message: '\nthe message after a newline' }),
      new ValidationError({
        functionName: 'f',
        state: 'input_validation',
        issues: Array.from({ length: 10 }, () => ({ path: ['p'.repeat(500)], message: 'm'.repeat(500) })),
      }),
    ]
    const printed = errors.map((error) => formatRunTree({ ...record, status: 'failed', error } as RunRecord))
    for (const text of printed) for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(1_010)
    expect(printed[0]).toContain('ValidationError in {"toString":1}: ["{\\"toString\\":1}"]: {"toString":1}')
    expect(printed[2]).toContain('TinyLLMError: the message after a newline')
  })

  it('renders a finished tree with status, kind, state path, annotations, usage and errors', async () => {
    let calls = 0
    const flaky = defineFunction({
      name: 'flaky',
      retry: { attempts: 2, initialDelayMs: 1 },
      run: (_: unknown, context) => {
        calls += 1
        if (calls === 1) throw new Error('transient')
        context.addUsage({ inputTokens: 10, outputTokens: 5, totalTokens: 15 }, 0.001)
        return 'ok'
      },
    })
    const strict = defineFunction({ name: 'strict', input: z.object({ id: z.string() }), run: () => 1 })
    const root = defineFunction({
      name: 'root',
      run: async (_: unknown, context) => {
        context.annotate('choice', 'bad')
        await context.invoke(flaky, undefined)
        await context.invoke(strict, { id: 3 } as never)
      },
    })
    const record = await root.trace(undefined)
    const text = formatRunTree(record)
    const lines = text.split('\n')
    expect(lines[0]).toMatch(/^✖ root \(function\) [\d.]+ (µs|ms) choice=bad tokens=15 cost=\$0\.001000$/)
    expect(text).toContain('├─ ✔ flaky (function)')
    expect(text).toContain('attempts=2')
    expect(text).toContain(
      '↻ attempt 1 failed, retrying: FunctionError in running: flaky: running threw Error: transient',
    )
    expect(text).toContain(
      'init → input_validation → running → retrying → running → output_validation → processing_output → complete',
    )
    expect(text).toContain('└─ ✖ strict (function)')
    expect(text).toContain('ValidationError in input_validation: id: Invalid input: expected string, received number')
    expect(record.usage?.totalTokens).toBe(15)
    expect(record.children[0]?.usage?.costUsd).toBe(0.001)
    expect(text).not.toContain('\u001b[')
    expect(formatRunTree(record, { colors: true })).toContain('\u001b[31m✖')
  })
})

describe('formatRunTree on hostile errors', () => {
  it('formatRunTree prints a run that failed in an error whose state or message getter throws', async () => {
    for (const field of ['state', 'message', 'name']) {
      const step = defineFunction({
        name: 'step',
        run: () => {
          const error = new TinyLLMError({ message: 'boom' })
          Object.defineProperty(error, field, {
            get: () => {
              throw new Error(`${field} cannot be read`)
            },
          })
          throw error
        },
      })
      const record = await step.trace(undefined)
      expect(record.status).toBe('failed')
      // "Run records serialise whatever they hold"; the tree of a record is printed, never a throw.
      expect(() => formatRunTree(record)).not.toThrow()
    }
  })

  it('formatRunTree refuses what is not a run record (a trace not awaited, an output) with a ConfigurationError', async () => {
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

  it('refuses states or usage that no run record holds with a ConfigurationError naming record', () => {
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

  it('refuses a record that holds itself or one run at two places, and prints one nested deeper than the call stack goes', () => {
    const leaf = (name: string): RunRecord =>
      JSON.parse(
        JSON.stringify({
          function: name,
          kind: 'function',
          status: 'complete',
          states: ['init', 'input_validation', 'running', 'output_validation', 'processing_output', 'complete'].map(
            (state) => ({ state, at: 0, attempt: 1 }),
          ),
          attempts: 1,
          children: [],
          annotations: {},
        }),
      )
    const top = leaf('top')
    const middle = leaf('middle')
    top.children.push(middle, leaf('sibling'))
    middle.children.push(top)
    let thrown: unknown
    try {
      formatRunTree(top)
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown) && thrown.option).toBe('record')
    expect((thrown as Error).message).toBe(
      'formatRunTree: record must be a tree of runs, got a run met twice (2 levels down)',
    )

    // Forty records that each hold the next twice would print 2⁴⁰ lines: one run at two places is refused too.
    let shared = leaf('level 40')
    for (let level = 39; level >= 0; level--) {
      const parent = leaf(`level ${level}`)
      parent.children.push(shared, shared)
      shared = parent
    }
    expect(() => formatRunTree(shared)).toThrow(
      'formatRunTree: record must be a tree of runs, got a run met twice (40 levels down)',
    )
    // Copies that share nothing print as any tree.
    const twice = leaf('twice')
    twice.children.push(leaf('copy'), leaf('copy'))
    expect(formatRunTree(twice).split('\n').slice(1)).toEqual(['├─ ✔ copy (function)', '└─ ✔ copy (function)'])

    let deep = leaf('step 0')
    const root = deep
    for (let index = 1; index < 5_000; index++) {
      const child = leaf(`step ${index}`)
      deep.children.push(child)
      deep = child
    }
    const lines = formatRunTree(root).split('\n')
    expect(lines).toHaveLength(5_000)
    // Past 100 levels the guides are folded into the level's number: the text grows with the depth, not its square
    // (20,000 levels of guides made a string longer than the runtime can hold).
    expect(lines[100]).toBe(`${'   '.repeat(99)}└─ ✔ step 100 (function)`)
    expect(lines[101]).toBe('⋯101 └─ ✔ step 101 (function)')
    expect(lines.at(-1)).toBe('⋯4999 └─ ✔ step 4999 (function)')
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(330)
  })

  it('tells an error once, where it happened: a run that failed with a child’s error names the child', async () => {
    const parse = defineFunction({
      name: 'parse',
      run: (): number => {
        throw new Error('unexpected token < in JSON')
      },
    })
    const inner = defineFunction({ name: 'inner', run: (input: number, context) => context.invoke(parse, input) })
    const outer = defineFunction({
      name: 'outer',
      run: async (input: number, context) => {
        try {
          return await context.invoke(inner, input)
        } catch {
          throw new Error('outer gave up')
        }
      },
    })
    const lines = formatRunTree(await outer.trace(1)).split('\n')
    expect(lines.filter((line) => line.includes('Error'))).toEqual([
      '│  FunctionError in running: outer: running threw Error: outer gave up',
      '   │  FunctionError from parse (below)',
      '         FunctionError in running: parse: running threw Error: unexpected token < in JSON',
    ])
  })
})
