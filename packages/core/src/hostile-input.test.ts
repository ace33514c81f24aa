import { describe, expect, it, vi } from 'vitest'
import { CancelScope, sleep } from './cancellation.js'
import { defineFunction } from './define-function.js'
import {
  AbortError,
  ConfigurationError,
  FunctionError,
  NonDeterminismError,
  TimeoutError,
  type TinyLLMError,
  ValidationError,
} from './errors.js'
import type { LifecycleEvent } from './events.js'
import { Function } from './function.js'
import { hashJson, MemoryJournal, type StepJournal } from './journal.js'
import type { InvokeOptions, RunContext } from './run-context.js'
import { formatRunTree } from './run-tree.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { Validator } from './validator.js'

// What a hostile caller hands the engine: values whose every read throws, options that cannot be honoured, counts that
// would poison a budget, work that keeps the thread past its deadline. Each must end in a typed error, hold nothing
// afterwards, and let nothing through.

/** A value whose every read, and even the question of its prototype, throws the value itself. */
function hostileValue(): object {
  const hostile: object = new Proxy(
    {},
    {
      get() {
        throw hostile
      },
      getPrototypeOf() {
        throw hostile
      },
      ownKeys() {
        throw hostile
      },
    },
  )
  return hostile
}

/** Keeps the thread busy for `ms` (no timer can run meanwhile), then returns. */
function busy(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // spin
  }
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  )

describe('a run refused for its options holds nothing', () => {
  it('no timer, no listener on the signal, no place among the runs in progress', async () => {
    const controller = new AbortController()
    let listeners = 0
    const { addEventListener, removeEventListener } = controller.signal
    controller.signal.addEventListener = function (this: AbortSignal, ...args: Parameters<typeof addEventListener>) {
      listeners += 1
      return addEventListener.apply(this, args)
    }
    controller.signal.removeEventListener = function (
      this: AbortSignal,
      ...args: Parameters<typeof removeEventListener>
    ) {
      listeners -= 1
      return removeEventListener.apply(this, args)
    }
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    for (let index = 0; index < 20; index++) {
      const { error } = await settle(
        f.invoke(1, { signal: controller.signal, timeoutMs: 60_000, stream: 'not a function' as never }),
      )
      expect(ConfigurationError.isInstance(error)).toBe(true)
    }
    expect(listeners).toBe(0)
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBe(timersBefore)

    // A child refused for a bad option does not count as in progress: five refusals, then a good child, under a limit
    // of three runs at once.
    const child = defineFunction({ name: 'child', run: (input: number) => input + 1 })
    const parent = defineFunction({
      name: 'parent',
      run: async (input: number, context: RunContext) => {
        for (const bad of [{ key: '' }, { timeoutMs: -1 }, { stream: 5 }, { signal: {} }, { deadline: Number.NaN }]) {
          const { error } = await settle(context.invoke(child, input, bad as never))
          expect(ConfigurationError.isInstance(error)).toBe(true)
        }
        return context.invoke(child, input)
      },
    })
    expect(await parent.invoke(1, { maxConcurrentRuns: 3 })).toBe(2)
  })
})

describe('whatever a run throws, it ends in a typed error', () => {
  it('a thrown Proxy whose every read throws, and an Error whose message getter throws', async () => {
    const hostile = hostileValue()
    const events: string[] = []
    const f = defineFunction({
      name: 'f',
      run: () => {
        throw hostile
      },
    })
    const { error } = await settle(f.invoke(1, { onEvent: (event: LifecycleEvent) => events.push(event.to) }))
    expect(FunctionError.isInstance(error)).toBe(true)
    expect((error as FunctionError).cause).toBe(hostile)
    expect((error as Error).message).toBe('f: running threw [an unreadable value]')
    expect(events.at(-1)).toBe('failed')
    const record = await f.trace(1)
    expect(record.status).toBe('failed')
    expect(FunctionError.isInstance(record.error)).toBe(true)

    const evil = new Error('x')
    Object.defineProperty(evil, 'message', {
      get() {
        throw evil
      },
    })
    const g = defineFunction({
      name: 'g',
      run: async () => {
        throw evil
      },
    })
    const second = await settle(g.invoke(1))
    expect(FunctionError.isInstance(second.error)).toBe(true)
    expect((second.error as FunctionError).cause).toBe(evil)
  })

  it('options whose reading throws something hostile are a rejected ConfigurationError, never a throw', async () => {
    const evil = new Error('x')
    Object.defineProperty(evil, 'message', {
      get() {
        throw evil
      },
    })
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    const getter = {
      get signal(): AbortSignal {
        throw evil
      },
    }
    for (const options of [getter, hostileValue()]) {
      let invoked: Promise<unknown> | undefined
      let traced: Promise<unknown> | undefined
      expect(() => {
        invoked = f.invoke(1, options as never)
        traced = f.trace(1, options as never)
      }).not.toThrow()
      for (const promise of [invoked, traced]) {
        const { error } = await settle(promise as Promise<unknown>)
        expect(ConfigurationError.isInstance(error)).toBe(true)
        expect((error as Error).message).toMatch(/^f: options could not be read/)
      }
    }
  })

  it('an abort reason that looks like a signal whose reason getter throws ends the run in an AbortError', async () => {
    const lookalike = {
      addEventListener() {},
      aborted: true,
      get reason(): unknown {
        throw new TypeError('no reason')
      },
    }
    const f = defineFunction({ name: 'f', run: (_: unknown, context: RunContext) => sleep(60_000, context.signal) })
    const events: string[] = []
    const controller = new AbortController()
    const invoked = settle(f.invoke(1, { signal: controller.signal, onEvent: (event) => events.push(event.to) }))
    const traceController = new AbortController()
    const traced = f.trace(1, { signal: traceController.signal })
    await Promise.resolve()
    controller.abort(lookalike)
    traceController.abort(lookalike)
    const { error } = await invoked
    expect(AbortError.isInstance(error)).toBe(true)
    expect((error as AbortError).reason).toBe(lookalike)
    expect(events.at(-1)).toBe('failed')
    const record = await traced
    expect(record.status).toBe('failed')
    expect(AbortError.isInstance(record.error)).toBe(true)

    const slept = settle(sleep(60_000, controller.signal))
    expect(AbortError.isInstance((await slept).error)).toBe(true)
  })
})

