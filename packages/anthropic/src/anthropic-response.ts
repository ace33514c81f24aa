import type { Usage as AnthropicUsage, Message, StopReason } from '@anthropic-ai/sdk/resources/messages'
import type { Usage } from '@tinyllm/core'
import {
  type ChatResult,
  type FinishReason,
  malformedResponse,
  type ReasoningPart,
  type ToolCall,
  toAssistantMessage,
} from '@tinyllm/llm'
import { anthropicProfile } from './anthropic-profile.js'

/** Anthropic's stop reasons in the specification's terms. */
export function toFinishReason(stopReason: StopReason | null | undefined): FinishReason {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop'
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length'
    case 'tool_use':
      return 'tool_calls'
    case 'refusal':
      return 'content_filter'
    default:
      return 'other'
  }
}

/** The token counts Anthropic reports, as far as a response or a stream event carries them. */
export type AnthropicTokenCounts = Partial<
  Pick<AnthropicUsage, 'input_tokens' | 'output_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens'>
>

/**
 * Anthropic counts prompt tokens written to and read from the prompt cache apart from `input_tokens`; the
 * specification's `inputTokens` is the whole prompt, so they are added in. `undefined` when the answer carries no
 * figure at all (a compatible server without `usage`), so that the call is counted from its estimate, not as 0 tokens.
 */
export function toUsage(usage: AnthropicTokenCounts | null | undefined): Usage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined
  const { input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens } = usage
  if ([input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens].every(absent))
    return undefined
  const inputTokens = sum(input_tokens, cache_creation_input_tokens, cache_read_input_tokens)
  const outputTokens = sum(output_tokens)
  return { inputTokens, outputTokens, totalTokens: sum(inputTokens, outputTokens) }
}

/** Whether the server left a figure out. */
function absent(figure: number | null | undefined): boolean {
  return figure === undefined || figure === null
}

/**
 * The sum of the figures the server sent (absent ones count 0). A figure that is not a number is returned as it is, not
 * added (`'5' + 0` would read `'50'`): LLMCall refuses usage that is not token counts as a malformed response.
 */
function sum(...figures: ReadonlyArray<number | null | undefined>): number {
  let total = 0
  for (const figure of figures) {
    if (figure === undefined || figure === null) continue
    if (typeof figure !== 'number') return figure
    total += figure
  }
  return total
}

/**
 * A Messages API response as one choice: text blocks joined, `tool_use` blocks as tool calls with JSON arguments,
 * `thinking` and `redacted_thinking` blocks as the message's reasoning, in order. The request id is the header's, else
 * the message's own `id`.
 */
export function toChatResult(message: Message, requestIdHeader: string | undefined): ChatResult {
  assertMessage(message, requestIdHeader)
  const requestId = requestIdHeader ?? (typeof message.id === 'string' && message.id !== '' ? message.id : undefined)
  let text = ''
  let hasText = false
  const toolCalls: ToolCall[] = []
  const reasoning: ReasoningPart[] = []
  const provider = anthropicProfile.provider
  for (const block of message.content) {
    if (block.type === 'thinking') {
      // A stream that brought no signature leaves none (a compatible server may send `null`): nothing to send back.
      const signature = block.signature as string | null | undefined
      reasoning.push({ text: block.thinking, provider, ...(typeof signature === 'string' ? { signature } : {}) })
    } else if (block.type === 'redacted_thinking') {
      reasoning.push({ text: '', provider, redactedData: block.data })
    } else if (block.type === 'text') {
      text += block.text
      hasText = true
    } else if (block.type === 'tool_use') {
      // A string input only comes from a stream whose tool JSON did not parse: pass the model's text on as it is.
      const input = block.input ?? {}
      toolCalls.push({
        id: block.id,
        name: block.name,
        arguments: typeof input === 'string' ? input : JSON.stringify(input),
      })
    }
  }
  const usage = toUsage(message.usage)
  return {
    choices: [
      {
        index: 0,
        message: toAssistantMessage(hasText ? text : null, toolCalls, reasoning),
        finishReason: toFinishReason(message.stop_reason),
      },
    ],
    ...(usage === undefined ? {} : { usage }),
    model: message.model,
    ...(requestId === undefined ? {} : { requestId }),
    ...(typeof message.id === 'string' && message.id !== '' ? { responseId: message.id } : {}),
    raw: message,
  }
}

/** A 200 answer that is JSON but not a message (a proxy's page, a wrong endpoint) fails like a malformed body. */
export function assertMessage(message: unknown, requestId: string | undefined): asserts message is Message {
  const candidate = message as Partial<Message> | null
  if (typeof candidate !== 'object' || candidate === null || !Array.isArray(candidate.content)) {
    throw malformedResponse(anthropicProfile, 'the body is not a message (no content array)', { requestId })
  }
  for (const [index, block] of candidate.content.entries()) {
    const problem = blockProblem(block)
    if (problem !== undefined) {
      throw malformedResponse(anthropicProfile, `content block ${index} ${problem}`, { requestId })
    }
  }
}

/**
 * What makes a content block unreadable, or `undefined`: every block is an object with a `type`, a text block has text,
 * a tool call its id and name, a thinking block its thinking (and a string signature, if any), a redacted one its data. (Blocks of other
 * types are not read.)
 */
export function blockProblem(block: unknown): string | undefined {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) return 'is not an object'
  const { type, text, id, name, thinking, signature, data } = block as Record<string, unknown>
  if (typeof type !== 'string') return 'has no type'
  if (type === 'text' && typeof text !== 'string') return 'is a text block without text'
  // Sent back to the API as they came. A stream starts a thinking block without its signature, which a delta brings.
  if (type === 'thinking' && typeof thinking !== 'string') return 'is a thinking block without thinking'
  if (type === 'thinking' && signature !== undefined && signature !== null && typeof signature !== 'string') {
    return 'is a thinking block whose signature is not a string'
  }
  if (type === 'redacted_thinking' && typeof data !== 'string') return 'is a redacted_thinking block without data'
  if (type === 'tool_use' && (typeof id !== 'string' || typeof name !== 'string')) {
    return 'is a tool_use block without a string id and name'
  }
  return undefined
}
