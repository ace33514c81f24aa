// The suite against a provider that connects its streams without the caller's signal and only watches the signal once
// the first part has arrived, so an abort while it waits for the answer is ignored. Run by broken-providers.test.ts,
// which expects the suite to fail it.
import { AbortError } from '@tinyllm/core'
import type { ChatCallOptions, ChatRequest, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

class AbortIgnoredUntilFirstPart extends ReferenceChatModel {
  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const signal = options?.signal
    if (signal?.aborted) throw new AbortError({ reason: signal.reason })
    const connection = new AbortController()
    const parts = super.doStream(request, { signal: connection.signal })[Symbol.asyncIterator]()
    try {
      let next = await parts.next()
      const forward = (): void => connection.abort(signal?.reason)
      signal?.addEventListener('abort', forward, { once: true })
      if (signal?.aborted) forward()
      while (next.done !== true) {
        yield next.value
        next = await parts.next()
      }
    } finally {
      connection.abort()
    }
  }
}

describeChatModelConformance({
  ...referenceAdapter,
  createModel: (server) => new AbortIgnoredUntilFirstPart(server.url),
})
