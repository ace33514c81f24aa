/**
 * Whether `value` is an error, from this realm or another (a `node:vm` context, a test runner's sandbox), where
 * `instanceof Error` is false. Never throws: a Proxy whose traps throw (a revoked one included) is not an error.
 */
export function isError(value: unknown): value is Error {
  try {
    // `instanceof` asks a Proxy for its prototype, which a revoked one refuses with a TypeError.
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]'
  } catch {
    return false
  }
}
