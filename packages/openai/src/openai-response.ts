import type { Usage } from '@tinyllm/core'
import {
  type ChatChoice,
  type ChatResult,
  type FinishReason,
  malformedResponse,
  type ProviderCallError,
  type ToolCall,
  toAssistantMessage,
} from '@tinyllm/llm'
import { openAIProfile } from './openai-profile.js'

/** OpenAI's finish reasons in tinyllm's vocabulary (`function_call` is the legacy name of `tool_calls`). */
export function toFinishReason(reason: unknown): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason
    case 'function_call':
      return 'tool_calls'
    default:
      return 'other'
  }
}

/**
 * Token usage from an OpenAI `usage` object; `undefined` when a compatible server sends none (no object, or one with
 * no figure), so that the call is counted from its estimate rather than as 0 tokens. A figure that is there is passed
 * on as it is, even when it is not a count (`-5`, `"12"`): LLMCall refuses such usage as a malformed response. A part
 * left out is 0: a server that reports only `total_tokens` gives a total no part accounts for, which `costOf` prices
 * at the dearer of the model's prices rather than as 0.
 */
export function toUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined
  const record = usage
  if ([record.prompt_tokens, record.completion_tokens, record.total_tokens].every(absent)) return undefined
  const inputTokens = figure(record.prompt_tokens)
  const outputTokens = figure(record.completion_tokens)
  const total = figure(record.total_tokens)
  // A total is never below its parts: one that is (0 from a server that leaves it out, or a total counting only part
  // of the call) would let a rate limiter and a budget, which count totals, pass tokens that were used.
  const parts = inputTokens + outputTokens
  const totalTokens = typeof total === 'number' && typeof parts === 'number' && total < parts ? parts : total
  return { inputTokens, outputTokens, totalTokens }
}

/**
 * Reads a chat-completions response body into a {@link ChatResult}, checking its shape on the way: a body that is not
 * a chat completion (`null`, nothing, an HTML page from a wrong base URL, no choices, choices without a message) is a
 * retryable {@link ProviderCallError} of type `malformed_response` rather than a crash further down. The request id is
 * the `x-request-id` header the SDK attached, else the completion's own `id`.
 */
export function toChatResult(body: unknown): ChatResult {
  if (!isRecord(body)) throw malformedResponse(openAIProfile, `expected a JSON object, got ${describe(body)}`)
  const requestId = nonEmpty(body._request_id) ?? nonEmpty(body.id)
  const malformed = (what: string): ProviderCallError => malformedResponse(openAIProfile, what, { requestId })
  const rawChoices = body.choices
  if (!Array.isArray(rawChoices)) throw malformed('no `choices` array')
  if (rawChoices.length === 0) throw malformed('an empty `choices` array')
  const choices: ChatChoice[] = []
  for (const [position, rawChoice] of rawChoices.entries()) {
    if (!isRecord(rawChoice) || !isRecord(rawChoice.message)) throw malformed(`choice ${position} has no message`)
    const content = rawChoice.message.content
    if (content !== null && content !== undefined && typeof content !== 'string') {
      throw malformed(`choice ${position} has non-text content`)
    }
    const toolCalls = toToolCalls(rawChoice.message.tool_calls)
    if (toolCalls === undefined) throw malformed(`choice ${position} has malformed tool_calls`)
    const index = typeof rawChoice.index === 'number' ? rawChoice.index : position
    choices.push({
      index,
      message: toAssistantMessage(content, toolCalls),
      finishReason: refusedOr(rawChoice.message.refusal, toFinishReason(rawChoice.finish_reason)),
    })
  }
  choices.sort((left, right) => left.index - right.index)
  const responseId = nonEmpty(body.id)
  const usage = toUsage(body.usage)
  const result: ChatResult = {
    choices,
    ...(usage === undefined ? {} : { usage }),
    model: typeof body.model === 'string' ? body.model : '',
    raw: body,
    ...(responseId === undefined ? {} : { responseId }),
  }
  return requestId === undefined ? result : { ...result, requestId }
}

/**
 * A choice's finish reason given its `refusal`: a model that refused (structured outputs' refusal, which comes with
 * `finish_reason: 'stop'` and no content) stopped for the reason Anthropic's `refusal` stop reason maps to,
 * `content_filter`, so that a refusal never reads as an empty answer that ended normally. The refusal's text stays in
 * `raw`.
 */
export function refusedOr(refusal: unknown, finishReason: FinishReason): FinishReason {
  return typeof refusal === 'string' && refusal !== '' ? 'content_filter' : finishReason
}

/**
 * `undefined` when the list is malformed; an empty list when there are none. A call's arguments (a custom tool's
 * input) are JSON text: left out, they are none; anything else (an object, a number) is malformed, never dropped.
 */
function toToolCalls(value: unknown): ToolCall[] | undefined {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) return undefined
  const calls: ToolCall[] = []
  for (const call of value) {
    if (!isRecord(call) || typeof call.id !== 'string') return undefined
    const definition = isRecord(call.function) ? call.function : isRecord(call.custom) ? call.custom : undefined
    const name = definition?.name
    const args = definition === call.function ? definition?.arguments : definition?.input
    if (typeof name !== 'string' || !isToolArgumentsText(args)) return undefined
    calls.push({ id: call.id, name, arguments: args ?? '' })
  }
  return calls
}

/** Whether a tool call's arguments, as the server sent them, are JSON text or left out (`null` too). */
export function isToolArgumentsText(value: unknown): value is string | null | undefined {
  return typeof value === 'string' || absent(value)
}

/** Whether a value is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A usage figure as the server sent it; 0 when it sent none. */
function figure(value: unknown): number {
  return absent(value) ? 0 : (value as number)
}

function absent(value: unknown): boolean {
  return value === undefined || value === null
}

/** A string when it is not empty. */
export function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function describe(value: unknown): string {
  if (value === undefined || value === '') return 'an empty body'
  if (typeof value === 'string') return `text ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
}
