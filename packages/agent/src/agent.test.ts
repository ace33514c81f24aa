import {
  AbortError,
  BudgetExceededError,
  ConfigurationError,
  defineFunction,
  Function,
  FunctionError,
  MemoryJournal,
  type RunRecord,
  type StepJournal,
  StepLimitError,
  ValidationError,
} from '@tinyllm/core'
import { Chain } from '@tinyllm/flow'
import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  LLMCall,
  ProviderCallError,
  ToolCallError,
  type ToolMessage,
} from '@tinyllm/llm'
import { ScriptedChatModel, type ScriptedReply } from '@tinyllm/llm/testing'
import { createMemoryLogger, registerSecret } from '@tinyllm/logger'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { Agent, type AgentEvent, type AgentOptions, asTool, defineTool, NestedApprovalError } from './index.js'

/** An LLMCall over a scripted model, as the agent's model. */
function scripted(...replies: Array<ScriptedReply | ((request: ChatRequest) => ScriptedReply)>) {
  const model = new ScriptedChatModel({ responses: replies })
  return { model, llm: new LLMCall({ name: 'model', model, output: 'result' }) }
}

const call = (name: string, arguments_: unknown, id = `call-${name}`) => ({
  id,
  name,
  arguments: typeof arguments_ === 'string' ? arguments_ : JSON.stringify(arguments_),
})

/** The tool messages the model received in call `index`. */
function toolMessages(model: ScriptedChatModel, index: number): ToolMessage[] {
  return (model.calls[index]?.messages ?? []).filter((message): message is ToolMessage => message.role === 'tool')
}

const applicants: Record<string, { income: number; debt: number }> = { 'A-17': { income: 8000, debt: 2000 } }
const lookup = defineTool({
  name: 'lookup_applicant',
  description: "An applicant's monthly income and debt",
  input: z.object({ applicantId: z.string() }),
  run: ({ applicantId }) => applicants[applicantId] ?? null,
})
const ratio = defineTool({
  name: 'debt_ratio',
  description: 'Monthly debt divided by monthly income',
  input: z.object({ income: z.number().positive(), debt: z.number().min(0) }),
  run: ({ income, debt }) => ({ ratio: debt / income }),
})

/** A step a tool runs, whose input schema the tool's code (not the model) can get wrong. */
const parseCents = defineFunction({
  name: 'parse_cents',
  input: z.object({ cents: z.number() }),
  run: ({ cents }) => cents,
})

function agentWith(llm: LLMCall<'result', never>, options: Partial<AgentOptions> = {}): Agent {
  return new Agent({ name: 'reviewer', model: llm, tools: [lookup, ratio], ...options })
}

describe('Agent: the loop', () => {
  it('calls tools until the model answers without one; each turn and each call is a child run', async () => {
    const { model, llm } = scripted(
      { toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] },
      { toolCalls: [call('debt_ratio', { income: 8000, debt: 2000 })] },
      'The debt ratio is 25%.',
    )
    const agent = agentWith(llm, { instructions: 'You review loans.' })
    const record = await agent.trace('Review A-17')
    expect(record.status).toBe('complete')
    expect(record.output).toMatchObject({
      status: 'complete',
      output: 'The debt ratio is 25%.',
      finishedBy: 'answer',
      steps: 3,
    })
    expect(record.children.map((child) => `${child.function} (${child.kind})`)).toEqual([
      'model (llm-call)',
      'lookup_applicant (tool)',
      'model (llm-call)',
      'debt_ratio (tool)',
      'model (llm-call)',
    ])
    expect(record.children.map((child) => child.runId.split('/').at(-1))).toEqual([
      'turn-1',
      'turn-1-0',
      'turn-2',
      'turn-2-0',
      'turn-3',
    ])
    expect(record.usage?.calls).toBe(3)
    expect(record.annotations).toMatchObject({ outcome: 'answer', steps: 3 })
    // The model saw the instructions first, the tools (strict), and each result with its call's id.
    const first = model.calls[0] as ChatRequest
    expect(first.messages[0]).toEqual({ role: 'system', content: 'You review loans.' })
    expect(first.tools?.map((tool) => [tool.name, tool.strict])).toEqual([
      ['lookup_applicant', true],
      ['debt_ratio', true],
    ])
    expect(toolMessages(model, 1)).toEqual([
      { role: 'tool', toolCallId: 'call-lookup_applicant', content: '{"income":8000,"debt":2000}' },
    ])
    expect(toolMessages(model, 2).at(-1)).toEqual({
      role: 'tool',
      toolCallId: 'call-debt_ratio',
      content: '{"ratio":0.25}',
    })
  })

  it('runs the calls of one turn at once, at most toolConcurrency, and returns their results in call order', async () => {
    let running = 0
    let most = 0
    let started = 0
    const release: Array<() => void> = []
    const slow = defineTool({
      name: 'slow',
      description: 'Takes its time',
      input: z.object({ n: z.number() }),
      run: async ({ n }) => {
        running += 1
        started += 1
        most = Math.max(most, running)
        // Held until every call the agent started has started: the bound, not the machine's speed, decides `most`.
        await new Promise<void>((resolve) => {
          release.push(resolve)
          if (release.length === 2 || started === 5) for (const next of release.splice(0)) next()
        })
        running -= 1
        return n * 10
      },
    })
    const { model, llm } = scripted({ toolCalls: [1, 2, 3, 4, 5].map((n) => call('slow', { n }, `c${n}`)) }, 'done')
    const outcome = await new Agent({ name: 'fan', model: llm, tools: [slow], toolConcurrency: 2 }).invoke('go')
    expect(outcome.status).toBe('complete')
    expect(most).toBe(2)
    expect(toolMessages(model, 1).map((message) => [message.toolCallId, message.content])).toEqual([
      ['c1', '10'],
      ['c2', '20'],
      ['c3', '30'],
      ['c4', '40'],
      ['c5', '50'],
    ])
  })

  it('answers with a structured final answer through the final-answer tool, validated by its schema', async () => {
    const { model, llm } = scripted(
      { toolCalls: [call('final_answer', { decision: 'maybe' })] },
      { toolCalls: [call('final_answer', { decision: 'approve', ratio: 0.25 }, 'f2')] },
    )
    const agent = new Agent({
      name: 'decider',
      model: llm,
      tools: [ratio],
      finalAnswer: { schema: z.object({ decision: z.enum(['approve', 'decline']), ratio: z.number().optional() }) },
    })
    const outcome = await agent.invoke('Decide')
    expect(outcome).toMatchObject({
      status: 'complete',
      output: { decision: 'approve', ratio: 0.25 },
      finishedBy: 'final-answer',
    })
    // The first answer did not fit: the model was told where, and a tool call was required on every turn.
    expect(JSON.parse(toolMessages(model, 1)[0]?.content ?? '')).toMatchObject({
      error: expect.stringContaining('invalid arguments: decision'),
    })
    expect(model.calls.every((request) => request.toolChoice === 'required')).toBe(true)
    expect(model.calls[0]?.tools?.at(-1)).toMatchObject({ name: 'final_answer', strict: true })
  })

  it('composes inside a Chain, and shows in its run tree', async () => {
    const { llm } = scripted({ toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] }, 'Income 8000.')
    const agent = agentWith(llm)
    const chain = new Chain({
      name: 'review',
      children: [
        agent,
        defineFunction({
          name: 'headline',
          run: (outcome: Awaited<ReturnType<typeof agent.invoke>>) =>
            outcome.status === 'complete' ? outcome.output.toUpperCase() : 'PAUSED',
        }),
      ],
    })
    const record = await chain.trace('Review A-17')
    expect(record.output).toBe('INCOME 8000.')
    expect(record.children[0]?.kind).toBe('agent')
    expect(record.children[0]?.children.map((child) => child.function)).toEqual(['model', 'lookup_applicant', 'model'])
  })

  it('offers any Function with a description as a tool, and wraps one without through asTool', async () => {
    class Echo extends Function<{ text: string }, string> {
      readonly description = 'Repeats the text'
      run(input: { text: string }) {
        return input.text
      }
    }
    const echo = new Echo({ name: 'echo', input: z.object({ text: z.string() }) })
    const double = asTool(
      defineFunction({ name: 'double', input: z.object({ n: z.number() }), run: ({ n }) => n * 2 }),
      { description: 'Doubles a number' },
    )
    const { model, llm } = scripted({ toolCalls: [call('echo', { text: 'hi' }), call('double', { n: 4 })] }, 'ok')
    const record = await new Agent({ name: 'a', model: llm, tools: [echo, double] }).trace('go')
    expect(toolMessages(model, 1).map((message) => message.content)).toEqual(['hi', '8'])
    expect(record.children[2]).toMatchObject({ function: 'double', kind: 'tool' })
    expect(record.children[2]?.children[0]).toMatchObject({ function: 'double', kind: 'function' })
  })

  it("asTool keeps the Function's own timeoutMs: a longer one than toolTimeoutMs lets it finish, a shorter one stops it", async () => {
    // The 20 ms limit fires before the 200 ms timer whatever the load: the call finishes only under its own limit.
    const slow = defineFunction({
      name: 'slow',
      input: z.object({}),
      timeoutMs: 30_000,
      run: () => new Promise<string>((resolve) => setTimeout(() => resolve('finished'), 200)),
    })
    const hangs = defineFunction({
      name: 'hangs',
      input: z.object({}),
      timeoutMs: 50,
      run: () => new Promise<string>(() => {}),
    })
    const slowTool = asTool(slow, { description: 'Takes its time' })
    const hangingTool = asTool(hangs, { description: 'Never answers' })
    expect([slowTool.timeoutMs, hangingTool.timeoutMs]).toEqual([30_000, 50])
    const { model, llm } = scripted({ toolCalls: [call('slow', {})] }, { toolCalls: [call('hangs', {})] }, 'ok')
    const outcome = await new Agent({
      name: 'a',
      model: llm,
      tools: [slowTool, hangingTool],
      toolTimeoutMs: 20,
    }).invoke('go')
    expect(outcome.status).toBe('complete')
    expect(toolMessages(model, 1).map((message) => message.content)).toEqual(['finished'])
    expect(JSON.parse(toolMessages(model, 2)[1]?.content ?? '{}')).toEqual({
      error: 'the tool did not finish in time (50 ms) and was stopped',
    })
  })

  it('a tool that is no Function and ignores its deadline and signal is stopped at toolTimeoutMs, and so are its siblings when one fails the run', async () => {
    // An AgentTool of its own: an object with `invoke`, which never settles whatever it is handed.
    const deaf = (name: string) => ({
      name,
      kind: 'tool',
      description: 'Never answers',
      inputSchema: z.object({}),
      invoke: () => new Promise<never>(() => {}),
      describe: () => ({ kind: 'tool', name }),
    })
    const { model, llm } = scripted({ toolCalls: [call('deaf', {})] }, 'ok')
    const outcome = await new Agent({ name: 'a', model: llm, tools: [deaf('deaf')], toolTimeoutMs: 20 }).invoke('go')
    expect(outcome.status).toBe('complete')
    expect(JSON.parse(toolMessages(model, 1)[0]?.content ?? '{}')).toEqual({
      error: 'the tool did not finish in time (20 ms) and was stopped',
    })
    const failing = scripted({ toolCalls: [call('deaf', {}), call('lookup_applicant', '{"applicantId": 7}')] })
    const error = await new Agent({
      name: 'b',
      model: failing.llm,
      tools: [deaf('deaf'), lookup],
      onToolError: 'fail',
    })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error)).toBe(true)
  })

  it('a tool that is no Function rejecting with what is no Error (a string, undefined): the model is told, the run goes on', async () => {
    const rejecting = (name: string, reason: unknown) => ({
      name,
      kind: 'tool',
      description: 'Rejects',
      inputSchema: z.object({}),
      invoke: async () => Promise.reject(reason),
      describe: () => ({ kind: 'tool', name }),
    })
    const tools = [rejecting('text', 'not ready'), rejecting('nothing', undefined)]
    const { model, llm } = scripted({ toolCalls: [call('text', {}), call('nothing', {})] }, 'ok')
    const outcome = await new Agent({ name: 'a', model: llm, tools }).invoke('go')
    expect(outcome.status).toBe('complete')
    expect(toolMessages(model, 1).map((message) => JSON.parse(message.content))).toEqual([
      { error: 'the tool failed: text: invoke threw "not ready"' },
      { error: 'the tool failed: nothing: invoke threw undefined' },
    ])
    const failing = scripted({ toolCalls: [call('nothing', {})] })
    const error = await new Agent({ name: 'b', model: failing.llm, tools, onToolError: 'fail' })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(FunctionError.isInstance(error) && error.functionName).toBe('nothing')
  })

  it('asTool of an agent that pauses for approval fails the call with a NestedApprovalError the model is told, running nothing unasked', async () => {
    const paid: string[] = []
    const pay = defineTool({
      name: 'pay',
      description: 'Pays an invoice',
      input: z.object({ invoice: z.string() }),
      needsApproval: true,
      run: ({ invoice }) => {
        paid.push(invoice)
        return 'paid'
      },
    })
    // An agent's input is a conversation: its JSON Schema, given as the tool's parameters.
    const conversation = { type: 'object', properties: { messages: { type: 'array' } }, required: ['messages'] }
    const inner = scripted({ toolCalls: [call('pay', { invoice: 'I-9' }, 'p1')] }, 'unused')
    const clerk = asTool(new Agent({ name: 'clerk', model: inner.llm, tools: [pay] }), {
      name: 'clerk',
      description: 'Settles invoices',
      parameters: conversation,
      strict: false,
    })
    const outer = scripted({ toolCalls: [call('clerk', { messages: [{ role: 'user', content: 'Pay I-9' }] })] }, 'ok')
    const record = await new Agent({ name: 'boss', model: outer.llm, tools: [clerk] }).trace('go')
    expect(record.output).toMatchObject({ status: 'complete', output: 'ok' })
    expect(paid).toEqual([])
    const told = JSON.parse(toolMessages(outer.model, 1)[0]?.content ?? '{}') as { error?: string }
    expect(told.error).toBe(
      `the tool failed: clerk: paused for a person's approval of pay (call "p1"), which a call made inside a tool cannot wait for, so it was not run; give needsApproval to the tool that offers the agent instead`,
    )
    const clerkRun = record.children.find((child) => child.function === 'clerk')
    expect(NestedApprovalError.isInstance(clerkRun?.error)).toBe(true)
    expect((clerkRun?.error as NestedApprovalError | undefined)?.approvals).toEqual([
      { toolCallId: 'p1', toolName: 'pay' },
    ])

    const strict = scripted({ toolCalls: [call('clerk', { messages: [{ role: 'user', content: 'Pay I-9' }] })] })
    const again = scripted({ toolCalls: [call('pay', { invoice: 'I-9' }, 'p1')] })
    const strictClerk = asTool(new Agent({ name: 'clerk', model: again.llm, tools: [pay] }), {
      name: 'clerk',
      description: 'Settles invoices',
      parameters: conversation,
      strict: false,
    })
    const error = await new Agent({ name: 'boss', model: strict.llm, tools: [strictClerk], onToolError: 'fail' })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(NestedApprovalError.isInstance(error)).toBe(true)
    expect(paid).toEqual([])
  })
})

