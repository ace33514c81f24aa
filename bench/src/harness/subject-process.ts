// The entry of every measuring child process: one subject of one case of one scenario, then exit.
import { scenarios } from '../scenarios/index.ts'
import type { SubjectJob, SubjectMessage } from './subject-job.ts'
import { listenForTurns, waitForTurn } from './turns.ts'

const job = JSON.parse(process.argv[2] ?? '{}') as SubjectJob

function send(message: SubjectMessage): void {
  if (process.send === undefined) {
    console.log(JSON.stringify(message, null, 2))
    process.exit(message.type === 'measurement' ? 0 : 1)
  }
  // Subjects may leave keep-alive sockets or timers behind; the process has done its one job.
  process.send(message, () => process.exit(0))
}

listenForTurns()
try {
  // The first turn: set-up, calibration and warm-up, with no other subject running.
  await waitForTurn()
  const scenario = scenarios.find((candidate) => candidate.id === job.scenarioId)
  if (scenario === undefined) throw new Error(`unknown scenario ${job.scenarioId}`)
  const subject = scenario.subjects.find((candidate) => candidate.id === job.subjectId)
  if (subject === undefined) throw new Error(`${scenario.id}: unknown subject ${job.subjectId}`)
  const scenarioCase = scenario.cases(job.size).find((candidate) => candidate.id === job.caseId)
  if (scenarioCase === undefined) throw new Error(`${scenario.id}: unknown case ${job.caseId}`)
  if (job.artefactDirectory !== undefined) process.env.TINYLLM_BENCH_ARTEFACTS = job.artefactDirectory
  const measurement = await subject.measure(scenarioCase.params, scenario.plan(job.size))
  send({ type: 'measurement', measurement, peakRssBytes: process.resourceUsage().maxRSS * 1024 })
} catch (error) {
  send({ type: 'error', message: (error as Error).stack ?? String(error) })
}
