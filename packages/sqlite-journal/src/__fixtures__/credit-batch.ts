// A batch of credit applications, run the way a user would run it with a local journal: each application is a root run
// with its own run id, a few at a time. Each run renders a prompt, asks a model to classify the application, asks it
// for a one-line reason, and records the decision in a ledger (a side effect, made once through its idempotency key).
//
// Usage: node credit-batch.ts <journal file> <base URL of the loopback server> <runs> <concurrency>
// It prints one JSON line per event the test needs: a durable step finished ("step"), a run finished ("run"), or
// failed ("failed"), and "end" when the batch is done.
import { defineFunction, type RunContext } from '@tinyllm/core'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'
import { SqliteJournal } from '@tinyllm/sqlite-journal'

const [journalPath, baseURL, runCount, concurrency] = process.argv.slice(2) as [string, string, string, string]
const ledgerURL = new URL('/ledger', baseURL).href

const template = new OpenAIPromptTemplate({
  name: 'Loan Classifier Template',
  sections: [
    new OpenAISystemMessage({ name: 'Role', content: 'Classify the loan application as good or bad.' }),
    new OpenAIUserMessage({ name: 'Application' }),
  ],
})
const chatOptions = { model: 'gpt-4o-mini', temperature: 0, baseURL, apiKey: 'sk-loopback' } as const
const classify = new OpenAIChat({ name: 'classify', ...chatOptions })
const explain = new OpenAIChat({ name: 'explain', ...chatOptions })

type Decision = { application: number; label: string; reason: string }

/** Posts the decision to the ledger, which commits the first write of each idempotency key and answers its receipt. */
const recordDecision = defineFunction({
  name: 'record',
  durable: true,
  run: async (decision: Decision, context: RunContext) => {
    const response = await fetch(ledgerURL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': context.idempotencyKey },
      body: JSON.stringify(decision),
      signal: context.signal,
    })
    if (!response.ok) throw new Error(`the ledger answered ${response.status}`)
    return (await response.json()) as { receipt: string }
  },
})

const creditPipeline = defineFunction({
  name: 'credit pipeline',
  run: async (application: number, context: RunContext) => {
    const prompt = await context.invoke(template, {
      message: `Application ${application}: income ${1_000 + application * 37}, ${application % 5} missed payments.`,
    })
    const label = await context.invoke(classify, prompt)
    const reason = await context.invoke(explain, {
      messages: [{ role: 'user', content: `Explain in one line why application ${application} is ${label}.` }],
    })
    const { receipt } = await context.invoke(recordDecision, { application, label, reason })
    return { application, label, reason, receipt }
  },
})

const durableSteps: ReadonlySet<string> = new Set(['classify', 'explain', 'record'])
const journal = new SqliteJournal(journalPath)
const print = (line: object): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

let next = 0
async function worker(): Promise<void> {
  for (let application = next++; application < Number(runCount); application = next++) {
    let usage: unknown
    try {
      const output = await creditPipeline.invoke(application, {
        runId: `credit-batch/${application}`,
        journal,
        onEvent: (event) => {
          if (event.to !== 'complete') return
          if (durableSteps.has(event.function)) {
            print({
              type: 'step',
              step: `${event.function} ${application}`,
              replayed: event.annotations?.replayed === true,
            })
          } else if (event.function === 'credit pipeline') usage = { ...event.usage }
        },
      })
      print({ type: 'run', application, output, usage })
    } catch (error) {
      print({ type: 'failed', application, error })
    }
  }
}

await Promise.all(Array.from({ length: Number(concurrency) }, worker))
journal.close()
print({ type: 'end' })
