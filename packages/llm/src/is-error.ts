/**
 * Whether `value` is an error, from this realm or another (a `node:vm` context, a test runner's sandbox), where
 * `instanceof Error` is false. Never throws: a Proxy whose traps throw is not an error.
 */
export function isError(value: unknown): value is Error {
  if (value instanceof Error) return true
  try {
    return Object.prototype.toString.call(value) === '[object Error]'
  } catch {
    return false
  }
}
