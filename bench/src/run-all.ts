// `pnpm bench`: every scenario, every subject in a fresh process; writes bench/results/latest.json and BENCHMARKS.md.
//
//   node src/run-all.ts [--size full|smoke] [--scenario id]… [--subject id]… [--case id]…
//                       [--out file.json] [--markdown file.md] [--cpu-prof] [--heap-snapshot]
//   node src/run-all.ts --report-only    re-renders BENCHMARKS.md from latest.json (after editing bench/notes.md)
//
// A filtered or smoke-sized run writes under bench/results/tmp/ unless --out/--markdown say otherwise, so it never
// overwrites the published results.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { measureInTurns } from './harness/fresh-process.ts'
import { describeMachine, loadSnapshot } from './harness/machine.ts'
import type { AnyScenario, BenchSize } from './harness/scenario.ts'
import { summarize } from './harness/statistics.ts'
import { renderMarkdown } from './report/markdown.ts'
import type { BenchResults, CaseResult, ScenarioResult, SubjectResult } from './report/results.ts'
import { checkTargets } from './report/targets.ts'
import { scenarios } from './scenarios/index.ts'

const benchDirectory = fileURLToPath(new URL('..', import.meta.url))
const repositoryDirectory = resolve(benchDirectory, '..')
const temporaryDirectory = join(benchDirectory, 'results', 'tmp')

const measuredPackages = [
  '@tinyllm/core',
  '@tinyllm/flow',
  '@tinyllm/openai',
  '@tinyllm/otel',
  '@opentelemetry/sdk-trace',
  '@tinyllm/bullmq',
  '@langchain/core',
  '@langchain/langgraph',
  '@langchain/openai',
  'ai',
  '@ai-sdk/openai',
  'openai',
  'zod',
  'esbuild',
]

const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: {
    size: { type: 'string', default: 'full' },
    scenario: { type: 'string', multiple: true },
    subject: { type: 'string', multiple: true },
    case: { type: 'string', multiple: true },
    out: { type: 'string' },
    markdown: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
  },
})

if (values.size !== 'full' && values.size !== 'smoke')
  throw new Error(`--size must be full or smoke, not ${values.size}`)
