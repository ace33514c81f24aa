import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import type { SseEvent } from '@tinyllm/testing'
import { splitText, sseEvent } from '@tinyllm/testing'
import type { ResolvedMessage } from './resolved-message.js'

/** How a message is cut into stream events. */
export interface MessageEventOptions {
  /** Characters per text or tool-input delta; by default text goes word by word, tool input 8 characters at a time. */
  readonly chunkChars?: number | undefined
}

/**
 * Renders a message as the named server-sent events of a Messages API stream, in Anthropic's order:
 * `message_start` (empty content, input usage), a `ping`, per content block `content_block_start`, its deltas (a
 * thinking block's text, then its signature) and
 * `content_block_stop`, then `message_delta` (stop reason, output usage) and `message_stop`.
 */
export function* toMessageEvents(resolved: ResolvedMessage, options: MessageEventOptions = {}): Generator<SseEvent> {
  const message = resolved.message
  const event = (data: RawMessageStreamEvent | { type: 'ping' }): SseEvent => sseEvent({ event: data.type, data })
  const startMessage: Message = {
    ...message,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { ...message.usage, output_tokens: 1 },
  }
  yield event({ type: 'message_start', message: startMessage })
  yield event({ type: 'ping' })
  let toolUseIndex = 0
  for (const [index, block] of message.content.entries()) {
    if (block.type === 'text') {
      yield event({ type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } })
      for (const piece of splitText(block.text, options.chunkChars, true)) {
        yield event({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } })
      }
    } else if (block.type === 'thinking') {
      // As the API streams it: the block starts empty, its text comes in deltas and its signature in one at the end.
      yield event({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '' } as never })
      for (const piece of splitText(block.thinking, options.chunkChars, true)) {
        yield event({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } })
      }
      yield event({
        type: 'content_block_delta',
        index,
        delta: { type: 'signature_delta', signature: block.signature },
      })
    } else if (block.type === 'tool_use') {
      const json = resolved.toolInputJson[toolUseIndex++] ?? JSON.stringify(block.input)
      yield event({ type: 'content_block_start', index, content_block: { ...block, input: {} } })
      for (const piece of splitText(json, options.chunkChars ?? 8, false)) {
        yield event({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } })
      }
    } else {
      yield event({ type: 'content_block_start', index, content_block: block })
    }
    yield event({ type: 'content_block_stop', index })
  }
  const usage = message.usage
  yield event({
    type: 'message_delta',
    delta: {
      stop_reason: message.stop_reason,
      stop_sequence: message.stop_sequence,
      stop_details: null,
      container: null,
    },
    usage: {
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      output_tokens_details: null,
      server_tool_use: null,
    },
  } as RawMessageStreamEvent)
  yield event({ type: 'message_stop' })
}
