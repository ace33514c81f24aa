import { setOwn } from './set-own.js'

/**
 * Serialises a JSON-like value with object keys sorted at every depth, so two values that differ only in key order
 * serialise identically. Otherwise it is `JSON.stringify`'s JSON (a `Date` as its `toJSON` string); `undefined`
 * serialises as `''`.
 */
export function canonicalJson(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, sortKeys)
}

/** `JSON.stringify`'s replacer: it is handed each value after `toJSON`, and an object is written with its keys sorted. */
function sortKeys(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const result: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) setOwn(result, key, (value as Record<string, unknown>)[key])
  return result
}