describe('work that keeps the thread past its deadline is refused, async or not', () => {
  // The work spins well past the limit, so the deadline has passed when it returns whatever the machine's speed; its
  // timer cannot have run meanwhile.
  const spinning = async (): Promise<string> => {
    busy(150)
    return 'late'
  }
  /** Spins past the deadline, then throws what a socket would. */
  const fail = (): never => {
    busy(150)
    throw new Error('socket hang up')
  }
  const spinningAfterAWait = async (): Promise<string> => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    busy(150)
    return 'late'
  }

  it.each([
    ['an async run', spinning, { timeoutMs: 50 }],
    ['an async run that waited first', spinningAfterAWait, { timeoutMs: 50 }],
    ['an async run with an absolute deadline', spinning, { deadline: Date.now() + 50 }],
  ] as const)('%s', async (_, run, options) => {
    const f = defineFunction({ name: 'f', run })
    const invokeOptions = 'deadline' in options ? { deadline: Date.now() + 50 } : options
    const { value, error } = await settle(f.invoke(undefined, invokeOptions))
    expect(value).toBeUndefined()
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect((error as TimeoutError).kind).toBe('total')
  })

  it.each([
    ['a synchronous run that throws', { run: (): never => fail() }],
    ['a synchronous processOutput that throws', { run: (): string => 'done', processOutput: (): never => fail() }],
  ] as const)('ends in its timeout, not in what %s past the deadline threw', async (_, steps) => {
    const f = defineFunction({ name: 'f', retry: { attempts: 3, initialDelayMs: 0 }, ...steps })
    const { error } = await settle(f.invoke(undefined, { timeoutMs: 50 }))
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect((error as TimeoutError).kind).toBe('total')
    expect((error as TimeoutError).message).toBe('f: run timed out after 50 ms')
  })

  it('ends an attempt that throws past its own time in its (retryable) attempt timeout', async () => {
    // Only the clock is faked: the first attempt moves it past its deadline before its timer can run, and the second
    // attempt, whose clock then stands still, cannot run out of time however slow the machine.
    vi.useFakeTimers({ toFake: ['Date'] })
    let attempts = 0
    const f = defineFunction({
      name: 'f',
      attemptTimeoutMs: 60_000,
      retry: { attempts: 2, initialDelayMs: 0 },
      run: () => {
        attempts += 1
        if (attempts > 1) return 'second'
        vi.setSystemTime(Date.now() + 61_000)
        throw new Error('socket hang up')
      },
    })
    const record = await f.trace(undefined).finally(() => vi.useRealTimers())
    expect(record.output).toBe('second')
    const retried = record.states.find((entry) => entry.state === 'retrying')?.error
    expect(TimeoutError.isInstance(retried)).toBe(true)
    expect((retried as TimeoutError).kind).toBe('attempt')
  })

  it('CancelScope.race refuses a result that arrives after the deadline', async () => {
    const scope = new CancelScope(undefined, { timeoutMs: 20, timeoutReason: () => new Error('too late') })
    const late = scope.race(
      Promise.resolve().then(() => {
        busy(60)
        return 'late'
      }),
    )
    await expect(late).rejects.toThrow('too late')
    scope.dispose()
  })
})

describe('a schema answering nonsense is a ValidationError, never retried as a failure of the code', () => {
  const schemaAnswering = (answer: () => unknown): StandardSchemaV1 => ({
    '~standard': { version: 1, vendor: 'test', validate: answer as StandardSchemaV1['~standard']['validate'] },
  })
  const throwingIssues = {
    get issues(): unknown {
      throw new Error('issues')
    },
  }
  const throwingThen = new Proxy(
    {},
    {
      get(_, key) {
        if (key === 'then') throw new Error('then')
        return undefined
      },
    },
  )

  it.each([
    ['a result whose every read throws', () => hostileValue()],
    ['a result whose issues getter throws', () => throwingIssues],
    [
      'an issue path whose key cannot become a string',
      () => ({ issues: [{ message: 'bad', path: [{ key: Object.create(null) }] }] }),
    ],
    ['an answer whose then cannot be read', () => throwingThen],
  ])('%s', async (_, answer) => {
    let runs = 0
    const f = defineFunction({
      name: 'f',
      output: schemaAnswering(answer),
      retry: { attempts: 3, initialDelayMs: 0 },
      run: () => {
        runs += 1
        return 'x'
      },
    })
    const { error } = await settle(f.invoke(undefined))
    expect((error as TinyLLMError).name).toBe('ValidationError')
    expect((error as TinyLLMError).state).toBe('output_validation')
    expect(runs).toBe(1)
  })
})

