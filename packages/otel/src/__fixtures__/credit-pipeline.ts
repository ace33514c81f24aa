import { defineFunction } from '@tinyllm/core'
import { Chain, Decision, Parallel } from '@tinyllm/flow'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'

/**
 * The demo's credit pipeline (examples/credit-classification), over an OpenAI-compatible server at `baseURL`: a
 * Decision asks the model, `good` approves, `bad` fans out to an email and a further analysis, an outcome follows.
 */
export function creditPipeline(baseURL: string) {
  const chat = new OpenAIChat({
    name: 'openai_chat',
    model: 'gpt-4o-mini',
    temperature: 0,
    maxTokens: 8,
    baseURL,
    apiKey: 'offline-loopback',
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
  })
  const template = new OpenAIPromptTemplate({
    name: 'Loan Classifier Template',
    sections: [
      new OpenAISystemMessage({ name: 'Role', content: 'Classify the loan application as good or bad.' }),
      new OpenAIUserMessage({ name: 'Application' }),
    ],
  })
  const classifier = new Decision({
    name: 'CreditClassification',
    decide: async (application: { loan_application: string }, context) => {
      const messages = await context.invoke(template, { message: application.loan_application })
      const answer = await context.invoke(chat, messages)
      return answer.trim().toLowerCase()
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
  })
  return new Chain({
    name: 'Credit analysis',
    children: [
      classifier,
      defineFunction({ name: 'Outcome', run: (result: object) => ('approved' in result ? 'approved' : 'referred') }),
    ],
  })
}
