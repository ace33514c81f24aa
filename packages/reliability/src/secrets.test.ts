import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import {
  AbortError,
  BudgetExceededError,
  ConfigurationError,
  Function,
  formatRunTree,
  type LifecycleEvent,
  type RunContext,
  type RunRecord,
  StepLimitError,
  TinyLLMError,
  ValidationError,
} from '@tinyllm/core'
import { Chain, Decision, DecisionError } from '@tinyllm/flow'
import { ToolCallError } from '@tinyllm/llm'
import {
  createConsoleLogger,
  createMemoryLogger,
  getDefaultLogger,
  type LogFields,
  type Logger,
  setDefaultLogger,
} from '@tinyllm/logger'
import { OpenAIChat, type OpenAIChatOptions } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { createCassette, startLoopbackServer } from '@tinyllm/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { faultVariants } from './__fixtures__/fault-mix.js'
import { recordFigures } from './figures.js'

/** A key of OpenAI's current shape that exists nowhere else: wherever it shows up, it leaked. */
const canary = `sk-proj-${randomBytes(45).toString('base64url')}`

/** Every text a user could see or store, by where it came from; checked for the canary at the end. */
const places: Array<[string, string]> = []
const look = (place: string, text: string | undefined): void => {
  places.push([place, text ?? ''])
}
/**
 * Every way a user might print or store an error, `console.error` / `util.inspect` included. Where the caller put the
 * canary in themselves (`callerSupplied`), the error keeps the abort reason or the answer it was given as it is, so
 * inspecting that value on its own (the cause) shows the caller's own value; the error printed whole does not.
 */
function lookAtError(place: string, error: unknown, callerSupplied = false): void {
  expect(TinyLLMError.isInstance(error), `${place}: a typed error`).toBe(true)
  const typed = error as TinyLLMError
  look(`${place}: message`, typed.message)
  look(`${place}: stack`, typed.stack)
  look(`${place}: JSON`, JSON.stringify(typed))
  look(`${place}: util.inspect`, inspect(typed, { depth: 20 }))
  if (callerSupplied) return
  for (let cause = typed.cause, depth = 1; cause !== undefined && depth < 8; depth++) {
    look(`${place}: cause ${depth}`, inspect(cause, { depth: 20, showHidden: true }))
    cause = (cause as { cause?: unknown }).cause
  }
}
function lookAtRecord(place: string, record: RunRecord, callerSupplied = false): void {
  look(`${place}: run tree`, formatRunTree(record, { states: 'full' }))
  look(`${place}: run record JSON`, JSON.stringify(record))
  if (!callerSupplied) look(`${place}: run record inspect`, inspect(record, { depth: 20 }))
  if (record.error !== undefined) lookAtError(`${place}: run record error`, record.error, callerSupplied)
}

let jsonLines = ''
let processOutput = ''
const memory = createMemoryLogger({ level: 'debug' })
const json = createConsoleLogger({ level: 'debug', format: 'json', stream: { write: (line) => (jsonLines += line) } })
/** Writes to both loggers, as a user with two sinks would. */
function tee(first: Logger, second: Logger): Logger {
  const both =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      first[level](message, fields)
      second[level](message, fields)
    }
  return {
    trace: both('trace'),
    debug: both('debug'),
    info: both('info'),
    warn: both('warn'),
    error: both('error'),
    child: (bindings) => tee(first.child(bindings), second.child(bindings)),
    isLevelEnabled: (level) => first.isLevelEnabled(level) || second.isLevelEnabled(level),
  }
}
const logger = tee(memory, json)
/** Logs every lifecycle event, errors included, at debug: what a user tracing a pipeline would do. */
const onEvent = (event: LifecycleEvent): void =>
  logger.debug(`${event.function}: ${event.from} → ${event.to}`, { event })

/** How long the servers keep an idle connection: longer than the suite runs. */
const idleConnectionMs = 600_000
let server: OpenAICompatibleServer
let previousKey: string | undefined
let previousLogger: Logger
let restoreOutput: () => void
const servers: Array<{ readonly requests: readonly unknown[] }> = []

