import { ConfigurationError, InvalidTransitionError } from './errors.js'

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
    const states = Object.keys(config.transitions) as S[]
    if (!states.includes(config.initial)) {
      throw new ConfigurationError({
        option: 'initial',
        message: `"${config.initial}" is not a state of ${config.name}`,
      })
    }
    const allowed = new Map<S, ReadonlySet<S>>()
    for (const from of states) {
      for (const to of config.transitions[from]) {
        if (!states.includes(to)) {
          throw new ConfigurationError({
            option: 'transitions',
            message: `${config.name}: ${from} → ${to}, "${to}" is not a state`,
          })
        }
      }
      allowed.set(from, new Set(config.transitions[from]))
    }
    this.name = config.name
    this.initial = config.initial
    this.states = states
    this.transitions = config.transitions
    this.allowed = allowed
  }

  /** Whether the table allows `from → to`. */
  canTransition(from: S, to: S): boolean {
    return this.allowed.get(from)?.has(to) === true
  }

  /** Throws {@link InvalidTransitionError} unless the table allows `from → to`. */
  assertTransition(from: S, to: S): void {
    if (!this.canTransition(from, to)) {
      throw new InvalidTransitionError({ machine: this.name, from, to, allowed: this.transitions[from] ?? [] })
    }
  }

  /** True for states with no way out. */
  isTerminal(state: S): boolean {
    return this.transitions[state].length === 0
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

  /** A Mermaid `stateDiagram-v2` of the machine. */
  toMermaid(): string {
    const lines = ['stateDiagram-v2', `  [*] --> ${this.initial}`]
    for (const from of this.states) for (const to of this.transitions[from]) lines.push(`  ${from} --> ${to}`)
    for (const state of this.states) if (this.isTerminal(state)) lines.push(`  ${state} --> [*]`)
    return lines.join('\n')
  }
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

  constructor(config: StateMachineConfig<S> | StateMachineDefinition<S>) {
    this.definition = config instanceof StateMachineDefinition ? config : new StateMachineDefinition(config)
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

  /** Moves to `to`, or throws {@link InvalidTransitionError}. Listeners run after the state changed. */
  transition(to: S): void {
    const from = this.current
    this.definition.assertTransition(from, to)
    this.current = to
    const listeners = this.listeners
    if (listeners === undefined) return
    const change: StateChange<S> = { machine: this.definition.name, from, to }
    for (const listener of listeners) listener(change)
  }

  /** Whether the machine is in a state with no way out. */
  get done(): boolean {
    return this.definition.isTerminal(this.current)
  }

  /** Calls `listener` after every transition; returns a function that removes it. */
  onTransition(listener: (change: StateChange<S>) => void): () => void {
    if (this.listeners === undefined) this.listeners = []
    this.listeners.push(listener)
    return () => {
      const listeners = this.listeners
      if (listeners === undefined) return
      const index = listeners.indexOf(listener)
      if (index !== -1) listeners.splice(index, 1)
      if (listeners.length === 0) this.listeners = undefined
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
