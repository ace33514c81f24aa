import type { LifecycleEvent } from '@tinyllm/core'
import { OpenAIChat, type OpenAIChatOptions } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { Fault } from '@tinyllm/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

// The rows of the "What is retried" table in docs/guarantees.md that the reliability suite's `retry-rules.test.ts`
// does not count: each failure is met by a call allowed 3 attempts, and the requests are counted at the server.
const prompt = { messages: [{ role: 'user' as const, content: 'Say something' }] }

let server: OpenAICompatibleServer
beforeAll(async () => {
  server = await startOpenAICompatibleServer({ replies: ['fine'], cycleReplies: true })
})
afterAll(() => server.close())

function chatWith(options: Readonly<Record<string, unknown>> = {}): OpenAIChat {
  return new OpenAIChat({
    name: 'retry-table',
    model: 'gpt-4o-mini',
    apiKey: 'sk-test-retry-table',
    baseURL: server.baseURL,
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    ...options,
  } as OpenAIChatOptions)
}

/** Runs `call` with `fault` on every request; answers how many requests reached the server, and the error. */
async function requestsFor(
  fault: Fault | undefined,
  call: () => Promise<unknown>,
): Promise<{ requests: number; error: unknown }> {
  if (fault !== undefined) server.injectFaults(() => fault)
  const before = server.requests.length
  try {
    const error = await call().then(
      () => undefined,
      (failure: unknown) => failure,
    )
    return { requests: server.requests.length - before, error }
  } finally {
    server.clearFaults()
    await server.whenIdle()
  }
}

describe('docs/guarantees.md › What is retried', () => {
  it('JSON that is not a completion is retried, as malformed JSON is', async () => {
    const bodies = [{ object: 'not-a-completion' }, { id: 'x', object: 'chat.completion', choices: [] }, 'null']
    for (const body of bodies) {
      const { requests, error } = await requestsFor({ kind: 'status', status: 200, body }, () =>
        chatWith().invoke(prompt),
      )
      expect(error, JSON.stringify(body)).toMatchObject({ name: 'ProviderCallError', retryable: true })
      expect(requests, JSON.stringify(body)).toBe(3)
    }
  })

  it('an idle stream that handed out no text is retried', async () => {
    // Each attempt's clock stands still until the server holds its request: on a busy machine the attempt's 200 ms
    // could otherwise pass before its request is out, and it would be retried with no request to count.
    const now = Date.now
    let stopped: { readonly at: number } | undefined
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => stopped?.at ?? now())
    const onEvent = (event: LifecycleEvent): void => {
      // An attempt that ends before its request is out (a failure of its own) lets the clock run on too.
      if (event.from === 'running') stopped = undefined
      if (event.to !== 'running') return
      const sent = server.requests.length
      const attempt = { at: now() }
      stopped = attempt
      void waitFor(() => stopped !== attempt || server.requests.length > sent).then(() => {
        if (stopped === attempt) stopped = undefined
      })
    }
    try {
      const { requests, error } = await requestsFor({ kind: 'stall-stream', afterEvents: 0 }, async () => {
        const stream = chatWith({ idleTimeoutMs: 200 }).stream(prompt, { onEvent })
        for await (const _delta of stream) {
          // nothing comes
        }
        return stream.result
      })
      expect(error).toMatchObject({ name: 'TimeoutError', kind: 'idle' })
      expect(requests).toBe(3)
    } finally {
      clock.mockRestore()
    }
  })

  it('validation, budget, abort and configuration errors and the total timeout are not retried', async () => {
    // Counted as attempts (the lifecycle's `running`), not only as requests: a budget or configuration error ends its
    // attempt before the request is sent, so a retry of it would send no request either.
    let attempts = 0
    const onEvent = (event: LifecycleEvent): void => {
      if (event.to === 'running') attempts += 1
    }
    const counted = async (call: () => Promise<unknown>, fault?: Fault) => {
      attempts = 0
      const { requests, error } = await requestsFor(fault, call)
      return { requests, attempts, error }
    }

    const invalid = await counted(() => chatWith().invoke({ messages: 'not a list' } as never, { onEvent }))
    expect(invalid).toMatchObject({ requests: 0, attempts: 0, error: { name: 'ValidationError' } })

    const overBudget = await counted(() =>
      chatWith({ maxTokens: 100 }).invoke(prompt, { budget: { maxTokens: 10 }, onEvent }),
    )
    expect(overBudget).toMatchObject({ requests: 0, attempts: 1, error: { name: 'BudgetExceededError' } })

    const unpriced = await counted(() =>
      chatWith({ model: 'a-model-with-no-price' }).invoke(prompt, { budget: { maxCostUsd: 1 }, onEvent }),
    )
    expect(unpriced).toMatchObject({ requests: 0, attempts: 1, error: { name: 'ConfigurationError' } })

    // The request is held until the client goes away: the abort and the total timeout end it, and no other is sent.
    const controller = new AbortController()
    const aborted = await counted(
      async () => {
        const call = chatWith().invoke(prompt, { signal: controller.signal, onEvent })
        await waitFor(() => server.inFlight === 1)
        controller.abort()
        return call
      },
      { kind: 'stall-headers' },
    )
    expect(aborted).toMatchObject({ requests: 1, attempts: 1, error: { name: 'AbortError' } })

    // On a loaded machine the deadline may pass before the request is out: at most one is sent, never a second.
    const timedOut = await counted(() => chatWith().invoke(prompt, { timeoutMs: 500, onEvent }), {
      kind: 'stall-headers',
    })
    expect(timedOut.error).toMatchObject({ name: 'TimeoutError', kind: 'total' })
    expect(timedOut.requests).toBeLessThanOrEqual(1)
    expect(timedOut.attempts).toBeLessThanOrEqual(1)
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}