describe('Agent: bad input from the model and bad tools (fed back by default, typed errors with fail)', () => {
  const cases: Array<{
    what: string
    reply: ScriptedReply
    tools?: AgentOptions['tools']
    toolTimeoutMs?: number
    fedBack: RegExp
    failsWith: (error: unknown) => boolean
  }> = [
    {
      what: 'arguments that are not JSON',
      reply: { toolCalls: [call('lookup_applicant', '{"applicantId": ')] },
      fedBack: /the arguments are not valid JSON/,
      failsWith: (error) => ToolCallError.isInstance(error) && error.reason === 'invalid-json',
    },
    {
      what: "arguments the tool's schema refuses",
      reply: { toolCalls: [call('debt_ratio', { income: -5, debt: 'a lot' })] },
      fedBack: /invalid arguments: income: .*; debt: /,
      failsWith: (error) => ValidationError.isInstance(error) && error.state === 'input_validation',
    },
    {
      what: 'a tool that throws',
      reply: { toolCalls: [call('explode', {})] },
      tools: [
        defineTool({
          name: 'explode',
          description: 'Fails',
          input: z.object({}),
          run: () => {
            throw new Error('the records database is offline')
          },
        }),
      ],
      fedBack: /the tool failed: .*the records database is offline/,
      failsWith: (error) => FunctionError.isInstance(error) && error.functionName === 'explode',
    },
    {
      // The model's arguments were right: it is not told to fix them, nor pointed at a path they do not have.
      what: 'a tool whose own step refuses the input the tool gave it',
      reply: { toolCalls: [call('convert', { amount: '12' })] },
      tools: [
        defineTool({
          name: 'convert',
          description: 'Converts an amount',
          input: z.object({ amount: z.string() }),
          run: ({ amount }, context) => context.invoke(parseCents, { cents: amount } as never),
        }),
      ],
      fedBack: /^the tool failed: parse_cents refused its input: cents: .*expected number/,
      failsWith: (error) => ValidationError.isInstance(error) && error.functionName === 'parse_cents',
    },
    {
      what: 'a tool that hangs past its deadline',
      reply: { toolCalls: [call('hang', {})] },
      tools: [
        defineTool({ name: 'hang', description: 'Never ends', input: z.object({}), run: () => new Promise(() => {}) }),
      ],
      toolTimeoutMs: 50,
      fedBack: /did not finish in time \(50 ms\)/,
      failsWith: (error) => (error as Error).name === 'TimeoutError',
    },
    {
      what: 'a tool result that is not JSON-safe',
      reply: { toolCalls: [call('when', {})] },
      tools: [
        defineTool({ name: 'when', description: 'A date', input: z.object({}), run: () => ({ at: new Date(0) }) }),
      ],
      fedBack: /^the tool's result cannot be sent back: at: an instance of Date is not JSON-safe$/,
      failsWith: (error) => ValidationError.isInstance(error) && error.state === 'processing_output',
    },
    {
      // JSON-safe, but larger than a result may be: the model is told that, not that it is not JSON-safe.
      what: 'a tool result over 1 MiB of JSON',
      reply: { toolCalls: [call('dump', {})] },
      tools: [
        defineTool({
          name: 'dump',
          description: 'Everything',
          input: z.object({}),
          run: () => ({ rows: Array.from({ length: 1_100 }, () => 'x'.repeat(1_000)) }),
        }),
      ],
      fedBack: /^the tool's result cannot be sent back: \(root\): its JSON is more than the 1048576 bytes allowed$/,
      failsWith: (error) => ValidationError.isInstance(error) && error.state === 'processing_output',
    },
  ]

  for (const example of cases) {
    it(`${example.what}: the model is told, and goes on`, async () => {
      const { model, llm } = scripted(example.reply, 'Sorry, I could not.')
      const agent = agentWith(llm, {
        ...(example.tools === undefined ? {} : { tools: example.tools }),
        ...(example.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: example.toolTimeoutMs }),
      })
      const events: AgentEvent[] = []
      const outcome = await agent.invoke('go', { stream: (event) => events.push(event as AgentEvent) })
      expect(outcome).toMatchObject({ status: 'complete', output: 'Sorry, I could not.' })
      const content = JSON.parse(toolMessages(model, 1)[0]?.content ?? 'null') as { error: string }
      expect(content.error).toMatch(example.fedBack)
      expect(events.find((event) => event.type === 'tool-call-finished')).toMatchObject({ status: 'error' })
    })

    it(`${example.what}: with onToolError 'fail', the run fails with the typed error`, async () => {
      const { llm } = scripted(example.reply, 'unused')
      const agent = agentWith(llm, {
        onToolError: 'fail',
        ...(example.tools === undefined ? {} : { tools: example.tools }),
        ...(example.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: example.toolTimeoutMs }),
      })
      const error = await agent.invoke('go').catch((caught: unknown) => caught)
      expect(example.failsWith(error), String(error)).toBe(true)
    })
  }

  it('a registered secret a schema quotes in its refusal is redacted in what the model and the stream are told', async () => {
    const secret = 'sk-test-redact-me-0123456789abcdef'
    const unregister = registerSecret(secret)
    try {
      const keyed = defineTool({
        name: 'keyed',
        description: 'Needs a key',
        input: z.object({
          key: z.string().refine((key) => key.length > 40, { message: `expected a key like ${secret}` }),
        }),
        run: () => 'ok',
      })
      const { model, llm } = scripted({ toolCalls: [call('keyed', { key: 'short' })] }, 'Sorry.')
      const events: AgentEvent[] = []
      const outcome = await agentWith(llm, { tools: [keyed] }).invoke('go', {
        stream: (event) => events.push(event as AgentEvent),
      })
      const told = toolMessages(model, 1)[0]?.content ?? ''
      // Booleans only: a failing match would print the text, secret and all.
      expect(/invalid arguments: key: expected a key like \[REDACTED\]/.test(told)).toBe(true)
      for (const text of [told, JSON.stringify(events), JSON.stringify(outcome)])
        expect(text.includes(secret)).toBe(false)
    } finally {
      unregister()
    }
  })

  it('arguments with more than 20 issues: the model is told the first 20 and how many more, however many there are', async () => {
    const tags = defineTool({
      name: 'tags',
      description: 'Stores tags',
      input: z.object({ tags: z.array(z.string()) }),
      run: () => 'ok',
    })
    const { model, llm } = scripted({ toolCalls: [call('tags', { tags: Array(10_005).fill(1) })] }, 'Sorry.')
    const outcome = await agentWith(llm, { tools: [tags] }).invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'Sorry.' })
    const told = JSON.parse(toolMessages(model, 1)[0]?.content ?? '{}').error as string
    expect(told.startsWith('invalid arguments: tags[0]: Invalid input: expected string, received number; ')).toBe(true)
    expect(told.endsWith('; … and 9985 more')).toBe(true)
    expect(told.split('; ')).toHaveLength(21)
  })

  it('a turn of 150,000 tool calls gets a result for each, not a stack overflow', async () => {
    const tags = defineTool({ name: 'tags', description: 'Stores tags', input: z.object({}), run: () => 'ok' })
    // Arguments that are not JSON: each call is told so without running, so the turn costs no tool runs.
    const toolCalls = Array.from({ length: 150_000 }, (_, index) => ({
      id: `c${index}`,
      name: 'tags',
      arguments: `not json ${index}`,
    }))
    const { model, llm } = scripted({ toolCalls }, 'Sorry.')
    const outcome = await agentWith(llm, { tools: [tags] }).invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'Sorry.' })
    const told = toolMessages(model, 1)
    expect(told).toHaveLength(150_000)
    expect(told.at(-1)?.toolCallId).toBe('c149999')
  }, 120_000)

  it('a tool name or call id of a megabyte is quoted cut short in what the model is told and in the error', async () => {
    const huge = 'i'.repeat(1_000_000)
    const { model, llm } = scripted(
      { toolCalls: [call(huge, {})] },
      { toolCalls: [call('lookup_applicant', '{bad', huge)] },
      'Fine.',
    )
    const outcome = await agentWith(llm).invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'Fine.' })
    const told = (model.calls[2]?.messages ?? []).slice(1).map((message) => String(message.content))
    expect(told).toHaveLength(3)
    expect(told[0]).toContain(`"${'i'.repeat(50)}`)
    expect(told[2]).toContain('not valid JSON')
    for (const content of told) expect(content.length).toBeLessThan(2_000)
    const { llm: failing } = scripted({ toolCalls: [call('lookup_applicant', '{bad', huge)] })
    const error = await agentWith(failing, { onToolError: 'fail' })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(ToolCallError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message.length).toBeLessThan(2_000)
  })

  it('records a call whose arguments are not JSON with {} in the conversation, a final answer too, and tells the model', async () => {
    // Half-written arguments (a stream cut inside the call) would go back to the model with the next turn, and a
    // provider that takes a call's input only as an object (Anthropic) refuses the whole conversation.
    const { model, llm } = scripted(
      {
        toolCalls: [call('lookup_applicant', '{"applicantId": "A-'), call('final_answer', '{"decision": "appr', 'fa')],
      },
      { toolCalls: [call('final_answer', { decision: 'approve' }, 'fa2')] },
    )
    const finalAnswer = { schema: z.object({ decision: z.string() }) }
    const outcome = await new Agent({ name: 'reviewer', model: llm, tools: [lookup], finalAnswer }).invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: { decision: 'approve' } })
    const sent = model.calls[1]?.messages.find((message) => message.role === 'assistant')
    expect(sent).toMatchObject({ toolCalls: [{ arguments: '{}' }, { arguments: '{}' }] })
    expect(toolMessages(model, 1).map((message) => message.content)).toEqual([
      expect.stringContaining('not valid JSON'),
      expect.stringContaining('not valid JSON'),
    ])
  })

  it('an unknown tool: the model is told which tools exist and asked again; with fail, a ToolCallError', async () => {
    const { model, llm } = scripted({ toolCalls: [call('delete_everything', {})] }, 'Fine.')
    const record = await agentWith(llm).trace('go')
    expect(record.output).toMatchObject({ status: 'complete', output: 'Fine.', steps: 2 })
    const note = model.calls[1]?.messages.at(-1)
    expect(note).toMatchObject({ role: 'user' })
    expect(note?.content).toContain('"delete_everything", which does not exist')
    expect(note?.content).toContain('lookup_applicant, debt_ratio')
    // The refused turn shows in the tree, with its tokens.
    expect(record.children[0]).toMatchObject({ status: 'failed', error: { reason: 'unknown-tool' } })
    const { llm: failing } = scripted({ toolCalls: [call('delete_everything', {})] })
    const error = await agentWith(failing, { onToolError: 'fail' })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(ToolCallError.isInstance(error) && error.reason === 'unknown-tool').toBe(true)
  })

  it('the model looping on the same call: one more is refused and told, the next one fails the run', async () => {
    const same = { toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] }
    const { model, llm } = scripted(same, same, same, same, same, 'unused')
    const error = await agentWith(llm, { maxIdenticalCalls: 3 })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(StepLimitError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain('identical calls of lookup_applicant')
    expect(model.calls).toHaveLength(5)
    // Runs 1–3 ran the tool; the 4th was refused and the model told so; the 5th failed the run.
    expect(JSON.parse(toolMessages(model, 4).at(-1)?.content ?? '{}').error).toContain('already ran 3 times')
  })

  it('counts calls whose arguments are blank however they are spaced as one call with {}: they run as one', async () => {
    let runs = 0
    const clock = defineTool({ name: 'clock', description: 'The time', input: z.object({}), run: () => ++runs })
    // Each of these reaches the tool as `{}`: blank arguments count as no arguments.
    const blanks = ['', '  ', '\n', '\t']
    const { model, llm } = scripted(
      { toolCalls: blanks.map((arguments_, index) => ({ id: `c${index}`, name: 'clock', arguments: arguments_ })) },
      'Done.',
    )
    const outcome = await agentWith(llm, { tools: [clock], maxIdenticalCalls: 3 }).invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'Done.' })
    expect(runs).toBe(3)
    expect(JSON.parse(toolMessages(model, 1).at(-1)?.content ?? '{}').error).toContain('already ran 3 times')

    // One more, spaced otherwise again, fails the run, as the same call made a fifth time does.
    const again = scripted(
      {
        toolCalls: [...blanks, ' \n '].map((arguments_, index) => ({
          id: `c${index}`,
          name: 'clock',
          arguments: arguments_,
        })),
      },
      'unused',
    )
    const error = await agentWith(again.llm, { tools: [clock], maxIdenticalCalls: 3 })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(StepLimitError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toContain('identical calls of clock')
  })
})

