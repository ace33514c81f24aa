// A worker process of the distributed scenarios: serves the bench graph from one queue until told to stop.
import { RedisRateLimiter, serve } from '@tinyllm/bullmq'
import { benchGraph, benchLimits } from './distributed-graph.ts'

const config = JSON.parse(process.argv[2] ?? '{}') as {
  readonly redisUrl: string
  readonly queue: string
  readonly baseURL: string
  readonly concurrency: number
  readonly limiter: boolean
}
const rateLimiter = config.limiter
  ? new RedisRateLimiter({ connection: config.redisUrl, name: config.queue, ...benchLimits })
  : undefined
const worker = await serve({
  graphs: [benchGraph(config.baseURL, rateLimiter)],
  connection: config.redisUrl,
  queue: config.queue,
  concurrency: config.concurrency,
})
process.on('message', async () => {
  await worker.close()
  await rateLimiter?.close()
  process.exit(0)
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
