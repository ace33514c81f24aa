import { getEventListeners } from 'node:events'
import {
  AbortError,
  ConfigurationError,
  defineFunction,
  type Function,
  FunctionError,
  formatRunTree,
  type RunContext,
  StepLimitError,
  TimeoutError,
  TinyLLMError,
} from '@tinyllm/core'
import { describe, expect, it, vi } from 'vitest'
import {
  aborted,
  blocker,
  configurationErrorOf,
  deferred,
  growingList,
  tick,
  withoutDurations,
} from './__fixtures__/helpers.js'
import { Parallel, unboundedConcurrency } from './parallel.js'

/** Counts branches in flight and remembers the most seen at once. */
function inFlightMeter() {
  const meter = { now: 0, max: 0, started: 0 }
  const fn = defineFunction({
    name: 'measured',
    run: async (value: number) => {
      meter.started += 1
      meter.now += 1
      meter.max = Math.max(meter.max, meter.now)
      await tick()
      meter.now -= 1
      return value * 2
    },
  })
  return { meter, fn }
}

describe('Parallel over children', () => {
  it('runs every child on the same input, results keyed by child name in declared order', async () => {
    const slow = defineFunction({
      name: 'slow',
      run: async (input: { n: number }) => {
        await tick()
        await tick()
        return input.n + 1
      },
    })
    const fast = defineFunction({ name: 'fast', run: (input: { n: number }) => input.n * 10 })
    const parallel = new Parallel({ name: 'both', children: [slow, fast] })
    const output = await parallel.invoke({ n: 4 })
    expect(output).toEqual({ slow: 5, fast: 40 })
    expect(Object.keys(output)).toEqual(['slow', 'fast'])
    expect(parallel.kind).toBe('parallel')
  })

  it('keys results by the object’s keys for an object of children', async () => {
    const length = defineFunction({ name: 'length', run: (text: string) => text.length })
    const upper = defineFunction({ name: 'upper', run: (text: string) => text.toUpperCase() })
    const parallel = new Parallel({ name: 'both', children: { size: length, shout: upper, again: length } })
    const output = await parallel.invoke('abc')
    expect(output).toEqual({ size: 3, shout: 'ABC', again: 3 })
    expect(Object.keys(output)).toEqual(['size', 'shout', 'again'])
  })

  it('keeps a child named __proto__ as an ordinary key', async () => {
    const odd = defineFunction({ name: '__proto__', run: () => 'odd' })
    const output = await new Parallel({ name: 'odd', children: [odd] }).invoke(undefined)
    expect(Object.keys(output)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype)
  })

  it('records every child as a child run of the Parallel', async () => {
    const a = defineFunction({ name: 'a', run: () => 1 })
    const b = defineFunction({ name: 'b', run: () => 2 })
    const record = await new Parallel({ name: 'p', children: [a, b] }).trace(undefined)
    expect(record.kind).toBe('parallel')
    expect(record.children.map((child) => child.function).sort()).toEqual(['a', 'b'])
    expect(record.children.every((child) => child.parentRunId === record.runId)).toBe(true)
  })

  it('refuses duplicate names, no children, both forms or a bad policy at construction', () => {
    const a = defineFunction({ name: 'a', run: () => 1 })
    const alsoA = defineFunction({ name: 'a', run: () => 2 })
    const build = (options: object) => () => new Parallel({ name: 'p', ...options } as never)
    const refusal = (options: object) => configurationErrorOf(build(options))
    expect(build({ children: [a, alsoA] })).toThrow(ConfigurationError)
    expect(refusal({ children: [a, alsoA] })).toEqual({
      option: 'children',
      message:
        'p: children has two Functions named "a"; results are keyed by name, so names must be unique (or pass an object of children)',
    })
    const empty = 'p: children must be a non-empty list or object of Functions, got'
    expect(refusal({ children: [] })).toEqual({ option: 'children', message: `${empty} []` })
    expect(refusal({ children: {} })).toEqual({ option: 'children', message: `${empty} an object` })
    // An empty key is the step key of its branch, which cannot be empty: refused before any branch runs.
    expect(refusal({ children: { '': a, b: alsoA } })).toEqual({
      option: 'children',
      message: 'p: children must be an object whose keys are not empty, got an object',
    })
    // A Symbol key is no result key at all: refused, where its branch would be left out without a word.
    expect(refusal({ children: { a, [Symbol('audit')]: alsoA } })).toEqual({
      option: 'children',
      message: 'p: children must be an object whose keys are strings, got Symbol(audit)',
    })
    // Nor one it inherits, or holds in a getter of its class: its own keys alone would leave that branch out.
    expect(refusal({ children: Object.assign(Object.create({ audit: alsoA }), { a }) })).toEqual({
      option: 'children.audit',
      message: 'p: children.audit must be an own property of children, got one it inherits',
    })
    class Branches {
      readonly a = a
      get audit() {
        return alsoA
      }
    }
    expect(refusal({ children: new Branches() })).toEqual({
      option: 'children.audit',
      message: 'p: children.audit must be an own property of children, got one it inherits',
    })
    // A Map of children is no object of them: named as such, not by a getter a Map inherits (`size`).
    expect(refusal({ children: new Map([['a', a]]) })).toEqual({
      option: 'children',
      message: 'p: children must be an object of Functions keyed by name, got a Map',
    })
    // Nor can it hold a lone surrogate, which core refuses in a step key when the run starts: refused when it is built.
    expect(refusal({ children: { '\uD800': a, b: alsoA } })).toEqual({
      option: 'children',
      message:
        'p: children must be an object whose keys are well-formed Unicode, without a lone surrogate, got "\\ud800"',
    })
    expect(refusal({ children: 3 })).toEqual({
      option: 'children',
      message: 'p: children must be a list or an object of Functions, got 3',
    })
    expect(refusal({ children: [a], map: a })).toEqual({
      option: 'children',
      message: 'p: children and map are both given: give `children` (run on the same input) or `map` (run over a list)',
    })
    expect(refusal({})).toEqual({
      option: 'children',
      message: 'p: children or map is missing: give `children` (run on the same input) or `map` (run over a list)',
    })
    expect(refusal({ children: [a, 'b'] })).toEqual({
      option: 'children[1]',
      message: 'p: children[1] must be a Function, got "b"',
    })
    expect(refusal({ children: { x: 1 } })).toEqual({
      option: 'children.x',
      message: 'p: children.x must be a Function, got 1',
    })
    expect(refusal({ map: {} })).toEqual({ option: 'map', message: 'p: map must be a Function, got an object' })
    expect(refusal({ children: [a], concurrency: 0 })).toEqual({
      option: 'concurrency',
      message: 'p: concurrency must be an integer ≥ 1, or Infinity, got 0',
    })
    expect(refusal({ children: [a], concurrency: 1.5 }).message).toBe(
      'p: concurrency must be an integer ≥ 1, or Infinity, got 1.5',
    )
    expect(refusal({ children: [a], mode: 'eventually' })).toEqual({
      option: 'mode',
      message: `p: mode must be one of 'fail-fast', 'settle-all', got "eventually"`,
    })
  })

  it('refuses a repeated name where it is, so a list as long as 2³²−1 answering one child at every index fails at once', () => {
    const a = defineFunction({ name: 'a', run: () => 1 })
    let reads = 0
    const endless = new Proxy([a], {
      get: (target, key) => {
        if (key === 'length') return 2 ** 32 - 1
        if (typeof key === 'string' && /^\d+$/.test(key)) {
          reads += 1
          // Far past the repeat: reading on this long means the whole list is being copied.
          if (reads > 100) throw new Error('read far past the repeated name')
          return a
        }
        return Reflect.get(target, key)
      },
    })
    expect(configurationErrorOf(() => new Parallel({ name: 'p', children: endless }))).toEqual({
      option: 'children',
      message:
        'p: children has two Functions named "a"; results are keyed by name, so names must be unique (or pass an object of children)',
    })
    expect(reads).toBe(2)
  })

  it('refuses a hole in its children, and children that cannot be read, naming the option', () => {
    const a = defineFunction({ name: 'a', run: () => 1 })
    const b = defineFunction({ name: 'b', run: () => 2 })
    const refusal = (children: unknown) => configurationErrorOf(() => new Parallel({ name: 'p', children } as never))
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(refusal([a, , b])).toEqual({
      option: 'children[1]',
      message: 'p: children[1] must be a Function, got undefined',
    })
    const getter = {
      get x(): never {
        throw new Error('getter')
      },
    }
    expect(refusal(getter)).toEqual({ option: 'children', message: 'p: children could not be read: Error: getter' })
    // A key is its branch's step key: one longer than a step key can be is refused here, not at every invocation.
    expect(refusal({ ['k'.repeat(1_001)]: a })?.message).toMatch(
      /^p: children must be an object whose keys are at most 1,000 characters, got "k+/,
    )
    expect(() => new Parallel({ name: 'p', children: getter } as never)).toThrow(ConfigurationError)
  })

  it('reads the length of its list of children once, so a list whose length grows as it is read cannot keep it building', () => {
    const child = (index: number) => defineFunction({ name: `f${index}`, run: () => index })
    expect(new Parallel({ name: 'p', children: growingList(child) }).keys).toEqual(['f0', 'f1'])
  })

  it('refuses a listed child that only looks like a Function and whose name cannot be its result key', () => {
    const duck = (name: unknown) =>
      ({
        name,
        kind: 'function',
        invoke: async () => name,
        describe: () => ({ kind: 'function', name: 'duck' }),
      }) as never
    const refusal = (...children: unknown[]) =>
      configurationErrorOf(() => new Parallel({ name: 'p', children } as never))
    // `5` and `'5'` are one result key: one of the two results would be lost.
    expect(refusal(duck(5), duck('5'))).toEqual({
      option: 'children',
      message: 'p: children must be a list of Functions whose names are strings, got 5',
    })
    expect(refusal(duck(undefined))?.message).toBe(
      'p: children must be a list of Functions whose names are strings, got undefined',
    )
    expect(refusal(duck(''))?.message).toBe('p: children must be a list of Functions whose names are not empty, got ""')
    expect(refusal(duck('\uD800'))?.message).toBe(
      'p: children must be a list of Functions whose names are well-formed Unicode, without a lone surrogate, got "\\ud800"',
    )
    expect(refusal(duck('k'.repeat(1_001)))?.message).toMatch(
      /^p: children must be a list of Functions whose names are at most 1,000 characters, got "k+/,
    )
  })

  it('refuses an option it does not know, and suggests the one meant', () => {
    const score = defineFunction({ name: 'score', run: (value: number) => value })
    const build = () => new Parallel({ name: 'Score all', map: score, concurency: 8 } as never)
    expect(configurationErrorOf(build)).toEqual({
      option: 'concurency',
      message:
        'Score all: concurency is not an option; did you mean concurrency? ' +
        '(known: attemptTimeoutMs, children, concurrency, durable, input, map, mode, name, output, processedOutput, retry, timeoutMs)',
    })
    expect(configurationErrorOf(() => new Parallel({ name: 'Score all', map: score, concurrency: 0 })).message).toBe(
      'Score all: concurrency must be an integer ≥ 1, or Infinity, got 0',
    )
  })
})

