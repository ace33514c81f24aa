import { getDefaultLogger, redactAndCut } from '@tinyllm/logger'
import { InvalidTransitionError } from './errors.js'
import { checkKnownOptions, optionError, unreadableOption } from './options.js'

/** Every state of `S` mapped to the states it may move to. An empty list marks a terminal state. */
export type TransitionTable<S extends string> = { readonly [K in S]: ReadonlyArray<S> }

/** How to build a state machine: a name (used in errors and diagrams), an initial state and the transition table. */
export interface StateMachineConfig<S extends string> {
  readonly name: string
  readonly initial: NoInfer<S>
  readonly transitions: TransitionTable<S>
}

/** A machine's self-description, for diagrams and documentation. */
export interface StateMachineDescription<S extends string = string> {
  readonly name: string
  readonly initial: S
  readonly states: ReadonlyArray<S>
  readonly terminal: ReadonlyArray<S>
  readonly transitions: ReadonlyArray<{ readonly from: S; readonly to: S }>
}

/** A change of state, as seen by listeners. */
export interface StateChange<S extends string> {
  readonly machine: string
  readonly from: S
  readonly to: S
}

/**
 * The immutable part of a state machine: states and allowed transitions, checked in O(1). Many {@link FSM} instances
 * (one per run, say) share one definition.
 */
export class StateMachineDefinition<S extends string> {
  readonly name: string
  readonly initial: S
  readonly states: ReadonlyArray<S>
  readonly transitions: TransitionTable<S>
  private readonly allowed: ReadonlyMap<S, ReadonlySet<S>>

  constructor(config: StateMachineConfig<S>) {
    // The config is read once and checked: refused when it is not an object, holds a key it does not know, a name that
    // is not a non-empty string, a table whose entries are not lists of its states, or an initial state not among them.
    const owner = 'StateMachineDefinition'
    try {
      if (typeof config !== 'object' || config === null)
        throw optionError('config', '{ name, initial, transitions }', config, owner)
      checkKnownOptions(config, configKeys, owner)
      const { name, initial, transitions } = config
      if (typeof name !== 'string' || name === '') throw optionError('name', 'a non-empty string', name, owner)
      // Errors quote the name, the states and a table key as an error quotes any value: cut short.
      const named = quotedName(name)
      const expectedTable = 'an object listing, for each state, the states it may move to'
      if (typeof transitions !== 'object' || transitions === null || Array.isArray(transitions))
        throw optionError('transitions', expectedTable, transitions, named)
      const states = Object.freeze(Object.keys(transitions)) as S[]
      const isState = (value: unknown): value is S => typeof value === 'string' && Object.hasOwn(transitions, value)
      const allowed = new Map<S, ReadonlySet<S>>()
      // A frozen copy of the table: what the caller does to its object afterwards changes no definition.
      const copies: Array<[S, ReadonlyArray<S>]> = []
      for (const from of states) {
        const targets: unknown = transitions[from]
        if (!Array.isArray(targets))
          throw optionError(`transitions.${quotedName(from)}`, 'a list of states', targets, named)
        // Read by index, each target checked as it is read: a sparse list as long as 2³²−1 is refused at its first
        // hole instead of being copied whole.
        const copy: S[] = []
        for (let index = 0; index < targets.length; index++) {
          const to: unknown = targets[index]
          if (!isState(to))
            throw optionError(`transitions.${quotedName(from)}`, `a list of its states (${listed(states)})`, to, named)
          copy.push(to)
        }
        allowed.set(from, new Set(copy))
        copies.push([from, Object.freeze(copy)])
      }
      if (!isState(initial)) throw optionError('initial', `one of its states (${listed(states)})`, initial, named)
      this.name = name
      this.initial = initial
      this.states = states
      this.transitions = Object.freeze(Object.fromEntries(copies)) as TransitionTable<S>
      this.allowed = allowed
    } catch (error) {
      // A config whose reading throws (a getter, a Proxy) is a bad config too.
      throw unreadableOption(error, 'config', owner)
    }
  }

  /** Whether the table allows `from → to`. */
  canTransition(from: S, to: S): boolean {
    return this.allowed.get(from)?.has(to) === true
  }

