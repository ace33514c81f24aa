import { BudgetExceededError } from './errors.js'
import { checkKnownOptions, checkNumber, optionError } from './options.js'
/** Fresh zeroed totals. */
export function emptyUsageTotals() {
  return { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0 }
}
const tokenRule = { min: 0, unit: 'tokens' }
const costRule = { min: 0, unit: 'USD' }
const countRule = { integer: true, min: 0 }
/**
 * Refuses usage that would poison the totals (and with them every budget check): counts must be numbers ≥ 0 — of
 * totals (usage with `calls`, which {@link addUsageTo} sums as totals), every count and the cost too.
 */
export function checkUsage(usage, costUsd, owner) {
  if (typeof usage !== 'object' || usage === null)
    throw optionError('usage', '{ inputTokens, outputTokens, totalTokens }', usage, owner)
  const required = (field, rule, expected) => {
    if (checkNumber(usage[field], `usage.${field}`, rule, owner) === undefined)
      throw optionError(`usage.${field}`, expected, undefined, owner)
  }
  for (const field of ['inputTokens', 'outputTokens', 'totalTokens'])
    required(field, tokenRule, 'a number of tokens ≥ 0')
  if ('calls' in usage) {
    required('calls', countRule, 'an integer ≥ 0')
    required('unpricedCalls', countRule, 'an integer ≥ 0')
    required('costUsd', costRule, 'a number of USD ≥ 0')
  }
  checkNumber(costUsd, 'costUsd', costRule, owner)
}
/** Adds one call's usage (and cost, `undefined` when unknown) — or other totals — to `totals`. */
export function addUsageTo(totals, usage, costUsd) {
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
  budget
  spent = emptyUsageTotals()
  reservedTokens = 0
  reservedCostUsd = 0
  constructor(budget) {
    this.budget = budget
  }
  /**
   * Checks that spending `request` more would stay within the budget, counting what calls in flight reserved, and
   * reserves it, in one synchronous step (so concurrent calls cannot overshoot together); throws
   * {@link BudgetExceededError} otherwise. Returns the release, to call once the real usage is recorded.
   */
  reserve(request, functionName) {
    // A count that is NaN or absent would let every later call through: refused, like a negative one.
    const tokens = checkNumber(request?.tokens, 'tokens', tokenRule, functionName)
    if (tokens === undefined) throw optionError('tokens', 'a number of tokens ≥ 0', undefined, functionName)
    const costUsd = checkNumber(request.costUsd, 'costUsd', costRule, functionName)
    const budget = this.budget
    if (budget === undefined) return releaseNothing
    const spentTokens = this.spent.totalTokens + this.reservedTokens
    const spentCostUsd = this.spent.costUsd + this.reservedCostUsd
    const exceeded = (limit, max, spent, requested) =>
      new BudgetExceededError({ limit, budget: max, spent, requested, functionName, state: 'running' })
    if (budget.maxTokens !== undefined && spentTokens + tokens > budget.maxTokens)
      throw exceeded('tokens', budget.maxTokens, spentTokens, tokens)
    if (budget.maxCostUsd !== undefined && costUsd !== undefined && spentCostUsd + costUsd > budget.maxCostUsd)
      throw exceeded('cost', budget.maxCostUsd, spentCostUsd, costUsd)
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
function releaseNothing() {}
const budgetKeys = new Set(['maxTokens', 'maxCostUsd'])
/**
 * Checks a budget option — each limit a number ≥ 0 (`NaN` is not "no limit") — and returns a frozen copy of it, read
 * once: changing the object given afterwards changes nothing.
 */
export function checkBudget(budget, owner) {
  if (budget === undefined) return undefined
  if (typeof budget !== 'object' || budget === null) {
    throw optionError('budget', '{ maxTokens?, maxCostUsd? }', budget, owner)
  }
  checkKnownOptions(budget, budgetKeys, owner)
  const maxTokens = checkNumber(budget.maxTokens, 'budget.maxTokens', { min: 0, unit: 'tokens' }, owner)
  const maxCostUsd = checkNumber(budget.maxCostUsd, 'budget.maxCostUsd', { min: 0, unit: 'USD' }, owner)
  const checked = {}
  if (maxTokens !== undefined) checked.maxTokens = maxTokens
  if (maxCostUsd !== undefined) checked.maxCostUsd = maxCostUsd
  return Object.freeze(checked)
}
//# sourceMappingURL=usage.js.map
