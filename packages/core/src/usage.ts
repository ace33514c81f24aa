import { BudgetExceededError } from './errors.js'
import {
  checkKnownOptions,
  checkNumber,
  type NumberRule,
  optionError,
  requireNumber,
  unreadableOption,
} from './options.js'

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
export function emptyUsageTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0 }
}

const tokenRule = { min: 0, unit: 'tokens' } as const
const costRule = { min: 0, unit: 'USD' } as const
// What a call spent is added up: bounded, so no sum of them reaches Infinity (which JSON writes as null).
const spentTokenRule = { ...tokenRule, max: Number.MAX_SAFE_INTEGER } as const
const spentCostRule = { ...costRule, max: Number.MAX_SAFE_INTEGER } as const
const countRule = { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER } as const

/**
 * Refuses usage that would poison the totals (and with them every budget check): counts must be numbers ≥ 0 — of
 * totals (usage with `calls`, which {@link addUsageTo} sums as totals), every count and the cost too. Returns the
 * counts as read, once: a getter cannot answer a checked number here and `NaN` to the sum.
 */
export function checkUsage(
  usage: Usage | UsageTotals,
  costUsd: number | undefined,
  owner: string,
): Usage | UsageTotals {
  if (typeof usage !== 'object' || usage === null)
    throw optionError('usage', '{ inputTokens, outputTokens, totalTokens }', usage, owner)
  const checked: Record<string, number> = {}
  const required = (field: keyof UsageTotals, rule: NumberRule): void => {
    checked[field] = requireNumber((usage as Partial<UsageTotals>)[field], `usage.${field}`, rule, owner)
  }
  try {
    for (const field of ['inputTokens', 'outputTokens', 'totalTokens'] as const) required(field, spentTokenRule)
    if ('calls' in usage) {
      required('calls', countRule)
      required('unpricedCalls', countRule)
      required('costUsd', spentCostRule)
    }
  } catch (error) {
    // Usage whose reading throws (a getter, a revoked Proxy) is bad usage too, named as such.
    throw unreadableOption(error, 'usage', owner)
  }
  // A total below its parts (a server or proxy that drops or zeroes it) would hide the call from a token budget, which
  // counts totals: a call used at least its input and output tokens.
  const parts = (checked.inputTokens as number) + (checked.outputTokens as number)
  if ((checked.totalTokens as number) < parts) checked.totalTokens = Math.min(parts, Number.MAX_SAFE_INTEGER)
  checkNumber(costUsd, 'costUsd', spentCostRule, owner)
  return checked as unknown as Usage | UsageTotals
}

/** Adds one call's usage (and cost, `undefined` when unknown) — or other totals — to `totals`. */
export function addUsageTo(totals: UsageTotals, usage: Usage | UsageTotals, costUsd?: number): void {
  const summed = 'calls' in usage
  totals.calls += summed ? usage.calls : 1
  totals.inputTokens += usage.inputTokens
  totals.outputTokens += usage.outputTokens
  totals.totalTokens += usage.totalTokens
  if (summed) {
    totals.costUsd += usage.costUsd
    totals.unpricedCalls += usage.unpricedCalls
  } else if (costUsd === undefined) totals.unpricedCalls += 1
  else totals.costUsd += costUsd
}

/** What one run tree spent and has reserved, against its budget: one per tree, shared by all its runs. */
export class UsageLedger {
  readonly budget: Budget | undefined
  readonly spent: UsageTotals = emptyUsageTotals()
  private reservedTokens = 0
  private reservedCostUsd = 0

  constructor(budget: Budget | undefined) {
    this.budget = budget
  }

  /**
   * Checks that spending `request` more would stay within the budget, counting what calls in flight reserved, and
   * reserves it, in one synchronous step (so concurrent calls cannot overshoot together); throws
   * {@link BudgetExceededError} otherwise. Returns the release, to call once the real usage is recorded.
   */
  reserve(
    request: { readonly tokens: number; readonly costUsd?: number | undefined },
    functionName: string,
  ): () => void {
    // A count that is NaN or absent would let every later call through: refused, like a negative one.
    let tokens: number
    let costUsd: number | undefined
    try {
      tokens = requireNumber(request?.tokens, 'tokens', tokenRule, functionName)
      costUsd = checkNumber(request.costUsd, 'costUsd', costRule, functionName)
    } catch (error) {
      // A request whose reading throws (a getter, a revoked Proxy) is a bad request, named as one.
      throw unreadableOption(error, 'request', functionName)
    }
    const budget = this.budget
    if (budget === undefined) return releaseNothing
    const spentTokens = this.spent.totalTokens + this.reservedTokens
    const spentCostUsd = this.spent.costUsd + this.reservedCostUsd
    const exceeded = (limit: 'tokens' | 'cost', max: number, spent: number, requested: number): BudgetExceededError =>
      new BudgetExceededError({ limit, budget: max, spent, requested, functionName, state: 'running' })
    if (budget.maxTokens !== undefined && spentTokens + tokens > budget.maxTokens)
      throw exceeded('tokens', budget.maxTokens, spentTokens, tokens)
    // Sums of USD carry binary rounding (0.1 + 0.2 is 0.30000000000000004, a released reservation leaves 1e-17 behind):
    // compared at 12 significant digits, a call that fits exactly fits.
    // A request that names no cost (code that reserves its tokens only) fits a cost limit while some of it is left:
    // once the tree has spent it, nothing more is admitted, counted or not.
    if (budget.maxCostUsd !== undefined) {
      const total = Number((spentCostUsd + (costUsd ?? 0)).toPrecision(12))
      if (costUsd === undefined ? total >= budget.maxCostUsd : total > budget.maxCostUsd)
        throw exceeded('cost', budget.maxCostUsd, spentCostUsd, costUsd ?? 0)
    }
    this.reservedTokens += tokens
    this.reservedCostUsd += costUsd ?? 0
    let released = false
    return () => {
      if (released) return
      released = true
      this.reservedTokens -= tokens
      this.reservedCostUsd -= costUsd ?? 0
    }
  }
}

function releaseNothing(): void {}

const budgetKeys: ReadonlySet<string> = new Set(['maxTokens', 'maxCostUsd'])

/**
 * Checks a budget option — each limit a number ≥ 0 (`NaN` is not "no limit") — and returns a frozen copy of it, read
 * once: changing the object given afterwards changes nothing.
 */
export function checkBudget(budget: Budget | undefined, owner?: string): Budget | undefined {
  if (budget === undefined) return undefined
  let maxTokens: number | undefined
  let maxCostUsd: number | undefined
  try {
    if (typeof budget !== 'object' || budget === null || Array.isArray(budget))
      throw optionError('budget', '{ maxTokens?, maxCostUsd? }', budget, owner)
    checkKnownOptions(budget, budgetKeys, owner, 'budget')
    maxTokens = checkNumber(budget.maxTokens, 'budget.maxTokens', tokenRule, owner)
    maxCostUsd = checkNumber(budget.maxCostUsd, 'budget.maxCostUsd', costRule, owner)
  } catch (error) {
    // A budget whose reading throws (a getter, a Proxy) is a bad budget too, named as one.
    throw unreadableOption(error, 'budget', owner)
  }
  const checked: { maxTokens?: number; maxCostUsd?: number } = {}
  if (maxTokens !== undefined) checked.maxTokens = maxTokens
  if (maxCostUsd !== undefined) checked.maxCostUsd = maxCostUsd
  return Object.freeze(checked)
}
