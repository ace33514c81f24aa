// One worker process: serves the credit pipeline from the queue until its parent says stop (or kills it).
import { RedisRateLimiter, serve } from '@tinyllm/bullmq'
import { Redis } from 'ioredis'
import { creditPipeline } from './credit-pipeline.ts'

const { redisUrl, baseURL, concurrency, requestsPerMinute, tokensPerMinute } = JSON.parse(process.argv[2] ?? '{}') as {
  redisUrl: string
  baseURL: string
  concurrency: number
  requestsPerMinute: number
  tokensPerMinute: number
}

// One limiter for every worker: the requests and tokens per minute of the whole fleet, one cool-down after a 429.
const rateLimiter = new RedisRateLimiter({ connection: redisUrl, name: 'openai', requestsPerMinute, tokensPerMinute })
const outbox = new Redis(redisUrl, { maxRetriesPerRequest: null })
const worker = await serve({
  graphs: [creditPipeline({ baseURL, outbox, rateLimiter })],
  connection: redisUrl,
  concurrency,
  // A crashed worker's runs are taken over once its lock expires: short here, so that recovery shows within seconds.
  lockDurationMs: 5_000,
  stalledIntervalMs: 1_000,
})

process.on('message', async (message: { type?: string }) => {
  if (message?.type !== 'stop') return
  await worker.close()
  await rateLimiter.close()
  outbox.disconnect()
  process.exit(0)
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
