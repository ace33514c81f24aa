import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import type { ChatMessage, ChatRequest } from './chat-model.js'
import { estimateInputTokens } from './token-estimate.js'

// Byte-level tokenizers never produce more tokens than the UTF-8 bytes they encode, so an estimate at or above the byte
// count bounds the real count in every script. (The former estimate, characters ÷ 3, fell 3–9× short on CJK text.)
const texts = {
  english: 'Three missed payments this year, utilisation at 95%.',
  chinese: '申请人今年三次逾期还款，信用额度使用率为百分之九十五。',
  japanese: '申込者は今年三回の支払い遅延があり、利用率は95%です。',
  korean: '신청인은 올해 세 번 연체했으며 이용률은 95%입니다.',
  emoji: '📉💳⚠️🏦🧾'.repeat(10),
  adversarial: 'a,b;c.d!e?f:g'.repeat(20),
}

describe('estimateInputTokens', () => {
  for (const [script, text] of Object.entries(texts)) {
    it(`is at least the UTF-8 bytes of the text (${script}), an upper bound of any byte-level tokenizer`, () => {
      const bytes = new TextEncoder().encode(text).length
      expect(estimateInputTokens({ messages: [{ role: 'user', content: text }] })).toBeGreaterThanOrEqual(bytes)
    })
  }

  it('refuses what is not a chat request (null, no messages, a getter that throws, a text that is no string) with a ConfigurationError', () => {
    const unreadable = {
      get messages(): never {
        throw new Error('messages getter')
      },
    }
    const numberId = { messages: [{ role: 'tool', toolCallId: 7, content: 'x' }] }
    const cases: Array<[unknown, string]> = [
      [null, 'estimateInputTokens: request must be a chat request { messages, … }, got null'],
      [{ message: [] }, 'estimateInputTokens: request must be a chat request { messages, … }, got an object'],
      [unreadable, 'estimateInputTokens: request could not be read: Error: messages getter'],
      [numberId, 'estimateInputTokens: request must be a chat request whose texts are strings'],
      [
        { messages: [{ role: 'user', content: 5 }] },
        'estimateInputTokens: request must be a chat request whose texts are strings',
      ],
      [
        { messages: [{ role: 'user', content: { text: 'x'.repeat(1000) } }] },
        'estimateInputTokens: request must be a chat request whose texts are strings',
      ],
    ]
    for (const [request, message] of cases) {
      expect(() => estimateInputTokens(request as ChatRequest)).toThrow(ConfigurationError)
      expect(() => estimateInputTokens(request as ChatRequest)).toThrow(message)
    }
    const toolTurn = { role: 'assistant', content: null, toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }] }
    expect(estimateInputTokens({ messages: [toolTurn] } as ChatRequest)).toBeGreaterThan(0)
  })

  it('counts tool calls, tool definitions and the response schema too', () => {
    const base = estimateInputTokens({ messages: [{ role: 'user', content: 'x' }] })
    const withTools = estimateInputTokens({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, toolCalls: [{ id: '1', name: 'lookup', arguments: '{"id":"日本"}' }] },
      ],
      tools: [{ name: 'lookup', description: 'Finds a record', parameters: { type: 'object' } }],
      responseFormat: { type: 'json_schema', name: 'v', schema: { type: 'object' } },
    })
    expect(withTools - base).toBeGreaterThanOrEqual(
      new TextEncoder().encode('lookup{"id":"日本"}lookupFinds a record{"type":"object"}{"type":"object"}').length,
    )
  })

  it('counts the reasoning an assistant message sends back: its text, signature and encrypted data', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: 'y' },
    ]
    const base = estimateInputTokens({ messages })
    const reasoning = [
      { text: '考えてみる', provider: 'anthropic', signature: 'EqoBCkgIARAB' },
      { text: '', provider: 'anthropic', redactedData: 'EmwKAhgBEgy3' },
    ]
    const withReasoning = estimateInputTokens({
      messages: [messages[0] as ChatMessage, { role: 'assistant', content: 'y', reasoning }],
    })
    expect(withReasoning - base).toBeGreaterThanOrEqual(
      new TextEncoder().encode('考えてみるEqoBCkgIARABEmwKAhgBEgy3').length,
    )
  })

  it('counts the ids that pair tool calls with their results, and the response format name and description', () => {
    // A tool loop with empty arguments and results: the ids are most of what is sent, and a tokenizer counts them.
    const id = (index: number): string => `call_${index}Xq7Wv3Lp9Rt2Yz8Mn4Bc6Df1Gh5Jk0`
    const messages: ChatMessage[] = [{ role: 'user', content: 'go' }]
    for (let index = 0; index < 20; index++) {
      messages.push({ role: 'assistant', content: null, toolCalls: [{ id: id(index), name: 'f', arguments: '{}' }] })
      messages.push({ role: 'tool', toolCallId: id(index), content: '' })
    }
    const sent = messages.flatMap((message) =>
      message.role === 'tool'
        ? [message.toolCallId]
        : message.role === 'assistant'
          ? (message.toolCalls ?? []).flatMap((call) => [call.id, call.name, call.arguments])
          : [message.content],
    )
    const bytes = new TextEncoder().encode(sent.join('')).length
    expect(estimateInputTokens({ messages })).toBeGreaterThanOrEqual(bytes)

    const schema = { type: 'object' }
    const name = 'loan_verdict_'.repeat(4)
    const description = 'Überprüfung des Kreditantrags. '.repeat(8)
    const bare = estimateInputTokens({ messages: [], responseFormat: { type: 'json_schema', name: 'v', schema } })
    const described = estimateInputTokens({
      messages: [],
      responseFormat: { type: 'json_schema', name, description, schema },
    })
    expect(described - bare).toBeGreaterThanOrEqual(new TextEncoder().encode(`${name}${description}`).length - 1)
  })

  it('counts the provider options, which reach the body as they are and may carry input', () => {
    const system = 'Follow the house style. '.repeat(100)
    const request: ChatRequest = { messages: [{ role: 'user', content: 'x' }] }
    const withOptions = estimateInputTokens({ ...request, providerOptions: { anthropic: { system } } })
    expect(withOptions - estimateInputTokens(request)).toBeGreaterThanOrEqual(new TextEncoder().encode(system).length)
  })
})
