import type { Attributes } from '@opentelemetry/api'
import { redact, redactQuoted } from '@tinyllm/logger'
import { attributeNames } from './attributes.js'
import type { ChatMessageLike } from './chat-content.js'

/**
 * An LLM call (`@tinyllm/llm`'s LLMCall, OpenAIChat, AnthropicChat…) as the bridge reads it from an event's `source`,
 * structurally, so that @tinyllm/otel does not depend on @tinyllm/llm: its chat model (provider and default model),
 * the settings it sends with every call, and whether structured output fixes the response format.
 */
export interface LLMCallLike {
  /** Its chat model: the provider, the default model, and the `maxTokens` it sends when a request sets none. */
  readonly model: { readonly provider: string; readonly modelId: string; readonly defaultMaxTokens?: unknown }
  readonly settings?: ChatSettingsLike
  readonly structuredOutput?: unknown
}

/** The chat settings the GenAI conventions have attributes for. */
interface ChatSettingsLike {
  readonly model?: unknown
  readonly temperature?: unknown
  readonly topP?: unknown
  readonly maxTokens?: unknown
  readonly n?: unknown
  readonly stop?: unknown
  readonly seed?: unknown
  readonly presencePenalty?: unknown
  readonly frequencyPenalty?: unknown
  readonly responseFormat?: unknown
}

/** A chat result, when an LLM call's output is the whole result (its `output: 'result'` mode). */
interface ChatResultLike {
  readonly choices: ReadonlyArray<{
    readonly message: Omit<ChatMessageLike, 'role'> & { readonly content: string | null }
    readonly finishReason: string
  }>
}

/** One answer of an LLM call: the message the model answered with, and why it stopped when that is known. */
export interface Answer {
  readonly message: Omit<ChatMessageLike, 'role'>
  readonly finishReason?: string
}

/** Numeric settings and the request attribute each one is written to. */
const numericSettings: ReadonlyArray<readonly [keyof ChatSettingsLike, string]> = [
  ['temperature', attributeNames.requestTemperature],
  ['topP', attributeNames.requestTopP],
  ['maxTokens', attributeNames.requestMaxTokens],
  ['seed', attributeNames.requestSeed],
  ['presencePenalty', attributeNames.requestPresencePenalty],
  ['frequencyPenalty', attributeNames.requestFrequencyPenalty],
]

/**
 * The Function as an LLM call, if it is one: it has a chat model (`doGenerate`) that names its provider and model.
 * What the span needs is read once, here, each field as {@link fieldOf} reads it: a Function of the user's own whose
 * `model` or `settings` is a getter that throws (or a chat model whose `provider` does) is still traced, never thrown
 * into the run — as no LLM call, or as one without those settings.
 */
export function llmCallOf(source: object): LLMCallLike | undefined {
  const model = fieldOf(source, 'model')
  const provider = fieldOf(model, 'provider')
  const modelId = fieldOf(model, 'modelId')
  const isChatModel =
    typeof fieldOf(model, 'doGenerate') === 'function' && typeof provider === 'string' && typeof modelId === 'string'
  if (!isChatModel) return undefined
  const settings = fieldOf(source, 'settings')
  return {
    model: { provider, modelId, defaultMaxTokens: fieldOf(model, 'defaultMaxTokens') },
    ...(typeof settings === 'object' && settings !== null ? { settings: settings as ChatSettingsLike } : {}),
    structuredOutput: fieldOf(source, 'structuredOutput'),
  }
}

/**
 * The GenAI attributes of an LLM call known when it starts: the operation, the provider, and the request's model and
 * settings — the call's own, overridden by those its input carries, as the call builds its request, and the chat
 * model's token limit where they set none, as the model sends it.
 */
export function requestAttributes(call: LLMCallLike, input: unknown): Attributes {
  const settings: ChatSettingsLike = call.settings ?? {}
  const setting = (key: keyof ChatSettingsLike): unknown => fieldOf(input, key) ?? fieldOf(settings, key)
  const model = setting('model')
  const attributes: Attributes = {
    [attributeNames.operationName]: 'chat',
    [attributeNames.providerName]: call.model.provider,
    [attributeNames.requestModel]: typeof model === 'string' ? model : call.model.modelId,
  }
  for (const [key, name] of numericSettings) {
    // A request that sets no token limit is sent with the chat model's own, when it has one (Anthropic's always does).
    const value = key === 'maxTokens' ? (setting(key) ?? call.model.defaultMaxTokens) : setting(key)
    if (typeof value === 'number') attributes[name] = value
  }
  const choices = setting('n')
  if (typeof choices === 'number' && choices !== 1) attributes[attributeNames.requestChoiceCount] = choices
  const stop = setting('stop')
  if (typeof stop === 'string') attributes[attributeNames.requestStopSequences] = [stop]
  else if (isList(stop)) attributes[attributeNames.requestStopSequences] = redactedList(stop).map(stopSequenceText)
  // Structured output's format is sent whatever the input asks for.
  const format = call.structuredOutput === undefined ? setting('responseFormat') : fieldOf(settings, 'responseFormat')
  const formatType = fieldOf(format, 'type')
  attributes[attributeNames.outputType] = formatType === 'json_schema' || formatType === 'json_object' ? 'json' : 'text'
  return attributes
}

