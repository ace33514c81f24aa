// The agent over real HTTP on both providers, against their loopback servers scripted for multi-turn tool use: each
// reply is computed from the conversation the server received, as a model would.
import { AnthropicChat } from '@tinyllm/anthropic'
import { type AnthropicCompatibleServer, startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { formatRunTree } from '@tinyllm/core'
import type { LLMCall } from '@tinyllm/llm'
import { OpenAIChat } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Agent, type AgentEvent, defineTool } from './index.js'

const records: Record<string, { monthlyIncome: number; monthlyDebt: number }> = {
  'A-17': { monthlyIncome: 8000, monthlyDebt: 2000 },
}
const notes: Array<string | undefined> = []
const lookup = defineTool({
  name: 'lookup_applicant',
  description: "An applicant's monthly income and monthly debt payments",
  input: z.object({ applicantId: z.string() }),
  run: ({ applicantId }) => records[applicantId] ?? null,
})
const debtRatio = defineTool({
  name: 'debt_ratio',
  description: 'Monthly debt payments divided by monthly income',
  input: z.object({ monthlyIncome: z.number(), monthlyDebt: z.number(), note: z.string().optional() }),
  run: ({ monthlyIncome, monthlyDebt, note }) => {
    notes.push(note)
    return { ratio: monthlyDebt / monthlyIncome }
  },
})

/** The scripted model: look the applicant up, compute the ratio from what the lookup returned, then answer. */
function nextTurn(
  toolResults: readonly string[],
): { tool: string; arguments: Record<string, unknown> } | { text: string } {
  if (toolResults.length === 0) return { tool: 'lookup_applicant', arguments: { applicantId: 'A-17' } }
  if (toolResults.length === 1) {
    const record = JSON.parse(toolResults[0] as string) as { monthlyIncome: number; monthlyDebt: number }
    // `note` is optional: under strict mode the model sends null, which must reach the tool as absent.
    return { tool: 'debt_ratio', arguments: { ...record, note: null } }
  }
  const { ratio } = JSON.parse(toolResults[1] as string) as { ratio: number }
  return { text: `Debt ratio ${Math.round(ratio * 100)}%: approve.` }
}

interface Provider {
  readonly name: string
  start(): Promise<{ server: OpenAICompatibleServer | AnthropicCompatibleServer; model: LLMCall<'result', never> }>
  /** The tool results of request `index`, in order, and the request's tool names and strict flags. */
  wire(server: unknown, index: number): { results: string[]; toolIds: string[]; tools: Array<[string, unknown]> }
}

const providers: Provider[] = [
  {
    name: 'openai',
    async start() {
      const server = await startOpenAICompatibleServer({
        replies: (request, { chatIndex }) => {
          const results = request.messages.flatMap((message) =>
            message.role === 'tool' ? [String(message.content)] : [],
          )
          const turn = nextTurn(results)
          return 'text' in turn
            ? turn.text
            : { toolCalls: [{ id: `call_${chatIndex}`, name: turn.tool, arguments: turn.arguments }] }
        },
      })
      const model = new OpenAIChat({
        name: 'model',
        model: 'gpt-4o-mini',
        baseURL: server.baseURL,
        apiKey: 'sk-test',
        output: 'result',
      })
      return { server, model }
    },
    wire(server, index) {
      const request = (server as OpenAICompatibleServer).chatRequests[index]!
      return {
        results: request.messages.flatMap((message) => (message.role === 'tool' ? [String(message.content)] : [])),
        toolIds: request.messages.flatMap((message) => (message.role === 'tool' ? [message.tool_call_id] : [])),
        tools: (request.tools ?? []).map((tool) =>
          tool.type === 'function' ? [tool.function.name, tool.function.strict] : ['?', undefined],
        ),
      }
    },
  },
  {
    name: 'anthropic',
    async start() {
      const server = await startAnthropicCompatibleServer({
        replies: (request, { messageIndex }) => {
          const results: string[] = []
          for (const message of request.messages) {
            if (typeof message.content === 'string') continue
            for (const block of message.content)
              if (block.type === 'tool_result') results.push(typeof block.content === 'string' ? block.content : '')
          }
          const turn = nextTurn(results)
          return 'text' in turn
            ? turn.text
            : { toolUses: [{ id: `toolu_${messageIndex}`, name: turn.tool, input: turn.arguments }] }
        },
      })
      const model = new AnthropicChat({
        name: 'model',
        model: 'claude-haiku-4-5',
        baseURL: server.baseURL,
        apiKey: 'sk-ant-test',
        output: 'result',
      })
      return { server, model }
    },
    wire(server, index) {
      const request = (server as AnthropicCompatibleServer).messageRequests[index]!
      const results: string[] = []
      const toolIds: string[] = []
      for (const message of request.messages) {
        if (typeof message.content === 'string') continue
        for (const block of message.content) {
          if (block.type !== 'tool_result') continue
          results.push(typeof block.content === 'string' ? block.content : '')
          toolIds.push(block.tool_use_id)
        }
      }
      return {
        results,
        toolIds,
        tools: (request.tools ?? []).map((tool) =>
          'name' in tool ? [tool.name, (tool as { strict?: unknown }).strict] : ['?', undefined],
        ),
      }
    },
  },
]