describe('a value no promise can carry (its `then` cannot be read) is a ValidationError, not retried', () => {
  const unreadableThen = () =>
    new Proxy(
      {},
      {
        get(_, key) {
          if (key === 'then') throw new Error('then is off limits')
          return undefined
        },
      },
    )
  const passThrough: StandardSchemaV1 = {
    '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
  }

  it('as the input, through a schema that passes it on, is handed to the code as it is; returned, it is refused', async () => {
    let seen: unknown
    const fn = defineFunction({
      name: 'takes',
      input: passThrough,
      run: (value: unknown) => {
        seen = value
        return value
      },
    })
    const given = unreadableThen()
    const record = await fn.trace(given)
    expect(seen).toBe(given)
    expect(ValidationError.isInstance(record.error)).toBe(true)
    expect(record.error).toMatchObject({ state: 'running', retryable: false })
    expect(record.error?.message).toMatch(/then: could not be read \(Error: then is off limits\)/)
  })

  it('a thenable input that a schema passes on is handed to the code as it is, never awaited', async () => {
    let thenCalls = 0
    const query = {
      // A query builder: awaiting it runs the query.
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a value with its own `then`.
      then(resolve: (rows: string) => void) {
        thenCalls += 1
        resolve('ROWS')
      },
    }
    const fn = defineFunction({ name: 'takes', input: passThrough, run: (value: unknown) => value === query })
    expect(await fn.invoke(query)).toBe(true)
    expect(thenCalls).toBe(0)
  })

  it('as the output of run and of processOutput, with retries allowed', async () => {
    for (const where of ['run', 'processOutput'] as const) {
      let runs = 0
      const fn = defineFunction({
        name: 'gives',
        retry: { attempts: 3, initialDelayMs: 0, jitter: 0 },
        run: () => {
          runs += 1
          return where === 'run' ? unreadableThen() : 'fine'
        },
        processOutput: (value: unknown) => (where === 'processOutput' ? unreadableThen() : value),
      })
      const error = await fn.invoke(undefined).catch((thrown: unknown) => thrown)
      expect(ValidationError.isInstance(error)).toBe(true)
      expect(runs).toBe(1)
    }
  })
})

describe('the processed output schema', () => {
  it('holds for the output of a Function without processOutput, whose output is its processed output', async () => {
    const f = defineFunction({
      name: 'f',
      processedOutput: schemaOf((value) =>
        typeof value === 'string' ? { value } : { issues: [{ message: 'expected a string' }] },
      ),
      run: (input: unknown) => input,
    })
    expect(await f.invoke('ok')).toBe('ok')
    const { error } = await settle(f.invoke(1))
    expect((error as TinyLLMError).name).toBe('ValidationError')
    expect((error as TinyLLMError).state).toBe('processing_output')
  })
})

