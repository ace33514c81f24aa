import { getEventListeners } from 'node:events'
import { Writable } from 'node:stream'
import { inspect } from 'node:util'
import { runInNewContext } from 'node:vm'
import { createMemoryLogger, registerSecret, setDefaultLogger } from '@tinyllm/logger'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { defineFunction } from './define-function.js'
import {
  AbortError,
  BudgetExceededError,
  ConfigurationError,
  FunctionError,
  StepLimitError,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from './errors.js'
import type { LifecycleEvent, RunWrapper } from './events.js'
import { onLifecycleEvent, setRunWrapper } from './events.js'
import { Function } from './function.js'
import { type InvokeOptions, partNotHandedOut, type RunContext } from './run-context.js'
import type { RunRecord } from './run-record.js'
import { formatRunTree } from './run-tree.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import type { UsageTotals } from './usage.js'
import { checkBudget } from './usage.js'

/** A Standard Schema whose `validate` is the given function. */
function schemaOf(validate: (value: unknown) => unknown): StandardSchemaV1 {
  return {
    '~standard': { version: 1, vendor: 'test', validate: validate as StandardSchemaV1['~standard']['validate'] },
  }
}

const never = new Promise<never>(() => {})
const statesOf = (record: RunRecord) => record.states.map((entry) => entry.state)

describe('every phase honours cancellation and the deadline', () => {
  it('cancels a child its parent left running after the parent ended, when the caller aborts', async () => {
    let childSignal: AbortSignal | undefined
    const child = defineFunction({
      name: 'child',
      run: (_: undefined, context: RunContext) => {
        childSignal = context.signal
        return never
      },
    })
    let left: Promise<unknown> | undefined
    const parent = defineFunction({
      name: 'parent',
      run: (_: undefined, context: RunContext) => {
        left = context.invoke(child, undefined).catch((error: unknown) => error)
        return 'done'
      },
    })
    const controller = new AbortController()
    expect(await parent.invoke(undefined, { signal: controller.signal, timeoutMs: 3_600_000 })).toBe('done')
    expect(childSignal?.aborted).toBe(false)
    controller.abort('the caller left')
    expect(childSignal?.aborted).toBe(true)
    expect(String(await left)).toBe('AbortError: child: aborted in running: the caller left')
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('does none of the work of a run cancelled as it starts, at any depth (a fresh stack every 64 levels)', async () => {
    let ran = 0
    const leaf = defineFunction({ name: 'leaf', run: () => (ran += 1) })
    let controller = new AbortController()
    // The leaf runs `depth` levels down, and the tree is cancelled as soon as it is invoked.
    const nest: Function<number, unknown> = defineFunction({
      name: 'nest',
      run: (depth: number, context: RunContext) => {
        if (depth > 1) return context.invoke(nest, depth - 1)
        const pending = context.invoke(leaf, undefined)
        controller.abort('stop')
        return pending
      },
    })
    for (const depth of [64, 128]) {
      controller = new AbortController()
      const record = await nest.trace(depth, { signal: controller.signal })
      expect(record.status).toBe('failed')
    }
    expect(ran).toBe(0)
  })

  for (const phase of ['input', 'output', 'processedOutput'] as const) {
    it(`a ${phase} schema that never settles ends in a TimeoutError at the run's deadline`, async () => {
      const fn = defineFunction({
        name: 'slow-schema',
        [phase]: schemaOf(() => never),
        timeoutMs: 50,
        run: (value: unknown) => value,
        processOutput: (value: unknown) => value,
      })
      const error = await fn.invoke(1).catch((thrown: unknown) => thrown)
      expect(TimeoutError.isInstance(error)).toBe(true)
    })

    it(`an abort during a slow async ${phase} schema rejects at once instead of resolving later`, async () => {
      const controller = new AbortController()
      let validating: () => void = () => {}
      const started = new Promise<void>((resolve) => {
        validating = resolve
      })
      const fn = defineFunction({
        name: 'async-schema',
        [phase]: schemaOf(() => {
          validating()
          return new Promise((resolve) => setTimeout(() => resolve({ value: 'late' }), 60_000).unref())
        }),
        run: (value: unknown) => value,
        processOutput: (value: unknown) => value,
      })
      const pending = fn.invoke(1, { signal: controller.signal })
      await started
      controller.abort('stop')
      const error = await pending.catch((thrown: unknown) => thrown)
      expect(AbortError.isInstance(error)).toBe(true)
      expect((error as AbortError).reason).toBe('stop')
    })
  }

  for (const state of ['input_validation', 'running', 'processing_output'] as const) {
    it(`a listener that cancels the run on '${state}' keeps the code of that state from being called`, async () => {
      const calls: string[] = []
      const controller = new AbortController()
      const fn = defineFunction({
        name: 'stopped',
        input: schemaOf((value) => {
          calls.push('input schema')
          return { value }
        }),
        run: (value: unknown) => {
          calls.push('run')
          return value
        },
        processOutput: (value: unknown) => {
          calls.push('processOutput')
          return value
        },
      })
      const onEvent = (event: LifecycleEvent) => {
        if (event.to === state) controller.abort('heard enough')
      }
      const error = await fn.invoke(1, { signal: controller.signal, onEvent }).catch((thrown: unknown) => thrown)
      expect(AbortError.isInstance(error)).toBe(true)
      expect((error as AbortError).reason).toBe('heard enough')
      const before = { input_validation: [], running: ['input schema'], processing_output: ['input schema', 'run'] }
      expect(calls).toEqual(before[state])
    })
  }

  it('a synchronous run that outlasts the deadline fails with the TimeoutError, not its value', async () => {
    const fn = defineFunction({
      name: 'busy',
      timeoutMs: 5,
      run: () => {
        const until = Date.now() + 30
        while (Date.now() < until) {
          // Synchronous work no timer can interrupt.
        }
        return 'done'
      },
    })
    const record = await fn.trace(undefined)
    expect(TimeoutError.isInstance(record.error)).toBe(true)
    expect(record.output).toBeUndefined()
  })

  it('a run whose next wait (retry-after) outlasts its deadline fails now, with a TimeoutError', async () => {
    let attempts = 0
    const fn = defineFunction({
      name: 'patient',
      timeoutMs: 60_000,
      retry: { attempts: 3, maxRetryAfterMs: 600_000 },
      run: () => {
        attempts += 1
        throw new TinyLLMError({ message: 'busy', retryable: true, retryAfterMs: 120_000 })
      },
    })
    const error = await fn.invoke(undefined).catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/would outlast/)
    expect(attempts).toBe(1)
  })

  it('context.invoke ends the call of an Invocable that is no Function at its timeoutMs, deadline or abort, even one that ignores them', async () => {
    let calls = 0
    const deaf = {
      name: 'deaf',
      invoke: (): Promise<never> => {
        calls += 1
        return new Promise<never>(() => {})
      },
    }
    const controller = new AbortController()
    const root = defineFunction({
      name: 'root',
      run: async (_: undefined, context: RunContext) => {
        const settle = (options: InvokeOptions) => context.invoke(deaf, 'x', options).catch((error: unknown) => error)
        const timedOut = await settle({ timeoutMs: 20 })
        const pastDeadline = await settle({ deadline: Date.now() - 1 })
        const aborting = settle({ signal: controller.signal })
        controller.abort()
        return { timedOut, pastDeadline, aborted: await aborting }
      },
    })
    const { timedOut, pastDeadline, aborted } = await root.invoke(undefined)
    expect(TimeoutError.isInstance(timedOut) && timedOut.message).toMatch(/^deaf: /)
    expect(TimeoutError.isInstance(pastDeadline)).toBe(true)
    expect(AbortError.isInstance(aborted)).toBe(true)
    // The deadline had passed: nothing was started.
    expect(calls).toBe(2)
    // The run invoking it is cancelled: so is the call.
    const parentTimeout = defineFunction({
      name: 'parent',
      timeoutMs: 20,
      run: (_: undefined, context: RunContext) => context.invoke(deaf, 'x'),
    })
    expect(TimeoutError.isInstance(await parentTimeout.invoke(undefined).catch((error: unknown) => error))).toBe(true)
  })
})

describe('validation never lets a value through unchecked', () => {
  it('says what each branch of a union found, never a bare "Invalid input"', async () => {
    const f = defineFunction({
      name: 'f',
      input: z.object({ items: z.array(z.union([z.string(), z.number()])) }),
      run: () => 1,
    })
    const error = await f.invoke({ items: [true] } as never).catch((thrown: unknown) => thrown)
    expect((error as ValidationError).issues).toEqual([
      {
        path: ['items', 0],
        message:
          'Invalid input (Invalid input: expected string, received boolean; or Invalid input: expected number, received boolean)',
      },
    ])
    // A path segment that is an item of a set, or an object as a map's key, is shown, not taken for an unreadable answer.
    const sets = defineFunction({
      name: 'sets',
      input: schemaOf(() => ({
        issues: [
          { message: 'bad item', path: [{ key: null }] },
          { message: 'bad key', path: [{ key: Object.create(null) }] },
        ],
      })),
      run: () => 1,
    })
    const refused = await sets.invoke(1).catch((thrown: unknown) => thrown)
    expect((refused as ValidationError).issues).toEqual([
      { path: ['(item)'], message: 'bad item' },
      { path: ['{}'], message: 'bad key' },
    ])
  })

  it('keeps every other issue when one of them, or a key of its path, cannot be read (a getter that throws)', async () => {
    const unreadable = (what: string) => ({
      get [what]() {
        throw new Error(`no ${what}`)
      },
    })
    const f = defineFunction({
      name: 'f',
      input: schemaOf(() => ({
        issues: [
          { message: 'bad key', path: ['a', unreadable('key'), 1] },
          { message: 'bad income', path: ['income'] },
          unreadable('message'),
          {
            message: 'bad path',
            get path() {
              throw new Error('no path')
            },
          },
        ],
      })),
      run: () => 1,
    })
    const error = await f.invoke(1).catch((thrown: unknown) => thrown)
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).issues).toEqual([
      { path: ['a', '(unreadable key: Error: no key)', 1], message: 'bad key' },
      { path: ['income'], message: 'bad income' },
      { path: [], message: 'the schema reported an issue that could not be read: Error: no message' },
      { path: [], message: 'the schema reported an issue that could not be read: Error: no path' },
    ])
  })

  it('names at most 5 branches of a union, reading no more of a list of them as long as 2³²−1', async () => {
    const branches = new Array(2 ** 32 - 1)
    branches[0] = { message: 'expected string' }
    const f = defineFunction({
      name: 'f',
      input: schemaOf(() => ({ issues: [{ message: 'Invalid input', path: [], issues: branches }] })),
      run: () => 1,
    })
    const error = await f.invoke(1).catch((thrown: unknown) => thrown)
    expect((error as ValidationError).issues).toEqual([{ path: [], message: 'Invalid input (expected string)' }])
  })

  it('awaits a thenable, and a promise from another realm', async () => {
    const thenable = defineFunction({
      name: 'thenable',
      input: schemaOf((value) => ({
        // biome-ignore lint/suspicious/noThenProperty: a schema answering a thenable is what this test is about.
        then: (resolve: (result: unknown) => void) => resolve({ value: { value } }),
      })),
      run: (input: unknown) => input,
    })
    expect(await thenable.invoke(7)).toEqual({ value: 7 })
    const otherRealm = defineFunction({
      name: 'other-realm',
      input: schemaOf((value) => runInNewContext('Promise.resolve({ value: { wrapped: value } })', { value })),
      run: (input: unknown) => input,
    })
    expect(await otherRealm.invoke(3)).toEqual({ wrapped: 3 })
  })

  it('fails with a ValidationError when a schema answers something that is not a result', async () => {
    const answers: unknown[] = [
      undefined,
      null,
      { issues: 'bad' },
      { issues: [] },
      { issues: [{ message: 'no', path: [null, { key: undefined }] }] },
      {},
    ]
    for (const answer of answers) {
      const fn = defineFunction({ name: 'odd-schema', input: schemaOf(() => answer), run: () => 'ran' })
      const error = await fn.invoke(1).catch((thrown: unknown) => thrown)
      expect(ValidationError.isInstance(error), JSON.stringify(answer)).toBe(true)
      expect((error as ValidationError).state).toBe('input_validation')
    }
  })

  it('refuses at construction a schema whose properties throw when read', () => {
    const hostile = Object.defineProperty({}, '~standard', {
      get: () => {
        throw new Error('getter boom')
      },
    })
    expect(() => defineFunction({ name: 'hostile', input: hostile as StandardSchemaV1, run: () => 1 })).toThrow(
      ConfigurationError,
    )
  })

  it('lists at most 20 issues in the message and 5 in the run tree, and keeps every one on the error', async () => {
    const many = Array.from({ length: 100_000 }, (_, index) => ({ message: `bad ${index}`, path: [index] }))
    const fn = defineFunction({ name: 'many', output: schemaOf(() => ({ issues: many })), run: () => 1 })
    const record = await fn.trace(undefined)
    const error = record.error as ValidationError
    expect(error.issues).toHaveLength(100_000)
    expect(error.message.split('\n')).toHaveLength(22)
    expect(error.message).toMatch(/- \[19\]: bad 19\n {2}- … and 99980 more$/)
    const tree = formatRunTree(record)
    expect(tree).toMatch(/\[4\]: bad 4; … and 99995 more/)
    expect(tree.length).toBeLessThan(1_000)
  })

  it('cuts an issue’s path short in its message, JSON and run tree, for an input key 10 MB long', async () => {
    const key = 'k'.repeat(10_000_000)
    const fn = defineFunction({
      name: 'keyed',
      input: z.record(z.string(), z.number()),
      run: (value: unknown) => value,
    })
    const record = await fn.trace({ [key]: 'not a number' } as never)
    const error = record.error as ValidationError
    expect(error.issues[0]?.path).toEqual([key])
    expect(error.message.length).toBeLessThan(1_000)
    expect(formatRunTree(record).length).toBeLessThan(1_000)
    expect(JSON.stringify(error).length).toBeLessThan(10_000)
  })

  it('lists the issues a sparse list holds, at once, however long the list', async () => {
    const failing = (issues: unknown[]) =>
      defineFunction({ name: 'holes', input: schemaOf(() => ({ issues })), run: () => 1 })
        .invoke(undefined)
        .then(
          () => undefined as never,
          (caught: unknown) => caught as ValidationError,
        )
    const none = await failing(new Array(1_000))
    expect(none.issues).toEqual([{ path: [], message: 'the schema reported an empty list of issues' }])
    for (const length of [1_000, 2 ** 32 - 1]) {
      const sparse = new Array(length)
      sparse[7] = { message: 'bad', path: ['a'] }
      sparse[length - 1] = { message: 'worse', path: ['b'] }
      const error = await failing(sparse)
      expect(ValidationError.isInstance(error)).toBe(true)
      expect(error.issues).toEqual([
        { path: ['a'], message: 'bad' },
        { path: ['b'], message: 'worse' },
      ])
      expect(error.message).toBe('holes: invalid input (input_validation, 2 issues)\n  - a: bad\n  - b: worse')
    }
  })

  it('keeps the first 1,000 segments of an issue’s path, so a path as long as 2³²−1 fails the run at once', async () => {
    // A path that says it is as long as a list can be, and throws past its 2,000th segment read: read whole, it would
    // hang the process (a sparse list) or show as a wrong error, not as this one.
    let reads = 0
    const isIndex = (key: PropertyKey): boolean => typeof key === 'string' && /^\d+$/.test(key)
    const path = new Proxy(['items', 3], {
      get: (target, key, receiver) => {
        if (key === 'length') return 2 ** 32 - 1
        if (isIndex(key) && ++reads > 2_000) throw new Error('read past the segments an issue keeps')
        return Reflect.get(target, key, receiver)
      },
      has: (target, key) => isIndex(key) || Reflect.has(target, key),
    })
    const fn = defineFunction({
      name: 'deep',
      input: schemaOf(() => ({ issues: [{ message: 'bad', path }] })),
      run: () => 1,
    })
    const error = (await fn.invoke(undefined).catch((caught: unknown) => caught)) as ValidationError
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(error.issues[0]?.message).toBe('bad')
    expect(error.issues[0]?.path).toHaveLength(1_000)
    expect(error.issues[0]?.path.slice(0, 3)).toEqual(['items', 3, 'undefined'])
    expect(error.message.length).toBeLessThan(1_000)
  })

  it('answers synchronously when the schema does: the output is validated in the same turn', async () => {
    let validatedOutput = false
    const fn = defineFunction({
      name: 'sync',
      output: schemaOf((value) => {
        validatedOutput = true
        return { value }
      }),
      run: (value: number) => value + 1,
    })
    const pending = fn.invoke(1)
    expect(validatedOutput).toBe(true)
    expect(await pending).toBe(2)
  })
})

