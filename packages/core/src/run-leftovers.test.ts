import { createMemoryLogger } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { sleep } from './cancellation.js'
import { defineFunction } from './define-function.js'
import { ConfigurationError, TimeoutError } from './errors.js'
import { setRunWrapper } from './events.js'
import { Function } from './function.js'
import { hashJson, MemoryJournal, type StepJournal } from './journal.js'
import type { InvokeOptions, RunContext } from './run-context.js'

// What a run leaves behind when it fails, and what it hands on: the work its code started ends with it; a wrapper, an
// executor or a child's retry cannot make it end otherwise than the docs say.

describe('what a failed run left running ends with it', () => {
  it('a run given only a signal aborts the signal it handed its code when it fails', async () => {
    let held: AbortSignal | undefined
    const f = defineFunction({
      name: 'f',
      run: (_: number, context) => {
        held = context.signal
        throw new Error('fails')
      },
    })
    const caller = new AbortController()
    await expect(f.invoke(1, { signal: caller.signal })).rejects.toThrow('fails')
    expect(held?.aborted).toBe(true)
    // The caller's own signal is the caller's: the run's failure does not abort it.
    expect(caller.signal.aborted).toBe(false)
  })

  it('a run that may retry cancels what its succeeded attempt left running when processOutput then fails', async () => {
    let childSignal: AbortSignal | undefined
    const child = defineFunction({
      name: 'child',
      run: async (_: number, context) => {
        childSignal = context.signal
        await sleep(60_000, context.signal)
        return 1
      },
    })
    class Parent extends Function<number, string> {
      override run(_: number, context: RunContext): string {
        context.invoke(child, 1).catch(() => {})
        return 'ok'
      }
      override processOutput(): string {
        throw new Error('boom')
      }
    }
    await expect(new Parent({ name: 'parent', retry: { attempts: 2 } }).invoke(0)).rejects.toThrow('boom')
    expect(childSignal?.aborted).toBe(true)
  })
})

describe("a child's retry wait and its parent's attempt time limit", () => {
  it('a child whose backoff outlasts its parent attempt leaves the parent free to retry', async () => {
    let parentAttempts = 0
    const flaky = defineFunction({
      name: 'flaky',
      retry: { attempts: 3, initialDelayMs: 600_000, jitter: 0 },
      run: (): number => {
        throw new Error('503')
      },
    })
    const parent = defineFunction({
      name: 'parent',
      retry: { attempts: 2, initialDelayMs: 1, jitter: 0 },
      attemptTimeoutMs: 200,
      run: async (value: number) => {
        parentAttempts += 1
        if (parentAttempts === 2) return 'second attempt'
        return String(await flaky.invoke(value))
      },
    })
    // Before, the child ended at once in a TimeoutError of the whole run (not retryable), taken from its parent's
    // attempt limit: the parent failed after one attempt.
    expect(await parent.invoke(1)).toBe('second attempt')
  })

  it("a child's wait that outlasts its parent's time limit ends it at once, in a timeout of its own naming the parent", async () => {
    const busy = defineFunction({
      name: 'busy',
      retry: { attempts: 3, initialDelayMs: 600_000, maxDelayMs: 600_000, jitter: 0 },
      run: (): number => {
        throw new Error('busy')
      },
    })
    const parent = defineFunction({ name: 'parent', run: (value: number) => busy.invoke(value) })
    // Waited out, the parent's minute would pass first: the run ends now in the timeout it would end in then.
    const error = await parent.invoke(1, { timeoutMs: 60_000 }).catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(error) && [error.kind, error.functionName, error.retryable]).toEqual([
      'total',
      'busy',
      false,
    ])
    expect((error as Error).message).toMatch(/before parent times out; it ends now \(last error: .*busy\)/)
  })

  it("a child's wait that outlasts its own time limit still ends it at once, in its own timeout", async () => {
    const flaky = defineFunction({
      name: 'flaky',
      retry: { attempts: 3, initialDelayMs: 600_000, jitter: 0 },
      run: (): number => {
        throw new Error('503')
      },
    })
    const error = await flaky.invoke(1, { timeoutMs: 5_000 }).catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(error) && error.kind).toBe('total')
  })
})

describe('a run wrapper cannot swallow what the run threw', () => {
  it('a wrapper that catches the run throwing does not complete the run', async () => {
    const off = setRunWrapper((_context, call) => {
      try {
        return call()
      } catch {
        return undefined as never
      }
    })
    try {
      const f = defineFunction({
        name: 'f',
        run: (): number => {
          throw new Error('run failed')
        },
      })
      await expect(f.invoke(1)).rejects.toThrow('run failed')
    } finally {
      off()
    }
  })
})