describe('a budget cannot be switched off by a bad count', () => {
  const spender = (request: () => { tokens: number; costUsd?: number }) =>
    defineFunction({
      name: 'spend',
      run: (_: unknown, context: RunContext) => {
        const release = context.reserveBudget(request())
        context.addUsage({ inputTokens: 400, outputTokens: 0, totalTokens: 400 }, undefined)
        release()
        return 'spent'
      },
    })

  it.each([
    ['NaN tokens', Number.NaN],
    ['negative tokens', -1_000],
    ['tokens that are not a number', 'many'],
    ['no tokens at all', undefined],
  ])('%s is a ConfigurationError, and the budget still holds afterwards', async (_, tokens) => {
    const bad = spender(() => ({ tokens: tokens as number }))
    const good = spender(() => ({ tokens: 400 }))
    const outcomes: string[] = []
    const root = defineFunction({
      name: 'root',
      run: async (_: unknown, context: RunContext) => {
        const first = await settle(context.invoke(bad, undefined))
        expect(ConfigurationError.isInstance(first.error)).toBe(true)
        expect((first.error as Error).message).toMatch(/^spend: tokens must be a number of tokens ≥ 0, got /)
        for (let call = 0; call < 5; call++) {
          const { error } = await settle(context.invoke(good, undefined))
          outcomes.push(error === undefined ? 'ok' : (error as TinyLLMError).name)
        }
        return context.treeUsage.totalTokens
      },
    })
    expect(await root.invoke(undefined, { budget: { maxTokens: 1_000 } })).toBe(800)
    expect(outcomes).toEqual(['ok', 'ok', 'BudgetExceededError', 'BudgetExceededError', 'BudgetExceededError'])
  })

  it('usage with a count that is not a number is refused before it reaches the totals', async () => {
    const f = defineFunction({
      name: 'f',
      run: (_: unknown, context: RunContext) => {
        context.addUsage({ inputTokens: Number.NaN, outputTokens: 0, totalTokens: Number.NaN }, undefined)
        return context.treeUsage.totalTokens
      },
    })
    const { error } = await settle(f.invoke(undefined))
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toBe(
      'f: usage.inputTokens must be a number of tokens ≥ 0 and ≤ 9007199254740991, got NaN',
    )
  })

  it('usage or a reservation that cannot be read is a ConfigurationError naming it, and the budget still holds', async () => {
    const { proxy: revoked, revoke } = Proxy.revocable({}, {})
    revoke()
    const unreadable = {
      inputTokens: 1,
      outputTokens: 1,
      get totalTokens(): number {
        throw new Error('usage is not ready')
      },
    }
    const thrown: unknown[] = []
    const f = defineFunction({
      name: 'f',
      run: (_: unknown, context: RunContext) => {
        for (const attempt of [
          () => context.addUsage(unreadable, 0.1),
          () => context.addUsage(revoked as never, undefined),
          () =>
            context.reserveBudget({
              tokens: 1,
              get costUsd(): number {
                throw new Error('cost is not ready')
              },
            }),
          () => context.reserveBudget(revoked as never),
        ])
          try {
            attempt()
          } catch (error) {
            thrown.push(error)
          }
        context.reserveBudget({ tokens: 10 })
        return context.treeUsage.totalTokens
      },
    })
    expect(await f.invoke(undefined, { budget: { maxTokens: 10 } })).toBe(0)
    expect(thrown.map((error) => ConfigurationError.isInstance(error) && [error.option, error.message])).toEqual([
      ['usage', 'f: usage could not be read: Error: usage is not ready'],
      ['usage', expect.stringMatching(/^f: usage could not be read: TypeError: .*revoked/)],
      ['request', 'f: request could not be read: Error: cost is not ready'],
      ['request', expect.stringMatching(/^f: request could not be read: TypeError: .*revoked/)],
    ])
  })

  it('usage too large to add up is refused, so the totals never reach Infinity (null in JSON)', async () => {
    const spends = (count: number) =>
      defineFunction({
        name: 'f',
        run: (_: unknown, context: RunContext) => {
          context.addUsage({ inputTokens: count, outputTokens: 0, totalTokens: count }, count)
          context.addUsage({ inputTokens: count, outputTokens: 0, totalTokens: count }, count)
          return context.treeUsage
        },
      })
    const { error } = await settle(spends(1e308).invoke(undefined))
    expect((error as Error).message).toBe(
      'f: usage.inputTokens must be a number of tokens ≥ 0 and ≤ 9007199254740991, got 1e+308',
    )
    const most = await spends(Number.MAX_SAFE_INTEGER).trace(undefined)
    expect(Number.isFinite(most.usage?.totalTokens)).toBe(true)
    expect(JSON.parse(JSON.stringify(most)).usage.costUsd).toBe(2 * Number.MAX_SAFE_INTEGER)
  })

  it('usage is read once: a getter that answers a count to the check and NaN afterwards cannot switch the budget off', async () => {
    let reads = 0
    const shifty = {
      inputTokens: 400,
      outputTokens: 0,
      get totalTokens() {
        reads += 1
        return reads === 1 ? 400 : Number.NaN
      },
    }
    const shiftyCall = defineFunction({
      name: 'shifty',
      run: (_: unknown, context: RunContext) => context.addUsage(shifty, undefined),
    })
    const call = spender(() => ({ tokens: 400 }))
    const root = defineFunction({
      name: 'root',
      run: async (_: unknown, context: RunContext) => {
        await context.invoke(shiftyCall, undefined)
        const admitted: Array<string | undefined> = []
        for (let index = 0; index < 2; index++) {
          const { error } = await settle(context.invoke(call, undefined))
          admitted.push((error as TinyLLMError | undefined)?.name)
        }
        return [context.treeUsage.totalTokens, admitted, reads]
      },
    })
    const record = await root.trace(undefined, { budget: { maxTokens: 1_000 } })
    expect(record.output).toEqual([800, [undefined, 'BudgetExceededError'], 1])
    expect(record.usage?.totalTokens).toBe(800)
  })

  it('usage summed as totals (it has calls) must carry every count and the cost, or a cost budget stops holding', async () => {
    const costly = (usage: object) =>
      defineFunction({
        name: 'costly',
        run: (_: unknown, context: RunContext) => {
          context.addUsage(usage as never, 0.5)
          return context.treeUsage.costUsd
        },
      })
    const spend = defineFunction({
      name: 'spend',
      run: (_: unknown, context: RunContext) => {
        context.reserveBudget({ tokens: 1, costUsd: 1_000 })()
        return 'sent'
      },
    })
    for (const [usage, message] of [
      [
        { inputTokens: 1, outputTokens: 1, totalTokens: 2, calls: 1 },
        'costly: usage.unpricedCalls must be an integer ≥ 0 and ≤ 9007199254740991, got undefined',
      ],
      [
        { calls: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2, costUsd: Number.NaN, unpricedCalls: 0 },
        'costly: usage.costUsd must be a number of USD ≥ 0 and ≤ 9007199254740991, got NaN',
      ],
      [
        { calls: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2, costUsd: 0.5, unpricedCalls: 'none' },
        'costly: usage.unpricedCalls must be an integer ≥ 0 and ≤ 9007199254740991, got "none"',
      ],
    ] as const) {
      const root = defineFunction({
        name: 'root',
        run: async (_: unknown, context: RunContext) => {
          const { error } = await settle(context.invoke(costly(usage), undefined))
          expect(ConfigurationError.isInstance(error)).toBe(true)
          expect((error as Error).message).toBe(message)
          const after = await settle(context.invoke(spend, undefined))
          return [context.treeUsage.costUsd, (after.error as TinyLLMError | undefined)?.name]
        },
      })
      expect(await root.invoke(undefined, { budget: { maxCostUsd: 1 } })).toEqual([0, 'BudgetExceededError'])
    }
  })

  it('admits calls whose costs add up to the budget exactly, however binary fractions round, and no more', async () => {
    const spend = (costUsd: number) =>
      defineFunction({
        name: `spend ${costUsd}`,
        run: async (_: unknown, context: RunContext) => {
          const release = context.reserveBudget({ tokens: 0, costUsd })
          await Promise.resolve()
          release()
          return costUsd
        },
      })
    const root = defineFunction({
      name: 'root',
      run: async (_: unknown, context: RunContext) => {
        // Reserved at once (0.1 + 0.2 is 0.30000000000000004 in binary), then released, leaving no trace behind.
        const together = await Promise.all([
          context.invoke(spend(0.1), undefined),
          context.invoke(spend(0.2), undefined),
        ])
        const whole = await context.invoke(spend(0.3), undefined)
        const over = await settle(context.invoke(spend(0.300001), undefined))
        return [...together, whole, (over.error as TinyLLMError | undefined)?.name]
      },
    })
    expect(await root.invoke(undefined, { budget: { maxCostUsd: 0.3 } })).toEqual([
      0.1,
      0.2,
      0.3,
      'BudgetExceededError',
    ])
  })

  it('a journal entry whose usage is not a count is refused, not summed into the totals', async () => {
    const step = defineFunction({ name: 'step', durable: true, run: () => 'done' })
    const usage = { calls: 1, inputTokens: 1, outputTokens: 1, totalTokens: 2, costUsd: 'free', unpricedCalls: 0 }
    const entry = {
      function: 'step',
      kind: 'function',
      input: hashJson(1),
      output: 'done',
      usage: usage as never,
      at: 0,
    }
    // A journal of one's own that checks nothing: the engine checks what it replays all the same.
    const journal: StepJournal = {
      read: (key) => (key === 'run-1/step#1' ? entry : undefined),
      write: (_, given) => given,
    }
    const root = defineFunction({ name: 'root', run: (_: unknown, context: RunContext) => context.invoke(step, 1) })
    const { error } = await settle(root.invoke(undefined, { runId: 'run-1', journal }))
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect((error as Error).message).toBe(
      'step: journal.read answered an entry no journal would keep: usage.costUsd is not a finite number (for run-1/step#1)',
    )
  })

  it('a journal of its own answering what no journal keeps is refused, never replayed', async () => {
    let runs = 0
    const step = defineFunction({
      name: 'step',
      durable: true,
      run: () => {
        runs += 1
        return 'done'
      },
    })
    const entry = { function: 'step', kind: 'function', input: hashJson(1), output: 'done', at: 0 }
    for (const [odd, problem] of [
      [{ output: 10n }, 'output: a BigInt is not JSON-safe'],
      [{ annotations: ['a'] }, 'annotations is not a plain object'],
      [{ at: 'yesterday' }, 'at is not a finite number'],
    ] as const) {
      const journal: StepJournal = { read: () => ({ ...entry, ...odd }) as never, write: (_, given) => given }
      const root = defineFunction({ name: 'root', run: (_: unknown, context: RunContext) => context.invoke(step, 1) })
      const { error } = await settle(root.invoke(undefined, { runId: 'run-1', journal }))
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toContain(`journal.read answered an entry no journal would keep: ${problem}`)
    }
    expect(runs).toBe(0)
  })

  it('is read once when the run starts: changing the object afterwards changes nothing', async () => {
    const budget = { maxTokens: 1_000 }
    const admitted: string[] = []
    const call = spender(() => ({ tokens: 400 }))
    const root = defineFunction({
      name: 'root',
      run: async (_: unknown, context: RunContext) => {
        budget.maxTokens = Number.NaN
        for (let index = 0; index < 4; index++) {
          const { error } = await settle(context.invoke(call, undefined))
          admitted.push(error === undefined ? 'ok' : (error as TinyLLMError).name)
        }
        expect(Object.isFrozen(context.budget)).toBe(true)
        return context.budget
      },
    })
    expect(await root.invoke(undefined, { budget })).toEqual({ maxTokens: 1_000 })
    expect(admitted).toEqual(['ok', 'ok', 'BudgetExceededError', 'BudgetExceededError'])
  })
})

