import { redact } from '@tinyllm/logger'

/** A chat message as LLM calls send them (the provider-neutral specification's shape, read structurally). */
interface ChatMessageLike {
  readonly role: string
  readonly content?: string | null
  readonly toolCalls?: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>
  readonly toolCallId?: string
}

type MessagePart =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'tool_call_response'; id: string; response: string }

/**
 * A conversation as the GenAI conventions' `gen_ai.input.messages` JSON (`[{ role, parts: [...] }]`), with secrets
 * redacted as in every log line and each text cut to `maxLength` characters. The messages are read as given, before
 * the call validates them: what is not a message is left out.
 */
export function inputMessagesJson(messages: ReadonlyArray<unknown>, maxLength: number): string {
  return JSON.stringify(
    redact(
      messages.filter(isMessage).map((message) => {
        const parts: MessagePart[] = []
        if (message.role === 'tool') {
          parts.push({
            type: 'tool_call_response',
            id: message.toolCallId ?? '',
            response: cut(message.content, maxLength),
          })
        } else if (typeof message.content === 'string') {
          parts.push({ type: 'text', content: cut(message.content, maxLength) })
        }
        for (const call of Array.isArray(message.toolCalls) ? message.toolCalls : []) {
          if (typeof call !== 'object' || call === null) continue
          parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: cut(call.arguments, maxLength) })
        }
        return { role: message.role, parts }
      }),
    ),
  )
}

/** The model's answers as `gen_ai.output.messages` JSON, redacted and cut like the input. */
export function outputMessagesJson(
  answers: ReadonlyArray<{ readonly text: string; readonly finishReason?: string | undefined }>,
  maxLength: number,
): string {
  return JSON.stringify(
    redact(
      answers.map((answer) => ({
        role: 'assistant',
        parts: [{ type: 'text', content: cut(answer.text, maxLength) }],
        ...(answer.finishReason === undefined ? {} : { finish_reason: answer.finishReason }),
      })),
    ),
  )
}

function isMessage(value: unknown): value is ChatMessageLike {
  return typeof value === 'object' && value !== null && typeof (value as ChatMessageLike).role === 'string'
}

function cut(text: string | null | undefined, maxLength: number): string {
  if (typeof text !== 'string') return ''
  return text.length <= maxLength ? text : `${text.slice(0, maxLength)}… (${text.length - maxLength} more characters)`
}
