import { getEventListeners } from 'node:events'
import { AbortError, Function, type RunContext, TimeoutError, type TinyLLMError } from '@tinyllm/core'
import { Parallel } from '@tinyllm/flow'
import { RateLimiter } from '@tinyllm/llm'
import { OpenAIChat, type OpenAIChatOptions } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { LoggedRequest } from '@tinyllm/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { withDeadline } from './__fixtures__/deadline.js'
import { hangingRoutes } from './__fixtures__/hanging-routes.js'
import { activeResources, eventually, resourceGrowth, timersIn } from './__fixtures__/resources.js'
import { recordFigures } from './figures.js'

/** A cancelled call that has not rejected after this long is hanging. Only detects hangs; nothing is timed by it. */
const hangDeadlineMs = 10_000
const prompt = { messages: [{ role: 'user' as const, content: 'Tell me a long story' }] }

let server: OpenAICompatibleServer
beforeAll(async () => {
  server = await startOpenAICompatibleServer({ routes: hangingRoutes, replies: ['fine'], cycleReplies: true })
})
afterAll(() => server.close())

type Route = 'v1' | 'hang/v1' | 'slow-stream/v1'

function chatAt(route: Route, options: Readonly<Record<string, unknown>> = {}): OpenAIChat {
  return new OpenAIChat({
    name: `chat at /${route}`,
    model: 'gpt-4o-mini',
    apiKey: 'sk-test-cancellation',
    baseURL: `${server.url}/${route}`,
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    ...options,
  } as OpenAIChatOptions)
}

interface Cancelled {
  readonly error: TinyLLMError
  /** From the abort (or the start, for deadlines) to the rejection. */
  readonly rejectedAfterMs: number
  /** The requests the case sent, once the server has closed them. */
  readonly requests: readonly LoggedRequest[]
}

const figures: Array<[string, string]> = []

/**
 * Starts `call`, waits for `ready`, aborts, and returns how the call ended and what the server saw. Fails when the call
 * is still pending {@link hangDeadlineMs} after the abort, or leaves a listener on the signal or a timer behind.
 */
async function cancel(
  label: string,
  call: (signal: AbortSignal) => Promise<unknown>,
  ready: () => boolean | Promise<unknown>,
  abort: (controller: AbortController) => void = (controller) => controller.abort(),
  /** How many requests the call sends: a request the client closed may reach a busy server's log after it settled. */
  requestsSent = 0,
): Promise<Cancelled> {
  const resourcesBefore = activeResources()
  const first = server.requests.length
  const controller = new AbortController()
  const settlement = withDeadline(call(controller.signal), hangDeadlineMs)
  const readiness = ready()
  if (typeof readiness !== 'boolean') await readiness
  const abortedAt = performance.now()
  abort(controller)
  const settled = await settlement
  const rejectedAfterMs = performance.now() - abortedAt
  expect(settled.status, `${label}: rejected`).toBe('rejected')
  const error = (settled as { error: TinyLLMError }).error
  await eventually(
    () =>
      server.requests.length - first >= requestsSent &&
      server.requests.slice(first).every((request) => request.outcome !== 'pending'),
    5_000,
  )
  const requests = server.requests.slice(first)
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  await eventually(() => timersIn(resourceGrowth(resourcesBefore, activeResources())) === 0, 2_000)
  expect(timersIn(resourceGrowth(resourcesBefore, activeResources())), `${label}: timers left`).toBe(0)
  const outcomes = requests.length === 0 ? 'no request sent' : requests.map((request) => request.outcome).join(', ')
  figures.push([label, `${error.name} after ${rejectedAfterMs.toFixed(1)} ms; server: ${outcomes}`])
  return { error, rejectedAfterMs, requests }
}

const inFlight = (count: number) => () => eventually(() => server.inFlight === count, 5_000)

