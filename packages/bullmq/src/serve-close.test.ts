import { defineFunction, type RunContext } from '@tinyllm/core'
import { Queue } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { BullMQExecutor } from './bullmq-executor.js'
import { serve } from './serve.js'
import { startRedisServer } from './testing/index.js'

/** Timers and sockets of this process, by kind. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo())
    if (kind === 'Timeout' || kind === 'TCPSocketWrap') counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** The kinds of which the process has more now than `before`, after waiting (up to `boundMs`) for them to go. */
async function leftSince(before: Record<string, number>, boundMs = 10_000): Promise<string[]> {
  const more = () => Object.entries(handles()).flatMap(([kind, count]) => (count > (before[kind] ?? 0) ? [kind] : []))
  for (let waited = 0; waited < boundMs && more().length > 0; waited += 100)
    await new Promise((resolve) => setTimeout(resolve, 100).unref())
  return more()
}

/**
 * The workers' bound: `close()` must settle within twice this (the run's cancellation, then the connections), and the
 * check allows 4 s more for a loaded machine's late timers, which is still far below what an unbounded close waits.
 */
const closeTimeoutMs = 2_000
const closeBoundMs = 2 * closeTimeoutMs + 4_000

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> =>
  Promise.race([promise, new Promise<'still waiting'>((resolve) => setTimeout(resolve, ms, 'still waiting').unref())])

describe('serve: close', () => {
  it('reports what an onError that throws, or rejects, did as a warning, never crashing the worker when Redis goes away', async () => {
    const redis = await startRedisServer()
    const graph = defineFunction({ name: 'graph', run: (value: number) => value })
    let calls = 0
    const worker = await serve({
      graphs: [graph],
      connection: redis.url,
      closeTimeoutMs,
      // A reporter that fails, as one may when the network that lost Redis is down: at once, then asynchronously.
      onError: (error: Error) => {
        calls += 1
        if (calls === 1) throw new Error(`could not report ${error.name}`)
        return Promise.reject(new Error(`could not report ${error.name} later`))
      },
    })
    const warnings: Error[] = []
    let heardBoth!: () => void
    const both = new Promise<void>((resolve) => {
      heardBoth = resolve
    })
    const onWarning = (warning: Error): void => {
      if (!/^serve: onError threw/.test(warning.message)) return
      warnings.push(warning)
      if (warnings.length === 2) heardBoth()
    }
    process.on('warning', onWarning)
    try {
      await redis.kill()
      expect(await within(both, 20_000)).toBeUndefined()
      expect(warnings.map((warning) => warning.name)).toEqual(['FunctionError', 'FunctionError'])
      expect(warnings[0]?.message).toMatch(/could not report/)
      expect(warnings[1]?.message).toMatch(/could not report .* later/)
    } finally {
      process.off('warning', onWarning)
      await redis.start()
      await worker.close()
      await redis.stop()
    }
  })

  it('settles within twice its closeTimeoutMs when Redis went away under it, leaving no timer or socket, and no run failed', async () => {
    const redis = await startRedisServer({ appendOnly: true })
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    let cancelled = false
    // A run in progress when Redis goes: it cannot be finished in Redis, and BullMQ's close waits for it.
    const wait = defineFunction({
      name: 'wait',
      run: (_: number, context: RunContext) =>
        new Promise((resolve) => {
          started()
          context.signal.addEventListener('abort', () => {
            cancelled = true
            resolve('stopped')
          })
        }),
    })
    const before = handles()
    const worker = await serve({ graphs: [wait], connection: redis.url, closeTimeoutMs })
    const executor = new BullMQExecutor({ connection: redis.url })
    const submitted = wait.invoke(1, { executor, runId: 'in-progress' }).catch((error: unknown) => error)
    await running
    await executor.close()
    await submitted
    await redis.kill()
    try {
      // Without a bound, BullMQ's close waits for Redis for ever.
      expect(await within(worker.close(), closeBoundMs)).toBeUndefined()
      expect(cancelled).toBe(true)
      expect(await leftSince(before)).toEqual([])
      // The run's failure was not written: its job is still active, for another worker to take over once its lock
      // expires, and resume from the journal.
      await redis.start()
      const queue = new Queue('runs', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'tinyllm' })
      try {
        expect(await queue.getJobState('in-progress')).toBe('active')
      } finally {
        await queue.close()
      }
    } finally {
      await redis.stop()
    }
  })

  it('settles within twice its closeTimeoutMs when Redis stops answering with its connections open, leaving no timer or socket', async () => {
    const redis = await startRedisServer()
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const wait = defineFunction({
      name: 'wait',
      run: (_: number, context: RunContext) =>
        new Promise((resolve) => {
          started()
          context.signal.addEventListener('abort', () => resolve('stopped'))
        }),
    })
    const before = handles()
    const worker = await serve({ graphs: [wait], connection: redis.url, closeTimeoutMs })
    const executor = new BullMQExecutor({ connection: redis.url })
    const submitted = wait.invoke(1, { executor, runId: 'frozen' }).catch((error: unknown) => error)
    await running
    await executor.close()
    await submitted
    // A frozen server (or one cut off by the network) keeps every socket open and answers nothing, QUIT included.
    process.kill(redis.pid as number, 'SIGSTOP')
    try {
      // Long enough for BullMQ to give up on its blocking command and open its blocking connection again.
      await new Promise((resolve) => setTimeout(resolve, 6_000))
      expect(await within(worker.close(), closeBoundMs)).toBeUndefined()
      // ioredis's own guard destroys a socket it shut 2 s after; what BullMQ opened again meanwhile is cut too.
      expect(await leftSince(before, 5_000)).toEqual([])
    } finally {
      process.kill(redis.pid as number, 'SIGCONT')
      await redis.stop()
    }
  }, 60_000)
})
