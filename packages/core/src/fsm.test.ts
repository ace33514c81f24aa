import { createMemoryLogger, setDefaultLogger } from '@tinyllm/logger'
import { describe, expect, it, vi } from 'vitest'
import { ConfigurationError, InvalidTransitionError, TinyLLMError } from './errors.js'
import { FSM, StateMachineDefinition } from './fsm.js'
import { functionLifecycle } from './lifecycle.js'

const door = () =>
  new FSM({
    name: 'door',
    initial: 'closed',
    transitions: { closed: ['open', 'locked'], open: ['closed'], locked: ['closed'] },
  })

describe('FSM', () => {
  it('moves along allowed transitions and tells listeners', () => {
    const machine = door()
    const changes: string[] = []
    const stop = machine.onTransition((change) => changes.push(`${change.machine}:${change.from}>${change.to}`))
    machine.transition('open')
    machine.transition('closed')
    stop()
    machine.transition('locked')
    expect(machine.state).toBe('locked')
    expect(changes).toEqual(['door:closed>open', 'door:open>closed'])
  })

  it('tells every listener of a change, also when one of them unsubscribes while it is told', () => {
    const machine = door()
    const heard: string[] = []
    const stopFirst = machine.onTransition(() => {
      heard.push('first')
      stopFirst()
    })
    machine.onTransition((change) => heard.push(`second:${change.to}`))
    machine.transition('open')
    machine.transition('closed')
    expect(heard).toEqual(['first', 'second:open', 'second:closed'])
  })

  it('removes one subscription per unsubscribe, however often it is called', () => {
    const machine = door()
    const heard: string[] = []
    const listener = (change: { to: string }) => heard.push(change.to)
    const stop = machine.onTransition(listener)
    machine.onTransition(listener)
    stop()
    stop()
    machine.transition('open')
    expect(heard).toEqual(['open'])
  })

  it('hands out a change a listener makes after every listener heard the one before it', () => {
    const machine = door()
    const heard: string[] = []
    machine.onTransition((change) => {
      heard.push(`first:${change.from}>${change.to}`)
      if (change.to === 'open') machine.transition('closed')
    })
    machine.onTransition((change) => heard.push(`second:${change.from}>${change.to}`))
    machine.transition('open')
    expect(machine.state).toBe('closed')
    expect(heard).toEqual(['first:closed>open', 'second:closed>open', 'first:open>closed', 'second:open>closed'])
  })

  it('hands out a change a listener makes, then throws nothing, when that listener (the last one) unsubscribes', () => {
    const machine = door()
    const heard: string[] = []
    const stop = machine.onTransition((change) => {
      heard.push(`${change.from}>${change.to}`)
      if (change.to === 'open') {
        machine.transition('closed')
        stop()
      }
    })
    expect(() => machine.transition('open')).not.toThrow()
    expect(machine.state).toBe('closed')
    // The listener was gone when the change it made was handed out: nobody hears it, and nothing throws.
    expect(heard).toEqual(['closed>open'])
    machine.transition('locked')
    expect(heard).toEqual(['closed>open'])
  })

  it('logs a listener that throws; the others still hear the change and transition throws nothing', () => {
    const logger = createMemoryLogger()
    setDefaultLogger(logger)
    try {
      const machine = door()
      const heard: string[] = []
      machine.onTransition(() => {
        throw new Error('listener bug')
      })
      machine.onTransition((change) => heard.push(change.to))
      expect(() => machine.transition('open')).not.toThrow()
      expect(machine.state).toBe('open')
      expect(heard).toEqual(['open'])
      expect(logger.entries.map((entry) => entry.message)).toEqual([
        'a state machine listener threw; the others still hear the change',
      ])
    } finally {
      setDefaultLogger(undefined)
    }
  })

  it('keeps the table it was given: changing that object afterwards changes no definition', () => {
    const transitions: Record<string, string[]> = { closed: ['open'], open: [] }
    const definition = new StateMachineDefinition({ name: 'door', initial: 'closed', transitions })
    transitions.open?.push('closed')
    transitions.jammed = []
    expect(definition.isTerminal('open')).toBe(true)
    expect(definition.canTransition('open', 'closed')).toBe(false)
    expect(definition.describe().transitions).toEqual([{ from: 'closed', to: 'open' }])
    expect(definition.states).toEqual(['closed', 'open'])
  })

  it('throws a typed error naming machine, state and target on an illegal transition', () => {
    const machine = door()
    machine.transition('open')
    let caught: unknown
    try {
      machine.transition('locked')
    } catch (error) {
      caught = error
    }
    expect(InvalidTransitionError.isInstance(caught)).toBe(true)
    expect(TinyLLMError.isInstance(caught)).toBe(true)
    const error = caught as InvalidTransitionError
    expect([error.machine, error.from, error.to]).toEqual(['door', 'open', 'locked'])
    expect(error.message).toContain('door: illegal transition open → locked')
    expect(machine.state).toBe('open')
  })

  it('throws the typed error for any target a caller passes, quoting it cut short', () => {
    const door = new FSM({ name: 'door', initial: 'closed', transitions: { closed: ['open'], open: ['closed'] } })
    const refusal = (to: unknown): unknown => {
      try {
        door.transition(to as 'open')
      } catch (error) {
        return error
      }
      return undefined
    }
    const unprintable = {
      toString() {
        throw new Error('no text')
      },
    }
    for (const to of [Symbol('x'), unprintable, 'x'.repeat(10_000_000), 42]) {
      const error = refusal(to)
      expect(InvalidTransitionError.isInstance(error)).toBe(true)
      expect((error as Error).message.length).toBeLessThan(600)
      expect(JSON.stringify(error).length).toBeLessThan(1_500)
    }
    expect(door.state).toBe('closed')
    const unreadable = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('no prototype')
        },
      },
    )
    expect(() => new FSM(unreadable as never)).toThrow(ConfigurationError)
  })

  it('rejects a table that names unknown states', () => {
    expect(() => new StateMachineDefinition({ name: 'bad', initial: 'a', transitions: { a: ['b' as 'a'] } })).toThrow(
      ConfigurationError,
    )
  })

  it('refuses a config that is not a machine with a ConfigurationError in the one message format', () => {
    const refused = (config: unknown) => {
      try {
        new FSM(config as never)
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true)
        return (error as Error).message
      }
      return 'accepted'
    }
    expect(refused(null)).toBe('StateMachineDefinition: config must be { name, initial, transitions }, got null')
    expect(refused({ name: 'm', initial: 'a' })).toBe(
      'm: transitions must be an object listing, for each state, the states it may move to, got undefined',
    )
    expect(refused({ name: 'm', initial: 'a', transition: { a: [] } })).toMatch(
      /^StateMachineDefinition: transition is not an option; did you mean transitions\?/,
    )
    expect(refused({ name: 'm', initial: 'a', transitions: { a: null } })).toBe(
      'm: transitions.a must be a list of states, got null',
    )
    // A string is not a list of states, though iterating it would give one state per character.
    expect(refused({ name: 'm', initial: 'a', transitions: { a: 'bc', b: [], c: [] } })).toBe(
      'm: transitions.a must be a list of states, got "bc"',
    )
    expect(refused({ name: 'm', initial: 'a', transitions: { a: ['toString'] } })).toBe(
      'm: transitions.a must be a list of its states (a), got "toString"',
    )
    expect(refused({ name: 'm', initial: 'constructor', transitions: { a: [] } })).toBe(
      'm: initial must be one of its states (a), got "constructor"',
    )
    expect(refused({ name: '', initial: 'a', transitions: { a: [] } })).toBe(
      'StateMachineDefinition: name must be a non-empty string, got ""',
    )
    const getter = {
      get name(): string {
        throw new Error('no name')
      },
      initial: 'a',
      transitions: { a: [] },
    }
    expect(refused(getter)).toBe('StateMachineDefinition: config could not be read: Error: no name')
    // Refused at its first hole, not copied whole first: the copy would run the process out of memory.
    const sparse = Object.assign(['a'], { length: 2 ** 32 - 1 })
    expect(refused({ name: 'm', initial: 'a', transitions: { a: sparse } })).toBe(
      'm: transitions.a must be a list of its states (a), got undefined',
    )
  })

  it('describes itself and draws a Mermaid state diagram', () => {
    const description = functionLifecycle.describe()
    expect(description.initial).toBe('init')
    expect(description.terminal).toEqual(['complete', 'failed'])
    expect(description.transitions).toContainEqual({ from: 'running', to: 'retrying' })
    const mermaid = functionLifecycle.toMermaid()
    expect(mermaid.split('\n').slice(0, 3)).toEqual([
      'stateDiagram-v2',
      '  [*] --> init',
      '  init --> input_validation',
    ])
    expect(mermaid).toContain('  processing_output --> complete')
    expect(mermaid).toContain('  complete --> [*]')
  })

  it('draws a state whose name is no plain word, or a Mermaid keyword, under an id with its name as an escaped label', () => {
    const injected = 'x\nclick y href "javascript:alert(1)"'
    const machine = new FSM({
      name: 'f',
      initial: 'ok',
      transitions: { ok: [injected, 'end', '%%{init: {}}%%'], [injected]: [], end: [], '%%{init: {}}%%': [] },
    })
    const lines = machine.definition.toMermaid().split('\n')
    expect(lines).toEqual([
      'stateDiagram-v2',
      '  state "x click y href #34;javascript:alert(1)#34;" as state_1',
      '  state "end" as state_2',
      '  state "#37;#37;{init: {}}#37;#37;" as state_3',
      '  [*] --> ok',
      '  ok --> state_1',
      '  ok --> state_2',
      '  ok --> state_3',
      '  state_1 --> [*]',
      '  state_2 --> [*]',
      '  state_3 --> [*]',
    ])
  })

  it('draws a state under an id no other state has, when a state is named like the id it would get', () => {
    const machine = new FSM({
      name: 'review',
      initial: 'in review',
      transitions: { 'in review': ['state_0'], state_0: ['approved'], approved: ['state_0'] },
    })
    expect(machine.definition.toMermaid().split('\n')).toEqual([
      'stateDiagram-v2',
      '  state "in review" as state_0_',
      '  [*] --> state_0_',
      '  state_0_ --> state_0',
      '  state_0 --> approved',
      '  approved --> state_0',
    ])
  })

  it('refuses to leave a terminal lifecycle state', () => {
    expect(() => functionLifecycle.assertTransition('complete', 'running')).toThrow(/allowed from complete: none/)
    expect(functionLifecycle.canTransition('retrying', 'running')).toBe(true)
  })
})

