// The suite against a provider that keeps its API key out of a 401's error but puts it in the message of every other
// one (429, 5xx, a lost connection). Run by broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatResult, ChatStreamPart } from '@tinyllm/llm'
import { ProviderCallError, RateLimitError } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

const apiKey = 'reference-leaked-key'

function withKey(error: unknown): unknown {
  if (!ProviderCallError.isInstance(error) || error.status === 401) return error
  const { provider, status, requestId, retryable } = error
  const message = `${error.message} (sent with ${apiKey})`
  return RateLimitError.isInstance(error)
    ? new RateLimitError({ provider, status, requestId, message, retryAfterMs: error.retryAfterMs, cause: error })
    : new ProviderCallError({ provider, status, requestId, retryable, message, cause: error })
}

class KeyInOtherErrors extends ReferenceChatModel {
  override doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    return super.doGenerate(request, options).catch((error: unknown) => Promise.reject(withKey(error)))
  }

  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    try {
      yield* super.doStream(request, options)
    } catch (error) {
      throw withKey(error)
    }
  }
}

describeChatModelConformance({ ...referenceAdapter, createModel: (server) => new KeyInOtherErrors(server.url, apiKey) })
