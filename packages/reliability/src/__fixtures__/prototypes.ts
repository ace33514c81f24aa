const watched: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
]

/**
 * Every own property of the built-in prototypes (names, symbols, values, getters and setters), and whether
 * `Object.prototype` is still extensible: compare two snapshots to prove that nothing was added, removed or replaced.
 */
export function prototypeSnapshot(): Map<string, unknown> {
  const snapshot = new Map<string, unknown>()
  for (const [name, prototype] of watched) {
    for (const key of Reflect.ownKeys(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, key)
      snapshot.set(`${name}.${String(key)}`, descriptor?.get ?? descriptor?.set ?? descriptor?.value)
    }
  }
  snapshot.set('Object.prototype is extensible', Object.isExtensible(Object.prototype))
  return snapshot
}

/** What changed between two snapshots, as readable lines; empty when nothing did. */
export function prototypeChanges(before: Map<string, unknown>, after: Map<string, unknown>): string[] {
  const changes: string[] = []
  for (const [key, value] of after) {
    if (!before.has(key)) changes.push(`added ${key}`)
    else if (before.get(key) !== value) changes.push(`changed ${key}`)
  }
  for (const key of before.keys()) if (!after.has(key)) changes.push(`removed ${key}`)
  return changes
}