describe('a journal replays a step only for the input it was given', () => {
  it('tells apart two inputs whose 32-bit FNV-1a hashes collide', async () => {
    // The JSON of these two strings has the same length and the same 32-bit FNV-1a hash, the digest journals kept
    // before: the second input was handed the first one's output.
    const [first, second] = ['00019dfa', '00089cc0']
    expect(hashJson(first)).not.toBe(hashJson(second))
    let runs = 0
    const step = defineFunction({
      name: 'charge',
      durable: true,
      run: (input: string) => {
        runs += 1
        return { charged: input }
      },
    })
    const root = defineFunction({
      name: 'root',
      run: (input: string, context: RunContext) => context.invoke(step, input, { key: 'step' }),
    })
    const journal = new MemoryJournal()
    expect(await root.invoke(first, { runId: 'r', journal })).toEqual({ charged: first })
    const { error } = await settle(root.invoke(second, { runId: 'r', journal }))
    expect(NonDeterminismError.isInstance(error)).toBe(true)
    expect(runs).toBe(1)
  })

  it('does not replay an entry that kept no digest of its input', async () => {
    const step = defineFunction({ name: 'step', durable: true, run: (input: number) => input * 2 })
    const root = defineFunction({
      name: 'root',
      run: (input: number, context: RunContext) => context.invoke(step, input, { key: 's' }),
    })
    const journal = {
      read: () => ({ function: 'step', kind: 'function', output: 4, at: 0 }),
      write: (_: string, entry: unknown) => entry,
    }
    const { error } = await settle(root.invoke(3, { runId: 'r', journal: journal as never }))
    expect(NonDeterminismError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/kept no digest of its input/)
  })
})

