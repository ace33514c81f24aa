export { SqliteJournal, type SqliteJournalOptions } from './sqlite-journal.js'
export { CorruptJournalEntryError, SqliteJournalError, type SqliteJournalErrorOptions } from './sqlite-journal-error.js'
