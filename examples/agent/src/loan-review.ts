// The loan-review agent: it looks up an applicant's records and computes the debt ratio through tools, and asks a
// person before the one tool with a side effect, the decision email.
import { Agent, defineTool } from '@tinyllm/agent'
import type { LLMCall } from '@tinyllm/llm'
import { z } from 'zod'

/** The bank's records, standing in for a database. */
const applicants: Record<
  string,
  { name: string; email: string; monthlyIncome: number; monthlyDebtPayments: number; missedPayments: number }
> = {
  'A-17': {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    monthlyIncome: 8200,
    monthlyDebtPayments: 2460,
    missedPayments: 0,
  },
}

/** What the example prints for each email it "sends". */
export const outbox: string[] = []

export const lookupApplicantRecords = defineTool({
  name: 'lookup_applicant_records',
  description: "An applicant's records: name, email, monthly income, monthly debt payments and missed payments",
  input: z.object({ applicantId: z.string().describe('e.g. A-17') }),
  run: ({ applicantId }) => {
    const record = applicants[applicantId]
    if (record === undefined) throw new Error(`no applicant ${applicantId}`)
    return record
  },
})

export const computeDebtRatio = defineTool({
  name: 'compute_debt_ratio',
  description: 'The debt-to-income ratio: monthly debt payments divided by monthly income, rounded to 2 decimals',
  input: z.object({ monthlyDebtPayments: z.number().min(0), monthlyIncome: z.number().positive() }),
  run: ({ monthlyDebtPayments, monthlyIncome }) => ({
    debtToIncome: Math.round((monthlyDebtPayments / monthlyIncome) * 100) / 100,
  }),
})

export const sendDecisionEmail = defineTool({
  name: 'send_decision_email',
  description: 'Emails the applicant the decision on their application. A person approves each email first.',
  input: z.object({
    applicantId: z.string(),
    decision: z.enum(['approve', 'decline']),
    message: z.string().describe('the email body, two or three sentences'),
  }),
  needsApproval: true,
  run: ({ applicantId, decision, message }, context) => {
    // The idempotency key is the same on every re-run of this step: a mail service would deduplicate with it.
    outbox.push(
      `to ${applicants[applicantId]?.email ?? applicantId} (${decision}, key ${context.idempotencyKey}): ${message}`,
    )
    return { sent: true }
  },
})

/** The agent's answer, once it is done. */
export const verdict = z.object({
  decision: z.enum(['approve', 'decline']),
  debtToIncome: z.number(),
  emailed: z.boolean(),
  reason: z.string(),
})

export const instructions =
  'You review loan applications. Look up the applicant, compute their debt-to-income ratio, and decide: approve ' +
  'below 0.36, decline otherwise. Email the applicant the decision, then give your final answer.'

/** The agent, on any provider's chat model. */
export function loanReviewAgent(model: LLMCall<'result', never>) {
  return new Agent({
    name: 'loan-review',
    model,
    instructions,
    tools: [lookupApplicantRecords, computeDebtRatio, sendDecisionEmail],
    finalAnswer: { schema: verdict },
    maxSteps: 8,
  })
}
