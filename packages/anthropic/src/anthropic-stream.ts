import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import {
  type ChatResult,
  type ChatStreamPart,
  incompleteStream,
  malformedResponse,
  type ProviderCallError,
} from '@tinyllm/llm'
import { anthropicProfile } from './anthropic-profile.js'
import type { AnthropicTokenCounts } from './anthropic-response.js'
import { assertMessage, blockProblem, toChatResult } from './anthropic-response.js'

type ContentBlock = Message['content'][number]

interface TextInProgress {
  readonly kind: 'text'
  text: string
}

interface ThinkingInProgress {
  readonly kind: 'thinking'
  thinking: string
  signature: string | undefined
}

/** A `redacted_thinking` block, which comes whole in its `content_block_start`. */
interface RedactedThinking {
  readonly kind: 'redacted_thinking'
  readonly data: string
}

interface ToolCallInProgress {
  readonly kind: 'tool_use'
  readonly id: string
  readonly name: string
  readonly initialInput: unknown
  arguments: string
}

type AssembledBlock = TextInProgress | ThinkingInProgress | RedactedThinking | ToolCallInProgress

/** `a` or `an`, as the name of a delta type reads. */
function article(name: string): string {
  return /^[aeiou]/.test(name) ? 'an' : 'a'
}

/**
 * Turns the events of a streamed Messages API response into stream parts, and assembles them into the result the
 * same call would have returned without streaming.
 */
export class MessageStreamAssembler {
  #message: Message | undefined
  #stopped = false
  #usage: AnthropicTokenCounts = {}
  #stopReason: Message['stop_reason'] = null
  #stopSequence: string | null = null
  /** Content blocks by their stream index (blocks of other kinds leave holes); tool calls also in their own order. */
  readonly #blocks: Array<AssembledBlock | undefined> = []
  /** The indexes of every block started, of any kind. */
  readonly #started = new Set<number>()
  readonly #toolCalls: ToolCallInProgress[] = []
  readonly #toolCallIndexOf = new Map<number, number>()
  readonly #requestId: string | undefined

  constructor(requestId: string | undefined) {
    this.#requestId = requestId
  }

