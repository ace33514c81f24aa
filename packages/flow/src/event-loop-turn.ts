/**
 * Most child runs a combinator starts in one turn of the event loop. Children that settle at once (a synchronous
 * Function) start the next within the same turn, so without a break a long Chain, or a map over 100,000 of them, would
 * keep timers and I/O waiting until the last one — a caller's `abort()` from a timer or a closed socket among them,
 * which could then never stop it. After this many starts, a combinator lets the event loop run once before it starts
 * more.
 */
export const startsPerTurn = 1_024

/** The next turn of the event loop: `setImmediate` where the runtime has it (Node, Bun), else a timer. */
export const nextTurn: (callback: () => void) => void =
  typeof setImmediate === 'function' ? setImmediate : (callback) => setTimeout(callback, 0)

/**
 * Chain steps started since the event loop last turned, counted across every Chain of the process: a chain of short
 * chains, or a map of short chains, starts all its steps in one turn, and no chain alone would see how many.
 */
let chainStepsThisTurn = 0

function newTurn(): void {
  chainStepsThisTurn = 0
}

/**
 * Counts a Chain step about to start, or — when this turn of the event loop has started {@link startsPerTurn} already —
 * counts nothing and answers `true`: start it after the next turn ({@link waitForTurn}), asking again.
 *
 * @example
 * while (mustWaitForTurn()) await new Promise<void>(waitForTurn)
 */
export function mustWaitForTurn(): boolean {
  if (chainStepsThisTurn === startsPerTurn) return true
  // Reset when the loop turns: queued before any chain's wait for that turn, so it runs first.
  if (chainStepsThisTurn === 0) nextTurn(newTurn)
  chainStepsThisTurn += 1
  return false
}

/** Resolves `resolve` at the next turn of the event loop; a named function, so a wait allocates no closure of its own. */
export function waitForTurn(resolve: () => void): void {
  nextTurn(resolve)
}
