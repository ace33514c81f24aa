// What one in-flight run holds: the difference between two `.heapsnapshot`s (taken by the memory scenario with
// --heap-snapshot, before and after starting N runs), by constructor, divided by N.
//
//   node src/tools/compare-heap-snapshots.ts <before.heapsnapshot> <after.heapsnapshot> <runs> [top=30]
import { readFileSync } from 'node:fs'

interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly unknown[] }
  }
  readonly nodes: readonly number[]
  readonly strings: readonly string[]
}

/** Count and self size of live objects, by `type:name` (e.g. `object:AbortController`, `closure:onAbort`). */
function tally(file: string): Map<string, { count: number; bytes: number }> {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot
  const fields = heap.snapshot.meta.node_fields
  const types = heap.snapshot.meta.node_types[0] as readonly string[]
  const width = fields.length
  const typeField = fields.indexOf('type')
  const nameField = fields.indexOf('name')
  const sizeField = fields.indexOf('self_size')
  const totals = new Map<string, { count: number; bytes: number }>()
  for (let offset = 0; offset < heap.nodes.length; offset += width) {
    const type = types[heap.nodes[offset + typeField]!] ?? '?'
    const rawName = heap.strings[heap.nodes[offset + nameField]!] ?? '?'
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '(string)' : rawName
    const key = `${type}:${name.slice(0, 80)}`
    const entry = totals.get(key) ?? { count: 0, bytes: 0 }
    entry.count += 1
    entry.bytes += heap.nodes[offset + sizeField]!
    totals.set(key, entry)
  }
  return totals
}

const [beforeFile, afterFile, runsArgument, topArgument = '30'] = process.argv.slice(2)
if (beforeFile === undefined || afterFile === undefined || runsArgument === undefined) {
  throw new Error('usage: compare-heap-snapshots.ts <before> <after> <runs> [top]')
}
const runs = Number(runsArgument)
const before = tally(beforeFile)
const after = tally(afterFile)
const rows: { key: string; count: number; bytes: number }[] = []
for (const [key, entry] of after) {
  const earlier = before.get(key) ?? { count: 0, bytes: 0 }
  rows.push({ key, count: (entry.count - earlier.count) / runs, bytes: (entry.bytes - earlier.bytes) / runs })
}
const total = rows.reduce((sum, row) => sum + row.bytes, 0)
console.log(`self size added per run: ${total.toFixed(0)} bytes\n\n   bytes/run  objects/run  type:constructor`)
for (const row of rows.sort((a, b) => b.bytes - a.bytes).slice(0, Number(topArgument))) {
  console.log(`${row.bytes.toFixed(0).padStart(12)} ${row.count.toFixed(2).padStart(12)}  ${row.key}`)
}
