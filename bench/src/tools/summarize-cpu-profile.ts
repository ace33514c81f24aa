// Prints where a `.cpuprofile` (from `--cpu-prof`) spent its time: self time by package and by function, and the
// inclusive time of tinyllm's own functions. With --baseline, also what the profile spent beyond the baseline, by
// function (e.g. tinyllm's fan-out against the raw SDK's: the same HTTP work, so the difference is the framework's).
//
//   node src/tools/summarize-cpu-profile.ts <file.cpuprofile> [--baseline other.cpuprofile] [--top 25]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

interface Summary {
  readonly totalMs: number
  readonly selfByFunction: Map<string, number>
  readonly selfByPackage: Map<string, number>
  readonly inclusiveByFunction: Map<string, number>
}

/** `@tinyllm/core`, `openai`, `node (built-in)`, … from a script URL. */
function packageOf(url: string): string {
  if (url === '') return '(native / V8)'
  if (url.startsWith('node:')) return 'node (built-in)'
  const workspace = /\/(packages|bench)\/([^/]+)\//.exec(url)
  if (workspace !== null && !url.includes('node_modules')) {
    return workspace[1] === 'bench' ? 'bench' : `@tinyllm/${workspace[2]}`
  }
  const modules = [...url.matchAll(/node_modules\/(@[^/]+\/[^/]+|[^/@.][^/]*)\//g)]
  return modules.at(-1)?.[1] ?? url
}

function functionKey(frame: CallFrame): string {
  const file =
    frame.url === ''
      ? ''
      : frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(packages|bench)\//, '$1/')
  return `${frame.functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${frame.lineNumber + 1}`}`
}

function summarize(file: string): Summary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const selfByFunction = new Map<string, number>()
  const selfByPackage = new Map<string, number>()
  const inclusiveByFunction = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, ms: number): void => {
    map.set(key, (map.get(key) ?? 0) + ms)
  }
  let totalMs = 0
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000
    totalMs += ms
    const frame = nodes.get(id)?.callFrame
    if (frame === undefined) return
    add(selfByFunction, functionKey(frame), ms)
    add(selfByPackage, packageOf(frame.url), ms)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const ancestor = nodes.get(at)?.callFrame
      if (ancestor === undefined || !packageOf(ancestor.url).startsWith('@tinyllm/')) continue
      const key = functionKey(ancestor)
      if (seen.has(key)) continue
      seen.add(key)
      add(inclusiveByFunction, key, ms)
    }
  })
  return { totalMs, selfByFunction, selfByPackage, inclusiveByFunction }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { baseline: { type: 'string' }, top: { type: 'string', default: '25' } },
})
const file = positionals[0]
if (file === undefined)
  throw new Error('usage: summarize-cpu-profile.ts <file.cpuprofile> [--baseline other] [--top n]')
const top = Number(values.top)
const profile = summarize(file)
const share = (ms: number): string => `${((ms / profile.totalMs) * 100).toFixed(1).padStart(5)}%`
const sorted = (map: Map<string, number>): [string, number][] => [...map].sort((a, b) => b[1] - a[1])

console.log(`${file}: ${profile.totalMs.toFixed(0)} ms sampled\n\nself time by package:`)
for (const [name, ms] of sorted(profile.selfByPackage).slice(0, 12)) console.log(`  ${share(ms)}  ${name}`)
console.log(`\nself time by function (top ${top}):`)
for (const [name, ms] of sorted(profile.selfByFunction).slice(0, top)) console.log(`  ${share(ms)}  ${name}`)
console.log(`\ninclusive time of tinyllm functions (top ${top}):`)
for (const [name, ms] of sorted(profile.inclusiveByFunction).slice(0, top)) console.log(`  ${share(ms)}  ${name}`)

if (values.baseline !== undefined) {
  const baseline = summarize(values.baseline)
  console.log(
    `\nbeyond the baseline ${values.baseline}: ${(profile.totalMs - baseline.totalMs).toFixed(0)} ms ` +
      `(${profile.totalMs.toFixed(0)} vs ${baseline.totalMs.toFixed(0)} ms sampled)`,
  )
  const differences = new Map<string, number>()
  for (const [name, ms] of profile.selfByFunction) differences.set(name, ms - (baseline.selfByFunction.get(name) ?? 0))
  for (const [name, ms] of baseline.selfByFunction) if (!profile.selfByFunction.has(name)) differences.set(name, -ms)
  console.log(`self time added, by function (top ${top}, ms):`)
  for (const [name, ms] of sorted(differences).slice(0, top)) console.log(`  ${ms.toFixed(0).padStart(7)}  ${name}`)
  console.log('self time added, by package (ms):')
  const packages = new Map<string, number>()
  for (const [name, ms] of profile.selfByPackage) packages.set(name, ms - (baseline.selfByPackage.get(name) ?? 0))
  for (const [name, ms] of sorted(packages).slice(0, 10)) console.log(`  ${ms.toFixed(0).padStart(7)}  ${name}`)
}
