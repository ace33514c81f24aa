import { defineFunction } from '@tinyllm/core'
import { Chain } from '@tinyllm/flow'
import type { RateLimiterLike } from '@tinyllm/llm'
import { OpenAIChat } from '@tinyllm/openai'

/** The prompt of run `index`; the loopback server echoes it back, so every answer is checked. */
export const promptOf = (index: number): string => `ping ${index}`

/** The graph of the distributed scenarios: a prompt step and one chat call, the same in one process and on workers. */
export function benchGraph(baseURL: string, rateLimiter?: RateLimiterLike) {
  return new Chain({
    name: 'ask',
    children: [
      defineFunction({
        name: 'prompt',
        run: (index: number) => ({ messages: [{ role: 'user' as const, content: promptOf(index) }] }),
      }),
      new OpenAIChat({
        name: 'chat',
        model: 'gpt-4o-mini',
        baseURL,
        apiKey: 'bench-key',
        ...(rateLimiter === undefined ? {} : { rateLimiter }),
      }),
    ],
  })
}

/** Limits far above what the bench reaches: what is measured is the limiter's cost, not waiting for the window. */
export const benchLimits = { requestsPerMinute: 10_000_000, tokensPerMinute: 10_000_000_000 } as const
