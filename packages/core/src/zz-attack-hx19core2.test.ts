import { describe, expect, it, vi } from 'vitest'
import { CancelScope } from './cancellation.js'
import { defineFunction } from './define-function.js'
import { ConfigurationError, safeStringify } from './errors.js'
import { FSM, StateMachineDefinition } from './fsm.js'

// Promises of core's building blocks, as a user calls them directly. A test marked `it.fails` shows a promise the
// current code breaks: it passes once the defect is fixed, and then loses its mark.

describe('CancelScope', () => {
  it.fails('the signal of a scope made with only an outside signal aborts when the scope is cancelled by hand', () => {
    const controller = new AbortController()
    const scope = new CancelScope(undefined, { signal: controller.signal })
    const signal = scope.signal
    scope.cancel('done with it')
    expect(scope.cancelled).toBe(true)
    // "An AbortSignal that aborts with this scope": code handed the signal must see the cancellation.
    expect(signal.aborted).toBe(true)
    expect(scope.signal.aborted).toBe(true)
    expect(scope.signal.reason).toBe('done with it')
    // The caller's own signal is the caller's: cancelling the scope does not abort it.
    expect(controller.signal.aborted).toBe(false)
  })

  it.fails('race rejects, never throws, for work whose then cannot be read', async () => {
    const scope = new CancelScope(undefined, { manual: true })
    const work = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable whose then cannot be read is the point of the test
      get then(): never {
        throw new Error('then is unreadable')
      },
    }
    let raced: Promise<unknown> | undefined
    expect(() => {
      raced = scope.race(work as unknown as PromiseLike<unknown>)
    }).not.toThrow()
    await expect(raced).rejects.toThrow('then is unreadable')
  })

  it.fails('options that are not an object, or cannot be read, are a ConfigurationError naming them', () => {
    const unreadable = {
      get signal(): never {
        throw new Error('getter exploded')
      },
    }
    for (const options of [null, unreadable]) {
      let thrown: unknown
      try {
        new CancelScope(undefined, options as never)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown)).toBe(true)
      expect((thrown as ConfigurationError).message).toMatch(/^CancelScope: /)
    }
  })
})

describe('safeStringify', () => {
  it.fails('renders a typed array of 100,000 elements without reading past the cut', () => {
    // No clock: what JSON is asked to hand over is counted. A list as long is cut at once; a typed array must be too.
    const stringify = JSON.stringify
    let handed = 0
    type Replacer = (this: unknown, key: string, item: unknown) => unknown
    const spy = vi
      .spyOn(JSON, 'stringify')
      .mockImplementation((value: unknown, replacer?: unknown, space?: string | number) => {
        if (typeof replacer !== 'function') return stringify(value, replacer as never, space)
        return stringify(
          value,
          function (this: unknown, key: string, item: unknown) {
            handed += 1
            return (replacer as Replacer).call(this, key, item)
          },
          space,
        )
      })
    try {
      handed = 0
      expect(safeStringify(new Array(100_000).fill(0), 60)).toMatch(/^\[0,0,.*…$/)
      expect(handed).toBeLessThan(1_000)
      handed = 0
      expect(safeStringify(new Float32Array(100_000), 60)).toMatch(/…$/)
      expect(handed).toBeLessThan(1_000)
    } finally {
      spy.mockRestore()
    }
  })
})

describe('FSM', () => {
  it.fails('a listener that is not a function is a ConfigurationError when it subscribes', () => {
    const door = new FSM({ name: 'door', initial: 'closed', transitions: { closed: ['open'], open: ['closed'] } })
    expect(() => door.onTransition('log it' as never)).toThrow(ConfigurationError)
  })
})

describe('FSM and another copy of the package', () => {
  it.fails('an FSM runs on a definition made by another copy of the package', async () => {
    // Two copies of core in one process (a package that brought its own): a shared definition, such as
    // functionLifecycle, is a definition to either copy's FSM, not a config with unknown keys.
    vi.resetModules()
    const copy = (await import('./index.js')) as typeof import('./index.js')
    expect(copy.StateMachineDefinition).not.toBe(StateMachineDefinition)
    const door = new copy.StateMachineDefinition({
      name: 'door',
      initial: 'closed',
      transitions: { closed: ['open'], open: ['closed'] },
    })
    const machine = new FSM(door)
    expect(machine.definition).toBe(door)
    machine.transition('open')
    expect(machine.state).toBe('open')
    expect(() => machine.transition('open')).toThrow(/illegal transition open → open/)
  })
})

describe('Function options', () => {
  it.fails('a schema option that is not a Standard Schema is a ConfigurationError naming that option', () => {
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
