import { getEventListeners } from 'node:events'
import { createMemoryLogger } from '@tinyllm/logger'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineFunction } from './define-function.js'
import {
  AbortError,
  ConfigurationError,
  FunctionError,
  StepLimitError,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from './errors.js'
import { type LifecycleEvent, onLifecycleEvent } from './events.js'
import { Function } from './function.js'
import type { RunContext } from './run-context.js'
import type { RunRecord } from './run-record.js'

const statesOf = (record: { states: ReadonlyArray<{ state: string }> }) => record.states.map((entry) => entry.state)

class Double extends Function<{ value: number }, { value: number }> {
  run(input: { value: number }) {
    return { value: input.value * 2 }
  }
}

describe('Function lifecycle', () => {
  it('walks the happy path and records it', async () => {
    const fn = new Double({ name: 'double' })
    expect(await fn.invoke({ value: 21 })).toEqual({ value: 42 })
    const record = await fn.trace({ value: 1 })
    expect(record.status).toBe('complete')
    expect(record.output).toEqual({ value: 2 })
    expect(statesOf(record)).toEqual([
      'init',
      'input_validation',
      'running',
      'output_validation',
      'processing_output',
      'complete',
    ])
    expect(record.attempts).toBe(1)
    expect(record.durationMs).toBeGreaterThanOrEqual(0)
    for (let index = 1; index < record.states.length; index++) {
      expect(record.states[index]!.at).toBeGreaterThanOrEqual(record.states[index - 1]!.at)
    }
  })

  it('fails in input_validation with the path of each issue', async () => {
    const fn = defineFunction({
      name: 'greet',
      input: z.object({ person: z.object({ name: z.string(), age: z.number().int() }) }),
      run: ({ person }) => `hi ${person.name}`,
    })
    const error = await fn.invoke({ person: { name: 3, age: 1.5 } } as never).catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
    const validation = error as ValidationError
    expect(validation.functionName).toBe('greet')
    expect(validation.state).toBe('input_validation')
    expect(validation.issues.map((issue) => issue.path)).toEqual([
      ['person', 'name'],
      ['person', 'age'],
    ])
    expect(validation.message).toContain('person.name')
    expect(validation.message).toContain('person.age')
    const record = await fn.trace({ person: { name: 3, age: 1 } } as never)
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'failed'])
  })

  it('reports valibot issues with paths too (any Standard Schema)', async () => {
    const fn = defineFunction({
      name: 'valibot-fn',
      input: v.object({ items: v.array(v.object({ price: v.number() })) }),
      run: ({ items }) => items.length,
    })
    const error = (await fn
      .invoke({ items: [{ price: 1 }, { price: 'x' }] } as never)
      .catch((caught: unknown) => caught)) as ValidationError
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(error.issues[0]?.path).toEqual(['items', 1, 'price'])
    expect(error.message).toContain('items[1].price')
  })

  it('fails in running with the thrown error as cause, typed', async () => {
    const boom = new Error('kaput')
    const fn = defineFunction({ name: 'thrower', run: () => Promise.reject(boom) })
    const error = (await fn.invoke(undefined).catch((caught: unknown) => caught)) as FunctionError
    expect(FunctionError.isInstance(error)).toBe(true)
    expect(error.cause).toBe(boom)
    expect(error.state).toBe('running')
    expect(error.message).toContain('thrower')
    expect(statesOf(await fn.trace(undefined))).toEqual(['init', 'input_validation', 'running', 'failed'])
  })

  it('fails in output_validation', async () => {
    const fn = defineFunction({
      name: 'bad-output',
      output: z.object({ ok: z.boolean() }),
      run: () => ({ ok: 'yes' }) as never,
    })
    const record = await fn.trace(undefined)
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'running', 'output_validation', 'failed'])
    expect(ValidationError.isInstance(record.error)).toBe(true)
    expect((record.error as ValidationError).issues[0]?.path).toEqual(['ok'])
    expect(record.error?.state).toBe('output_validation')
  })

  it('fails in processing_output, both when processOutput throws and when its result is invalid', async () => {
    const throwing = defineFunction({
      name: 'process-throws',
      run: () => 1,
      processOutput: () => {
        throw new RangeError('nope')
      },
    })
    const record = await throwing.trace(undefined)
    expect(statesOf(record).slice(-2)).toEqual(['processing_output', 'failed'])
    expect(FunctionError.isInstance(record.error)).toBe(true)
    expect(record.error?.state).toBe('processing_output')

    const invalid = defineFunction({
      name: 'process-invalid',
      run: () => 1,
      processOutput: (n) => String(n),
      processedOutput: z.number(),
    })
    const invalidRecord = await invalid.trace(undefined)
    expect(ValidationError.isInstance(invalidRecord.error)).toBe(true)
    expect(invalidRecord.error?.state).toBe('processing_output')
  })

  it('runs processOutput and validates its result', async () => {
    class Shout extends Function<string, string, { text: string }> {
      run(input: string) {
        return input
      }
      override processOutput(output: string) {
        return { text: output.toUpperCase() }
      }
    }
    const fn = new Shout({ name: 'shout', processedOutput: z.object({ text: z.string() }) })
    expect(await fn.invoke('hey')).toEqual({ text: 'HEY' })
  })

  it('runs a processOutput the instance holds itself: one assigned in the constructor, or a class field', async () => {
    class Assigned extends Function<string, string> {
      constructor() {
        super({ name: 'assigned' })
        this.processOutput = (output: string) => output.toUpperCase()
      }
      run(input: string) {
        return input
      }
    }
    expect(await new Assigned().invoke('hey')).toBe('HEY')
    // What plain JavaScript writes as a class field: set on the instance after the base constructor ran.
    class Field extends Function<string, string> {
      run(input: string) {
        return input
      }
    }
    const field = new Field({ name: 'field' })
    Object.defineProperty(field, 'processOutput', { value: (output: string) => `${output}!` })
    expect(await field.invoke('hey')).toBe('hey!')
  })

  it('retries then succeeds, and every attempt is visible', async () => {
    let calls = 0
    const fn = defineFunction({
      name: 'flaky',
      retry: { attempts: 3, initialDelayMs: 1, jitter: 0 },
      run: () => {
        calls += 1
        if (calls < 3) throw new Error(`transient ${calls}`)
        return 'ok'
      },
    })
    const events: LifecycleEvent[] = []
    const record = await fn.trace(undefined, { onEvent: (event) => events.push(event) })
    expect(record.output).toBe('ok')
    expect(record.attempts).toBe(3)
    expect(statesOf(record)).toEqual([
      'init',
      'input_validation',
      'running',
      'retrying',
      'running',
      'retrying',
      'running',
      'output_validation',
      'processing_output',
      'complete',
    ])
    const retries = events.filter((event) => event.to === 'retrying')
    expect(retries.map((event) => event.attempt)).toEqual([1, 2])
    expect(retries[0]?.error?.message).toContain('transient 1')
  })

  it('gives up when retries are exhausted, with the last error', async () => {
    let calls = 0
    const fn = defineFunction({
      name: 'always-fails',
      retry: { attempts: 2, initialDelayMs: 1 },
      run: () => {
        calls += 1
        throw new Error(`failure ${calls}`)
      },
    })
    const record = await fn.trace(undefined)
    expect(record.status).toBe('failed')
    expect(record.attempts).toBe(2)
    expect((record.error as FunctionError).cause).toEqual(new Error('failure 2'))
    expect(calls).toBe(2)
  })

  it('does not retry what is not retryable', async () => {
    let calls = 0
    const fn = defineFunction({
      name: 'not-retryable',
      retry: { attempts: 5, initialDelayMs: 1 },
      run: () => {
        calls += 1
        throw Object.assign(new Error('bad request'), { retryable: false })
      },
    })
    await expect(fn.invoke(undefined)).rejects.toThrow('bad request')
    expect(calls).toBe(1)
  })

  it('honours a retry-after hint carried by the error', async () => {
    let calls = 0
    let firstAt = 0
    let secondAt = 0
    const fn = defineFunction({
      name: 'hinted',
      retry: { attempts: 2, initialDelayMs: 5_000 },
      run: () => {
        calls += 1
        if (calls === 1) {
          firstAt = performance.now()
          throw new TinyLLMError({ message: 'slow down', retryable: true, retryAfterMs: 30 })
        }
        secondAt = performance.now()
        return 'done'
      },
    })
    expect(await fn.invoke(undefined)).toBe('done')
    // The test's own 5 s timeout fails it if the 5 s backoff were used instead of the 30 ms hint.
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(25)
  })

  it('times out the whole run with a TimeoutError', async () => {
    const fn = defineFunction({
      name: 'slow',
      // Long enough that a loaded machine still reaches `running` before it passes.
      timeoutMs: 500,
      run: (_input: unknown, context: RunContext) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, 60_000)
          context.signal.addEventListener('abort', () => clearTimeout(timer))
        }),
    })
    const record = await fn.trace(undefined)
    expect(TimeoutError.isInstance(record.error)).toBe(true)
    expect((record.error as TimeoutError).kind).toBe('total')
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'running', 'failed'])
  })

  it('retries an attempt that exceeds attemptTimeoutMs', async () => {
    let calls = 0
    const fn = defineFunction({
      name: 'stalls-once',
      attemptTimeoutMs: 20,
      retry: { attempts: 2, initialDelayMs: 1 },
      run: () => {
        calls += 1
        return calls === 1 ? new Promise<string>(() => {}) : 'second time lucky'
      },
    })
    const record = await fn.trace(undefined)
    expect(record.output).toBe('second time lucky')
    expect(TimeoutError.isInstance(record.states.find((entry) => entry.state === 'retrying')?.error)).toBe(true)
  })

  it('rejects at once when aborted before start, without running', async () => {
    let ran = false
    const fn = defineFunction({ name: 'never', run: () => (ran = true) })
    const controller = new AbortController()
    controller.abort(new Error('user left'))
    const record = await fn.trace(undefined, { signal: controller.signal })
    expect(AbortError.isInstance(record.error)).toBe(true)
    expect(statesOf(record)).toEqual(['init', 'failed'])
    expect(ran).toBe(false)
  })

  it('rejects promptly when aborted during run, even if run ignores the signal', async () => {
    const fn = defineFunction({ name: 'ignores-signal', run: () => new Promise(() => {}) })
    const controller = new AbortController()
    const pending = fn.trace(undefined, { signal: controller.signal })
    setTimeout(() => controller.abort('stop'), 5)
    const record = await pending
    expect(AbortError.isInstance(record.error)).toBe(true)
    expect((record.error as AbortError).reason).toBe('stop')
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'running', 'failed'])
  })

  it('cancels a backoff sleep on abort', async () => {
    const controller = new AbortController()
    const fn = defineFunction({
      name: 'backing-off',
      retry: { attempts: 3, initialDelayMs: 60_000, jitter: 0 },
      run: () => {
        setTimeout(() => controller.abort('enough'), 5)
        throw new Error('transient')
      },
    })
    // A 60 s backoff: only a cancelled sleep lets this finish within the test's timeout.
    const record = await fn.trace(undefined, { signal: controller.signal })
    expect(AbortError.isInstance(record.error)).toBe(true)
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'running', 'retrying', 'failed'])
  })

  it('wraps a schema that throws, keeping the cause', async () => {
    const cause = new Error('schema bug')
    const throwingSchema = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: () => {
          throw cause
        },
      },
    }
    const fn = defineFunction({ name: 'schema-throws', input: throwingSchema, run: () => 1 })
    const error = (await fn.invoke(1).catch((caught: unknown) => caught)) as ValidationError
    expect(ValidationError.isInstance(error)).toBe(true)
    expect(error.cause).toBe(cause)
    expect(error.message).toContain('schema bug')
  })

  it('rejects invalid policies at construction', () => {
    const run = () => 1
    expect(() => defineFunction({ name: 'x', run, retry: { attempts: -1 } })).toThrow(ConfigurationError)
    expect(() => defineFunction({ name: 'x', run, retry: { attempts: 1.5 } })).toThrow(/retry.attempts/)
    expect(() => defineFunction({ name: 'x', run, timeoutMs: Number.NaN })).toThrow(/timeoutMs/)
    expect(() => defineFunction({ name: 'x', run, retry: { initialDelayMs: -5 } })).toThrow(/initialDelayMs/)
    expect(() => defineFunction({ name: 'x', run, retry: { jitter: 2 } })).toThrow(/jitter/)
    expect(() => defineFunction({ name: '', run })).toThrow(/name/)
  })

  it('serves 1,000 concurrent runs of one instance with no crosstalk', async () => {
    const logger = createMemoryLogger({ level: 'debug' })
    const seen = new Map<string, number>()
    const fn = defineFunction({
      name: 'echo',
      input: z.object({ id: z.number() }),
      output: z.object({ id: z.number(), runId: z.string() }),
      run: async ({ id }, context) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
        context.logger.info('working', { id })
        seen.set(context.runId, id)
        return { id, runId: context.runId }
      },
    })
    const results = await Promise.all(Array.from({ length: 1000 }, (_, id) => fn.invoke({ id }, { logger })))
    results.forEach((result, id) => {
      expect(result.id).toBe(id)
      expect(seen.get(result.runId)).toBe(id)
    })
    expect(new Set(results.map((result) => result.runId)).size).toBe(1000)
    expect(logger.entries).toHaveLength(1000)
    for (const entry of logger.entries) {
      expect(seen.get(entry.fields.runId as string)).toBe(entry.fields.id)
      expect(entry.fields.function).toBe('echo')
    }
  })

  it('joins children invoked through the context into one run tree', async () => {
    const child = defineFunction({ name: 'child', run: (n: number) => n + 1 })
    const parent = defineFunction({
      name: 'parent',
      run: async (n: number, context) => context.invoke(child, await context.invoke(child, n)),
    })
    const events: LifecycleEvent[] = []
    const record = await parent.trace(1, { onEvent: (event) => events.push(event) })
    expect(record.output).toBe(3)
    expect(record.children.map((node) => node.function)).toEqual(['child', 'child'])
    expect(record.children.every((node) => node.parentRunId === record.runId)).toBe(true)
    expect(new Set(events.filter((event) => event.function === 'child').map((event) => event.parentRunId))).toEqual(
      new Set([record.runId]),
    )
  })

  it('nests runs 1,000 deep without overflowing the call stack, even when started deep in it', async () => {
    // Each level invokes the next synchronously, so nesting grows the stack unless runs start on fresh stacks.
    class Nest extends Function<number, number> {
      run(depth: number, context: RunContext): number | Promise<number> {
        return depth === 999 ? depth : context.invoke(this, depth + 1)
      }
    }
    const nest = new Nest({ name: 'nest' })
    const room = (frames = 0): number => {
      try {
        return room(frames + 1)
      } catch {
        return frames
      }
    }
    // Start the run with about a tenth of the stack left.
    const startDeep = (frames: number): Promise<number> => (frames === 0 ? nest.invoke(0) : startDeep(frames - 1))
    expect(await startDeep(Math.floor(room() * 0.9))).toBe(999)
  })

  it('fails endless recursion with a StepLimitError past 1,000 nested runs, not a stack overflow or a crash', async () => {
    class Forever extends Function<number, number> {
      run(depth: number, context: RunContext): Promise<number> {
        return context.invoke(this, depth + 1)
      }
    }
    // Awaiting between levels, recursion does not overflow the stack: without a limit it grows until memory runs out.
    class ForeverAsync extends Function<number, number> {
      async run(depth: number, context: RunContext): Promise<number> {
        await Promise.resolve()
        return context.invoke(this, depth + 1)
      }
    }
    for (const fn of [new Forever({ name: 'forever' }), new ForeverAsync({ name: 'forever' })]) {
      const record = await fn.trace(0)
      expect(record.status).toBe('failed')
      expect(StepLimitError.isInstance(record.error)).toBe(true)
      expect(record.error?.message).toBe('forever: step limit of 1000 nested runs reached')
      let deepest: RunRecord = record
      while (deepest.children[0] !== undefined) deepest = deepest.children[0]
      expect(statesOf(deepest)).toEqual(['init', 'failed'])
    }
  })

  it('delivers events to global subscribers, and builds none when nobody listens', async () => {
    const fn = defineFunction({ name: 'observed', run: () => 'x' })
    const events: LifecycleEvent[] = []
    const stop = onLifecycleEvent((event) => events.push(event))
    await fn.invoke(undefined)
    stop()
    await fn.invoke(undefined)
    expect(events.map((event) => `${event.from}>${event.to}`)).toEqual([
      'init>input_validation',
      'input_validation>running',
      'running>output_validation',
      'output_validation>processing_output',
      'processing_output>complete',
    ])
    expect(events[0]?.function).toBe('observed')
  })

  it('keeps running when a listener throws, and logs it', async () => {
    const logger = createMemoryLogger()
    const fn = defineFunction({ name: 'listened', run: () => 'fine' })
    const result = await fn.invoke(undefined, {
      logger,
      onEvent: () => {
        throw new Error('listener bug')
      },
    })
    expect(result).toBe('fine')
    expect(logger.entries.some((entry) => entry.level === 'error' && entry.message.includes('listener'))).toBe(true)
  })

  // A generous test timeout: this checks cleanup, not speed, and CI runs it on a loaded machine.
  it('holds one abort listener on a signal 10,000 runs in flight share, and none once they settled', {
    timeout: 60_000,
  }, async () => {
    const controller = new AbortController()
    let release = (): void => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const fn = defineFunction({
      name: 'shared-signal',
      timeoutMs: 600_000,
      run: async (n: number) => {
        await released
        return n
      },
    })
    const runs = Promise.all(Array.from({ length: 10_000 }, (_, n) => fn.invoke(n, { signal: controller.signal })))
    // All 10,000 in flight on the shared signal: one listener.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    release()
    await runs
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('a schema option that is not a Standard Schema is a ConfigurationError naming that option', () => {
    for (const option of ['input', 'output', 'processedOutput'] as const) {
      let thrown: unknown
      try {
        defineFunction({ name: 'greet', [option]: { parse: () => 1 }, run: () => 1 } as never)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown)).toBe(true)
      expect((thrown as ConfigurationError).option).toBe(option)
      expect((thrown as ConfigurationError).message).toMatch(new RegExp(`^greet: ${option} must be a Standard Schema`))
    }
  })
})
