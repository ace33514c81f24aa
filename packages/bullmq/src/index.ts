export type { RedisConnection } from './redis-connection.js'
export { RedisJournal, type RedisJournalOptions } from './redis-journal.js'
export { RedisRateLimiter, type RedisRateLimiterOptions, type RedisRateLimiterStatus } from './redis-rate-limiter.js'
