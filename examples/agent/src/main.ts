// The loan-review agent. Run it from the repository root with `pnpm agent`.
//
// The agent looks applicant A-17 up and computes the debt ratio through tools, then wants to email the decision: that
// tool needs a person's approval, so the run pauses, asks you, and resumes with your answer. It prints the agent's
// progress as it streams and the run tree of both runs. Without an API key it runs offline against a loopback server
// that replays a recorded cassette.
import { type AgentEvent, type AgentOutcome, type ApprovalDecision, resumeInput } from '@tinyllm/agent'
import { AnthropicChat } from '@tinyllm/anthropic'
import { formatRunTree, type RunRecord } from '@tinyllm/core'
import type { LLMCall } from '@tinyllm/llm'
import { OpenAIChat } from '@tinyllm/openai'
import type { z } from 'zod'
import { askInTerminal } from './approval-prompt.ts'
import { readOptions } from './command-line.ts'
import { connect } from './connection.ts'
import { loanReviewAgent, outbox, type verdict } from './loan-review.ts'

const options = readOptions()
const connection = await connect(options)

// Swapping the provider is changing this one constructor. The agent reads each turn's whole result (`output: 'result'`).
const model: LLMCall<'result', never> =
  options.provider === 'anthropic'
    ? new AnthropicChat({ name: 'model', model: options.model, output: 'result', ...connection.client })
    : new OpenAIChat({ name: 'model', model: options.model, temperature: 0, output: 'result', ...connection.client })
const agent = loanReviewAgent(model)
type Outcome = AgentOutcome<z.infer<typeof verdict>>

async function main(): Promise<number> {
  console.log(`tinyllm loan-review agent: ${options.provider}, model ${options.model}`)
  for (const line of connection.notice) console.log(line)
  console.log('\n── Review loan application A-17 ──')
  // One run id for the run and its continuation: step ids, and the email's idempotency key, stay the same across the pause.
  const runId = 'loan-review-A-17'
  let record = (await agent.trace('Review loan application A-17.', { runId, stream: printEvent })) as RunRecord<Outcome>
  while (record.status === 'complete' && record.output?.status === 'awaiting-approval') {
    const paused = record.output
    console.log(`\nRun tree (paused):\n${tree(record)}`)
    const decisions: Record<string, ApprovalDecision> = {}
    for (const pending of paused.approvals) {
      const decision = await askApproval(pending.toolName, pending.arguments)
      if (decision === undefined) {
        console.log('\nStopped at the approval: the run was not resumed.')
        await connection.close(false)
        return 130
      }
      decisions[pending.toolCallId] = decision
    }
    console.log('\n── Resumed ──')
    record = (await agent.trace(resumeInput(paused, decisions), { runId, stream: printEvent })) as RunRecord<Outcome>
  }
  const outcome = record.output
  if (record.status === 'complete' && outcome?.status === 'complete') {
    const { decision, debtToIncome, emailed, reason } = outcome.output
    console.log(`\nDecision: ${decision} (debt-to-income ${debtToIncome}), emailed: ${emailed ? 'yes' : 'no'}`)
    console.log(`Reason: ${reason}`)
  } else console.log(`\nFailed: ${record.error?.name}: ${record.error?.message.split('\n')[0]}`)
  for (const email of outbox) console.log(`Outbox: ${email}`)
  console.log(`\nRun tree:\n${tree(record)}`)
  await connection.close(record.status === 'complete')
  if (connection.cassetteMisses() > 0) {
    console.log(
      `\nThe cassette had no recording for ${connection.cassetteMisses()} request(s): the prompt, the tools or the ` +
        'answers changed since it was recorded. Re-record it with --record (needs the API key), or the synthetic one ' +
        'with `pnpm --filter @tinyllm/example-agent record:synthetic`.',
    )
  }
  return record.status === 'complete' ? 0 : 1
}

/** The agent's progress, as a UI would show it. */
function printEvent(part: unknown): void {
  const event = part as AgentEvent
  switch (event.type) {
    case 'tool-call-started':
      console.log(`→ ${event.toolName} ${JSON.stringify(event.arguments)}`)
      break
    case 'tool-call-finished':
      if (event.status === 'ok') console.log(`← ${event.toolName} ${JSON.stringify(event.result)}`)
      else console.log(`✖ ${event.toolName} ${event.status}: ${event.error}`)
      break
    case 'approval-requested':
      for (const pending of event.approvals) console.log(`⏸ ${pending.toolName} awaits approval`)
      break
    case 'text-delta':
      process.stdout.write(event.text)
      break
    case 'step-finished':
      console.log(`· step ${event.step}: ${event.finishReason}, ${event.usage?.totalTokens ?? 0} tokens`)
      break
  }
}

/** The decision on one tool call; `undefined` when the person stopped the example (Ctrl-C) instead of answering. */
async function askApproval(toolName: string, arguments_: unknown): Promise<ApprovalDecision | undefined> {
  console.log(`\n${toolName} wants to run with:\n${JSON.stringify(arguments_, null, 2)}`)
  let approve: boolean
  if (options.approval !== undefined) approve = options.approval === 'approve'
  else if (process.stdin.isTTY) {
    const answer = await askInTerminal(process.stdin, process.stdout)
    if (answer === undefined) return undefined
    approve = answer
  } else {
    console.log('(no terminal to ask: approving; pass --deny to deny)')
    approve = true
  }
  console.log(approve ? 'Approved.' : 'Denied.')
  return approve
    ? { approved: true }
    : { approved: false, reason: 'the loan officer wants to call the applicant first' }
}

function tree(record: RunRecord): string {
  return formatRunTree(record, { colors: process.stdout.isTTY === true })
}

process.exitCode = await main()
