import { InvalidTransitionError } from './errors.js'
import { checkKnownOptions, optionError, unreadableOption } from './options.js'
/**
 * The immutable part of a state machine: states and allowed transitions, checked in O(1). Many {@link FSM} instances
 * (one per run, say) share one definition.
 */
export class StateMachineDefinition {
  name
  initial
  states
  transitions
  allowed
  constructor(config) {
    let checked
    try {
      checked = checkConfig(config)
    } catch (error) {
      // A config whose reading throws (a getter, a Proxy) is a bad config too.
      throw unreadableOption(error, 'config', 'StateMachineDefinition')
    }
    this.name = checked.name
    this.initial = checked.initial
    this.states = checked.states
    this.transitions = checked.transitions
    this.allowed = checked.allowed
  }
  /** Whether the table allows `from → to`. */
  canTransition(from, to) {
    return this.allowed.get(from)?.has(to) === true
  }
  /** Throws {@link InvalidTransitionError} unless the table allows `from → to`. */
  assertTransition(from, to) {
    if (!this.canTransition(from, to)) {
      throw new InvalidTransitionError({ machine: this.name, from, to, allowed: this.transitions[from] ?? [] })
    }
  }
  /** True for states with no way out. */
  isTerminal(state) {
    return this.transitions[state].length === 0
  }
  /** States and transitions, for diagrams. */
  describe() {
    const transitions = []
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
  toMermaid() {
    const lines = ['stateDiagram-v2', `  [*] --> ${this.initial}`]
    for (const from of this.states) for (const to of this.transitions[from]) lines.push(`  ${from} --> ${to}`)
    for (const state of this.states) if (this.isTerminal(state)) lines.push(`  ${state} --> [*]`)
    return lines.join('\n')
  }
}
const configKeys = new Set(['name', 'initial', 'transitions'])
/**
 * A config read once and checked: refused when it is not an object, holds a key it does not know, a name that is not a
 * non-empty string, a table whose entries are not lists of its states, or an initial state that is not one of them.
 */
function checkConfig(config) {
  if (typeof config !== 'object' || config === null)
    throw optionError('config', '{ name, initial, transitions }', config, 'StateMachineDefinition')
  checkKnownOptions(config, configKeys, 'StateMachineDefinition')
  const { name, initial, transitions } = config
  if (typeof name !== 'string' || name === '')
    throw optionError('name', 'a non-empty string', name, 'StateMachineDefinition')
  if (typeof transitions !== 'object' || transitions === null || Array.isArray(transitions))
    throw optionError('transitions', 'an object listing, for each state, the states it may move to', transitions, name)
  const states = Object.freeze(Object.keys(transitions))
  const isState = (value) => typeof value === 'string' && Object.hasOwn(transitions, value)
  const allowed = new Map()
  // A frozen copy of the table: what the caller does to its object afterwards changes no definition.
  const table = []
  for (const from of states) {
    const targets = transitions[from]
    if (!Array.isArray(targets)) throw optionError(`transitions.${from}`, 'a list of states', targets, name)
    const copy = Object.freeze([...targets])
    for (const to of copy)
      if (!isState(to))
        throw optionError(`transitions.${from}`, `a list of its states (${states.join(', ')})`, to, name)
    allowed.set(from, new Set(copy))
    table.push([from, copy])
  }
  if (!isState(initial)) throw optionError('initial', `one of its states (${states.join(', ')})`, initial, name)
  return { name, initial, transitions: Object.freeze(Object.fromEntries(table)), states, allowed }
}
/**
 * A small typed finite state machine: an explicit transition table, listeners, and a self-description.
 *
 * @example
 * const door = new FSM({ name: 'door', initial: 'closed', transitions: { closed: ['open'], open: ['closed'] } })
 * door.transition('open')
 * door.transition('open') // throws InvalidTransitionError: door: illegal transition open → open
 */
export class FSM {
  definition
  current
  listeners
  constructor(config) {
    this.definition = config instanceof StateMachineDefinition ? config : new StateMachineDefinition(config)
    this.current = this.definition.initial
  }
  /** The current state. */
  get state() {
    return this.current
  }
  /** Whether moving to `to` is allowed now. */
  can(to) {
    return this.definition.canTransition(this.current, to)
  }
  /** Moves to `to`, or throws {@link InvalidTransitionError}. Listeners run after the state changed. */
  transition(to) {
    const from = this.current
    this.definition.assertTransition(from, to)
    this.current = to
    const listeners = this.listeners
    if (listeners === undefined) return
    const change = { machine: this.definition.name, from, to }
    for (const listener of listeners) listener(change)
  }
  /** Whether the machine is in a state with no way out. */
  get done() {
    return this.definition.isTerminal(this.current)
  }
  /** Calls `listener` after every transition; returns a function that removes it. */
  onTransition(listener) {
    // Copy on write: a listener that (un)subscribes while a change is handed out takes no other listener's turn.
    this.listeners = [...(this.listeners ?? []), listener]
    return () => {
      const listeners = this.listeners
      const index = listeners?.indexOf(listener) ?? -1
      if (index === -1) return
      const rest = listeners.filter((_, at) => at !== index)
      this.listeners = rest.length === 0 ? undefined : rest
    }
  }
  /** States and transitions, for diagrams. */
  describe() {
    return this.definition.describe()
  }
  /** A Mermaid `stateDiagram-v2` of the machine. */
  toMermaid() {
    return this.definition.toMermaid()
  }
}
//# sourceMappingURL=fsm.js.map
