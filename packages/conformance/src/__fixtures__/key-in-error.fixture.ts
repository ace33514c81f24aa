// The suite against a provider that puts its API key in the message of its errors ("invalid key …"). Run by
// broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatResult, ChatStreamPart } from '@tinyllm/llm'
import { ProviderCallError } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

const apiKey = 'reference-leaked-key'

/** The error with the key in its message, as a careless "check your key" hint would put it. */
function withKey(error: unknown): unknown {
  if (!ProviderCallError.isInstance(error) || error.status !== 401) return error
  const { provider, status, requestId, retryable } = error
  const message = `${error.message} (check your key ${apiKey})`
  return new ProviderCallError({ provider, status, requestId, retryable, message, cause: error })
}

class KeyInErrors extends ReferenceChatModel {
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

describeChatModelConformance({ ...referenceAdapter, createModel: (server) => new KeyInErrors(server.url, apiKey) })
