import {
  AbortError,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  isPromiseLike,
  optionError,
  sleep,
  unreadableOption,
} from '@tinyllm/core'
import type {
  AssistantMessage,
  ChatCallOptions,
  ChatModel,
  ChatRequest,
  ChatResult,
  ChatStreamPart,
  FinishReason,
  ReasoningPart,
  ToolCall,
} from '../chat-model.js'
import { isError } from '../is-error.js'
import { toolCallDeltas } from '../llm-stream.js'
import { callSignal, readCallOptions } from '../provider/call-cancellation.js'
import { ProviderCallError } from '../provider-errors.js'

/** A scripted answer: plain text, a full reply, an Error to throw, or a function of the request. */
export type ScriptedReply =
  | string
  | {
      readonly content?: string | null
      readonly toolCalls?: ReadonlyArray<Omit<ToolCall, 'id'> & { readonly id?: string }>
      /** The first choice's reasoning, as a provider that needs it back (Anthropic with thinking on) returns it. */
      readonly reasoning?: ReadonlyArray<ReasoningPart>
      readonly finishReason?: FinishReason
      /** Token counts to report instead of the estimate; `null` reports none, as a server that sends no usage. */
      readonly usage?: { readonly inputTokens: number; readonly outputTokens: number } | null
      /** Extra choices for `n > 1` requests; the first reply is choice 0. */
      readonly choices?: ReadonlyArray<string>
    }
  | Error

/** Produces the reply for a call from the request and the call's index (from 0). */
export type ScriptedResponder = (request: ChatRequest, callIndex: number) => ScriptedReply | Promise<ScriptedReply>

/** Options of {@link ScriptedChatModel}. */
export interface ScriptedChatModelOptions {
  /** Replies consumed in order, or a function producing each reply. More can be queued with `enqueue`. */
  readonly responses?: ReadonlyArray<ScriptedReply | ScriptedResponder> | ScriptedResponder
  /** What to do when the list runs out: throw (default) or repeat the last reply. */
  readonly whenExhausted?: 'throw' | 'repeat-last'
  readonly modelId?: string
  /** Delay before each reply, in ms (honours the abort signal). */
  readonly latencyMs?: number
}

const owner = 'ScriptedChatModel'
const optionKeys: ReadonlySet<string> = new Set(
  Object.keys({
    responses: true,
    whenExhausted: true,
    modelId: true,
    latencyMs: true,
  } satisfies Record<keyof ScriptedChatModelOptions, true>),
)

const exhaustedModes = ['throw', 'repeat-last'] as const

/** The scripted replies of the `responses` list, checked one by one (a hole is not a reply). */
function checkReplies(responses: unknown): Array<ScriptedReply | ScriptedResponder> {
  if (responses === undefined) return []
  if (!Array.isArray(responses)) {
    throw optionError('responses', 'a list of replies or a function producing each reply', responses, owner)
  }
  const replies: Array<ScriptedReply | ScriptedResponder> = []
  for (let index = 0; index < responses.length; index++)
    replies.push(checkReply(responses[index], `responses[${index}]`))
  return replies
}

const replyKeys: ReadonlySet<string> = new Set(
  Object.keys({
    content: true,
    toolCalls: true,
    reasoning: true,
    finishReason: true,
    usage: true,
    choices: true,
  } satisfies Record<keyof Exclude<ScriptedReply, string | Error>, true>),
)
const usageKeys: ReadonlySet<string> = new Set(['inputTokens', 'outputTokens'])
const finishReasons = ['stop', 'length', 'tool_calls', 'content_filter', 'error', 'other'] as const

/**
 * `reply` when it is one — a string, an Error, a `{ content, toolCalls, reasoning, finishReason, usage, choices }` whose fields
 * have their types, or (where a responder may stand) a function — else a ConfigurationError naming `where` and what is
 * wrong, with a suggestion for a misspelt key. What a responder returns is checked the same way when it is used. A reply
 * object is read once, into the plain copy that is answered: one whose reading throws (a getter, a Proxy) is a
 * ConfigurationError too, and a getter cannot answer one value to the check and another to the answer.
 */