/**
 * A stop sequence of a redacted copy as text: a string as it is, anything else as its JSON (`String()` throws on an
 * object whose `toString` is no function, such as `{"toString":"x"}` read back from a queue), so a call whose input
 * holds one gets its span and records its failure.
 */
function stopSequenceText(item: unknown): string {
  return typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item)
}

/** The messages an LLM call was given, if its input has them. */
export function messagesOf(input: unknown): ReadonlyArray<unknown> | undefined {
  const messages = fieldOf(input, 'messages')
  return isList(messages) ? messages : undefined
}

/**
 * Whether a value the run holds is a list. A revoked `Proxy` throws when asked, so it is not one: read as a log line
 * reads it, never thrown into the span that records it.
 */
export function isList(value: unknown): value is ReadonlyArray<unknown> {
  try {
    return Array.isArray(value)
  } catch {
    return false
  }
}

/**
 * A list the run holds, read as a log line reads one (see {@link redact}): its first 10,000 items, redacted, so a sparse
 * list of 2³²−1 holes takes no time; empty when reading it throws (a `Proxy` whose `length` throws), never thrown into
 * the span that records it. Given `maxLength`, each string is read only that far and cut there (see
 * {@link redactQuoted}).
 */
export function redactedList(list: ReadonlyArray<unknown>, maxLength?: number): unknown[] {
  const copy = maxLength === undefined ? redact(list) : redactQuoted(list, maxLength)
  return Array.isArray(copy) ? copy : []
}

/**
 * A field of what an LLM call was given, or `undefined` when it cannot be read (a getter or a `Proxy` that throws): the
 * call refuses such an input, and its span records the failure like any other.
 */
export function fieldOf(value: unknown, key: PropertyKey): unknown {
  if (typeof value !== 'object' || value === null) return undefined
  try {
    return (value as Record<PropertyKey, unknown>)[key]
  } catch {
    return undefined
  }
}

/**
 * The answers in an LLM call's output — its text (or texts), or a whole chat result — each with its finish reason:
 * the result's own, or the one the call annotated for that choice. A chat result's answers are its choices' messages,
 * reasoning and tool calls included. The output is read once, as a log line reads its fields (see {@link redact}): a
 * list's first 10,000 items, so a sparse list of 2³²−1 holes (or one in a `choices` field) takes no time. A value that
 * is not text (structured output) is written as the JSON of that redacted copy: a field named like a secret is
 * `[REDACTED]`, and a bigint or a cycle does not throw.
 */
export function answersOf(output: unknown, finishReasons: ReadonlyArray<unknown> | undefined): Answer[] {
  const answer = (text: string, index: number): Answer => {
    const finishReason = finishReasons?.[index]
    return typeof finishReason === 'string'
      ? { message: { content: text }, finishReason }
      : { message: { content: text } }
  }
  const copy = redact(output)
  if (typeof copy === 'string') return [answer(copy, 0)]
  if (Array.isArray(copy))
    return copy.map((value, index) => answer(typeof value === 'string' ? value : jsonText(value), index))
  if (isChatResult(copy)) {
    return copy.choices.map((choice) => ({ message: choice.message, finishReason: choice.finishReason }))
  }
  return [answer(jsonText(copy), 0)]
}

/** A redacted copy as JSON text. */
function jsonText(copy: unknown): string {
  return JSON.stringify(copy) ?? ''
}

/**
 * Whether `output` is a whole chat result: each of its choices has a message whose content is text or `null`. A
 * structured output may have a `choices` field of its own (`{ choices: ['approve', 'refer'] }`), written as JSON.
 */
function isChatResult(output: unknown): output is ChatResultLike {
  const choices = (output as { choices?: unknown } | null)?.choices
  return Array.isArray(choices) && choices.every(isChatChoice)
}

function isChatChoice(choice: unknown): boolean {
  const message = (choice as { message?: unknown } | null)?.message
  const content = (message as { content?: unknown } | null)?.content
  return typeof message === 'object' && message !== null && (typeof content === 'string' || content === null)
}