describe('Agent: stop conditions', () => {
  it('holds the defaults its README gives: 10 model turns, 3 identical calls, 4 tool calls at once, 60 s per tool', async () => {
    const turns = Array.from({ length: 11 }, (_, turn) => ({
      toolCalls: [call('lookup_applicant', { applicantId: `A-${turn}` }, `c${turn}`)],
    }))
    const { model: looping, llm: loopingModel } = scripted(...turns, 'unused')
    const stepError = await agentWith(loopingModel)
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(StepLimitError.isInstance(stepError)).toBe(true)
    expect((stepError as Error).message).toContain('step limit of 10 model turns')
    expect(looping.calls).toHaveLength(10)

    const same = { toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] }
    const { model: repeating, llm: repeatingModel } = scripted(same, same, same, same, same, 'unused')
    const repeatError = await agentWith(repeatingModel)
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(StepLimitError.isInstance(repeatError)).toBe(true)
    expect(repeating.calls).toHaveLength(5)
    expect(JSON.parse(toolMessages(repeating, 4).at(-1)?.content ?? '{}').error).toContain('already ran 3 times')

    let running = 0
    let most = 0
    const waiting: Array<() => void> = []
    const slow = defineTool({
      name: 'slow',
      description: 'Takes its time',
      input: z.object({ n: z.number() }),
      run: async ({ n }) => {
        running += 1
        most = Math.max(most, running)
        // Held until four calls are running, or until the last one has started: the bound decides `most`.
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          if (running === 4 || n === 6) for (const next of waiting.splice(0)) next()
        })
        running -= 1
        return n
      },
    })
    const fan = scripted({ toolCalls: [1, 2, 3, 4, 5, 6].map((n) => call('slow', { n }, `s${n}`)) }, 'done')
    const agent = new Agent({ name: 'fan', model: fan.llm, tools: [slow] })
    expect(await agent.invoke('go')).toMatchObject({ status: 'complete' })
    expect(most).toBe(4)
    expect(agent.toolTimeoutMs).toBe(60_000)
  })

  it('a step limit: a StepLimitError once the model has taken maxSteps turns and still calls tools', async () => {
    const { llm } = scripted(
      { toolCalls: [call('lookup_applicant', { applicantId: 'A-1' }, 'a')] },
      { toolCalls: [call('lookup_applicant', { applicantId: 'A-2' }, 'b')] },
      'unused',
    )
    const record = await agentWith(llm, { maxSteps: 2 }).trace('go')
    expect(record.status).toBe('failed')
    expect(StepLimitError.isInstance(record.error)).toBe(true)
    expect(record.error?.message).toContain('step limit of 2 model turns')
    expect(record.children.map((child) => child.function)).toEqual([
      'model',
      'lookup_applicant',
      'model',
      'lookup_applicant',
    ])
  })

  it("a token budget: a BudgetExceededError before the turn that would exceed the tree's budget", async () => {
    const { model, llm } = scripted(
      {
        toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })],
        usage: { inputTokens: 400, outputTokens: 100 },
      },
      'unused',
    )
    const error = await agentWith(llm)
      .invoke('go', { budget: { maxTokens: 1200 } })
      .catch((caught: unknown) => caught)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect(model.calls).toHaveLength(1)
  })

  it('a tool error that always fails the run cancels the calls still in flight beside it, not waits for them', async () => {
    let started: () => void = () => {}
    const waiting = new Promise<void>((resolve) => {
      started = resolve
    })
    const wait = defineTool({
      name: 'wait',
      description: 'Waits until it is cancelled, or its own deadline passes',
      input: z.object({}),
      timeoutMs: 3_000,
      run: (_arguments, context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
          started()
        }),
    })
    const misconfigured = defineTool({
      name: 'misconfigured',
      description: 'Finds its configuration wrong once the other call runs',
      input: z.object({}),
      run: async () => {
        await waiting
        throw new ConfigurationError({ option: 'region', message: 'region is not set', functionName: 'misconfigured' })
      },
    })
    const { llm } = scripted({ toolCalls: [call('wait', {}), call('misconfigured', {})] }, 'unused')
    const record = await new Agent({ name: 'a', model: llm, tools: [wait, misconfigured] }).trace('go')
    expect(record.status).toBe('failed')
    expect(ConfigurationError.isInstance(record.error)).toBe(true)
    const waited = record.children.find((child) => child.function === 'wait')
    expect(waited?.status).toBe('failed')
    expect(AbortError.isInstance(waited?.error)).toBe(true)
  })

  it('abort: the run fails with an AbortError, and a tool in flight is cancelled', async () => {
    let toolSignal: AbortSignal | undefined
    const controller = new AbortController()
    const wait = defineTool({
      name: 'wait',
      description: 'Waits',
      input: z.object({}),
      run: (_arguments, context) => {
        toolSignal = context.signal
        controller.abort(new Error('the user left'))
        return new Promise(() => {})
      },
    })
    const { llm } = scripted({ toolCalls: [call('wait', {})] }, 'unused')
    const error = await new Agent({ name: 'a', model: llm, tools: [wait] })
      .invoke('go', { signal: controller.signal })
      .catch((caught: unknown) => caught)
    expect(AbortError.isInstance(error)).toBe(true)
    expect(toolSignal?.aborted).toBe(true)
  })
})

