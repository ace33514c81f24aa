// The scripted model the synthetic cassettes were recorded from, and the example's tests talk to: it looks the
// applicant up, computes the ratio, asks to email the decision, then gives its final answer.
import { startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { Provider } from './command-line.ts'

/** The scripted model's next move, from the results of the tool calls so far (by call id). */
function nextMove(results: ReadonlyArray<{ id: string; content: string }>): {
  name: string
  id: string
  arguments: Record<string, unknown>
} {
  const last = results.at(-1)
  if (last === undefined)
    return { name: 'lookup_applicant_records', id: 'call_lookup', arguments: { applicantId: 'A-17' } }
  if (last.id === 'call_lookup') {
    const record = JSON.parse(last.content) as { monthlyIncome: number; monthlyDebtPayments: number }
    return {
      name: 'compute_debt_ratio',
      id: 'call_ratio',
      arguments: { monthlyDebtPayments: record.monthlyDebtPayments, monthlyIncome: record.monthlyIncome },
    }
  }
  const ratio = (
    JSON.parse(results.find((result) => result.id === 'call_ratio')?.content ?? '{}') as { debtToIncome: number }
  ).debtToIncome
  const decision = ratio < 0.36 ? 'approve' : 'decline'
  if (last.id === 'call_ratio') {
    return {
      name: 'send_decision_email',
      id: 'call_email',
      arguments: {
        applicantId: 'A-17',
        decision,
        message: `Dear Ada, your loan application A-17 is ${decision === 'approve' ? 'approved' : 'declined'}. Your debt-to-income ratio is ${ratio}.`,
      },
    }
  }
  const emailed = !last.content.includes('"error"')
  return {
    name: 'final_answer',
    id: 'call_answer',
    arguments: {
      decision,
      debtToIncome: ratio,
      emailed,
      reason: `Debt-to-income ${ratio} is ${ratio < 0.36 ? 'below' : 'above'} the 0.36 limit, with no missed payments.${emailed ? '' : ' The email was not sent: the loan officer will call first.'}`,
    },
  }
}

/** Starts a loopback server of the provider that answers as the scripted model. */
export const scriptedUpstreams: Readonly<Record<Provider, () => Promise<{ url: string; close(): Promise<void> }>>> = {
  openai: () =>
    startOpenAICompatibleServer({
      created: 1_735_689_600,
      replies: (request) => {
        const results = request.messages.flatMap((message) =>
          message.role === 'tool' ? [{ id: message.tool_call_id, content: String(message.content) }] : [],
        )
        const move = nextMove(results)
        return { toolCalls: [{ id: move.id, name: move.name, arguments: move.arguments }] }
      },
    }),
  anthropic: () =>
    startAnthropicCompatibleServer({
      replies: (request) => {
        const results: Array<{ id: string; content: string }> = []
        for (const message of request.messages) {
          if (typeof message.content === 'string') continue
          for (const block of message.content)
            if (block.type === 'tool_result')
              results.push({ id: block.tool_use_id, content: typeof block.content === 'string' ? block.content : '' })
        }
        const move = nextMove(results)
        return { toolUses: [{ id: move.id, name: move.name, input: move.arguments }] }
      },
    }),
}
