export {
  BullMQExecutor,
  type BullMQExecutorOptions,
  type MapOptions,
  type MapProgress,
  type RunOutcome,
} from './bullmq-executor.js'
export { CarriedContextError } from './carried-context-error.js'
export type { ContextCarrier } from './context-carrier.js'
export { type DescribedGraph, graphFingerprint } from './graph-fingerprint.js'
export { GraphMismatchError } from './graph-mismatch-error.js'
export type { RedisConnection } from './redis-connection.js'
export { RedisJournal, type RedisJournalOptions } from './redis-journal.js'
export { RedisRateLimiter, type RedisRateLimiterOptions, type RedisRateLimiterStatus } from './redis-rate-limiter.js'
export type { QueueLocation, RunJobData, RunJobResult } from './run-job.js'
export { RunJobError } from './run-job-error.js'
export { type GraphWorker, type ServedGraph, type ServeOptions, serve } from './serve.js'
