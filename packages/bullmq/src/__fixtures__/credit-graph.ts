// The graph of the distributed tests: a loan application is classified by a model (one LLM call), the answer is checked
// by a Decision, and the decision is recorded once through the run's idempotency key (a durable side effect).
import { defineFunction, type RunContext } from '@tinyllm/core'
import { Chain, Decision } from '@tinyllm/flow'
import type { RateLimiterLike } from '@tinyllm/llm'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'
import type { Redis } from 'ioredis'

export interface LoanApplication {
  readonly id: string
  readonly text: string
}

export interface CreditGraphOptions {
  /** The loopback OpenAI-compatible server. */
  readonly baseURL: string
  /** Sent as `x-worker` with every request, so the server knows who asked. */
  readonly worker: string
  /** Where the side effect is written (its own client); absent on a producer, which never runs the graph. */
  readonly effects?: Redis
  readonly rateLimiter?: RateLimiterLike
}

/** The key under which the committed side effects are counted. */
export const committedKey = 'test:effects:committed'
/** The key under which every execution of the side effect's code is counted (committed or found done). */
export const executedKey = 'test:effects:executed'

export function creditGraph(options: CreditGraphOptions) {
  return new Chain({
    name: 'credit',
    children: [
      new OpenAIPromptTemplate({
        name: 'prompt',
        sections: [
          new OpenAISystemMessage({ name: 'role', content: 'Classify the loan application: good or bad.' }),
          new OpenAIUserMessage({ name: 'application', content: 'Application {id}: {text}' }),
        ],
      }),
      new OpenAIChat({
        name: 'classify',
        model: 'gpt-4o-mini',
        temperature: 0,
        maxTokens: 8,
        baseURL: options.baseURL,
        apiKey: 'loopback',
        headers: { 'x-worker': options.worker },
        ...(options.rateLimiter === undefined ? {} : { rateLimiter: options.rateLimiter }),
      }),
      new Decision({
        name: 'label',
        choices: ['good', 'bad'],
        decide: (answer: string) => answer.trim().toLowerCase(),
      }),
      defineFunction({
        name: 'record decision',
        durable: true,
        run: async (result: { decision: 'good' | 'bad' }, context: RunContext) => {
          const effects = options.effects
          if (effects === undefined) throw new Error('this process does not run the graph')
          // Written once through the idempotency key, and counted in the same atomic step.
          await effects.eval(
            "redis.call('INCR', KEYS[3]) if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('INCR', KEYS[2]) end",
            3,
            `test:effect:${context.idempotencyKey}`,
            committedKey,
            executedKey,
            result.decision,
          )
          return result.decision
        },
      }),
    ],
  })
}

/** What the loopback model answers: even application numbers are good, odd ones bad. */
export function underwrite(body: { readonly messages: ReadonlyArray<{ readonly content?: unknown }> }): string {
  const text = String(body.messages.at(-1)?.content ?? '')
  const number = Number(/Application APP-(\d+)/.exec(text)?.[1] ?? Number.NaN)
  return number % 2 === 0 ? 'good' : 'bad'
}

/** The application id a request asks about. */
export function applicationOf(body: unknown): string | undefined {
  const messages = (body as { messages?: ReadonlyArray<{ content?: unknown }> } | undefined)?.messages
  return /Application (APP-\d+)/.exec(String(messages?.at(-1)?.content ?? ''))?.[1]
}

export function applications(count: number): LoanApplication[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `APP-${String(index + 1).padStart(5, '0')}`,
    text: `income ${30_000 + ((index * 7919) % 90_000)}, ${index % 4} missed payments`,
  }))
}
