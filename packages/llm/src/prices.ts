import { type ConfigurationError, optionError, type Usage, unreadableOption } from '@tinyllm/core'

/** The price of one model, in USD per 1,000,000 tokens. */
export interface ModelPrice {
  /** USD per 1M input (prompt) tokens. */
  readonly inputPerMillion: number
  /** USD per 1M output (completion) tokens. */
  readonly outputPerMillion: number
}

/** Prices by model id, in USD per 1M tokens. Build one with {@link definePrices}. */
export type PriceTable = Readonly<Record<string, ModelPrice>>

/** The date the prices of {@link defaultPrices} were taken from the providers' public price pages. */
export const defaultPricesDate = '2025-11-01'

/**
 * Standard (non-batch, non-cached) list prices of a few current OpenAI and Anthropic models, in USD per 1M tokens, as
 * of {@link defaultPricesDate}. Prices change: check them against your provider's price page and extend or override
 * them with {@link definePrices}. A model missing from the table has an unknown cost, never a cost of 0.
 */
export const defaultPrices: PriceTable = Object.freeze({
  // OpenAI
  'gpt-5': price(1.25, 10),
  'gpt-5-mini': price(0.25, 2),
  'gpt-5-nano': price(0.05, 0.4),
  'gpt-4.1': price(2, 8),
  'gpt-4.1-mini': price(0.4, 1.6),
  'gpt-4.1-nano': price(0.1, 0.4),
  'gpt-4o': price(2.5, 10),
  // The first gpt-4o snapshot kept its launch price; an exact id wins over its base entry.
  'gpt-4o-2024-05-13': price(5, 15),
  'gpt-4o-mini': price(0.15, 0.6),
  o3: price(2, 8),
  'o4-mini': price(1.1, 4.4),
  'o3-mini': price(1.1, 4.4),
  'gpt-3.5-turbo': price(0.5, 1.5),
  // Anthropic
  'claude-opus-4-1': price(15, 75),
  'claude-opus-4': price(15, 75),
  'claude-sonnet-4-5': price(3, 15),
  'claude-sonnet-4': price(3, 15),
  'claude-3-7-sonnet': price(3, 15),
  'claude-haiku-4-5': price(1, 5),
  'claude-3-5-haiku': price(0.8, 4),
})

function price(inputPerMillion: number, outputPerMillion: number): ModelPrice {
  return Object.freeze({ inputPerMillion, outputPerMillion })
}

const owner = 'definePrices'

/**
 * Builds a price table from one or more tables; later tables override earlier ones. Every price is checked (finite,
 * ≥ 0), so a typo fails here rather than as a wrong cost.
 *
 * @example
 * const prices = definePrices(defaultPrices, { 'my-finetune': { inputPerMillion: 3, outputPerMillion: 12 } })
 * new LLMCall({ name: 'chat', model, prices })
 */
export function definePrices(...tables: ReadonlyArray<PriceTable>): PriceTable {
  const merged: Record<string, ModelPrice> = Object.create(null)
  for (let index = 0; index < tables.length; index++) {
    const table: unknown = tables[index]
    const option = `tables[${index}]`
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      throw optionError(option, 'a price table (model ids to { inputPerMillion, outputPerMillion })', table, owner)
    }
    // A table whose reading throws (a getter, a Proxy) is a bad option too.
    try {
      for (const modelId of Object.keys(table)) merged[modelId] = checkedPrice(table as PriceTable, modelId, owner)
    } catch (error) {
      throw unreadableOption(error, option, owner)
    }
  }
  return Object.freeze(merged)
}

/**
 * Checks every entry of a price table given as it is (not made with {@link definePrices}): a price that is not a
 * number ≥ 0 would make every cost NaN, negative or a string, and a budget's `maxCostUsd` meaningless.
 */
export function checkPriceTable(table: PriceTable, owner: string): void {
  for (const modelId of Object.keys(table)) checkedPrice(table, modelId, owner)
}

/** The entry of `modelId`, as a price, or a ConfigurationError naming what is wrong with it. */
function checkedPrice(table: PriceTable, modelId: string, owner: string): ModelPrice {
  const entry = table[modelId] as Partial<ModelPrice> | null | undefined
  const inputPerMillion = entry?.inputPerMillion
  const outputPerMillion = entry?.outputPerMillion
  const option = `prices[${JSON.stringify(modelId)}]`
  if (!isPrice(inputPerMillion)) throw priceError(`${option}.inputPerMillion`, inputPerMillion, owner)
  if (!isPrice(outputPerMillion)) throw priceError(`${option}.outputPerMillion`, outputPerMillion, owner)
  return price(inputPerMillion, outputPerMillion)
}

function priceError(option: string, value: unknown, owner: string): ConfigurationError {
  return optionError(option, 'a number ≥ 0 (USD per 1M tokens)', value, owner)
}

