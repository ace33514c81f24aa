import type { Attributes } from '@opentelemetry/api'
import { attributeNames } from './attributes.js'

/**
 * An LLM call as the bridge reads it, structurally, so that @tinyllm/otel does not depend on @tinyllm/llm: its chat
 * model (provider and default model) and the request one attempt sends.
 */
export interface LLMCallLike {
  readonly kind: string
  readonly model: { readonly provider: string; readonly modelId: string }
  readonly settings?: { readonly model?: string }
  buildRequest(input: never): ChatRequestLike
}

/** The settings of a chat request the GenAI conventions have attributes for, and its messages. */
export interface ChatRequestLike {
  readonly model?: string
  readonly temperature?: number
  readonly topP?: number
  readonly maxTokens?: number
  readonly n?: number
  readonly stop?: string | ReadonlyArray<string>
  readonly seed?: number
  readonly presencePenalty?: number
  readonly frequencyPenalty?: number
  readonly responseFormat?: { readonly type: string }
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content?: string | null }>
}

/** A chat result, when an LLM call's output is the whole result (its `output: 'result'` mode). */
interface ChatResultLike {
  readonly choices: ReadonlyArray<{
    readonly message: { readonly content: string | null }
    readonly finishReason: string
  }>
  readonly model?: string
  readonly raw?: unknown
}

/** Whether a Function is an LLM call: it has a chat model and builds chat requests. */
export function isLLMCallLike(fn: object): fn is LLMCallLike {
  const candidate = fn as Partial<LLMCallLike>
  return (
    typeof candidate.buildRequest === 'function' &&
    typeof candidate.model === 'object' &&
    candidate.model !== null &&
    typeof candidate.model.provider === 'string'
  )
}

/** What is known about an LLM call before it runs: the attributes the conventions ask for at span creation. */
export function llmCallStartAttributes(call: LLMCallLike): Attributes {
  return {
    [attributeNames.operationName]: 'chat',
    [attributeNames.providerName]: call.model.provider,
    [attributeNames.requestModel]: call.settings?.model ?? call.model.modelId,
  }
}

/** The request settings of one attempt, as GenAI request attributes. */
export function requestAttributes(call: LLMCallLike, request: ChatRequestLike): Attributes {
  const attributes: Attributes = {
    [attributeNames.requestModel]: request.model ?? call.model.modelId,
  }
  if (request.temperature !== undefined) attributes[attributeNames.requestTemperature] = request.temperature
  if (request.topP !== undefined) attributes[attributeNames.requestTopP] = request.topP
  if (request.maxTokens !== undefined) attributes[attributeNames.requestMaxTokens] = request.maxTokens
  if (request.seed !== undefined) attributes[attributeNames.requestSeed] = request.seed
  if (request.n !== undefined && request.n !== 1) attributes[attributeNames.requestChoiceCount] = request.n
  if (request.presencePenalty !== undefined) attributes[attributeNames.requestPresencePenalty] = request.presencePenalty
  if (request.frequencyPenalty !== undefined)
    attributes[attributeNames.requestFrequencyPenalty] = request.frequencyPenalty
  if (request.stop !== undefined)
    attributes[attributeNames.requestStopSequences] =
      typeof request.stop === 'string' ? [request.stop] : [...request.stop]
  const format = request.responseFormat?.type
  attributes[attributeNames.outputType] = format === 'json_schema' || format === 'json_object' ? 'json' : 'text'
  return attributes
}

/** The answers in an LLM call's output: the text (or texts), or a whole chat result with finish reasons. */
export function answersOf(output: unknown): Array<{ text: string; finishReason?: string }> {
  if (typeof output === 'string') return [{ text: output }]
  if (Array.isArray(output))
    return output.map((value) => ({ text: typeof value === 'string' ? value : JSON.stringify(value) }))
  if (isChatResult(output)) {
    return output.choices.map((choice) => ({ text: choice.message.content ?? '', finishReason: choice.finishReason }))
  }
  return [{ text: JSON.stringify(output) ?? '' }]
}

/** Response attributes a whole chat result carries: finish reasons, and the provider's response id when its raw body has one. */
export function resultAttributes(output: unknown): Attributes | undefined {
  if (!isChatResult(output)) return undefined
  const attributes: Attributes = {
    [attributeNames.responseFinishReasons]: output.choices.map((choice) => choice.finishReason),
  }
  const id = (output.raw as { id?: unknown } | undefined)?.id
  if (typeof id === 'string') attributes[attributeNames.responseId] = id
  return attributes
}

function isChatResult(output: unknown): output is ChatResultLike {
  return typeof output === 'object' && output !== null && Array.isArray((output as ChatResultLike).choices)
}
