// Opens a journal (on the file given, else in memory) and prints what happened as one JSON line: run with
// --no-experimental-sqlite, it shows what a Node.js without node:sqlite says.
import { SqliteJournal } from '@tinyllm/sqlite-journal'

try {
  new SqliteJournal(process.argv[2] ?? ':memory:').close()
  process.stdout.write(`${JSON.stringify({ opened: true })}\n`)
} catch (error) {
  process.stdout.write(`${JSON.stringify({ opened: false, error })}\n`)
}
