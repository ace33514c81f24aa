import type { RunContext } from '@tinyllm/core'

/**
 * Most child runs the combinators of one run tree start in one turn of the event loop. Children that settle at once (a
 * synchronous Function) start the next within the same turn, so without a break a long Chain, or a map over 100,000 of
 * them, would keep timers and I/O waiting until the last one — a caller's `abort()` from a timer or a closed socket
 * among them, which could then never stop it. After this many starts, a combinator lets the event loop run once before
 * it starts more.
 */
export const startsPerTurn = 1_024

/** The next turn of the event loop: `setImmediate` where the runtime has it (Node, Bun), else a timer. */
export const nextTurn: (callback: () => void) => void =
  typeof setImmediate === 'function' ? setImmediate : (callback) => setTimeout(callback, 0)

/**
 * Child runs started since the event loop last turned, by run tree (its root's id), counted across every Chain and
 * Parallel of the tree: a chain of short chains, a map of short chains or a map of maps starts all its children in one
 * turn, and no combinator alone would see how many. Trees are counted apart, so one tree's long map does not hold up
 * the steps of another until it ends. Emptied when the loop turns: a tree is held for one turn at most.
 */
const startsThisTurn = new Map<string, number>()

function newTurn(): void {
  startsThisTurn.clear()
}

/**
 * The run tree of `context`, as {@link mustWaitForTurn} counts its starts: its root's id. Read once per run of a
 * combinator, not per child: the context builds it from the root down.
 */
export function runTreeOf(context: RunContext): string {
  // `<root run id>/<step path>`, the root's id escaped: it holds no `/` of its own.
  const key = context.idempotencyKey
  const slash = key.indexOf('/')
  return slash === -1 ? key : key.slice(0, slash)
}

/**
 * Counts a child run (a Chain step, a Parallel branch) about to start in run tree `tree` ({@link runTreeOf}), or —
 * when this turn of the event loop has started {@link startsPerTurn} of that tree's already — counts nothing and
 * answers `true`: start it after the next turn ({@link waitForTurn}), asking again.
 *
 * @example
 * const tree = runTreeOf(context)
 * while (mustWaitForTurn(tree)) await new Promise<void>(waitForTurn)
 */
export function mustWaitForTurn(tree: string): boolean {
  const starts = startsThisTurn.get(tree) ?? 0
  if (starts === startsPerTurn) return true
  // Reset when the loop turns: queued before any combinator's wait for that turn, so it runs first.
  if (startsThisTurn.size === 0) nextTurn(newTurn)
  startsThisTurn.set(tree, starts + 1)
  return false
}

/** Resolves `resolve` at the next turn of the event loop; a named function, so a wait allocates no closure of its own. */
export function waitForTurn(resolve: () => void): void {
  nextTurn(resolve)
}