function checkReply(reply: unknown, where: string, responder = true): ScriptedReply | ScriptedResponder {
  try {
    return readReply(reply, where, responder)
  } catch (error) {
    throw unreadableOption(error, where, owner)
  }
}

function readReply(reply: unknown, where: string, responder: boolean): ScriptedReply | ScriptedResponder {
  if (typeof reply === 'string' || isError(reply) || (responder && typeof reply === 'function')) {
    return reply as ScriptedReply | ScriptedResponder
  }
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) {
    const kinds = responder ? 'a string, an object, an Error or a function' : 'a string, an object or an Error'
    throw optionError(where, `a reply (${kinds})`, reply, owner)
  }
  checkKnownOptions(reply, replyKeys, owner)
  const { content, toolCalls, reasoning, finishReason, usage, choices } = reply as Record<string, unknown>
  const checked: Record<string, unknown> = {}
  if (content !== undefined && content !== null && typeof content !== 'string') {
    throw optionError(`${where}.content`, 'a string or null', content, owner)
  }
  if (content !== undefined) checked.content = content
  if (toolCalls !== undefined) {
    const calls = Array.isArray(toolCalls) ? copyEntries(toolCalls, readToolCall) : undefined
    if (calls === undefined) {
      throw optionError(`${where}.toolCalls`, 'a list of { id?, name, arguments } of strings', toolCalls, owner)
    }
    checked.toolCalls = calls
  }
  if (reasoning !== undefined) {
    const parts = Array.isArray(reasoning) ? copyEntries(reasoning, readReasoningPart) : undefined
    if (parts === undefined) {
      throw optionError(
        `${where}.reasoning`,
        'a list of { text, provider, signature?, redactedData? } of strings',
        reasoning,
        owner,
      )
    }
    checked.reasoning = parts
  }
  const finish = checkOneOf(finishReason, `${where}.finishReason`, finishReasons, owner)
  if (finish !== undefined) checked.finishReason = finish
  if (usage === null) checked.usage = null
  else if (usage !== undefined) {
    if (typeof usage !== 'object' || Array.isArray(usage)) {
      throw optionError(`${where}.usage`, 'an object { inputTokens, outputTokens } or null', usage, owner)
    }
    checkKnownOptions(usage, usageKeys, owner)
    const counts: Record<string, number> = {}
    for (const key of usageKeys) {
      const count = (usage as Record<string, unknown>)[key]
      const checkedCount = checkNumber(count, `${where}.usage.${key}`, { integer: true, min: 0, unit: 'tokens' }, owner)
      if (checkedCount !== undefined) counts[key] = checkedCount
    }
    checked.usage = counts
  }
  if (choices !== undefined) {
    const texts = Array.isArray(choices)
      ? copyEntries(choices, (text) => (typeof text === 'string' ? text : undefined))
      : undefined
    if (texts === undefined) throw optionError(`${where}.choices`, 'a list of strings', choices, owner)
    checked.choices = texts
  }
  return checked as ScriptedReply
}

/**
 * The entries of `list`, each read once through `read`, or `undefined` when one is not accepted: a hole reads as
 * `undefined`, where `map` would skip it (and a sparse list would go on with a tool call or a choice missing).
 */
function copyEntries<Entry>(
  list: ReadonlyArray<unknown>,
  read: (entry: unknown) => Entry | undefined,
): Entry[] | undefined {
  const copy: Entry[] = []
  for (let index = 0; index < list.length; index++) {
    const entry = read(list[index])
    if (entry === undefined) return undefined
    copy.push(entry)
  }
  return copy
}

