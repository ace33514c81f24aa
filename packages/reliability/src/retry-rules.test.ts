import { decideRetry, type LifecycleEvent, type ResolvedRetryPolicy, TinyLLMError } from '@tinyllm/core'
import { llmRetryDefaults, RateLimiter } from '@tinyllm/llm'
import { OpenAIChat, OpenAIChatModel, type OpenAIChatOptions } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { FakeClock, type Fault } from '@tinyllm/testing'
import { OpenAI } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { recordFigures } from './figures.js'

const prompt = { messages: [{ role: 'user' as const, content: 'Say something' }] }

let server: OpenAICompatibleServer
beforeAll(async () => {
  server = await startOpenAICompatibleServer({ replies: ['fine'], cycleReplies: true })
})
afterAll(() => server.close())

/** A call with 3 attempts and near-zero backoff, so the rules are tested and not the waiting. */
function chatWith(options: Readonly<Record<string, unknown>> = {}): OpenAIChat {
  return new OpenAIChat({
    name: 'retry-rules',
    model: 'gpt-4o-mini',
    apiKey: 'sk-test-retry-rules',
    baseURL: server.baseURL,
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    ...options,
  } as OpenAIChatOptions)
}

/** Runs one call with `fault` on every request; returns how many requests the server saw, and how the call ended. */
async function attemptsAtServer(
  fault: Fault,
  chat: OpenAIChat = chatWith(),
): Promise<{ requests: number; error: TinyLLMError | undefined }> {
  server.injectFaults(() => fault)
  const before = server.requests.length
  try {
    await chat.invoke(prompt)
    return { requests: server.requests.length - before, error: undefined }
  } catch (error) {
    return { requests: server.requests.length - before, error: error as TinyLLMError }
  } finally {
    server.clearFaults()
    await server.whenIdle()
  }
}

const retried: string[] = []
const notRetried: string[] = []
const retriedOther: string[] = []
const notRetriedOther: string[] = []

describe('which failures are retried (3 attempts allowed, counted at the server)', () => {
  // The table says "any 5xx" and "any other 4xx": statuses past the named ones are counted too.
  const statuses: ReadonlyArray<readonly [number, boolean]> = [
    [400, false],
    [401, false],
    [402, false],
    [403, false],
    [404, false],
    [405, false],
    [408, true],
    [409, true],
    [410, false],
    [418, false],
    [422, false],
    [429, true],
    [451, false],
    [499, false],
    [500, true],
    [501, true],
    [502, true],
    [503, true],
    [504, true],
    [505, true],
    [529, true],
    [599, true],
  ]
  it.each(statuses)('HTTP %i: retried = %s', async (status, retryable) => {
    const { requests, error } = await attemptsAtServer({ kind: 'status', status })
    expect(error?.name).toBe(status === 429 ? 'RateLimitError' : 'ProviderCallError')
    expect(error).toMatchObject({ status, retryable })
    expect(requests).toBe(retryable ? 3 : 1)
    ;(retryable ? retried : notRetried).push(String(status))
  })

  it('the server decides with x-should-retry: a 503 it calls final is not retried, a 400 it calls transient is', async () => {
    const final = await attemptsAtServer({ kind: 'status', status: 503, headers: { 'x-should-retry': 'false' } })
    expect(final.requests).toBe(1)
    const transient = await attemptsAtServer({ kind: 'status', status: 400, headers: { 'x-should-retry': 'true' } })
    expect(transient.requests).toBe(3)
    retriedOther.push('any status with x-should-retry: true')
    notRetriedOther.push('any status with x-should-retry: false')
  })

  const transport: ReadonlyArray<{ label: string; fault: Fault; expected: number }> = [
    { label: 'connection reset before headers', fault: { kind: 'reset-before-headers' }, expected: 3 },
    { label: 'connection reset after headers', fault: { kind: 'reset-after-headers' }, expected: 3 },
    { label: 'malformed JSON', fault: { kind: 'malformed-json' }, expected: 3 },
    { label: 'stalled headers (attempt timeout)', fault: { kind: 'stall-headers' }, expected: 3 },
    { label: 'response over maxResponseBytes', fault: { kind: 'oversized', bytes: 64 * 1024 }, expected: 1 },
  ]
  it.each(transport)('$label → $expected request(s)', async ({ label, fault, expected }) => {
    const { requests, error } = await attemptsAtServer(
      fault,
      // Generous: only a stall may reach it, never a busy machine's slow answer (that would be a retried timeout).
      chatWith({ attemptTimeoutMs: 2_000, maxResponseBytes: 16 * 1024 }),
    )
    expect(error?.name).toBe(label.startsWith('stalled') ? 'TimeoutError' : 'ProviderCallError')
    expect(requests).toBe(expected)
    ;(expected > 1 ? retriedOther : notRetriedOther).push(label)
  })

  it('an answer the request cannot use (unknown tool, invalid structured output) is not retried', async () => {
    server.setReplies([{ toolCalls: [{ name: 'format_disk', arguments: {} }] }], { cycle: true })
    let before = server.requests.length
    await expect(chatWith().invoke(prompt)).rejects.toMatchObject({ name: 'ToolCallError', reason: 'unknown-tool' })
    expect(server.requests.length - before).toBe(1)
    server.setReplies(['not JSON at all'], { cycle: true })
    before = server.requests.length
    const structured = chatWith({
      structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }) },
    })
    await expect(structured.invoke(prompt)).rejects.toMatchObject({ name: 'ValidationError' })
    expect(server.requests.length - before).toBe(1)
    server.setReplies(['fine'], { cycle: true })
    notRetriedOther.push('unknown tool called', 'invalid structured output')
  })
})

