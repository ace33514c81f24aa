export type { RedisConnection } from './redis-connection.js'
export { RedisJournal, type RedisJournalOptions } from './redis-journal.js'
