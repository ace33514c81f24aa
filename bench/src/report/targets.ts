import type { ScenarioResult, TargetResult } from './results.ts'

/** The median of `metric` for `subjectId` in case `caseId` of scenario `scenarioId`, if it was measured. */
export function medianOf(
  scenarios: readonly ScenarioResult[],
  scenarioId: string,
  caseId: string,
  subjectId: string,
  metric: string,
): number | undefined {
  const scenario = scenarios.find((candidate) => candidate.id === scenarioId)
  const scenarioCase = scenario?.cases.find((candidate) => candidate.id === caseId)
  const subject = scenarioCase?.subjects.find((candidate) => candidate.id === subjectId)
  return subject?.metrics?.[metric]?.median
}

const notMeasured = (target: string, why: string): TargetResult => ({ target, measured: why, status: 'not measured' })

const format = (value: number, digits: number): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** Checks this run against the four targets; a target whose inputs were not measured says so. */
export function checkTargets(scenarios: readonly ScenarioResult[]): TargetResult[] {
  const targets: TargetResult[] = []
  const steps = (caseId: string, subject: string): number | undefined =>
    medianOf(scenarios, 'step-overhead', caseId, subject, 'usPerStep')

  {
    const target = '≤ 1 µs per step without schemas (Chain of 1,000 steps)'
    const tinyllm = steps('1000-steps', 'tinyllm')
    const short = steps('10-steps', 'tinyllm')
    if (tinyllm === undefined) targets.push(notMeasured(target, 'tinyllm Chain was not measured'))
    else {
      const ofTen = short === undefined ? '' : `; ${format(short, 3)} µs at 10 steps`
      targets.push({
        target,
        measured: `${format(tinyllm, 3)} µs per step at 1,000 steps${ofTen}`,
        status: tinyllm <= 1 ? 'met' : 'missed',
      })
    }
  }

  for (const [peer, name] of [
    ['langchain', 'LangChain.js'],
    ['langgraph', 'LangGraph.js'],
  ] as const) {
    const target = `≥ 20× less per-step overhead than ${name} (1,000 steps, overhead = median − floor)`
    const floor = steps('1000-steps', 'plain-loop')
    const tinyllm = steps('1000-steps', 'tinyllm')
    const other = steps('1000-steps', peer)
    if (floor === undefined || tinyllm === undefined || other === undefined) {
      targets.push(notMeasured(target, 'the floor, tinyllm or the peer was not measured'))
      continue
    }
    const ratio = (other - floor) / Math.max(tinyllm - floor, 1e-9)
    const ofTen = overheadRatioAt('10-steps', peer, steps)
    targets.push({
      target,
      measured: `${format(ratio, 0)}× (${format(other - floor, 3)} vs ${format(tinyllm - floor, 3)} µs per step)${ofTen}`,
      status: ratio >= 20 ? 'met' : 'missed',
    })
  }

  {
    const target = 'HTTP fan-out within 5% of the raw SDK wall time (10,000 calls, concurrency 256)'
    const raw = medianOf(scenarios, 'http-fan-out', '10000-calls', 'openai-sdk', 'wallMs')
    const tinyllm = medianOf(scenarios, 'http-fan-out', '10000-calls', 'tinyllm', 'wallMs')
    if (raw === undefined || tinyllm === undefined)
      targets.push(notMeasured(target, 'tinyllm or the raw SDK was not measured'))
    else {
      const difference = (tinyllm / raw - 1) * 100
      targets.push({
        target,
        measured: `${format(tinyllm, 0)} ms vs ${format(raw, 0)} ms (${difference >= 0 ? '+' : ''}${format(difference, 1)}%)`,
        status: tinyllm <= raw * 1.05 ? 'met' : 'missed',
      })
    }
  }

  {
    const target = '≤ 2 KB framework memory per in-flight run (tinyllm − raw SDK)'
    const raw = medianOf(scenarios, 'memory-in-flight', '10000-runs', 'openai-sdk', 'bytesPerRun')
    const tinyllm = medianOf(scenarios, 'memory-in-flight', '10000-runs', 'tinyllm', 'bytesPerRun')
    if (raw === undefined || tinyllm === undefined)
      targets.push(notMeasured(target, 'tinyllm or the raw SDK was not measured'))
    else {
      const framework = tinyllm - raw
      targets.push({
        target,
        measured: `${format(framework, 0)} bytes (${format(tinyllm, 0)} vs ${format(raw, 0)} bytes per run)`,
        status: framework <= 2048 ? 'met' : 'missed',
      })
    }
  }
  return targets
}

function overheadRatioAt(
  caseId: string,
  peer: string,
  steps: (caseId: string, subject: string) => number | undefined,
): string {
  const floor = steps(caseId, 'plain-loop')
  const tinyllm = steps(caseId, 'tinyllm')
  const other = steps(caseId, peer)
  if (floor === undefined || tinyllm === undefined || other === undefined) return ''
  return `; ${format((other - floor) / Math.max(tinyllm - floor, 1e-9), 0)}× at 10 steps`
}
