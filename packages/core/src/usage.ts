import { BudgetExceededError } from './errors.js'
import { checkKnownOptions, checkNumber, optionError } from './options.js'

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

/** A limit on what one run tree may spend. Checked before each model call is sent. */
export interface Budget {
  readonly maxTokens?: number
  readonly maxCostUsd?: number
}

/** Fresh zeroed totals. */
export function emptyUsageTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0 }
}

/** Adds one call's usage (and cost, `undefined` when unknown) to `totals`. */
export function addUsageTo(totals: UsageTotals, usage: Usage, costUsd: number | undefined): void {
  totals.calls += 1
  totals.inputTokens += usage.inputTokens
  totals.outputTokens += usage.outputTokens
  totals.totalTokens += usage.totalTokens
  if (costUsd === undefined) totals.unpricedCalls += 1
  else totals.costUsd += costUsd
}

/**
 * Throws {@link BudgetExceededError} if spending `requested` more on top of `spent` would exceed `budget`.
 * `requested.costUsd` may be undefined when the price is unknown; then only tokens are checked.
 */
export function assertWithinBudget(
  budget: Budget | undefined,
  spent: UsageTotals,
  requested: { readonly tokens: number; readonly costUsd?: number | undefined },
  functionName?: string,
): void {
  if (budget === undefined) return
  const where = functionName === undefined ? {} : { functionName, state: 'running' }
  if (budget.maxTokens !== undefined && spent.totalTokens + requested.tokens > budget.maxTokens) {
    throw new BudgetExceededError({
      limit: 'tokens',
      budget: budget.maxTokens,
      spent: spent.totalTokens,
      requested: requested.tokens,
      ...where,
    })
  }
  if (
    budget.maxCostUsd !== undefined &&
    requested.costUsd !== undefined &&
    spent.costUsd + requested.costUsd > budget.maxCostUsd
  ) {
    throw new BudgetExceededError({
      limit: 'cost',
      budget: budget.maxCostUsd,
      spent: spent.costUsd,
      requested: requested.costUsd,
      ...where,
    })
  }
}

/** Checks a budget option: each limit a number ≥ 0 (`NaN` is not "no limit"). */
export function checkBudget(budget: Budget | undefined, owner?: string): Budget | undefined {
  if (budget === undefined) return undefined
  if (typeof budget !== 'object' || budget === null)
    throw optionError('budget', '{ maxTokens?, maxCostUsd? }', budget, owner)
  checkKnownOptions(budget, budgetKeys, owner)
  checkNumber(budget.maxTokens, 'budget.maxTokens', { min: 0, unit: 'tokens' }, owner)
  checkNumber(budget.maxCostUsd, 'budget.maxCostUsd', { min: 0, unit: 'USD' }, owner)
  return budget
}

const budgetKeys: ReadonlySet<string> = new Set(['maxTokens', 'maxCostUsd'])