describe('the run tree prints no secret a run was handed', () => {
  it('annotations named like a secret or holding one, and schema issues quoting one', async () => {
    const key = 'sk-proj-CANARYabcDEF0123456789xyzXYZ'
    const annotated = defineFunction({
      name: 'annotated',
      run: (_: unknown, context: RunContext) => {
        context.annotate('apiKey', 'hunter2hunter2')
        context.annotate('note', 'password=Hunter2Hunter2')
        context.annotate('model', key)
        return 'done'
      },
    })
    const tree = formatRunTree(await annotated.trace(undefined))
    expect(tree).toContain('apiKey=[REDACTED]')
    expect(tree).not.toContain('hunter2')
    expect(tree).not.toContain('Hunter2')
    expect(tree).not.toContain(key)

    const checked = defineFunction({
      name: 'checked',
      input: schemaOf((value) => ({ issues: [{ message: `expected a short string, got ${JSON.stringify(value)}` }] })),
      run: (input: unknown) => input,
    })
    const failed = formatRunTree(await checked.trace(key))
    expect(failed).toContain('ValidationError in input_validation: (root): expected a short string, got "[REDACTED]"')
    expect(failed).not.toContain(key)
  })
})

describe('other options refused with the one message format', () => {
  it('CancelScope refuses a signal that is not one, and an option it does not know', () => {
    expect(() => new CancelScope(undefined, { signal: {} as AbortSignal })).toThrow(
      'CancelScope: signal must be an AbortSignal, got an object',
    )
    expect(() => new CancelScope(undefined, { timeout: 5 } as never)).toThrow(
      /CancelScope: timeout is not an option; did you mean timeoutMs\?/,
    )
  })

  it('a run id, step key or Function name with a lone surrogate, which UTF-8 stores would merge with another', async () => {
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    await expect(f.invoke(1, { runId: 'order-\uD800' })).rejects.toThrow(
      'f: runId must be well-formed Unicode, without a lone surrogate, got "order-\\ud800"',
    )
    const parent = defineFunction({
      name: 'parent',
      run: (input: number, context: RunContext) => context.invoke(f, input, { key: 'step-\uDC00' }),
    })
    await expect(parent.invoke(1)).rejects.toMatchObject({ name: 'ConfigurationError', option: 'key' })
    expect(() => defineFunction({ name: 'charge-\uD800', run: () => 1 })).toThrow(
      /name must be well-formed Unicode, without a lone surrogate/,
    )
    // A well-formed pair is a character like any other.
    expect(await f.invoke(1, { runId: 'order-😀' })).toBe(1)
  })

  it('metadata that is not an object, a root key that is not a string, a non-object retry', async () => {
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    await expect(f.invoke(1, { metadata: 'x' as never })).rejects.toThrow('f: metadata must be an object, got "x"')
    await expect(f.invoke(1, { key: 5 as never })).rejects.toThrow('f: key must be a non-empty string, got 5')
    expect(() => defineFunction({ name: 'g', retry: [1] as never, run: () => 1 })).toThrow(
      /^g: retry must be a retry policy \(\{ attempts, initialDelayMs, … \}\), got \[1\]$/,
    )
  })

  it('metadata given as a Map, a Set or a String object is refused, and metadata is read once, when the run starts', async () => {
    // A Map's entries are no properties: its child would have seen none of them, merged over its parent's.
    const child = defineFunction({ name: 'child', run: (_: undefined, context: RunContext) => context.metadata })
    const parent = defineFunction({
      name: 'parent',
      run: (metadata: unknown, context: RunContext) =>
        context.invoke(child, undefined, { metadata: metadata as never }),
    })
    for (const [metadata, shown] of [
      [new Map([['tenant', 'acme']]), 'a Map'],
      [new Set(['acme']), 'a Set'],
      [new String('acme'), '"acme"'],
    ] as const) {
      await expect(child.invoke(undefined, { metadata: metadata as never })).rejects.toThrow(
        `child: metadata must be an object, got ${shown}`,
      )
      await expect(parent.invoke(metadata)).rejects.toMatchObject({ name: 'ConfigurationError', option: 'metadata' })
    }
    // A getter that throws, or a Proxy whose keys cannot be listed, fails the invoke as a bad option, not the run's code.
    const unreadable = {
      get tenant(): string {
        throw new Error('boom')
      },
    }
    await expect(child.invoke(undefined, { metadata: unreadable })).rejects.toThrow(
      'child: metadata could not be read: Error: boom',
    )
    // Read once: changing the object given afterwards changes no run.
    const given: Record<string, unknown> = { tenant: 'acme' }
    const reader = defineFunction({
      name: 'reader',
      run: async (_: undefined, context: RunContext) => {
        given.tenant = 'other'
        return context.metadata.tenant
      },
    })
    expect(await reader.invoke(undefined, { metadata: given })).toBe('acme')
  })

  it('an option whose getter throws is a ConfigurationError, even where no option of that name exists', () => {
    const definition = {
      name: 'f',
      run: () => 1,
      get bogus(): unknown {
        throw new Error('boom')
      },
    }
    expect(() => defineFunction(definition)).toThrow(ConfigurationError)
    expect(() => defineFunction(definition)).toThrow('f: options could not be read: Error: boom')
  })

  it('an option the Function reads whose getter throws is a ConfigurationError too, at any depth', () => {
    const boom = (): never => {
      throw new Error('boom')
    }
    const cases: Array<[object, string | RegExp]> = [
      [
        {
          get name() {
            return boom()
          },
          run: () => 1,
        },
        'Function: options could not be read: Error: boom',
      ],
      [
        { name: 'N'.repeat(10_000_000), run: () => 1 },
        /^Function: name must be a string of at most 200 characters, got "N{10,}/,
      ],
      [
        {
          name: 'f',
          get run() {
            return boom()
          },
        },
        'f: options could not be read: Error: boom',
      ],
      [
        {
          name: 'f',
          run: () => 1,
          get retry() {
            return boom()
          },
        },
        'f: options could not be read: Error: boom',
      ],
      [
        {
          name: 'f',
          run: () => 1,
          retry: {
            get attempts() {
              return boom()
            },
          },
        },
        'f: retry could not be read: Error: boom',
      ],
      [
        {
          name: 'f',
          run: () => 1,
          get timeoutMs() {
            return boom()
          },
        },
        'f: options could not be read: Error: boom',
      ],
    ]
    for (const [definition, message] of cases) {
      expect(() => defineFunction(definition as never)).toThrow(ConfigurationError)
      expect(() => defineFunction(definition as never)).toThrow(message)
    }
  })

  it('a Function name counts characters (an emoji is one) up to 200, and cannot be replaced afterwards', async () => {
    const named = defineFunction({ name: '😀'.repeat(200), run: () => 1 })
    expect(() => defineFunction({ name: '😀'.repeat(201), run: () => 1 })).toThrow(
      'Function: name must be a string of at most 200 characters',
    )
    expect(() => {
      ;(named as { name: string }).name = 'N'.repeat(10_000_000)
    }).toThrow(TypeError)
    expect(named.name).toBe('😀'.repeat(200))
    expect(await named.invoke(undefined)).toBe(1)
  })

  it('an executor without invoke is a ConfigurationError, and one whose invoke throws or rejects is not blamed on the options', async () => {
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    const missing = await settle(f.invoke(1, { executor: {} as never }))
    expect(ConfigurationError.isInstance(missing.error)).toBe(true)
    expect((missing.error as Error).message).toBe('f: executor must be a RunExecutor (with invoke), got an object')
    const closed = new Error('queue closed')
    const executor = {
      invoke: () => {
        throw closed
      },
    }
    const thrown = await settle(f.invoke(1, { executor }))
    expect(FunctionError.isInstance(thrown.error)).toBe(true)
    expect((thrown.error as Error).message).toBe('f: executor threw Error: queue closed')
    expect((thrown.error as Error).cause).toBe(closed)
    // Rejected rather than thrown (a queue whose connection dropped): typed the same way.
    const rejected = await settle(f.invoke(1, { executor: { invoke: () => Promise.reject(closed) } }))
    expect(FunctionError.isInstance(rejected.error)).toBe(true)
    expect((rejected.error as Error).message).toBe('f: executor threw Error: queue closed')
    expect((rejected.error as Error).cause).toBe(closed)
  })

  it('Validator refuses a site it could not name its errors with, at construction', () => {
    const schema: StandardSchemaV1 = { '~standard': { version: 1, vendor: 'test', validate: () => ({ issues: [] }) } }
    for (const site of [null, {}, { functionName: 'f' }]) {
      expect(() => new Validator(schema, site as never)).toThrow(ConfigurationError)
      expect(() => new Validator(schema, site as never)).toThrow(
        /^Validator: site must be \{ functionName, state \}, both strings, got /,
      )
    }
    expect(() => new Validator(schema, { functionName: 'f', state: 'input_validation' }).validate(1)).toThrow(
      'f: invalid input (input_validation, 1 issue)',
    )
  })

  it('Validator reads its site once: a getter that throws is a ConfigurationError, one that changes later changes no error', () => {
    const schema: StandardSchemaV1 = { '~standard': { version: 1, vendor: 'test', validate: () => ({ issues: [] }) } }
    const throwing = {
      get functionName(): string {
        throw new Error('no name')
      },
      state: 'input_validation',
    }
    expect(() => new Validator(schema, throwing)).toThrow(ConfigurationError)
    expect(() => new Validator(schema, throwing)).toThrow('Validator: site could not be read: Error: no name')
    let reads = 0
    const fickle = {
      get functionName(): string {
        reads += 1
        if (reads > 1) throw new Error('read again')
        return 'f'
      },
      state: 'input_validation',
    }
    const validator = new Validator(schema, fickle)
    expect(() => validator.validate(1)).toThrow(ValidationError)
    expect(() => validator.validate(1)).toThrow('f: invalid input (input_validation, 1 issue)')
    expect(validator.site).toEqual({ functionName: 'f', state: 'input_validation' })
  })

  it('Validator refuses what is no Standard Schema v1 object as its schema option, in the words of every option check', () => {
    const site = { functionName: 'Judge', state: 'running' }
    const versionTwo = { '~standard': { version: 2, vendor: 'next', validate: () => ({ value: 1 }) } }
    for (const schema of [versionTwo, { '~standard': { version: 1, vendor: 'x' } }, 5, null]) {
      const thrown = (() => {
        try {
          return new Validator(schema as never, site)
        } catch (error) {
          return error
        }
      })()
      expect(ConfigurationError.isInstance(thrown)).toBe(true)
      expect((thrown as ConfigurationError).option).toBe('schema')
      expect((thrown as Error).message).toMatch(
        /^Judge: schema must be a Standard Schema v1 object \(zod 4, valibot, arktype, …\), got /,
      )
    }
  })

  it('an executor that answers a plain value still gives invoke a promise', async () => {
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    const executor = { invoke: () => 5 as never }
    const result = f.invoke(1, { executor })
    expect(result).toBeInstanceOf(Promise)
    expect(await result).toBe(5)
  })
})

