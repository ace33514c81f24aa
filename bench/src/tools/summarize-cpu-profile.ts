// Prints where a `.cpuprofile` (from `--cpu-prof`) spent its time: self time per function, and time per package.
//
//   node src/tools/summarize-cpu-profile.ts <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const [file, topArgument = '25'] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: summarize-cpu-profile.ts <file.cpuprofile> [top]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
const top = Number(topArgument)

const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const selfMicros = new Map<number, number>()
let totalMicros = 0
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta)
  totalMicros += delta
})

/** `@tinyllm/core`, `@langchain/core`, `node:internal`, … from a script URL. */
function packageOf(url: string): string {
  if (url === '') return '(native / V8)'
  if (url.startsWith('node:')) return 'node (built-in)'
  const scoped = /node_modules\/(@[^/]+\/[^/]+|[^/@][^/]*)\//.exec(url.replaceAll('\\', '/'))
  const last = scoped?.[1]
  if (last !== undefined) return last
  const workspace = /\/(packages|bench)\/([^/]+)\//.exec(url)
  if (workspace !== null) return workspace[1] === 'bench' ? 'bench' : `@tinyllm/${workspace[2]}`
  return url
}

const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
for (const [id, micros] of selfMicros) {
  const frame = nodes.get(id)?.callFrame
  if (frame === undefined) continue
  const where =
    frame.url === ''
      ? ''
      : ` ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(packages|bench)\//, '$1/')}:${frame.lineNumber + 1}`
  const key = `${frame.functionName || '(anonymous)'}${where}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
  const name = packageOf(frame.url)
  byPackage.set(name, (byPackage.get(name) ?? 0) + micros)
}

const share = (micros: number): string => `${((micros / totalMicros) * 100).toFixed(1).padStart(5)}%`
console.log(`total ${(totalMicros / 1000).toFixed(0)} ms sampled\n\nself time by package:`)
for (const [name, micros] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`  ${share(micros)}  ${name}`)
}
console.log(`\nself time by function (top ${top}):`)
for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${share(micros)}  ${name}`)
}
