import {
  ConfigurationError,
  Function,
  formatRunTree,
  type RunContext,
  StepLimitError,
  TimeoutError,
  type TinyLLMError,
} from '@tinyllm/core'
import { Chain, Decision, Parallel } from '@tinyllm/flow'
import { OpenAIChat, type OpenAIChatOptions } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withDeadline } from './__fixtures__/deadline.js'
import { recordFigures } from './figures.js'

const figures: Array<[string, string | number]> = []
const prompt = { messages: [{ role: 'user' as const, content: 'Hello' }] }

let server: OpenAICompatibleServer
beforeAll(async () => {
  server = await startOpenAICompatibleServer({
    replies: ['fine'],
    cycleReplies: true,
    routes: {
      // A stream that never ends: only a limit on the reader can stop it.
      'POST /endless/v1/chat/completions': ({ signal }) => ({
        sse: (async function* () {
          const delta = (content: string) => ({
            id: 'chatcmpl-endless',
            object: 'chat.completion.chunk',
            created: 0,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
          })
          yield delta('')
          while (!signal.aborted) yield delta('and on '.repeat(100))
        })(),
      }),
    },
  })
})
afterAll(() => server.close())

function chatAt(route: string, options: Readonly<Record<string, unknown>> = {}): OpenAIChat {
  return new OpenAIChat({
    name: 'limited',
    model: 'gpt-4o-mini',
    apiKey: 'sk-test-limits',
    baseURL: `${server.url}${route}`,
    retry: { attempts: 3, initialDelayMs: 1 },
    ...options,
  } as OpenAIChatOptions)
}

class Increment extends Function<number, number> {
  run(value: number): number {
    return value + 1
  }
}

describe('a cap on response size', () => {
  it('a JSON answer larger than maxResponseBytes fails at once, unread and not retried', async () => {
    const chat = chatAt('/v1', { maxResponseBytes: 64 * 1024 })
    server.injectFaults([{ kind: 'oversized', bytes: 10 * 1024 * 1024 }])
    const first = server.requests.length
    const error = (await chat.invoke(prompt).catch((thrown: unknown) => thrown)) as TinyLLMError
    expect(error).toMatchObject({
      name: 'ProviderCallError',
      providerErrorType: 'response_too_large',
      retryable: false,
    })
    expect(server.requests.length - first).toBe(1)
    await server.whenIdle()
    figures.push(['10 MB JSON answer, maxResponseBytes 64 KiB', `${error.name} (response_too_large), 1 request`])
  })

  it('a streamed answer that grows past the cap fails when it crosses it', async () => {
    server.setReplies([{ content: 'word '.repeat(40_000) }], { cycle: true })
    const chat = chatAt('/v1', { maxResponseBytes: 64 * 1024 })
    const stream = chat.stream(prompt)
    let text = 0
    try {
      for await (const delta of stream) if (delta.type === 'text-delta') text += delta.text.length
    } catch {
      // `result` has the same error.
    }
    await expect(stream.result).rejects.toMatchObject({ providerErrorType: 'response_too_large' })
    expect(text).toBeLessThan(64 * 1024)
    server.setReplies(['fine'], { cycle: true })
    await server.whenIdle()
    figures.push(['200 KB streamed answer, maxResponseBytes 64 KiB', `rejected after ${text} characters of text`])
  })

  it('an endless stream is stopped by the cap (the default is 8 MiB)', async () => {
    const settled = await withDeadline(chatAt('/endless/v1').stream(prompt).result, 60_000)
    expect(settled.status).toBe('rejected')
    expect((settled as { error: TinyLLMError }).error).toMatchObject({ providerErrorType: 'response_too_large' })
    await server.whenIdle()
    figures.push(['endless stream, default cap (8 MiB)', 'ProviderCallError (response_too_large)'])
  })
})

describe('long and deep graphs', () => {
  it('a 10,000-step Chain runs, traces, prints and serialises without a stack overflow', async () => {
    const steps = Array.from({ length: 10_000 }, (_, index) => new Increment({ name: `step ${index}` }))
    const chain = new Chain({ name: 'ten thousand steps', children: steps as [Increment, ...Increment[]] })
    expect(await chain.invoke(0)).toBe(10_000)
    const record = await chain.trace(0)
    expect(record.status).toBe('complete')
    expect(record.children).toHaveLength(10_000)
    expect(formatRunTree(record).split('\n').length).toBeGreaterThan(10_000)
    expect(JSON.parse(JSON.stringify(record)).children).toHaveLength(10_000)
    figures.push(['Chain of 10,000 steps', 'completes; its run tree prints and serialises'])
  })

  it('Chains nested 1,000 deep run, without a stack overflow', async () => {
    let graph: Function<number, number> = new Increment({ name: 'leaf' })
    for (let depth = 0; depth < 999; depth++) graph = new Chain({ name: `level ${depth}`, children: [graph] })
    expect(await graph.invoke(0)).toBe(1)
    const record = await graph.trace(0)
    expect(record.status).toBe('complete')
    expect(formatRunTree(record).length).toBeGreaterThan(0)
    figures.push(['Chains nested 1,000 deep', 'complete'])
  })
})