describe('invoke never throws: bad options are a rejected, typed error', () => {
  const fn = defineFunction({ name: 'f', run: () => 'ok' })
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['timeoutMs: -1', { timeoutMs: -1 }, /f: timeoutMs must be a number of ms > 0 and ≤ 2147483647, got -1/],
    ['timeoutMs: NaN', { timeoutMs: Number.NaN }, /timeoutMs must be/],
    ['timeoutMs: 3e10', { timeoutMs: 3e10 }, /≤ 2147483647/],
    [
      'logger: {}',
      { logger: {} },
      /^f: logger must be a tinyllm Logger, a pino logger, or an object with debug, info, warn and error methods, got an object$/,
    ],
    [
      'budget NaN',
      { budget: { maxTokens: Number.NaN } },
      /f: budget.maxTokens must be a number of tokens ≥ 0, got NaN/,
    ],
    [
      'budget typo',
      { budget: { maxToken: 5 } },
      /^f: budget.maxToken is not an option; did you mean budget.maxTokens\?/,
    ],
    ['budget: a list', { budget: [] }, /^f: budget must be \{ maxTokens\?, maxCostUsd\? \}, got \[\]/],
    ['signal', { signal: 'stop' }, /f: signal must be an AbortSignal/],
    [
      'a signal with no removeEventListener',
      { signal: { aborted: false, addEventListener: () => {} } },
      /f: signal must be an AbortSignal, got an object/,
    ],
    ['maxConcurrentRuns', { maxConcurrentRuns: 0 }, /f: maxConcurrentRuns must be an integer ≥ 1, got 0/],
    ['onEvent', { onEvent: 'log' }, /onEvent must be a function/],
    ['a misspelt key', { timeoutMS: 5 }, /f: timeoutMS is not an option; did you mean timeoutMs\?/],
    ['options: an empty list', [], /^f: options must be an object, got \[\]/],
    ['stream: 5', { stream: 5 }, /f: stream must be a function, got 5/],
    [
      'options whose reading throws',
      new Proxy(
        {},
        {
          get: () => {
            throw new Error('trap get')
          },
          ownKeys: () => {
            throw new Error('trap ownKeys')
          },
        },
      ),
      /f: options could not be read: Error: trap/,
    ],
    [
      'a getter that throws',
      Object.defineProperty({}, 'signal', {
        enumerable: true,
        get: () => {
          throw new Error('getter boom')
        },
      }),
      /getter boom/,
    ],
    ['a 10 MB key', { ['A'.repeat(10_000_000)]: 1 }, /^f: A{64}… is not an option \(known: /],
    [
      'a 10 MB runId',
      { runId: 'R'.repeat(10_000_000) },
      /^f: runId must be a string of at most 1,000 characters, got "R{10,}/,
    ],
    ['a 10 MB key in the budget', { budget: { ['B'.repeat(10_000_000)]: 1 } }, /^f: budget.B{64}… is not an option/],
  ]
  for (const [label, options, message] of cases) {
    it(label, async () => {
      let result: Promise<unknown> | undefined
      expect(() => {
        result = fn.invoke(undefined, options as never)
      }).not.toThrow()
      const error = await (result as Promise<unknown>).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message.length).toBeLessThan(1_000)
    })
  }

  it('options that are not an object', async () => {
    for (const options of [5, 'fast', null]) {
      const error = await fn.invoke(undefined, options as never).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/^f: options must be an object, got /)
    }
  })

  it('context.invoke refuses what invoke refuses, rejected and never thrown: bad options, and no Function at all', async () => {
    const unreadable = Object.defineProperty({}, 'signal', {
      enumerable: true,
      get: () => {
        throw new Error('getter boom')
      },
    })
    const trap = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap ownKeys')
        },
      },
    )
    const cases: Array<[unknown, unknown, RegExp]> = [
      [fn, 5, /^f: options must be an object, got 5/],
      [fn, 'fast', /^f: options must be an object, got "fast"/],
      [fn, null, /^f: options must be an object, got null/],
      [fn, unreadable, /^f: options could not be read: Error: getter boom/],
      [fn, trap, /^f: options could not be read: Error: trap ownKeys/],
      [fn, { parent: null }, /^f: parent cannot be given to context.invoke, whose child is part of this run; call f/],
      [undefined, undefined, /^parent: fn must be a Function \(with invoke\), got undefined/],
      [{ name: 'lookalike' }, undefined, /^parent: fn must be a Function \(with invoke\), got an object/],
    ]
    const parent = defineFunction({
      name: 'parent',
      run: async (_: undefined, context: RunContext) => {
        const outcomes: unknown[] = []
        for (const [child, options, message] of cases) {
          let result: Promise<unknown> | undefined
          expect(() => {
            result = context.invoke(child as typeof fn, undefined, options as never)
          }).not.toThrow()
          const error = await (result as Promise<unknown>).catch((caught: unknown) => caught)
          expect(ConfigurationError.isInstance(error)).toBe(true)
          expect((error as Error).message).toMatch(message)
          outcomes.push(error)
        }
        return outcomes.length
      },
    })
    expect(await parent.invoke(undefined)).toBe(cases.length)
  })

  it('reads an option a class holds in a getter, or one defined as not enumerable, in invoke and context.invoke alike', async () => {
    /** Options as a settings class holds them: `signal` is a getter of its prototype, which `for…in` never lists. */
    class Settings {
      readonly #controller: AbortController
      constructor(controller: AbortController) {
        this.#controller = controller
      }
      get signal(): AbortSignal {
        return this.#controller.signal
      }
    }
    const untilAborted = (signal: AbortSignal) =>
      new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    let started: () => void = () => {}
    const waiting = defineFunction({
      name: 'waiting',
      run: async (_: unknown, context: RunContext) => {
        started()
        // A run given no signal cannot be cancelled: it would wait here for ever.
        if (!context.cancelScope.cancellable) return 'given no signal'
        await untilAborted(context.signal)
        return 'ran to its end'
      },
    })
    const controller = new AbortController()
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const pending = waiting.invoke(undefined, new Settings(controller) as InvokeOptions)
    await running
    controller.abort('the user left')
    const error = await pending.catch((caught: unknown) => caught)
    expect(AbortError.isInstance(error)).toBe(true)
    expect((error as AbortError).reason).toBe('the user left')

    // Not enumerable: a known option is read by its name, as a Function's own options are.
    const hidden = Object.defineProperty({}, 'timeoutMs', { value: 1, enumerable: false })
    const slow = defineFunction({
      name: 'slow',
      run: (_: unknown, context: RunContext) =>
        context.deadline === undefined ? 'given no time limit' : untilAborted(context.signal),
    })
    const timedOut = await slow.invoke(undefined, hidden).catch((caught: unknown) => caught)
    expect(TimeoutError.isInstance(timedOut)).toBe(true)

    const child = new AbortController()
    const parent = defineFunction({
      name: 'parent',
      run: (_: unknown, context: RunContext) => {
        const childRunning = new Promise<void>((resolve) => {
          started = resolve
        })
        const run = context.invoke(waiting, undefined, new Settings(child) as InvokeOptions)
        void childRunning.then(() => child.abort('the child is not needed'))
        return run.catch((caught: unknown) => caught)
      },
    })
    const childError = await parent.invoke(undefined)
    expect(AbortError.isInstance(childError)).toBe(true)
    expect((childError as AbortError).reason).toBe('the child is not needed')
  })

  it('a stream option that is not a function fails before the run starts', async () => {
    let runs = 0
    const streaming = defineFunction({
      name: 'streaming',
      run: (_: unknown, context: RunContext) => {
        runs += 1
        context.stream?.('part')
        return 'done'
      },
    })
    await expect(streaming.invoke(undefined, { stream: 5 as never })).rejects.toThrow(/stream must be a function/)
    expect(runs).toBe(0)
  })

  it('context.invoke never throws: an Invocable whose invoke throws is a rejected FunctionError, and one that changes the options it was given changes no other child', async () => {
    const leaf = defineFunction({
      name: 'leaf',
      run: (_: string, context: RunContext) => (context.deadline === undefined ? 'no deadline' : 'a deadline'),
    })
    const throwing = {
      name: 'throwing',
      invoke: (): Promise<string> => {
        throw new Error('not ready')
      },
    }
    const withDefaultTimeout = {
      name: 'timed',
      invoke: (input: string, options?: InvokeOptions) => {
        ;(options as { timeoutMs?: number }).timeoutMs ??= 5_000
        return leaf.invoke(input, options)
      },
    }
    const root = defineFunction({
      name: 'root',
      run: async (_: undefined, context: RunContext) => {
        let thrown: unknown
        let outcome: unknown
        try {
          outcome = await context.invoke(throwing, 'x').catch((error: unknown) => error)
        } catch (error) {
          thrown = error
        }
        const changed = await context.invoke(withDefaultTimeout, 'x').catch((error: unknown) => error)
        return { thrown, outcome, changed, next: await context.invoke(leaf, 'x') }
      },
    })
    const { thrown, outcome, changed, next } = await root.invoke(undefined)
    expect(thrown).toBeUndefined()
    expect(FunctionError.isInstance(outcome) && outcome.message).toMatch(/^throwing: invoke threw Error: not ready/)
    expect(FunctionError.isInstance(changed)).toBe(true)
    expect(next).toBe('no deadline')
  })
})

