/** A schema a local `$ref` points to, and the keys that lead to it from the root. */
export interface LocalReference {
  readonly path: ReadonlyArray<string>
  readonly schema: Record<string, unknown>
}

/**
 * The schema in `root` a local `$ref` points to: `#`, `#/$defs/Name`, `#/definitions/Name` or any JSON pointer in a URI
 * fragment (`~0`, `~1` and percent-escapes decoded), through keys of the schemas' own only; `undefined` for any other
 * `$ref`, one whose escapes are malformed (`50%`), and one that points to no schema.
 */
export function resolveLocalReference(ref: unknown, root: unknown): LocalReference | undefined {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined
  const path: string[] = []
  let target = root
  for (const part of ref.slice(1).split('/').slice(1)) {
    const name = pointerSegment(part)
    if (name === undefined || !isSchema(target) || !Object.hasOwn(target, name)) return undefined
    path.push(name)
    target = target[name]
  }
  return isSchema(target) ? { path, schema: target } : undefined
}

/** A segment of a JSON pointer in a URI fragment, decoded; `undefined` when its escapes are malformed. */
function pointerSegment(part: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(part)
  } catch {
    return undefined
  }
  return decoded.replaceAll('~1', '/').replaceAll('~0', '~')
}

function isSchema(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
