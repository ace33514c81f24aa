import { ConfigurationError } from '@tinyllm/core'
import { setOwn } from './set-own.js'

/**
 * Serialises a JSON-like value with object keys sorted at every depth, so two values that differ only in key order
 * serialise identically. Otherwise it is `JSON.stringify`'s JSON (a `Date` as its `toJSON` string); `undefined`
 * serialises as `''`. A value JSON cannot hold (a cycle, a BigInt, nesting deeper than the stack, a getter that
 * throws) is a ConfigurationError saying why.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return ''
  try {
    return JSON.stringify(value, sortKeys)
  } catch (cause) {
    // A cycle is no error of JSON.stringify here: each object is replaced by a sorted copy, so it overflows the stack.
    throw new ConfigurationError({
      option: 'value',
      message: `the value is not one JSON can hold (a cycle, a BigInt, too deep, or unreadable): ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      functionName: 'canonicalJson',
      cause,
    })
  }
}

/** `JSON.stringify`'s replacer: it is handed each value after `toJSON`, and an object is written with its keys sorted. */
function sortKeys(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const result: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) setOwn(result, key, (value as Record<string, unknown>)[key])
  return result
}
