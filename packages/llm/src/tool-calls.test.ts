import { runInNewContext } from 'node:vm'
import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { ChatResult } from './chat-model.js'
import { assertKnownTools, parseToolArguments, ToolCallError } from './tool-calls.js'

const call = (argumentsText: string, name = 'lookup') => ({ id: 'call_1', name, arguments: argumentsText })

async function failure(promise: Promise<unknown>): Promise<ToolCallError> {
  const error = await promise.catch((caught: unknown) => caught)
  if (!ToolCallError.isInstance(error)) throw new Error(`expected a ToolCallError, got ${String(error)}`)
  return error
}

describe('parseToolArguments', () => {
  it('rejects something that is not a tool call (null, arguments already parsed, a getter that throws) with a ConfigurationError', async () => {
    const unreadable = {
      id: 'call_1',
      name: 'lookup',
      get arguments(): never {
        throw new Error('unreadable arguments')
      },
    }
    const cases: Array<[unknown, RegExp]> = [
      [null, /^parseToolArguments: call must be a tool call \{ id, name, arguments \}, got null/],
      [{ id: 'call_1', name: 'lookup', arguments: { id: 1 } }, /^parseToolArguments: call\.arguments must be a string/],
      [{ id: 'call_1', name: 'lookup', arguments: 5 }, /^parseToolArguments: call\.arguments must be a string/],
      [unreadable, /^parseToolArguments: call could not be read: Error: unreadable arguments/],
    ]
    for (const [given, message] of cases) {
      const error = await parseToolArguments(given as never).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(message)
    }
    expect(await parseToolArguments({ id: 'call_1', name: 'lookup' } as never)).toEqual({})
  })

  it('parses JSON arguments, and validates them against a schema with typed output', async () => {
    expect(await parseToolArguments(call('{"id":1}'))).toEqual({ id: 1 })
    const args = await parseToolArguments(call('{"id":"7"}'), z.object({ id: z.coerce.number() }))
    const id: number = args.id
    expect(id).toBe(7)
    expect(await parseToolArguments(call('  '))).toEqual({})
  })

  it('rejects invalid JSON with a typed error', async () => {
    const error = await failure(parseToolArguments(call('{"id": 1')))
    expect(error.reason).toBe('invalid-json')
    expect(error.toolCallId).toBe('call_1')
    expect(error.retryable).toBe(false)
  })

  it('rejects arguments that are not a JSON object, with or without a schema, naming the tool', async () => {
    for (const [text, kind] of [
      ['"5"', 'a string'],
      ['5', 'a number'],
      ['[1, 2]', 'a list'],
      ['null', 'null'],
      ['true', 'a boolean'],
    ] as const) {
      for (const schema of [undefined, z.unknown()]) {
        const error = await failure(parseToolArguments(call(text), schema))
        expect(error.reason).toBe('invalid-arguments')
        expect(error.toolName).toBe('lookup')
        expect(error.message).toBe(`the arguments of tool call "call_1" ("lookup") must be a JSON object, got ${kind}`)
      }
    }
  })

  it('rejects arguments that do not match the schema, with the path of each issue', async () => {
    const error = await failure(parseToolArguments(call('{"id":"x"}'), z.object({ id: z.number() })))
    expect(error.reason).toBe('invalid-arguments')
    expect(error.issues?.map((issue) => issue.path)).toEqual([['id']])
    expect(error.message).toMatch(/id: /)
  })

  it('awaits a validator whose answer is a promise of another realm, or any thenable', async () => {
    const check = (value: unknown) =>
      typeof (value as { id?: unknown }).id === 'number'
        ? { value }
        : { issues: [{ message: 'expected a number', path: ['id'] }] }
    // An async validate made in another realm (a schema library loaded in a vm context) answers with its Promise.
    const foreign = runInNewContext('(check) => async (value) => check(value)')(check)
    const thenable = (value: unknown) => ({
      // biome-ignore lint/suspicious/noThenProperty: a validator answering a thenable is what this test is about.
      then: (resolve: (result: unknown) => void) => resolve(check(value)),
    })
    for (const validate of [foreign, thenable]) {
      const schema = { '~standard': { version: 1 as const, vendor: 'test', validate } }
      const error = await failure(parseToolArguments(call('{"id":"x"}'), schema))
      expect(error.reason).toBe('invalid-arguments')
      expect(error.issues?.map((issue) => issue.path)).toEqual([['id']])
      await expect(parseToolArguments(call('{"id":1}'), schema)).resolves.toEqual({ id: 1 })
    }
  })

  it('fails arguments that make the schema throw, or that it answers with no result, as invalid arguments', async () => {
    // A refinement that assumed a shape the model did not produce throws instead of reporting an issue.
    const refined = z
      .object({ range: z.object({ min: z.number() }).optional() })
      .refine((value) => (value.range as { min: number }).min > 0, 'range.min must be above 0')
    const threw = await failure(parseToolArguments(call('{}'), refined))
    expect(threw.reason).toBe('invalid-arguments')
    expect(threw.message).toMatch(/the schema itself threw: TypeError/)
    const noResult = { '~standard': { version: 1 as const, vendor: 'test', validate: () => ({}) as never } }
    const empty = await failure(parseToolArguments(call('{"id":1}'), noResult))
    expect(empty.reason).toBe('invalid-arguments')
    expect(empty.message).toMatch(/neither a value nor issues/)
  })

  it('keeps a "__proto__" key as plain data, never as a prototype', async () => {
    const parsed = (await parseToolArguments(call('{"__proto__":{"polluted":true},"a":1}'))) as Record<string, unknown>
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('assertKnownTools', () => {
  const result = (name: string): ChatResult => ({
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, toolCalls: [call('{}', name)] },
        finishReason: 'tool_calls',
      },
    ],
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    model: 'm',
  })

  it('accepts offered tools and rejects others, listing what was offered', () => {
    const tools = [{ name: 'lookup', parameters: {} }]
    expect(() => assertKnownTools(result('lookup'), tools)).not.toThrow()
    expect(() => assertKnownTools(result('other'), tools)).toThrow(/offered: lookup/)
    expect(() => assertKnownTools(result('lookup'), undefined)).toThrow(/offered: none/)
  })

  it('accepts a tool the provider says it offered through its own options, asking only when a call needs it', () => {
    const tools = [{ name: 'lookup', parameters: {} }]
    let asked = 0
    const providerTools = () => {
      asked += 1
      return ['bash']
    }
    expect(() => assertKnownTools(result('lookup'), tools, undefined, providerTools)).not.toThrow()
    expect(asked).toBe(0)
    expect(() => assertKnownTools(result('bash'), tools, undefined, providerTools)).not.toThrow()
    expect(asked).toBe(1)
    let refused: unknown
    try {
      assertKnownTools(result('other'), tools, undefined, providerTools)
    } catch (error) {
      refused = error
    }
    expect(refused).toMatchObject({ reason: 'unknown-tool', availableTools: ['lookup', 'bash'] })
    expect((refused as Error).message).toContain('offered: lookup, bash')
    // A hook that answers no list names no tool.
    expect(() => assertKnownTools(result('bash'), tools, undefined, () => 'bash' as never)).toThrow(/offered: lookup\)/)
  })

  it('names at most 20 offered tools in its message, and keeps them all in availableTools', () => {
    const tools = Array.from({ length: 10_000 }, (_, index) => ({
      name: `tool_${index}_${'x'.repeat(50)}`,
      parameters: {},
    }))
    const error = (() => {
      try {
        assertKnownTools(result('other'), tools)
      } catch (caught) {
        return caught as ToolCallError
      }
      throw new Error('expected a ToolCallError')
    })()
    expect(error.availableTools).toHaveLength(10_000)
    expect(error.message).toMatch(/offered: tool_0_x+, .*tool_19_x+, … and 9980 more\)$/)
    expect(error.message.length).toBeLessThan(2_000)
  })

  it('reads each offered name once, however many calls an answer makes', () => {
    let reads = 0
    const tools = Array.from({ length: 1_000 }, (_, index) => ({
      get name() {
        reads++
        return `tool_${index}`
      },
      parameters: {},
    }))
    const calls = Array.from({ length: 1_000 }, (_, index) => ({ ...call('{}', 'tool_999'), id: `c${index}` }))
    const [choice] = result('tool_999').choices
    assertKnownTools(
      { ...result('tool_999'), choices: [{ ...choice!, message: { ...choice!.message, toolCalls: calls } }] },
      tools,
    )
    // Walking the tools for every call would read a million names.
    expect(reads).toBe(1_000)
  })
})

