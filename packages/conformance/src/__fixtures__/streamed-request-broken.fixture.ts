// The suite against a provider that builds its streamed requests apart from the others, and gets them wrong: `stop`
// and `maxTokens` are left off the wire, and another provider's reasoning is sent as the assistant's text. Run by
// broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatMessage, ChatRequest, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

class WrongWhenStreamed extends ReferenceChatModel {
  override doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const { stop: _stop, maxTokens: _maxTokens, ...rest } = request
    const messages = request.messages.map((message): ChatMessage => {
      if (message.role !== 'assistant' || message.reasoning === undefined) return message
      const reasoning = message.reasoning.map((part) => `${part.text} ${part.signature ?? ''}`).join('')
      return { ...message, content: `${reasoning}${message.content ?? ''}` }
    })
    return super.doStream({ ...rest, messages }, options)
  }
}

describeChatModelConformance({ ...referenceAdapter, createModel: (server) => new WrongWhenStreamed(server.url) })
