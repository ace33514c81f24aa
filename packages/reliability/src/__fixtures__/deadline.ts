/** What a call came to: its value, its error, or nothing within the deadline. */
export type Settlement<Value> =
  | { readonly status: 'fulfilled'; readonly value: Value }
  | { readonly status: 'rejected'; readonly error: unknown }
  | { readonly status: 'hanging' }

/**
 * Settles with `work`, or with `hanging` when it has not settled after `deadlineMs`. The deadline only detects hangs: it
 * is far beyond any time the work should take, and its timer is cleared as soon as the work settles.
 */
export function withDeadline<Value>(work: Promise<Value>, deadlineMs: number): Promise<Settlement<Value>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ status: 'hanging' }), deadlineMs)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve({ status: 'fulfilled', value })
      },
      (error: unknown) => {
        clearTimeout(timer)
        resolve({ status: 'rejected', error })
      },
    )
  })
}
