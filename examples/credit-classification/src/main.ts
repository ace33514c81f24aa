// The original Python tiny-llm's credit-classification example in TypeScript. Run it from the repository root with `pnpm demo`.
//
// A Decision asks a chat model whether a loan application is good or bad; `good` goes to an approval, `bad` to a
// Parallel of an email notification and a further analysis; a Chain wraps it with a last step that states the
// outcome. Without an API key it runs offline against a loopback server that replays a recorded cassette.
import { fileURLToPath } from 'node:url'
import { AnthropicChat } from '@tinyllm/anthropic'
import { defineFunction, Function, formatRunTree, type RunContext, type RunRecord } from '@tinyllm/core'
import { Chain, Decision, Parallel, toMermaid } from '@tinyllm/flow'
import type { LLMCall } from '@tinyllm/llm'
import { createConsoleLogger, setDefaultLogger } from '@tinyllm/logger'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'
import { writeRunReport } from '@tinyllm/report'
import { badLoanApplication, goodLoanApplication, type LoanApplication } from './applications.ts'
import { readCommandLine, UsageError, usage } from './command-line.ts'
import { connect } from './connection.ts'

// Logs go to stderr: pretty in a terminal, JSON lines otherwise. `TINYLLM_LOG_LEVEL=debug pnpm demo` shows the
// branches' own log lines, bound to their run id and function name.
setDefaultLogger(createConsoleLogger({ bindings: { example: 'credit-classification' } }))

const options = readOptions()
const connection = await connect(options)

// Swapping the provider is changing this one constructor; everything below works with either. (Anthropic's current
// Messages API rejects `temperature`, so AnthropicChat is given none: it would throw a ConfigurationError saying so.)
const chat: LLMCall =
  options.provider === 'anthropic'
    ? new AnthropicChat({ name: 'anthropic_chat', model: options.model, ...connection.client })
    : new OpenAIChat({ name: 'openai_chat', model: options.model, temperature: 0, n: 1, ...connection.client })

const loanOfficerRole = new OpenAISystemMessage({
  name: 'Role',
  content:
    'You will be provided with a loan application. Your role is to classify it as good or bad. ' +
    'Your output should be one of these 2 words: [good, bad]',
})

const loanClassifierTemplate = new OpenAIPromptTemplate({
  name: 'Loan Classifier Template',
  sections: [loanOfficerRole, new OpenAIUserMessage({ name: 'Application' })],
})

class EmailNotification extends Function<LoanApplication, { success: boolean }> {
  async run(application: LoanApplication, context: RunContext) {
    console.log('Sending email notification...')
    context.logger.debug('email notification queued', { applicant: application.applicant })
    return { success: true }
  }
}

class FurtherAnalysis extends Function<LoanApplication, { further_analysis: string }> {
  async run(application: LoanApplication, context: RunContext) {
    console.log('Performing further analysis...')
    context.logger.debug('further analysis requested', { applicant: application.applicant })
    return { further_analysis: 'Completed' }
  }
}

class Approval extends Function<LoanApplication, { approved: boolean }> {
  async run(application: LoanApplication, context: RunContext) {
    console.log('Approving the application...')
    context.logger.debug('application approved', { applicant: application.applicant })
    return { approved: true }
  }
}

const approval = new Approval({ name: 'Approval' })
const badCreditAnalysis = new Parallel({
  name: 'Bad credit analysis',
  children: [new EmailNotification({ name: 'EmailNotification' }), new FurtherAnalysis({ name: 'FurtherAnalysis' })],
})

// Written as in the original Python tiny-llm: `run` calls the template and the chat model directly and returns
// `{ decision }`. Functions invoked inside a run join its run tree (tokens, cost, cancellation, logger), so the chat
// call shows in the tree below. The Decision checks the answer is one of the choices (else a DecisionError listing
// them) and runs that choice's branch on the same application.
class CreditClassifier extends Decision<
  LoanApplication,
  'good' | 'bad',
  { good: typeof approval; bad: typeof badCreditAnalysis }
> {
  override async run(input: LoanApplication) {
    const messages = await loanClassifierTemplate.invoke({ message: input.loan_application })
    const chatResponse = await chat.invoke(messages)
    console.log(`Credit classification: ${chatResponse}`)
    // Models answer `Good.` as often as `good`; the Decision compares choices exactly, so normalise first.
    const decision = chatResponse
      .trim()
      .toLowerCase()
      .replace(/[.!]+$/, '')
    return { decision }
  }
}

const creditClassifier = new CreditClassifier({
  name: 'CreditClassification',
  choices: ['good', 'bad'],
  branches: { good: approval, bad: badCreditAnalysis },
})

const outcome = defineFunction({
  name: 'Outcome',
  run: (result: { approved: boolean } | Record<string, unknown>) =>
    'approved' in result ? 'approved' : 'referred: email sent, further analysis completed',
})

const creditAnalysisChain = new Chain({ name: 'Credit analysis', children: [creditClassifier, outcome] })

async function main(): Promise<number> {
  console.log(`tinyllm credit classification: ${options.provider}, model ${options.model}`)
  for (const line of connection.notice) console.log(line)

  let failed = false
  const records: RunRecord[] = []
  for (const application of [goodLoanApplication, badLoanApplication]) {
    console.log(`\n── ${application.applicant} ──`)
    const record = await creditAnalysisChain.trace(application)
    records.push(record)
    if (record.status === 'complete') {
      console.log(`Branch taken: ${branchTaken(record)}`)
      console.log(`Outcome: ${String(record.output)}`)
    } else {
      failed = true
      console.log(`Failed: ${record.error?.name}: ${record.error?.message.split('\n')[0]}`)
    }
    console.log(`\nRun tree:\n${formatRunTree(record, { colors: process.stdout.isTTY === true })}`)
  }

  console.log(`\nGraph (Mermaid):\n${toMermaid(creditAnalysisChain)}`)
  await connection.close(!failed)
  if (connection.cassetteMisses() > 0) {
    console.log(
      `\nThe cassette had no recording for ${connection.cassetteMisses()} request(s): the prompt or settings changed ` +
        'since it was recorded. Re-record it with --record (needs the API key), or the synthetic one with ' +
        '`pnpm --filter @tinyllm/example-credit-classification record:synthetic`.',
    )
  }
  // Both runs in one page that opens offline: the graph coloured by outcome, a timeline, every run's details.
  const report = await writeRunReport(records, fileURLToPath(new URL('../reports/run-report.html', import.meta.url)), {
    title: 'Credit classification',
  })
  console.log(`\nRun report: ${report}`)
  return failed ? 1 : 0
}

/** `bad → Bad credit analysis (parallel)`: the Decision's choice and the branch run it led to. */
function branchTaken(record: RunRecord): string {
  const decision = record.children.find((child) => child.kind === 'decision')
  const branch = decision?.children.at(-1)
  return `${String(decision?.annotations.choice)} → ${branch?.function} (${branch?.kind})`
}

function readOptions() {
  try {
    const parsed = readCommandLine(process.argv.slice(2))
    if (parsed === undefined) {
      console.log(usage)
      process.exit(0)
    }
    return parsed
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    process.exit(error instanceof UsageError || (error as { code?: unknown }).code !== undefined ? 2 : 1)
  }
}

process.exitCode = await main()