describe('Parallel map form', () => {
  it('runs one child over each input, results by index', async () => {
    const square = defineFunction({
      name: 'square',
      run: async (value: number) => {
        if (value % 2 === 0) await tick()
        return value * value
      },
    })
    const parallel = new Parallel({ name: 'squares', map: square, concurrency: 2 })
    expect(await parallel.invoke([1, 2, 3, 4, 5])).toEqual([1, 4, 9, 16, 25])
    expect(await parallel.invoke([])).toEqual([])
  })

  it('fails with a ValidationError, not retried, when its input is not a list', async () => {
    let runs = 0
    const id = defineFunction({ name: 'id', run: (x: number) => x })
    const parallel = new Parallel({ name: 'squares', map: id, retry: { attempts: 3, initialDelayMs: 0 } })
    const events: string[] = []
    const error = await parallel
      .invoke(3 as never, { onEvent: (event) => event.function === 'squares' && events.push(event.to) })
      .catch((caught: unknown) => caught)
    runs = events.filter((state) => state === 'running').length
    expect((error as TinyLLMError).name).toBe('ValidationError')
    expect((error as TinyLLMError).retryable).toBe(false)
    expect((error as Error).message).toMatch(/^squares: invalid input \(input_validation, 1 issue\)/)
    expect((error as Error).message).toContain('the map form of Parallel runs over a list; got number')
    expect(runs).toBe(1)
  })

  it('fails with a ValidationError, not retried, when its list cannot be read or has no list’s length', async () => {
    let calls = 0
    const id = defineFunction({
      name: 'id',
      run: (x: number) => {
        calls += 1
        return x
      },
    })
    const parallel = new Parallel({ name: 'squares', map: id, retry: { attempts: 3, initialDelayMs: 0 } })
    const thrown = new Error('length trap')
    const revocable = Proxy.revocable([1, 2], {})
    revocable.revoke()
    const lists: Array<[unknown, string]> = [
      [
        new Proxy([1, 2], {
          get: (target, key) => {
            if (key === 'length') throw thrown
            return Reflect.get(target, key)
          },
        }),
        'got one that throws when read',
      ],
      [revocable.proxy, 'got one that throws when read'],
      [
        new Proxy([1, 2], { get: (target, key) => (key === 'length' ? 1e12 : Reflect.get(target, key)) }),
        'got one whose length is 1000000000000',
      ],
    ]
    for (const [list, message] of lists) {
      const record = await parallel.trace(list as number[])
      expect(record.status).toBe('failed')
      expect(record.attempts).toBe(1)
      expect(record.error?.name).toBe('ValidationError')
      expect(record.error?.retryable).toBe(false)
      expect(record.error?.message).toContain(`the map form of Parallel runs over a list; ${message}`)
    }
    expect(calls).toBe(0)
  })

  it('fails with its own ValidationError naming the index, not the child’s error, when an item cannot be read', async () => {
    const seen: number[] = []
    const id = defineFunction({
      name: 'id',
      run: (x: number) => {
        seen.push(x)
        return x
      },
    })
    const thrown = new Error('item trap')
    const list = [1, 2, 3]
    Object.defineProperty(list, 1, {
      get: () => {
        throw thrown
      },
    })
    const failFast = new Parallel({ name: 'squares', map: id, retry: { attempts: 3, initialDelayMs: 0 } })
    const record = await failFast.trace(list)
    expect(record.attempts).toBe(1)
    expect(record.error?.name).toBe('ValidationError')
    expect(record.error?.functionName).toBe('squares')
    expect(record.error?.message).toBe(
      'squares: invalid input (input_validation, 1 issue)\n  - [1]: the item could not be read (a getter or a Proxy that throws)',
    )
    expect((record.error as Error).cause).toBe(thrown)
    expect(seen).toEqual([1])

    const settled = await new Parallel({ name: 'squares', map: id, mode: 'settle-all' }).invoke(list)
    expect(settled[1]).toMatchObject({
      status: 'rejected',
      error: { name: 'ValidationError', functionName: 'squares' },
    })
    expect(settled[2]).toEqual({ status: 'fulfilled', value: 3 })
  })

  it('refuses a list with a hole at the hole, in either mode, so a sparse list as long as 2³²−1 fails at once', async () => {
    const seen: unknown[] = []
    const id = defineFunction({
      name: 'id',
      run: (x: unknown) => {
        seen.push(x)
        return x
      },
    })
    const sparse: unknown[] = ['first']
    sparse.length = 2 ** 32 - 1
    for (const mode of ['fail-fast', 'settle-all'] as const) {
      seen.length = 0
      const record = await new Parallel({ name: 'all', map: id, mode }).trace(sparse)
      expect(record.status, mode).toBe('failed')
      expect(record.attempts, mode).toBe(1)
      expect(record.error?.message, mode).toBe(
        'all: invalid input (input_validation, 1 issue)\n  - [1]: the list has a hole here; the map form runs over a list without holes',
      )
      expect(seen, mode).toEqual(['first'])
    }
    // A hole among items is refused where it is, and nothing after it starts.
    const gapped: unknown[] = [1, 2, 3]
    delete gapped[1]
    seen.length = 0
    await expect(new Parallel({ name: 'all', map: id, concurrency: 1 }).invoke(gapped)).rejects.toThrow(
      /- \[1\]: the list has a hole/,
    )
    expect(seen).toEqual([1])
    // An input fault: another attempt would be handed the same list, so retrying invalid output does not retry it.
    const retrying = new Parallel({
      name: 'all',
      map: id,
      retry: { attempts: 3, initialDelayMs: 0, retryInvalidOutput: true },
    })
    expect((await retrying.trace(gapped)).attempts).toBe(1)
  })

  it('fails at a hole at once in settle-all mode too: the branches still running are aborted, not waited for', async () => {
    const seen: AbortSignal[] = []
    const item = defineFunction({
      name: 'item',
      // Settles only when aborted: a Parallel that waited for it to run to its end would never settle.
      run: async (value: string, context: RunContext) => {
        if (value !== 'slow') return value
        seen.push(context.signal)
        await aborted(context.signal)
        return 'finished anyway'
      },
    })
    const gapped: string[] = ['slow']
    gapped[2] = 'after'
    for (const mode of ['fail-fast', 'settle-all'] as const) {
      seen.length = 0
      const record = await new Parallel({ name: 'all', map: item, mode }).trace(gapped)
      expect(record.status, mode).toBe('failed')
      expect(record.error?.message, mode).toMatch(/- \[1\]: the list has a hole here/)
      expect(seen, mode).toHaveLength(1)
      expect(seen[0]?.aborted, mode).toBe(true)
      expect(record.children, mode).toHaveLength(1)
      const slow = record.children[0]!
      expect(slow.status, mode).toBe('failed')
      expect(AbortError.isInstance(slow.error), mode).toBe(true)
      expect((slow.error as AbortError).reason, mode).toBe(record.error)
    }
  })
  it('does not retry a list that is not one or cannot be read, nor an unreadable item, when invalid output is retried', async () => {
    const id = defineFunction({ name: 'id', run: (x: unknown) => x })
    const retrying = new Parallel({
      name: 'all',
      map: id,
      retry: { attempts: 3, initialDelayMs: 0, retryInvalidOutput: true },
    })
    let itemReads = 0
    const unreadableItem = [1, 2]
    Object.defineProperty(unreadableItem, 1, {
      get: () => {
        itemReads += 1
        throw new Error('item trap')
      },
    })
    const revocable = Proxy.revocable([1, 2], {})
    revocable.revoke()
    // Each is a fault of the input: another attempt would be handed the same list and fail the same way.
    for (const [input, issue] of [
      [3, 'the map form of Parallel runs over a list; got number'],
      [revocable.proxy, 'the map form of Parallel runs over a list; got one that throws when read'],
      [unreadableItem, 'the item could not be read'],
    ] as const) {
      const record = await retrying.trace(input as never)
      expect(record.status, issue).toBe('failed')
      expect(record.error?.name, issue).toBe('ValidationError')
      expect(record.error?.message, issue).toContain(issue)
      expect(record.attempts, issue).toBe(1)
    }
    expect(itemReads).toBe(1)
  })
})