describe('invoke reads each option once, and names the one it could not use', () => {
  /** Options whose getters answer a valid value to the first read and `later` to every read after it. */
  function fickle(valid: Record<string, unknown>, later: unknown): { options: object; reads: Map<string, number> } {
    const reads = new Map<string, number>()
    const options = {}
    for (const [key, value] of Object.entries(valid))
      Object.defineProperty(options, key, {
        enumerable: true,
        get: () => {
          reads.set(key, (reads.get(key) ?? 0) + 1)
          return reads.get(key) === 1 ? value : later
        },
      })
    return { options, reads }
  }

  it('hands an executor the deadline and signal it checked, never a later answer of a getter', async () => {
    const handed: Array<{ deadline?: unknown; signal?: unknown }> = []
    const executor = {
      invoke: async (_fn: unknown, _input: unknown, options: { deadline?: unknown; signal?: unknown }) => {
        handed.push({ deadline: options.deadline, signal: options.signal })
        return 1
      },
    }
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    const deadline = Date.now() + 600_000
    const signal = new AbortController().signal
    const { options, reads } = fickle({ executor, deadline, signal }, 'garbage')
    expect(await f.invoke(1, options as never)).toBe(1)
    expect(handed).toEqual([{ deadline, signal }])
    expect([...reads.values()].every((count) => count === 1)).toBe(true)
  })

  it('reads timeoutMs, signal, parent, key and runId once for a run in this process', async () => {
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    const { options, reads } = fickle(
      { timeoutMs: 600_000, signal: new AbortController().signal, parent: null, key: 'k', runId: 'r' },
      'garbage',
    )
    expect(await f.invoke(1, options as never)).toBe(1)
    expect(Object.fromEntries(reads)).toEqual({ timeoutMs: 1, signal: 1, parent: 1, key: 1, runId: 1 })
  })

  it("context.invoke reads a child's options once, refuses a misspelt one naming the child, and a copy made by the child is read again", async () => {
    const seen: unknown[] = []
    class Spreading extends Function<number, number> {
      override invoke(input: number, options?: InvokeOptions): Promise<number> {
        // A subclass that adds to what it was given: its copy is options like any other, checked again.
        return super.invoke(input, { ...options, timeoutMs: 'soon' } as never)
      }

      run(input: number): number {
        return input
      }
    }
    const child = defineFunction({ name: 'child', run: (input: number) => input * 2 })
    const spreading = new Spreading({ name: 'spreading' })
    const { options, reads } = fickle({ key: 'k', timeoutMs: 600_000 }, 'garbage')
    const parent = defineFunction({
      name: 'parent',
      run: async (input: number, context: RunContext) => {
        seen.push(await context.invoke(child, input, options as never))
        seen.push(await settle(context.invoke(child, input, { tiemoutMs: 5 } as never)))
        seen.push(await settle(context.invoke(spreading, input, { key: 's' })))
        return input
      },
    })
    expect(await parent.invoke(2)).toBe(2)
    expect(Object.fromEntries(reads)).toEqual({ key: 1, timeoutMs: 1 })
    expect(seen[0]).toBe(4)
    expect((seen[1] as { error: Error }).error.message).toMatch(
      /^child: tiemoutMs is not an option; did you mean timeoutMs\?/,
    )
    expect((seen[2] as { error: Error }).error.message).toBe(
      'spreading: timeoutMs must be a number of ms > 0 and ≤ 2147483647, got "soon"',
    )
  })

  it('names signal when a lookalike signal throws as it is read or listened to, in a run or handed to an executor', async () => {
    const f = defineFunction({ name: 'f', run: (input: number) => input })
    const listenerThrows = {
      aborted: false,
      addEventListener: () => {
        throw new Error('no listeners here')
      },
      removeEventListener: () => {},
    }
    const abortedThrows = {
      get aborted(): boolean {
        throw new Error('aborted cannot be read')
      },
      addEventListener: () => {},
      removeEventListener: () => {},
    }
    const executor = { invoke: async () => 1 }
    const caller = defineFunction({
      name: 'caller',
      timeoutMs: 600_000,
      run: (input: number, context) => context.invoke(f, input, { executor, signal: listenerThrows } as never),
    })
    const outcomes = [
      await settle(f.invoke(1, { signal: listenerThrows as never })),
      await settle(f.invoke(1, { signal: abortedThrows as never })),
      await settle(f.invoke(1, { signal: listenerThrows as never, timeoutMs: 600_000 })),
      await settle(caller.invoke(1)),
    ]
    expect(outcomes.map(({ error }) => (error as Error | undefined)?.message)).toEqual([
      'f: signal could not be read: Error: no listeners here',
      'f: signal could not be read: Error: aborted cannot be read',
      'f: signal could not be read: Error: no listeners here',
      'f: signal could not be read: Error: no listeners here',
    ])
    for (const { error } of outcomes) expect(ConfigurationError.isInstance(error) && error.option).toBe('signal')
  })
})

function schemaOf(validate: (value: unknown) => unknown): StandardSchemaV1 {
  return {
    '~standard': { version: 1, vendor: 'test', validate: validate as StandardSchemaV1['~standard']['validate'] },
  }
}