  /**
   * Reads one event; returns the parts it produces (often none). An event it cannot read (no type, a block or delta
   * that is not an object, text that is not a string) is a retryable `malformed_response` ProviderCallError. Events
   * after `message_stop` are not part of the message: they are ignored, as an OpenAI stream's data after `[DONE]` is.
   * A second `message_start`, or a block or message event before the first, is malformed too.
   */
  add(event: RawMessageStreamEvent): ChatStreamPart[] {
    if (this.#stopped) return []
    const problem = eventProblem(event)
    if (problem !== undefined) {
      throw this.#malformed(`a ${typeof event?.type === 'string' ? `${event.type} ` : ''}event ${problem}`)
    }
    if (event.type === 'message_start') {
      // One stream carries one message: a second start would be read as the first one's, its usage replacing theirs.
      if (this.#message !== undefined) throw this.#malformed('a second message_start')
    } else if (this.#message === undefined && messageEvents.has(event.type)) {
      // What comes before the message starts belongs to no message: streamed, it could be nothing but lost or wrong.
      throw this.#malformed(`${article(event.type)} ${event.type} before message_start`)
    }
    switch (event.type) {
      case 'message_start':
        assertMessage(event.message, undefined)
        this.#message = event.message
        this.#usage = { ...event.message.usage }
        return []
      case 'content_block_start':
        if (this.#started.has(event.index)) throw this.#malformed(`block ${event.index} started twice`)
        this.#started.add(event.index)
        return this.#startBlock(event.index, event.content_block)
      case 'content_block_delta': {
        const delta = event.delta
        if (delta.type === 'text_delta') {
          const block = this.#deltaTarget(event.index, delta.type, 'text')
          if (delta.text === '' || block === undefined) return []
          block.text += delta.text
          return [{ type: 'text-delta', choiceIndex: 0, text: delta.text }]
        }
        if (delta.type === 'input_json_delta') {
          const call = this.#deltaTarget(event.index, delta.type, 'tool_use')
          const toolCallIndex = this.#toolCallIndexOf.get(event.index)
          if (call === undefined || toolCallIndex === undefined) return []
          call.arguments += delta.partial_json
          return [{ type: 'tool-call-delta', choiceIndex: 0, toolCallIndex, argumentsDelta: delta.partial_json }]
        }
        if (delta.type === 'thinking_delta' || delta.type === 'signature_delta') {
          // Reasoning goes into the assembled message, to be sent back; its text is streamed too, as the model's work.
          const block = this.#deltaTarget(event.index, delta.type, 'thinking')
          if (block === undefined) return []
          if (delta.type === 'signature_delta') {
            block.signature = (block.signature ?? '') + delta.signature
            return []
          }
          block.thinking += delta.thinking
          return delta.thinking === '' ? [] : [{ type: 'reasoning-delta', choiceIndex: 0, text: delta.thinking }]
        }
        // Citation deltas are not part of the specification; they still belong to a block that started.
        if (!this.#started.has(event.index)) throw this.#deltaWithoutBlock(event.index, delta.type)
        return []
      }
      case 'message_delta':
        this.#stopReason = event.delta.stop_reason
        this.#stopSequence = event.delta.stop_sequence
        // A figure left out (or null) keeps message_start's; one that is there is kept as sent, a string too, so that
        // LLMCall refuses it as usage that is not a count rather than counting message_start's 1 output token.
        for (const key of tokenCountKeys) {
          const value: unknown = event.usage?.[key]
          if (value !== undefined && value !== null) (this.#usage as Record<string, unknown>)[key] = value
        }
        return []
      case 'message_stop':
        this.#stopped = true
        return []
      default:
        return []
    }
  }

  /** Whether `message_stop` arrived: the message is whole, whatever the server sends (or holds back) after it. */
  get ended(): boolean {
    return this.#stopped
  }

  /** The assembled result; throws a retryable `incomplete_stream` ProviderCallError when the stream ended early. */
  finish(): ChatResult {
    const requestId = this.#requestId
    const start = this.#message
    if (start === undefined || !this.#stopped) {
      const missing = start === undefined ? 'message_start' : 'message_stop'
      throw incompleteStream(anthropicProfile, `the stream ended before ${missing}`, requestId)
    }
    const content: ContentBlock[] = []
    for (const block of this.#blocks) {
      if (block === undefined) continue
      if (block.kind === 'tool_use') {
        content.push({
          type: 'tool_use',
          id: block.id,
          name: block.name,
          input: toolInput(block),
          caller: { type: 'direct' },
        } as ContentBlock)
      } else if (block.kind === 'thinking') {
        content.push({ type: 'thinking', thinking: block.thinking, signature: block.signature } as ContentBlock)
      } else if (block.kind === 'redacted_thinking') {
        content.push({ type: 'redacted_thinking', data: block.data })
      } else {
        content.push({ type: 'text', text: block.text, citations: null })
      }
    }
    const message: Message = {
      ...start,
      content,
      stop_reason: this.#stopReason,
      stop_sequence: this.#stopSequence,
      usage: { ...start.usage, ...this.#usage },
    }
    return toChatResult(message, requestId)
  }

  /**
   * The block a delta of `deltaType` adds to, when it is one of `kind`; `undefined` for a block of a kind the
   * specification does not read (a server tool's, whose deltas are left alone). A delta for a block that never started,
   * or for one of another kind, would be lost from the answer: the stream is malformed.
   */
  #deltaTarget<Kind extends AssembledBlock['kind']>(
    index: number,
    deltaType: string,
    kind: Kind,
  ): Extract<AssembledBlock, { kind: Kind }> | undefined {
    if (!this.#started.has(index)) throw this.#deltaWithoutBlock(index, deltaType)
    const block = this.#blocks[index]
    if (block === undefined) return undefined
    if (block.kind !== kind)
      throw this.#malformed(`${article(deltaType)} ${deltaType} for block ${index}, a ${block.kind} block`)
    return block as Extract<AssembledBlock, { kind: Kind }>
  }

  #deltaWithoutBlock(index: number, deltaType: unknown): ProviderCallError {
    const type = typeof deltaType === 'string' ? deltaType : 'content_block_delta'
    return this.#malformed(`${article(type)} ${type} for block ${index}, which never started`)
  }

  #malformed(what: string): ProviderCallError {
    return malformedResponse(anthropicProfile, `a stream with ${what}`, { requestId: this.#requestId })
  }

  #startBlock(index: number, block: ContentBlock): ChatStreamPart[] {
    if (block.type === 'text') {
      this.#blocks[index] = { kind: 'text', text: block.text }
      return block.text === '' ? [] : [{ type: 'text-delta', choiceIndex: 0, text: block.text }]
    }
    if (block.type === 'thinking') {
      this.#blocks[index] = { kind: 'thinking', thinking: block.thinking, signature: block.signature ?? undefined }
      return block.thinking === '' ? [] : [{ type: 'reasoning-delta', choiceIndex: 0, text: block.thinking }]
    }
    if (block.type === 'redacted_thinking') {
      this.#blocks[index] = { kind: 'redacted_thinking', data: block.data }
      return []
    }
    if (block.type === 'tool_use') {
      const call: ToolCallInProgress = {
        kind: 'tool_use',
        id: block.id,
        name: block.name,
        initialInput: block.input,
        arguments: '',
      }
      const toolCallIndex = this.#toolCalls.push(call) - 1
      this.#toolCallIndexOf.set(index, toolCallIndex)
      this.#blocks[index] = call
      return [
        { type: 'tool-call-delta', choiceIndex: 0, toolCallIndex, id: block.id, name: block.name, argumentsDelta: '' },
      ]
    }
    return []
  }
}

/** The events that belong to a started message (a `ping` or an event of a type not read may come at any time). */
const messageEvents: ReadonlySet<string> = new Set([
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
])

/** Most content blocks one message is believed to hold: a block index past it is not a real one. */
const maxBlockIndex = 1024

/** The token counts a `message_delta`'s usage updates. */
const tokenCountKeys = [
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
] as const satisfies ReadonlyArray<keyof AnthropicTokenCounts>

/** What makes a stream event unreadable, or `undefined`. Events of types it does not read are left alone. */
function eventProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return 'that is not an object'
  const { type, index, content_block: block, delta, usage } = event as Record<string, unknown>
  if (typeof type !== 'string') return 'without a type'
  if (type === 'content_block_start' || type === 'content_block_delta') {
    if (!(Number.isInteger(index) && (index as number) >= 0 && (index as number) <= maxBlockIndex)) {
      return `with a block index of ${String(index)}`
    }
  }
  if (type === 'content_block_start') {
    const problem = blockProblem(block)
    return problem === undefined ? undefined : `whose content block ${problem}`
  }
  if (type === 'content_block_delta' || type === 'message_delta') {
    if (typeof delta !== 'object' || delta === null) return 'without a delta'
  }
  if (type === 'content_block_delta') {
    const { type: kind, text, partial_json: json } = delta as Record<string, unknown>
    if (kind === 'text_delta' && typeof text !== 'string') return 'whose text is not a string'
    if (kind === 'input_json_delta' && typeof json !== 'string') return 'whose partial_json is not a string'
    const { thinking, signature } = delta as Record<string, unknown>
    if (kind === 'thinking_delta' && typeof thinking !== 'string') return 'whose thinking is not a string'
    if (kind === 'signature_delta' && typeof signature !== 'string') return 'whose signature is not a string'
  }
  if (type === 'message_delta' && usage !== undefined && (typeof usage !== 'object' || Array.isArray(usage))) {
    return 'whose usage is not an object'
  }
  return undefined
}

/**
 * The tool input as the non-streamed response would carry it: the streamed JSON parsed (or the block's own input when
 * no JSON was streamed). Text that is not JSON stays text, which `toChatResult` passes on as the arguments unchanged.
 */
function toolInput(call: ToolCallInProgress): unknown {
  if (call.arguments.trim() === '') return call.initialInput ?? {}
  try {
    return JSON.parse(call.arguments)
  } catch {
    // Not JSON after all: keep the text, so the caller's validation names what the model produced.
    return call.arguments
  }
}
