/** Reads an environment variable without assuming a Node.js `process` (edge runtimes and browsers have none). */
export function readEnvironment(name: string): string | undefined {
  return globalThis.process?.env?.[name]
}