function readReasoningPart(part: unknown): ReasoningPart | undefined {
  if (typeof part !== 'object' || part === null) return undefined
  const { text, provider, signature, redactedData } = part as Record<string, unknown>
  if (
    typeof text !== 'string' ||
    typeof provider !== 'string' ||
    !(signature === undefined || typeof signature === 'string') ||
    !(redactedData === undefined || typeof redactedData === 'string')
  )
    return undefined
  return {
    text,
    provider,
    ...(signature === undefined ? {} : { signature }),
    ...(redactedData === undefined ? {} : { redactedData }),
  }
}

function readToolCall(call: unknown): (Omit<ToolCall, 'id'> & { readonly id?: string }) | undefined {
  if (typeof call !== 'object' || call === null) return undefined
  const { id, name, arguments: args } = call as Record<string, unknown>
  if (!(id === undefined || typeof id === 'string') || typeof name !== 'string' || typeof args !== 'string')
    return undefined
  return id === undefined ? { name, arguments: args } : { id, name, arguments: args }
}

const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4))

/**
 * A chat model that answers from a script and records every request it received — for tests and examples of code
 * that calls models, with no network.
 *
 * @example
 * const model = new ScriptedChatModel({ responses: ['bad', 'good'] })
 * await model.doGenerate({ messages: [{ role: 'user', content: 'classify' }] }) // choice 0: 'bad'
 * model.calls.length // 1
 */
export class ScriptedChatModel implements ChatModel {
  readonly specificationVersion = 'v1' as const
  readonly provider = 'scripted'
  readonly modelId: string
  /** Every request received, in order. */
  readonly calls: ChatRequest[] = []
  private readonly queue: Array<ScriptedReply | ScriptedResponder>
  private readonly responder: ScriptedResponder | undefined
  private readonly whenExhausted: 'throw' | 'repeat-last'
  private readonly latencyMs: number
  private last: ScriptedReply | ScriptedResponder | undefined

  constructor(options: ScriptedChatModelOptions = {}) {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
    try {
      checkKnownOptions(options, optionKeys, owner)
      const modelId = options.modelId
      if (modelId !== undefined && typeof modelId !== 'string') throw optionError('modelId', 'a string', modelId, owner)
      this.modelId = modelId ?? 'scripted-model'
      const responses = options.responses
      this.responder = typeof responses === 'function' ? responses : undefined
      this.queue = typeof responses === 'function' ? [] : checkReplies(responses)
      this.whenExhausted = checkOneOf(options.whenExhausted, 'whenExhausted', exhaustedModes, owner) ?? 'throw'
      this.latencyMs = checkNumber(options.latencyMs, 'latencyMs', { min: 0, unit: 'ms' }, owner) ?? 0
    } catch (error) {
      // Options whose reading throws (a getter, a Proxy) are bad options too.
      throw unreadableOption(error, 'options', owner)
    }
  }

  /** Queues replies for the next calls; one that is not a reply is a ConfigurationError, as in `responses`. */
  enqueue(...replies: Array<ScriptedReply | ScriptedResponder>): this {
    this.queue.push(...replies.map((reply, index) => checkReply(reply, `replies[${index}]`)))
    return this
  }