describe('every construct that can loop has a limit, with a typed error', () => {
  it('retries: attempts must be a finite whole number', () => {
    for (const attempts of [Number.POSITIVE_INFINITY, 0, 2.5, Number.NaN]) {
      expect(() => chatAt('/v1', { retry: { attempts } })).toThrow(ConfigurationError)
    }
    figures.push(['retries', 'bounded by retry.attempts (a finite integer ≥ 1; default 3 for LLM calls)'])
  })

  it('a Function that invokes itself without end fails with a StepLimitError, not a stack overflow', async () => {
    class Forever extends Function<number, number> {
      run(depth: number, context: RunContext): Promise<number> {
        return context.invoke(this, depth + 1)
      }
    }
    const settled = await withDeadline(new Forever({ name: 'forever' }).invoke(0), 30_000)
    expect(settled.status).toBe('rejected')
    const error = (settled as { error: TinyLLMError }).error
    expect(StepLimitError.isInstance(error)).toBe(true)
    expect(error.message).toMatch(/forever: step limit of 1000 nested runs reached/)
    figures.push(['recursion without end (a Function invoking itself)', `${error.name}: ${error.message}`])
  })

  it('a Decision whose branch leads back to itself fails with a StepLimitError', async () => {
    const again = new (class extends Function<number, number> {
      run(value: number, context: RunContext): Promise<number> {
        return context.invoke(loop, value + 1)
      }
    })({ name: 'again' })
    const loop = new Decision({
      name: 'loop',
      decide: () => 'again',
      branches: { again },
    })
    const settled = await withDeadline(loop.invoke(0), 30_000)
    expect(settled.status).toBe('rejected')
    expect(StepLimitError.isInstance((settled as { error: unknown }).error)).toBe(true)
    figures.push(['a cycle in a graph (Decision → branch → Decision)', 'StepLimitError'])
  })

  it('a stream that goes silent ends at idleTimeoutMs with a TimeoutError of kind idle', async () => {
    server.injectFaults([{ kind: 'stall-stream', afterEvents: 2 }])
    const chat = chatAt('/v1', { idleTimeoutMs: 500, retry: { attempts: 1 } })
    const settled = await withDeadline(chat.stream(prompt).result, 60_000)
    server.clearFaults()
    expect(settled.status).toBe('rejected')
    const error = (settled as { error: TinyLLMError }).error
    expect(TimeoutError.isInstance(error) && error.kind === 'idle').toBe(true)
    await server.whenIdle()
    figures.push(['a stream gone silent, idleTimeoutMs 500', `${error.name} (kind idle)`])
  })

  it('a graph that fans out into itself fails with a StepLimitError, not by exhausting memory', async () => {
    // In settle-all mode too: the tree's limit is the graph's, not a branch's outcome to settle and fan out past.
    for (const mode of ['fail-fast', 'settle-all'] as const) {
      class Both extends Function<number, unknown> {
        run(depth: number, context: RunContext): Promise<unknown> {
          return context.invoke(fanOut as Function<number, unknown>, depth + 1)
        }
      }
      const fanOut = new Parallel({
        name: 'fan out',
        mode,
        children: [new Both({ name: 'left' }), new Both({ name: 'right' })],
      })
      const settled = await withDeadline(fanOut.invoke(0), 60_000)
      expect(settled.status, mode).toBe('rejected')
      const error = (settled as { error: TinyLLMError }).error
      expect(StepLimitError.isInstance(error), mode).toBe(true)
      // Whichever limit of the tree it meets first: branch starts are paced per turn of the event loop across every
      // Parallel of the tree, so the first branch of each level may reach 1,000 levels down before 100,000 runs are in
      // progress (maxConcurrentRuns itself is core's run.test.ts's to pin).
      const limit = /100000 runs in progress at once|1000 nested runs/.exec(error.message)?.[0]
      expect(limit, mode).toBeDefined()
      if (mode === 'fail-fast') figures.push(['a Parallel whose branches re-invoke it', `StepLimitError: ${limit}`])
    }
  })
})

afterAll(() => {
  recordFigures('Limits', 5, figures)
})
