// The suite against a provider that reads a strict answer back only when generating: streamed, the null strict mode
// made the model write for an optional property stays in the answer. Run by broken-providers.test.ts, which expects the
// suite to fail it.
import type { ChatCallOptions, ChatRequest, ChatResult, ChatStreamPart } from '@tinyllm/llm'
import { describeChatModelConformance } from '../chat-model-conformance.js'
import { ReferenceChatModel, referenceAdapter } from './reference-provider.js'

/** The answer as the server wrote it: every property the schema has but the answer left out, as `null`. */
function withNulls(result: ChatResult, request: ChatRequest): ChatResult {
  const format = request.responseFormat
  if (format?.type !== 'json_schema') return result
  const properties = Object.keys((format.schema.properties ?? {}) as Record<string, unknown>)
  const choices = result.choices.map((choice) => {
    const answer = JSON.parse(choice.message.content ?? '{}') as Record<string, unknown>
    for (const property of properties) answer[property] ??= null
    return { ...choice, message: { ...choice.message, content: JSON.stringify(answer) } }
  })
  return { ...result, choices }
}

class StrictAnswerUnreadWhenStreamed extends ReferenceChatModel {
  override async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    for await (const part of super.doStream(request, options)) {
      yield part.type === 'finish' ? { type: 'finish', result: withNulls(part.result, request) } : part
    }
  }
}

describeChatModelConformance({
  ...referenceAdapter,
  createModel: (server) => new StrictAnswerUnreadWhenStreamed(server.url),
})
