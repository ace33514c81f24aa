import { optionError, unreadableOption } from '@tinyllm/core'
import type { ChatRequest } from './chat-model.js'

/** Per-message framing tokens most chat formats add. */
const tokensPerMessage = 4
const encoder = new TextEncoder()

/**
 * A tokenizer-free estimate of a request's input tokens that is never below the real count: the UTF-8 bytes of every
 * text the request sends (messages, tool calls and the ids that pair them with their results, reasoning sent back,
 * tool definitions, the response format's name, description and schema, the provider options passed through to the
 * body) plus message framing. Byte-level tokenizers (OpenAI's, Anthropic's) never make more tokens than bytes, in any script, so with
 * `maxTokens` set a budget or rate limiter that counts this estimate is never overrun. It overestimates English about
 * fourfold; pass `estimateInputTokens` to LLMCall for an exact tokenizer. Computed only when a budget or a rate limiter
 * needs it.
 */
export function estimateInputTokens(request: ChatRequest): number {
  let estimate: number
  try {
    if (typeof request !== 'object' || request === null || !Array.isArray(request.messages))
      throw optionError('request', 'a chat request { messages, … }', request, owner)
    estimate = countTokens(request)
  } catch (error) {
    throw unreadableOption(error, 'request', owner)
  }
  // Text that is not a string (a number as a tool call id) counts as NaN: not a request LLMCall would send.
  if (!Number.isFinite(estimate)) throw optionError('request', 'a chat request whose texts are strings', request, owner)
  return estimate
}

const owner = 'estimateInputTokens'

function countTokens(request: ChatRequest): number {
  let bytes = 0
  let messages = 0
  for (const message of request.messages) {
    messages += 1
    // No text (an assistant's `null` beside its tool calls) counts nothing; text that is no string is no request.
    const content: unknown = message.content
    if (content !== null && content !== undefined)
      bytes += typeof content === 'string' ? utf8Length(content) : Number.NaN
    if (message.role === 'tool') bytes += utf8Length(message.toolCallId)
    if (message.role === 'assistant' && message.toolCalls !== undefined) {
      for (const call of message.toolCalls) {
        bytes += utf8Length(call.id) + utf8Length(call.name) + utf8Length(call.arguments)
      }
    }
    if (message.role === 'assistant' && message.reasoning !== undefined) {
      // Sent back whole (its signature or encrypted data too); a provider that bills less of it is still under this.
      for (const part of message.reasoning) {
        bytes += utf8Length(part.text) + utf8Length(part.signature ?? '') + utf8Length(part.redactedData ?? '')
      }
    }
  }
  if (request.tools !== undefined) {
    for (const tool of request.tools) {
      bytes += utf8Length(tool.name) + utf8Length(tool.description ?? '') + jsonLength(tool.parameters)
    }
  }
  // The whole format: its name and description are sent with the schema.
  if (request.responseFormat?.type === 'json_schema') bytes += jsonLength(request.responseFormat)
  // Passed through to the body as they are, so they may carry input (Anthropic's `system`, say).
  if (request.providerOptions !== undefined) bytes += jsonLength(request.providerOptions)
  return bytes + messages * tokensPerMessage + 3
}

function utf8Length(text: string): number {
  // ASCII is one byte a character: skip the encoder for the common case.
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) return encoder.encode(text).length
  }
  return text.length
}

function jsonLength(value: unknown): number {
  try {
    return utf8Length(JSON.stringify(value) ?? '')
  } catch {
    return 0
  }
}
