/** One place where two JSON-like values differ. */
export interface JsonDifference {
  /** Where, as a JavaScript-like access path from the root (`$`), e.g. `$.messages[1].content`. */
  readonly path: string
  /** The value on the expected side (`undefined`: absent). */
  readonly expected: unknown
  /** The value on the actual side (`undefined`: absent). */
  readonly actual: unknown
}

/** Lists the leaves where `actual` differs from `expected`, stopping after `limit` differences. */
export function jsonDifferences(expected: unknown, actual: unknown, limit = 50): JsonDifference[] {
  const differences: JsonDifference[] = []
  walk(expected, actual, '$', differences, limit)
  return differences
}

function walk(expected: unknown, actual: unknown, path: string, out: JsonDifference[], limit: number): void {
  if (out.length >= limit) return
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const length = Math.max(expected.length, actual.length)
    for (let index = 0; index < length; index++) walk(expected[index], actual[index], `${path}[${index}]`, out, limit)
    return
  }
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)])
    for (const key of [...keys].sort()) {
      const childPath = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
      walk(expected[key], actual[key], childPath, out, limit)
    }
    return
  }
  if (!Object.is(expected, actual)) out.push({ path, expected, actual })
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
