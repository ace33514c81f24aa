// The agent of the cross-process approval test. Imported by the test (first run, which pauses), and run as a child
// process to resume: `node loan-agent.ts <journal file> <OpenAI base URL> <log folder>` prints the outcome as JSON.
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, defineTool } from '@tinyllm/agent'
import { OpenAIChat } from '@tinyllm/openai'
import { SqliteJournal } from '@tinyllm/sqlite-journal'
import { z } from 'zod'

export const runId = 'loan-review/A-17'
export const question = 'Review applicant A-17 and email them the decision.'

/** The agent; each tool run appends a line to a log in `logs`, so the test sees which process ran what. */
export function loanAgent(baseURL: string, logs: string): Agent {
  const lookup = defineTool({
    name: 'lookup_applicant',
    description: "An applicant's monthly income and debt",
    input: z.object({ applicantId: z.string() }),
    run: ({ applicantId }) => {
      appendFileSync(join(logs, 'lookups.log'), `${process.pid} ${applicantId}\n`)
      return { monthlyIncome: 8000, monthlyDebt: 2000 }
    },
  })
  const send = defineTool({
    name: 'send_decision_email',
    description: 'Emails the applicant the decision',
    input: z.object({ applicantId: z.string(), decision: z.enum(['approve', 'decline']) }),
    needsApproval: true,
    run: ({ applicantId, decision }) => {
      appendFileSync(join(logs, 'emails.log'), `${process.pid} ${applicantId} ${decision}\n`)
      return { sent: true }
    },
  })
  const model = new OpenAIChat({ name: 'model', model: 'gpt-4o-mini', baseURL, apiKey: 'sk-test', output: 'result' })
  return new Agent({ name: 'loan-review', model, tools: [lookup, send] })
}

if (process.argv[1] === import.meta.filename) {
  const [file, baseURL, logs, toolCallId] = process.argv.slice(2) as [string, string, string, string]
  const journal = new SqliteJournal(file)
  const record = await loanAgent(baseURL, logs).trace(
    { messages: [{ role: 'user', content: question }], approvals: { [toolCallId]: { approved: true } } },
    { runId, journal },
  )
  journal.close()
  const steps = record.children.map((child) => ({
    function: child.function,
    replayed: child.annotations.replayed === true,
  }))
  console.log(
    JSON.stringify({ status: record.status, output: record.output, error: record.error, steps, pid: process.pid }),
  )
}