  /** Throws {@link InvalidTransitionError} unless the table allows `from → to`. */
  assertTransition(from: S, to: S): void {
    if (this.canTransition(from, to)) return
    // `from` may be anything a caller passed: only a state of the table is looked up in it.
    const allowed = typeof from === 'string' && Object.hasOwn(this.transitions, from) ? this.transitions[from] : []
    throw new InvalidTransitionError({ machine: this.name, from, to, allowed })
  }

  /** True for states of the table with no way out; false for anything else (a name inherited from `Object`, say). */
  isTerminal(state: S): boolean {
    return this.allowed.get(state)?.size === 0
  }

  /** States and transitions, for diagrams. */
  describe(): StateMachineDescription<S> {
    const transitions: Array<{ from: S; to: S }> = []
    for (const from of this.states) for (const to of this.transitions[from]) transitions.push({ from, to })
    return {
      name: this.name,
      initial: this.initial,
      states: this.states,
      terminal: this.states.filter((state) => this.isTerminal(state)),
      transitions,
    }
  }

  /**
   * A Mermaid `stateDiagram-v2` of the machine. A state whose name is not a plain word (or is one of Mermaid's
   * keywords) is drawn under an id of its own, its name an escaped label: no name can write code into the diagram.
   */
  toMermaid(): string {
    const lines = ['stateDiagram-v2']
    const ids = new Map<S, string>()
    // An id drawn for a state is none of the names drawn as they are: `state_1` may be a state of its own.
    const taken = new Set<string>(this.states)
    for (const [index, state] of this.states.entries()) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(state) && !mermaidKeywords.has(state.toLowerCase())) ids.set(state, state)
      else {
        let id = `state_${index}`
        while (taken.has(id)) id = `${id}_`
        taken.add(id)
        ids.set(state, id)
        lines.push(`  state "${escapeLabel(state)}" as ${id}`)
      }
    }
    const id = (state: S): string => ids.get(state) as string
    lines.push(`  [*] --> ${id(this.initial)}`)
    for (const from of this.states) for (const to of this.transitions[from]) lines.push(`  ${id(from)} --> ${id(to)}`)
    for (const state of this.states) if (this.isTerminal(state)) lines.push(`  ${id(state)} --> [*]`)
    return lines.join('\n')
  }
}

const configKeys: ReadonlySet<string> = new Set(['name', 'initial', 'transitions'])

/** Marks a definition of any copy of the package, where `instanceof` fails: an FSM takes it as a definition. */
const definitionBrand = Symbol.for('tinyllm.stateMachineDefinition')
Object.defineProperty(StateMachineDefinition.prototype, definitionBrand, { value: true })

/** What an FSM reads of its definition: another copy's must have it, or it is no definition (a forged brand). */
const definitionMethods = ['canTransition', 'assertTransition', 'isTerminal', 'describe', 'toMermaid'] as const

/** Whether `value` is a StateMachineDefinition, of this copy of the package or another; throws what reading throws. */
function isDefinition(value: unknown): boolean {
  if (value instanceof StateMachineDefinition) return true
  if (typeof value !== 'object' || value === null) return false
  const definition = value as Record<PropertyKey, unknown>
  return (
    definition[definitionBrand] === true &&
    typeof definition.name === 'string' &&
    typeof definition.initial === 'string' &&
    definitionMethods.every((method) => typeof definition[method] === 'function')
  )
}

/** A name as a config error quotes it: at most 200 characters, secrets replaced. */
function quotedName(name: string): string {
  return redactAndCut(name, 200)
}

/** The first states of a table, as a config error lists them: at most 20, and how many more there are. */
function listed(states: ReadonlyArray<string>): string {
  const shown = states.slice(0, 20).map((state) => redactAndCut(state, 40))
  return states.length > shown.length ? `${shown.join(', ')}, … ${states.length - shown.length} more` : shown.join(', ')
}

/** Words a Mermaid state diagram reads as its own: a state named so is drawn under an id. */
const mermaidKeywords: ReadonlySet<string> = new Set([
  'state',
  'note',
  'end',
  'as',
  'direction',
  'class',
  'classdef',
  'click',
  'style',
  'linkstyle',
  'acctitle',
  'accdescr',
  'default',
  'graph',
  'subgraph',
])

