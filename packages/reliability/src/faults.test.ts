import { getEventListeners } from 'node:events'
import { type LifecycleEvent, TimeoutError, TinyLLMError } from '@tinyllm/core'
import { OpenAIChat } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { expect, it } from 'vitest'
import { withDeadline } from './__fixtures__/deadline.js'
import { faultVariants, mixedFaults, responseCapBytes, variantOf } from './__fixtures__/fault-mix.js'
import { activeResources, eventually, resourceGrowth, socketsIn, timersIn } from './__fixtures__/resources.js'
import { countsOf, recordFigures } from './figures.js'

const calls = 10_000
const faultRate = 0.2
const concurrency = 128
/** Every fourth call streams, so stream faults meet a stream. */
const streamEvery = 4
/**
 * Far beyond any call's own limits (3 attempts × 5 s, 30 s in all): a call still pending then is hanging. The limits
 * are generous so that a busy machine (load 10 on 2 cores) slows the suite down without changing what it proves.
 */
const hangDeadlineMs = 120_000
/** What each call's answer starts with: the server echoes the last user message, so answers cannot cross. */
const question = (index: number): string => `call ${index} asks for an answer of several words`

interface CallOutcome {
  /** `result`, the error's name, `untyped` for a rejection that is not a tinyllm error, or `hanging`. */
  readonly outcome: string
  readonly attempts: number
  /** Attempts that ended in a timeout of their own: they may have ended before their request reached the server. */
  readonly timedOutAttempts: number
  readonly stream: boolean
  readonly error?: unknown
}

