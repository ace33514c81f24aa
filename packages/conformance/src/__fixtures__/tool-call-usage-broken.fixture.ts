// The suite against a provider that reports no tokens used whenever the answer has tool calls, streamed or not (its
// usage read from a field only text answers carry). Run by broken-providers.test.ts, which expects the suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatResult, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

function withoutToolCallUsage(result: ChatResult): ChatResult {
  const toolCalls = result.choices.some((choice) => (choice.message.toolCalls ?? []).length > 0)
  return toolCalls ? { ...result, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } } : result
}

class NoUsageForToolCalls extends ReferenceChatModel {
  override async doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    return withoutToolCallUsage(await super.doGenerate(request, options))
  }

  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    for await (const part of super.doStream(request, options)) {
      yield part.type === 'finish' ? { type: 'finish', result: withoutToolCallUsage(part.result) } : part
    }
  }
}

describeChatModelConformance({ ...referenceAdapter, createModel: (server) => new NoUsageForToolCalls(server.url) })