  async doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    const signal = callSignal(readCallOptions(options, owner))
    const callIndex = this.calls.length
    this.calls.push(request)
    if (signal?.aborted) throw new AbortError({ reason: signal.reason })
    if (this.latencyMs > 0) await sleep(this.latencyMs, signal)
    const reply = await this.nextReply(request, callIndex)
    if (isError(reply)) throw reply
    return this.toResult(request, reply, callIndex)
  }

  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const signal = callSignal(readCallOptions(options, owner))
    const result = await this.doGenerate(request, signal === undefined ? undefined : { signal })
    for (const part of streamParts(result)) {
      // Checked before every part, the finish part included: a call aborted mid-stream never ends with its result.
      if (signal?.aborted) throw new AbortError({ reason: signal.reason })
      yield part
    }
  }

  private async nextReply(request: ChatRequest, callIndex: number): Promise<ScriptedReply> {
    let entry: ScriptedReply | ScriptedResponder | undefined
    if (this.responder !== undefined && this.queue.length === 0) entry = this.responder
    else if (this.queue.length > 0) entry = this.queue.shift()
    else if (this.whenExhausted === 'repeat-last') entry = this.last
    if (entry === undefined) {
      throw new ProviderCallError({
        provider: this.provider,
        message: `ScriptedChatModel: no scripted reply left for call #${callIndex + 1} (${this.calls.length} calls received)`,
        retryable: false,
      })
    }
    this.last = entry
    if (typeof entry !== 'function') return entry
    const where = `the reply to call #${callIndex + 1}`
    const answered = entry(request, callIndex)
    // Whether the answer is a promise is asked once, here: one that cannot be asked (a revoked Proxy) is no reply.
    let pending: boolean
    try {
      pending = isPromiseLike(answered)
    } catch (error) {
      throw unreadableOption(error, where, owner)
    }
    return checkReply(pending ? await answered : answered, where, false) as ScriptedReply
  }

  private toResult(request: ChatRequest, reply: Exclude<ScriptedReply, Error>, callIndex: number): ChatResult {
    const first = typeof reply === 'string' ? { content: reply } : reply
    const texts = [first.content ?? null, ...(typeof reply === 'string' ? [] : (reply.choices ?? []))]
    const n = request.n ?? 1
    while (texts.length < n) texts.push(texts[0] ?? null)
    const choices = texts.slice(0, Math.max(n, 1)).map((content, index) => {
      const toolCalls =
        index === 0 && first.toolCalls !== undefined
          ? first.toolCalls.map((call, callIndex) => ({
              id: call.id ?? `call_${callIndex + 1}`,
              name: call.name,
              arguments: call.arguments,
            }))
          : undefined
      const finishReason: FinishReason = first.finishReason ?? (toolCalls !== undefined ? 'tool_calls' : 'stop')
      const message: AssistantMessage =
        toolCalls === undefined ? { role: 'assistant', content } : { role: 'assistant', content, toolCalls }
      const reasoning = index === 0 ? first.reasoning : undefined
      return { index, message: reasoning === undefined ? message : { ...message, reasoning }, finishReason }
    })
    const promptText = request.messages.map((message) => message.content ?? '').join('\n')
    const inputTokens = first.usage?.inputTokens ?? estimateTokens(promptText)
    const outputTokens =
      first.usage?.outputTokens ??
      choices.reduce((sum, choice) => sum + estimateTokens(choice.message.content ?? ''), 0)
    return {
      choices,
      ...(first.usage === null
        ? {}
        : { usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens } }),
      model: request.model ?? this.modelId,
      // Numbered from the call's start, so that calls running at once get distinct ids.
      requestId: `scripted_${callIndex + 1}`,
    }
  }
}

/**
 * A result as stream parts: each choice's reasoning, its text four characters at a time, its tool calls, then one
 * `finish` part with the result.
 */
function* streamParts(result: ChatResult): Generator<ChatStreamPart> {
  for (const choice of result.choices) {
    for (const part of choice.message.reasoning ?? []) {
      if (part.text !== '') yield { type: 'reasoning-delta', choiceIndex: choice.index, text: part.text }
    }
    const text = choice.message.content ?? ''
    for (let start = 0, end = 0; start < text.length; start = end) {
      end = start + 4
      // Never between the halves of a surrogate pair (an emoji): each delta is text a reader can print.
      const last = text.charCodeAt(end - 1)
      if (last >= 0xd800 && last <= 0xdbff) end += 1
      yield { type: 'text-delta', choiceIndex: choice.index, text: text.slice(start, end) }
    }
    yield* toolCallDeltas(choice)
  }
  yield { type: 'finish', result }
}