describe('a durable input whose JSON is not its data', () => {
  it('is refused, so that two inputs never share a digest', async () => {
    const hidden = (value: object): object =>
      Object.defineProperty(value, 'toJSON', { value: () => 'same', enumerable: false })
    const transfer = defineFunction({
      name: 'transfer',
      durable: true,
      run: (input: { amount: number }) => ({ sent: input.amount }),
    })
    const journal = new MemoryJournal()
    await expect(
      transfer.invoke(hidden({ amount: 10 }) as { amount: number }, { runId: 'job', journal }),
    ).rejects.toThrow(/toJSON/)
    await expect(
      transfer.invoke(Object.assign([10], { toJSON: () => 'same' }) as never, { runId: 'job', journal }),
    ).rejects.toThrow(/toJSON/)
  })
})

describe('an executor reached through context.invoke', () => {
  it("is handed the caller's cancellation and deadline, never the in-process context", async () => {
    const seen: string[][] = []
    const executor = {
      invoke: async (_fn: unknown, _input: unknown, options: InvokeOptions) => {
        seen.push(Object.keys(options).sort())
        return 1
      },
    }
    const remote = defineFunction({ name: 'remote', run: (value: number) => value })
    const parent = defineFunction({
      name: 'parent',
      run: (value: number, context) => context.invoke(remote, value, { executor } as never),
    })
    await parent.invoke(1, { timeoutMs: 600_000 })
    expect(seen).toEqual([['deadline', 'signal']])
  })
})

describe('methods used apart from their object', () => {
  it('a context method destructured from the context works, and a detached invoke is a rejected ConfigurationError', async () => {
    const child = defineFunction({ name: 'child', run: (value: number) => value + 1 })
    const parent = defineFunction({
      name: 'parent',
      run: (value: number, { invoke, annotate, addUsage, reserveBudget }) => {
        annotate('seen', value)
        reserveBudget({ tokens: 1 })()
        addUsage({ inputTokens: 1, outputTokens: 1, totalTokens: 2 }, 0)
        return invoke(child, value)
      },
    })
    expect(await parent.invoke(1)).toBe(2)
    const record = await parent.trace(1, { budget: { maxTokens: 10 } })
    expect(record).toMatchObject({ status: 'complete', annotations: { seen: 1 }, usage: { totalTokens: 2 } })
    // A list is no options, through the context as through invoke.
    const listed = defineFunction({
      name: 'listed',
      run: (value: number, context) => context.invoke(child, value, [] as never),
    })
    const refused = await listed.invoke(1).catch((error: unknown) => error)
    expect((refused as Error).message).toBe('child: options must be an object, got []')
    const detached = child.invoke
    const outcome = (detached as (input: number) => Promise<number>)(1).catch((error: unknown) => error)
    expect(ConfigurationError.isInstance(await outcome)).toBe(true)
  })

  it('invoke and trace called on what is no Function (another object, a revoked Proxy) are a rejected ConfigurationError', async () => {
    const child = defineFunction({ name: 'child', run: (value: number) => value + 1 })
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    for (const self of [{ name: 'lookalike' }, Object.create(null), proxy])
      for (const method of [child.invoke, child.trace]) {
        let outcome: unknown
        try {
          outcome = await (method as (this: unknown, input: number) => Promise<unknown>).call(self, 1).catch((e) => e)
        } catch (thrown) {
          outcome = { thrownSynchronously: thrown }
        }
        expect(ConfigurationError.isInstance(outcome) && outcome.option).toBe('this')
      }
    // A Function behind a Proxy (instrumentation, say) is a Function all the same.
    expect(await new Proxy(child, {}).invoke(1)).toBe(2)
  })
})

