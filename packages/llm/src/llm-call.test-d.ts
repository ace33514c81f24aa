import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import type { ChatResult } from './chat-model.js'
import { LLMCall, type LLMCallInput, type StructuredChatResult } from './llm-call.js'
import { ScriptedChatModel } from './testing/scripted-chat-model.js'

const model = new ScriptedChatModel()
const prompt: LLMCallInput = { messages: [{ role: 'user', content: 'x' }] }
const Verdict = z.object({ verdict: z.enum(['good', 'bad']) })

describe('LLMCall output types', () => {
  it('infers the output from the output mode and the structured-output schema', () => {
    expectTypeOf(new LLMCall({ name: 'a', model }).invoke(prompt)).resolves.toEqualTypeOf<string>()
    expectTypeOf(new LLMCall({ name: 'a', model, output: 'texts' }).invoke(prompt)).resolves.toEqualTypeOf<string[]>()
    expectTypeOf(
      new LLMCall({ name: 'a', model, output: 'result' }).invoke(prompt),
    ).resolves.toEqualTypeOf<ChatResult>()
    const structuredOutput = { name: 'verdict', schema: Verdict }
    expectTypeOf(new LLMCall({ name: 'a', model, structuredOutput }).invoke(prompt)).resolves.toEqualTypeOf<{
      verdict: 'good' | 'bad'
    }>()
    expectTypeOf(
      new LLMCall({ name: 'a', model, structuredOutput, output: 'texts' }).invoke(prompt),
    ).resolves.toEqualTypeOf<Array<{ verdict: 'good' | 'bad' }>>()
    expectTypeOf(
      new LLMCall({ name: 'a', model, structuredOutput, output: 'result' }).invoke(prompt),
    ).resolves.toEqualTypeOf<StructuredChatResult<{ verdict: 'good' | 'bad' }>>()
    expectTypeOf(new LLMCall({ name: 'a', model }).stream(prompt).result).resolves.toEqualTypeOf<string>()
  })

  it('takes a prompt template output as input', () => {
    const messages: { messages: Array<{ role: 'user'; content: string }> } = { messages: [] }
    expectTypeOf(messages).toMatchTypeOf<LLMCallInput>()
  })
})
