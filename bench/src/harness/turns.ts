// Subjects of one case take turns: every subject's process is started at once, and the parent lets one run at a time
// — its set-up and warm-up first, then one measured repetition per turn, A B C A B C … — so a change of load on the
// machine falls on every subject alike instead of on whichever ran then.

/** What a measuring child tells the parent: it waits for its next turn. */
export interface TurnRequest {
  readonly type: 'turn'
}

/** What the parent tells a child: go on, it is your turn. */
export interface TurnGrant {
  readonly type: 'go'
}

let granted: (() => void) | undefined

/**
 * Resolves when this process may run its next repetition. Outside an interleaving parent (a child run by hand) it
 * resolves at once.
 */
export function waitForTurn(): Promise<void> {
  if (process.env.TINYLLM_BENCH_TURNS !== '1' || process.send === undefined) return Promise.resolve()
  return new Promise((resolve) => {
    granted = resolve
    process.send?.({ type: 'turn' } satisfies TurnRequest)
  })
}

/** Installs the listener for the parent's grants; the child's entry calls it once. */
export function listenForTurns(): void {
  process.on('message', (message: unknown) => {
    if ((message as { type?: unknown } | null)?.type !== 'go') return
    const resolve = granted
    granted = undefined
    resolve?.()
  })
}
