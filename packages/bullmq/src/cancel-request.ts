import type { Redis } from 'ioredis'
import { callScript } from './redis-connection.js'
import type { QueueNames } from './run-job.js'

/** A cancel request as published on the queue's cancel channel. */
interface CancelRequest {
  readonly runId: string
  readonly reason: string
}

/**
 * The field of a run's job (a hash) that keeps a cancel request made while the job was there: the request lives as
 * long as its job, however long it waits, and goes with it, whoever removes it (`keepResultsSeconds`, or an operator's
 * `remove`, `clean` or `obliterate`), so that the run id submitted again once the job is gone runs.
 */
export const cancelField = 'tinyllmCancel'

/** How long a cancel request for a run that has no job yet is remembered: a day. */
export const cancelMemoryMs = 24 * 60 * 60 * 1000

const requestCancelCommand = 'tinyllmRequestCancel'

/**
 * Keeps and publishes a cancel request, unless the run's job (KEYS[2]) has finished: there is nothing left to cancel
 * then, and a request kept would refuse the next run of its id once the job is removed. A job that is there (waiting,
 * or running) keeps the request in its own hash; for a run whose job is not there yet, it is kept beside the queue for
 * ARGV[2] ms. One script, so the job cannot be added, start or finish between the check and the request.
 */
const requestCancelScript = `
if redis.call('HEXISTS', KEYS[2], 'finishedOn') == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`

/** Defines on `client` the script {@link requestCancel} runs. */
export function defineRequestCancel(client: Redis): void {
  client.defineCommand(requestCancelCommand, { numberOfKeys: 2, lua: requestCancelScript })
}

/**
 * Asks whichever worker holds run `runId` to abort it, and remembers the request so that a worker which starts the run
 * later refuses it instead: in the run's job while there is one, for as long as it is there; else for a day. A run
 * whose job has finished is left as it is: no request is kept for it. `client` must have the script defined (see
 * {@link defineRequestCancel}).
 */
export async function requestCancel(client: Redis, names: QueueNames, runId: string, reason: string): Promise<void> {
  await callScript(client, requestCancelCommand, [
    names.cancelKey(runId),
    names.jobKey(runId),
    reason,
    cancelMemoryMs,
    names.cancelChannel,
    JSON.stringify({ runId, reason } satisfies CancelRequest),
    cancelField,
  ])
}

/** The reason of the cancel request kept for each run, or `null` for a run that has none. */
export async function readCancelRequests(
  client: Redis,
  names: QueueNames,
  runIds: ReadonlyArray<string>,
): Promise<Array<string | null>> {
  const pipeline = client.pipeline()
  for (const runId of runIds) pipeline.hget(names.jobKey(runId), cancelField).get(names.cancelKey(runId))
  const replies = (await pipeline.exec()) ?? []
  return runIds.map((_, index) => {
    for (const [error, reason] of replies.slice(2 * index, 2 * index + 2)) {
      // Redis answered with an error (the key holds another program's value): said, not taken for no request.
      if (error !== null) throw error
      if (typeof reason === 'string') return reason
    }
    return null
  })
}

/** Forgets a cancel request, before a cancelled run is run again. */
export async function forgetCancel(client: Redis, names: QueueNames, runId: string): Promise<void> {
  await client.multi().del(names.cancelKey(runId)).hdel(names.jobKey(runId), cancelField).exec()
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