/** A state's name as a Mermaid label: on one line, its quotes and Mermaid's entity and comment marks as entities. */
function escapeLabel(name: string): string {
  return name.replace(/[\r\n]+/g, ' ').replace(/["#%&<>;`|]/g, (character) => `#${character.codePointAt(0)};`)
}

/**
 * A small typed finite state machine: an explicit transition table, listeners, and a self-description.
 *
 * @example
 * const door = new FSM({ name: 'door', initial: 'closed', transitions: { closed: ['open'], open: ['closed'] } })
 * door.transition('open')
 * door.transition('open') // throws InvalidTransitionError: door: illegal transition open → open
 */
export class FSM<S extends string> {
  readonly definition: StateMachineDefinition<S>
  private current: S
  private listeners: Array<(change: StateChange<S>) => void> | undefined
  /** While listeners hear a change: the changes still to hand out, that one first. */
  private pending: Array<StateChange<S>> | undefined

  constructor(config: StateMachineConfig<S> | StateMachineDefinition<S>) {
    let given: boolean
    try {
      // A definition made by another copy of the package (one that brought its own) is a definition too.
      given = isDefinition(config)
    } catch (error) {
      // A Proxy whose prototype (or brand) cannot be read is a config that cannot be read.
      throw unreadableOption(error, 'config', 'FSM')
    }
    this.definition = given ? (config as StateMachineDefinition<S>) : new StateMachineDefinition(config)
    this.current = this.definition.initial
  }

  /** The current state. */
  get state(): S {
    return this.current
  }

  /** Whether moving to `to` is allowed now. */
  can(to: S): boolean {
    return this.definition.canTransition(this.current, to)
  }

  /**
   * Moves to `to`, or throws {@link InvalidTransitionError}. Listeners run after the state changed, each change in the
   * order it happened: one a listener makes is handed out after every listener heard the change before it. A listener
   * that throws is logged through the default logger, and the others still hear the change.
   */
  transition(to: S): void {
    const from = this.current
    this.definition.assertTransition(from, to)
    this.current = to
    if (this.listeners === undefined) return
    const change: StateChange<S> = { machine: this.definition.name, from, to }
    if (this.pending !== undefined) {
      this.pending.push(change)
      return
    }
    this.pending = [change]
    try {
      // The listeners of each change are those subscribed when it is handed out: none, once the last one unsubscribed.
      for (let index = 0; index < this.pending.length; index++)
        for (const listener of this.listeners ?? []) hand(listener, this.pending[index] as StateChange<S>)
    } finally {
      this.pending = undefined
    }
  }

  /** Whether the machine is in a state with no way out. */
  get done(): boolean {
    return this.definition.isTerminal(this.current)
  }

  /**
   * Calls `listener` after every transition; returns a function that removes it. A listener that is not a function is
   * a ConfigurationError, as `onLifecycleEvent` refuses one.
   */
  onTransition(listener: (change: StateChange<S>) => void): () => void {
    if (typeof listener !== 'function') throw optionError('listener', 'a function', listener, 'FSM')
    // Copy on write: a listener that (un)subscribes while a change is handed out takes no other listener's turn.
    this.listeners = [...(this.listeners ?? []), listener]
    let removed = false
    return () => {
      // Once: a second call would remove another subscription of the same listener.
      if (removed) return
      removed = true
      const listeners = this.listeners
      const index = listeners?.indexOf(listener) ?? -1
      if (index === -1) return
      const rest = (listeners as Array<(change: StateChange<S>) => void>).filter((_, at) => at !== index)
      this.listeners = rest.length === 0 ? undefined : rest
    }
  }

  /** States and transitions, for diagrams. */
  describe(): StateMachineDescription<S> {
    return this.definition.describe()
  }

  /** A Mermaid `stateDiagram-v2` of the machine. */
  toMermaid(): string {
    return this.definition.toMermaid()
  }
}

/** Hands a listener a change; what it throws is logged, and the other listeners still hear the change. */
function hand<S extends string>(listener: (change: StateChange<S>) => void, change: StateChange<S>): void {
  try {
    listener(change)
  } catch (error) {
    try {
      getDefaultLogger().error('a state machine listener threw; the others still hear the change', {
        machine: change.machine,
        change: `${change.from}→${change.to}`,
        error,
      })
    } catch {
      // A logger that throws too has nowhere left to report to.
    }
  }
}
