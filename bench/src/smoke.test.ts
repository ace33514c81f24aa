// Every scenario at a tiny size, through the real runner in a child process: each subject must produce numbers.
// No timing is asserted; the numbers of a smoke run mean nothing. The limits are generous: on a busy machine the whole
// smoke run takes close to a minute.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BenchResults } from './report/results.ts'
import { scenarios } from './scenarios/index.ts'

const run = promisify(execFile)
const runAll = fileURLToPath(new URL('./run-all.ts', import.meta.url))
const directory = mkdtempSync(join(tmpdir(), 'tinyllm-bench-smoke-'))
let results: BenchResults
let markdown: string

beforeAll(async () => {
  const out = join(directory, 'smoke.json')
  const report = join(directory, 'smoke.md')
  // A bound for a machine loaded ten times over, not a measure: the smoke run takes a few seconds when idle.
  await run(process.execPath, [runAll, '--size', 'smoke', '--out', out, '--markdown', report], { timeout: 600_000 })
  results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults
  markdown = readFileSync(report, 'utf8')
}, 660_000)

afterAll(() => rmSync(directory, { recursive: true, force: true }))

for (const scenario of scenarios) {
  describe(scenario.id, () => {
    for (const subject of scenario.subjects) {
      it(`${subject.id} produces numbers`, () => {
        const measured = results.scenarios.find((candidate) => candidate.id === scenario.id)
        expect(measured?.cases.length).toBeGreaterThan(0)
        for (const scenarioCase of measured?.cases ?? []) {
          const params = scenario.cases('smoke').find((candidate) => candidate.id === scenarioCase.id)?.params
          if (subject.appliesTo !== undefined && !subject.appliesTo(params)) continue
          const result = scenarioCase.subjects.find((candidate) => candidate.id === subject.id)
          expect(result, `${scenarioCase.label}: ${subject.label}`).toBeDefined()
          expect(result?.message ?? '', `${scenarioCase.label}: ${subject.label} ended ${result?.status}`).toBe('')
          expect(result?.status).toBe('ok')
          for (const metric of scenario.metrics) {
            const summary = result?.metrics?.[metric.key]
            expect(summary?.count, metric.key).toBeGreaterThan(0)
            for (const value of summary?.samples ?? [])
              expect(Number.isFinite(value), `${metric.key}: ${value}`).toBe(true)
          }
          expect(result?.metrics?.[scenario.primaryMetric]?.median).toBeGreaterThan(0)
        }
      })
    }
  })
}

it('renders a report with every scenario and the targets', () => {
  for (const scenario of scenarios) expect(markdown).toContain(scenario.title)
  expect(markdown).toContain('## Targets')
  expect(results.targets.length).toBeGreaterThanOrEqual(10)
})