describe('Agent: approval', () => {
  const sends: string[] = []
  const send = defineTool({
    name: 'send_email',
    description: 'Sends an email',
    input: z.object({ to: z.string(), body: z.string() }),
    needsApproval: true,
    run: ({ to, body }) => {
      sends.push(`${to}: ${body}`)
      return { sent: true }
    },
  })
  const script = () =>
    scripted(
      {
        toolCalls: [
          call('lookup_applicant', { applicantId: 'A-17' }, 'look'),
          call('send_email', { to: 'ada@example.com', body: 'Approved' }, 'mail'),
        ],
      },
      'Done.',
    )

  it('pauses before a call that needs approval, after running the others; resume with approve runs it', async () => {
    sends.length = 0
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const events: AgentEvent[] = []
    const paused = await agent.invoke('Review and tell Ada', { stream: (event) => events.push(event as AgentEvent) })
    expect(paused).toMatchObject({
      status: 'awaiting-approval',
      steps: 1,
      approvals: [
        { toolCallId: 'mail', toolName: 'send_email', arguments: { to: 'ada@example.com', body: 'Approved' } },
      ],
    })
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    expect(sends).toEqual([])
    expect(paused.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'look' })
    expect(events.at(-1)).toMatchObject({ type: 'approval-requested' })
    // JSON-safe: it can be stored and resumed elsewhere.
    const stored = JSON.parse(JSON.stringify(paused)) as typeof paused
    const record = await agent.trace(
      { messages: stored.messages, approvals: { mail: { approved: true } }, stepsTaken: stored.steps },
      {},
    )
    expect(record.output).toMatchObject({ status: 'complete', output: 'Done.', steps: 2 })
    expect(sends).toEqual(['ada@example.com: Approved'])
    expect(record.children.map((child) => `${child.function} (${child.kind})`)).toEqual([
      'approval (approval)',
      'send_email (tool)',
      'model (llm-call)',
    ])
    expect(record.children[0]?.annotations).toMatchObject({ tool: 'send_email', approved: true })
    expect(toolMessages(model, 1).map((message) => message.toolCallId)).toEqual(['look', 'mail'])
  })

  it('refuses a decision with a key it does not know (a misspelt arguments), running nothing', async () => {
    sends.length = 0
    const { llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('Review and tell Ada')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const edited = { to: 'bob@example.com', body: 'Edited' }
    for (const key of ['argument', 'args']) {
      const error = await agent
        .resume(paused, { mail: { approved: true, [key]: edited } as never })
        .catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(error), String(error)).toBe(true)
      expect((error as ValidationError).issues).toEqual([
        {
          path: ['approvals', 'mail', key],
          message: 'not a key of a decision, which has approved, and arguments (approved) or reason (denied)',
        },
      ])
    }
    expect(sends).toEqual([])
  })

  it('resume with deny tells the model, and edited arguments replace the model’s in the conversation', async () => {
    sends.length = 0
    const denied = script()
    const deniedAgent = agentWith(denied.llm, { tools: [lookup, send] })
    const first = await deniedAgent.invoke('go')
    if (first.status !== 'awaiting-approval') throw new Error('expected a pause')
    const afterDeny = await deniedAgent.resume(first, { mail: { approved: false, reason: 'not yet signed' } })
    expect(afterDeny.status).toBe('complete')
    expect(sends).toEqual([])
    expect(JSON.parse(toolMessages(denied.model, 1).at(-1)?.content ?? '{}')).toEqual({
      error: 'the user denied this call: not yet signed; it was not run',
    })

    const edited = script()
    const editedAgent = agentWith(edited.llm, { tools: [lookup, send] })
    const paused = await editedAgent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    await editedAgent.resume(paused, {
      mail: { approved: true, arguments: { to: 'ada@example.com', body: 'Approved, see attached terms' } },
    })
    expect(sends).toEqual(['ada@example.com: Approved, see attached terms'])
    const assistant = edited.model.calls[1]?.messages.find((message) => message.role === 'assistant')
    expect(assistant).toMatchObject({ toolCalls: [{ id: 'look' }, { id: 'mail' }] })
    expect(
      JSON.parse((assistant as unknown as { toolCalls: Array<{ arguments: string }> }).toolCalls[1]!.arguments),
    ).toEqual({
      to: 'ada@example.com',
      body: 'Approved, see attached terms',
    })
  })

  it('refuses a tool result over 1 MiB of JSON and journals it not: a run again under its run id runs the tool again', async () => {
    let runs = 0
    const dump = defineTool({
      name: 'dump',
      description: 'Everything',
      input: z.object({}),
      run: () => {
        runs += 1
        return { rows: Array.from({ length: 1_100 }, () => 'x'.repeat(1_000)) }
      },
    })
    const journal = new MemoryJournal()
    const told: string[] = []
    for (const _ of [1, 2]) {
      const { model, llm } = scripted({ toolCalls: [call('dump', {})] }, 'Too much.')
      const outcome = await agentWith(llm, { tools: [dump] }).invoke('go', { runId: 'dump-1', journal })
      expect(outcome).toMatchObject({ status: 'complete', output: 'Too much.' })
      told.push(...toolMessages(model, 1).map((message) => message.content))
    }
    // The model turns replay from the journal (the second model is sent nothing); the tool, whose result was refused,
    // runs again.
    expect(runs).toBe(2)
    expect(told).toEqual([
      JSON.stringify({
        error: "the tool's result cannot be sent back: (root): its JSON is more than the 1048576 bytes allowed",
      }),
    ])
  })

  it('fails the run when a tool’s result cannot be journaled, instead of telling the model the tool failed', async () => {
    let paid = 0
    const pay = defineTool({
      name: 'pay',
      description: 'Pays the invoice',
      input: z.object({}),
      run: () => {
        paid += 1
        return 'paid'
      },
    })
    const memory = new MemoryJournal()
    const journal: StepJournal = {
      read: (key) => memory.read(key),
      write: (key, entry) => {
        if (entry.function === 'pay') throw new Error('disk full')
        return memory.write(key, entry)
      },
    }
    const { model, llm } = scripted({ toolCalls: [call('pay', {})] }, 'Paid.')
    const error = await agentWith(llm, { tools: [pay] })
      .invoke('go', { runId: 'pay-1', journal })
      .catch((thrown: unknown) => thrown)
    // The tool did its work: told it failed, the model would call it again and pay twice.
    expect((error as Error).message).toMatch(/pay: journal \(pay-1\/[^)]*\) threw Error: disk full/)
    expect(paid).toBe(1)
    expect(model.calls).toHaveLength(1)
  })

  it('fails the run when a tool’s deadline passes while its result is being journaled, instead of telling the model it timed out', async () => {
    let paid = 0
    const pay = defineTool({
      name: 'pay',
      description: 'Pays the invoice',
      input: z.object({}),
      timeoutMs: 60_000,
      run: () => {
        paid += 1
        return 'paid'
      },
    })
    // A journal whose write of the tool's result is slow (a store across the network): it lands when released.
    const memory = new MemoryJournal()
    let writeStarted: () => void = () => {}
    const writing = new Promise<void>((resolve) => {
      writeStarted = resolve
    })
    let land: () => void = () => {}
    const landed = new Promise<void>((resolve) => {
      land = resolve
    })
    let slow = true
    const journal: StepJournal = {
      read: (key) => memory.read(key),
      write: async (key, entry) => {
        if (entry.function !== 'pay' || !slow) return memory.write(key, entry)
        slow = false
        writeStarted()
        await landed
        return memory.write(key, entry)
      },
    }
    const { model, llm } = scripted(
      { toolCalls: [call('pay', {})] },
      { toolCalls: [call('pay', {}, 'again')] },
      'Paid.',
    )
    // A fake clock: the tool's deadline passes when the test says so, while the write is in flight.
    vi.useFakeTimers()
    try {
      const outcome = agentWith(llm, { tools: [pay] })
        .invoke('go', { runId: 'pay-2', journal })
        .catch((thrown: unknown) => thrown)
      await writing
      vi.advanceTimersByTime(60_000)
      const error = await outcome
      // The tool did its work: told it timed out, the model would call it again and pay twice.
      expect(error).toMatchObject({ name: 'TimeoutError', state: 'journal (pay-2/turn-1-0)' })
      expect(paid).toBe(1)
      expect(model.calls).toHaveLength(1)
    } finally {
      land()
      vi.useRealTimers()
    }
  })

  it('sends the result it checked: one changed after the check (a shared object, a getter) is never sent over 1 MiB', async () => {
    const big = (): string[] => Array.from({ length: 1_100 }, () => 'x'.repeat(1_000))
    // A tool returns an object it keeps, and fills it past 1 MiB once its run is complete (as a cache a sibling call
    // fills would be): the model, the stream and the run tree get the result as it was checked.
    const kept = { rows: ['a'] }
    const cache = defineTool({ name: 'cache', description: 'The cached rows', input: z.object({}), run: () => kept })
    // A Function of another kind returns a getter answering a small value to the first reads, a large one after.
    let reads = 0
    class Rows extends Function<Record<string, never>, { rows: string[] }> {
      readonly description = 'The rows'
      run() {
        return Object.defineProperty({}, 'rows', {
          enumerable: true,
          get: () => (++reads <= 2 ? ['b'] : big()),
        }) as { rows: string[] }
      }
    }
    const rows = new Rows({ name: 'rows', input: z.object({}) })
    const { model, llm } = scripted({ toolCalls: [call('cache', {}), call('rows', {})] }, 'Done.')
    const finished: unknown[] = []
    const outcome = await new Agent({ name: 'a', model: llm, tools: [cache, rows] }).invoke('go', {
      onEvent: (event) => {
        if (event.to === 'complete' && event.function === 'cache') kept.rows.push(...big())
      },
      stream: (event) => {
        if ((event as AgentEvent).type === 'tool-call-finished') finished.push((event as { result?: unknown }).result)
      },
    })
    expect(outcome.status).toBe('complete')
    const told = toolMessages(model, 1).map((message) => message.content)
    expect(told[0]).toBe(JSON.stringify({ rows: ['a'] }))
    expect(finished[0]).toEqual({ rows: ['a'] })
    // The getter's: what was checked, whichever answer that was — never more than 1 MiB.
    expect(told[1]?.length).toBeLessThan(1024 * 1024)
    expect(told[1]).toBe(finished[1] === undefined ? told[1] : JSON.stringify(finished[1]))
  })

  it('with a journal, invoking again with the same run id and input plus approvals replays up to the pause', async () => {
    sends.length = 0
    let lookups = 0
    const countedLookup = defineTool({
      name: 'lookup_applicant',
      description: "An applicant's income",
      input: z.object({ applicantId: z.string() }),
      run: () => {
        lookups += 1
        return { income: 8000 }
      },
    })
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [countedLookup, send] })
    const journal = new MemoryJournal()
    const first = await agent.invoke('Review and tell Ada', { runId: 'loan-7', journal })
    expect(first.status).toBe('awaiting-approval')
    const record = await agent.trace(
      { messages: [{ role: 'user', content: 'Review and tell Ada' }], approvals: { mail: { approved: true } } },
      { runId: 'loan-7', journal },
    )
    expect(record.output).toMatchObject({ status: 'complete', output: 'Done.' })
    expect(model.calls).toHaveLength(2)
    expect(lookups).toBe(1)
    expect(sends).toHaveLength(1)
    const replayed = (child: RunRecord) => child.annotations.replayed === true
    expect(record.children.map((child) => `${child.function}${replayed(child) ? ' (replayed)' : ''}`)).toEqual([
      'model (replayed)',
      'approval-request (replayed)',
      'approval',
      'lookup_applicant (replayed)',
      'send_email',
      'model',
    ])
    // Once acted on, a decision cannot change under the same run id.
    const changed = await agent
      .invoke(
        { messages: [{ role: 'user', content: 'Review and tell Ada' }], approvals: { mail: { approved: false } } },
        { runId: 'loan-7', journal },
      )
      .catch((caught: unknown) => caught)
    expect((changed as Error).name).toBe('NonDeterminismError')
  })

  it('a decision answers only a call a person was shown: a turn answered anew (no pause, another run id) pauses on its call', async () => {
    sends.length = 0
    // The model gives the id it gave the call the person approved to a call with other arguments, as servers that
    // number their calls (`call_0`) do.
    const { model, llm } = scripted(
      { toolCalls: [call('send_email', { to: 'ada@example.com', body: 'Approved' }, 'mail')] },
      { toolCalls: [call('send_email', { to: 'eve@example.com', body: 'Approved' }, 'mail')] },
      { toolCalls: [call('send_email', { to: 'eve@example.com', body: 'Approved' }, 'mail')] },
      'Done.',
    )
    const agent = agentWith(llm, { tools: [send] })
    const journal = new MemoryJournal()
    const input = { messages: [{ role: 'user' as const, content: 'Tell Ada' }] }
    const first = await agent.invoke(input, { runId: 'loan-8', journal })
    expect(first).toMatchObject({ status: 'awaiting-approval', approvals: [{ arguments: { to: 'ada@example.com' } }] })
    // The decision on Ada's email, given under another run id: the model is asked anew, and its call is Eve's.
    const elsewhere = await agent.invoke(
      { ...input, approvals: { mail: { approved: true } } },
      { runId: 'loan-9', journal },
    )
    expect(elsewhere).toMatchObject({
      status: 'awaiting-approval',
      approvals: [{ arguments: { to: 'eve@example.com' } }],
    })
    // Given to a run that never paused, without a journal: the same.
    const unasked = await agent.invoke({ ...input, approvals: { mail: { approved: true } } })
    expect(unasked).toMatchObject({
      status: 'awaiting-approval',
      approvals: [{ arguments: { to: 'eve@example.com' } }],
    })
    expect(sends).toEqual([])
    // Under the run id that paused, the turn replays: the decision answers the call that was shown.
    const resumed = await agent.invoke(
      { ...input, approvals: { mail: { approved: true } } },
      { runId: 'loan-8', journal },
    )
    expect(resumed).toMatchObject({ status: 'complete', output: 'Done.' })
    expect(sends).toEqual(['ada@example.com: Approved'])
    expect(model.calls).toHaveLength(4)
  })

  it('replays the same decision read back with its keys in another order (a JSON column), and refuses another', async () => {
    sends.length = 0
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const journal = new MemoryJournal()
    const messages = [{ role: 'user' as const, content: 'Review and tell Ada' }]
    expect((await agent.invoke({ messages }, { runId: 'loan-8', journal })).status).toBe('awaiting-approval')
    const edited = { approved: true, arguments: { to: 'ada@example.com', body: 'Approved!' } } as const
    const decided = await agent.invoke({ messages, approvals: { mail: edited } }, { runId: 'loan-8', journal })
    expect(decided.status).toBe('complete')
    const reordered = { arguments: { body: 'Approved!', to: 'ada@example.com' }, approved: true } as const
    const again = await agent.invoke({ messages, approvals: { mail: reordered } }, { runId: 'loan-8', journal })
    expect(again).toEqual(decided)
    expect(sends).toHaveLength(1)
    expect(model.calls).toHaveLength(2)
    const other = { approved: true, arguments: { to: 'bob@example.com', body: 'Approved!' } } as const
    const changed = await agent
      .invoke({ messages, approvals: { mail: other } }, { runId: 'loan-8', journal })
      .catch((caught: unknown) => caught)
    expect((changed as Error).name).toBe('NonDeterminismError')
  })

  it('journals a decision as large as one may be: edited arguments of nearly 1 MiB, a denial’s long reason', async () => {
    sends.length = 0
    // Edited arguments whose JSON is just under the 1 MiB a decision may hold.
    const body = 'x'.repeat(1024 * 1024 - 50)
    const decisions = [
      { mail: { approved: true, arguments: { to: 'ada@example.com', body } } },
      { mail: { approved: false, reason: 'r'.repeat(2 * 1024 * 1024) } },
    ]
    for (const [index, decision] of decisions.entries()) {
      const { llm } = script()
      const agent = agentWith(llm, { tools: [lookup, send] })
      const journal = new MemoryJournal()
      const messages = [{ role: 'user' as const, content: 'Review and tell Ada' }]
      expect((await agent.invoke({ messages }, { runId: `big-${index}`, journal })).status).toBe('awaiting-approval')
      const outcome = await agent
        .invoke({ messages, approvals: decision }, { runId: `big-${index}`, journal })
        .catch((thrown: unknown) => thrown)
      expect(outcome).toMatchObject({ status: 'complete', output: 'Done.' })
    }
    expect(sends).toHaveLength(1)
  })

  it('after a resume, the results go back in the order of the calls, whichever ran first', async () => {
    const { model, llm } = scripted(
      {
        toolCalls: [
          call('send_email', { to: 'ada@example.com', body: 'Approved' }, 'mail'),
          call('lookup_applicant', { applicantId: 'A-17' }, 'look'),
        ],
      },
      'Done.',
    )
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('Tell Ada, then look her up')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    expect(paused.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'look' })
    const done = await agent.resume(paused, { mail: { approved: true } })
    expect(toolMessages(model, 1).map((message) => message.toolCallId)).toEqual(['mail', 'look'])
    expect(done.messages.filter((message) => message.role === 'tool').map((message) => message.toolCallId)).toEqual([
      'mail',
      'look',
    ])
  })

  it('two calls of one turn with the same id: the second gets its own id, and each its own decision', async () => {
    const ran: number[] = []
    const act = defineTool({
      name: 'act',
      description: 'Acts',
      input: z.object({ n: z.number() }),
      needsApproval: ({ n }) => n === 1,
      run: ({ n }) => {
        ran.push(n)
        return `ran ${n}`
      },
    })
    const { model, llm } = scripted({ toolCalls: [call('act', { n: 1 }, 'dup'), call('act', { n: 2 }, 'dup')] }, 'ok')
    const agent = new Agent({ name: 'actor', model: llm, tools: [act] })
    const paused = await agent.invoke('go')
    expect(paused).toMatchObject({
      status: 'awaiting-approval',
      approvals: [{ toolCallId: 'dup', arguments: { n: 1 } }],
    })
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    expect(paused.messages[1]).toMatchObject({ toolCalls: [{ id: 'dup' }, { id: 'dup-2' }] })
    const done = await agent.resume(paused, { dup: { approved: false, reason: 'no' } })
    expect(done.status).toBe('complete')
    expect(ran).toEqual([2])
    expect(toolMessages(model, 1).map((message) => [message.toolCallId, message.content])).toEqual([
      ['dup', '{"error":"the user denied this call: no; it was not run"}'],
      ['dup-2', 'ran 2'],
    ])
  })

  it('gives a turn of thousands of calls under one id their own ids in a number of steps that grows with the calls', async () => {
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      input: z.object({ n: z.number() }),
      run: ({ n }) => n,
    })
    const count = 3_000
    const calls = Array.from({ length: count }, (_, n) => call('echo', { n }, 'same'))
    const { model, llm } = scripted({ toolCalls: calls }, 'ok')
    // Lookups counted, not time: one suffix tried after another for every call would be some 4.5 million.
    const has = Set.prototype.has
    let lookups = 0
    Set.prototype.has = function (this: Set<unknown>, value: unknown) {
      lookups++
      return has.call(this, value)
    }
    try {
      expect(await agentWith(llm, { tools: [echo], toolConcurrency: 64 }).invoke('go')).toMatchObject({
        status: 'complete',
      })
    } finally {
      Set.prototype.has = has
    }
    expect(lookups).toBeLessThan(1_000_000)
    const ids = toolMessages(model, 1).map((message) => message.toolCallId)
    expect(ids.slice(0, 3)).toEqual(['same', 'same-2', 'same-3'])
    expect(new Set(ids).size).toBe(count)
  })

  it('gives calls the model sent without an id ids of their own, so the conversation goes on to the next turn', async () => {
    const ran: number[] = []
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      input: z.object({ n: z.number() }),
      run: ({ n }) => {
        ran.push(n)
        return n
      },
    })
    const { model, llm } = scripted({ toolCalls: [call('echo', { n: 1 }, ''), call('echo', { n: 2 }, '')] }, 'ok')
    const outcome = await agentWith(llm, { tools: [echo] }).invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'ok' })
    expect(ran).toEqual([1, 2])
    expect(model.calls[1]?.messages[1]).toMatchObject({ toolCalls: [{ id: 'call' }, { id: 'call-2' }] })
    expect(toolMessages(model, 1).map((message) => [message.toolCallId, message.content])).toEqual([
      ['call', '1'],
      ['call-2', '2'],
    ])
  })

  it('a decision answers one call: a later call that reuses its id waits for a decision of its own', async () => {
    sends.length = 0
    const mail = (body: string) => ({ toolCalls: [call('send_email', { to: 'ada@example.com', body }, 'mail')] })
    const { llm } = scripted(mail('first'), mail('second'), 'Sent both.')
    const agent = agentWith(llm, { tools: [send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const again = await agent.resume(paused, { mail: { approved: true } })
    expect(sends).toEqual(['ada@example.com: first'])
    expect(again).toMatchObject({
      status: 'awaiting-approval',
      approvals: [{ toolCallId: 'mail-2', arguments: { body: 'second' } }],
    })
  })

  it('a final answer beside calls that need approval: the run pauses first, and completes with it once they are decided', async () => {
    sends.length = 0
    const { model, llm } = scripted({
      toolCalls: [
        call('lookup_applicant', { applicantId: 'A-17' }, 'look'),
        call('send_email', { to: 'ada@example.com', body: 'Approved' }, 'mail'),
        call('final_answer', { decision: 'approve' }, 'answer'),
      ],
    })
    const agent = new Agent({
      name: 'reviewer',
      model: llm,
      tools: [lookup, send],
      finalAnswer: { schema: z.object({ decision: z.string() }) },
    })
    const paused = await agent.invoke('go')
    expect(paused).toMatchObject({ status: 'awaiting-approval', approvals: [{ toolCallId: 'mail' }] })
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    expect(sends).toEqual([])
    // The calls that needed no approval ran before the pause.
    expect(paused.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'look' })
    const done = await agent.resume(paused, { mail: { approved: true } })
    expect(done).toMatchObject({ status: 'complete', output: { decision: 'approve' }, finishedBy: 'final-answer' })
    expect(sends).toEqual(['ada@example.com: Approved'])
    expect(model.calls).toHaveLength(1)
  })

  it('a needsApproval rule that answers neither true nor false fails the run with a ConfigurationError; the call does not run', async () => {
    sends.length = 0
    const unsure = defineTool({
      name: 'unsure',
      description: 'Sends, unless someone says no',
      input: z.object({}),
      needsApproval: () => 'yes' as unknown as boolean,
      run: () => {
        sends.push('unsure')
        return 'sent'
      },
    })
    const { llm } = scripted({ toolCalls: [call('unsure', {})] }, 'ok')
    const error = await new Agent({ name: 'a', model: llm, tools: [unsure] })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toContain('needsApproval must be true or false')
    expect(sends).toEqual([])
    expect(() =>
      defineTool({ name: 't', description: 'x', input: z.object({}), needsApproval: null as never, run: () => 1 }),
    ).toThrow(/needsApproval must be true, false, or a function of the arguments, got null/)
  })

  it('a needsApproval rule that throws or rejects fails the run with a ConfigurationError naming it; the call does not run', async () => {
    sends.length = 0
    const rules: Array<[() => unknown, string]> = [
      [
        () => {
          throw new Error('approvals service down')
        },
        'risky: needsApproval could not be read: Error: approvals service down',
      ],
      [() => Promise.reject(new Error('timed out')), 'risky: needsApproval could not be read: Error: timed out'],
    ]
    for (const [rule, message] of rules) {
      const risky = defineTool({
        name: 'risky',
        description: 'Sends, unless someone says no',
        input: z.object({}),
        needsApproval: rule as () => boolean,
        run: () => {
          sends.push('risky')
          return 'sent'
        },
      })
      const { llm } = scripted({ toolCalls: [call('risky', {})] }, 'ok')
      const error = await new Agent({ name: 'a', model: llm, tools: [risky] })
        .invoke('go')
        .catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as ConfigurationError).option).toBe('needsApproval')
      expect((error as Error).message).toBe(message)
    }
    expect(sends).toEqual([])
  })

  it('edited arguments that JSON cannot carry are a ValidationError naming the path', async () => {
    const { llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const error = await agent
      .resume(paused, { mail: { approved: true, arguments: { to: 'ada@example.com', body: 10n as never } } })
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual([
      ['approvals', 'mail', 'arguments', 'body'],
    ])
  })

  it('reads each decision once: what it checked is what it acts on, whatever a getter answers later', async () => {
    sends.length = 0
    const { llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    let reads = 0
    const edited = { to: 'ada@example.com', body: 'Approved!' }
    const decisions = {
      get mail() {
        reads += 1
        return {
          approved: true,
          // Checked as edited arguments JSON can carry; read again, a value it cannot (a BigInt).
          get arguments() {
            reads += 1
            return reads <= 2 ? edited : { ...edited, body: 10n }
          },
        }
      },
    }
    const done = await agent.resume(paused, decisions as never).catch((caught: unknown) => caught)
    expect((done as { status?: unknown }).status, String(done)).toBe('complete')
    expect(sends).toEqual(['ada@example.com: Approved!'])
    expect(reads).toBe(2)
  })

  it('reads a decision by its own keys, as JSON has them: an approved or arguments its prototype holds is no decision', async () => {
    sends.length = 0
    const { llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const inherited = [
      Object.create({ approved: true }),
      Object.assign(Object.create({ arguments: { to: 'eve@example.com', body: 'Hi' } }), { approved: true }),
    ]
    const issues = []
    for (const decision of inherited) {
      const error = await agent.resume(paused, { mail: decision }).catch((caught: unknown) => caught)
      if (ValidationError.isInstance(error)) issues.push(error.issues.map((issue) => issue.path.join('.')))
      else issues.push((error as { status?: unknown }).status)
    }
    expect(issues).toEqual([['approvals.mail'], 'complete'])
    // Approved with the model's arguments: the ones its prototype held are not edits.
    expect(sends).toEqual(['ada@example.com: Approved'])
  })

  it('reads edited arguments once: a getter in them cannot answer the check one value and the tool another', async () => {
    sends.length = 0
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const answers: unknown[] = ['Approved!', () => 'a function JSON drops', Number.NaN, 10n]
    let reads = 0
    const edited = {
      to: 'ada@example.com',
      get body() {
        return answers[Math.min(reads++, answers.length - 1)]
      },
    }
    const done = await agent
      .resume(paused, { mail: { approved: true, arguments: edited } })
      .catch((caught: unknown) => caught)
    expect((done as { status?: unknown }).status, String(done)).toBe('complete')
    expect(reads).toBe(1)
    expect(sends).toEqual(['ada@example.com: Approved!'])
    // The conversation shows the call as it ran.
    const sent = model.calls[1]?.messages.find((message) => message.role === 'assistant')
    expect(sent?.role === 'assistant' && sent.toolCalls?.[1]?.arguments).toBe(
      JSON.stringify({ body: 'Approved!', to: 'ada@example.com' }),
    )
  })

  it('edited arguments holding a sparse list as long as 2³²−1 are refused at its first holes, not walked hole by hole', async () => {
    sends.length = 0
    const { llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const holes: unknown[] = []
    holes.length = 2 ** 32 - 1
    // Walked hole by hole, this took minutes; the test's own timeout is far above what refusing it takes.
    const error = await agent
      .resume(paused, { mail: { approved: true, arguments: { to: 'ada@example.com', body: holes as never } } })
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    expect((error as ValidationError).issues[0]).toEqual({
      path: ['approvals', 'mail', 'arguments', 'body', 0],
      message: 'undefined in a list is not JSON-safe',
    })
    expect(sends).toEqual([])
  })

  it('edited arguments that cannot be read (a revoked Proxy) are a ValidationError naming the path', async () => {
    const { llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    const error = await agent
      .resume(paused, { mail: { approved: true, arguments: { to: 'ada@example.com', body: revocable.proxy } } })
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    expect((error as ValidationError).issues).toEqual([
      {
        path: ['approvals', 'mail', 'arguments', 'body'],
        message: "the value could not be read: TypeError: Cannot perform 'IsArray' on a proxy that has been revoked",
      },
    ])
  })

  it('edited arguments nested deeper than any tool reads are a ValidationError naming the path, not a stack overflow', async () => {
    sends.length = 0
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    // 150,000 levels: under the 1 MiB a JSON value may take, deeper than the stack of a walk that recurses.
    let deep: Record<string, unknown> = {}
    for (let level = 0; level < 150_000; level++) deep = { a: deep }
    const error = await agent
      .resume(paused, { mail: { approved: true, arguments: { to: 'ada@example.com', body: deep as never } } })
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    expect((error as ValidationError).state).toBe('input_validation')
    expect((error as ValidationError).issues).toEqual([
      {
        path: ['approvals', 'mail', 'arguments'],
        message: 'expected edited arguments nested at most 1000 levels deep',
      },
    ])
    expect(sends).toEqual([])
    expect(model.calls).toHaveLength(1)
  })

  it('edited arguments holding a cycle are a ValidationError naming the cycle, not its depth', async () => {
    sends.length = 0
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const body: Record<string, unknown> = { text: 'hi' }
    body.self = { again: body }
    const error = await agent
      .resume(paused, { mail: { approved: true, arguments: { to: 'ada@example.com', body: body as never } } })
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    expect((error as ValidationError).issues).toEqual([
      { path: ['approvals', 'mail', 'arguments', 'body', 'self', 'again'], message: 'a cycle is not JSON-safe' },
    ])
    expect(sends).toEqual([])
    expect(model.calls).toHaveLength(1)
  })

  it("the model's arguments nested deeper than any tool reads are an invalid call told to the model, never paused on", async () => {
    const held: unknown[] = []
    const keep = defineTool({
      name: 'keep',
      description: 'Keeps a value',
      input: z.object({ value: z.unknown() }),
      needsApproval: true,
      run: ({ value }) => {
        held.push(value)
        return 'kept'
      },
    })
    // 150,000 levels: under the 1 MiB a JSON value may take, deeper than the stack of a walk that recurses (the
    // journal's digest of the approval step's input, which holds them).
    const deep = `{"value":${'['.repeat(150_000)}${']'.repeat(150_000)}}`
    const { model, llm } = scripted({ toolCalls: [call('keep', deep, 'deep')] }, 'Gave up.')
    const agent = new Agent({ name: 'keeper', model: llm, tools: [keep] })
    const journal = new MemoryJournal()
    let outcome = await agent.invoke('go', { journal, runId: 'deep-1' })
    // Approved as it stands, it would fail the run with a stack overflow on a durable run.
    if (outcome.status === 'awaiting-approval') {
      outcome = await agent.resume(outcome, { deep: { approved: true } }, { journal, runId: 'deep-2' })
    }
    expect(outcome).toMatchObject({ status: 'complete', output: 'Gave up.' })
    expect(held).toEqual([])
    const told = toolMessages(model, 1)
    expect(told.map((message) => message.toolCallId)).toEqual(['deep'])
    expect(String(told[0]?.content)).toContain('nested more than 1000 levels deep')
  })

  it("the model's arguments are walked in full: a deep part behind a million empty objects is still an invalid call", async () => {
    const held: unknown[] = []
    const keep = defineTool({
      name: 'keep',
      description: 'Keeps a value',
      input: z.object({ filler: z.array(z.unknown()), value: z.unknown() }),
      run: ({ value }) => {
        held.push(value)
        return 'kept'
      },
    })
    // 1,000,001 objects (3 MB of text) come first, so a walk that gives up after a million values never reaches the
    // 2,000 levels that follow them.
    const filler = Array.from({ length: 1_000_001 }, () => '{}').join(',')
    const deep = `{"filler":[${filler}],"value":${'['.repeat(2_000)}${']'.repeat(2_000)}}`
    const { model, llm } = scripted({ toolCalls: [call('keep', deep, 'wide')] }, 'Gave up.')
    const agent = new Agent({ name: 'keeper', model: llm, tools: [keep] })
    const outcome = await agent.invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'Gave up.' })
    expect(held).toEqual([])
    const told = toolMessages(model, 1)
    expect(told.map((message) => message.toolCallId)).toEqual(['wide'])
    expect(String(told[0]?.content)).toContain('nested more than 1000 levels deep')
  })

  it('a denial whose reason is not a string is a ValidationError naming the path, before anything runs', async () => {
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const turns = model.calls.length
    for (const reason of [Symbol('no'), { why: 'no' }, 7]) {
      const error = await agent
        .resume(paused, { mail: { approved: false, reason: reason as never } })
        .catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(error), String(error)).toBe(true)
      expect((error as ValidationError).issues).toEqual([
        { message: 'expected the reason as a string', path: ['approvals', 'mail', 'reason'] },
      ])
    }
    expect(model.calls.length).toBe(turns)
  })

  it('resume never throws: an outcome that is not a paused one, or cannot be read, is a rejected ConfigurationError', async () => {
    const agent = agentWith(script().llm, { tools: [lookup, send] })
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('unreadable')
        },
      },
    )
    for (const [paused, message] of [
      [undefined, 'paused must be the awaiting-approval outcome to continue, got undefined'],
      [null, 'paused must be the awaiting-approval outcome to continue, got null'],
      [hostile, 'reviewer: paused could not be read: Error: unreadable'],
      [
        { status: 'complete', messages: [{ role: 'user', content: 'go' }], steps: 1 },
        'paused.status must be "awaiting-approval": only a paused run continues, got "complete"',
      ],
      [
        { messages: [{ role: 'user', content: 'go' }], steps: 1 },
        'paused.status must be "awaiting-approval": only a paused run continues, got undefined',
      ],
    ] as const) {
      let resumed: Promise<unknown> | undefined
      expect(() => {
        resumed = agent.resume(paused as never, {})
      }).not.toThrow()
      const error = await resumed?.catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toContain(message)
    }
  })

  it('resume and stream detached from their agent are a rejected ConfigurationError, as invoke is, never a TypeError', async () => {
    const { model, llm } = script()
    const agent = agentWith(llm, { tools: [lookup, send] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const { resume, stream } = agent
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    for (const self of [undefined, {}, revocable.proxy]) {
      let resumed: Promise<unknown> | undefined
      expect(() => {
        resumed = resume.call(self as never, paused, { mail: { approved: true } })
      }).not.toThrow()
      const streamed = stream.call(self as never, 'go')
      for (const run of [resumed, streamed.result]) {
        const error = await run?.catch((caught: unknown) => caught)
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as ConfigurationError).option).toBe('this')
      }
      // The stream's reader gets the same error.
      await expect(
        (async () => {
          for await (const _event of streamed) break
        })(),
      ).rejects.toSatisfy(ConfigurationError.isInstance)
    }
    expect(model.calls).toHaveLength(1)
  })

  it('a needsApproval function reads the arguments as the schema gives them; ones it refuses are told, not asked', async () => {
    const seen: unknown[] = []
    const pay = defineTool({
      name: 'pay',
      description: 'Pays an amount',
      input: z.object({ amount: z.coerce.number(), currency: z.string().default('EUR') }),
      needsApproval: (payment) => {
        seen.push(payment)
        return payment.amount > 100
      },
      run: ({ amount }) => ({ paid: amount }),
    })
    const { model, llm } = scripted(
      { toolCalls: [call('pay', { amount: '500' }, 'big'), { id: 'bad', name: 'pay', arguments: 'null' }] },
      'Done.',
    )
    const agent = new Agent({ name: 'payer', model: llm, tools: [pay] })
    const paused = await agent.invoke('go')
    expect(seen).toEqual([{ amount: 500, currency: 'EUR' }])
    expect(paused).toMatchObject({ status: 'awaiting-approval', approvals: [{ toolCallId: 'big' }] })
    const told = paused.messages.find((message): message is ToolMessage => message.role === 'tool')
    expect(told).toEqual({
      role: 'tool',
      toolCallId: 'bad',
      content: '{"error":"invalid arguments: (root): Invalid input: expected object, received null"}',
    })
    expect(model.calls).toHaveLength(1)
  })

  it('asks only when needsApproval says so for the arguments', async () => {
    const pay = defineTool({
      name: 'pay',
      description: 'Pays an amount',
      input: z.object({ amount: z.number() }),
      needsApproval: ({ amount }) => amount > 100,
      run: ({ amount }) => ({ paid: amount }),
    })
    const { llm } = scripted({ toolCalls: [call('pay', { amount: 50 }, 'p1'), call('pay', { amount: 500 }, 'p2')] })
    const outcome = await new Agent({ name: 'payer', model: llm, tools: [pay] }).invoke('go')
    expect(outcome).toMatchObject({ status: 'awaiting-approval', approvals: [{ toolCallId: 'p2' }] })
  })

  it('edits the arguments of every call of a large turn copying its list of calls once, not once per edited call', async () => {
    const count = 2_000
    const stored: number[] = []
    const store = defineTool({
      name: 'store',
      description: 'Stores a number',
      input: z.object({ n: z.number() }),
      needsApproval: true,
      run: ({ n }) => {
        stored.push(n)
        return 'ok'
      },
    })
    const toolCalls = Array.from({ length: count }, (_, index) => call('store', { n: -index }, `edit-${index}`))
    const { model, llm } = scripted({ toolCalls }, 'Stored.')
    const agent = new Agent({ name: 'storer', model: llm, tools: [store] })
    const paused = await agent.invoke('go')
    if (paused.status !== 'awaiting-approval') throw new Error('expected a pause')
    const decisions = Object.fromEntries(
      toolCalls.map((_, index) => [`edit-${index}`, { approved: true, arguments: { n: index } }]),
    )
    // Each whole copy of the turn's list of calls walks it from its first call: counted where a list of them is walked.
    const walk = Array.prototype[Symbol.iterator]
    let walks = 0
    Array.prototype[Symbol.iterator] = function (this: unknown[]) {
      if (this.length === count && (this[0] as { id?: unknown } | undefined)?.id === 'edit-0') walks += 1
      return walk.call(this)
    } as typeof walk
    let outcome: Awaited<ReturnType<typeof agent.resume>>
    try {
      outcome = await agent.resume(paused, decisions)
    } finally {
      Array.prototype[Symbol.iterator] = walk
    }
    expect(outcome).toMatchObject({ status: 'complete', output: 'Stored.' })
    expect(stored).toHaveLength(count)
    expect(stored.at(-1)).toBe(count - 1)
    const assistant = model.calls[1]?.messages.find((message) => message.role === 'assistant')
    const sent = (assistant as unknown as { toolCalls: Array<{ arguments: string }> }).toolCalls
    expect(sent.map((sentCall) => JSON.parse(sentCall.arguments).n)).toEqual(toolCalls.map((_, index) => index))
    // The paused outcome the caller holds is left as it was.
    const held = paused.messages.find((message) => message.role === 'assistant')
    expect(
      JSON.parse((held as unknown as { toolCalls: Array<{ arguments: string }> }).toolCalls[1]!.arguments),
    ).toEqual({ n: -1 })
    expect(walks).toBeLessThan(50)
  }, 120_000)
})

