import {
  ConfigurationError,
  defineFunction,
  Function,
  type FunctionNode,
  type RunContext,
  type RunRecord,
} from '@tinyllm/core'
import type { AnyFunction } from '../any-function.js'

/** A promise with its resolve function outside, to hold a branch until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((settle) => {
    resolve = settle
  })
  return { promise, resolve }
}

/** Resolves when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason)
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true })
  })
}

/** The ConfigurationError that `build` throws, as `{ option, message }`; anything else fails the test. */
export function configurationErrorOf(build: () => unknown): { option: string; message: string } {
  try {
    build()
  } catch (error) {
    if (!ConfigurationError.isInstance(error)) throw error
    return { option: error.option, message: error.message }
  }
  throw new Error('expected a ConfigurationError, but nothing was thrown')
}

/**
 * A list (a `Proxy`) answering `itemAt(index)` at every index, whose `length` is one more each time it is read: a loop
 * that reads the length again at every step would never end, so past 100 reads it throws instead.
 */
export function growingList<T>(itemAt: (index: number) => T): T[] {
  let length = 1
  return new Proxy([] as T[], {
    get: (target, key) => {
      if (key === 'length') {
        if (length > 100) throw new Error('length read again and again')
        length += 1
        return length
      }
      if (typeof key === 'string' && /^\d+$/.test(key)) return itemAt(Number(key))
      return Reflect.get(target, key)
    },
  })
}

/** Lets every pending microtask and one macrotask turn run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** The visited states of a run record. */
export function statesOf(record: RunRecord): string[] {
  return record.states.map((entry) => entry.state)
}

/** A run tree printed without durations, which vary from run to run. */
export function withoutDurations(tree: string): string {
  return tree.replace(/ \d+(\.\d+)? (µs|ms|s)(?= |$)/gm, '')
}

/** A Function that waits for its signal and never completes on its own; it records the signals it saw. */
export function blocker(name: string, seen: AbortSignal[]) {
  return defineFunction({
    name,
    run: async (_input: unknown, context: RunContext) => {
      seen.push(context.signal)
      await aborted(context.signal)
      return name
    },
  })
}

/**
 * A combinator written the way a user would, outside flow: it runs its steps in order and describes itself with the
 * `sequence` layout, under a kind of its own.
 */
export class Pipeline extends Function<unknown, unknown> {
  override readonly kind = 'pipeline'
  readonly steps: ReadonlyArray<AnyFunction>

  constructor(name: string, steps: ReadonlyArray<AnyFunction>) {
    super({ name })
    this.steps = steps
  }

  async run(input: unknown, context: RunContext): Promise<unknown> {
    let value = input
    for (const step of this.steps) value = await context.invoke(step as Function<unknown, unknown>, value)
    return value
  }

  override describe(): FunctionNode {
    return { kind: this.kind, name: this.name, layout: 'sequence', children: this.steps.map((step) => step.describe()) }
  }
}