beforeAll(async () => {
  previousKey = process.env.OPENAI_API_KEY
  process.env.OPENAI_API_KEY = canary
  previousLogger = getDefaultLogger()
  setDefaultLogger(json)
  const stdoutWrite = process.stdout.write.bind(process.stdout)
  const stderrWrite = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    processOutput += String(chunk)
    return stdoutWrite(chunk, ...rest)
  }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    processOutput += String(chunk)
    return stderrWrite(chunk, ...rest)
  }) as typeof process.stderr.write
  restoreOutput = () => {
    process.stdout.write = stdoutWrite
    process.stderr.write = stderrWrite
  }
  server = await startOpenAICompatibleServer({
    // Longer than the suite: a connection reused just as the server closed it would be reset and retried, two more
    // log lines than the count below, whenever a busy machine paused long enough between two calls.
    keepAliveTimeoutMs: idleConnectionMs,
    replies: ['fine'],
    cycleReplies: true,
    routes: {
      // A server that echoes the key it was sent, in its error message and in a header, as proxies and some
      // providers do.
      'POST /echo/v1/chat/completions': ({ request }) => ({
        status: request.body !== undefined && JSON.stringify(request.body).includes('retryable') ? 500 : 401,
        headers: { 'x-echo-authorization': request.headers.authorization ?? '' },
        json: {
          error: {
            message: `Incorrect API key provided: ${request.headers.authorization}. Your key: ${canary}`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
            key: canary,
          },
        },
      }),
      // A stream that fails with an error event quoting the key.
      'POST /echo-stream/v1/chat/completions': ({ request }) => ({
        headers: { 'x-echo-authorization': request.headers.authorization ?? '' },
        sse: [
          { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [] },
          { error: { message: `stream failed for ${request.headers.authorization}`, type: 'server_error' } },
        ],
      }),
    },
  })
  servers.push(server)
})

afterAll(async () => {
  restoreOutput()
  setDefaultLogger(previousLogger)
  if (previousKey === undefined) delete process.env.OPENAI_API_KEY
  else process.env.OPENAI_API_KEY = previousKey
  await server.close()
})

function chatAt(route: string, options: Readonly<Record<string, unknown>> = {}): OpenAIChat {
  return new OpenAIChat({
    name: 'secret-keeper',
    model: 'gpt-4o-mini',
    apiKey: canary,
    baseURL: `${server.url}${route}`,
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    // Far longer than any answer takes, even on a busy machine: an answer turned into a timeout and retried would write
    // log lines the counts below do not expect. Only a stall is meant to time out (see stallTimeouts).
    attemptTimeoutMs: 60_000,
    idleTimeoutMs: 30_000,
    maxResponseBytes: 64 * 1024,
    ...options,
  } as OpenAIChatOptions)
}

/** For the stall faults, which end only in a timeout: every attempt stalls, so every attempt times out, however slow. */
const stallTimeouts = { attemptTimeoutMs: 1_500, idleTimeoutMs: 1_000 }

const prompt = { messages: [{ role: 'user' as const, content: 'Hello' }] }
/** The kinds of error the suite saw raised, and looked at: only what really was raised is counted. */
const errorKinds = new Set<string>()

/** Expects `work` to reject with an error of `kind`, counts the kind as seen, and looks at the error. */
async function expectRejection(
  kind: { readonly isInstance: (error: unknown) => boolean; readonly name: string },
  work: Promise<unknown>,
  callerSupplied = false,
): Promise<void> {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(kind.isInstance(error), `${kind.name} expected, got ${String(error)}`).toBe(true)
  errorKinds.add((error as Error).name)
  lookAtError(kind.name, error, callerSupplied)
}

/** Runs a call both ways (invoke and trace, streamed or not) and looks at every error and record it leaves. */
async function exercise(label: string, chat: OpenAIChat, stream: boolean): Promise<void> {
  const options = { logger, onEvent }
  try {
    await (stream ? chat.stream(prompt, options).result : chat.invoke(prompt, options))
  } catch (error) {
    errorKinds.add((error as Error).name)
    lookAtError(label, error)
  }
  lookAtRecord(label, await chat.trace(prompt, options))
}