/** The wait the one retry decision picks after attempt `attempt` failed with `error` (with attempts to spare). */
function retryDelay(policy: ResolvedRetryPolicy, attempt: number, error: TinyLLMError, random: () => number): number {
  const decision = decideRetry({ ...policy, attempts: attempt + 1 }, error, {
    attempt,
    streamedParts: 0,
    remainingMs: undefined,
    random,
  })
  if (!decision.retry) throw new Error(`no retry after ${error.message}`)
  return decision.delayMs
}
const retryableError = new TinyLLMError({ message: 'x', retryable: true })

describe('retry-after: honoured, clamped, or ignored for backoff', () => {
  /** The first attempt's error and the wait the policy derives from it. */
  async function waitAfter(headers: Record<string, string>, status = 429): Promise<number> {
    const chat = chatWith({ retry: { attempts: 1 } })
    const { error } = await attemptsAtServer({ kind: 'status', status, headers }, chat)
    // A fixed random draw (0): backoff without jitter, so the figures are exact.
    return retryDelay(chat.retry, 1, error as TinyLLMError, () => 0)
  }
  const rows: Array<[string, string]> = []

  it('uses the hint when it is a sane number of seconds or ms, clamped to maxRetryAfterMs (default 60 s)', async () => {
    expect(chatWith({ retry: { attempts: 1 } }).retry.maxRetryAfterMs).toBe(llmRetryDefaults.maxRetryAfterMs)
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ 'retry-after': '0.1' }, 100, 'retry-after: 0.1'],
      [{ 'retry-after': '2' }, 2_000, 'retry-after: 2'],
      [{ 'retry-after-ms': '20' }, 20, 'retry-after-ms: 20'],
      [{ 'retry-after-ms': '20', 'retry-after': '5' }, 20, 'retry-after-ms: 20 with retry-after: 5'],
      [{ 'retry-after': '86400' }, 60_000, 'retry-after: 86400 (huge)'],
      [{ 'retry-after-ms': '1e12' }, 500, 'retry-after-ms: 1e12 (not a plain number)'],
      [{ 'retry-after': '0' }, 0, 'retry-after: 0'],
    ]
    for (const [headers, expected, label] of cases) {
      expect(await waitAfter(headers), label).toBe(expected)
      rows.push([label, `${expected} ms`])
    }
    expect(await waitAfter({ 'retry-after': '3' }, 503)).toBe(3_000)
    rows.push(['503 with retry-after: 3', '3000 ms'])
  })

  it('an HTTP date counts from now; a date in the past means now', async () => {
    const ahead = await waitAfter({ 'retry-after': new Date(Date.now() + 30_000).toUTCString() })
    expect(ahead).toBeGreaterThan(25_000)
    expect(ahead).toBeLessThanOrEqual(30_000)
    expect(await waitAfter({ 'retry-after': new Date(Date.now() - 60_000).toUTCString() })).toBe(0)
    expect(await waitAfter({ 'retry-after': new Date(Date.now() + 10 * 86_400_000).toUTCString() })).toBe(60_000)
    rows.push(['retry-after: <HTTP date 30 s ahead>', '≈30000 ms'])
    rows.push(['retry-after: <HTTP date in the past>', '0 ms'])
    rows.push(['retry-after: <HTTP date 10 days ahead>', '60000 ms (clamped)'])
  })

  it('negative, garbage and empty hints are ignored: exponential backoff from 500 ms applies', async () => {
    for (const value of ['-1', 'soon', '', 'Infinity', 'NaN', '1e3']) {
      expect(await waitAfter({ 'retry-after': value }), value).toBe(500)
      rows.push([`retry-after: ${JSON.stringify(value)}`, '500 ms (backoff)'])
    }
  })

  it('the backoff without a hint grows ×2 per attempt from 500 ms, jittered by up to half, capped at 8 s', () => {
    const policy = chatWith({ retry: {} }).retry
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelay(policy, attempt, retryableError, () => 0))
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 8_000])
    expect(retryDelay(policy, 1, retryableError, () => 0.999_999)).toBeGreaterThanOrEqual(250)
  })

  it('a 429 storm starts one shared cool-down, clamped like the retry wait', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1_000, clock: new FakeClock() })
    const chat = chatWith({ retry: { attempts: 1, maxRetryAfterMs: 5_000 }, rateLimiter: limiter })
    await attemptsAtServer({ kind: 'status', status: 429, headers: { 'retry-after': '86400' } }, chat)
    expect(limiter.status().coolDownMs).toBe(5_000)
    rows.push(['limiter cool-down after retry-after: 86400 (maxRetryAfterMs 5 s)', '5000 ms'])
    recordFigures('Retry rules (3 attempts allowed; attempts counted at the server)', 2, [
      ['HTTP statuses retried', retried.join(', ')],
      ['HTTP statuses not retried', notRetried.join(', ')],
      ...retriedOther.map((label): [string, string] => [`  ${label}`, 'retried']),
      ...notRetriedOther.map((label): [string, string] => [`  ${label}`, 'not retried']),
      ['wait before the next attempt (defaults; jitter drawn as 0)', ''],
      ...rows.map(([label, value]): [string, string] => [`  ${label}`, value]),
    ])
  })
})

