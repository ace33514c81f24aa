/** Tokens used by one model call. */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly totalTokens: number
}
/** Tokens and cost summed over model calls (one run, or a whole run tree). */
export interface UsageTotals {
  calls: number
  inputTokens: number
  outputTokens: number
  totalTokens: number
  /** Cost of the calls whose price is known, in USD. */
  costUsd: number
  /** Calls whose model has no known price: `costUsd` leaves them out, so it is a lower bound when this is > 0. */
  unpricedCalls: number
}
/**
 * A limit on what one run tree may spend, checked before each model call is sent against what was spent plus what
 * calls in flight have reserved (their estimate). A call uses its estimate or less when the estimate is an upper bound
 * (LLM calls with `maxTokens` set), so the budget then holds exactly; without `maxTokens`, each call in flight can
 * overshoot by what it uses beyond its estimate.
 */
export interface Budget {
  readonly maxTokens?: number
  readonly maxCostUsd?: number
}
/** Fresh zeroed totals. */
export declare function emptyUsageTotals(): UsageTotals
/**
 * Refuses usage that would poison the totals (and with them every budget check): counts must be numbers ≥ 0 — of
 * totals (usage with `calls`, which {@link addUsageTo} sums as totals), every count and the cost too.
 */
export declare function checkUsage(usage: Usage | UsageTotals, costUsd: number | undefined, owner: string): void
/** Adds one call's usage (and cost, `undefined` when unknown) — or other totals — to `totals`. */
export declare function addUsageTo(totals: UsageTotals, usage: Usage | UsageTotals, costUsd?: number): void
/** What one run tree spent and has reserved, against its budget: one per tree, shared by all its runs. */
export declare class UsageLedger {
  readonly budget: Budget | undefined
  readonly spent: UsageTotals
  private reservedTokens
  private reservedCostUsd
  constructor(budget: Budget | undefined)
  /**
   * Checks that spending `request` more would stay within the budget, counting what calls in flight reserved, and
   * reserves it, in one synchronous step (so concurrent calls cannot overshoot together); throws
   * {@link BudgetExceededError} otherwise. Returns the release, to call once the real usage is recorded.
   */
  reserve(
    request: {
      readonly tokens: number
      readonly costUsd?: number | undefined
    },
    functionName: string,
  ): () => void
}
/**
 * Checks a budget option — each limit a number ≥ 0 (`NaN` is not "no limit") — and returns a frozen copy of it, read
 * once: changing the object given afterwards changes nothing.
 */
export declare function checkBudget(budget: Budget | undefined, owner?: string): Budget | undefined
//# sourceMappingURL=usage.d.ts.map
