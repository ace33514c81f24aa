// The suite against a provider whose streams keep one finish reason for the whole answer: every choice of a streamed
// answer is reported as finishing as the first did. Run by broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

class FirstFinishReasonWhenStreamed extends ReferenceChatModel {
  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    for await (const part of super.doStream(request, options)) {
      const first = part.type === 'finish' ? part.result.choices[0] : undefined
      if (part.type !== 'finish' || first === undefined) yield part
      else {
        const choices = part.result.choices.map((choice) => ({ ...choice, finishReason: first.finishReason }))
        yield { type: 'finish', result: { ...part.result, choices } }
      }
    }
  }
}

describeChatModelConformance({
  ...referenceAdapter,
  createModel: (server) => new FirstFinishReasonWhenStreamed(server.url),
})
