// The suite against a provider that builds its streamed requests apart from the others and leaves out what only some
// requests carry: the system instructions and a request's own model. Run by broken-providers.test.ts, which expects the
// suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

class WithoutSystemWhenStreamed extends ReferenceChatModel {
  override doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const { model: _model, ...rest } = request
    const messages = request.messages.filter((message) => message.role !== 'system')
    return super.doStream({ ...rest, messages }, options)
  }
}

describeChatModelConformance({
  ...referenceAdapter,
  createModel: (server) => new WithoutSystemWhenStreamed(server.url),
})
