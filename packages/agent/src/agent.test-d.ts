import { LLMCall } from '@tinyllm/llm'
import { ScriptedChatModel } from '@tinyllm/llm/testing'
import { OpenAIChat } from '@tinyllm/openai'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { Agent, type AgentOutcome, defineTool } from './index.js'

const model = new LLMCall({ name: 'model', model: new ScriptedChatModel(), output: 'result' })

describe('type inference', () => {
  it("types a tool's arguments from its input schema, and its result from run", () => {
    const tool = defineTool({
      name: 'ratio',
      description: 'Debt over income',
      input: z.object({ debt: z.number(), income: z.number(), note: z.string().optional() }),
      run: (arguments_) => {
        expectTypeOf(arguments_).toEqualTypeOf<{ debt: number; income: number; note?: string | undefined }>()
        return { ratio: arguments_.debt / arguments_.income }
      },
    })
    expectTypeOf(tool.invoke).returns.resolves.toEqualTypeOf<{ ratio: number }>()
  })

  it("types the outcome's output: the text, or the final answer's schema", () => {
    const text = new Agent({ name: 'a', model })
    expectTypeOf(text.invoke).returns.resolves.toEqualTypeOf<AgentOutcome<string>>()
    const structured = new Agent({
      name: 'b',
      model,
      finalAnswer: { schema: z.object({ decision: z.enum(['yes', 'no']) }) },
    })
    expectTypeOf(structured.invoke).returns.resolves.toEqualTypeOf<AgentOutcome<{ decision: 'yes' | 'no' }>>()
  })

  it("takes a provider's chat with output 'result', not one that returns text", () => {
    const chat = new OpenAIChat({ name: 'model', model: 'gpt-4o-mini', apiKey: 'k', output: 'result' })
    new Agent({ name: 'c', model: chat })
    const textChat = new OpenAIChat({ name: 'model', model: 'gpt-4o-mini', apiKey: 'k' })
    // @ts-expect-error the agent reads whole results: a chat that returns text does not fit
    new Agent({ name: 'd', model: textChat })
  })
})
