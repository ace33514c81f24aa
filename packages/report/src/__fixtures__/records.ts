import { defineFunction, type RunRecord } from '@tinyllm/core'
import { Chain, Decision, Parallel } from '@tinyllm/flow'
import { LLMCall, PromptTemplate, ProviderCallError, SystemMessageTemplate, UserMessageTemplate } from '@tinyllm/llm'
import { ScriptedChatModel } from '@tinyllm/llm/testing'

/**
 * The demo's credit pipeline (examples/credit-classification) over a scripted model, run on a good and a bad
 * application: the records `pnpm demo` reports on. `failing`: the model refuses every call (a 401).
 */
export async function creditRecords(options: { readonly failing?: boolean } = {}): Promise<RunRecord[]> {
  const model = new ScriptedChatModel({
    responses: (request) =>
      options.failing === true
        ? new ProviderCallError({ provider: 'scripted', message: 'invalid API key', status: 401, retryable: false })
        : {
            content: request.messages.at(-1)?.content?.includes('missed') === true ? 'bad' : 'good',
            usage: { inputTokens: 52, outputTokens: 1 },
          },
  })
  const chat = new LLMCall({ name: 'openai_chat', model, settings: { model: 'gpt-4o-mini', temperature: 0 } })
  const template = new PromptTemplate({
    name: 'Loan Classifier Template',
    sections: [
      new SystemMessageTemplate({ name: 'Role', content: 'Classify the loan application as good or bad.' }),
      new UserMessageTemplate({ name: 'Application' }),
    ],
  })
  const pipeline = new Chain({
    name: 'Credit analysis',
    children: [
      new Decision({
        name: 'CreditClassification',
        decide: async (application: { loan_application: string }, context) => {
          const messages = await context.invoke(template, { message: application.loan_application })
          return (await context.invoke(chat, messages)).trim()
        },
        branches: {
          good: defineFunction({ name: 'Approval', run: () => ({ approved: true }) }),
          bad: new Parallel({
            name: 'Bad credit analysis',
            children: [
              defineFunction({ name: 'EmailNotification', run: () => ({ success: true }) }),
              defineFunction({ name: 'FurtherAnalysis', run: () => ({ further_analysis: 'Completed' }) }),
            ],
          }),
        },
      }),
      defineFunction({ name: 'Outcome', run: (result: object) => ('approved' in result ? 'approved' : 'referred') }),
    ],
  })
  return [
    await pipeline.trace({
      loan_application: 'Steady income, no missed payments in ten years.'.replace('missed', 'late'),
    }),
    await pipeline.trace({ loan_application: 'Three missed payments this year, utilisation at 95%.' }),
  ]
}

/**
 * A batch of `count` applications through one Parallel map, as `pnpm batch` runs it: about one call in 25 fails once
 * with a retryable 503 and is retried, about one in 100 answers something that is not a class and fails its Decision.
 */
export async function batchRecord(count: number): Promise<RunRecord> {
  const failedOnce = new Set<number>()
  const model = new ScriptedChatModel({
    responses: (request) => {
      const id = Number(/#(\d+)/.exec(request.messages.at(-1)?.content ?? '')?.[1])
      if (id % 25 === 3 && !failedOnce.has(id)) {
        failedOnce.add(id)
        return new ProviderCallError({
          provider: 'scripted',
          message: 'server overloaded',
          status: 503,
          retryable: true,
        })
      }
      if (id % 100 === 42) return 'perhaps'
      return ['good', 'review', 'bad'][id % 3]!
    },
  })
  const classify = new Chain({
    name: 'ClassifyApplication',
    children: [
      defineFunction({
        name: 'Underwriting prompt',
        run: (id: number) => ({ messages: [{ role: 'user' as const, content: `Application #${id}` }] }),
      }),
      new LLMCall({
        name: 'openai_chat',
        model,
        settings: { model: 'gpt-4o-mini', temperature: 0, maxTokens: 16 },
        retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      }),
      new Decision({ name: 'Label', choices: ['good', 'review', 'bad'], decide: (answer: string) => answer.trim() }),
    ],
  })
  const batch = new Parallel({ name: 'Classify all', map: classify, concurrency: 50, mode: 'settle-all' })
  return batch.trace(Array.from({ length: count }, (_, index) => index))
}