describe('with a canary key set as OPENAI_API_KEY and passed as apiKey, at debug level', () => {
  it('errors of every kind, their run trees and records never contain it', async () => {
    for (const variant of faultVariants) {
      for (const stream of [false, true]) {
        server.injectFaults((_index, request) => variant.fault((request.body as { stream?: boolean }).stream === true))
        const options = variant.label.startsWith('stalled') ? stallTimeouts : {}
        await exercise(`${variant.label}${stream ? ' (stream)' : ''}`, chatAt('/v1', options), stream)
        server.clearFaults()
        await server.whenIdle()
      }
    }
    // The key read from the environment rather than passed.
    server.injectFaults(() => ({ kind: 'status', status: 503 }))
    await exercise('503 with the key from OPENAI_API_KEY', chatAt('/v1', { apiKey: undefined }), false)
    server.clearFaults()
    expect(server.requests.at(-1)?.headers.authorization).toBe('[REDACTED]')
  })

  it('errors of the other kinds: abort, validation, tool call, budget, decision, step limit, configuration', async () => {
    const aborted = new AbortController()
    aborted.abort(new Error(`cancelled while using ${canary}`))
    await expectRejection(AbortError, chatAt('/v1').invoke(prompt, { logger, onEvent, signal: aborted.signal }), true)
    server.setReplies(['not JSON'], { cycle: true })
    const structured = chatAt('/v1', {
      structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }) },
    })
    await expectRejection(ValidationError, structured.invoke(prompt, { logger, onEvent }))
    lookAtRecord('ValidationError (structured output)', await structured.trace(prompt, { logger, onEvent }))
    server.setReplies([{ toolCalls: [{ name: 'leak_key', arguments: { key: canary } }] }], { cycle: true })
    await expectRejection(ToolCallError, chatAt('/v1').invoke(prompt, { logger, onEvent }))
    lookAtRecord('ToolCallError (unknown tool)', await chatAt('/v1').trace(prompt, { logger, onEvent }))
    server.setReplies(['fine'], { cycle: true })
    await expectRejection(
      BudgetExceededError,
      chatAt('/v1').invoke(prompt, { logger, onEvent, budget: { maxTokens: 1 } }),
    )
    const decision = new Decision({ name: 'route', choices: ['good', 'bad'], decide: () => `leaked ${canary}` })
    await expectRejection(DecisionError, decision.invoke('x', { logger, onEvent }), true)
    lookAtRecord('DecisionError', await decision.trace('x', { logger, onEvent }), true)
    class Forever extends Function<string, string> {
      run(input: string, context: RunContext): Promise<string> {
        return context.invoke(this, input)
      }
    }
    const forever = await new Forever({ name: 'forever' }).trace(canary, { logger })
    expect(StepLimitError.isInstance(forever.error)).toBe(true)
    errorKinds.add('StepLimitError')
    lookAtRecord('StepLimitError', forever, true)
    let configuration: unknown
    try {
      chatAt('/v1', { attemptTimeoutMs: -1 })
    } catch (error) {
      configuration = error
    }
    expect(ConfigurationError.isInstance(configuration)).toBe(true)
    errorKinds.add('ConfigurationError')
    lookAtError('ConfigurationError', configuration)
    expect([...errorKinds]).toEqual(
      expect.arrayContaining([
        'AbortError',
        'ValidationError',
        'ToolCallError',
        'BudgetExceededError',
        'DecisionError',
        'StepLimitError',
        'ConfigurationError',
      ]),
    )
  })

  it('a server that echoes the key in its errors, headers and stream events', async () => {
    await exercise('401 echoing the key', chatAt('/echo/v1'), false)
    await exercise('500 echoing the key (retried)', chatAt('/echo/v1'), false)
    await exercise('stream error event echoing the key', chatAt('/echo-stream/v1'), true)
    const retryable = { messages: [{ role: 'user' as const, content: 'retryable' }] }
    await chatAt('/echo/v1')
      .invoke(retryable, { logger, onEvent })
      .catch((error: unknown) => lookAtError('500 echoing the key, retried', error))
  })

  it('a pipeline that logs its context, its metadata and the chat itself at debug', async () => {
    const chat = chatAt('/v1')
    class Careless extends Function<typeof prompt, string> {
      async run(input: typeof prompt, context: RunContext): Promise<string> {
        context.logger.debug('about to call', {
          metadata: context.metadata,
          chat,
          environment: { OPENAI_API_KEY: process.env.OPENAI_API_KEY },
          headers: { Authorization: `Bearer ${canary}` },
          note: `the key is ${canary}`,
        })
        return context.invoke(chat, input)
      }
    }
    const pipeline = new Chain({ name: 'careless pipeline', children: [new Careless({ name: 'careless' })] })
    const record = await pipeline.trace(prompt, { logger, onEvent, metadata: { apiKey: canary, user: 'ada' } })
    expect(record.status).toBe('complete')
    lookAtRecord('careless pipeline', record)
    look('the chat, util.inspect', inspect(chat, { depth: 20, showHidden: true }))
    look('the chat, JSON', JSON.stringify(chat))
  })

  it('cassettes written in record mode', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tinyllm-secrets-'))
    const path = join(directory, 'secrets.cassette.json')
    try {
      // The front server records what the upstream (the echoing server, standing in for the real API) answers.
      const front = await startLoopbackServer({
        keepAliveTimeoutMs: idleConnectionMs,
        cassette: createCassette({ path, mode: 'record', upstream: server.url }),
      })
      servers.push(front)
      const viaFront = (route: string) => chatAt('/v1', { baseURL: `${front.url}${route}`, retry: { attempts: 1 } })
      expect(await viaFront('/v1').invoke(prompt, { logger, onEvent })).toBe('fine')
      expect(await viaFront('/v1').stream(prompt, { logger, onEvent }).result).toBe('fine')
      await exercise('401 echoing the key, through a recording proxy', viaFront('/echo/v1'), false)
      await exercise('stream error echoing the key, through a recording proxy', viaFront('/echo-stream/v1'), true)
      await front.close()
      const cassette = readFileSync(path, 'utf8')
      expect(JSON.parse(cassette).interactions.length).toBeGreaterThanOrEqual(6)
      look('cassette file written in record mode', cassette)
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })

  it('the servers’ request logs, the log lines and everything written to stdout and stderr', () => {
    for (const [index, loopback] of servers.entries()) {
      look(`request log of server ${index}, JSON`, JSON.stringify(loopback.requests))
      look(`request log of server ${index}, util.inspect`, inspect(loopback.requests, { depth: 20 }))
    }
    look('memory logger entries', JSON.stringify(memory.entries))
    look('console JSON log lines', jsonLines)
    look('process stdout and stderr', processOutput)
    expect(memory.entries.length).toBeGreaterThan(100)

    // The figures below are asserted: the ten kinds of error raised, and every log line written to both loggers.
    expect([...errorKinds].sort()).toEqual([
      'AbortError',
      'BudgetExceededError',
      'ConfigurationError',
      'DecisionError',
      'ProviderCallError',
      'RateLimitError',
      'StepLimitError',
      'TimeoutError',
      'ToolCallError',
      'ValidationError',
    ])
    expect(jsonLines.split('\n').length - 1).toBe(memory.entries.length)
    const leaks = places.filter(([, text]) => text.includes(canary)).map(([place]) => place)
    expect(leaks).toEqual([])
    // The canary did reach the server, where it belongs: the suite looked at the right key.
    expect(memory.entries.some((entry) => JSON.stringify(entry).includes('[REDACTED]'))).toBe(true)
    const characters = places.reduce((sum, [, text]) => sum + text.length, 0)
    // The figures guarantees.md quotes: a change that looks at fewer places or writes other log lines says so there.
    expect(places).toHaveLength(592)
    expect(characters).toBeGreaterThan(14_000_000)
    expect(memory.entries).toHaveLength(425)
    recordFigures('Secrets (canary key sk-proj-… as OPENAI_API_KEY and apiKey, debug level)', 7, [
      ['error kinds raised', [...errorKinds].sort().join(', ')],
      ['places checked', `${places.length} (${(characters / 1_000_000).toFixed(1)} MB of text)`],
      ['log lines checked', `${memory.entries.length} memory + ${jsonLines.split('\n').length - 1} JSON`],
      ['places containing the canary', leaks.length],
    ])
  })
})
