import {
  type ChatChoice,
  type ChatResult,
  type ChatStreamPart,
  type FinishReason,
  incompleteStream,
  malformedResponse,
  type ProviderCallError,
  type ToolCall,
  toAssistantMessage,
} from '@tinyllm/llm'
import { openAIProfile } from './openai-profile.js'
import { isRecord, isToolArgumentsText, nonEmpty, refusedOr, toFinishReason, toUsage } from './openai-response.js'

interface ToolCallState {
  /** Undefined until a delta carries one: a JSON response's tool call needs an id and a name (an empty one will do). */
  id: string | undefined
  name: string | undefined
  arguments: string
}

interface ChoiceState {
  readonly index: number
  content: string
  hasContent: boolean
  /** The model's refusal, from its `refusal` deltas (`null` until one carries text). */
  refusal: string | null
  readonly toolCalls: ToolCallState[]
  finishReason: FinishReason | undefined
  /** The finish reason as the server sent it, for `raw`. */
  serverFinishReason: string | null
  /** The token log probabilities of its deltas (`logprobs: true`), joined, for `raw`; `null` until a chunk has some. */
  logprobs: ChoiceLogprobs | null
}

/** A choice's `logprobs` as a chat completion has it: the entries of its content's tokens and of its refusal's. */
interface ChoiceLogprobs {
  content: unknown[] | null
  refusal: unknown[] | null
}

/**
 * Turns the chunks of a streamed chat completion into tinyllm stream parts (an OpenAI-compatible server's reasoning as
 * `reasoning-delta` parts), and assembles them into the same {@link ChatResult} a non-streamed call returns: text per
 * choice, tool calls by index, finish reasons, the usage of the final chunk (`stream_options.include_usage`; none when
 * no chunk carries usage), and the request id (the header's, else the chunks' `id`). A tool call whose deltas never
 * gave it an id or a name is a malformed response, as it is in a JSON response.
 */
export class ChatStreamAssembler {
  private readonly choices: ChoiceState[] = []
  private readonly requestId: string | undefined
  private usage: unknown
  private model = ''
  private id: unknown
  private created: unknown
  private systemFingerprint: unknown

  constructor(requestId: string | undefined) {
    this.requestId = requestId
  }

  /** The header's request id, else the completion id the chunks carry. */
  private get resultRequestId(): string | undefined {
    return this.requestId ?? nonEmpty(this.id)
  }