// About 25 s on an idle 2-core machine; the bound is for one with a load of 10 beside it, and asserts nothing.
it('10,000 calls with 20% mixed faults: every call ends in its result or a typed error, none lost or hanging, nothing leaked', {
  timeout: 600_000,
}, async () => {
  const resourcesBefore = activeResources()
  const startedAt = performance.now()
  const server = await startOpenAICompatibleServer({ faults: mixedFaults(faultRate, 20_260_101) })
  const chat = new OpenAIChat({
    name: 'faulty-provider',
    model: 'gpt-4o-mini',
    apiKey: 'sk-test-reliability',
    baseURL: server.baseURL,
    maxResponseBytes: responseCapBytes,
    // Fast backoff for the suite; retry-after hints clamped to 100 ms, so 0.1 s is honoured and 86400 s is not.
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 10, maxRetryAfterMs: 100 },
    attemptTimeoutMs: 5_000,
    idleTimeoutMs: 2_000,
    timeoutMs: 30_000,
  })
  // One signal shared by every call: it must hold no listener once they have all settled.
  const shared = new AbortController()

  const outcomes: CallOutcome[] = new Array(calls)
  let settled = 0

  const runCall = async (index: number): Promise<void> => {
    let attempts = 0
    let timedOutAttempts = 0
    const onEvent = (event: LifecycleEvent): void => {
      if (event.to === 'running') attempts += 1
      if (event.from === 'running' && TimeoutError.isInstance(event.error) && event.error.kind !== 'total') {
        timedOutAttempts += 1
      }
    }
    const input = { messages: [{ role: 'user' as const, content: question(index) }] }
    const options = { signal: shared.signal, onEvent }
    const stream = index % streamEvery === 0
    const work = stream
      ? (async () => {
          const streaming = chat.stream(input, options)
          try {
            for await (const _delta of streaming);
          } catch {
            // The same error is `result`'s.
          }
          return streaming.result
        })()
      : chat.invoke(input, options)
    const settlement = await withDeadline(work, hangDeadlineMs)
    if (settlement.status === 'hanging') {
      outcomes[index] = { outcome: 'hanging', attempts, timedOutAttempts, stream }
      return
    }
    settled += 1
    if (settlement.status === 'fulfilled') {
      expect(settlement.value).toBe(question(index))
      outcomes[index] = { outcome: 'result', attempts, timedOutAttempts, stream }
    } else {
      const error = settlement.error
      const outcome = TinyLLMError.isInstance(error) ? error.name : 'untyped'
      outcomes[index] = { outcome, attempts, timedOutAttempts, stream, error }
    }
  }

  let next = 0
  const worker = async (): Promise<void> => {
    while (next < calls) await runCall(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const callsMs = performance.now() - startedAt

  // ---- zero lost, zero hanging, every error typed -----------------------------------------------------------------
  const recorded = outcomes.filter((outcome) => outcome !== undefined)
  const hanging = recorded.filter((outcome) => outcome.outcome === 'hanging').length
  const lost = calls - settled - hanging
  const byOutcome = countsOf(recorded.map((outcome) => outcome.outcome))
  expect(recorded).toHaveLength(calls)
  expect(hanging).toBe(0)
  expect(lost).toBe(0)
  expect(byOutcome.get('untyped') ?? 0).toBe(0)
  for (const name of byOutcome.keys()) {
    expect(['result', 'ProviderCallError', 'RateLimitError', 'TimeoutError']).toContain(name)
  }

  // ---- attempts counted at the server: one HTTP request per attempt, no SDK retry underneath ---------------------
  const idle = await withDeadline(server.whenIdle(), hangDeadlineMs)
  expect(idle.status).toBe('fulfilled')
  const requestsPerCall = new Map<number, number>()
  for (const request of server.requests) {
    const messages = (request.body as { messages?: Array<{ content?: unknown }> } | undefined)?.messages
    const index = Number(/^call (\d+) /.exec(String(messages?.at(-1)?.content))?.[1])
    requestsPerCall.set(index, (requestsPerCall.get(index) ?? 0) + 1)
  }
  // Every request is one attempt (no retry underneath); an attempt without a request is one that ran out of its own
  // time before its request reached the server, which a busy machine makes happen. Both books balance per call.
  const totalAttempts = recorded.reduce((sum, outcome) => sum + outcome.attempts, 0)
  const unsentAllowance = recorded.reduce((sum, outcome) => sum + outcome.timedOutAttempts, 0)
  expect(server.requests.length).toBeLessThanOrEqual(totalAttempts)
  expect(totalAttempts - server.requests.length).toBeLessThanOrEqual(unsentAllowance)
  let mismatched = 0
  for (const [index, outcome] of recorded.entries()) {
    const requests = requestsPerCall.get(index) ?? 0
    if (requests > outcome.attempts || outcome.attempts - requests > outcome.timedOutAttempts) mismatched += 1
  }
  expect(mismatched).toBe(0)
  expect(Math.max(...recorded.map((outcome) => outcome.attempts))).toBe(3)
  // A JSON call that failed with a retryable error used every attempt (streams stop retrying once text was handed out).
  const gaveUpEarly = recorded.filter(
    (outcome) =>
      !outcome.stream &&
      outcome.outcome !== 'result' &&
      (outcome.error as TinyLLMError).retryable &&
      outcome.attempts !== 3,
  )
  expect(gaveUpEarly).toHaveLength(0)

  // ---- nothing left behind: listeners, requests, sockets, timers -------------------------------------------------
  const listenersLeft = getEventListeners(shared.signal, 'abort').length
  const pendingAtServer = server.requests.filter((request) => request.outcome === 'pending').length
  expect(listenersLeft).toBe(0)
  expect(server.inFlight).toBe(0)
  expect(pendingAtServer).toBe(0)
  // Idle keep-alive connections close on their own (the client's keep-alive timeout is a few seconds).
  await eventually(() => server.openSockets === 0, 20_000)
  const serverSocketsLeft = server.openSockets
  expect(serverSocketsLeft).toBe(0)

  const faultCounts = server.faultCounts
  const byVariant = countsOf(
    server.requests.flatMap((request) => (request.fault === undefined ? [] : [variantOf(request.fault)])),
  )
  const requests = server.requests.length
  const streamed = recorded.filter((outcome) => outcome.stream).length
  const retriedCalls = recorded.filter((outcome) => outcome.attempts > 1).length
  const recovered = recorded.filter((outcome) => outcome.attempts > 1 && outcome.outcome === 'result').length
  await server.close()

  await eventually(() => resourceGrowth(resourcesBefore, activeResources()).size === 0, 10_000)
  const growth = resourceGrowth(resourcesBefore, activeResources())
  const timersLeft = timersIn(growth)
  const socketsLeft = socketsIn(growth)
  expect(Object.fromEntries(growth)).toEqual({})

  const faultsInjected = Object.values(faultCounts).reduce((sum, count) => sum + count, 0)
  expect(byVariant.size).toBe(faultVariants.length)
  recordFigures('Faults: 10,000 calls through OpenAIChat over real HTTP, 20% mixed faults', 1, [
    ['calls', calls],
    ['  of which streamed', streamed],
    ['concurrency', concurrency],
    ['attempts (lifecycle events)', totalAttempts],
    ['HTTP requests at the server', requests],
    ['  attempts that timed out before reaching the server', totalAttempts - requests],
    [
      'faults injected (server faultCounts)',
      `${faultsInjected} (${((faultsInjected / requests) * 100).toFixed(1)}% of requests)`,
    ],
    ...Object.entries(faultCounts).map(([kind, count]): [string, number] => [`  ${kind}`, count]),
    ['faults injected by variant (request log)', ''],
    ...[...byVariant].map(([variant, count]): [string, number] => [`  ${variant}`, count]),
    ['calls retried', retriedCalls],
    ['  recovered by a retry', recovered],
    ['outcomes', ''],
    ...[...byOutcome].map(([outcome, count]): [string, number] => [`  ${outcome}`, count]),
    ['answers delivered to the wrong call', 0],
    ['lost', lost],
    ['hanging', hanging],
    ['untyped errors', byOutcome.get('untyped') ?? 0],
    ['abort listeners left on the shared signal', listenersLeft],
    ['requests pending at the server', pendingAtServer],
    ['server sockets left open', serverSocketsLeft],
    ['timers leaked (getActiveResourcesInfo)', timersLeft],
    ['sockets leaked (getActiveResourcesInfo)', socketsLeft],
    ['wall time of the 10,000 calls', `${(callsMs / 1000).toFixed(1)} s`],
  ])
})
