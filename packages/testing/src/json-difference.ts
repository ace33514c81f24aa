/** One place where two JSON-like values differ. */
export interface JsonDifference {
  /** Where, as a JavaScript-like access path from the root (`$`), e.g. `$.messages[1].content`. */
  readonly path: string
  /** The value on the expected side (`undefined`: absent). */
  readonly expected: unknown
  /** The value on the actual side (`undefined`: absent). */
  readonly actual: unknown
}

/** Where two JSON-like values differ: the first differences found, and how many there are in all. */
export interface JsonDifferenceList {
  /** The first `limit` differences, in path order. */
  readonly differences: JsonDifference[]
  /** How many leaves differ, counting those past the limit. */
  readonly count: number
}

/** Lists the leaves where `actual` differs from `expected`, keeping the first `limit` and counting every one. */
export function jsonDifferences(expected: unknown, actual: unknown, limit = 50): JsonDifferenceList {
  const list = { differences: [] as JsonDifference[], count: 0 }
  walk(expected, actual, '$', list, limit)
  return list
}

function walk(
  expected: unknown,
  actual: unknown,
  path: string,
  list: { differences: JsonDifference[]; count: number },
  limit: number,
): void {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const length = Math.max(expected.length, actual.length)
    for (let index = 0; index < length; index++) walk(expected[index], actual[index], `${path}[${index}]`, list, limit)
    return
  }
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)])
    for (const key of [...keys].sort()) {
      const childPath = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
      walk(expected[key], actual[key], childPath, list, limit)
    }
    return
  }
  if (Object.is(expected, actual)) return
  if (list.count < limit) list.differences.push({ path, expected, actual })
  list.count++
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
