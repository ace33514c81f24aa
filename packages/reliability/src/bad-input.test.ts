import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Function, type LifecycleEvent, type RunContext, TinyLLMError } from '@tinyllm/core'
import { Decision, Parallel } from '@tinyllm/flow'
import { type ChatResult, PromptTemplate, parseToolArguments, renderTemplate, UserMessageTemplate } from '@tinyllm/llm'
import { createConsoleLogger, createMemoryLogger } from '@tinyllm/logger'
import { OpenAIChat, type OpenAIChatOptions } from '@tinyllm/openai'
import { type OpenAICompatibleServer, type ScriptedReply, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { createCassette, startLoopbackServer } from '@tinyllm/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { prototypeChanges, prototypeSnapshot } from './__fixtures__/prototypes.js'
import { recordFigures } from './figures.js'

/** Each bad input tried, and what became of it: `handled: …`, or the name of the typed error. */
const tried: Array<[string, string]> = []
const prototypesBefore = prototypeSnapshot()

/** A 10 MB string. */
const huge = 'x'.repeat(10 * 1024 * 1024)
const loneSurrogates = 'high \ud800 alone, low \udc00 alone, reversed \udc00\ud800'
/** Keys that reach into prototypes when code assigns them naively. */
const pollutingJson =
  '{"__proto__":{"polluted":"yes","temperature":2},"constructor":{"prototype":{"polluted":"yes"}},"message":"own"}'
const polluting = (): Record<string, unknown> => JSON.parse(pollutingJson)

let server: OpenAICompatibleServer
beforeAll(async () => {
  server = await startOpenAICompatibleServer({ replies: ['fine'], cycleReplies: true })
})
afterAll(() => server.close())

function chat(options: Readonly<Record<string, unknown>> = {}): OpenAIChat {
  return new OpenAIChat({
    name: 'bad-input',
    model: 'gpt-4o-mini',
    apiKey: 'sk-test-bad-input',
    baseURL: server.baseURL,
    retry: { attempts: 3, initialDelayMs: 1 },
    ...options,
  } as OpenAIChatOptions)
}

/** Runs `work` and returns the typed error it fails with; fails the test if it succeeds or throws anything untyped. */
async function typedError(work: () => unknown): Promise<TinyLLMError> {
  let thrown: unknown
  try {
    await work()
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'a typed error').toBeDefined()
  expect(TinyLLMError.isInstance(thrown), `a tinyllm error, got ${String(thrown)}`).toBe(true)
  return thrown as TinyLLMError
}

function replyWith(...replies: ScriptedReply[]): void {
  server.setReplies(replies, { cycle: true })
}

const lastRequestBody = (): Record<string, unknown> => server.chatRequests.at(-1) as unknown as Record<string, unknown>
const says = (content: string) => ({ messages: [{ role: 'user' as const, content }] })

class Echo extends Function<unknown, unknown> {
  run(input: unknown, context: RunContext): unknown {
    context.logger.debug('echo', { input, metadata: context.metadata })
    return input
  }
}

describe('lone surrogates', () => {
  it('in a message: sent, escaped, and received intact', async () => {
    expect(await chat().invoke(says(loneSurrogates))).toBe('fine')
    expect((lastRequestBody().messages as Array<{ content: string }>)[0]?.content).toBe(loneSurrogates)
    tried.push(['lone surrogates in a message, over HTTP', 'handled: sent intact'])
  })

  it('in a model answer, streamed or not', async () => {
    replyWith(loneSurrogates)
    expect(await chat().invoke(says('hi'))).toBe(loneSurrogates)
    expect(await chat().stream(says('hi')).result).toBe(loneSurrogates)
    replyWith('fine')
    tried.push(['lone surrogates in a model answer (JSON and stream)', 'handled: returned intact'])
  })

  it('in a template variable and in log fields (the JSON line stays valid JSON)', async () => {
    const template = new PromptTemplate({ name: 'prompt', sections: [new UserMessageTemplate({ name: 'user' })] })
    expect((await template.invoke({ message: loneSurrogates })).messages[0]?.content).toBe(loneSurrogates)
    let output = ''
    const logger = createConsoleLogger({
      level: 'debug',
      format: 'json',
      stream: { write: (line) => (output += line) },
    })
    logger.debug(loneSurrogates, { text: loneSurrogates })
    expect(JSON.parse(output).text).toBe(loneSurrogates)
    tried.push(['lone surrogates in a template variable', 'handled: rendered intact'])
    tried.push(['lone surrogates in log fields', 'handled: valid JSON line'])
  })
})

describe('__proto__ and constructor keys', () => {
  it('in a template input: only own properties are read', async () => {
    const template = new PromptTemplate({ name: 'prompt', sections: [new UserMessageTemplate({ name: 'user' })] })
    expect((await template.invoke(polluting())).messages[0]?.content).toBe('own')
    const inherited = Object.create({ message: 'from the prototype' }) as object
    expect(await typedError(() => template.invoke(inherited))).toMatchObject({ name: 'TemplateError' })
    tried.push(['__proto__/constructor keys in a template input', 'handled: own properties only'])
    tried.push(['a template variable only on the prototype', 'TemplateError (missing)'])
  })

  it('in an LLM call input and in providerOptions: nothing leaks into the request or the prototype', async () => {
    const input = { ...polluting(), ...says('hi') }
    expect(await chat().invoke(input as ReturnType<typeof says>)).toBe('fine')
    expect(lastRequestBody().temperature).toBeUndefined()
    // Sent as plain keys: the server reads an own top-level parameter named `__proto__`, which OpenAI refuses as
    // unknown (a refused request is not among the server's chat requests; the cassette test below reads its body).
    const refused = await typedError(() =>
      chat().invoke({ ...says('hi'), providerOptions: { openai: polluting() } } as ReturnType<typeof says>),
    )
    expect(refused).toMatchObject({ status: 400, retryable: false })
    expect(refused.message).toContain('Unrecognized request argument supplied: __proto__')
    tried.push(['__proto__/constructor keys in an LLM call input', 'handled: ignored'])
    tried.push(['__proto__/constructor keys in providerOptions', 'handled: sent as plain keys, refused as unknown'])
  })

  it('in validated inputs (zod), in metadata, in log bindings and fields', async () => {
    const strict = new Echo({ name: 'strict', input: z.object({ message: z.string() }) })
    expect(await strict.invoke(polluting())).toEqual({ message: 'own' })
    const loose = new Echo({ name: 'loose', input: z.looseObject({ message: z.string() }) })
    expect(Object.keys((await loose.invoke(polluting())) as object)).toContain('message')
    const logger = createMemoryLogger({ level: 'debug' })
    const parent = new (class extends Function<unknown, unknown> {
      run(input: unknown, context: RunContext) {
        return context.invoke(new Echo({ name: 'child' }), input, { metadata: polluting() })
      }
    })({ name: 'parent' })
    await parent.invoke(polluting(), { logger: logger.child(polluting()), metadata: polluting() })
    const fields = logger.entries[0]?.fields as Record<string, unknown>
    expect(Object.hasOwn(fields, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype)
    tried.push(['__proto__/constructor keys in a zod-validated input', 'handled: stripped or kept as own keys'])
    tried.push(['__proto__/constructor keys in run metadata (root and child)', 'handled: own keys'])
    tried.push(['__proto__/constructor keys in log bindings and fields', 'handled: own keys'])
  })

  it('as a Decision answer or a Parallel child key', async () => {
    const decision = new Decision({
      name: 'route',
      choices: ['good', 'bad'],
      decide: (answer: string) => answer,
    })
    for (const answer of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(await typedError(() => decision.invoke(answer))).toMatchObject({ name: 'DecisionError' })
    }
    const parallel = new Parallel({ name: 'keyed', children: { ['__proto__']: new Echo({ name: 'proto' }) } })
    const result = (await parallel.invoke('value')) as Record<string, unknown>
    expect(Object.hasOwn(result, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    tried.push(['__proto__/constructor/toString as a Decision answer', 'DecisionError'])
    tried.push(['__proto__ as a Parallel child key', 'handled: own key in the result'])
  })

  it('in a recorded request: the cassette keeps them as keys', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tinyllm-bad-input-'))
    try {
      const path = join(directory, 'proto.cassette.json')
      const front = await startLoopbackServer({
        cassette: createCassette({ path, mode: 'record', upstream: server.url }),
      })
      const recorded = chat({ baseURL: `${front.url}/v1` })
      // The server refuses a parameter named `__proto__`; the cassette records the request and its refusal.
      const refused = await typedError(() =>
        recorded.invoke({ ...says('hi'), providerOptions: { openai: polluting() } } as never),
      )
      expect(refused).toMatchObject({ status: 400 })
      await front.close()
      const body = JSON.parse(readFileSync(path, 'utf8')).interactions[0].request.body
      expect(Object.hasOwn(body, '__proto__')).toBe(true)
      expect(Object.hasOwn(body, 'constructor')).toBe(true)
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
    tried.push(['__proto__/constructor keys in a request recorded to a cassette', 'handled: kept as keys'])
  })

  it('in tool-call arguments', async () => {
    const call = { id: 'call_1', name: 'lookup', arguments: pollutingJson }
    expect(Object.hasOwn((await parseToolArguments(call)) as object, '__proto__')).toBe(true)
    expect(await parseToolArguments(call, z.object({ message: z.string() }))).toEqual({ message: 'own' })
    tried.push(['__proto__/constructor keys in tool-call arguments', 'handled: own keys / stripped by the schema'])
  })
})

describe('template placeholders that reach for prototypes', () => {
  it.each([
    '{__proto__}',
    '{constructor.constructor}',
    '{prototype}',
    '{message.__proto__.polluted}',
    '{a.constructor}',
  ])('%s is refused when the template is built, and by renderTemplate', async (placeholder) => {
    expect(
      await typedError(() => new UserMessageTemplate({ name: 'user', content: `Hi ${placeholder}` })),
    ).toMatchObject({ name: 'ConfigurationError' })
    expect(await typedError(() => renderTemplate(`Hi ${placeholder}`, polluting()))).toMatchObject({
      name: 'TemplateError',
      reason: 'forbidden',
    })
    tried.push([`template placeholder ${placeholder}`, 'ConfigurationError / TemplateError (forbidden)'])
  })

  it.each(['{toString}', '{valueOf}', '{hasOwnProperty}', '{message.length}'])(
    '%s reads no inherited property',
    async (placeholder) => {
      expect(await typedError(() => renderTemplate(`Hi ${placeholder}`, { message: 'own' }))).toMatchObject({
        name: 'TemplateError',
        reason: 'missing',
      })
      tried.push([`template placeholder ${placeholder}`, 'TemplateError (missing)'])
    },
  )
})

describe('tool calls the request cannot use', () => {
  const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }]

  it('invalid JSON arguments: the call returns them; parsing them is a ToolCallError', async () => {
    replyWith({ toolCalls: [{ name: 'get_weather', arguments: '{"city": "Par' }] })
    for (const result of [
      await chat({ tools, output: 'result' }).invoke(says('weather?')),
      await chat({ tools, output: 'result' }).stream(says('weather?')).result,
    ] as unknown as ChatResult[]) {
      const call = result.choices[0]?.message.toolCalls?.[0]
      expect(call?.arguments).toBe('{"city": "Par')
      expect(await typedError(() => parseToolArguments(call!, z.object({ city: z.string() })))).toMatchObject({
        name: 'ToolCallError',
        reason: 'invalid-json',
      })
    }
    replyWith({ toolCalls: [{ name: 'get_weather', arguments: { town: 42 } }] })
    const result = (await chat({ tools, output: 'result' }).invoke(says('weather?'))) as unknown as ChatResult
    const call = result.choices[0]?.message.toolCalls?.[0]
    expect(await typedError(() => parseToolArguments(call!, z.object({ city: z.string() })))).toMatchObject({
      reason: 'invalid-arguments',
    })
    replyWith('fine')
    tried.push(['invalid tool-call JSON from the model (JSON and stream)', 'ToolCallError (invalid-json)'])
    tried.push(['tool-call arguments that do not match the schema', 'ToolCallError (invalid-arguments)'])
  })

  it.each(['delete_everything', '__proto__', 'constructor', ''])(
    'an unknown tool name %j is a ToolCallError',
    async (name) => {
      replyWith({ toolCalls: [{ name, arguments: {} }] })
      for (const work of [() => chat({ tools }).invoke(says('hi')), () => chat({ tools }).stream(says('hi')).result]) {
        expect(await typedError(work)).toMatchObject({ name: 'ToolCallError', reason: 'unknown-tool' })
      }
      replyWith('fine')
      tried.push([`unknown tool name ${JSON.stringify(name)} from the model`, 'ToolCallError (unknown-tool)'])
    },
  )
})

describe('circular values', () => {
  const circular = (): Record<string, unknown> => {
    const value: Record<string, unknown> = { message: 'loop' }
    value.self = value
    return value
  }

  it('as message content or as the input: a ValidationError; in providerOptions: a non-retryable error; nothing sent', async () => {
    const first = server.requests.length
    for (const input of [{ messages: [{ role: 'user', content: circular() }] }, circular()]) {
      expect(await typedError(() => chat().invoke(input as never))).toMatchObject({ name: 'ValidationError' })
    }
    const error = await typedError(() => chat().invoke({ ...says('hi'), providerOptions: { openai: circular() } }))
    expect(error.retryable).toBe(false)
    expect(server.requests.length).toBe(first)
    tried.push(['a circular value as message content', 'ValidationError'])
    tried.push(['a circular LLM call input', 'ValidationError'])
    tried.push(['a circular value in providerOptions', `${error.name} (not retried, nothing sent)`])
  })

  it('beside a message: ignored, like any field a message does not have', async () => {
    const input = { messages: [{ role: 'user', content: 'hi', extra: circular() }] }
    expect(await chat().invoke(input as ReturnType<typeof says>)).toBe('fine')
    expect(Object.keys((lastRequestBody().messages as object[])[0] as object)).toEqual(['role', 'content'])
    tried.push(['a circular value beside a message', 'handled: not sent'])
  })

  it('as a Function input and as metadata: runs, logs and traces', async () => {
    const logger = createMemoryLogger({ level: 'debug' })
    const events: LifecycleEvent[] = []
    const record = await new Echo({ name: 'echo' }).trace(circular(), {
      logger,
      metadata: circular(),
      onEvent: (event) => events.push(event),
    })
    expect(record.status).toBe('complete')
    expect(JSON.stringify(logger.entries)).toContain('[Circular]')
    tried.push(['a circular Function input and metadata, logged at debug', 'handled: [Circular] in the log'])
  })
})

describe('BigInt and NaN where JSON is needed', () => {
  it('BigInt: in message content a ValidationError; in providerOptions a non-retryable error, nothing sent', async () => {
    const first = server.requests.length
    expect(
      await typedError(() => chat().invoke({ messages: [{ role: 'user', content: 10n as never }] })),
    ).toMatchObject({
      name: 'ValidationError',
    })
    const error = await typedError(() =>
      chat().invoke({ ...says('hi'), providerOptions: { openai: { metadata: { id: 10n } } } } as never),
    )
    expect(error.retryable).toBe(false)
    expect(server.requests.length).toBe(first)
    tried.push(['BigInt as message content', 'ValidationError'])
    tried.push(['BigInt in providerOptions', `${error.name} (not retried, nothing sent)`])
  })

  it.each([
    ['temperature', Number.NaN],
    ['topP', Number.POSITIVE_INFINITY],
    ['maxTokens', Number.NaN],
    ['n', Number.NaN],
    ['seed', Number.NEGATIVE_INFINITY],
    ['temperature', 1n],
  ] as const)('%s = %s in a call is a ValidationError naming it, never sent as null', async (setting, value) => {
    const first = server.requests.length
    const error = await typedError(() => chat().invoke({ ...says('hi'), [setting]: value } as never))
    expect(error).toMatchObject({ name: 'ValidationError' })
    expect(error.message).toContain(setting)
    expect(server.requests.length).toBe(first)
    tried.push([`${setting} = ${typeof value === 'bigint' ? `${value}n` : String(value)} in a call`, 'ValidationError'])
  })

  it('NaN as a setting of the call itself is a ConfigurationError', async () => {
    expect(await typedError(() => chat({ temperature: Number.NaN }))).toMatchObject({ name: 'ConfigurationError' })
    tried.push(['temperature = NaN when building an OpenAIChat', 'ConfigurationError'])
  })

  it('BigInt and NaN in templates, log fields, errors and run records', async () => {
    expect(renderTemplate('{id}', { id: 12_345_678_901_234_567_890n })).toBe('12345678901234567890')
    expect(await typedError(() => renderTemplate('{score}', { score: Number.NaN }))).toMatchObject({
      reason: 'not-scalar',
    })
    let output = ''
    const logger = createConsoleLogger({
      level: 'debug',
      format: 'json',
      stream: { write: (line) => (output += line) },
    })
    logger.debug('numbers', { big: 10n, nan: Number.NaN, infinite: Number.POSITIVE_INFINITY })
    expect(JSON.parse(output)).toMatchObject({ big: '10', nan: null, infinite: null })
    // A Decision answering a BigInt: its error and the run record must still serialise.
    const decision = new Decision({ name: 'route', choices: ['a', 'b'], decide: () => 10n as never })
    const record = await decision.trace('x')
    expect(record.error?.name).toBe('DecisionError')
    expect(() => JSON.stringify(record.error)).not.toThrow()
    expect(() => JSON.stringify(record)).not.toThrow()
    tried.push(['BigInt as a template variable', 'handled: rendered as digits'])
    tried.push(['NaN as a template variable', 'TemplateError (not-scalar)'])
    tried.push(['BigInt, NaN and Infinity in log fields', 'handled: valid JSON line'])
    tried.push(['BigInt as a Decision answer', 'DecisionError; error and run record serialise'])
  })
})

describe('a 10 MB string', () => {
  it('as a message: sent and answered', async () => {
    expect(await chat().invoke(says(huge))).toBe('fine')
    expect((lastRequestBody().messages as Array<{ content: string }>)[0]?.content).toHaveLength(huge.length)
    tried.push(['a 10 MB message, over HTTP', 'handled: sent'])
  })

  it('as an answer: over the 8 MiB response cap, a typed error', async () => {
    replyWith(huge)
    const error = await typedError(() => chat().invoke(says('hi')))
    expect(error).toMatchObject({ providerErrorType: 'response_too_large', retryable: false })
    replyWith('fine')
    tried.push(['a 10 MB answer from the model', 'ProviderCallError (response_too_large)'])
  })

  it('in a template, in log fields, as a Decision answer and as a key: errors stay short', async () => {
    const template = new PromptTemplate({ name: 'prompt', sections: [new UserMessageTemplate({ name: 'user' })] })
    expect((await template.invoke({ message: huge })).messages[0]?.content).toHaveLength(huge.length)
    let output = ''
    const logger = createConsoleLogger({
      level: 'debug',
      format: 'json',
      stream: { write: (line) => (output += line) },
    })
    logger.debug('huge', { text: huge })
    expect(JSON.parse(output).text).toHaveLength(huge.length)
    const decision = new Decision({ name: 'route', choices: ['a', 'b'], decide: () => huge })
    const decisionError = await typedError(() => decision.invoke('x'))
    expect(decisionError.message.length).toBeLessThan(1_000)
    const templateError = await typedError(() => renderTemplate('{missing}', { [huge]: 'value' }))
    expect(templateError.message.length).toBeLessThan(1_000)
    tried.push(['a 10 MB template variable', 'handled: rendered'])
    tried.push(['a 10 MB log field', 'handled: logged'])
    tried.push(['a 10 MB Decision answer', 'DecisionError (message under 1,000 characters)'])
    tried.push(['a 10 MB key next to a missing template variable', 'TemplateError (message under 1,000 characters)'])
  })
})

describe('afterwards', () => {
  it('Object.prototype and the other built-in prototypes are untouched', () => {
    const changes = prototypeChanges(prototypesBefore, prototypeSnapshot())
    expect(changes).toEqual([])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // docs/guarantees.md quotes the count: every case above ran to its end (a case that stops early adds nothing).
    expect(tried).toHaveLength(54)
    recordFigures('Bad input', 6, [
      ['bad inputs tried', tried.length],
      ...tried.map(([label, outcome]): [string, string] => [`  ${label}`, outcome]),
      ['crashes', 0],
      ['Object.prototype (and Array, Function, String prototypes) changed', changes.length],
    ])
  })
})
