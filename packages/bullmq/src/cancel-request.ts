import type { Redis } from 'ioredis'
import { callScript } from './redis-connection.js'
import { cancelMemoryMs, type QueueNames } from './run-job.js'

/** A cancel request as published on the queue's cancel channel. */
interface CancelRequest {
  readonly runId: string
  readonly reason: string
}

const requestCancelCommand = 'tinyllmRequestCancel'

/**
 * Keeps and publishes a cancel request, unless the run's job (KEYS[2]) has finished: there is nothing left to cancel
 * then, and a request kept would refuse the next run of its id once the job is removed. A job that waits for a worker
 * (queued, or back in the queue after its worker was lost: no worker holds its lock, KEYS[3]) has its request kept
 * without expiry, however long it waits: the worker that takes it refuses it, and the request is forgotten once the
 * job has finished. Any other is kept for ARGV[2] ms. One script, so the job cannot start or finish between the check
 * and the request.
 */
const requestCancelScript = `
if redis.call('HEXISTS', KEYS[2], 'finishedOn') == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`

/** Defines on `client` the script {@link requestCancel} runs. */
export function defineRequestCancel(client: Redis): void {
  client.defineCommand(requestCancelCommand, { numberOfKeys: 3, lua: requestCancelScript })
}

/**
 * Asks whichever worker holds run `runId` to abort it, and remembers the request so that a worker which starts the run
 * later refuses it instead: while its job waits for a worker, for as long as it waits; else for a day. A run whose job (at `jobKey`) has finished is left as it is: no request is
 * kept for it. `client` must have the script defined (see {@link defineRequestCancel}).
 */
export async function requestCancel(
  client: Redis,
  names: QueueNames,
  runId: string,
  reason: string,
  jobKey: string,
): Promise<void> {
  await callScript(client, requestCancelCommand, [
    names.cancelKey(runId),
    jobKey,
    // BullMQ's lock of the job, held by the worker running it.
    `${jobKey}:lock`,
    reason,
    cancelMemoryMs,
    names.cancelChannel,
    JSON.stringify({ runId, reason } satisfies CancelRequest),
  ])
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
