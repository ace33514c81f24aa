// A worker process of the distributed tests: serves the credit graph, reports each rate-limiter grant to its parent.
import { RedisRateLimiter, serve } from '@tinyllm/bullmq'
import type { RateLimiterLike } from '@tinyllm/llm'
import { Redis } from 'ioredis'
import { creditGraph } from './credit-graph.ts'

export interface WorkerConfig {
  readonly id: string
  readonly redisUrl: string
  readonly queue: string
  readonly baseURL: string
  readonly concurrency: number
  readonly lockDurationMs: number
  readonly stalledIntervalMs: number
  readonly limiter?: { readonly requestsPerMinute: number; readonly tokensPerMinute: number; readonly windowMs: number }
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const effects = new Redis(config.redisUrl, { maxRetriesPerRequest: null })
effects.on('error', () => {})

let rateLimiter: RateLimiterLike | undefined
if (config.limiter !== undefined) {
  const shared = new RedisRateLimiter({ connection: config.redisUrl, name: `${config.queue}-model`, ...config.limiter })
  // Reports every grant (server time, estimated tokens) and every settlement (tokens used) to the parent.
  const numbers = new WeakMap<object, number>()
  let granted = 0
  rateLimiter = {
    acquire: async (request, signal) => {
      const permit = await shared.acquire(request, signal)
      numbers.set(permit, granted)
      process.send?.({ type: 'grant', grant: granted++, at: permit.grantedAt, tokens: permit.tokens })
      return permit
    },
    settle: (permit, tokens) => {
      shared.settle(permit, tokens)
      process.send?.({ type: 'settle', grant: numbers.get(permit), tokens })
    },
    coolDown: (ms) => shared.coolDown(ms),
  }
}

const worker = await serve({
  graphs: [
    creditGraph({ baseURL: config.baseURL, worker: config.id, effects, ...(rateLimiter ? { rateLimiter } : {}) }),
  ],
  connection: config.redisUrl,
  queue: config.queue,
  concurrency: config.concurrency,
  lockDurationMs: config.lockDurationMs,
  stalledIntervalMs: config.stalledIntervalMs,
  maxStalledCount: 3,
})

process.on('message', async (message: { type?: string }) => {
  if (message?.type !== 'close') return
  await worker.close()
  effects.disconnect()
  process.exit(0)
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