describe('Agent: streaming', () => {
  it('streams typed events: steps, text deltas, tool calls started and finished', async () => {
    const { llm } = scripted({ toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] }, 'Income is 8000.')
    const stream = agentWith(llm).stream('Review A-17')
    const events: AgentEvent[] = []
    for await (const event of stream) events.push(event)
    const outcome = await stream.result
    expect(outcome.status).toBe('complete')
    expect(events.map((event) => event.type)).toEqual([
      'step-started',
      'step-finished',
      'tool-call-started',
      'tool-call-finished',
      'step-started',
      ...events.filter((event) => event.type === 'text-delta').map(() => 'text-delta'),
      'step-finished',
    ])
    expect(
      events
        .filter((event) => event.type === 'text-delta')
        .map((event) => event.text)
        .join(''),
    ).toBe('Income is 8000.')
    expect(events[3]).toEqual({
      type: 'tool-call-finished',
      step: 1,
      toolCallId: 'call-lookup_applicant',
      toolName: 'lookup_applicant',
      status: 'ok',
      result: { income: 8000, debt: 2000 },
    })
  })

  it('retries a streamed turn cut while its tool call came in, as invoke does: the reader had been handed none of it', async () => {
    const toolCall = call('lookup_applicant', { applicantId: 'A-17' })
    const answer = (message: ChatResult['choices'][number]['message']): ChatResult => ({
      choices: [{ index: 0, message, finishReason: message.toolCalls === undefined ? 'stop' : 'tool_calls' }],
      model: 'flaky-model',
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    })
    let streams = 0
    const model: ChatModel = {
      specificationVersion: 'v1',
      provider: 'flaky',
      modelId: 'flaky-model',
      doGenerate: () => Promise.reject(new Error('streamed only')),
      async *doStream() {
        streams += 1
        if (streams > 2) {
          yield { type: 'text-delta', choiceIndex: 0, text: 'Income is 8000.' }
          yield { type: 'finish', result: answer({ role: 'assistant', content: 'Income is 8000.' }) }
          return
        }
        yield {
          type: 'tool-call-delta',
          choiceIndex: 0,
          toolCallIndex: 0,
          id: toolCall.id,
          name: toolCall.name,
          argumentsDelta: '{"applicantId":',
        }
        if (streams === 1)
          throw new ProviderCallError({ provider: 'flaky', message: 'the connection was cut', retryable: true })
        yield { type: 'tool-call-delta', choiceIndex: 0, toolCallIndex: 0, argumentsDelta: '"A-17"}' }
        yield { type: 'finish', result: answer({ role: 'assistant', content: null, toolCalls: [toolCall] }) }
      },
    }
    const llm = new LLMCall({ name: 'model', model, output: 'result', retry: { initialDelayMs: 1, maxDelayMs: 1 } })
    const stream = agentWith(llm).stream('Review A-17')
    const events: AgentEvent[] = []
    for await (const event of stream) events.push(event)
    const outcome = await stream.result
    expect(outcome).toMatchObject({ status: 'complete', output: 'Income is 8000.' })
    expect(streams).toBe(3)
    expect(events.filter((event) => event.type === 'tool-call-finished')).toHaveLength(1)
  })

  it.each(['break', 'return', 'throw'] as const)(
    'leaving the loop before the run ended (a %s) cancels the run: the tool running sees the abort',
    async (leave) => {
      let toolStarted: () => void = () => {}
      const started = new Promise<void>((resolve) => {
        toolStarted = resolve
      })
      let toolAborted = false
      const slow = defineTool({
        name: 'slow',
        description: 'Waits until it is cancelled',
        input: z.object({}),
        run: (_arguments, context) =>
          new Promise((_resolve, reject) => {
            context.signal.addEventListener('abort', () => {
              toolAborted = true
              reject(context.signal.reason)
            })
            toolStarted()
          }),
      })
      const { model, llm } = scripted({ toolCalls: [call('slow', {})] }, 'Never reached.')
      const agent = new Agent({ name: 'reviewer', model: llm, tools: [slow] })
      const outside = new AbortController()
      const stream = agent.stream('go', { signal: outside.signal })
      const thrown = new Error('the reader stopped')
      // Each way out of a for await loop calls the stream's return(): a break, a return from the function reading it, an
      // exception.
      const left = await (async (): Promise<unknown> => {
        try {
          for await (const event of stream) {
            if (event.type !== 'tool-call-started') continue
            await started
            if (leave === 'break') break
            if (leave === 'return') return 'returned'
            throw thrown
          }
          return 'broke'
        } catch (caught) {
          return caught
        }
      })()
      expect(left).toBe(leave === 'break' ? 'broke' : leave === 'return' ? 'returned' : thrown)
      const error = await stream.result.catch((caught: unknown) => caught)
      expect(AbortError.isInstance(error), String(error)).toBe(true)
      expect(toolAborted).toBe(true)
      expect(model.calls).toHaveLength(1)
      expect(outside.signal.aborted).toBe(false)
    },
  )

  it('streams with its options read as invoke reads them: a signal held by a getter of a settings class cancels the run', async () => {
    class RunSettings {
      readonly #controller: AbortController
      constructor(controller: AbortController) {
        this.#controller = controller
      }
      get signal(): AbortSignal {
        return this.#controller.signal
      }
    }
    const { model, llm } = scripted('Never reached.', 'Never reached.')
    const agent = agentWith(llm)
    const controller = new AbortController()
    controller.abort()
    const settings = new RunSettings(controller)
    expect(AbortError.isInstance(await agent.invoke('go', settings).catch((caught: unknown) => caught))).toBe(true)
    const stream = agent.stream('go', settings)
    const error = await stream.result.catch((caught: unknown) => caught)
    expect(AbortError.isInstance(error), String(error)).toBe(true)
    expect(model.calls).toHaveLength(0)
  })

  it("leaving the loop on the run's last event cancels nothing: result is the paused or the complete outcome", async () => {
    const pay = defineTool({
      name: 'pay',
      description: 'Pays',
      input: z.object({}),
      needsApproval: true,
      run: () => 'paid',
    })
    const cases = [
      { last: 'approval-requested', reply: { toolCalls: [call('pay', {})] }, status: 'awaiting-approval' },
      { last: 'step-finished', reply: 'Done.', status: 'complete' },
    ] as const
    for (const { last, reply, status } of cases) {
      const { llm } = scripted(reply)
      const stream = new Agent({ name: 'payer', model: llm, tools: [pay] }).stream('go')
      const seen: string[] = []
      for await (const event of stream) {
        seen.push(event.type)
        if (event.type === last) break
      }
      expect(seen.at(-1)).toBe(last)
      const outcome = await stream.result.catch((caught: unknown) => caught)
      expect((outcome as { status?: unknown }).status, String(outcome)).toBe(status)
    }
  })

  it('stream(input, { stream }) hands each event to the listener given as well as to the reader', async () => {
    const { llm } = scripted({ toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] }, 'Income is 8000.')
    const heard: AgentEvent[] = []
    const stream = agentWith(llm).stream('Review A-17', { stream: (event) => heard.push(event as AgentEvent) })
    const read: AgentEvent[] = []
    for await (const event of stream) read.push(event)
    expect((await stream.result).status).toBe('complete')
    expect(read.length).toBeGreaterThan(0)
    expect(heard).toEqual(read)
  })

  it('stream(input, { stream }) with an async listener that rejects: reported in the log, the run goes on, no unhandled rejection', async () => {
    const { llm } = scripted({ toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] }, 'Income is 8000.')
    const logger = createMemoryLogger()
    const stream = agentWith(llm).stream('Review A-17', {
      logger,
      stream: async (event) => {
        if ((event as AgentEvent).type === 'tool-call-finished') throw new Error('the event store is down')
      },
    })
    for await (const _event of stream) {
    }
    expect((await stream.result).status).toBe('complete')
    // As a listener given to invoke is: its rejection is logged, not left unhandled (which ends a Node process).
    expect(logger.entries.map((entry) => entry.message)).toContain('stream listener rejected; the run goes on')
  })

  it('reading a stream to its end cancels nothing, and the signal given to stream still cancels the run', async () => {
    const { llm } = scripted('Done.')
    const stream = agentWith(llm).stream('Review A-17')
    for await (const _event of stream) {
    }
    expect((await stream.result).status).toBe('complete')
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    const aborted = agentWith(scripted('Done.').llm).stream('Review A-17', { signal: controller.signal })
    const error = await aborted.result.catch((caught: unknown) => caught)
    expect(AbortError.isInstance(error), String(error)).toBe(true)
  })

  it('options that cannot be read end the stream with the ConfigurationError invoke gives', async () => {
    const { llm } = scripted('unused')
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('unreadable')
        },
      },
    )
    const agent = agentWith(llm)
    const invoked = await agent.invoke('go', hostile).catch((caught: unknown) => caught)
    const stream = agent.stream('go', hostile)
    const iterated = await (async () => {
      for await (const _event of stream) {
      }
    })().catch((caught: unknown) => caught)
    const streamed = await stream.result.catch((caught: unknown) => caught)
    for (const error of [invoked, iterated, streamed]) {
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toBe('reviewer: options could not be read: Error: unreadable')
    }
  })

  it('options that are a revoked Proxy end the stream with a ConfigurationError, never a TypeError, and nothing is sent', async () => {
    const { model, llm } = scripted('unused')
    const agent = agentWith(llm)
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    const invoked = await agent.invoke('go', revocable.proxy).catch((caught: unknown) => caught)
    const stream = agent.stream('go', revocable.proxy)
    const iterated = await (async () => {
      for await (const _event of stream) {
      }
    })().catch((caught: unknown) => caught)
    const streamed = await stream.result.catch((caught: unknown) => caught)
    for (const error of [invoked, iterated, streamed]) {
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^reviewer: options could not be read: TypeError: .*revoked/)
    }
    expect(model.calls).toHaveLength(0)
  })

  it('options that are not an object end the stream with the ConfigurationError invoke gives, and nothing is sent', async () => {
    const { model, llm } = scripted('unused')
    const agent = agentWith(llm)
    for (const options of [5, true, null, [], () => {}]) {
      const invoked = await agent.invoke('go', options as never).catch((caught: unknown) => caught)
      const stream = agent.stream('go', options as never)
      const iterated = await (async () => {
        for await (const _event of stream) {
        }
      })().catch((caught: unknown) => caught)
      const streamed = await stream.result.catch((caught: unknown) => caught)
      for (const error of [invoked, iterated, streamed]) {
        expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
        expect((error as Error).message).toMatch(/^reviewer: options must be an object, got /)
      }
    }
    expect(model.calls).toHaveLength(0)
  })

  it('leaving on the step-finished of an answer whose finish reason is tool_calls, with no call (as some OpenAI-compatible servers send), cancels nothing', async () => {
    const { llm } = scripted({ content: 'Done.', finishReason: 'tool_calls' })
    const stream = agentWith(llm).stream('Review A-17')
    for await (const event of stream) if (event.type === 'step-finished') break
    const outcome = await stream.result.catch((caught: unknown) => caught)
    expect(outcome, String(outcome)).toMatchObject({ status: 'complete', output: 'Done.' })
    // A turn that called a tool that does not exist ends without a call too, and the run goes on: leaving there cancels it.
    const unknown = scripted({ toolCalls: [call('no_such_tool', {})] }, 'unused')
    const goingOn = agentWith(unknown.llm).stream('Review A-17')
    for await (const event of goingOn) if (event.type === 'step-finished') break
    const cancelled = await goingOn.result.catch((caught: unknown) => caught)
    expect(AbortError.isInstance(cancelled), String(cancelled)).toBe(true)
    expect(unknown.model.calls).toHaveLength(1)
  })

  it('leaving on the step-finished of a turn that answered through the final-answer tool cancels nothing; a refused answer, the rest', async () => {
    for (const decision of ['approve', 'maybe']) {
      // The answer is checked once the reader has left: the run decides then whether anything follows.
      let readerLeft: () => void = () => {}
      const left = new Promise<void>((resolve) => {
        readerLeft = resolve
      })
      const schema = z.object({
        decision: z.enum(['approve', 'decline']).refine(async () => {
          await left
          return true
        }),
      })
      const { model, llm } = scripted({ toolCalls: [call('final_answer', { decision })] }, 'unused')
      const stream = new Agent({ name: 'decider', model: llm, finalAnswer: { schema } }).stream('Decide.')
      const seen: string[] = []
      for await (const event of stream) {
        seen.push(event.type)
        if (event.type === 'step-finished') break
      }
      readerLeft()
      expect(seen).toEqual(['step-started', 'step-finished'])
      const outcome = await stream.result.catch((caught: unknown) => caught)
      if (decision === 'approve') {
        expect((outcome as { status?: unknown }).status, String(outcome)).toBe('complete')
        expect((outcome as { output?: unknown }).output).toEqual({ decision: 'approve' })
      } else {
        // The model is told its answer was refused and the run would go on: the reader left before its end.
        expect(AbortError.isInstance(outcome), String(outcome)).toBe(true)
        expect(model.calls).toHaveLength(1)
      }
    }
  })

  it('a re-run replayed from the journal streams each turn’s text too, as one delta', async () => {
    const { model, llm } = scripted(
      { toolCalls: [call('lookup_applicant', { applicantId: 'A-17' })] },
      'Income is 8000.',
    )
    const agent = agentWith(llm)
    const journal = new MemoryJournal()
    const texts: string[][] = []
    for (let run = 0; run < 2; run++) {
      const stream = agent.stream('Review A-17', { runId: 'review-a17', journal })
      const text: string[] = []
      for await (const event of stream) if (event.type === 'text-delta') text.push(event.text)
      expect((await stream.result).status).toBe('complete')
      texts.push(text)
    }
    expect(model.calls).toHaveLength(2)
    expect(texts[0]?.join('')).toBe('Income is 8000.')
    expect(texts[1]).toEqual(['Income is 8000.'])
  })

  it('finishes every step it starts: a turn that called a tool that does not exist too', async () => {
    const { llm } = scripted({ toolCalls: [call('no_such_tool', {})] }, 'Done.')
    const stream = agentWith(llm).stream('Review A-17')
    const events: AgentEvent[] = []
    for await (const event of stream) events.push(event)
    expect((await stream.result).status).toBe('complete')
    expect(events.filter((event) => event.type !== 'text-delta')).toEqual([
      { type: 'step-started', step: 1 },
      { type: 'step-finished', step: 1, finishReason: 'tool_calls', toolCalls: 0, usage: undefined },
      expect.objectContaining({ type: 'tool-call-finished', step: 1, toolName: 'no_such_tool', status: 'error' }),
      { type: 'step-started', step: 2 },
      expect.objectContaining({ type: 'step-finished', step: 2, finishReason: 'stop', toolCalls: 0 }),
    ])
  })
})

