// The suite against a provider that breaks the specification when streaming several choices: `n` is left off the wire
// and only the first choice comes back. Run by broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

class FirstChoiceWhenStreamed extends ReferenceChatModel {
  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const { n: _dropped, ...withoutN } = request
    for await (const part of super.doStream(withoutN, options)) {
      if (part.type !== 'finish') {
        if (part.choiceIndex === 0) yield part
      } else yield { type: 'finish', result: { ...part.result, choices: part.result.choices.slice(0, 1) } }
    }
  }
}

describeChatModelConformance({ ...referenceAdapter, createModel: (server) => new FirstChoiceWhenStreamed(server.url) })
