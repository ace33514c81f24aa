import type { Redis } from 'ioredis'
import { cancelMemoryMs, type QueueNames } from './run-job.js'

/** A cancel request as published on the queue's cancel channel. */
interface CancelRequest {
  readonly runId: string
  readonly reason: string
}

/**
 * Asks whichever worker holds run `runId` to abort it, and remembers the request for a day so that a worker which
 * starts the run later refuses it instead.
 */
export async function requestCancel(client: Redis, names: QueueNames, runId: string, reason: string): Promise<void> {
  await client.set(names.cancelKey(runId), reason, 'PX', cancelMemoryMs)
  await client.publish(names.cancelChannel, JSON.stringify({ runId, reason } satisfies CancelRequest))
}

/** Forgets a cancel request, before a cancelled run is run again. */
export async function forgetCancel(client: Redis, names: QueueNames, runId: string): Promise<void> {
  await client.del(names.cancelKey(runId))
}

/** A published cancel request, or `undefined` for a message that is not one. */
export function parseCancelRequest(message: string): CancelRequest | undefined {
  try {
    const request = JSON.parse(message) as CancelRequest
    return typeof request?.runId === 'string' ? { runId: request.runId, reason: String(request.reason) } : undefined
  } catch {
    return undefined
  }
}
