import { describe, expect, it } from 'vitest'
import type { ScenarioResult, SubjectResult } from './results.ts'
import { checkTargets } from './targets.ts'

const memoryTarget = (targets: ReturnType<typeof checkTargets>) =>
  targets.find((target) => target.target.startsWith('≤ 2 KB framework memory per in-flight call'))

function memoryScenario(bytesBySubject: Record<string, number | undefined>): ScenarioResult {
  const subjects: SubjectResult[] = Object.entries(bytesBySubject).map(([id, bytes]) => ({
    id,
    label: id,
    group: id === 'openai-sdk' ? 'floor' : 'tinyllm',
    compareTo: undefined,
    durationMs: 1,
    ...(bytes === undefined
      ? { status: 'failed' as const, message: 'only 1024 of 10000 calls reached the server' }
      : { status: 'ok' as const, metrics: { bytesPerRun: { median: bytes } as never } }),
  }))
  return {
    id: 'memory-in-flight',
    title: 'Memory per in-flight run',
    method: '',
    metrics: [],
    primaryMetric: 'bytesPerRun',
    floor: 'openai-sdk',
    reference: 'tinyllm',
    plan: { warmup: 0, repetitions: 3 },
    cases: [{ id: '10000-runs', label: '10,000 runs in flight', subjects }],
  }
}

describe('the memory target', () => {
  it('is met only when every mode it names was measured within 2 KB of the raw SDK', () => {
    const all = memoryScenario({
      'openai-sdk': 30_000,
      tinyllm: 18_000,
      'tinyllm-trace': 19_000,
      'tinyllm-parallel': 20_000,
      'tinyllm-parallel-settle-all': 20_000,
    })
    expect(memoryTarget(checkTargets([all]))?.status).toBe('met')
  })

  it('is not judged when a mode failed to measure, rather than met on the modes that remain', () => {
    const partial = memoryScenario({
      'openai-sdk': 30_000,
      tinyllm: 18_000,
      'tinyllm-trace': 19_000,
      'tinyllm-parallel': undefined,
      'tinyllm-parallel-settle-all': undefined,
    })
    const target = memoryTarget(checkTargets([partial]))
    expect(target?.status).toBe('not measured')
    expect(target?.measured).toMatch(/^only invoke -12,000 B, trace \+ listener -11,000 B/)
  })

  it('is missed when one mode holds more than 2 KB over the raw SDK', () => {
    const over = memoryScenario({
      'openai-sdk': 30_000,
      tinyllm: 18_000,
      'tinyllm-trace': 19_000,
      'tinyllm-parallel': 32_100,
      'tinyllm-parallel-settle-all': 20_000,
    })
    expect(memoryTarget(checkTargets([over]))?.status).toBe('missed')
  })
})

function stepScenario(usPerStep: Record<string, Record<string, number>>): ScenarioResult {
  return {
    id: 'step-overhead',
    title: 'Step overhead',
    method: '',
    metrics: [],
    primaryMetric: 'usPerStep',
    floor: 'plain-loop',
    reference: 'tinyllm',
    plan: { warmup: 0, repetitions: 3 },
    cases: Object.entries(usPerStep).map(([caseId, bySubject]) => ({
      id: caseId,
      label: caseId,
      subjects: Object.entries(bySubject).map(([id, median]) => ({
        id,
        label: id,
        group: id.startsWith('plain-loop') ? ('floor' as const) : ('tinyllm' as const),
        compareTo: undefined,
        durationMs: 1,
        status: 'ok' as const,
        metrics: { usPerStep: { median } as never },
      })),
    })),
  }
}

describe('the records target', () => {
  const recordsTarget = (targets: ReturnType<typeof checkTargets>) =>
    targets.find((target) => target.target.startsWith('records linear in graph size'))

  it('is judged on tinyllm alone and shows beside it how a plain loop keeping the same records grows', () => {
    const scenario = stepScenario({
      '1000-steps': { 'tinyllm-defaults': 4, 'tinyllm-trace': 2, 'plain-loop-records': 1 },
      '10000-steps': { 'tinyllm-defaults': 6, 'tinyllm-trace': 2.4, 'plain-loop-records': 1.3 },
    })
    const target = recordsTarget(checkTargets([scenario]))
    expect(target?.status).toBe('missed')
    expect(target?.measured).toBe(
      '1.50× (6.000 vs 4.000 µs); trace alone 1.20×; a plain loop keeping the same records 1.30×',
    )
  })

  it('is met within 1.25× and leaves out the figures of subjects that were not measured', () => {
    const scenario = stepScenario({
      '1000-steps': { 'tinyllm-defaults': 4 },
      '10000-steps': { 'tinyllm-defaults': 4.8 },
    })
    const target = recordsTarget(checkTargets([scenario]))
    expect(target).toMatchObject({ status: 'met', measured: '1.20× (4.800 vs 4.000 µs)' })
  })
})