describe('StateMachineDefinition on hostile tables', () => {
  it('StateMachineDefinition.isTerminal answers for the states of its table only', () => {
    const door = new StateMachineDefinition({
      name: 'door',
      initial: 'closed',
      transitions: { closed: ['open'], open: ['closed'] },
    })
    // `toString` is no state of the door; answering true would call it terminal.
    const answer = (state: string): unknown => {
      try {
        return door.isTerminal(state as 'open')
      } catch (error) {
        return error
      }
    }
    expect(answer('toString')).not.toBe(true)
    const unknown = answer('ajar')
    expect(
      unknown === false ||
        ConfigurationError.isInstance(unknown) ||
        (unknown as Error)?.name === 'InvalidTransitionError',
    ).toBe(true)
  })

  it('a state machine config error quotes its states and name cut short, as every option error does', () => {
    const long = 'x'.repeat(10_000_000)
    const many: Record<string, string[]> = {}
    for (let index = 0; index < 20_000; index++) many[`state-${index}`] = []
    const configs = [
      { name: 'door', initial: 'ajar', transitions: many },
      { name: 'door', initial: 'a', transitions: { a: [], [long]: 'not a list' } },
      { name: 'door', initial: 'a', transitions: { a: [], [long]: ['nope'] } },
      { name: long, initial: 'ajar', transitions: { a: [] } },
    ]
    for (const config of configs) {
      let message = ''
      try {
        new StateMachineDefinition(config as never)
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).not.toBe('')
      // "errors quoting it kept under 1,000 characters — an option key 10 MB long included"
      expect(message.length).toBeLessThan(2_000)
    }
  })

  it('FSM.onTransition refuses a listener that is not a function with a ConfigurationError, when it is given', () => {
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

  it('an FSM runs on a definition made by another copy of the package', async () => {
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

  it('refuses an object that carries only the definition brand with a ConfigurationError, when it is given', () => {
    // The brand lets another copy's definition in; a plain object carrying it is taken as one too, and fails on the
    // first transition with a TypeError naming nothing.
    let thrown: unknown
    try {
      new FSM({ [Symbol.for('tinyllm.stateMachineDefinition')]: true } as never)
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true)
  })
})
