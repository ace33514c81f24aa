import { RateLimiter, type RateLimitPermit } from '@tinyllm/llm'
import { OpenAIChat } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { createSeededRandom, FakeClock } from '@tinyllm/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './__fixtures__/resources.js'
import { recordFigures } from './figures.js'

const minute = 60_000
const figures: Array<[string, string | number]> = []

let server: OpenAICompatibleServer
beforeAll(async () => {
  server = await startOpenAICompatibleServer({ replies: ['fine'], cycleReplies: true })
})
afterAll(() => server.close())

interface Grant {
  readonly at: number
  tokens: number
}

/** The most requests and tokens granted in any 60 s window `[t, t + 60 s)`; the busiest windows start at a grant. */
function busiestWindow(grants: readonly Grant[]): { requests: number; tokens: number } {
  const sorted = [...grants].sort((a, b) => a.at - b.at)
  let requests = 0
  let tokens = 0
  let end = 0
  let windowTokens = 0
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && (sorted[end] as Grant).at < (sorted[start] as Grant).at + minute) {
      windowTokens += (sorted[end] as Grant).tokens
      end += 1
    }
    requests = Math.max(requests, end - start)
    tokens = Math.max(tokens, windowTokens)
    windowTokens -= (sorted[start] as Grant).tokens
  }
  return { requests, tokens }
}

describe('requests and tokens per minute, on a fake clock', () => {
  it('never grants more than requestsPerMinute or tokensPerMinute in any 60 s window', async () => {
    const requestsPerMinute = 60
    const tokensPerMinute = 20_000
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute, tokensPerMinute, clock })
    const random = createSeededRandom(42)
    const grants: Grant[] = []
    let aborted = 0
    const acquisitions: Promise<void>[] = []
    // 3,000 acquisitions over about 45 simulated minutes, in bursts: estimates up to 800 tokens, one in ten
    // cancelled while it waits, most settled with less than estimated (a call uses fewer tokens than its maximum).
    for (let index = 0; index < 3_000; index++) {
      const estimate = 1 + Math.floor(random() * 800)
      const controller = new AbortController()
      const settleWith = random() < 0.7 ? Math.floor(estimate * random()) : estimate
      acquisitions.push(
        limiter.acquire({ tokens: estimate }, controller.signal).then(
          (permit: RateLimitPermit) => {
            const grant: Grant = { at: permit.grantedAt, tokens: estimate }
            grants.push(grant)
            limiter.settle(permit, settleWith)
            grant.tokens = settleWith
          },
          () => {
            aborted += 1
          },
        ),
      )
      if (random() < 0.1) {
        const abortAfter = Math.floor(random() * 30_000)
        clock.setTimeout(() => controller.abort(), abortAfter)
      }
      if (random() < 0.05) await clock.advance(Math.floor(random() * 20_000))
    }
    while (limiter.status().waiting > 0) await clock.advance(1_000)
    await Promise.all(acquisitions)
    expect(grants.length + aborted).toBe(3_000)
    const busiest = busiestWindow(grants)
    expect(busiest.requests).toBeLessThanOrEqual(requestsPerMinute)
    expect(busiest.tokens).toBeLessThanOrEqual(tokensPerMinute)
    // A seeded simulation on a fake clock gives the same figures on every run: these are the ones guarantees.md
    // quotes. A limiter that grants less than it may (a window it never fills) or serves cancelled waiters changes them.
    expect({ grants: grants.length, aborted, minutes: Math.round(clock.now() / minute) }).toEqual({
      grants: 2_709,
      aborted: 291,
      minutes: 45,
    })
    expect(busiest).toEqual({ requests: 60, tokens: 19_876 })
    figures.push(
      [
        'limiter simulated',
        `${grants.length} grants, ${aborted} cancelled while queued, over ${(clock.now() / minute).toFixed(0)} simulated minutes`,
      ],
      ['most requests in any 60 s window', `${busiest.requests} (requestsPerMinute ${requestsPerMinute})`],
      ['most tokens in any 60 s window', `${busiest.tokens} (tokensPerMinute ${tokensPerMinute})`],
    )
  })

  it('over real HTTP, OpenAIChat calls sharing a limiter reach the server at most requestsPerMinute per minute', async () => {
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 10, tokensPerMinute: 100_000, clock })
    const chat = new OpenAIChat({
      name: 'limited',
      model: 'gpt-4o-mini',
      apiKey: 'sk-test-limits',
      baseURL: server.baseURL,
      maxTokens: 100,
      rateLimiter: limiter,
    })
    const first = server.requests.length
    const calls = Array.from({ length: 35 }, () => chat.invoke({ messages: [{ role: 'user', content: 'hello' }] }))
    const perMinute: number[] = []
    let seen = 0
    for (let minuteIndex = 0; minuteIndex < 4; minuteIndex++) {
      const granted = Math.min(35, 10 * (minuteIndex + 1))
      expect(await eventually(() => server.requests.length - first === granted, 5_000)).toBe(true)
      // Nothing more can follow within this minute: every other call is still queued at the limiter.
      expect(limiter.status().waiting).toBe(35 - granted)
      perMinute.push(granted - seen)
      seen = granted
      await clock.advance(minute)
    }
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 35 }, () => 'fine'))
    expect(perMinute).toEqual([10, 10, 10, 5])
    figures.push([
      '35 OpenAIChat calls, requestsPerMinute 10',
      `requests at the server per minute: ${perMinute.join(', ')}`,
    ])
  })

  it('a call that could never fit the token limit fails at once with a non-retryable RateLimitError', async () => {
    const limiter = new RateLimiter({ tokensPerMinute: 1_000 })
    await expect(limiter.acquire({ tokens: 5_000 })).rejects.toMatchObject({ name: 'RateLimitError', retryable: false })
  })
})

