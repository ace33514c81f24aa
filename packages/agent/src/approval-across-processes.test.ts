// A run paused for approval in this process resumes in another one: both share a SQLite journal, and the second
// process invokes the agent again with the same run id and input, plus the decision. What finished before the pause
// (the model's first turn, the lookup) replays from the journal; only what comes after runs.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { SqliteJournal } from '@tinyllm/sqlite-journal'
import { expect, it } from 'vitest'
import { loanAgent, question, runId } from './__fixtures__/loan-agent.js'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('./__fixtures__/loan-agent.ts', import.meta.url))

it('pauses in one process and resumes in another through a shared SQLite journal', { timeout: 120_000 }, async () => {
  const server = await startOpenAICompatibleServer({
    replies: (request) =>
      request.messages.some((message) => message.role === 'tool')
        ? 'Approved; the applicant has been emailed.'
        : {
            toolCalls: [
              { id: 'call_lookup', name: 'lookup_applicant', arguments: { applicantId: 'A-17' } },
              {
                id: 'call_email',
                name: 'send_decision_email',
                arguments: { applicantId: 'A-17', decision: 'approve' },
              },
            ],
          },
  })
  const folder = mkdtempSync(join(tmpdir(), 'agent-approval-'))
  try {
    const file = join(folder, 'runs.db')
    const journal = new SqliteJournal(file)
    const paused = await loanAgent(server.baseURL, folder).invoke(question, { runId, journal })
    journal.close()
    expect(paused).toMatchObject({
      status: 'awaiting-approval',
      approvals: [{ toolCallId: 'call_email', toolName: 'send_decision_email' }],
    })
    expect(readFileSync(join(folder, 'lookups.log'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1)

    const { stdout } = await run(process.execPath, [fixture, file, server.baseURL, folder, 'call_email'], {
      encoding: 'utf8',
      timeout: 100_000,
    })
    const resumed = JSON.parse(stdout) as {
      status: string
      output: unknown
      steps: Array<{ function: string; replayed: boolean }>
      pid: number
    }
    expect(resumed.status).toBe('complete')
    expect(resumed.output).toMatchObject({ status: 'complete', output: 'Approved; the applicant has been emailed.' })
    expect(resumed.steps).toEqual([
      { function: 'model', replayed: true },
      { function: 'approval-request', replayed: true },
      { function: 'approval', replayed: false },
      { function: 'lookup_applicant', replayed: true },
      { function: 'send_decision_email', replayed: false },
      { function: 'model', replayed: false },
    ])
    // The lookup ran once, here; the email once, in the other process; the model answered two turns in all.
    expect(readFileSync(join(folder, 'lookups.log'), 'utf8').trim().split('\n')).toEqual([`${process.pid} A-17`])
    expect(readFileSync(join(folder, 'emails.log'), 'utf8').trim().split('\n')).toEqual([`${resumed.pid} A-17 approve`])
    expect(server.chatRequests).toHaveLength(2)
  } finally {
    await server.close()
    rmSync(folder, { recursive: true, force: true })
  }
})
