import { getEventListeners } from 'node:events'
import {
  AbortError,
  ConfigurationError,
  defineFunction,
  Function,
  formatRunTree,
  type RunContext,
  ValidationError,
} from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { configurationErrorOf, deferred, growingList, statesOf, withoutDurations } from './__fixtures__/helpers.js'
import { Chain } from './chain.js'

const parse = defineFunction({ name: 'parse', run: (text: string) => Number(text) })
const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
const format = defineFunction({ name: 'format', run: (value: number) => ({ text: `= ${value}` }) })

describe('Chain', () => {
  it('passes each output to the next child and resolves with the last output', async () => {
    const chain = new Chain({ name: 'calc', children: [parse, double, double, format] })
    expect(await chain.invoke('5')).toEqual({ text: '= 20' })
    expect(chain.kind).toBe('chain')
  })

  it('records every child as a child run, in order', async () => {
    const chain = new Chain({ name: 'calc', children: [parse, double, format] })
    const record = await chain.trace('2')
    expect(record.status).toBe('complete')
    expect(record.kind).toBe('chain')
    expect(record.children.map((child) => [child.function, child.status, child.output])).toEqual([
      ['parse', 'complete', 2],
      ['double', 'complete', 4],
      ['format', 'complete', { text: '= 4' }],
    ])
    expect(record.children.every((child) => child.parentRunId === record.runId)).toBe(true)
  })

  it('fails with the failing child’s own error, and the tree shows which child failed in which state', async () => {
    let formatted = 0
    const positive = defineFunction({
      name: 'positive',
      output: z.number().positive(),
      run: (value: number) => value,
    })
    const counted = defineFunction({
      name: 'format',
      run: (value: number) => {
        formatted += 1
        return value
      },
    })
    const chain = new Chain({ name: 'calc', children: [parse, positive, counted] })
    const error = await chain.invoke('-3').catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).functionName).toBe('positive')
    expect((error as ValidationError).state).toBe('output_validation')
    expect(formatted).toBe(0)

    const record = await chain.trace('-3')
    expect(record.status).toBe('failed')
    expect(record.error?.functionName).toBe('positive')
    expect(record.children.map((child) => [child.function, child.status])).toEqual([
      ['parse', 'complete'],
      ['positive', 'failed'],
    ])
    expect(statesOf(record.children[1]!)).toEqual([
      'init',
      'input_validation',
      'running',
      'output_validation',
      'failed',
    ])
    expect(withoutDurations(formatRunTree(record))).toBe(
      [
        '✖ calc (chain)',
        '│  init → input_validation → running → failed',
        '│  ValidationError from positive (below)',
        '├─ ✔ parse (function)',
        '└─ ✖ positive (function)',
        '      init → input_validation → running → output_validation → failed',
        '      ValidationError in output_validation: (root): Too small: expected number to be >0',
      ].join('\n'),
    )
  })

  it('validates its own input and output schemas around the children', async () => {
    const chain = new Chain({
      name: 'calc',
      input: z.string().regex(/^\d+$/),
      output: z.object({ text: z.string() }),
      children: [parse, format],
    })
    expect(await chain.invoke('7')).toEqual({ text: '= 7' })
    const error = await chain.invoke('seven').catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).functionName).toBe('calc')
    expect((error as ValidationError).state).toBe('input_validation')
  })

  it('refuses to be built without children, or with something that is not a Function', () => {
    expect(() => new Chain({ name: 'empty', children: [] as never })).toThrow(ConfigurationError)
    expect(configurationErrorOf(() => new Chain({ name: 'empty', children: [] as never }))).toEqual({
      option: 'children',
      message: 'empty: children must be a non-empty list of Functions, got []',
    })
    expect(configurationErrorOf(() => new Chain({ name: 'odd', children: [parse, { name: 'x' }] as never }))).toEqual({
      option: 'children[1]',
      message: 'odd: children[1] must be a Function, got an object',
    })
    expect(configurationErrorOf(() => new Chain({ name: 'text', children: 'parse' as never }))).toEqual({
      option: 'children',
      message: 'text: children must be a list of Functions, got "parse"',
    })
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(configurationErrorOf(() => new Chain({ name: 'holey', children: [parse, , parse] as never }))).toEqual({
      option: 'children[1]',
      message: 'holey: children[1] must be a Function, got undefined',
    })
    const unreadable = new Proxy([parse], {
      get(target, key) {
        if (key === '0') throw new Error('trap')
        return Reflect.get(target, key)
      },
    })
    expect(configurationErrorOf(() => new Chain({ name: 'trap', children: unreadable as never }))).toEqual({
      option: 'children',
      message: 'trap: children could not be read: Error: trap',
    })
  })

  it('reads the length of its list once, so a list whose length grows as it is read cannot keep it building', () => {
    // The first read says 2: without reading it once, construction would never end.
    const chain = new Chain({ name: 'growing', children: growingList(() => double) as never })
    expect(chain.children).toEqual([double, double])
  })

  it('refuses an option it does not know, and suggests the one meant', () => {
    const build = () => new Chain({ name: 'calc', children: [parse], retries: 2 } as never)
    expect(configurationErrorOf(build)).toEqual({
      option: 'retries',
      message:
        'calc: retries is not an option; did you mean retry? ' +
        '(known: attemptTimeoutMs, children, durable, input, name, output, processedOutput, retry, timeoutMs)',
    })
    expect(() => new Chain({ name: 'calc', children: [parse], timeoutMs: 1_000, retry: { attempts: 2 } })).not.toThrow()
  })

  it('runs 10,000 steps without overflowing the stack', async () => {
    const increment = defineFunction({ name: 'increment', run: (value: number) => value + 1 })
    const steps = Array.from({ length: 10_000 }, () => increment)
    const chain = new Chain({ name: 'long', children: steps })
    expect(await chain.invoke(0)).toBe(10_000)
    const record = await chain.trace(0)
    expect(record.children).toHaveLength(10_000)
    expect(record.output).toBe(10_000)
  })

  it('stops at the running child when aborted, starts no further child, and leaves no listener behind', async () => {
    const gate = deferred()
    const started: string[] = []
    class Step extends Function<number, number> {
      async run(value: number, context: RunContext) {
        started.push(this.name)
        if (this.name === 'second') {
          gate.resolve()
          await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))
        }
        return value + 1
      }
    }
    const chain = new Chain({
      name: 'abortable',
      children: [new Step({ name: 'first' }), new Step({ name: 'second' }), new Step({ name: 'third' })],
    })
    const controller = new AbortController()
    const pending = chain.trace(0, { signal: controller.signal })
    await gate.promise
    controller.abort('user cancelled')
    const record = await pending
    expect(started).toEqual(['first', 'second'])
    expect(record.status).toBe('failed')
    expect(AbortError.isInstance(record.error)).toBe(true)
    expect(record.children.map((child) => [child.function, child.status])).toEqual([
      ['first', 'complete'],
      ['second', 'failed'],
    ])
    expect(AbortError.isInstance(record.children[1]!.error)).toBe(true)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('lets a timer abort a long chain of synchronous steps, or a chain of short chains, instead of running every step first', async () => {
    let ran = 0
    const increment = defineFunction({
      name: 'increment',
      run: (value: number) => {
        ran += 1
        return value + 1
      },
    })
    const long = new Chain({ name: 'long', children: Array.from({ length: 50_000 }, () => increment) })
    // 50 chains of 1,000 steps each: no chain alone reaches the 1,024 steps after which a chain lets the loop turn.
    const short = new Chain({ name: 'short', children: Array.from({ length: 1_000 }, () => increment) })
    const nested = new Chain({ name: 'nested', children: Array.from({ length: 50 }, () => short) })
    for (const chain of [long, nested]) {
      ran = 0
      const controller = new AbortController()
      // An abort from the event loop (a timer, a closed socket): it can only run once the chain lets the loop turn.
      setImmediate(() => controller.abort('user cancelled'))
      const error = await chain.invoke(0, { signal: controller.signal }).catch((thrown: unknown) => thrown)
      expect(AbortError.isInstance(error)).toBe(true)
      expect(ran).toBeLessThan(50_000)
    }
  })

  it('describes itself with its children in order', () => {
    const chain = new Chain({ name: 'calc', children: [parse, new Chain({ name: 'inner', children: [double] })] })
    expect(chain.describe()).toEqual({
      kind: 'chain',
      name: 'calc',
      layout: 'sequence',
      children: [
        { kind: 'function', name: 'parse' },
        { kind: 'chain', name: 'inner', layout: 'sequence', children: [{ kind: 'function', name: 'double' }] },
      ],
    })
  })
})