describe('what a run is handed is checked where it is kept', () => {
  it('an annotation is named by a non-empty string of at most 1,000 characters', async () => {
    for (const key of ['', 'k'.repeat(1_001), Symbol('k'), { toString: () => 'k' }]) {
      const f = defineFunction({
        name: 'f',
        run: (_: number, context) => {
          context.annotate(key as string, 1)
          return 1
        },
      })
      const error = await f.invoke(1).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
    }
  })

  it('an attempt that ended cannot annotate the run: its code left running is refused, the next attempt is not', async () => {
    let first: RunContext | undefined
    let late: unknown
    const f = defineFunction({
      name: 'f',
      retry: { attempts: 2, initialDelayMs: 0 },
      run: (_: number, context) => {
        if (first === undefined) {
          first = context
          throw new Error('first attempt fails')
        }
        // The first attempt's code, still holding its context, records a fact after it ended.
        try {
          first.annotate('choice', 'stale')
        } catch (error) {
          late = error
        }
        context.annotate('choice', 'fresh')
        return 1
      },
    })
    const record = await f.trace(1)
    expect(record).toMatchObject({ status: 'complete', annotations: { choice: 'fresh' } })
    expect(ConfigurationError.isInstance(late) && late.message).toBe(
      'f: annotate is refused: attempt 1 has ended; only code of the current attempt records facts on the run',
    )
  })

  it('code of an attempt that timed out cannot invoke through its context, not even what is no Function', async () => {
    let release: (() => void) | undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let invoked = 0
    let late: unknown
    let settledLate: (() => void) | undefined
    const lateSettled = new Promise<void>((resolve) => {
      settledLate = resolve
    })
    // An Invocable of a user's own (a lookalike step), which is handed the parent but ignores its signal.
    const lookalike = {
      name: 'lookalike',
      invoke: async (value: number) => {
        invoked += 1
        return value + 1
      },
    }
    const f = defineFunction({
      name: 'f',
      timeoutMs: 50,
      run: async (value: number, context) => {
        // Ignores its signal: goes on once the gate opens, after its attempt timed out.
        await gate
        late = await context.invoke(lookalike, value).catch((error: unknown) => error)
        settledLate?.()
        return 0
      },
    })
    const error = await f.invoke(1).catch((thrown: unknown) => thrown)
    expect(TimeoutError.isInstance(error)).toBe(true)
    release?.()
    await lateSettled
    expect(invoked).toBe(0)
    expect(late).toBe(error)

    // The same while the run goes on: the first attempt ran out of its own time, and its code tries to start something
    // while the next attempt is still running. Only the attempt ended, not the run.
    let releaseFirst: (() => void) | undefined
    const firstGate = new Promise<void>((resolve) => {
      releaseFirst = resolve
    })
    let lateInRun: unknown
    let settledInRun: (() => void) | undefined
    const inRunSettled = new Promise<void>((resolve) => {
      settledInRun = resolve
    })
    const retried = defineFunction({
      name: 'retried',
      attemptTimeoutMs: 50,
      retry: { attempts: 2, initialDelayMs: 0 },
      run: async (value: number, context) => {
        if (context.attempt === 1) {
          await firstGate
          lateInRun = await context.invoke(lookalike, value).catch((thrown: unknown) => thrown)
          settledInRun?.()
          return 0
        }
        releaseFirst?.()
        await inRunSettled
        return 2
      },
    })
    const record = await retried.trace(1)
    expect(record.output).toBe(2)
    expect(invoked).toBe(0)
    const attemptTimeout = record.states.find((entry) => entry.state === 'retrying')?.error
    expect(TimeoutError.isInstance(attemptTimeout) && attemptTimeout.kind).toBe('attempt')
    expect(lateInRun).toBe(attemptTimeout)
  })

  it('a replayed step whose replayParts throws keeps its output; the failure is logged', async () => {
    class Parts extends Function<number, number> {
      override run(value: number): number {
        return value * 2
      }
      override replayParts(): Iterable<unknown> {
        throw new Error('no parts')
      }
    }
    const step = new Parts({ name: 'parts', durable: true })
    const entry = { function: 'parts', kind: 'function', input: hashJson(2), output: 4, at: 0 }
    const journal: StepJournal = { read: () => entry, write: (_, given) => given }
    const parts: unknown[] = []
    const logger = createMemoryLogger()
    expect(await step.invoke(2, { runId: 'r', journal, logger, stream: (part) => parts.push(part) })).toBe(4)
    expect(parts).toEqual([])
    expect(logger.entries.map((entry) => entry.message)).toEqual([
      'replayParts threw, so the stream listener has not heard the replayed parts; the run goes on',
    ])
  })
})

describe("a run wrapper's own error", () => {
  it('is a ConfigurationError naming the Function, never retried as the run', async () => {
    let runs = 0
    const off = setRunWrapper((_context, call) => {
      call()
      throw new Error('the tracer broke')
    })
    try {
      const f = defineFunction({
        name: 'f',
        retry: { attempts: 3, initialDelayMs: 0 },
        run: () => {
          runs += 1
          return 1
        },
      })
      const error = await f.invoke(1).catch((thrown: unknown) => thrown)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe('f: the run wrapper threw Error: the tracer broke')
      expect(runs).toBe(1)
    } finally {
      off()
    }
  })
})