describe('a storm of 429s becomes one shared cool-down', () => {
  it('50 calls answered 429 at once: one pause for all, no request reaches the server until it ends', async () => {
    const calls = 50
    const clock = new FakeClock()
    const limiter = new RateLimiter({ requestsPerMinute: 1_000, clock })
    const chat = new OpenAIChat({
      name: 'storm',
      model: 'gpt-4o-mini',
      apiKey: 'sk-test-storm',
      baseURL: server.baseURL,
      rateLimiter: limiter,
      retry: { attempts: 2, maxRetryAfterMs: 60_000 },
    })
    const first = server.requests.length
    // Every call's first request is refused: 429, retry-after-ms between 20 and 50 (the limiter's clock is fake; the
    // retry sleep is real and short).
    server.injectFaults(
      Array.from({ length: calls }, (_, index) => ({
        kind: 'status' as const,
        status: 429,
        headers: { 'retry-after-ms': String(20 + (index % 31)) },
      })),
    )
    const results = Array.from({ length: calls }, () => chat.invoke({ messages: [{ role: 'user', content: 'hi' }] }))
    // Each call slept through its own retry-after, and now waits for the limiter's cool-down.
    expect(await eventually(() => limiter.status().waiting === calls, 10_000)).toBe(true)
    const refused = server.requests.length - first
    const coolDownMs = limiter.status().coolDownMs
    await server.whenIdle()
    const duringCoolDown = server.requests.length - first - refused
    expect(refused).toBe(calls)
    expect(duringCoolDown).toBe(0)
    // One pause, as long as the longest hint — not 50 pauses one after another.
    expect(coolDownMs).toBe(50)
    await clock.advance(coolDownMs)
    expect(await Promise.all(results)).toEqual(Array.from({ length: calls }, () => 'fine'))
    expect(server.requests.length - first).toBe(2 * calls)
    server.clearFaults()
    figures.push(
      ['429 storm', `${calls} calls refused with 429 (retry-after-ms 20–50) at once`],
      ['  shared cool-down', `${coolDownMs} ms (the longest hint; not ${calls} pauses)`],
      ['  requests at the server during the cool-down', duringCoolDown],
      ['  requests after it', server.requests.length - first - refused],
    )
    recordFigures('Rate limits (fake clock)', 4, figures)
  })

  it.each(['undici', 'fetch'] as const)(
    'a 429 the server calls final (x-should-retry: false) still starts the cool-down its retry-after asks for (%s)',
    async (transport) => {
      const clock = new FakeClock()
      const limiter = new RateLimiter({ requestsPerMinute: 1_000, clock })
      const chat = new OpenAIChat({
        name: 'final-429',
        model: 'gpt-4o-mini',
        apiKey: 'sk-test-final-429',
        baseURL: server.baseURL,
        transport,
        rateLimiter: limiter,
      })
      const first = server.requests.length
      server.injectFaults([
        { kind: 'status', status: 429, headers: { 'retry-after': '20', 'x-should-retry': 'false' } },
      ])
      const error = await chat
        .invoke({ messages: [{ role: 'user', content: 'hi' }] })
        .catch((caught: unknown) => caught)
      server.clearFaults()
      // Not retried, as the server said; but the account is limited for 20 s, and every call sharing the limiter waits.
      expect(error).toMatchObject({ name: 'RateLimitError', status: 429, retryable: false })
      expect(server.requests.length - first).toBe(1)
      expect(limiter.status().coolDownMs).toBe(20_000)
      const next = chat.invoke({ messages: [{ role: 'user', content: 'hi' }] })
      // The next call waits at the limiter, unsent: seen as a waiter, not as a request that has not arrived yet.
      expect(await eventually(() => limiter.status().waiting === 1, 10_000)).toBe(true)
      await clock.advance(19_999)
      expect(limiter.status().waiting).toBe(1)
      await server.whenIdle()
      expect(server.requests.length - first).toBe(1)
      await clock.advance(1)
      expect(await next).toBe('fine')
      expect(server.requests.length - first).toBe(2)
    },
  )
})
