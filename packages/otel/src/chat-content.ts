import { redact, redactString } from '@tinyllm/logger'
import { type Answer, redactedList } from './llm-call-facts.js'

/**
 * A chat message as LLM calls send them and models answer them (the provider-neutral specification's shape, read
 * structurally): its text, tool calls, the result a tool message carries, and the model's reasoning.
 */
export interface ChatMessageLike {
  readonly role: string
  readonly content?: string | null
  readonly toolCalls?: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>
  readonly toolCallId?: string
  readonly reasoning?: ReadonlyArray<{ readonly text: string }>
}

type MessagePart =
  | { type: 'reasoning'; content: string }
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'tool_call_response'; id: string; response: string }

/**
 * A conversation as the GenAI conventions' `gen_ai.input.messages` JSON (`[{ role, parts: [...] }]`), with secrets
 * redacted as in every log line and each text, once redacted, cut to `maxLength` characters. The messages are read as
 * given, before the call validates them, as `redact` reads them (at most 10,000): what is not a message is left out.
 */
export function inputMessagesJson(messages: ReadonlyArray<unknown>, maxLength: number): string {
  // Read once, as a log line reads its fields: a field whose reading throws is "[Unserializable]" (a message whose
  // reading throws altogether is left out), never thrown into the run.
  const copy = redactedList(messages)
  return JSON.stringify(
    copy
      .filter(isMessage)
      .map((message) => ({ role: redactedAndCut(message.role, maxLength), parts: messageParts(message, maxLength) })),
  )
}

/**
 * The model's answers as `gen_ai.output.messages` JSON, redacted and cut like the input: an answer is its text, or the
 * message of a whole chat result, with its reasoning and tool calls.
 */
export function outputMessagesJson(answers: ReadonlyArray<Answer>, maxLength: number): string {
  return JSON.stringify(
    redact(
      answers.map((answer) => ({
        role: 'assistant',
        parts: messageParts({ ...answer.message, role: 'assistant' }, maxLength),
        ...(answer.finishReason === undefined ? {} : { finish_reason: answer.finishReason }),
      })),
    ),
  )
}

/**
 * A message's parts in the conventions' types, in the order the model produced them: its reasoning (the text of each
 * part that has any; a signature or encrypted reasoning is not recorded), its text, then its tool calls — or, for a
 * tool message, the result. Every string recorded is redacted and cut, ids and names as well as texts.
 */
function messageParts(message: ChatMessageLike, maxLength: number): MessagePart[] {
  const parts: MessagePart[] = []
  if (message.role === 'tool') {
    parts.push({
      type: 'tool_call_response',
      id: redactedAndCut(message.toolCallId, maxLength),
      response: redactedAndCut(message.content, maxLength),
    })
  } else {
    for (const part of listOf(message.reasoning)) {
      const text = (part as { text?: unknown } | null)?.text
      if (typeof text === 'string' && text !== '')
        parts.push({ type: 'reasoning', content: redactedAndCut(text, maxLength) })
    }
    if (typeof message.content === 'string') {
      parts.push({ type: 'text', content: redactedAndCut(message.content, maxLength) })
    }
  }
  for (const call of listOf(message.toolCalls)) {
    if (typeof call !== 'object' || call === null) continue
    const { id, name, arguments: args } = call as Record<string, unknown>
    parts.push({
      type: 'tool_call',
      id: redactedAndCut(id, maxLength),
      name: redactedAndCut(name, maxLength),
      arguments: redactedAndCut(args, maxLength),
    })
  }
  return parts
}

/** A field of a redacted copy that should be a list, as a list (an empty one when it is not). */
function listOf(value: unknown): ReadonlyArray<unknown> {
  return Array.isArray(value) ? value : []
}

function isMessage(value: unknown): value is ChatMessageLike {
  return typeof value === 'object' && value !== null && typeof (value as ChatMessageLike).role === 'string'
}

/**
 * The text redacted, then cut to `maxLength` characters: cut first, the part of a key left before the cut could be too
 * short for redaction to recognise (a registered key is found only whole). What is not text is recorded as `''`.
 */
function redactedAndCut(text: unknown, maxLength: number): string {
  if (typeof text !== 'string') return ''
  const safe = redactString(text)
  return safe.length <= maxLength ? safe : `${safe.slice(0, maxLength)}… (${safe.length - maxLength} more characters)`
}
