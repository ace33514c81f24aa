import type { ChatCompletion } from 'openai/resources/chat/completions'
import type { ResolvedReply } from './resolved-reply.js'

/** Renders a reply as a non-streaming `chat.completion` object. */
export function toChatCompletion(reply: ResolvedReply): ChatCompletion {
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: reply.choices.map((choice, index) => ({
      index,
      message: {
        role: 'assistant',
        content: choice.content,
        refusal: null,
        ...(choice.toolCalls.length > 0
          ? {
              tool_calls: choice.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      },
      logprobs: null,
      finish_reason: choice.finishReason,
    })),
    ...(reply.usage === undefined ? {} : { usage: reply.usage }),
    system_fingerprint: 'fp_loopback',
  }
}
