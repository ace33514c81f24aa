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
