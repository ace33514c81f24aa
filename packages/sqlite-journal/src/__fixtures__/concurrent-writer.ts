// One of several processes writing the same keys to one journal file. It opens the journal, waits for a line on its
// standard input (so that every process starts writing at once), writes its own entry at each key, and prints the
// entries that stood as one JSON line: { key: writer that won }.
import { createInterface } from 'node:readline'
import { SqliteJournal } from '@tinyllm/sqlite-journal'

const [path, writer, keyCount] = process.argv.slice(2) as [string, string, string]
const journal = new SqliteJournal({ path, busyTimeoutMs: 60_000 })
process.stdout.write('ready\n')
const lines = createInterface({ input: process.stdin })
for await (const _line of lines) break
lines.close()

const keys = Array.from({ length: Number(keyCount) }, (_, index) => `batch/${index}/step`)
// Each writer goes through the keys from a different starting point, so that writers meet on every key.
const offset = Number(writer) * 7
const standing: Record<string, unknown> = {}
for (let index = 0; index < keys.length; index++) {
  const key = keys[(index + offset) % keys.length] as string
  const entry = journal.write(key, {
    function: 'step',
    kind: 'function',
    input: 'sha256:x',
    output: { writer },
    at: Date.now(),
  })
  standing[key] = (entry.output as { writer: string }).writer
}
journal.close()
process.stdout.write(`${JSON.stringify(standing)}\n`)
