/** Every state of `S` mapped to the states it may move to. An empty list marks a terminal state. */
export type TransitionTable<S extends string> = {
  readonly [K in S]: ReadonlyArray<S>
}
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
  readonly transitions: ReadonlyArray<{
    readonly from: S
    readonly to: S
  }>
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
export declare class StateMachineDefinition<S extends string> {
  readonly name: string
  readonly initial: S
  readonly states: ReadonlyArray<S>
  readonly transitions: TransitionTable<S>
  private readonly allowed
  constructor(config: StateMachineConfig<S>)
  /** Whether the table allows `from → to`. */
  canTransition(from: S, to: S): boolean
  /** Throws {@link InvalidTransitionError} unless the table allows `from → to`. */
  assertTransition(from: S, to: S): void
  /** True for states with no way out. */
  isTerminal(state: S): boolean
  /** States and transitions, for diagrams. */
  describe(): StateMachineDescription<S>
  /** A Mermaid `stateDiagram-v2` of the machine. */
  toMermaid(): string
}
/**
 * A small typed finite state machine: an explicit transition table, listeners, and a self-description.
 *
 * @example
 * const door = new FSM({ name: 'door', initial: 'closed', transitions: { closed: ['open'], open: ['closed'] } })
 * door.transition('open')
 * door.transition('open') // throws InvalidTransitionError: door: illegal transition open → open
 */
export declare class FSM<S extends string> {
  readonly definition: StateMachineDefinition<S>
  private current
  private listeners
  constructor(config: StateMachineConfig<S> | StateMachineDefinition<S>)
  /** The current state. */
  get state(): S
  /** Whether moving to `to` is allowed now. */
  can(to: S): boolean
  /** Moves to `to`, or throws {@link InvalidTransitionError}. Listeners run after the state changed. */
  transition(to: S): void
  /** Whether the machine is in a state with no way out. */
  get done(): boolean
  /** Calls `listener` after every transition; returns a function that removes it. */
  onTransition(listener: (change: StateChange<S>) => void): () => void
  /** States and transitions, for diagrams. */
  describe(): StateMachineDescription<S>
  /** A Mermaid `stateDiagram-v2` of the machine. */
  toMermaid(): string
}
//# sourceMappingURL=fsm.d.ts.map