const size: BenchSize = values.size
const filtered = values.scenario !== undefined || values.subject !== undefined || values.case !== undefined
const published = size === 'full' && !filtered
const outPath = resolve(
  values.out ?? (published ? join(benchDirectory, 'results', 'latest.json') : join(temporaryDirectory, `${size}.json`)),
)
const markdownPath = resolve(
  values.markdown ?? (published ? join(repositoryDirectory, 'BENCHMARKS.md') : join(temporaryDirectory, `${size}.md`)),
)
const profileDirectory = join(temporaryDirectory, 'profiles')
const nodeOptions = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`] : []
const artefactDirectory = values['heap-snapshot'] ? profileDirectory : undefined
if (values['cpu-prof'] || values['heap-snapshot']) mkdirSync(profileDirectory, { recursive: true })

const selected = (list: readonly string[] | undefined, id: string): boolean => list === undefined || list.includes(id)

async function runScenario(scenario: AnyScenario): Promise<ScenarioResult> {
  const cases: CaseResult[] = []
  for (const scenarioCase of scenario.cases(size)) {
    if (!selected(values.case, scenarioCase.id)) continue
    const chosen = scenario.subjects.filter(
      (subject) => selected(values.subject, subject.id) && (subject.appliesTo?.(scenarioCase.params) ?? true),
    )
    const outcomes = await measureInTurns(
      chosen.map((subject) => ({
        job: {
          scenarioId: scenario.id,
          subjectId: subject.id,
          caseId: scenarioCase.id,
          size,
          ...(artefactDirectory === undefined ? {} : { artefactDirectory }),
        },
        nodeOptions: [...nodeOptions, ...(subject.nodeOptions ?? [])],
      })),
      { turnTimeoutMs: scenario.timeoutMs(size) },
    )
    const subjects: SubjectResult[] = chosen.map((subject, index) => {
      const outcome = outcomes[index]!
      const base = {
        id: subject.id,
        label: subject.label,
        group: subject.group,
        compareTo: subject.compareTo ?? scenario.reference,
        durationMs: Math.round(outcome.durationMs),
        loadAverage: outcome.loadAverage,
      }
      if (outcome.status !== 'ok') return { ...base, status: outcome.status, message: outcome.message }
      const metrics = Object.fromEntries(
        Object.entries(outcome.measurement.metrics).map(([key, samples]) => [key, summarize(samples)]),
      )
      return {
        ...base,
        status: 'ok',
        peakRssBytes: outcome.peakRssBytes,
        metrics,
        ...(outcome.measurement.details === undefined ? {} : { details: outcome.measurement.details }),
      }
    })
    for (const subject of subjects) report(scenario, scenarioCase.label, subject)
    cases.push({ id: scenarioCase.id, label: scenarioCase.label, subjects: withRatios(scenario, subjects) })
  }
  return {
    id: scenario.id,
    title: scenario.title,
    method: scenario.method,
    metrics: scenario.metrics,
    primaryMetric: scenario.primaryMetric,
    floor: scenario.floor,
    reference: scenario.reference,
    plan: scenario.plan(size),
    cases,
  }
}

/** Adds each subject's ratios of primary-metric medians: to the floor, and to the tinyllm subject it compares to. */
function withRatios(scenario: AnyScenario, subjects: readonly SubjectResult[]): SubjectResult[] {
  const median = (id: string | undefined): number | undefined =>
    subjects.find((subject) => subject.id === id)?.metrics?.[scenario.primaryMetric]?.median
  const floor = median(scenario.floor)
  return subjects.map((subject) => {
    const own = subject.metrics?.[scenario.primaryMetric]?.median
    if (own === undefined) return subject
    const tinyllm = median(subject.compareTo)
    return {
      ...subject,
      ...(floor === undefined ? {} : { ratioToFloor: own / floor }),
      ...(tinyllm === undefined ? {} : { ratioToTinyllm: own / tinyllm }),
    }
  })
}

function report(scenario: AnyScenario, caseLabel: string, subject: SubjectResult): void {
  const where = `${scenario.id} · ${caseLabel} · ${subject.label}`
  const seconds = (subject.durationMs / 1000).toFixed(1)
  if (subject.status !== 'ok') {
    console.log(`${where}: ${subject.status.toUpperCase()} (${seconds} s) ${subject.message?.split('\n')[0] ?? ''}`)
    return
  }
  const summary = subject.metrics?.[scenario.primaryMetric]
  const metric = scenario.metrics.find((candidate) => candidate.key === scenario.primaryMetric)
  console.log(`${where}: ${summary?.median.toPrecision(4)} ${metric?.label} (${seconds} s)`)
}

function commitOf(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repositoryDirectory }).toString().trim()
    const changes = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'bench'], {
      cwd: repositoryDirectory,
    })
    return changes.toString().trim() === '' ? hash : `${hash}-dirty`
  } catch {
    return 'unknown'
  }
}

function versionsOf(names: readonly string[]): Record<string, string> {
  const versions: Record<string, string> = {}
  for (const name of names) {
    try {
      const manifest = JSON.parse(readFileSync(join(benchDirectory, 'node_modules', name, 'package.json'), 'utf8'))
      versions[name] = String(manifest.version)
    } catch {
      versions[name] = 'not installed'
    }
  }
  return versions
}

async function measureEverything(): Promise<BenchResults> {
  const startedAt = new Date().toISOString()
  const loadBefore = loadSnapshot()
  // Read before the run: the commit whose build is measured, not whatever is checked out when the run ends.
  const commit = commitOf()
  console.log(
    `tinyllm bench (${size}) · load average ${loadBefore.loadAverage.join(' / ')} · ${describeMachine().cpuModel}`,
  )
  const scenarioResults: ScenarioResult[] = []
  for (const scenario of scenarios) {
    if (selected(values.scenario, scenario.id)) scenarioResults.push(await runScenario(scenario))
  }
  const results: BenchResults = {
    formatVersion: 1,
    size,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: describeMachine(),
    loadBefore,
    loadAfter: loadSnapshot(),
    commit,
    packageVersions: versionsOf(measuredPackages),
    scenarios: scenarioResults,
    targets: checkTargets(scenarioResults),
  }
  mkdirSync(dirname(outPath), { recursive: true })
  writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`)
  return results
}

/** The saved results, with the current wording of each scenario's method and the targets checked again. */
function readResults(): BenchResults {
  const saved = JSON.parse(readFileSync(outPath, 'utf8')) as BenchResults
  const described = saved.scenarios.map((result) => {
    const scenario = scenarios.find((candidate) => candidate.id === result.id)
    return scenario === undefined ? result : { ...result, title: scenario.title, method: scenario.method }
  })
  return { ...saved, scenarios: described, targets: checkTargets(described) }
}

const results = values['report-only'] ? readResults() : await measureEverything()
const notes = readFileSync(join(benchDirectory, 'notes.md'), 'utf8')
mkdirSync(dirname(markdownPath), { recursive: true })
writeFileSync(markdownPath, renderMarkdown(results, notes))
console.log(`results: ${outPath}\nreport:  ${markdownPath}`)
for (const target of results.targets) console.log(`target ${target.status}: ${target.target} — ${target.measured}`)
