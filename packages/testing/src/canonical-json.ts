import { setOwn } from './set-own.js'

/**
 * Serialises a JSON-like value with object keys sorted at every depth, so two values that differ only in key order
 * serialise identically. `undefined` serialises as `''`.
 */
export function canonicalJson(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) setOwn(result, key, sortKeys((value as Record<string, unknown>)[key]))
    return result
  }
  return value
}
