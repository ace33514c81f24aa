// The suite against a provider whose streams map a 400 (a request the API refuses) to a retryable error, as if it could
// succeed on a retry. Run by broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatStreamPart } from '@tinyllm/llm'
import { ProviderCallError } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

class BadRequestRetryableWhenStreamed extends ReferenceChatModel {
  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    try {
      yield* super.doStream(request, options)
    } catch (error) {
      if (!ProviderCallError.isInstance(error) || error.status !== 400) throw error
      const { provider, status, requestId, message } = error
      throw new ProviderCallError({ provider, status, requestId, message, retryable: true, cause: error })
    }
  }
}

describeChatModelConformance({
  ...referenceAdapter,
  createModel: (server) => new BadRequestRetryableWhenStreamed(server.url),
})
