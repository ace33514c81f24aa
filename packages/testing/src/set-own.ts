/**
 * Defines `key` as an own, enumerable property of `target`. A plain assignment would take a `__proto__` key of a parsed
 * JSON body as the copy's prototype, and the key would be lost.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