describe('cancellation rejects promptly with an AbortError, and the server sees the request closed', () => {
  it('before the start: nothing is sent', async () => {
    const chat = chatAt('v1')
    const { error, requests } = await cancel(
      'abort before start',
      async (signal) => {
        await new Promise((resolve) => setImmediate(resolve))
        return chat.invoke(prompt, { signal })
      },
      () => true,
    )
    expect(AbortError.isInstance(error)).toBe(true)
    expect(requests).toHaveLength(0)
  })

  it('during a call: the in-flight request is closed', async () => {
    const chat = chatAt('hang/v1')
    const { error, requests } = await cancel(
      'abort during a call',
      (signal) => chat.invoke(prompt, { signal }),
      inFlight(1),
    )
    expect(AbortError.isInstance(error)).toBe(true)
    expect(requests.map((request) => request.outcome)).toEqual(['client-closed'])
  })

  it('during a backoff sleep (a 30 s retry-after): no further request is sent', async () => {
    const chat = chatAt('v1')
    server.injectFaults([{ kind: 'status', status: 429, headers: { 'retry-after': '30' } }])
    let retrying = false
    const { error, requests } = await cancel(
      'abort during a backoff sleep',
      (signal) => chat.invoke(prompt, { signal, onEvent: (event) => (retrying ||= event.to === 'retrying') }),
      () => eventually(() => retrying, 5_000),
    )
    expect(AbortError.isInstance(error)).toBe(true)
    expect(requests.map((request) => request.outcome)).toEqual(['fault'])
    await server.whenIdle()
    expect(server.requests.at(-1)).toBe(requests[0])
  })

  it('while queued at the rate limiter: the call leaves the queue unsent', async () => {
    const limiter = new RateLimiter({ requestsPerMinute: 1 })
    await limiter.acquire()
    const chat = chatAt('v1', { rateLimiter: limiter })
    const { error, requests } = await cancel(
      'abort while queued at the rate limiter',
      (signal) => chat.invoke(prompt, { signal }),
      () => eventually(() => limiter.status().waiting === 1, 5_000),
    )
    expect(AbortError.isInstance(error)).toBe(true)
    expect(requests).toHaveLength(0)
    expect(limiter.status().waiting).toBe(0)
  })

  it('mid-stream: after the first text, the stream and its result reject and the response is closed', async () => {
    const chat = chatAt('slow-stream/v1')
    let text = ''
    let iterationError: unknown
    const { error, requests } = await cancel(
      'abort mid-stream',
      async (signal) => {
        const stream = chat.stream(prompt, { signal })
        try {
          for await (const delta of stream) if (delta.type === 'text-delta') text += delta.text
        } catch (thrown) {
          iterationError = thrown
        }
        return stream.result
      },
      () => eventually(() => text !== '', 5_000),
    )
    expect(text).toBe('The answer is')
    expect(AbortError.isInstance(error)).toBe(true)
    expect(iterationError).toBe(error)
    expect(requests.map((request) => request.outcome)).toEqual(['client-closed'])
  })

  it('inside one Parallel branch: that branch rejects, its request is closed, the others complete', async () => {
    const hanging = chatAt('hang/v1')
    const answering = chatAt('v1')
    const branchController = new AbortController()
    /** A branch that cancels its own call through a signal of its own. */
    class CancellableBranch extends Function<typeof prompt, string> {
      run(input: typeof prompt, context: RunContext): Promise<string> {
        return context.invoke(hanging, input, { signal: branchController.signal })
      }
    }
    const parallel = new Parallel({
      name: 'three answers',
      mode: 'settle-all',
      children: { cancelled: new CancellableBranch({ name: 'cancelled' }), first: answering, second: answering },
    })
    let result: Awaited<ReturnType<typeof parallel.invoke>> | undefined
    const { error, requests } = await cancel(
      'abort inside one Parallel branch',
      async () => {
        result = await parallel.invoke(prompt)
        throw result.cancelled?.status === 'rejected' ? result.cancelled.error : new Error('the branch completed')
      },
      inFlight(1),
      () => branchController.abort(),
    )
    expect(AbortError.isInstance(error)).toBe(true)
    expect(result?.first).toEqual({ status: 'fulfilled', value: 'fine' })
    expect(result?.second).toEqual({ status: 'fulfilled', value: 'fine' })
    expect(requests.map((request) => `${request.path} ${request.outcome}`).sort()).toEqual([
      '/hang/v1/chat/completions client-closed',
      '/v1/chat/completions completed',
      '/v1/chat/completions completed',
    ])
    expect(getEventListeners(branchController.signal, 'abort')).toHaveLength(0)
  })

  it('aborting a Parallel cancels every branch in flight', async () => {
    const hanging = chatAt('hang/v1')
    const parallel = new Parallel({ name: 'fan-out', map: hanging, concurrency: 3 })
    let record: Awaited<ReturnType<typeof parallel.trace>> | undefined
    const { error, requests } = await cancel(
      'abort a Parallel with 3 branches in flight',
      async (signal) => {
        record = await parallel.trace([prompt, prompt, prompt, prompt], { signal })
        throw record.error
      },
      inFlight(3),
    )
    expect(AbortError.isInstance(error)).toBe(true)
    expect(requests.map((request) => request.outcome)).toEqual(['client-closed', 'client-closed', 'client-closed'])
    expect(record?.children.map((child) => child.error?.name)).toEqual(['AbortError', 'AbortError', 'AbortError'])
  })

  it('a failing Parallel branch (fail-fast) cancels its siblings in flight', async () => {
    const hanging = chatAt('hang/v1')
    class FailsOnceOthersAreInFlight extends Function<typeof prompt, string> {
      async run(): Promise<string> {
        await eventually(() => server.inFlight === 2, 5_000)
        throw new Error('this branch failed')
      }
    }
    const parallel = new Parallel({
      name: 'fail-fast',
      children: { failing: new FailsOnceOthersAreInFlight({ name: 'failing' }), a: hanging, b: chatAt('hang/v1') },
    })
    let record: Awaited<ReturnType<typeof parallel.trace>> | undefined
    const { error, requests } = await cancel(
      'one Parallel branch fails (fail-fast)',
      async () => {
        record = await parallel.trace(prompt)
        throw record.error
      },
      () => true,
      () => {},
    )
    expect(error.name).toBe('FunctionError')
    expect(error.message).toContain('this branch failed')
    expect(requests.map((request) => request.outcome)).toEqual(['client-closed', 'client-closed'])
    expect(record?.children.map((child) => child.error?.name).sort()).toEqual([
      'AbortError',
      'AbortError',
      'FunctionError',
    ])
  })
})