describe('tool-call errors quote what the model sent, within bounds', () => {
  it('keeps the message short however long the id and name the model produced', async () => {
    const huge = 'x'.repeat(100_000)
    const invalid = await parseToolArguments({ id: huge, name: huge, arguments: '{not json' }).catch(
      (error: unknown) => error,
    )
    expect(ToolCallError.isInstance(invalid)).toBe(true)
    expect((invalid as Error).message.length).toBeLessThan(500)
    const mismatched = await parseToolArguments(
      { id: huge, name: huge, arguments: '{"id":"a"}' },
      z.object({ id: z.number() }),
    ).catch((error: unknown) => error)
    expect((mismatched as Error).message.length).toBeLessThan(500)
  })

  it('lists at most 20 issues, each cut short, however many the arguments make and however long what they quote', async () => {
    const items = Array.from({ length: 5_000 }, () => 'x'.repeat(50))
    const many = await failure(
      parseToolArguments(call(JSON.stringify({ items })), z.object({ items: z.array(z.number()) })),
    )
    expect(many.reason).toBe('invalid-arguments')
    expect(many.issues).toHaveLength(5_000)
    expect(many.message).toMatch(/items\[19\]: .*; … and 4980 more$/)
    expect(many.message.length).toBeLessThan(3_000)
    const quoting = z.object({ q: z.string().refine(() => false, `no: ${'y'.repeat(100_000)}`) })
    const long = await failure(parseToolArguments(call('{"q":"a"}'), quoting))
    expect(long.message.length).toBeLessThan(500)
  })
  it('refuses an answer or tools of the wrong type with a ConfigurationError, not a TypeError', () => {
    for (const answer of [undefined, null, 5, {}, { choices: 'x' }]) {
      expect(() => assertKnownTools(answer as never, undefined)).toThrow(ConfigurationError)
      expect(() => assertKnownTools(answer as never, undefined)).toThrow(/^assertKnownTools: result must be /)
    }
    for (const tools of [null, 'lookup', { name: 'lookup' }]) {
      const answer = { choices: [], usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, model: 'm' }
      expect(() => assertKnownTools(answer, tools as never)).toThrow(
        /^assertKnownTools: tools must be a list of tool definitions or undefined, got /,
      )
    }
  })
})