function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function isPrice(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

/** A date suffix of a snapshot id: `-2024-08-06` (OpenAI) or `-20250929` (Anthropic). */
const dateSuffix = /-(?:\d{4}-\d{2}-\d{2}|\d{8})$/

/**
 * The price of `modelId`: its own entry, else the entry of its base id without a date suffix (so
 * `gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`), else the base id without a
 * `-latest` suffix. Undefined when the model is not in the table.
 */
export function findPrice(modelId: string, prices: PriceTable = defaultPrices): ModelPrice | undefined {
  return lookUp(modelId, prices, 'findPrice')
}

/**
 * {@link findPrice} for `owner`: a model id that is not a string, a table that is not an object, and an entry that is
 * not a price (a table not made by {@link definePrices}) are ConfigurationErrors naming `owner`, never a plain
 * TypeError nor a negative or NaN cost.
 */
function lookUp(modelId: string, prices: PriceTable, owner: string): ModelPrice | undefined {
  if (typeof modelId !== 'string') throw optionError('modelId', 'a model id (a string)', modelId, owner)
  if (typeof prices !== 'object' || prices === null)
    throw optionError('prices', 'a price table (model ids to { inputPerMillion, outputPerMillion })', prices, owner)
  try {
    const exact = ownPrice(prices, modelId, owner)
    if (exact !== undefined) return exact
    const base = modelId.replace(dateSuffix, '').replace(/-latest$/, '')
    return base === modelId ? undefined : ownPrice(prices, base, owner)
  } catch (error) {
    throw unreadableOption(error, 'prices', owner)
  }
}

function ownPrice(prices: PriceTable, modelId: string, owner: string): ModelPrice | undefined {
  if (!Object.hasOwn(prices, modelId)) return undefined
  const entry = prices[modelId]
  // Two comparisons, no allocation: an entry of a table definePrices did not check is refused, never priced.
  if (isPrice(entry?.inputPerMillion) && isPrice(entry.outputPerMillion)) return entry
  return checkedPrice(prices, modelId, owner)
}

/**
 * The most a call asking for `modelId` may cost for `usage`: its own price, or the dearest of the dated versions of it
 * the table holds, when `modelId` names no date (`gpt-4o`, `claude-3-5-haiku-latest`). A server answers such a name
 * with one of its dated versions, and the call is priced as the model that answered: `gpt-4o-2024-05-13` costs more
 * than `gpt-4o`. A cost budget admits a call at this price, so that whichever version answers, the budget holds.
 * `undefined` when `modelId` has no price.
 */
export function mostCostOf(
  modelId: string,
  usage: Pick<Usage, 'inputTokens' | 'outputTokens'> & { readonly totalTokens?: number | undefined },
  prices: PriceTable = defaultPrices,
): number | undefined {
  let most = costOf(modelId, usage, prices)
  if (most === undefined || dateSuffix.test(modelId)) return most
  const alias = modelId.replace(/-latest$/, '')
  let versions: string[]
  try {
    versions = Object.keys(prices)
  } catch (error) {
    throw unreadableOption(error, 'prices', 'costOf')
  }
  for (const version of versions) {
    if (version === modelId || !dateSuffix.test(version) || version.replace(dateSuffix, '') !== alias) continue
    most = Math.max(most, costOf(version, usage, prices) as number)
  }
  return most
}

/**
 * What a call cost in USD, from its token usage and the model's price; `undefined` when the model's price is unknown
 * (it is never guessed, and never 0). Tokens of a `totalTokens` that the input and output counts do not account for
 * (a server that reports only a total) are priced at the dearer of the two prices: the cost is then an upper bound,
 * never the 0 of an empty split.
 *
 * @example
 * costOf('gpt-4o-2024-08-06', { inputTokens: 1000, outputTokens: 200 }) // 0.0045
 * costOf('gpt-4o', { inputTokens: 0, outputTokens: 0, totalTokens: 1000 }) // 0.01, as 1,000 output tokens
 */
export function costOf(
  modelId: string,
  usage: Pick<Usage, 'inputTokens' | 'outputTokens'> & { readonly totalTokens?: number | undefined },
  prices: PriceTable = defaultPrices,
): number | undefined {
  const entry = lookUp(modelId, prices, 'costOf')
  if (entry === undefined) return undefined
  // Each price read once, and the cost made of what was checked: a getter answering a price, then -1e9, is refused.
  let inputPerMillion: unknown
  let outputPerMillion: unknown
  try {
    ;({ inputPerMillion, outputPerMillion } = entry)
  } catch (error) {
    throw unreadableOption(error, 'prices', 'costOf')
  }
  const option = `prices[${JSON.stringify(modelId)}]`
  if (!isPrice(inputPerMillion)) throw priceError(`${option}.inputPerMillion`, inputPerMillion, 'costOf')
  if (!isPrice(outputPerMillion)) throw priceError(`${option}.outputPerMillion`, outputPerMillion, 'costOf')
  let inputTokens: unknown
  let outputTokens: unknown
  let totalTokens: unknown
  try {
    ;({ inputTokens, outputTokens, totalTokens } = usage)
  } catch (error) {
    throw unreadableOption(error, 'usage', 'costOf')
  }
  if (!isTokenCount(inputTokens))
    throw optionError('usage.inputTokens', 'a number of tokens ≥ 0', inputTokens, 'costOf')
  if (!isTokenCount(outputTokens))
    throw optionError('usage.outputTokens', 'a number of tokens ≥ 0', outputTokens, 'costOf')
  if (totalTokens !== undefined && !isTokenCount(totalTokens))
    throw optionError('usage.totalTokens', 'a number of tokens ≥ 0', totalTokens, 'costOf')
  const unsplit = totalTokens === undefined ? 0 : Math.max(0, totalTokens - inputTokens - outputTokens)
  return (
    (inputTokens * inputPerMillion +
      outputTokens * outputPerMillion +
      unsplit * Math.max(inputPerMillion, outputPerMillion)) /
    1_000_000
  )
}