describe('Agent: configuration', () => {
  const { llm } = scripted('x')
  it('keeps the model it checked: a getter answering another value later is never read again', async () => {
    const { llm: checked } = scripted('From the checked model.')
    let reads = 0
    const agent = new Agent({
      name: 'a',
      tools: [lookup],
      get model() {
        reads += 1
        return (reads === 1 ? checked : 'not a model') as never
      },
    })
    expect(reads).toBe(1)
    expect(agent.model).toBe(checked)
    expect(await agent.invoke('go')).toMatchObject({ status: 'complete', output: 'From the checked model.' })
  })

  it('reads a tool’s needsApproval once: a getter that answers true first cannot let a call run unasked later', async () => {
    let runs = 0
    const pay = defineFunction({ name: 'pay', input: z.object({ amount: z.number() }), run: () => ++runs })
    let reads = 0
    const tool = Object.create(pay, {
      description: { value: 'Pays an amount' },
      needsApproval: {
        get: () => {
          reads += 1
          return reads === 1
        },
      },
    }) as typeof pay & { description: string }
    const { model, llm } = scripted({ toolCalls: [call('pay', { amount: 900 })] }, 'Paid.')
    const agent = agentWith(llm, { tools: [tool] })
    expect(reads).toBe(1)
    const outcome = await agent.invoke('Pay 900.')
    expect(outcome).toMatchObject({ status: 'awaiting-approval', approvals: [{ toolName: 'pay' }] })
    expect(runs).toBe(0)
    expect(model.calls).toHaveLength(1)

    // A tool made with defineTool reads its definition's needsApproval once too.
    let definitionReads = 0
    const defined = defineTool({
      name: 'pay_defined',
      description: 'Pays an amount',
      input: z.object({ amount: z.number() }),
      run: () => ++runs,
      get needsApproval() {
        definitionReads += 1
        return definitionReads === 1
      },
    })
    expect(defined.needsApproval).toBe(true)
  })

  it('refuses what it cannot run, naming the option', () => {
    const text = new LLMCall({ name: 'text', model: new ScriptedChatModel() })
    expect(() => new Agent({ name: 'a', model: text as never })).toThrow(/output: 'result'/)
    expect(() => new Agent({ name: 'a', model: llm, tools: [lookup, lookup] })).toThrow(/two tools are named/)
    expect(() => new Agent({ name: 'a', model: llm, maxSteps: 0 })).toThrow(ConfigurationError)
    expect(() => new Agent({ name: 'a', model: llm, max_steps: 3 } as never)).toThrow(/did you mean maxSteps/)
    const schema = z.object({ decision: z.string() })
    for (const finalAnswer of [null, schema]) {
      expect(() => new Agent({ name: 'a', model: llm, finalAnswer: finalAnswer as never })).toThrow(
        /^a: finalAnswer must be \{ schema, name\?, description\? \}, got (null|an object)$/,
      )
    }
    expect(() => new Agent({ name: 'a', model: llm, finalAnswer: { schema, descripton: 'x' } as never })).toThrow(
      'a: descripton is not an option; did you mean description? (known: description, name, schema)',
    )
    expect(() => defineTool({ name: 'bad name', description: 'x', input: z.object({}), run: () => null })).toThrow(
      /1–64 letters/,
    )
    // A tool's processed output is its JSON-safe result: a processedOutput given would be dropped without a word.
    expect(() =>
      defineTool({
        name: 'five',
        description: 'x',
        input: z.object({}),
        processedOutput: z.string(),
        run: () => 5,
      } as never),
    ).toThrow(
      "five: processedOutput is not an option of a tool: its result goes back to the model as it is, checked to be JSON-safe; check the result with 'output'",
    )
    // A final answer's name that is not a string is refused as it is, not read as text that happens to match.
    for (const name of [7, ['final_answer'], { toString: () => 'final' }]) {
      expect(() => new Agent({ name: 'a', model: llm, finalAnswer: { schema, name: name as never } })).toThrow(
        /1–64 letters, digits, _ and -; got (7|\["final_answer"\]|\{\})$/,
      )
    }
    expect(() => defineTool({ name: 'nodesc', description: '', input: z.object({}), run: () => null })).toThrow(
      /needs a description/,
    )
    expect(() =>
      defineTool({
        name: 'record',
        description: 'x',
        input: z.object({ tags: z.record(z.string(), z.string()) }),
        run: () => null,
      }),
    ).toThrow(/strict: false/)
    expect(
      defineTool({
        name: 'record',
        description: 'x',
        input: z.object({ tags: z.record(z.string(), z.string()) }),
        strict: false,
        run: () => null,
      }).strict,
    ).toBe(false)
  })

  it('says what it got when the model or a tool is not one, as every option check does', () => {
    const refusal = (options: unknown) => {
      try {
        new Agent(options as never)
      } catch (error) {
        return error
      }
      return undefined
    }
    for (const [model, got] of [
      [undefined, 'undefined'],
      [5, '5'],
      [{ name: 'model' }, 'an object'],
    ] as const) {
      const error = refusal({ name: 'a', model })
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as ConfigurationError).message).toBe(
        `a: model must be an LLMCall (OpenAIChat, AnthropicChat, …) with output: 'result', got ${got}`,
      )
    }
    const error = refusal({ name: 'a', model: llm, tools: [lookup, null] })
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as ConfigurationError).message).toBe(
      'a: tools[1] must be a tool: a Function with an input schema and a description (defineTool, asTool), got null',
    )
  })

  it('asTool refuses an option it does not know: a misspelt needsApproval does not run the tool unasked', () => {
    const pay = defineFunction({ name: 'pay', input: z.object({ amount: z.number() }), run: ({ amount }) => amount })
    const misspelt = () => asTool(pay, { description: 'Pays', neddsApproval: true } as never)
    expect(misspelt).toThrow(ConfigurationError)
    expect(misspelt).toThrow(/^pay: neddsApproval is not an option; did you mean needsApproval\? \(known: /)
    expect(asTool(pay, { description: 'Pays', needsApproval: true }).needsApproval).toBe(true)
  })

  it('asTool refuses a target that is not a Function when it is built, not at every call', () => {
    const input = z.object({})
    for (const target of [null, { name: 'x' }, { name: 'x', invoke: () => 1 }]) {
      const wrap = () => asTool(target as never, { description: 'd', input, name: 'x' })
      expect(wrap).toThrow(ConfigurationError)
      expect(wrap).toThrow(/^asTool: target must be a Function \(with invoke and describe\), got /)
    }
  })

  it('refuses input messages it cannot read, naming the path', async () => {
    const agent = agentWith(llm)
    const inputs: Array<[unknown, Array<PropertyKey>]> = [
      [{ messages: [null] }, ['messages', 0]],
      [{ messages: [{ role: 'assistant', content: null, toolCalls: 5 }] }, ['messages', 0, 'toolCalls']],
      [
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: null, toolCalls: [null] },
          ],
        },
        ['messages', 1, 'toolCalls', 0],
      ],
      [
        {
          messages: [
            { role: 'assistant', content: null, toolCalls: [call('a', {}, 'x'), call('b', {}, 'x')] },
            { role: 'tool', toolCallId: 'x', content: 'r' },
          ],
        },
        ['messages', 0, 'toolCalls', 1, 'id'],
      ],
      // Arguments that are not JSON text: the call left unanswered would run with them read as `{}`.
      ...[{ applicantId: 'A-17' }, Symbol('args'), 5].map((arguments_): [unknown, Array<PropertyKey>] => [
        {
          messages: [
            { role: 'user', content: 'hi' },
            {
              role: 'assistant',
              content: null,
              toolCalls: [{ id: 'x', name: 'lookup_applicant', arguments: arguments_ }],
            },
          ],
        },
        ['messages', 1, 'toolCalls', 0, 'arguments'],
      ]),
    ]
    for (const [input, path] of inputs) {
      const error = await agent.invoke(input as never).catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(error), String(error)).toBe(true)
      expect((error as ValidationError).issues.map((issue) => issue.path)[0]).toEqual(path)
    }
  })

  it('refuses input whose parts cannot be read (a getter that throws, a revoked Proxy), naming where they are', async () => {
    const { llm, model } = scripted('unused')
    const agent = agentWith(llm)
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const throws = (key: string, base: object = {}) =>
      Object.defineProperty(base, key, {
        enumerable: true,
        get: () => {
          throw new Error('unreadable part')
        },
      })
    const user = { role: 'user', content: 'hi' }
    const inputs: Array<[unknown, Array<PropertyKey>]> = [
      [{ messages: [user], approvals: { mail: revoked.proxy } }, ['approvals', 'mail']],
      [{ messages: [user], approvals: throws('mail') }, ['approvals', 'mail']],
      [{ messages: [user], approvals: { mail: throws('approved') } }, ['approvals', 'mail']],
      [{ messages: [user], approvals: revoked.proxy }, ['approvals']],
      [throws('approvals', { messages: [user] }), ['approvals']],
      [{ messages: revoked.proxy }, ['messages']],
      [{ messages: [user, revoked.proxy] }, ['messages', 1]],
      [{ messages: [user, throws('role')] }, ['messages', 1]],
      [
        { messages: [user, { role: 'assistant', content: null, toolCalls: [revoked.proxy] }] },
        ['messages', 1, 'toolCalls', 0],
      ],
    ]
    for (const [input, path] of inputs) {
      const error = await agent.invoke(input as never).catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(error), String(error)).toBe(true)
      const { issues } = error as ValidationError
      expect(issues.map((issue) => issue.path)).toEqual([path])
      expect(issues[0]?.message).toMatch(/could not be read: .*(revoked|unreadable part)/)
    }
    expect(model.calls).toHaveLength(0)
  })

  it('refuses a sparse list of messages or tool calls at its first hole, however long the list', async () => {
    const agent = agentWith(llm)
    // As long as a list can be: walked hole by hole, its issues alone would not fit in memory.
    const messages: unknown[] = new Array(2 ** 32 - 1)
    messages[0] = { role: 'user', content: 'hi' }
    const toolCalls: unknown[] = new Array(2 ** 32 - 1)
    toolCalls[0] = { id: 'x', name: 'lookup_applicant', arguments: '{}' }
    const inputs: Array<[unknown, Array<PropertyKey>]> = [
      [{ messages }, ['messages', 1]],
      [
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: null, toolCalls },
          ],
        },
        ['messages', 1, 'toolCalls', 1],
      ],
    ]
    for (const [input, path] of inputs) {
      const error = await agent.invoke(input as never).catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(error), String(error)).toBe(true)
      const { issues } = error as ValidationError
      expect(issues[0]?.path).toEqual(path)
      expect(issues.length).toBeLessThanOrEqual(20)
    }
  })

  it('refuses 100,000 wrong decisions with at most 20 issues, as it refuses messages', async () => {
    const { llm } = scripted('unused')
    const approvals: Record<string, unknown> = {}
    for (let index = 0; index < 100_000; index++)
      approvals[`call-${index}`] = { approved: 'yes', argument: {}, reason: 5 }
    const error = await agentWith(llm)
      .invoke({ messages: [{ role: 'user', content: 'hi' }], approvals } as never)
      .catch((caught: unknown) => caught)
    expect(ValidationError.isInstance(error), String(error)).toBe(true)
    const { issues } = error as ValidationError
    expect(issues[0]?.path).toEqual(['approvals', 'call-0', 'argument'])
    expect(issues.length).toBeLessThanOrEqual(20)
  })

  it('options that cannot be read are a ConfigurationError, for the agent and every way of making a tool', () => {
    const unreadable = (options: object, key: string): never =>
      Object.defineProperty({ ...options }, key, {
        enumerable: true,
        get: () => {
          throw new Error(`no ${key}`)
        },
      }) as never
    const tool = { name: 'lookup', description: 'Looks up', input: z.object({}), run: () => 1 }
    const target = defineFunction({ name: 'double', input: z.object({ n: z.number() }), run: ({ n }) => n * 2 })
    for (const [build, message] of [
      [
        () => new Agent(unreadable({ name: 'a', model: llm }, 'tools')),
        'a: options could not be read: Error: no tools',
      ],
      [
        () => new Agent(unreadable({ name: 'a', model: llm }, 'name')),
        'Agent: options could not be read: Error: no name',
      ],
      [() => defineTool(unreadable(tool, 'run')), 'defineTool: options could not be read: Error: no run'],
      [
        () => asTool(target, unreadable({ description: 'd' }, 'input')),
        'asTool: options could not be read: Error: no input',
      ],
    ] as const) {
      let thrown: unknown
      try {
        build()
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toBe(message)
    }
  })

  it('describes itself as a group of its model and tools', () => {
    expect(agentWith(llm).describe()).toEqual({
      kind: 'agent',
      name: 'reviewer',
      layout: 'group',
      children: [
        { kind: 'llm-call', name: 'model' },
        { kind: 'tool', name: 'lookup_applicant' },
        { kind: 'tool', name: 'debt_ratio' },
      ],
    })
  })
})
