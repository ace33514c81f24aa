/** Whether `candidate` is an object on which every one of `names` is a function: how foreign loggers are recognised. */
export function hasMethods(candidate: unknown, names: ReadonlyArray<string>): boolean {
  if (typeof candidate !== 'object' || candidate === null) return false
  const methods = candidate as Record<string, unknown>
  for (const name of names) if (typeof methods[name] !== 'function') return false
  return true
}
