/**
 * The deepest a call's arguments may nest, the model's or a person's edit: far past any tool's, short of what the walks
 * reading them recurse through (the tool's schema, the journal's digest of a step's input, the provider's JSON).
 */
export const maxArgumentsDepth = 1_000

/** The most parts (values, and a list's holes) {@link deeperThan} looks at by default: a JSON value of 1 MiB holds fewer. */
const maxVisits = 1_000_000

/**
 * Whether `value` nests objects and lists more than `limit` levels along a path, walked without recursion. A cycle, a
 * value that cannot be read and one past `visitLimit` parts (a million) answer false: what they are is for a JSON-safety
 * check to name. Parsed JSON, which has neither cycles nor getters and is only as large as its text, is walked in full
 * (`visitLimit` of `Infinity`): a million empty objects must not hide a deep part after them.
 */
export function deeperThan(value: unknown, limit: number, visitLimit: number = maxVisits): boolean {
  const ancestors = new Set<object>()
  const stack: Array<{ readonly value: object; readonly items: ArrayLike<unknown>; next: number }> = []
  let visits = 0
  try {
    for (let current: unknown = value; ; ) {
      if (typeof current === 'object' && current !== null) {
        if (ancestors.has(current)) return false
        if (stack.length >= limit) return true
        ancestors.add(current)
        stack.push({ value: current, items: Array.isArray(current) ? current : Object.values(current), next: 0 })
      }
      let top = stack.at(-1)
      while (top !== undefined && top.next >= top.items.length) {
        ancestors.delete(top.value)
        stack.pop()
        top = stack.at(-1)
      }
      if (top === undefined) return false
      // Every part counts, a list's holes too: a sparse list as long as 2³²−1 passes the limit, not walked hole by hole.
      if (++visits > visitLimit) return false
      current = top.items[top.next++]
    }
  } catch {
    return false
  }
}