let running: { close(): Promise<void> } | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

for (const provider of providers) {
  describe(`Agent over HTTP: ${provider.name}`, () => {
    it('runs a multi-turn tool loop: tool calls, results with their ids and the answer round-trip on the wire', async () => {
      notes.length = 0
      const { server, model } = await provider.start()
      running = server
      const agent = new Agent({ name: 'loan-review', model, tools: [lookup, debtRatio] })
      const record = await agent.trace('Review applicant A-17')
      expect(record.status, formatRunTree(record)).toBe('complete')
      expect(record.output).toMatchObject({ status: 'complete', output: 'Debt ratio 25%: approve.', steps: 3 })
      expect(server.requests.filter((request) => request.method === 'POST')).toHaveLength(3)
      expect(provider.wire(server, 0).tools).toEqual([
        ['lookup_applicant', true],
        ['debt_ratio', true],
      ])
      const last = provider.wire(server, 2)
      expect(last.toolIds).toHaveLength(2)
      expect(last.results.map((result) => JSON.parse(result))).toEqual([
        { monthlyIncome: 8000, monthlyDebt: 2000 },
        { ratio: 0.25 },
      ])
      expect(notes).toEqual([undefined])
      // Every turn and every call is a run of its own, with the turns' tokens summed up to the agent.
      expect(record.children.map((child) => child.function)).toEqual([
        'model',
        'lookup_applicant',
        'model',
        'debt_ratio',
        'model',
      ])
      expect(
        record.children.filter((child) => child.function === 'model').every((child) => child.usage?.calls === 1),
      ).toBe(true)
      expect(record.usage?.calls).toBe(3)
    })

    it('streams text deltas and tool calls over a streamed HTTP response', async () => {
      const { server, model } = await provider.start()
      running = server
      const stream = new Agent({ name: 'loan-review', model, tools: [lookup, debtRatio] }).stream('Review A-17')
      const events: AgentEvent[] = []
      for await (const event of stream) events.push(event)
      expect((await stream.result).status).toBe('complete')
      const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
      expect(text).toBe('Debt ratio 25%: approve.')
      expect(events.filter((event) => event.type === 'tool-call-finished').map((event) => event.toolName)).toEqual([
        'lookup_applicant',
        'debt_ratio',
      ])
      expect(events.filter((event) => event.type === 'step-finished')).toHaveLength(3)
    })
  })
}

