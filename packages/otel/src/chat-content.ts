import { redact, redactString } from '@tinyllm/logger'
import { redactedList } from './llm-call-facts.js'

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
 * redacted as in every log line and each text, once redacted, cut to `maxLength` characters. The messages are read as
 * given, before the call validates them, as `redact` reads them (at most 10,000): what is not a message is left out.
 */
export function inputMessagesJson(messages: ReadonlyArray<unknown>, maxLength: number): string {
  // Read once, as a log line reads its fields: a message whose reading throws is left out, not thrown into the run.
  const copy = redactedList(messages)
  return JSON.stringify(
    copy.filter(isMessage).map((message) => {
      const parts: MessagePart[] = []
      if (message.role === 'tool') {
        parts.push({
          type: 'tool_call_response',
          id: message.toolCallId ?? '',
          response: redactedAndCut(message.content, maxLength),
        })
      } else if (typeof message.content === 'string') {
        parts.push({ type: 'text', content: redactedAndCut(message.content, maxLength) })
      }
      for (const call of Array.isArray(message.toolCalls) ? message.toolCalls : []) {
        if (typeof call !== 'object' || call === null) continue
        parts.push({
          type: 'tool_call',
          id: call.id,
          name: call.name,
          arguments: redactedAndCut(call.arguments, maxLength),
        })
      }
      return { role: message.role, parts }
    }),
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
        parts: [{ type: 'text', content: redactedAndCut(answer.text, maxLength) }],
        ...(answer.finishReason === undefined ? {} : { finish_reason: answer.finishReason }),
      })),
    ),
  )
}

function isMessage(value: unknown): value is ChatMessageLike {
  return typeof value === 'object' && value !== null && typeof (value as ChatMessageLike).role === 'string'
}

/**
 * The text redacted, then cut to `maxLength` characters: cut first, the part of a key left before the cut could be too
 * short for redaction to recognise (a registered key is found only whole).
 */
function redactedAndCut(text: string | null | undefined, maxLength: number): string {
  if (typeof text !== 'string') return ''
  const safe = redactString(text)
  return safe.length <= maxLength ? safe : `${safe.slice(0, maxLength)}… (${safe.length - maxLength} more characters)`
}
