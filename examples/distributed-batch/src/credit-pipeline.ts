// The credit pipeline of examples/credit-classification, written once and run on any number of workers: a Decision
// asks the model whether an application is good or bad; good is approved, bad fans out to an email and a further
// analysis; a last step states the outcome.
import { defineFunction, Function, type RunContext } from '@tinyllm/core'
import { Chain, Decision, Parallel } from '@tinyllm/flow'
import type { RateLimiterLike } from '@tinyllm/llm'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'
import type { Redis } from 'ioredis'
import type { LoanApplication } from './applications.ts'

/** What the pipeline needs from the process it runs in. */
export interface PipelineEnvironment {
  /** The model server. */
  readonly baseURL: string
  /** Where emails are "sent": a Redis key per email, written once. Absent in the producer, which runs nothing. */
  readonly outbox?: Redis
  readonly rateLimiter?: RateLimiterLike
}

/** The Redis key counting emails actually sent. */
export const emailsSentKey = 'example:emails:sent'

/**
 * Sends the applicant an email once, however often the run is resumed: the email's key is the step's idempotency key
 * (the same on every re-run of the run id), and the step is durable, so a finished send is replayed, not repeated.
 */
class EmailNotification extends Function<LoanApplication, { emailed: boolean }> {
  private readonly outbox: Redis | undefined

  constructor(outbox: Redis | undefined) {
    super({ name: 'EmailNotification', durable: true })
    this.outbox = outbox
  }

  async run(application: LoanApplication, context: RunContext) {
    if (this.outbox === undefined) throw new Error('no outbox in this process')
    // The outbox records the email under its idempotency key and counts it in one atomic step, as an email API that
    // takes an idempotency key would: a second send of the same key is not another email.
    await this.outbox.eval(
      "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('INCR', KEYS[2]) end",
      2,
      `example:email:${context.idempotencyKey}`,
      emailsSentKey,
      application.applicant,
    )
    return { emailed: true }
  }
}

export function creditPipeline(environment: PipelineEnvironment) {
  const template = new OpenAIPromptTemplate({
    name: 'Loan Classifier Template',
    sections: [
      new OpenAISystemMessage({
        name: 'Role',
        content: 'Classify the loan application as good or bad. Your output should be one of: [good, bad]',
      }),
      new OpenAIUserMessage({ name: 'Application' }),
    ],
  })
  const chat = new OpenAIChat({
    name: 'openai_chat',
    model: 'gpt-4o-mini',
    temperature: 0,
    maxTokens: 4,
    baseURL: environment.baseURL,
    apiKey: 'offline-loopback',
    retry: { attempts: 3, initialDelayMs: 100 },
    ...(environment.rateLimiter === undefined ? {} : { rateLimiter: environment.rateLimiter }),
  })
  const classifier = new Decision({
    name: 'CreditClassification',
    decide: async (application: LoanApplication, context) => {
      const messages = await context.invoke(template, { message: application.loan_application })
      const answer = await context.invoke(chat, messages)
      return answer
        .trim()
        .toLowerCase()
        .replace(/[.!]+$/, '')
    },
    branches: {
      good: defineFunction({ name: 'Approval', run: () => ({ approved: true }) }),
      bad: new Parallel({
        name: 'Bad credit analysis',
        children: [
          new EmailNotification(environment.outbox),
          defineFunction({ name: 'FurtherAnalysis', run: () => ({ further_analysis: 'Completed' }) }),
        ],
      }),
    },
  })
  return new Chain({
    name: 'Credit analysis',
    children: [
      classifier,
      defineFunction({
        name: 'Outcome',
        run: (result: object): 'approved' | 'referred' => ('approved' in result ? 'approved' : 'referred'),
      }),
    ],
  })
}
