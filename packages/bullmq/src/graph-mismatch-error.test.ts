import { describe, expect, it } from 'vitest'
import { GraphMismatchError } from './graph-mismatch-error.js'
import { RunJobError } from './run-job-error.js'

describe('the errors of a run refused or failed outside the run', () => {
  it('list at most 20 of the graphs a worker serves, and how many more, each name quoted and cut', () => {
    const registered = Array.from({ length: 1_000 }, (_, index) => `graph-${index}-${'x'.repeat(180)}`)
    const error = new GraphMismatchError({
      graph: 'ask',
      expectedFingerprint: 'c1a09e4c5b7d3f21',
      workerFingerprint: undefined,
      runId: 'application-7',
      registered,
    })
    expect(error.message).toMatch(
      /^ask: run application-7 refused: no graph named "ask" is registered on this worker \(it serves: "graph-0-x+…, /,
    )
    expect(error.message).toMatch(/"graph-19-x+…, … 980 more\)$/)
    expect(error.message.length).toBeLessThan(3_000)
    const none = new GraphMismatchError({
      graph: 'ask',
      expectedFingerprint: 'f',
      workerFingerprint: undefined,
      runId: 'r',
      registered: [],
    })
    expect(none.message).toBe('ask: run r refused: no graph named "ask" is registered on this worker (it serves: none)')
  })

  it('quote a graph name or a reason read from a job another program wrote cut short, whole in their fields', () => {
    const graph = 'g'.repeat(1_000_000)
    const mismatch = new GraphMismatchError({
      graph,
      expectedFingerprint: 'f',
      workerFingerprint: 'w',
      runId: 'r',
      registered: [],
    })
    const reason = 'r'.repeat(1_000_000)
    const failed = new RunJobError({ runId: 'r', reason, functionName: 'ask' })
    for (const error of [mismatch, failed]) {
      expect(error.message.length).toBeLessThan(2_000)
      expect(JSON.stringify(error).length).toBeLessThan(4_000)
    }
    expect(mismatch.graph).toBe(graph)
    expect(failed.reason).toBe(reason)
    expect(failed.message).toMatch(/^ask: the job of run r failed: "r{900,}…$/)
    expect(new RunJobError({ runId: 'r', reason: 'its data is null' }).message).toBe(
      'run: the job of run r failed: its data is null',
    )
  })
})