it("context.invoke types what an Invocable's invoke rejects with, as what it throws: a string or undefined is a FunctionError", async () => {
  const rejecting = (name: string, reason: unknown) => ({
    name,
    invoke: async (): Promise<string> => Promise.reject(reason),
  })
  const root = defineFunction({
    name: 'root',
    run: async (_: undefined, context: RunContext) =>
      Promise.all(
        [
          rejecting('text', 'not ready'),
          rejecting('nothing', undefined),
          rejecting('timed', new TimeoutError({ timeoutMs: 5, kind: 'attempt' })),
        ].map((fn) => context.invoke(fn, 'x').catch((error: unknown) => error)),
      ),
  })
  const [text, nothing, timed] = await root.invoke(undefined)
  expect(FunctionError.isInstance(text) && text.message).toBe('text: invoke threw "not ready"')
  expect(FunctionError.isInstance(nothing) && nothing.message).toMatch(/^nothing: invoke threw undefined/)
  expect(TimeoutError.isInstance(timed)).toBe(true)
})

describe('listeners and loggers cannot break a run or the process', () => {
  it("rejects an aborted run, and cancels its child, when the run's own cancellation listener throws", async () => {
    const logger = createMemoryLogger()
    let childSignal: AbortSignal | undefined
    const child = defineFunction({
      name: 'child',
      run: (_: undefined, context: RunContext) => {
        childSignal = context.signal
        return never
      },
    })
    const parent = defineFunction({
      name: 'parent',
      run: (_: undefined, context: RunContext) => {
        context.cancelScope.listen(() => {
          throw new Error('cleanup failed')
        })
        return context.invoke(child, undefined)
      },
    })
    const controller = new AbortController()
    setDefaultLogger(logger)
    try {
      const pending = parent.invoke(undefined, { signal: controller.signal })
      await vi.waitFor(() => expect(childSignal).toBeDefined())
      controller.abort('the user left')
      await expect(pending).rejects.toThrow('parent: aborted in running: the user left')
      expect(childSignal?.aborted).toBe(true)
      expect(logger.entries.map((entry) => entry.message)).toContain(
        'a cancellation listener threw; cancellation goes on',
      )
    } finally {
      setDefaultLogger(undefined)
    }
  })

  it('an async onEvent listener that rejects is logged, and the run goes on', async () => {
    const logger = createMemoryLogger()
    const fn = defineFunction({ name: 'f', run: () => 'ok' })
    const result = await fn.invoke(undefined, {
      logger,
      onEvent: async () => {
        throw new Error('async listener bug')
      },
    })
    expect(result).toBe('ok')
    await new Promise((resolve) => setImmediate(resolve))
    expect(logger.entries.filter((entry) => entry.message.includes('listener')).length).toBeGreaterThan(0)
  })

  it('an async onLifecycleEvent listener that rejects is logged, and the run and the process go on', async () => {
    const logger = createMemoryLogger()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const stop = onLifecycleEvent(async () => {
      throw new Error('process-wide listener bug')
    })
    try {
      const fn = defineFunction({ name: 'f', run: () => 'ok' })
      expect(await fn.invoke(undefined, { logger })).toBe('ok')
      await new Promise((resolve) => setImmediate(resolve))
      expect(logger.entries.filter((entry) => entry.message.includes('listener')).length).toBeGreaterThan(0)
      expect(unhandled).toEqual([])
    } finally {
      stop()
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('a listener subscribed process-wide and given as onEvent too hears each event once', async () => {
    const heard: string[] = []
    const listener = (event: LifecycleEvent) => heard.push(`${event.function}:${event.to}`)
    const other: string[] = []
    const stop = onLifecycleEvent(listener)
    const stopOther = onLifecycleEvent((event) => other.push(`${event.function}:${event.to}`))
    try {
      const child = defineFunction({ name: 'child', run: () => 'ok' })
      const parent = defineFunction({
        name: 'parent',
        run: (_: unknown, context: RunContext) => context.invoke(child, 1),
      })
      await parent.invoke(undefined, { onEvent: listener })
      expect(heard).toHaveLength(10)
      expect(new Set(heard).size).toBe(10)
      // Another process-wide listener still hears every event.
      expect(other).toEqual(heard)
    } finally {
      stop()
      stopOther()
    }
  })

  it('a stream listener that throws is logged, and the run and its stream go on', async () => {
    const logger = createMemoryLogger()
    const streaming = defineFunction({
      name: 'streaming',
      run: (_: unknown, context: RunContext) => {
        for (const part of ['a', 'b', 'c']) context.stream?.(part)
        return 'done'
      },
    })
    const heard: unknown[] = []
    const output = await streaming.invoke(undefined, {
      logger,
      stream: (part) => {
        heard.push(part)
        throw new Error('reader gone')
      },
    })
    expect(output).toBe('done')
    expect(heard).toEqual(['a', 'b', 'c'])
    const logged = logger.entries.filter((entry) => entry.message === 'stream listener threw; the run goes on')
    expect(logged).toHaveLength(3)
  })

  it('retries an attempt whose streamed parts its listener handed to no reader (it answered partNotHandedOut), and no other', async () => {
    const streamsThenFails = () => {
      let attempts = 0
      return defineFunction({
        name: 'streaming',
        retry: { attempts: 2, initialDelayMs: 0 },
        run: (_: unknown, context: RunContext) => {
          attempts += 1
          context.stream?.({ type: 'tool-call-delta', attempt: attempts })
          // What a Function's own code throws is retryable.
          if (attempts === 1) throw new Error('cut')
          return `attempt ${attempts}`
        },
      })
    }
    // The reader drops what it does not show: the attempt that streamed only that may run again.
    const dropped = streamsThenFails()
    expect(await dropped.invoke(undefined, { stream: () => partNotHandedOut })).toBe('attempt 2')
    // Forwarded through a parent's stream, a part counts as that parent's reader takes it.
    const forwarding = (child: ReturnType<typeof streamsThenFails>) =>
      defineFunction({
        name: 'parent',
        run: (_: unknown, context: RunContext) => context.invoke(child, undefined, { stream: context.stream }),
      })
    expect(await forwarding(streamsThenFails()).invoke(undefined, { stream: () => partNotHandedOut })).toBe('attempt 2')
    const taken = await forwarding(streamsThenFails())
      .invoke(undefined, { stream: () => undefined })
      .catch((caught: unknown) => caught)
    expect(FunctionError.isInstance(taken)).toBe(true)
    // A part the listener took (it answered anything else, `false`, a promise or a throw included) stops the retry.
    for (const listener of [() => undefined, () => true, () => false, async () => partNotHandedOut]) {
      const handed = streamsThenFails()
      const error = await handed.invoke(undefined, { stream: listener }).catch((caught: unknown) => caught)
      expect(error).toMatchObject({ name: 'FunctionError', message: expect.stringContaining('cut') })
    }
    const throwing = streamsThenFails()
    const thrown = await throwing
      .invoke(undefined, {
        logger: createMemoryLogger(),
        stream: () => {
          throw new Error('reader gone')
        },
      })
      .catch((caught: unknown) => caught)
    expect(FunctionError.isInstance(thrown)).toBe(true)
  })

  it("does not retry an attempt whose part went to a listener that answered false, as a full Node stream's write does", async () => {
    let attempts = 0
    const streaming = defineFunction({
      name: 'streaming',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: (_: unknown, context: RunContext) => {
        attempts += 1
        context.stream?.(`part of attempt ${attempts}`)
        // What a Function's own code throws is retryable.
        if (attempts === 1) throw new Error('cut')
        return `attempt ${attempts}`
      },
    })
    // A slow reader: `write` keeps the part and answers false, asking the writer to wait for 'drain'.
    const written: unknown[] = []
    const slowReader = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(part: unknown, _encoding, _done) {
        written.push(part)
      },
    })
    const error = await streaming
      .invoke(undefined, { stream: (part) => slowReader.write(part) })
      .catch((caught: unknown) => caught)
    expect(error).toMatchObject({ name: 'FunctionError', message: expect.stringContaining('cut') })
    expect(attempts).toBe(1)
    expect(written).toEqual(['part of attempt 1'])
  })

  it('an async stream listener that rejects is logged, and the run and the process go on', async () => {
    const logger = createMemoryLogger()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      const streaming = defineFunction({
        name: 'streaming',
        run: (_: unknown, context: RunContext) => {
          for (const part of ['a', 'b', 'c']) context.stream?.(part)
          return 'done'
        },
      })
      const output = await streaming.invoke(undefined, {
        logger,
        stream: async () => {
          throw new Error('reader gone')
        },
      })
      expect(output).toBe('done')
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
      const logged = logger.entries.filter((entry) => entry.message === 'stream listener rejected; the run goes on')
      expect(logged).toHaveLength(3)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('a logger that throws while reporting a listener failure does not fail the run', async () => {
    const throwing = {
      debug() {},
      info() {},
      warn() {},
      error() {
        throw new Error('logger down')
      },
    }
    const fn = defineFunction({ name: 'f', run: () => 'ok' })
    const result = await fn.invoke(undefined, {
      logger: throwing,
      onEvent: () => {
        throw new Error('listener bug')
      },
    })
    expect(result).toBe('ok')
  })
})

describe('the size of one run tree is bounded', () => {
  it('fails a tree with more than maxConcurrentRuns runs in progress at once with a StepLimitError', async () => {
    const leaf = defineFunction({ name: 'leaf', run: async () => 1 })
    const fan = defineFunction({
      name: 'fan',
      run: async (_: undefined, context: RunContext) => {
        await Promise.all(Array.from({ length: 100 }, () => context.invoke(leaf, undefined)))
        for (let index = 0; index < 1_000; index++) await context.invoke(leaf, undefined)
        return 'done'
      },
    })
    // 1,100 runs in all, at most 101 at once: a long sequence is never limited, a wide burst is.
    expect(await fan.invoke(undefined, { maxConcurrentRuns: 101 })).toBe('done')
    const error = await fan.invoke(undefined, { maxConcurrentRuns: 50 }).catch((thrown: unknown) => thrown)
    expect(StepLimitError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/50 runs in progress at once/)
  })

  it('stops a graph that fans out into itself before it exhausts memory', { timeout: 120_000 }, async () => {
    const cycle: Function<number, number> = defineFunction({
      name: 'cycle',
      run: async (depth: number, context: RunContext) => {
        const results = await Promise.all([context.invoke(cycle, depth + 1), context.invoke(cycle, depth + 1)])
        return results[0] as number
      },
    })
    const error = await cycle.invoke(0).catch((thrown: unknown) => thrown)
    expect(StepLimitError.isInstance(error)).toBe(true)
  })
})

describe('a Function invoked inside a run joins its tree (async context)', () => {
  class Shout extends Function<string, string> {
    async run(text: string, context: RunContext) {
      await new Promise((resolve) => setTimeout(resolve, 1))
      context.annotate('signalAborted', context.signal.aborted)
      return text.toUpperCase()
    }
  }
  const shout = new Shout({ name: 'shout' })

  it("shows in the caller's run tree, with no context passed", async () => {
    const greet = defineFunction({
      name: 'greet',
      run: async (name: string) => `${await shout.invoke('hello')}, ${name}`,
    })
    const record = await greet.trace('Ada')
    expect(record.output).toBe('HELLO, Ada')
    expect(record.children.map((child) => child.function)).toEqual(['shout'])
    expect(record.children[0]?.parentRunId).toBe(record.runId)
  })

  it('is cancelled with its caller', async () => {
    const controller = new AbortController()
    let childSignal: AbortSignal | undefined
    const hang = defineFunction({
      name: 'hang',
      run: (_: undefined, context: RunContext) => {
        childSignal = context.signal
        return never
      },
    })
    const outer = defineFunction({ name: 'outer', run: () => hang.invoke(undefined) })
    const pending = outer.invoke(undefined, { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort('user')
    expect(AbortError.isInstance(await pending.catch((thrown: unknown) => thrown))).toBe(true)
    expect(childSignal?.aborted).toBe(true)
  })

  it('does not join a run that has already ended, and parent: null starts a new tree', async () => {
    let later: Promise<RunRecord<string>> | undefined
    const outer = defineFunction({
      name: 'outer',
      run: () => {
        later = new Promise((resolve) => setTimeout(resolve, 5)).then(() => shout.trace('late'))
        return 'done'
      },
    })
    const record = await outer.trace(undefined)
    const lateRecord = await (later as Promise<RunRecord<string>>)
    expect(lateRecord.parentRunId).toBeUndefined()
    expect(record.children).toEqual([])
    const detached = defineFunction({ name: 'detached', run: () => shout.trace('x', { parent: null }) })
    const inner = await detached.invoke(undefined)
    expect(inner.parentRunId).toBeUndefined()
  })

  it('refuses to be joined through the context of a run that has ended: its record was handed out whole', async () => {
    let kept: RunContext | undefined
    const child = defineFunction({ name: 'child', run: (n: number) => n })
    const parent = defineFunction({
      name: 'parent',
      run: (n: number, context: RunContext) => {
        kept = context
        return n
      },
    })
    const record = await parent.trace(1)
    const error = await (kept as RunContext).invoke(child, 2).catch((thrown: unknown) => thrown)
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as ConfigurationError).message).toBe(
      'child: the run of "parent" it would join has ended (complete); pass parent: null to start a tree of its own',
    )
    expect(record.children).toHaveLength(0)
    expect(await child.invoke(3, { parent: null })).toBe(3)
  })

  it("is not joined by a Function a listener invokes: a listener is no run's code", async () => {
    const audit = defineFunction({ name: 'audit', run: (what: string) => what })
    const child = defineFunction({ name: 'child', run: async (text: string) => text })
    const parent = defineFunction({
      name: 'parent',
      run: async (text: string) => `${await child.invoke(text)} ${await child.invoke(text)}`,
    })
    const audits: Array<Promise<RunRecord<string>>> = []
    const hear = (event: LifecycleEvent) => {
      if (event.function !== 'audit' && event.to === 'complete') audits.push(audit.trace(event.runId))
    }
    const stop = onLifecycleEvent(hear)
    const heardGlobally = await parent.trace('a').finally(stop)
    const heardPerTree = await parent.trace('b', { onEvent: hear })
    for (const record of [heardGlobally, heardPerTree]) {
      expect(record.output).toBe(`${record.input} ${record.input}`)
      expect(record.children.map((run) => run.function)).toEqual(['child', 'child'])
    }
    // Each audit is a tree of its own: it hears no event of its own, so none starts another.
    const records = await Promise.all(audits)
    expect(records).toHaveLength(6)
    for (const record of records) expect(record.parentRunId).toBeUndefined()
  })

  it('records when a run that worked synchronously and then threw failed, not when it started running', async () => {
    // The run's clock is performance.now(): measured by it, the work lasts at least `ms`.
    const busy = (ms: number) => {
      const end = performance.now() + ms
      while (performance.now() < end) {
        // working
      }
    }
    let attempts = 0
    const fails = defineFunction({
      name: 'fails',
      retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
      run: () => {
        attempts += 1
        busy(30)
        throw new Error(`gave up after attempt ${attempts}`)
      },
    })
    const record = await fails.trace(undefined)
    const at = (state: string, attempt: number) =>
      record.states.find((entry) => entry.state === state && entry.attempt === attempt)?.at as number
    expect(at('retrying', 1) - at('running', 1)).toBeGreaterThanOrEqual(29)
    expect(at('failed', 2) - at('running', 2)).toBeGreaterThanOrEqual(29)
    expect(record.durationMs).toBeGreaterThanOrEqual(58)
  })

  it("is not joined by a Function a stream listener invokes: a stream listener is no run's code", async () => {
    const audit = defineFunction({ name: 'audit', run: (part: unknown) => String(part) })
    const streamer = defineFunction({
      name: 'streamer',
      run: (text: string, context: RunContext) => {
        context.stream?.('one')
        context.stream?.('two')
        return text
      },
    })
    const audits: Array<Promise<RunRecord<string>>> = []
    const record = await streamer.trace('a', { stream: (part) => audits.push(audit.trace(part)) })
    expect(record.output).toBe('a')
    expect(record.children).toHaveLength(0)
    const heard = await Promise.all(audits)
    expect(heard.map((run) => [run.output, run.parentRunId])).toEqual([
      ['one', undefined],
      ['two', undefined],
    ])
  })

  it('is joined by what a Function a listener invoked runs: its tree is whole and its cancellation reaches it', async () => {
    let innerSignal: AbortSignal | undefined
    const inner = defineFunction({
      name: 'inner',
      run: (_text: string, context: RunContext) => {
        innerSignal = context.signal
        return never
      },
    })
    const outer = defineFunction({ name: 'outer', run: async (text: string) => inner.invoke(text) })
    const watched = defineFunction({ name: 'watched', run: (text: string) => text })
    const controller = new AbortController()
    let traced: Promise<RunRecord<string>> | undefined
    await watched.invoke('a', {
      onEvent: (event) => {
        if (event.to === 'complete') traced = outer.trace(event.runId, { signal: controller.signal })
      },
    })
    controller.abort('enough')
    const record = await (traced as Promise<RunRecord<string>>)
    expect(record.parentRunId).toBeUndefined()
    expect(record.children.map((run) => [run.function, run.status])).toEqual([['inner', 'failed']])
    expect(innerSignal?.aborted).toBe(true)
  })

  it('cancels what a failed attempt left running before the next attempt starts, with no attempt time limit', async () => {
    let leftSignal: AbortSignal | undefined
    const left = defineFunction({
      name: 'left',
      run: (_: undefined, context: RunContext) =>
        new Promise((_resolve, reject) => {
          leftSignal = context.signal
          context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
        }),
    })
    let leftRun: Promise<unknown> | undefined
    const seenAtRetry: Array<boolean | undefined> = []
    const parent = defineFunction({
      name: 'parent',
      retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
      run: (_: undefined, context: RunContext) => {
        if (context.attempt === 1) {
          // Started and not awaited: the attempt then fails, leaving it behind.
          leftRun = context.invoke(left, undefined).catch((error: unknown) => error)
          throw new Error('first attempt fails')
        }
        seenAtRetry.push(leftSignal?.aborted)
        return 'second'
      },
    })
    const record = await parent.trace(undefined)
    expect(record.output).toBe('second')
    expect(seenAtRetry).toEqual([true])
    const leftError = await leftRun
    expect(AbortError.isInstance(leftError)).toBe(true)
    expect(String((leftError as AbortError).message)).toMatch(/first attempt fails/)
    expect(record.children.map((run) => [run.function, run.status])).toEqual([['left', 'failed']])
  })

  it('cancels a Function invoked by code a cancelled run left running, after the run ended, instead of starting a tree', async () => {
    let calls = 0
    const model = defineFunction({
      name: 'model',
      run: () => {
        calls += 1
        return 'sent'
      },
    })
    let release = () => {}
    let invoked: (outcome: Promise<unknown>) => void = () => {}
    const leftover = new Promise<unknown>((resolve) => {
      invoked = resolve
    })
    const worker = defineFunction({
      name: 'worker',
      // Ignores its signal: it goes on after its run was cancelled, and invokes the model then.
      run: () =>
        new Promise<void>((resolve) => {
          release = resolve
        }).then(() => {
          invoked(model.invoke('prompt').catch((error: unknown) => error))
        }),
    })
    const job = defineFunction({ name: 'job', run: () => worker.invoke(undefined) })
    const controller = new AbortController()
    const failed = job.invoke(undefined, { signal: controller.signal, budget: { maxTokens: 1 } })
    controller.abort('the user left')
    expect(AbortError.isInstance(await failed.catch((error: unknown) => error))).toBe(true)
    release()
    const outcome = await leftover
    expect(AbortError.isInstance(outcome)).toBe(true)
    expect(calls).toBe(0)
  })

  it('cancels what a failed run left running, for a run given a signal or a time limit, with its one attempt', async () => {
    const limits: ReadonlyArray<readonly [string, () => InvokeOptions]> = [
      ['signal', () => ({ signal: new AbortController().signal })],
      ['timeoutMs', () => ({ timeoutMs: 60_000 })],
      ['deadline', () => ({ deadline: Date.now() + 3_600_000 })],
    ]
    for (const [limit, options] of limits) {
      // The limit given to the failing run itself, or only to the run it is part of.
      for (const whose of ['its own', "its parent's"] as const) {
        const label = `${limit}, ${whose}`
        let leftSignal: AbortSignal | undefined
        const left = defineFunction({
          name: 'left',
          run: (_: undefined, context: RunContext) =>
            new Promise((_resolve, reject) => {
              leftSignal = context.signal
              context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
            }),
        })
        let leftRun: Promise<unknown> | undefined
        const parent = defineFunction({
          name: 'parent',
          run: (_: undefined, context: RunContext) => {
            leftRun = context.invoke(left, undefined).catch((error: unknown) => error)
            throw new Error('the run fails')
          },
        })
        let cancelledWhenItFailed: boolean | undefined
        if (whose === 'its own') {
          const record = await parent.trace(undefined, options())
          expect(record.status, label).toBe('failed')
          cancelledWhenItFailed = leftSignal?.aborted
        } else {
          const outer = defineFunction({
            name: 'outer',
            run: async (_: undefined, context: RunContext) => {
              const error = await context.invoke(parent, undefined).catch((thrown: unknown) => thrown)
              // Read before the outer run ends: what the failed run left is cancelled by its failure, not by this end.
              cancelledWhenItFailed = leftSignal?.aborted
              return String(error)
            },
          })
          expect(await outer.invoke(undefined, options()), label).toMatch(/the run fails/)
        }
        expect(cancelledWhenItFailed, label).toBe(true)
        const leftError = await leftRun
        expect(AbortError.isInstance(leftError), label).toBe(true)
        expect(String((leftError as AbortError).message), label).toMatch(/the run fails/)
      }
    }
  })

  it('cancels what processOutput left running when the run fails there, for a Function that may retry or has attemptTimeoutMs', async () => {
    for (const limits of [{ retry: { attempts: 2 } }, { attemptTimeoutMs: 60_000 }]) {
      let leftSignal: AbortSignal | undefined
      const left = defineFunction({
        name: 'left',
        run: (_: undefined, context: RunContext) =>
          new Promise((_resolve, reject) => {
            leftSignal = context.signal
            context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
          }),
      })
      let leftRun: Promise<unknown> | undefined
      let heldSignal: AbortSignal | undefined
      const parent = defineFunction({
        name: 'parent',
        ...limits,
        run: () => 'done',
        processOutput: (_output: string, context: RunContext) => {
          // Started and not awaited: processing fails, leaving it (and code holding its context) behind.
          leftRun = context.invoke(left, undefined).catch((error: unknown) => error)
          heldSignal = context.signal
          throw new Error('processing fails')
        },
      })
      const record = await parent.trace(undefined)
      expect(record.status).toBe('failed')
      expect(heldSignal?.aborted).toBe(true)
      expect(leftSignal?.aborted).toBe(true)
      const leftError = await leftRun
      expect(AbortError.isInstance(leftError) && String(leftError.message)).toMatch(/processing fails/)
    }
  })

  it('cancels with the run what an attempt that succeeded left running, for a Function that may retry or has attemptTimeoutMs', async () => {
    for (const limits of [{ retry: { attempts: 2 } }, { attemptTimeoutMs: 60_000 }]) {
      const started: Array<() => void> = []
      let leftSignal: AbortSignal | undefined
      const left = defineFunction({
        name: 'left',
        run: (_: undefined, context: RunContext) =>
          new Promise((_resolve, reject) => {
            leftSignal = context.signal
            context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
            started.pop()?.()
          }),
      })
      const leftStarted = new Promise<void>((resolve) => started.push(resolve))
      let leftRun: Promise<unknown> | undefined
      let heldSignal: AbortSignal | undefined
      const controller = new AbortController()
      const parent = defineFunction({
        name: 'parent',
        ...limits,
        run: (_: undefined, context: RunContext) => {
          // Started and not awaited: the attempt succeeds, leaving it (and code holding its context) behind.
          leftRun = left.invoke(undefined).catch((error: unknown) => error)
          heldSignal = context.signal
          return 'done'
        },
        processOutput: async (output: string, context: RunContext) => {
          await leftStarted
          controller.abort('the caller left')
          await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))
          return output
        },
      })
      const record = await parent.trace(undefined, { signal: controller.signal })
      expect(record.error?.name).toBe('AbortError')
      expect(record.children.map((run) => run.function)).toEqual(['left'])
      expect(leftSignal?.aborted).toBe(true)
      const leftError = await leftRun
      expect(AbortError.isInstance(leftError) && String(leftError.message)).toMatch(/the caller left/)
      expect(heldSignal?.aborted).toBe(true)
    }
  })

  it("is not joined by code an attempt left running after it timed out: that is cancelled, and keys stay the next attempt's", async () => {
    vi.useFakeTimers()
    try {
      const ran: string[] = []
      const child = defineFunction({
        name: 'child',
        run: (input: string, context: RunContext) => {
          ran.push(`${input} as ${context.stepPath}`)
          return input
        },
      })
      let releaseStale: () => void = () => {}
      const stale = new Promise<void>((resolve) => {
        releaseStale = resolve
      })
      let staleOutcome: unknown
      let staleSettled: () => void = () => {}
      const staleDone = new Promise<void>((resolve) => {
        staleSettled = resolve
      })
      let attempts = 0
      const parent = defineFunction({
        name: 'parent',
        attemptTimeoutMs: 1_000,
        retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
        run: async (_: undefined, context: RunContext) => {
          attempts += 1
          if (attempts === 1) {
            // Ignores its signal, and carries on after its attempt timed out.
            await stale
            staleOutcome = await context.invoke(child, 'stale').catch((error: unknown) => error)
            staleSettled()
            return 'stale'
          }
          releaseStale()
          await staleDone
          await child.invoke('fresh')
          return 'fresh'
        },
      })
      const record = parent.trace(undefined)
      // The first attempt runs out of its time, and the retry waits 0 ms: well within the second attempt's time.
      await vi.advanceTimersByTimeAsync(1_000)
      await vi.advanceTimersByTimeAsync(10)
      const done = await record
      expect(done.output).toBe('fresh')
      expect(TimeoutError.isInstance(staleOutcome)).toBe(true)
      expect((staleOutcome as TimeoutError).kind).toBe('attempt')
      expect(ran).toEqual(['fresh as child#1'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('hands the caller no part streamed by an attempt that timed out, nor by code still running after the run ended', async () => {
    vi.useFakeTimers()
    try {
      let releaseStale: () => void = () => {}
      const stale = new Promise<void>((resolve) => {
        releaseStale = resolve
      })
      let staleStreamed: () => void = () => {}
      const staleDone = new Promise<void>((resolve) => {
        staleStreamed = resolve
      })
      let held: RunContext | undefined
      const parent = defineFunction({
        name: 'parent',
        attemptTimeoutMs: 1_000,
        retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
        run: async (_: undefined, context: RunContext) => {
          if (context.attempt === 1) {
            // Ignores its signal, and streams after its attempt timed out.
            await stale
            context.stream?.('from the attempt that timed out')
            staleStreamed()
            return 'stale'
          }
          releaseStale()
          await staleDone
          context.stream?.('fresh')
          held = context
          return 'fresh'
        },
      })
      const parts: unknown[] = []
      const output = parent.invoke(undefined, { stream: (part) => parts.push(part) })
      await vi.advanceTimersByTimeAsync(1_000)
      await vi.advanceTimersByTimeAsync(10)
      expect(await output).toBe('fresh')
      held?.stream?.('after the run ended')
      expect(parts).toEqual(['fresh'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses options that belong to a whole tree when it joins one, saying how to start a new tree', async () => {
    const outer = defineFunction({ name: 'outer', run: () => shout.invoke('x', { budget: { maxTokens: 10 } }) })
    const error = await outer.invoke(undefined).catch((thrown: unknown) => thrown)
    expect(FunctionError.isInstance(error) || ConfigurationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/budget belongs to a whole run tree.*parent: null/)
  })
})

describe('retries of invalid output, when the policy opts in', () => {
  it('asks again when the output fails its schema, and the retry shows in the lifecycle', async () => {
    let calls = 0
    const fn = defineFunction({
      name: 'flaky-model',
      output: z.object({ verdict: z.enum(['good', 'bad']) }),
      retry: { attempts: 2, initialDelayMs: 1, retryInvalidOutput: true },
      run: () => {
        calls += 1
        return { verdict: calls === 1 ? 'maybe' : 'good' }
      },
    })
    const record = await fn.trace(undefined)
    expect(record.output).toEqual({ verdict: 'good' })
    expect(statesOf(record)).toEqual([
      'init',
      'input_validation',
      'running',
      'output_validation',
      'retrying',
      'running',
      'output_validation',
      'processing_output',
      'complete',
    ])
    const strict = defineFunction({
      name: 'strict',
      output: z.string(),
      retry: { attempts: 2, initialDelayMs: 1 },
      run: () => 5,
    })
    expect(ValidationError.isInstance((await strict.trace(undefined)).error)).toBe(true)
  })
})

describe('run records serialise, whatever the run held', () => {
  it('makes cycles, BigInts and throwing toJSON safe, and keeps a deep tree whole', async () => {
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    const outputs: unknown[] = [
      cyclic,
      { amount: 10n },
      {
        toJSON() {
          throw new Error('no')
        },
      },
    ]
    for (const output of outputs) {
      const record = await defineFunction({ name: 'odd', run: () => output }).trace(undefined)
      expect(() => JSON.stringify(record)).not.toThrow()
    }
    const leaf = defineFunction({ name: 'leaf', run: (depth: number) => depth })
    const nest: Function<number, number> = defineFunction({
      name: 'nest',
      run: (depth: number, context: RunContext) =>
        depth === 0 ? context.invoke(leaf, 0) : context.invoke(nest, depth - 1),
    })
    const json = JSON.parse(JSON.stringify(await nest.trace(200)))
    let depth = 0
    for (let node = json; node.children.length > 0; node = node.children[0]) depth += 1
    expect(depth).toBe(201)
  })

  it('keeps an annotation named __proto__ as a fact of its own, never as the prototype of the annotations', async () => {
    const events: LifecycleEvent[] = []
    const noted = defineFunction({
      name: 'noted',
      run: (_: undefined, context: RunContext) => {
        context.annotate('__proto__', { polluted: true })
      },
    })
    const record = await noted.trace(undefined, { onEvent: (event) => events.push(event) })
    for (const annotations of [record.annotations, events.at(-1)?.annotations]) {
      expect(Object.getPrototypeOf(annotations)).toBe(Object.prototype)
      expect((annotations as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.keys(annotations ?? {})).toEqual(['__proto__'])
    }
    expect(JSON.parse(JSON.stringify(record)).annotations).toEqual(JSON.parse('{"__proto__":{"polluted":true}}'))
  })

  it('withdraws a fact annotated undefined: the record, its events and its tree no longer show the key', async () => {
    const events: LifecycleEvent[] = []
    const noted = defineFunction({
      name: 'noted',
      retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
      run: (_: undefined, context: RunContext) => {
        if (context.attempt === 1) {
          context.annotate('choice', 'a')
          throw new Error('the branch failed')
        }
        context.annotate('choice', undefined)
        context.annotate('kept', 1)
        return 'ok'
      },
    })
    const record = await noted.trace(undefined, { onEvent: (event) => events.push(event) })
    expect(events.find((event) => event.to === 'retrying')?.annotations).toEqual({ choice: 'a' })
    for (const annotations of [record.annotations, events.at(-1)?.annotations])
      expect(Object.keys(annotations ?? {})).toEqual(['kept'])
    expect(formatRunTree(record)).not.toContain('choice')
  })

  it('stays as handed out: code holding the context of a run that ended can add no usage, annotation or reservation', async () => {
    let saved: RunContext | undefined
    const child = defineFunction({
      name: 'child',
      run: (_: undefined, context: RunContext) => {
        saved = context
        context.addUsage({ inputTokens: 5, outputTokens: 5, totalTokens: 10 }, 0.01)
      },
    })
    const parent = defineFunction({
      name: 'parent',
      run: async (_: undefined, context: RunContext) => {
        await context.invoke(child, undefined)
        // The child has ended while its parent runs on: its record is whole already.
        expect(() => saved?.annotate('late', true)).toThrow(
          'child: annotate is refused: the run has ended (complete) and its record was handed out; call it before the run returns',
        )
        return 'done'
      },
    })
    const record = await parent.trace(undefined, { budget: { maxTokens: 100 } })
    expect(record.output).toBe('done')
    const before = JSON.stringify(record)
    const late = [
      () => saved?.addUsage({ inputTokens: 50, outputTokens: 0, totalTokens: 50 }, 1),
      () => saved?.annotate('late', 'x'),
      () => saved?.reserveBudget({ tokens: 10 }),
    ]
    for (const call of late) expect(call).toThrow(ConfigurationError)
    expect(JSON.stringify(record)).toBe(before)
    expect(record.usage?.totalTokens).toBe(10)
    expect(saved?.treeUsage.totalTokens).toBe(10)
  })

  it("keeps an ended parent's usage as it was handed out when a child it left running spends; the budget counts it", async () => {
    let finish: (() => void) | undefined
    const child = defineFunction({
      name: 'child',
      run: (_: undefined, context: RunContext) =>
        new Promise<string>((resolve) => {
          finish = () => {
            context.addUsage({ inputTokens: 5, outputTokens: 5, totalTokens: 10 }, 0.5)
            resolve('late')
          }
        }),
    })
    let treeUsage: (() => Readonly<UsageTotals>) | undefined
    const parent = defineFunction({
      name: 'parent',
      run: (_: undefined, context: RunContext) => {
        void context.invoke(child, undefined)
        treeUsage = () => context.treeUsage
        return 'done'
      },
    })
    const record = await parent.trace(undefined)
    expect([record.status, record.usage]).toEqual(['complete', undefined])
    finish?.()
    await new Promise((resolve) => setImmediate(resolve))
    expect(record.usage).toBeUndefined()
    expect(treeUsage?.().totalTokens).toBe(10)
  })

  it('hands out the tree usage as a copy: changing it changes neither the totals nor the budget', async () => {
    const spend = defineFunction({
      name: 'spend',
      run: (_: undefined, context: RunContext) => {
        context.addUsage({ inputTokens: 600, outputTokens: 0, totalTokens: 600 }, undefined)
        const seen = context.treeUsage as UsageTotals
        expect(() => {
          seen.totalTokens = 0
        }).toThrow(TypeError)
        expect(context.treeUsage.totalTokens).toBe(600)
        return context.reserveBudget({ tokens: 600 })
      },
    })
    const error = await spend.invoke(undefined, { budget: { maxTokens: 1_000 } }).catch((caught: unknown) => caught)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
  })

  it('keeps what a server sent in kilobytes: a 1 MB annotation, and errors as their own JSON shows them', async () => {
    // What an SDK's 400 looks like: the body, megabytes of it, on the error that is the cause of a tinyllm error.
    const body = { error: { message: 'E'.repeat(3_000_000), param: 'P'.repeat(3_000_000) } }
    const rejected = Object.assign(new Error('400 bad request'), { status: 400, error: body })
    let attempt = 0
    const call = defineFunction({
      name: 'call',
      retry: { attempts: 2, initialDelayMs: 1 },
      run: (_: undefined, context: RunContext) => {
        context.annotate('model', 'M'.repeat(1_000_000))
        attempt += 1
        throw new TinyLLMError({ message: 'call: the server refused', retryable: attempt === 1, cause: rejected })
      },
    })
    const record = await call.trace(undefined)
    expect(record.attempts).toBe(2)
    expect(String(record.annotations.model).length).toBeLessThanOrEqual(1_001)
    expect(record.error?.cause).toBe(rejected)
    const json = JSON.stringify(record)
    expect(json.length).toBeLessThan(20_000)
    const parsed = JSON.parse(json)
    expect(parsed.error).toEqual(JSON.parse(JSON.stringify(record.error)))
    expect(parsed.states.find((entry: { state: string }) => entry.state === 'retrying').error.message).toBe(
      'call: the server refused',
    )
    expect(formatRunTree(record).length).toBeLessThan(5_000)
  })

  it('serialises a tree whose runs share one long document within the limits of one copy, every run in it', async () => {
    // 2,000 runs handed one 300 KB document: 600 MB of JSON written whole, more than a string can hold.
    const policy = 'p'.repeat(300_000)
    const ask = defineFunction({
      name: 'Ask',
      run: (input: { policy: string; question: number }) => input.question,
    })
    const batch = defineFunction({
      name: 'Batch',
      run: async (_: undefined, context: RunContext) => {
        for (let question = 0; question < 2_000; question++) await context.invoke(ask, { policy, question })
        return 'done'
      },
    })
    const record = await batch.trace(undefined)
    const json = JSON.stringify(record)
    expect(json.length).toBeLessThan(12_000_000)
    const parsed = JSON.parse(json)
    expect(parsed.output).toBe('done')
    expect(parsed.children).toHaveLength(2_000)
    expect(parsed.children[0].input).toEqual({ policy, question: 0 })
    expect(parsed.children[1_999]).toMatchObject({ function: 'Ask', status: 'complete', output: 1_999 })
    expect(parsed.children[1_999].input).toEqual({ '…': '[2 more keys]' })
    expect(formatRunTree(parsed).split('\n')).toHaveLength(2_001)
  }, 120_000)

  it('serialises a run handed one string whose JSON no string could hold, writing it "[Truncated]"', async () => {
    // Copied whole, 300,000,000 newlines made JSON no string can hold ("Invalid string length").
    const document = '\n'.repeat(300_000_000)
    const read = defineFunction({ name: 'Read', run: (text: string) => ({ text, length: text.length }) })
    const record = await read.trace(document)
    expect(record.output?.text).toBe(document)
    const json = JSON.stringify(record)
    expect(json.length).toBeLessThan(100_000)
    const parsed = JSON.parse(json)
    expect(parsed.input).toBe('[Truncated]')
    expect(parsed).toMatchObject({ status: 'complete', output: { text: '[Truncated]', length: 300_000_000 } })
  }, 60_000)
})

describe('a record printed in Node', () => {
  it('prints with secrets replaced, in its input, output, annotations, errors and children, as its JSON shows them', async () => {
    const key = 'sk-proj-PrintedRecordCanary0123456789abcdef'
    const release = registerSecret(key)
    try {
      const echo = defineFunction({ name: 'echo', run: (text: string) => `the key is ${text}` })
      const root = defineFunction({
        name: 'root',
        run: async (text: string, context: RunContext) => {
          context.annotate('model', text)
          return { answer: await context.invoke(echo, text) }
        },
      })
      const record = await root.trace(key)
      expect(record.children[0]?.output).toBe(`the key is ${key}`)
      const printed = inspect(record, { depth: null })
      expect(printed).not.toContain(key)
      expect(printed).toContain('[REDACTED]')
      expect(printed).toContain("function: 'echo'")
      const failed = await defineFunction({
        name: 'failing',
        run: () => {
          throw new TinyLLMError({ message: 'refused', cause: new Error(`header ${key}`) })
        },
      }).trace(undefined)
      expect(inspect(failed, { depth: null })).not.toContain(key)
    } finally {
      release()
    }
  })
})

describe('deadlines carried as data, and runs handed to an executor', () => {
  it('fails at an absolute deadline (epoch ms), as another process would carry it', async () => {
    const slow = defineFunction({ name: 'slow', run: () => never })
    const error = await slow.invoke(undefined, { deadline: Date.now() + 50 }).catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(error)).toBe(true)
    const passed = await slow.invoke(undefined, { deadline: Date.now() - 1_000 }).catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(passed)).toBe(true)
  })

  it('hands its code the very deadline it was given, and its children too, however the clock ticks meanwhile', async () => {
    // Every reading of the clock is a millisecond later: a deadline worked out again from the time left would drift.
    let now = Date.now()
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => (now += 1))
    try {
      const deadline = now + 60_000
      const leaf = defineFunction({ name: 'leaf', run: (_: null, context: RunContext) => context.deadline })
      const root = defineFunction({
        name: 'root',
        run: async (_: null, context: RunContext) => [context.deadline, await context.invoke(leaf, null)],
      })
      expect(await root.invoke(null, { deadline })).toEqual([deadline, deadline])
      // A time limit that ends sooner than the deadline is still the one that counts.
      const [soon] = (await root.invoke(null, { deadline, timeoutMs: 1_000 })) as [number, number]
      expect(soon).toBeLessThan(deadline)
    } finally {
      clock.mockRestore()
    }
  })

  it('does none of the work of a run whose deadline has passed, however fast the work is', async () => {
    let effects = 0
    // No schema is asked either, however quickly it would answer.
    const counted = schemaOf((value) => {
      effects += 1
      return { value }
    })
    const quickAsync = defineFunction({
      name: 'quick-async',
      input: counted,
      run: async (value: unknown) => {
        effects += 1
        return value
      },
    })
    const quickSync = defineFunction({
      name: 'quick-sync',
      input: counted,
      run: (value: unknown) => {
        effects += 1
        return value
      },
    })
    for (const fn of [quickAsync, quickSync]) {
      for (const deadline of [0, Date.now() - 1_000, Date.now()]) {
        const error = await fn.invoke(1, { deadline }).catch((thrown: unknown) => thrown)
        expect(TimeoutError.isInstance(error)).toBe(true)
        expect((error as TimeoutError).kind).toBe('total')
        expect((error as Error).message).toMatch(/its deadline \(.*\) had passed before it started/)
      }
    }
    expect(effects).toBe(0)
  })

  it('hands the run to an executor with the other options, and settles as it does', async () => {
    const calls: unknown[] = []
    const fn = defineFunction({ name: 'remote', run: () => 'local' })
    const executor = {
      invoke: async (target: unknown, input: unknown, options: unknown) => {
        calls.push([target, input, options])
        return 'remote result'
      },
    }
    expect(await fn.invoke('x', { executor, runId: 'job-1' })).toBe('remote result')
    expect(calls).toEqual([[fn, 'x', { runId: 'job-1' }]])
    await expect(fn.trace('x', { executor })).rejects.toThrow(/trace runs in this process only/)
  })

  it("hands over the caller's cancellation and deadline when invoked inside a run, with its own beside them", async () => {
    const handed: InvokeOptions[] = []
    const executor = {
      invoke: (_: unknown, __: unknown, options: InvokeOptions) => {
        handed.push(options)
        return new Promise<never>(() => {})
      },
    }
    const leaf = defineFunction({ name: 'leaf', run: () => 'local' })
    const own = new AbortController()
    const caller = new AbortController()
    const root = defineFunction({
      name: 'root',
      run: () => leaf.invoke('x', { executor, signal: own.signal, deadline: Date.now() + 3_600_000 }),
    })
    const settled = root
      .invoke(undefined, { signal: caller.signal, timeoutMs: 60_000 })
      .catch((error: unknown) => error)
    await vi.waitFor(() => expect(handed).toHaveLength(1))
    const [options] = handed as [InvokeOptions]
    // The sooner deadline (the caller's, in a minute) and both signals.
    expect(options.deadline).toBeLessThanOrEqual(Date.now() + 60_000)
    expect(options.signal?.aborted).toBe(false)
    caller.abort('caller left')
    expect(options.signal?.aborted).toBe(true)
    expect(AbortError.isInstance(await settled)).toBe(true)
    // Outside any run, or with parent: null, the options go as they were given.
    leaf.invoke('y', { executor, parent: null }).catch(() => {})
    leaf.invoke('z', { executor }).catch(() => {})
    expect(handed.slice(1).map((options) => options.signal)).toEqual([undefined, undefined])
  })

  it('hands an executor, inside a run, any signal invoke takes (one that only behaves as one), and lets go of it once settled', async () => {
    const handed: InvokeOptions[] = []
    let answer: (value: string) => void = () => {}
    const executor = {
      invoke: (_: unknown, __: unknown, options: InvokeOptions) => {
        handed.push(options)
        return new Promise<string>((resolve) => {
          answer = resolve
        })
      },
    }
    // What a polyfill hands out: an EventTarget with `aborted` and `reason`, which AbortSignal.any refuses.
    const lookalike = Object.assign(new EventTarget(), { aborted: false, reason: undefined as unknown })
    const signal = lookalike as unknown as AbortSignal
    const leaf = defineFunction({ name: 'leaf', run: () => 'local' })
    const root = defineFunction({
      name: 'root',
      timeoutMs: 60_000,
      run: async () => {
        const output = await leaf.invoke('x', { executor, signal })
        // The hand-over settled: nothing of it listens to the signal any more, while the caller runs on.
        expect(getEventListeners(lookalike, 'abort')).toHaveLength(0)
        return output
      },
    })
    const first = root.invoke(undefined)
    await vi.waitFor(() => expect(handed).toHaveLength(1))
    expect(handed[0]?.signal?.aborted).toBe(false)
    answer('remote')
    expect(await first).toBe('remote')
    const second = root.invoke(undefined).catch((error: unknown) => error)
    await vi.waitFor(() => expect(handed).toHaveLength(2))
    lookalike.aborted = true
    lookalike.reason = 'the user left'
    lookalike.dispatchEvent(new Event('abort'))
    expect(handed[1]?.signal?.aborted).toBe(true)
    expect(handed[1]?.signal?.reason).toBe('the user left')
    answer('remote')
    expect(await second).toBe('remote')
  })

  it('hands over nothing of a caller whose run has ended, as a plain invoke there joins nothing', async () => {
    const handed: InvokeOptions[] = []
    const executor = {
      invoke: (_: unknown, __: unknown, options: InvokeOptions) => {
        handed.push(options)
        return Promise.resolve('remote')
      },
    }
    const leaf = defineFunction({ name: 'leaf', run: () => 'local' })
    let release: () => void = () => {}
    const ended = new Promise<void>((resolve) => {
      release = resolve
    })
    let later: Promise<unknown> | undefined
    const caller = new AbortController()
    const root = defineFunction({
      name: 'root',
      run: () => {
        // Code the run leaves behind in its async context: it goes on after the run ended.
        later = ended.then(() => leaf.invoke('x', { executor }))
        return 'done'
      },
    })
    expect(await root.invoke(undefined, { signal: caller.signal, timeoutMs: 60_000 })).toBe('done')
    caller.abort('the request ended')
    release()
    expect(await later).toBe('remote')
    expect(handed.map((options) => [options.signal, options.deadline])).toEqual([[undefined, undefined]])
  })

  it('refuses a signal or deadline handed to an executor that is not one, inside a run or not: never replaced by the caller’s', async () => {
    const handed: InvokeOptions[] = []
    const executor = {
      invoke: async (_: unknown, __: unknown, options: InvokeOptions) => {
        handed.push(options)
        return 'remote'
      },
    }
    const leaf = defineFunction({ name: 'leaf', run: () => 'local' })
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ deadline: 'tomorrow' }, /^leaf: deadline must be a number of epoch ms ≥ 0, got "tomorrow"/],
      [{ deadline: Number.NaN }, /^leaf: deadline must be a number of epoch ms ≥ 0, got NaN/],
      [{ signal: { aborted: false } }, /^leaf: signal must be an AbortSignal, got an object/],
    ]
    const root = defineFunction({
      name: 'root',
      timeoutMs: 60_000,
      run: () => Promise.all(bad.map(([options]) => leaf.invoke('x', { executor, ...options }).catch((e) => e))),
    })
    const inside = await root.invoke(undefined)
    const outside = await Promise.all(
      bad.map(([options]) => leaf.invoke('x', { executor, ...options }).catch((e) => e)),
    )
    for (const errors of [inside, outside]) {
      errors.forEach((error: unknown, index) => {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect((error as Error).message).toMatch(bad[index]![1])
      })
    }
    expect(handed).toEqual([])
  })
})

describe('events carry what a bridge needs when it happens', () => {
  it('annotations (a choice, a model) and usage ride on the events of the run that has them', async () => {
    const events: LifecycleEvent[] = []
    const call = defineFunction({
      name: 'call',
      run: (_: undefined, context: RunContext) => {
        context.annotate('model', 'gpt-4o-mini')
        context.addUsage({ inputTokens: 3, outputTokens: 2, totalTokens: 5 }, 0.0001)
        return 'ok'
      },
    })
    await call.invoke(undefined, { onEvent: (event) => events.push(event) })
    const complete = events.find((event) => event.to === 'complete')
    expect(complete?.annotations).toEqual({ model: 'gpt-4o-mini' })
    expect(complete?.usage).toMatchObject({ calls: 1, totalTokens: 5, costUsd: 0.0001 })
  })

  it('an event kept for later shows the usage and annotations of when it happened, and a listener cannot change them', async () => {
    const events: LifecycleEvent[] = []
    const call = defineFunction({
      name: 'call',
      retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
      run: (_: undefined, context: RunContext) => {
        context.annotate('attempt', context.attempt)
        context.addUsage({ inputTokens: 10, outputTokens: 0, totalTokens: 10 }, undefined)
        if (context.attempt === 1) throw new Error('the stream was cut')
        return 'ok'
      },
    })
    const record = await call.trace(undefined, {
      onEvent: (event) => {
        events.push(event)
        if (event.to !== 'complete') return
        ;(event.usage as { totalTokens: number }).totalTokens = 0
        ;(event.annotations as Record<string, unknown>).attempt = 'changed'
      },
    })
    const retrying = events.find((event) => event.to === 'retrying')
    expect([retrying?.usage?.totalTokens, retrying?.annotations]).toEqual([10, { attempt: 1 }])
    expect([record.usage?.totalTokens, record.annotations]).toEqual([20, { attempt: 2 }])
  })
})

describe('hooks for tracing bridges', () => {
  it('a run cancelled with children in flight ends after them: each child’s failed event comes before its parent’s', async () => {
    const hangs = defineFunction({ name: 'hangs', run: () => never })
    const middle = defineFunction({
      name: 'middle',
      run: (_: undefined, context: RunContext) => context.invoke(hangs, undefined),
    })
    const topRun = (_: undefined, context: RunContext) => context.invoke(middle, undefined)
    const cases = {
      aborted: defineFunction({ name: 'top', run: topRun }),
      'timed out': defineFunction({ name: 'top', timeoutMs: 20, run: topRun }),
      'its attempt timed out': defineFunction({ name: 'top', attemptTimeoutMs: 20, run: topRun }),
    }
    for (const [what, top] of Object.entries(cases)) {
      const controller = new AbortController()
      const ends: string[] = []
      const record = await top.trace(undefined, {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.to === 'failed') ends.push(event.function)
          if (what === 'aborted' && event.function === 'hangs' && event.to === 'running')
            setImmediate(() => controller.abort('the user left'))
        },
      })
      expect([what, ...ends]).toEqual([what, 'hangs', 'middle', 'top'])
      const child = record.children[0] as RunRecord
      const grandchild = child.children[0] as RunRecord
      expect(grandchild.endedAt).toBeLessThanOrEqual(child.endedAt as number)
      expect(child.endedAt).toBeLessThanOrEqual(record.endedAt as number)
    }
  })

  it('events name the kind and the Function, carry the input leaving init and the output when complete', async () => {
    const events: LifecycleEvent[] = []
    const double = defineFunction({ name: 'double', run: (value: number) => value * 2 })
    await double.invoke(21, { onEvent: (event) => events.push(event) })
    expect(events.every((event) => event.kind === 'function' && event.source === double)).toBe(true)
    expect(events.find((event) => event.from === 'init')?.input).toBe(21)
    expect(events.find((event) => event.to === 'complete')?.output).toBe(42)
  })

  it('a subscriber hears only the trees it accepts, and no event is built for the others', async () => {
    const heard: string[] = []
    const stop = onLifecycleEvent((event) => heard.push(event.function), {
      accepts: (root) => root.function === 'traced',
    })
    try {
      await defineFunction({ name: 'traced', run: () => 1 }).invoke(undefined)
      await defineFunction({ name: 'ignored', run: () => 1 }).invoke(undefined)
    } finally {
      stop()
    }
    expect(new Set(heard)).toEqual(new Set(['traced']))
  })

  it('a listener subscribed twice hears each event once, of a tree already running, after one subscription ends', async () => {
    const heard: string[] = []
    const listener = (event: LifecycleEvent) => heard.push(`${event.function}:${event.to}`)
    const stopFirst = onLifecycleEvent(listener)
    const stopSecond = onLifecycleEvent(listener)
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const f = defineFunction({
      name: 'f',
      run: async () => {
        await released
        return 'ok'
      },
    })
    try {
      const running = f.invoke(undefined)
      await Promise.resolve()
      expect(heard).toEqual(['f:input_validation', 'f:input_validation', 'f:running', 'f:running'])
      stopFirst()
      release()
      await running
    } finally {
      stopSecond()
    }
    expect(heard.slice(4)).toEqual(['f:output_validation', 'f:processing_output', 'f:complete'])
  })

  it('a listener hears no more of a tree once the subscription that chose it ends, whatever its other subscriptions', async () => {
    const heard: string[] = []
    const listener = (event: LifecycleEvent) => heard.push(`${event.function}:${event.to}`)
    let stopChoosing: () => void = () => {}
    const child = defineFunction({ name: 'child', run: (value: number) => value })
    const watched = defineFunction({
      name: 'watched',
      run: async (_: undefined, context: RunContext) => {
        stopChoosing()
        heard.length = 0
        return context.invoke(child, 1)
      },
    })
    stopChoosing = onLifecycleEvent(listener, { accepts: (root) => root.function === 'watched' })
    const stopOther = onLifecycleEvent(listener, { accepts: (root) => root.function === 'another' })
    try {
      expect(await watched.invoke(undefined)).toBe(1)
    } finally {
      stopOther()
    }
    expect(heard).toEqual([])
  })

  it('a subscriber that unsubscribes hears no more events, of a tree already running included', async () => {
    for (const subscription of [undefined, { accepts: () => true }]) {
      const heard: string[] = []
      const stayed: string[] = []
      const stop = onLifecycleEvent((event) => heard.push(`${event.function}:${event.to}`), subscription)
      const stopOther = onLifecycleEvent((event) => stayed.push(`${event.function}:${event.to}`), subscription)
      let release: () => void = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      const child = defineFunction({ name: 'child', run: () => 'ok' })
      const parent = defineFunction({
        name: 'parent',
        run: async (_: unknown, context: RunContext) => {
          await released
          return context.invoke(child, 1)
        },
      })
      try {
        const running = parent.invoke(undefined)
        await Promise.resolve()
        stop()
        release()
        await running
      } finally {
        stopOther()
      }
      expect(heard).toEqual(['parent:input_validation', 'parent:running'])
      expect(stayed).toHaveLength(10)
    }
  })

  it('a subscriber whose accepts throws hears nothing, is logged, and every run goes on', async () => {
    const heard: string[] = []
    const stop = onLifecycleEvent((event) => heard.push(event.to), {
      accepts: () => {
        throw new Error('tracer not ready')
      },
    })
    const logger = createMemoryLogger()
    try {
      expect(await defineFunction({ name: 'double', run: (n: number) => n * 2 }).invoke(21, { logger })).toBe(42)
    } finally {
      stop()
    }
    expect(heard).toEqual([])
    expect(logger.entries.map((entry) => entry.message)).toEqual([
      "a lifecycle subscription's accepts failed, so its listener does not hear this run; the run goes on",
    ])
  })

  it('a subscriber whose accepts answers neither true nor false (an async one) hears nothing, and is logged', async () => {
    for (const [accepts, shown] of [
      [async () => false, 'a promise (it cannot be async)'],
      [() => 'yes', '"yes"'],
    ] as const) {
      const heard: string[] = []
      const stop = onLifecycleEvent((event) => heard.push(event.to), { accepts: accepts as never })
      const logger = createMemoryLogger()
      try {
        expect(await defineFunction({ name: 'double', run: (n: number) => n * 2 }).invoke(21, { logger })).toBe(42)
      } finally {
        stop()
      }
      expect(heard).toEqual([])
      expect(String((logger.entries[0]?.fields?.error as Error | undefined)?.message)).toBe(
        `onLifecycleEvent: accepts must answer true or false, got ${shown}`,
      )
    }
  })

  it('an async accepts that rejects is logged, and its rejection ends neither the run nor the process', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const stop = onLifecycleEvent(() => {}, {
      accepts: (async () => {
        throw new Error('accepts that failed')
      }) as never,
    })
    const logger = createMemoryLogger()
    try {
      expect(await defineFunction({ name: 'double', run: (n: number) => n * 2 }).invoke(21, { logger })).toBe(42)
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
      expect(String((logger.entries[0]?.fields?.error as Error | undefined)?.message)).toBe(
        'onLifecycleEvent: accepts must answer true or false, got a promise (it cannot be async)',
      )
    } finally {
      stop()
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('a subscriber whose accepts answers a value whose then cannot be read hears nothing, is logged, and every run goes on', async () => {
    const heard: string[] = []
    const stop = onLifecycleEvent((event) => heard.push(event.to), {
      accepts: (() => ({
        // biome-ignore lint/suspicious/noThenProperty: an answer whose then cannot be read is the point of the test
        get then() {
          throw new Error('then is not ready')
        },
      })) as never,
    })
    const logger = createMemoryLogger()
    try {
      expect(await defineFunction({ name: 'double', run: (n: number) => n * 2 }).invoke(21, { logger })).toBe(42)
    } finally {
      stop()
    }
    expect(heard).toEqual([])
    expect(logger.entries.map((entry) => entry.message)).toEqual([
      "a lifecycle subscription's accepts failed, so its listener does not hear this run; the run goes on",
    ])
    expect(String((logger.entries[0]?.fields?.error as Error | undefined)?.message)).toBe('then is not ready')
  })

  it('onLifecycleEvent refuses a listener or an accepts that is not a function, before any run hears it', () => {
    expect(() => onLifecycleEvent('log' as never)).toThrow('onLifecycleEvent: listener must be a function, got "log"')
    expect(() => onLifecycleEvent(() => {}, { accepts: true as never })).toThrow(
      'onLifecycleEvent: accepts must be a function, got true',
    )
    expect(() => onLifecycleEvent(() => {}, { accept: () => true } as never)).toThrow(
      'onLifecycleEvent: accept is not an option; did you mean accepts?',
    )
  })

  it('completes a run whose code returns NaN under a run wrapper that hands its output back', async () => {
    const ratio = defineFunction({ name: 'ratio', run: (value: { a: number; b: number }) => value.a / value.b })
    const remove = setRunWrapper((_run, call) => call())
    try {
      await expect(ratio.invoke({ a: 0, b: 0 })).resolves.toBeNaN()
    } finally {
      remove()
    }
  })

  it('setRunWrapper refuses a wrapper that is not a function, and runs go on as before', async () => {
    expect(() => setRunWrapper({ wrap: true } as never)).toThrow(
      'setRunWrapper: wrapper must be a function, or undefined, got an object',
    )
    expect(await defineFunction({ name: 'plain', run: () => 'ran' }).invoke(undefined)).toBe('ran')
  })

  it('a run wrapper surrounds every attempt and processOutput, with the run it is for', async () => {
    const wrapped: string[] = []
    const remove = setRunWrapper((run, call) => {
      wrapped.push(run.functionName)
      return call()
    })
    try {
      const child = defineFunction({ name: 'child', run: () => 'c', processOutput: (value: string) => value })
      const parent = defineFunction({ name: 'parent', run: () => child.invoke(undefined) })
      expect(await parent.invoke(undefined)).toBe('c')
    } finally {
      remove()
    }
    expect(wrapped).toEqual(['parent', 'child', 'child'])
  })

  it('a run wrapper that skips the call, calls it twice or later, or replaces its output, fails the run with a ConfigurationError', async () => {
    let ran = 0
    const step = defineFunction({
      name: 'step',
      run: () => {
        ran += 1
        return 'ran'
      },
    })
    const wrappers: Array<[RunWrapper, RegExp, number]> = [
      [(() => undefined) as unknown as RunWrapper, /the run wrapper returned without calling the run/, 0],
      [
        (_, call) => {
          call()
          return call()
        },
        /the run wrapper called the run a second time/,
        1,
      ],
      [
        ((_: unknown, call: () => unknown) => {
          kept = call
          return undefined
        }) as unknown as RunWrapper,
        /the run wrapper returned without calling the run/,
        0,
      ],
      [
        ((_: unknown, call: () => unknown) => `${call()}, replaced`) as unknown as RunWrapper,
        /returned something else/,
        1,
      ],
    ]
    let kept: (() => unknown) | undefined
    for (const [wrapper, message, runs] of wrappers) {
      ran = 0
      const remove = setRunWrapper(wrapper)
      try {
        const record = await step.trace(undefined)
        expect(record.status).toBe('failed')
        expect(ConfigurationError.isInstance(record.error)).toBe(true)
        expect(record.error?.message).toMatch(message)
        expect(ran).toBe(runs)
      } finally {
        remove()
      }
    }
    // The call kept for later is refused, the run having ended without it.
    expect(() => kept?.()).toThrow(/the run wrapper called the run after it had returned/)
    expect(ran).toBe(1)
  })

  it('a run wrapper that breaks its contract around an async run leaves no unhandled rejection behind', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    // The run rejects once the test lets it, after the run ended in the wrapper's error.
    let release = () => {}
    let threw = Promise.resolve()
    const failing = defineFunction({
      name: 'failing',
      run: () => {
        const gate = new Promise<void>((resolve) => {
          release = resolve
        })
        const failed = gate.then(() => {
          throw new Error('the run failed')
        })
        threw = failed.then(
          () => {},
          () => {},
        )
        return failed
      },
    })
    const wrappers: Array<[RunWrapper, RegExp]> = [
      // An async wrapper returns its own promise, never the run's.
      [(async (_: unknown, call: () => unknown) => call()) as unknown as RunWrapper, /returned something else/],
      // One that awaits first calls the run after it returned: its own promise rejects for that.
      [
        (async (_: unknown, call: () => unknown) => {
          await undefined
          return call()
        }) as unknown as RunWrapper,
        /returned without calling the run/,
      ],
      [
        (_, call) => {
          call()
          throw new Error('the wrapper failed')
        },
        /the wrapper failed/,
      ],
    ]
    try {
      for (const [wrapper, message] of wrappers) {
        const remove = setRunWrapper(wrapper)
        try {
          const record = await failing.trace(undefined)
          expect(record.status).toBe('failed')
          expect(record.error?.message).toMatch(message)
        } finally {
          remove()
        }
        release()
        await threw
        // Unhandled rejections are reported once the microtasks have run, before the next turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve))
      }
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it("a Function a subscription's accepts invokes starts a tree of its own, also when the tree it is asked about starts inside a run", async () => {
    const lookUp = defineFunction({ name: 'lookUp', run: (id: string) => id })
    let asked: Promise<RunRecord> | undefined
    const stop = onLifecycleEvent(() => {}, {
      accepts: (root) => {
        if (root.function === 'background') asked = lookUp.trace('allow-list')
        return false
      },
    })
    try {
      const background = defineFunction({ name: 'background', run: () => 'done' })
      const host = defineFunction({
        name: 'host',
        run: () => background.invoke(undefined, { parent: null }),
      })
      const record = await host.trace(undefined)
      expect(record.children).toEqual([])
      expect((await asked)?.parentRunId).toBeUndefined()
    } finally {
      stop()
    }
  })

  it('a traced record keeps the input, redacted when serialised', async () => {
    const record = await defineFunction({ name: 'f', run: () => 'ok' }).trace({ apiKey: 'sk-live-123', text: 'hi' })
    expect(record.input).toEqual({ apiKey: 'sk-live-123', text: 'hi' })
    expect(JSON.stringify(record)).not.toContain('sk-live-123')
  })
})

describe('timestamps of a run record', () => {
  /** Keeps the thread busy for at least `ms` of wall time, as synchronous user code does. */
  const busy = (ms: number): void => {
    const until = performance.now() + ms
    while (performance.now() < until) {}
  }
  const atOf = (record: RunRecord, state: string): number => {
    const entry = record.states.find((candidate) => candidate.state === state)
    if (entry === undefined) throw new Error(`no ${state} in ${statesOf(record).join(' → ')}`)
    return entry.at
  }

  it('count the time of synchronous user code: a schema, the run, processOutput', async () => {
    const slowSchema = schemaOf((value) => {
      busy(5)
      return { value }
    })
    const step = defineFunction({
      name: 'slow',
      input: slowSchema,
      output: slowSchema,
      run: (value: unknown) => {
        busy(5)
        return value
      },
      processOutput: (value) => {
        busy(5)
        return value
      },
    })
    const record = await step.trace(1)
    expect(record.status).toBe('complete')
    // Each gap holds the 5 ms its user code kept the thread busy (less a rounding error of the epoch's addition).
    expect(atOf(record, 'running') - atOf(record, 'input_validation')).toBeGreaterThanOrEqual(4.99)
    expect(atOf(record, 'output_validation') - atOf(record, 'running')).toBeGreaterThanOrEqual(4.99)
    expect(atOf(record, 'processing_output') - atOf(record, 'output_validation')).toBeGreaterThanOrEqual(4.99)
    expect(atOf(record, 'complete') - atOf(record, 'processing_output')).toBeGreaterThanOrEqual(4.99)
    expect(record.durationMs).toBeGreaterThanOrEqual(19.99)
  })

  it('share one reading of the clock for transitions the engine makes back to back, on the record and the events', async () => {
    const events: LifecycleEvent[] = []
    const step = defineFunction({
      name: 'plain',
      run: (value: number) => {
        busy(2)
        return value + 1
      },
    })
    const record = await step.trace(1, { onEvent: (event) => events.push(event) })
    const at = record.states.map((entry) => entry.at)
    // init, input_validation and running: nothing of the user's ran between them.
    expect(at[1]).toBe(at[0])
    expect(at[2]).toBe(at[0])
    // output_validation follows the run; processing_output and complete follow it with no schema or processOutput.
    expect(at[3]).toBeGreaterThanOrEqual((at[2] as number) + 1.99)
    expect(at[4]).toBe(at[3])
    expect(at[5]).toBe(at[3])
    expect(events.map((event) => event.at)).toEqual(at.slice(1))
  })

  it('read the clock again after a retry waits', async () => {
    let calls = 0
    const flaky = defineFunction({
      name: 'flaky',
      retry: { attempts: 2, initialDelayMs: 5, jitter: 0 },
      run: (value: number) => {
        calls += 1
        if (calls === 1) throw new Error('once')
        return value
      },
    })
    const record = await flaky.trace(1)
    expect(statesOf(record)).toContain('retrying')
    const retrying = atOf(record, 'retrying')
    const secondRunning = record.states.filter((entry) => entry.state === 'running')[1]?.at as number
    // A timer may fire up to a millisecond early by the clock the records use; the wait still shows.
    expect(secondRunning - retrying).toBeGreaterThanOrEqual(3)
  })

  it('read the clock again when a retry wait ends in cancellation', async () => {
    const flaky = defineFunction({
      name: 'flaky',
      retry: { attempts: 2, initialDelayMs: 60_000 },
      run: () => {
        throw new Error('always')
      },
    })
    const controller = new AbortController()
    const traced = flaky.trace(1, { signal: controller.signal })
    setTimeout(() => controller.abort('stop'), 10)
    const record = await traced
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'running', 'retrying', 'failed'])
    // The run failed after waiting: its end, and its duration, are read after the wait, not copied from before it.
    expect(atOf(record, 'failed') - atOf(record, 'retrying')).toBeGreaterThanOrEqual(8)
    expect(record.durationMs).toBeGreaterThanOrEqual(8)
  })
})

describe('runs on the edge: budgets, deadlines, copies of the package', () => {
  it('a token budget counts the tokens of usage whose total is below its input and output', async () => {
    const spend = defineFunction({
      name: 'spend',
      run: (_: undefined, context: RunContext) => {
        // A server that reports 1,000 tokens used and a total of 0 (a proxy that drops total_tokens, say).
        context.addUsage({ inputTokens: 600, outputTokens: 400, totalTokens: 0 }, undefined)
        // The next call asks for 100 more within a budget of 500: 1,000 were spent already.
        const release = context.reserveBudget({ tokens: 100 })
        release()
        return context.treeUsage
      },
    })
    const outcome = await spend.invoke(undefined, { budget: { maxTokens: 500 } }).catch((error: unknown) => error)
    expect((outcome as Error).name).toBe('BudgetExceededError')
  })

  it('a run whose deadline passed while a listener kept the thread busy does not start its work', async () => {
    let ran = false
    const step = defineFunction({
      name: 'step',
      run: () => {
        ran = true
        return 'sent a request after the deadline'
      },
    })
    const started = Date.now()
    const outcome = await step
      .invoke(undefined, {
        timeoutMs: 20,
        onEvent: (event) => {
          // A slow listener (a synchronous log write to a full pipe, say): the deadline passes while it runs.
          if (event.to === 'running') while (Date.now() < started + 100) {}
        },
      })
      .catch((error: unknown) => error)
    expect((outcome as Error).name).toBe('TimeoutError')
    // "A run whose deadline has already passed does none of its work … however fast that work would be"
    expect(ran).toBe(false)
  })

  it('context.invoke refuses a Function of another copy of the package, saying so; a plain invoke starts a tree of its own', async () => {
    // Two copies of core in one process (a package that brought its own): errors and listeners are shared, runs are not.
    vi.resetModules()
    const copy = (await import('./index.js')) as typeof import('./index.js')
    expect(copy.Function).not.toBe(Function)
    const child = copy.defineFunction({ name: 'child', run: (value: number) => value * 2 })
    const parent = defineFunction({
      name: 'parent',
      run: (value: number, context: RunContext) => context.invoke(child, value),
    })
    const refused = await parent.invoke(2).catch((error: unknown) => error)
    expect(ConfigurationError.isInstance(refused)).toBe(true)
    expect((refused as Error).message).toContain('belongs to another copy of @tinyllm/core in this process')
    const alone = defineFunction({ name: 'alone', run: (value: number) => child.invoke(value) })
    const record = await alone.trace(2)
    expect(record.output).toBe(4)
    expect(record.children).toHaveLength(0)
  })

  it('a cost budget stops a tree once it is spent, also for code that reserves its tokens without a cost', async () => {
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

  it('throws a ConfigurationError naming budget, as resolveRetryPolicy does for a retry policy', () => {
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