  /** Adds one chunk; returns the deltas it carries, in order. */
  add(chunk: unknown): ChatStreamPart[] {
    if (!isRecord(chunk) || !Array.isArray(chunk.choices)) throw this.malformed('a chunk without a `choices` array')
    if (typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    this.id ??= chunk.id
    this.created ??= chunk.created
    this.systemFingerprint ??= chunk.system_fingerprint
    const parts: ChatStreamPart[] = []
    for (const rawChoice of chunk.choices) {
      if (!isRecord(rawChoice) || typeof rawChoice.index !== 'number') throw this.malformed('a choice without an index')
      const choice = this.choice(rawChoice.index)
      const delta = rawChoice.delta
      if (isRecord(delta)) {
        // OpenAI-compatible servers stream a reasoning model's thinking as `reasoning_content` (DeepSeek, vLLM) or
        // `reasoning` (OpenRouter, Ollama): not the answer, and not kept, but the model at work, which an idle timeout
        // must not take for silence.
        const reasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning
        if (typeof reasoning === 'string' && reasoning !== '') {
          parts.push({ type: 'reasoning-delta', choiceIndex: choice.index, text: reasoning })
        }
        const text = delta.content
        // As in a JSON response, content is text or null: anything else would be lost from the answer.
        if (text !== undefined && text !== null && typeof text !== 'string') {
          throw this.malformed(`a content delta of choice ${choice.index} that is not text`)
        }
        if (typeof text === 'string') {
          // An empty first delta still says "this choice has text" (null says it has none), as in a JSON response.
          choice.hasContent = true
          if (text !== '') {
            choice.content += text
            parts.push({ type: 'text-delta', choiceIndex: choice.index, text })
          }
        }
        if (typeof delta.refusal === 'string' && delta.refusal !== '') {
          choice.refusal = (choice.refusal ?? '') + delta.refusal
        }
        const toolCalls = delta.tool_calls
        if (Array.isArray(toolCalls)) {
          for (const rawCall of toolCalls) this.addToolCallDelta(choice, rawCall, parts)
        } else if (toolCalls !== undefined && toolCalls !== null) {
          throw this.malformed(`tool calls of choice ${choice.index} that are not a list`)
        }
      }
      if (isRecord(rawChoice.logprobs)) addLogprobs(choice, rawChoice.logprobs)
      if (typeof rawChoice.finish_reason === 'string') {
        choice.finishReason = toFinishReason(rawChoice.finish_reason)
        choice.serverFinishReason = rawChoice.finish_reason
      }
    }
    return parts
  }

  /**
   * The assembled result. A stream that ended before every choice had a finish reason was cut short (a dropped
   * connection, a proxy's timeout): that is a retryable {@link ProviderCallError}, not a truncated answer.
   */
  finish(): ChatResult {
    if (this.choices.length === 0) throw this.incomplete('the stream ended before any choice arrived')
    const choices: ChatChoice[] = []
    for (const state of this.choices) {
      if (state === undefined) continue
      if (state.finishReason === undefined) {
        throw this.incomplete(`the stream ended before choice ${state.index} finished`)
      }
      const toolCalls: ToolCall[] = []
      for (const call of state.toolCalls) {
        if (call === undefined) continue // an index no delta used
        const { id, name, arguments: args } = call
        if (id === undefined || name === undefined) {
          // A JSON response's tool call without an id or a name is malformed; assembled from deltas, it is too.
          throw this.malformed(`a tool call of choice ${state.index} without ${id === undefined ? 'an id' : 'a name'}`)
        }
        toolCalls.push({ id, name, arguments: args })
      }
      choices.push({
        index: state.index,
        message: toAssistantMessage(state.hasContent ? state.content : null, toolCalls),
        finishReason: refusedOr(state.refusal, state.finishReason),
      })
    }
    const responseId = nonEmpty(this.id)
    const usage = toUsage(this.usage)
    const result: ChatResult = {
      choices,
      ...(usage === undefined ? {} : { usage }),
      model: this.model,
      raw: this.rawCompletion(choices),
      ...(responseId === undefined ? {} : { responseId }),
    }
    const requestId = this.resultRequestId
    return requestId === undefined ? result : { ...result, requestId }
  }

  private choice(index: number): ChoiceState {
    if (!Number.isInteger(index) || index < 0 || index > 1024) throw this.malformed(`a choice index of ${index}`)
    let state = this.choices[index]
    if (state === undefined) {
      state = {
        index,
        content: '',
        hasContent: false,
        refusal: null,
        toolCalls: [],
        finishReason: undefined,
        serverFinishReason: null,
        logprobs: null,
      }
      this.choices[index] = state
    }
    return state
  }

  private addToolCallDelta(choice: ChoiceState, rawCall: unknown, parts: ChatStreamPart[]): void {
    if (!isRecord(rawCall)) throw this.malformed('a tool call delta that is not an object')
    const toolCallIndex = typeof rawCall.index === 'number' ? rawCall.index : choice.toolCalls.length
    if (!Number.isInteger(toolCallIndex) || toolCallIndex < 0 || toolCallIndex > 1024) {
      throw this.malformed(`a tool call index of ${toolCallIndex}`)
    }
    // A function's call, or a custom tool's (its `input` the arguments), as a JSON response's tool calls are read.
    const fn = isRecord(rawCall.function) ? rawCall.function : isRecord(rawCall.custom) ? rawCall.custom : {}
    const args = fn === rawCall.custom ? fn.input : fn.arguments
    // Arguments arrive as pieces of JSON text: anything else would be lost from the assembled call.
    if (!isToolArgumentsText(args)) throw this.malformed('a tool call delta whose arguments are not text')
    const id = typeof rawCall.id === 'string' && rawCall.id !== '' ? rawCall.id : undefined
    const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : undefined
    const argumentsDelta = args ?? ''
    let call = choice.toolCalls[toolCallIndex]
    if (call === undefined) {
      call = { id: undefined, name: undefined, arguments: '' }
      choice.toolCalls[toolCallIndex] = call
    }
    if (typeof rawCall.id === 'string') call.id = id ?? call.id ?? ''
    if (typeof fn.name === 'string') call.name = name ?? call.name ?? ''
    call.arguments += argumentsDelta
    parts.push({
      type: 'tool-call-delta',
      choiceIndex: choice.index,
      toolCallIndex,
      ...(id === undefined ? {} : { id }),
      ...(name === undefined ? {} : { name }),
      argumentsDelta,
    })
  }

  /** The stream as one `chat.completion` object, for `ChatResult.raw`. */
  private rawCompletion(choices: ReadonlyArray<ChatChoice>): Record<string, unknown> {
    const states = this.choices
    return {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      system_fingerprint: this.systemFingerprint,
      choices: choices.map((choice) => ({
        index: choice.index,
        message: {
          role: 'assistant',
          content: choice.message.content,
          refusal: states[choice.index]?.refusal ?? null,
          ...(choice.message.toolCalls === undefined
            ? {}
            : {
                tool_calls: choice.message.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
        },
        logprobs: states[choice.index]?.logprobs ?? null,
        finish_reason: states[choice.index]?.serverFinishReason ?? null,
      })),
      usage: this.usage ?? null,
    }
  }

  private malformed(what: string): ProviderCallError {
    return malformedResponse(openAIProfile, `a stream with ${what}`, { requestId: this.resultRequestId })
  }

  private incomplete(what: string): ProviderCallError {
    return incompleteStream(openAIProfile, what, this.resultRequestId)
  }
}

/**
 * Adds a chunk's log probabilities to its choice's: each chunk carries those of the tokens of its delta, so the whole
 * answer's are every chunk's in order, as a JSON response gives them at once.
 */
function addLogprobs(choice: ChoiceState, logprobs: Record<string, unknown>): void {
  choice.logprobs ??= { content: null, refusal: null }
  const joined = choice.logprobs
  for (const key of ['content', 'refusal'] as const) {
    const entries = logprobs[key]
    if (!Array.isArray(entries)) continue
    joined[key] ??= []
    for (const entry of entries) joined[key].push(entry)
  }
}
