import { splitText } from '@tinyllm/testing'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { ResolvedReply } from './resolved-reply.js'

/** How a reply is cut into stream chunks. */
export interface ChunkingOptions {
  /** Send a final chunk with `usage` and no choices (`stream_options.include_usage`). */
  readonly includeUsage: boolean
  /** Characters per content or arguments delta; by default content goes word by word, arguments 8 characters at a time. */
  readonly chunkChars?: number | undefined
}

/**
 * Renders a reply as the `chat.completion.chunk` objects of a stream, in OpenAI's order: per choice a role delta,
 * content deltas, per tool call a delta with id and name then argument pieces, and a finish reason; then, if asked, a
 * usage chunk with no choices. The `[DONE]` marker is the caller's.
 */
export function* toChatCompletionChunks(
  reply: ResolvedReply,
  options: ChunkingOptions,
): Generator<ChatCompletionChunk> {
  const chunk = (choices: ChatCompletionChunk['choices']): ChatCompletionChunk => ({
    id: reply.id,
    object: 'chat.completion.chunk',
    created: reply.created,
    model: reply.model,
    system_fingerprint: 'fp_loopback',
    choices,
    ...(options.includeUsage && reply.usage !== undefined ? { usage: null } : {}),
  })
  for (const [index, choice] of reply.choices.entries()) {
    const delta = (content: ChatCompletionChunk.Choice.Delta): ChatCompletionChunk =>
      chunk([{ index, delta: content, logprobs: null, finish_reason: null }])
    yield delta({ role: 'assistant', content: choice.content === null ? null : '', refusal: null })
    if (choice.content)
      for (const piece of splitText(choice.content, options.chunkChars, true)) yield delta({ content: piece })
    for (const [toolIndex, call] of choice.toolCalls.entries()) {
      yield delta({
        tool_calls: [{ index: toolIndex, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      })
      for (const piece of splitText(call.arguments, options.chunkChars ?? 8, false)) {
        yield delta({ tool_calls: [{ index: toolIndex, function: { arguments: piece } }] })
      }
    }
    yield chunk([{ index, delta: {}, logprobs: null, finish_reason: choice.finishReason }])
  }
  if (options.includeUsage && reply.usage !== undefined) yield { ...chunk([]), usage: reply.usage }
}