describe('deadlines cancel like an abort, with a TimeoutError', () => {
  it('a total timeout closes the request and is not retried', async () => {
    // The call's clock stands still until the server holds its request: on a busy machine its 200 ms could otherwise
    // pass before the request is out, and there would be no request to close (its timer, early by that clock, waits on).
    const now = Date.now
    let stoppedAt: number | undefined = now()
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => stoppedAt ?? now())
    try {
      const chat = chatAt('hang/v1', { timeoutMs: 200 })
      const { error, requests } = await cancel(
        'total timeout (200 ms)',
        (signal) => chat.invoke(prompt, { signal }),
        async () => {
          // Bounded by turns, not by the clock, which stands still meanwhile.
          for (let turn = 0; turn < 250 && server.inFlight === 0; turn++) {
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          stoppedAt = undefined
        },
        () => {},
        1,
      )
      expect(TimeoutError.isInstance(error) && error.kind).toBe('total')
      expect(requests.map((request) => request.outcome)).toEqual(['client-closed'])
    } finally {
      clock.mockRestore()
    }
  })

  it('an attempt timeout closes each request and retries', async () => {
    // Generous: on a busy machine a request closed after 100 ms may not have reached the server yet.
    const chat = chatAt('hang/v1', { attemptTimeoutMs: 1_000, retry: { attempts: 2, initialDelayMs: 1 } })
    const { error, requests } = await cancel(
      'attempt timeout (1,000 ms, 2 attempts)',
      (signal) => chat.invoke(prompt, { signal }),
      () => true,
      () => {},
      2,
    )
    expect(TimeoutError.isInstance(error) && error.kind).toBe('attempt')
    expect(requests.map((request) => request.outcome)).toEqual(['client-closed', 'client-closed'])
  })

  it('an idle stream times out and its response is closed', async () => {
    // Generous: a busy machine's own pause before the first chunks must not reach it (the call would then be retried).
    const chat = chatAt('slow-stream/v1', { idleTimeoutMs: 1_000 })
    const { error, requests } = await cancel(
      'stream idle timeout (1,000 ms)',
      (signal) => chat.stream(prompt, { signal }).result,
      () => true,
      () => {},
    )
    expect(TimeoutError.isInstance(error) && error.kind).toBe('idle')
    // It had handed out text, so it is not retried.
    expect(requests.map((request) => request.outcome)).toEqual(['client-closed'])
    recordFigures('Cancellation and deadlines (time from abort to rejection; request log outcome)', 3, figures)
  })
})
