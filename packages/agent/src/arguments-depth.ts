/**
 * The deepest a call's arguments may nest, the model's or a person's edit: far past any tool's, short of what the walks
 * reading them recurse through (the tool's schema, the journal's digest of a step's input, the provider's JSON).
 */
export const maxArgumentsDepth = 1_000

/** Whether `value` (JSON-safe, so without cycles) nests objects and lists more than `limit` levels; walked without recursion. */
export function deeperThan(value: unknown, limit: number): boolean {
  const values: unknown[] = [value]
  const depths: number[] = [1]
  while (values.length > 0) {
    const current = values.pop()
    const depth = depths.pop() as number
    if (typeof current !== 'object' || current === null) continue
    if (depth > limit) return true
    for (const item of Array.isArray(current) ? current : Object.values(current)) {
      values.push(item)
      depths.push(depth + 1)
    }
  }
  return false
}