describe('Parallel concurrency', () => {
  it('never runs more than the limit at once, and reaches it', async () => {
    const { meter, fn } = inFlightMeter()
    const parallel = new Parallel({ name: 'limited', map: fn, concurrency: 4 })
    const inputs = Array.from({ length: 25 }, (_, index) => index)
    expect(await parallel.invoke(inputs)).toEqual(inputs.map((value) => value * 2))
    expect(meter.started).toBe(25)
    expect(meter.max).toBe(4)
  })

  it('runs everything at once by default', async () => {
    const { meter, fn } = inFlightMeter()
    await new Parallel({ name: 'unlimited', map: fn }).invoke(Array.from({ length: 30 }, (_, index) => index))
    expect(meter.max).toBe(30)
  })

  it('starts at most unboundedConcurrency branches at once when the concurrency is Infinity', async () => {
    const { meter, fn } = inFlightMeter()
    const inputs = Array.from({ length: 25_000 }, (_, index) => index)
    // settle-all: in fail-fast mode every branch also listens on the one shared signal, which only makes this slower.
    const output = await new Parallel({ name: 'huge', map: fn, mode: 'settle-all' }).invoke(inputs)
    expect(unboundedConcurrency).toBe(1_024)
    expect(meter.started).toBe(25_000)
    expect(meter.max).toBe(unboundedConcurrency)
    expect(output.every((settled, index) => settled.status === 'fulfilled' && settled.value === index * 2)).toBe(true)
  }, 120_000)

  it('holds a list or an object of children to the limit too, in either mode', async () => {
    const meter = { now: 0, max: 0 }
    const measured = (name: string) =>
      defineFunction({
        name,
        run: async () => {
          meter.now += 1
          meter.max = Math.max(meter.max, meter.now)
          await tick()
          meter.now -= 1
          return name
        },
      })
    const list = Array.from({ length: 7 }, (_, index) => measured(`c${index}`))
    const byName = await new Parallel({ name: 'list', children: list, concurrency: 2 }).invoke(undefined)
    expect(Object.keys(byName)).toEqual(list.map((child) => child.name))
    expect(meter.max).toBe(2)
    meter.max = 0
    const object = { a: measured('a'), b: measured('b'), c: measured('c'), d: measured('d'), e: measured('e') }
    const settled = await new Parallel({ name: 'object', children: object, concurrency: 3, mode: 'settle-all' }).invoke(
      undefined,
    )
    expect(Object.keys(settled)).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(settled.e).toEqual({ status: 'fulfilled', value: 'e' })
    expect(meter.max).toBe(3)
  })

  it('keeps its stack flat when branches settle the moment they start', async () => {
    // A Function of the user's own whose `invoke` throws at once, before any await.
    const abrupt = {
      name: 'abrupt',
      kind: 'function',
      invoke(): Promise<never> {
        throw new Error('refused')
      },
      describe: () => ({ kind: 'function', name: 'abrupt' }),
    }
    const inputs = Array.from({ length: 100_000 }, (_, index) => index)
    const output = await new Parallel({ name: 'abrupt-all', map: abrupt, mode: 'settle-all' }).invoke(inputs as never)
    expect(output).toHaveLength(100_000)
    expect(output.every((settled) => settled.status === 'rejected')).toBe(true)
  }, 120_000)

  it('runs 10,000 branches, in order, within the limit, and leaves no listener behind', async () => {
    const { meter, fn } = inFlightMeter()
    const controller = new AbortController()
    const inputs = Array.from({ length: 10_000 }, (_, index) => index)
    const parallel = new Parallel({ name: 'wide', map: fn, concurrency: 64 })
    const output = await parallel.invoke(inputs, { signal: controller.signal })
    expect(output).toHaveLength(10_000)
    expect(output[0]).toBe(0)
    expect(output[9_999]).toBe(19_998)
    expect(output.every((value, index) => value === index * 2)).toBe(true)
    expect(meter.started).toBe(10_000)
    expect(meter.max).toBe(64)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('runs 10,000 named children and keys every result', async () => {
    const children = Array.from({ length: 10_000 }, (_, index) =>
      defineFunction({ name: `child-${index}`, run: (base: number) => base + index }),
    )
    const output = await new Parallel({ name: 'many', children, concurrency: 100 }).invoke(1)
    const keys = Object.keys(output)
    expect(keys).toHaveLength(10_000)
    expect(keys[0]).toBe('child-0')
    expect(keys[9_999]).toBe('child-9999')
    expect(output['child-9999']).toBe(10_000)
  })
})

describe('Parallel fail-fast', () => {
  it('aborts the running siblings through their signals; they end failed with an AbortError', async () => {
    const seen: AbortSignal[] = []
    const failing = defineFunction({
      name: 'failing',
      run: async () => {
        await tick()
        throw new Error('credit bureau unreachable')
      },
    })
    const parallel = new Parallel({
      name: 'analysis',
      children: [blocker('email', seen), failing, blocker('report', seen)],
    })
    const root = new AbortController()
    const record = await parallel.trace(undefined, { signal: root.signal })
    expect(root.signal.aborted).toBe(false)
    expect(getEventListeners(root.signal, 'abort')).toHaveLength(0)
    expect(record.status).toBe('failed')
    expect(FunctionError.isInstance(record.error)).toBe(true)
    expect(record.error?.functionName).toBe('failing')
    expect(record.error?.message).toContain('credit bureau unreachable')

    expect(seen).toHaveLength(2)
    expect(seen.every((signal) => signal.aborted)).toBe(true)
    const byName = new Map(record.children.map((child) => [child.function, child]))
    for (const sibling of ['email', 'report']) {
      const child = byName.get(sibling)!
      expect(child.status).toBe('failed')
      expect(AbortError.isInstance(child.error)).toBe(true)
      expect(child.error?.functionName).toBe(sibling)
      expect((child.error as AbortError).reason).toBe(record.error)
    }
    expect(byName.get('failing')?.status).toBe('failed')
  })

  it('aborts the siblings with an AbortError naming each and carrying the first error, when that is an AbortError or TimeoutError of its own', async () => {
    // A branch that fails with an abort or a timeout it met itself (a child given an aborted signal, an attempt that
    // timed out): the siblings met neither; they are aborted because it failed.
    const failures = [
      new AbortError({ functionName: 'inner', state: 'init', reason: 'inner stop' }),
      new TimeoutError({ functionName: 'inner', state: 'running', timeoutMs: 5, kind: 'attempt' }),
    ]
    for (const failure of failures) {
      const seen: AbortSignal[] = []
      const failing = defineFunction({
        name: 'failing',
        run: async () => {
          await tick()
          throw failure
        },
      })
      const parallel = new Parallel({ name: 'analysis', children: [blocker('email', seen), failing] })
      const record = await parallel.trace(undefined)
      expect(record.error, failure.name).toBe(failure)
      const email = record.children.find((child) => child.function === 'email')!
      expect(email.status).toBe('failed')
      expect(AbortError.isInstance(email.error), failure.name).toBe(true)
      expect(email.error?.functionName).toBe('email')
      expect((email.error as AbortError).reason).toBe(failure)
      expect(email.error?.retryable).toBe(false)
    }
  })

  it('fails at the first failure, not waiting for a branch that ignores its signal (one that only looks like a Function)', async () => {
    const order: string[] = []
    /**
     * A child of its own kind: handed a signal, it ignores it and answers when the test lets it — or, were the Parallel
     * to wait for it, a second later, so that such a Parallel fails this test rather than hangs it.
     */
    const deafChild = () => {
      const seen: AbortSignal[] = []
      const answer = deferred<string>()
      const child = {
        name: 'deaf',
        kind: 'remote',
        describe: () => ({ kind: 'remote', name: 'deaf' }),
        invoke: (_input: unknown, options?: { signal?: AbortSignal }) => {
          seen.push(options?.signal as AbortSignal)
          const late = setTimeout(() => answer.resolve('a second later'), 1_000)
          return answer.promise.then((value) => {
            clearTimeout(late)
            order.push('deaf answered')
            return value
          })
        },
      }
      return { child: child as never, seen, answer }
    }
    // It fails with no turn of the event loop in between, so the Parallel fails before any timer can fire.
    const failing = defineFunction({
      name: 'failing',
      run: () => {
        throw new Error('credit bureau unreachable')
      },
    })
    const gapped: unknown[] = ['first']
    gapped[2] = 'after the hole'
    for (const mode of ['fail-fast', 'settle-all'] as const) {
      order.length = 0
      const { child, seen, answer } = deafChild()
      // A failed branch fails a fail-fast Parallel; a hole in its list fails a map in either mode.
      const parallel =
        mode === 'fail-fast'
          ? new Parallel({ name: 'analysis', children: [child, failing] })
          : new Parallel({ name: 'analysis', map: child, mode })
      const input = mode === 'fail-fast' ? undefined : gapped
      const error = await parallel.invoke(input as never).catch((caught: unknown) => {
        order.push('parallel failed')
        return caught
      })
      answer.resolve('answered once the Parallel had failed')
      await tick()
      expect(TinyLLMError.isInstance(error), mode).toBe(true)
      expect((error as Error).message, mode).toMatch(mode === 'fail-fast' ? /credit bureau unreachable/ : /a hole/)
      expect(seen[0]?.aborted, mode).toBe(true)
      expect(order, mode).toEqual(['parallel failed', 'deaf answered'])
    }
  })

  it('starts no queued branch after the first failure', async () => {
    const started: number[] = []
    const fn = defineFunction({
      name: 'item',
      run: async (value: number, context: RunContext) => {
        started.push(value)
        if (value === 1) throw new Error('bad item')
        await aborted(context.signal)
        return value
      },
    })
    const error = await new Parallel({ name: 'items', map: fn, concurrency: 2 })
      .invoke([0, 1, 2, 3, 4])
      .catch((caught: unknown) => caught)
    expect((error as TinyLLMError).message).toContain('bad item')
    expect(started).toEqual([0, 1])
  })
})

describe('Parallel settle-all', () => {
  it('collects a result or a typed error for every branch', async () => {
    const fn = defineFunction({
      name: 'item',
      run: async (value: number) => {
        await tick()
        if (value % 3 === 0) throw new Error(`item ${value} is bad`)
        return value * 2
      },
    })
    const output = await new Parallel({ name: 'items', map: fn, mode: 'settle-all', concurrency: 2 }).invoke([
      1, 3, 4, 6,
    ])
    expect(output.map((settled) => settled.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected'])
    expect(output[0]).toEqual({ status: 'fulfilled', value: 2 })
    const rejected = output[1]!
    if (rejected.status !== 'rejected') throw new Error('expected a rejection')
    expect(TinyLLMError.isInstance(rejected.error)).toBe(true)
    expect(FunctionError.isInstance(rejected.error)).toBe(true)
    expect(rejected.error.message).toContain('item 3 is bad')
  })

  it('keys settled results by name for children, and does not abort siblings', async () => {
    const ok = defineFunction({
      name: 'ok',
      run: async (_input: unknown, context: RunContext) => {
        await tick()
        await tick()
        return context.signal.aborted ? 'aborted' : 'done'
      },
    })
    const bad = defineFunction({
      name: 'bad',
      run: () => {
        throw new Error('nope')
      },
    })
    const output = await new Parallel({ name: 'mixed', children: { ok, bad }, mode: 'settle-all' }).invoke(undefined)
    expect(output.ok).toEqual({ status: 'fulfilled', value: 'done' })
    expect(output.bad.status).toBe('rejected')
  })

  it('reports a typed error for a child that only looks like a Function and rejects with something else', async () => {
    const duck = (name: string, invoke: () => Promise<never>) =>
      ({ name, kind: 'function', invoke, describe: () => ({ kind: 'function', name }) }) as never
    const output = await new Parallel({
      name: 'ducks',
      children: {
        text: duck('text', () => Promise.reject('raw string')),
        number: duck('number', () => Promise.reject(42)),
      },
      mode: 'settle-all',
    }).invoke(undefined)
    for (const [name, settled] of Object.entries(output) as [string, { status: string; error?: unknown }][]) {
      expect(settled.status).toBe('rejected')
      expect(FunctionError.isInstance(settled.error)).toBe(true)
      expect((settled.error as FunctionError).functionName).toBe(name)
    }
    expect((output as Record<string, { error: FunctionError }>).text?.error.cause).toBe('raw string')
  })

  it('settles, in either mode, when such a child’s name throws once it was invoked', async () => {
    // The name reads as usual until the child runs, then throws: naming its error must not stop the Parallel.
    const fickle = () => {
      let invoked = false
      return {
        get name(): string {
          if (invoked) throw new Error('name trap')
          return 'fickle'
        },
        kind: 'function',
        invoke: () => {
          invoked = true
          return Promise.reject('raw string')
        },
        describe: () => ({ kind: 'function', name: 'fickle' }),
      } as never
    }
    const settled = await new Parallel({ name: 'p', children: { a: fickle() }, mode: 'settle-all' }).invoke(undefined)
    expect(settled.a.status).toBe('rejected')
    const error = (settled.a as { error: TinyLLMError }).error
    expect(FunctionError.isInstance(error)).toBe(true)
    expect((error as FunctionError).cause).toBe('raw string')
    // Named as it was when it was invoked.
    expect(error.functionName).toBe('fickle')

    const record = await new Parallel({ name: 'p', map: fickle() }).trace([1] as never)
    expect(record.status).toBe('failed')
    expect(FunctionError.isInstance(record.error)).toBe(true)
    expect((record.error as FunctionError).cause).toBe('raw string')
  })

  it('fails with the run tree’s StepLimitError instead of settling it, so a Parallel that re-invokes itself ends', async () => {
    // Each branch invokes the Parallel again: 1,000 levels down the tree's nesting limit is reached. Settled there, each
    // level above would complete, and a Parallel of two such branches would fan out without end.
    const again: Function<number, unknown> = defineFunction({
      name: 'again',
      run: (depth: number, context: RunContext) => context.invoke(recursive, depth + 1),
    })
    const recursive: Function<number, unknown> = new Parallel({
      name: 'recursive',
      children: [again],
      mode: 'settle-all',
    })
    const nested = await recursive.invoke(0).catch((error: unknown) => error)
    expect(StepLimitError.isInstance(nested)).toBe(true)
    expect((nested as StepLimitError).what).toBe('nested runs')

    // Past `maxConcurrentRuns` of the tree: the whole graph is over its limit, not one branch.
    const seen: AbortSignal[] = []
    const wide = new Parallel({
      name: 'wide',
      children: [blocker('a', seen), blocker('b', seen), blocker('c', seen)],
      mode: 'settle-all',
    })
    const crowded = await wide.invoke(undefined, { maxConcurrentRuns: 2 }).catch((error: unknown) => error)
    expect(StepLimitError.isInstance(crowded)).toBe(true)
    expect(seen.every((signal) => signal.aborted)).toBe(true)
  })

  it('settles a StepLimitError of a branch’s own, such as an agent’s model turns', async () => {
    const turns = defineFunction({
      name: 'turns',
      run: () => {
        throw new StepLimitError({ limit: 3, what: 'model turns', functionName: 'turns', state: 'running' })
      },
    })
    const ok = defineFunction({ name: 'ok', run: () => 'done' })
    const output = await new Parallel({ name: 'mixed', children: { turns, ok }, mode: 'settle-all' }).invoke(undefined)
    expect(output.turns.status).toBe('rejected')
    expect(output.ok).toEqual({ status: 'fulfilled', value: 'done' })
  })
})

describe('Parallel abort', () => {
  for (const mode of ['fail-fast', 'settle-all'] as const) {
    it(`aborts every running branch, starts none of the queued ones, and cleans up its listeners (${mode})`, async () => {
      const seen: AbortSignal[] = []
      const started = deferred()
      const waiting = defineFunction({
        name: 'waiting',
        run: async (value: number, context: RunContext) => {
          seen.push(context.signal)
          if (seen.length === 3) started.resolve()
          await aborted(context.signal)
          return value
        },
      })
      const controller = new AbortController()
      const parallel = new Parallel({ name: 'batch', map: waiting, concurrency: 3, mode })
      const pending = parallel.trace([1, 2, 3, 4, 5, 6], { signal: controller.signal })
      await started.promise
      controller.abort(new Error('shutting down'))
      const record = await pending
      await tick()
      expect(record.status).toBe('failed')
      expect(AbortError.isInstance(record.error)).toBe(true)
      expect(seen).toHaveLength(3)
      expect(seen.every((signal) => signal.aborted)).toBe(true)
      expect(record.children).toHaveLength(3)
      for (const child of record.children) {
        expect(child.status).toBe('failed')
        expect(AbortError.isInstance(child.error)).toBe(true)
      }
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    })

    it(`aborts every running branch and starts none of the queued ones when its timeout passes (${mode})`, async () => {
      const seen: AbortSignal[] = []
      const started = deferred()
      const waiting = defineFunction({
        name: 'waiting',
        run: async (value: number, context: RunContext) => {
          seen.push(context.signal)
          if (seen.length === 3) started.resolve()
          await aborted(context.signal)
          return value
        },
      })
      const parallel = new Parallel({ name: 'batch', map: waiting, concurrency: 3, mode, timeoutMs: 1_000 })
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      try {
        const pending = parallel.trace([1, 2, 3, 4, 5, 6])
        await started.promise
        await vi.advanceTimersByTimeAsync(1_000)
        const record = await pending
        expect(record.status).toBe('failed')
        expect(TimeoutError.isInstance(record.error)).toBe(true)
        expect(seen).toHaveLength(3)
        expect(seen.every((signal) => signal.aborted)).toBe(true)
        expect(record.children).toHaveLength(3)
        for (const child of record.children) expect(child.status).toBe('failed')
      } finally {
        vi.useRealTimers()
      }
    })

    it(`stops a map of branches that settle at once when a timer aborts it (${mode})`, async () => {
      // Each branch settles the moment it starts and starts the next: without a break for the event loop, the timer
      // that aborts would run only after the last of them.
      let calls = 0
      const instant = defineFunction({
        name: 'instant',
        run: (value: number) => {
          calls += 1
          return value
        },
      })
      const controller = new AbortController()
      const parallel = new Parallel({ name: 'batch', map: instant, mode })
      const pending = parallel.trace(new Array<number>(100_000).fill(1), { signal: controller.signal })
      setTimeout(() => controller.abort(new Error('shutting down')), 0)
      const record = await pending
      expect(record.status).toBe('failed')
      expect(AbortError.isInstance(record.error)).toBe(true)
      expect(calls).toBeLessThan(100_000)
    })

    it(`stops a map of maps of branches that settle at once when a timer aborts it: starts are counted across the Parallels of a run tree (${mode})`, async () => {
      // Each inner map alone starts fewer branches than one turn allows; together they would start all 100,000 before
      // the timer could run, unless the starts of every Parallel of the tree count against one budget per turn.
      let calls = 0
      const instant = defineFunction({
        name: 'instant',
        run: (value: number) => {
          calls += 1
          return value
        },
      })
      const controller = new AbortController()
      const inner = new Parallel({ name: 'row', map: instant, mode })
      const outer = new Parallel({ name: 'rows', map: inner, mode })
      const rows = Array.from({ length: 100 }, () => new Array<number>(1_000).fill(1))
      const pending = outer.trace(rows, { signal: controller.signal })
      setTimeout(() => controller.abort(new Error('shutting down')), 0)
      const record = await pending
      expect(record.status).toBe('failed')
      expect(AbortError.isInstance(record.error)).toBe(true)
      expect(calls).toBeLessThan(100_000)
    })
  }

  it('counts the starts of each run tree apart: a long map of one tree does not hold up a short one of another', async () => {
    const instant = defineFunction({ name: 'instant', run: (value: number) => value })
    const long = new Parallel({ name: 'long', map: instant })
    const short = new Parallel({ name: 'short', map: instant })
    const ended: string[] = []
    const longRun = long.invoke(new Array<number>(200_000).fill(1)).then(() => ended.push('long'))
    // The long map has used up its turn, and waits for the next one.
    await new Promise((resolve) => setImmediate(resolve))
    const shortRun = short.invoke(new Array<number>(3_000).fill(1)).then(() => ended.push('short'))
    await Promise.all([longRun, shortRun])
    expect(ended).toEqual(['short', 'long'])
  })
})

describe('Parallel description', () => {
  it('describes its children, and marks the map form', async () => {
    const a = defineFunction({ name: 'a', run: () => 1 })
    expect(new Parallel({ name: 'p', children: [a] }).describe()).toEqual({
      kind: 'parallel',
      name: 'p',
      layout: 'group',
      children: [{ kind: 'function', name: 'a' }],
      map: false,
    })
    expect(new Parallel({ name: 'm', map: a }).describe().map).toBe(true)
    const record = await new Parallel({ name: 'p', children: [a] }).trace(undefined)
    expect(withoutDurations(formatRunTree(record))).toBe('✔ p (parallel)\n└─ ✔ a (function)')
  })
})
