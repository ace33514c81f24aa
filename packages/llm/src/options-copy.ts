/**
 * A plain copy of `options`, each read once: their own keys, and the `known` options they hold otherwise (a getter of
 * a class instance, a prototype's), as reading them directly would. Checking and then using the copy means a getter
 * cannot answer one value to the check and another to the use. Throws what reading throws; callers make that a
 * ConfigurationError naming themselves.
 */
export function copyOptions(options: object, known: Iterable<string>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(options as Record<string, unknown>) }
  for (const key of known) {
    if (!Object.hasOwn(copy, key) && key in options) copy[key] = (options as Record<string, unknown>)[key]
  }
  return copy
}
