import { createHash } from 'node:crypto'
import type { ContentBlock, Message, MessageCreateParams, StopReason } from '@anthropic-ai/sdk/resources/messages'
import type { MessageReply } from './scripted-reply.js'

/** Estimates the tokens of a text the way the loopback server reports usage: one per four characters, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

/** A reply with every default filled in, ready to be sent as a message or as stream events. */
export interface ResolvedMessage {
  readonly message: Message
  /** The streamed JSON text of each tool use, by tool use (as scripted when it was a string). */
  readonly toolInputJson: readonly string[]
}

/** Fills in a scripted reply's defaults: ids, thinking signatures, stop sequences, stop reason, estimated usage. */
export function resolveMessage(
  reply: MessageReply,
  request: MessageCreateParams,
  requestIndex: number,
): ResolvedMessage {
  let text = reply.text ?? undefined
  let stopSequence: string | null = null
  const toolUses = reply.toolUses ?? []
  if (text !== undefined && reply.stopReason === undefined && toolUses.length === 0) {
    const found = firstStopSequence(text, request.stop_sequences ?? [])
    if (found !== undefined) {
      text = text.slice(0, found.at)
      stopSequence = found.sequence
    }
  }
  const content: ContentBlock[] = (reply.thinking ?? []).map((block) =>
    typeof block === 'string'
      ? { type: 'thinking', thinking: block, signature: thinkingSignature(block) }
      : { type: 'redacted_thinking', data: block.redactedData },
  )
  if (text !== undefined && (text !== '' || toolUses.length === 0))
    content.push({ type: 'text', text, citations: null })
  const toolInputJson: string[] = []
  for (const [index, toolUse] of toolUses.entries()) {
    const json = typeof toolUse.input === 'string' ? toolUse.input : JSON.stringify(toolUse.input)
    toolInputJson.push(json)
    content.push({
      type: 'tool_use',
      id: toolUse.id ?? `toolu_loopback_${requestIndex}_${index}`,
      name: toolUse.name,
      input: parseOrKeep(json),
      caller: { type: 'direct' },
    })
  }
  const stopReason: StopReason =
    reply.stopReason ?? (toolUses.length > 0 ? 'tool_use' : stopSequence !== null ? 'stop_sequence' : 'end_turn')
  const usage = reply.usage ?? {}
  const message = {
    id: `msg_loopback_${requestIndex}`,
    type: 'message',
    role: 'assistant',
    model: reply.model ?? request.model,
    content,
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: usage.inputTokens ?? estimateTokens(promptText(request)),
      output_tokens:
        usage.outputTokens ?? estimateTokens(thinkingText(content) + (text ?? '') + toolInputJson.join('')),
      cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
      cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
      cache_creation: null,
      inference_geo: null,
      server_tool_use: null,
      service_tier: 'standard',
    },
  } as Message
  return { message, toolInputJson }
}

/**
 * The signature the server gives a thinking block: a digest of its text, so that a block sent back changed (or with
 * another block's signature) is refused, as the API refuses one whose signature does not verify.
 */
export function thinkingSignature(thinking: string): string {
  return `${signaturePrefix}${createHash('sha256').update(thinking).digest('base64')}`
}

/** What every signature this server gives starts with. */
export const signaturePrefix = 'loopback-'

function firstStopSequence(
  text: string,
  sequences: readonly string[],
): { readonly at: number; readonly sequence: string } | undefined {
  let first: { at: number; sequence: string } | undefined
  for (const sequence of sequences) {
    const at = sequence === '' ? -1 : text.indexOf(sequence)
    if (at !== -1 && (first === undefined || at < first.at)) first = { at, sequence }
  }
  return first
}

function parseOrKeep(json: string): unknown {
  try {
    return JSON.parse(json)
  } catch {
    return json
  }
}

/** The text of the thinking blocks, billed as output. */
function thinkingText(content: readonly ContentBlock[]): string {
  return content.map((block) => (block.type === 'thinking' ? block.thinking : '')).join('')
}

/** The request's text, for the input-token estimate. */
export function promptText(request: MessageCreateParams): string {
  const system = request.system
  let text =
    typeof system === 'string' ? system : system === undefined ? '' : system.map((block) => block.text).join('')
  for (const message of request.messages) {
    text += typeof message.content === 'string' ? message.content : JSON.stringify(message.content)
  }
  if (request.tools !== undefined) text += JSON.stringify(request.tools)
  return text
}
