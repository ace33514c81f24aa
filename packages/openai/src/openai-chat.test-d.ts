import type { ChatResult, StructuredChatResult } from '@tinyllm/llm'
import { OpenAI } from 'openai'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { OpenAIChat, OpenAIChatModel, OpenAIPromptTemplate, OpenAIUserMessage } from './index.js'

const prompt = { messages: [{ role: 'user' as const, content: 'hi' }] }

describe('OpenAIChat types', () => {
  it('infers invoke’s output from `output` and `structuredOutput`', () => {
    const text = new OpenAIChat({ name: 'a', model: 'gpt-4o-mini', temperature: 0 })
    expectTypeOf(text.invoke(prompt)).resolves.toEqualTypeOf<string>()
    const texts = new OpenAIChat({ name: 'b', model: 'gpt-4o-mini', n: 3, output: 'texts' })
    expectTypeOf(texts.invoke(prompt)).resolves.toEqualTypeOf<string[]>()
    const result = new OpenAIChat({ name: 'c', model: 'gpt-4o-mini', output: 'result' })
    expectTypeOf(result.invoke(prompt)).resolves.toEqualTypeOf<ChatResult>()
    const schema = z.object({ verdict: z.enum(['good', 'bad']) })
    const structured = new OpenAIChat({ name: 'd', model: 'gpt-4o-mini', structuredOutput: { name: 'v', schema } })
    expectTypeOf(structured.invoke(prompt)).resolves.toEqualTypeOf<{ verdict: 'good' | 'bad' }>()
    const structuredResult = new OpenAIChat({
      name: 'e',
      model: 'gpt-4o-mini',
      output: 'result',
      structuredOutput: { name: 'v', schema },
    })
    expectTypeOf(structuredResult.invoke(prompt)).resolves.toEqualTypeOf<
      StructuredChatResult<{ verdict: 'good' | 'bad' }>
    >()
    expectTypeOf(text.model).toEqualTypeOf<OpenAIChatModel>()
  })

  it('can be extended, keeping its generics and its typed model', () => {
    class Classifier extends OpenAIChat<'texts'> {}
    const chat = new Classifier({ model: 'gpt-4o-mini', n: 2, output: 'texts' })
    expectTypeOf(chat.invoke(prompt)).resolves.toEqualTypeOf<string[]>()
    expectTypeOf(chat.model).toEqualTypeOf<OpenAIChatModel>()
  })

  it('takes a client or connection options, not both', () => {
    const client = new OpenAI({ apiKey: 'k' })
    new OpenAIChat({ name: 'a', model: 'gpt-4o-mini', client })
    new OpenAIChat({ name: 'b', model: 'gpt-4o-mini', apiKey: 'k', baseURL: 'http://127.0.0.1:1/v1' })
    // @ts-expect-error a client and an apiKey contradict each other
    new OpenAIChat({ name: 'c', model: 'gpt-4o-mini', client, apiKey: 'k' })
    // @ts-expect-error the model id is required
    new OpenAIChat({ name: 'd' })
    // the name is not: it defaults to OpenAIChat
    new OpenAIChat({ model: 'gpt-4o-mini' })
    // @ts-expect-error settings are typed
    new OpenAIChat({ name: 'e', model: 'gpt-4o-mini', temperature: 'hot' })
    new OpenAIChatModel({ model: 'gpt-4o', client })
  })

  it('keeps the prompt classes generic under their seed names', () => {
    const template = new OpenAIPromptTemplate<{ message: string }>({
      name: 't',
      sections: [new OpenAIUserMessage({ name: 'u' })],
    })
    expectTypeOf(template).toEqualTypeOf<OpenAIPromptTemplate<{ message: string }>>()
    expectTypeOf(template.invoke({ message: 'x' })).resolves.toHaveProperty('messages')
  })
})