describe('Agent over HTTP: a conversation it completed', () => {
  it('carries on after a final answer: every call in it has its result, as the API requires', async () => {
    // Decides on the first turn; asked again, decides once more, with the earlier decision in the conversation.
    const server = await startOpenAICompatibleServer({
      replies: (request) => {
        const asked = request.messages.filter((message) => message.role === 'user').length
        return { toolCalls: [{ name: 'final_answer', arguments: { decision: asked === 1 ? 'approve' : 'decline' } }] }
      },
    })
    running = server
    const model = new OpenAIChat({
      name: 'model',
      model: 'gpt-4o-mini',
      baseURL: server.baseURL,
      apiKey: 'sk-test',
      output: 'result',
    })
    const agent = new Agent({ name: 'decider', model, finalAnswer: { schema: z.object({ decision: z.string() }) } })
    const first = await agent.invoke('Decide on A-17.')
    expect(first).toMatchObject({ status: 'complete', output: { decision: 'approve' }, finishedBy: 'final-answer' })
    const again = await agent.invoke({ messages: [...first.messages, { role: 'user', content: 'Once more.' }] })
    expect(again).toMatchObject({ status: 'complete', output: { decision: 'decline' } })
  })
})

describe('Agent over HTTP: Anthropic with extended thinking', () => {
  for (const streamed of [false, true]) {
    it(`sends the model's thinking back with its tool-use turn, which the API requires (${streamed ? 'streamed' : 'generated'})`, async () => {
      const server = await startAnthropicCompatibleServer({
        replies: (request) =>
          request.messages.length === 1
            ? {
                thinking: ['Look the applicant up first.'],
                toolUses: [{ name: 'lookup_applicant', input: { applicantId: 'A-17' } }],
              }
            : 'Income 8000, debt 2000: approve.',
      })
      running = server
      const model = new AnthropicChat({
        name: 'model',
        model: 'claude-sonnet-4-5',
        baseURL: server.baseURL,
        apiKey: 'sk-ant-test',
        output: 'result',
        maxTokens: 4_000,
        providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 1_024 } } },
      })
      const agent = new Agent({ name: 'loan-review', model, tools: [lookup] })
      if (streamed) {
        const stream = agent.stream('Review applicant A-17')
        for await (const _ of stream);
        expect(await stream.result).toMatchObject({ status: 'complete', output: 'Income 8000, debt 2000: approve.' })
      } else {
        const record = await agent.trace('Review applicant A-17')
        expect(record.status, formatRunTree(record)).toBe('complete')
      }
      const second = server.messageRequests[1]!.messages[1]!
      expect(second.role).toBe('assistant')
      const blocks = typeof second.content === 'string' ? [] : second.content
      expect(blocks.map((block) => block.type)).toEqual(['thinking', 'tool_use'])
      expect(blocks[0]).toMatchObject({ thinking: 'Look the applicant up first.' })
    })
  }
})

describe('Agent over HTTP: a streamed tool call cut off in its arguments', () => {
  it('tells the model its arguments were not JSON and carries on, on Anthropic too, which takes a call only as an object', async () => {
    // A turn cut by max_tokens inside a tool call: the streamed JSON text of its input ends half-way.
    const server = await startAnthropicCompatibleServer({
      replies: (request) =>
        request.messages.length === 1
          ? {
              toolUses: [{ id: 'toolu_1', name: 'lookup_applicant', input: '{"applicantId": "A-' }],
              stopReason: 'max_tokens',
            }
          : 'Your lookup was cut off; try again.',
    })
    running = server
    const model = new AnthropicChat({
      name: 'model',
      model: 'claude-haiku-4-5',
      baseURL: server.baseURL,
      apiKey: 'sk-ant-test',
      output: 'result',
    })
    const stream = new Agent({ name: 'loan-review', model, tools: [lookup] }).stream('Review applicant A-17')
    for await (const _ of stream);
    const outcome = await stream.result
    expect(outcome).toMatchObject({ status: 'complete', output: 'Your lookup was cut off; try again.', steps: 2 })
    const [, turn, result] = server.messageRequests[1]!.messages
    expect(turn).toMatchObject({ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', input: {} }] })
    expect(result).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1' }] })
    const told = (result!.content as Array<{ content?: unknown }>)[0]!.content
    expect(String(told)).toContain('not valid JSON')
  })
})