describe('one retry layer: the SDK underneath never retries', () => {
  it('with a client of your own that has SDK retries on, a failing call reaches the server exactly `attempts` times', async () => {
    const client = new OpenAI({ apiKey: 'sk-test-own-client', baseURL: server.baseURL, maxRetries: 5 })
    const chat = new OpenAIChat({
      name: 'own-client',
      model: 'gpt-4o-mini',
      client,
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    })
    expect((await attemptsAtServer({ kind: 'status', status: 500 }, chat)).requests).toBe(3)
    expect((await attemptsAtServer({ kind: 'reset-before-headers' }, chat)).requests).toBe(3)
  })

  it('the chat model alone sends one request per call, whatever the failure', async () => {
    const model = new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 'sk-test-model', baseURL: server.baseURL })
    for (const fault of [
      { kind: 'status', status: 429, headers: { 'retry-after': '0' } },
      { kind: 'status', status: 503 },
      { kind: 'reset-before-headers' },
    ] as const) {
      server.injectFaults(() => fault)
      const before = server.requests.length
      await expect(model.doGenerate(prompt)).rejects.toMatchObject({ retryable: true })
      expect(server.requests.length - before).toBe(1)
    }
    server.clearFaults()
  })

  it('the run record, the lifecycle events and the server count the same attempts', async () => {
    const chat = chatWith()
    const events: LifecycleEvent[] = []
    server.injectFaults([{ kind: 'status', status: 502 }, { kind: 'reset-after-headers' }])
    const before = server.requests.length
    const record = await chat.trace(prompt)
    server.clearFaults()
    expect(record.status).toBe('complete')
    expect(record.attempts).toBe(3)
    expect(server.requests.length - before).toBe(3)
    server.injectFaults([{ kind: 'status', status: 502 }])
    await chat.invoke(prompt, { onEvent: (event) => events.push(event) })
    expect(events.filter((event) => event.to === 'running')).toHaveLength(2)
    expect(events.find((event) => event.to === 'retrying')?.error).toMatchObject({ status: 502 })
  })

  it('a stream is retried until it has handed out text, never after', async () => {
    // Generous: a busy machine's pause before the first chunk must not time out (and retry) a stream the test counts.
    const chat = chatWith({ idleTimeoutMs: 2_000 })
    for (const [afterEvents, expected] of [
      [0, 3],
      [3, 1],
    ] as const) {
      server.injectFaults(() => ({ kind: 'cut-stream', afterEvents }))
      const before = server.requests.length
      const stream = chat.stream({ messages: [{ role: 'user', content: 'one two three four five six' }] })
      let deltas = 0
      try {
        for await (const _delta of stream) deltas += 1
      } catch {
        // `result` has the same error.
      }
      await expect(stream.result).rejects.toMatchObject({ name: 'ProviderCallError' })
      expect(server.requests.length - before).toBe(expected)
      expect(deltas > 0).toBe(afterEvents > 0)
      server.clearFaults()
    }
  })
})
