/** How many active resources of each type the process holds (`Timeout`, `TCPSocketWrap`, …). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

/** Resource types that grew from `before` to `after`, and by how much. */
export function resourceGrowth(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const growth = new Map<string, number>()
  for (const [type, count] of after) {
    const grown = count - (before.get(type) ?? 0)
    if (grown > 0) growth.set(type, grown)
  }
  return growth
}

/** Timer resources (`Timeout`, `Immediate`) in a growth map. */
export function timersIn(growth: Map<string, number>): number {
  return (growth.get('Timeout') ?? 0) + (growth.get('Immediate') ?? 0)
}

/** Socket resources (TCP, pipes) in a growth map. */
export function socketsIn(growth: Map<string, number>): number {
  let sockets = 0
  for (const [type, count] of growth) if (/TCP|Pipe|Socket/i.test(type)) sockets += count
  return sockets
}

/**
 * Polls `condition` every 20 ms until it holds or `timeoutMs` passes; resolves with whether it held. For things that
 * settle on their own (a keep-alive socket closing), never for timing.
 */
export async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const giveUpAt = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() >= giveUpAt) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}
