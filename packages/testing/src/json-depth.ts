/**
 * How deep a cassette follows a JSON body: far deeper than any API request or response, and shallow enough for the
 * walks that redact, sort and compare bodies to stay well inside the call stack.
 */
export const maxJsonDepth = 1000

/** Whether `value` nests objects and arrays more than `limit` levels deep, found without recursion. */
export function nestsDeeperThan(value: unknown, limit: number = maxJsonDepth): boolean {
  let level: unknown[] = [value]
  for (let depth = 0; level.length > 0; depth++) {
    const next: unknown[] = []
    for (const item of level) {
      if (typeof item !== 'object' || item === null) continue
      if (depth >= limit) return true
      for (const child of Object.values(item)) next.push(child)
    }
    level = next
  }
  return false
}
