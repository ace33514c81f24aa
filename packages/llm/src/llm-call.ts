import {
  assertJsonSafe,
  CancelScope,
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkTimeout,
  Function,
  FunctionError,
  type FunctionOptions,
  type InvokeOptions,
  isPromiseLike,
  knownSpelling,
  optionError,
  type RetryPolicy,
  type RunContext,
  resolveRetryPolicy,
  type StandardSchemaV1,
  type StreamListener,
  safeStringify,
  TimeoutError,
  TinyLLMError,
  type Usage,
  unreadableOption,
  ValidationError,
  Validator,
} from '@tinyllm/core'
import { closestName } from '@tinyllm/logger'
import {
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatSettings,
  type ChatStreamPart,
  type ResponseFormat,
  resultText,
} from './chat-model.js'
import { chatSettingKeys, maxTokensRule } from './chat-settings.js'
import { stripCodeFence } from './code-fence.js'
import { everyEntry } from './every-entry.js'
import { type JsonSchema, toJsonSchema } from './json-schema.js'
import { type LLMStream, type LLMStreamDelta, streamingOptions, streamRun, toolCallDeltas } from './llm-stream.js'
import { copyOptions } from './options-copy.js'
import { checkPriceTable, costOf, defaultPrices, mostCostOf, type PriceTable } from './prices.js'
import { CallCancellation } from './provider/call-cancellation.js'
import { toolChoiceShape } from './provider/tools-to-send.js'
import { ProviderCallError, RateLimitError } from './provider-errors.js'
import type { RateLimiterLike, RateLimitPermit } from './rate-limiter.js'
import { estimateInputTokens } from './token-estimate.js'
import { assertKnownTools } from './tool-calls.js'

/** What an LLMCall takes: the conversation, plus any per-call settings that override its defaults. */
export type LLMCallInput = ChatRequest

/**
 * What an LLMCall returns: `text` — the first choice's text (the default, as the original Python tiny-llm's OpenAIChat); `texts` — every
 * choice's text, for `n > 1`; `result` — the whole {@link ChatResult} (usage, finish reasons, tool calls, raw response).
 */
export type LLMCallOutputMode = 'text' | 'texts' | 'result'

/** Structured output: the model is asked for JSON matching `schema`, and its answer is parsed and validated. */
export interface StructuredOutputOptions<Schema extends StandardSchemaV1 = StandardSchemaV1> {
  /** Name of the response format, sent to the provider (letters, digits, `_` and `-`). */
  readonly name: string
  /** Validates the parsed answer; its output is the LLMCall's output. zod 4 is the documented default. */
  readonly schema: Schema
  readonly description?: string
  /**
   * JSON Schema sent to the provider. Default: from the schema's Standard JSON Schema converter
   * (`~standard.jsonSchema`, zod ≥ 4.2); give it for libraries without one.
   */
  readonly jsonSchema?: JsonSchema
  /** Asks the provider to enforce the schema strictly, when it can. */
  readonly strict?: boolean
}

/** A full result whose choices were parsed and validated as structured output: `values[i]` belongs to choice `i`. */
export type StructuredChatResult<Value> = ChatResult & { readonly values: ReadonlyArray<Value> }

/** The output type of an LLMCall, from its output mode and structured-output schema (`never` for none). */
export type LLMCallOutput<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1> = [Schema] extends [never]
  ? Mode extends 'texts'
    ? string[]
    : Mode extends 'result'
      ? ChatResult
      : string
  : Mode extends 'texts'
    ? Array<StandardSchemaV1.InferOutput<Schema>>
    : Mode extends 'result'
      ? StructuredChatResult<StandardSchemaV1.InferOutput<Schema>>
      : StandardSchemaV1.InferOutput<Schema>

/** Options of {@link LLMCall}. */
export interface LLMCallOptions<Mode extends LLMCallOutputMode = 'text', Schema extends StandardSchemaV1 = never> {
  /** Shown in errors, logs, events and run trees. */
  readonly name: string
  /** The chat model to call (a provider package's model, or ScriptedChatModel in tests). */
  readonly model: ChatModel
  /** Settings sent with every call (e.g. `{ model: 'gpt-4o', temperature: 0 }`); the input's settings override them. */
  readonly settings?: ChatSettings
  /** Retry policy; merged over {@link llmRetryDefaults}. */
  readonly retry?: RetryPolicy
  /** Limit on the whole run, retries and waits included, in ms. */
  readonly timeoutMs?: number
  /**
   * Limit on each attempt's model call, in ms, counted from when it is sent (waiting for the rate limiter does not
   * count); an attempt that runs out fails with a retryable TimeoutError of kind `attempt`.
   */
  readonly attemptTimeoutMs?: number
  /** For `stream`: fail with a (retryable) TimeoutError of kind `idle` when no chunk arrives for this long, in ms. */
  readonly idleTimeoutMs?: number
  /** Shared requests/tokens-per-minute limiter; every attempt acquires from it before it is sent. */
  readonly rateLimiter?: RateLimiterLike
  /**
   * Prices for cost accounting. Default {@link defaultPrices}; an unknown model's cost is recorded as unknown, and under
   * a budget with `maxCostUsd` a call to it is refused before it is sent (a ConfigurationError naming the model). A call
   * is priced as the model that answered (`result.model`), or, when that one has no price, as the model it asked for.
   */
  readonly prices?: PriceTable
  /** What `invoke` returns. Default `text`. */
  readonly output?: Mode
  /** Ask for JSON matching a schema, then parse and validate the answer. */
  readonly structuredOutput?: StructuredOutputOptions<Schema>
  /**
   * Output tokens assumed per choice for budget checks and rate-limit reservations when the request carries no
   * `maxTokens`: neither its own nor the model's `defaultMaxTokens` (which AnthropicChatModel always sends). Default 512.
   */
  readonly outputTokenEstimate?: number
  /** Counts a request's input tokens before it is sent. Default {@link estimateInputTokens} (no tokenizer). */
  readonly estimateInputTokens?: (request: ChatRequest) => number
  /**
   * Journal the call's output when its run tree has a journal, and replay it on a re-run instead of calling the model
   * again (paying again). Default true.
   */
  readonly durable?: boolean
}

/**
 * LLMCall's default retry policy: 3 attempts, exponential backoff from 500 ms to 8 s with jitter, `retry-after` hints
 * honoured up to 60 s. What is retried is what says so itself: HTTP 429 (after its `retry-after`), 5xx, connection
 * failures and timed-out attempts — never 4xx, validation, budget, abort or configuration errors, and never an error
 * of a model that broke the specification by throwing something that is not a tinyllm error.
 */
export const llmRetryDefaults: Readonly<RetryPolicy> = Object.freeze({
  attempts: 3,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  multiplier: 2,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
})

const roles: ReadonlySet<unknown> = new Set(['system', 'user', 'assistant', 'tool'])

/**
 * The names OpenAI and Anthropic accept for a tool or a response format. OpenAI's API reference: "Must be a-z, A-Z,
 * 0-9, or contain underscores and dashes, with a maximum length of 64"; Anthropic's tool definitions: "Must match the
 * regex ^[a-zA-Z0-9_-]{1,64}$".
 */
const providerName = /^[A-Za-z0-9_-]{1,64}$/
const providerNameRule = '1–64 letters, digits, _ or -'

/** What each numeric setting must be; NaN and Infinity would otherwise go out as JSON `null`. */
const numericSettingRules = {
  temperature: { min: 0 },
  topP: { min: 0, max: 1 },
  maxTokens: maxTokensRule,
  n: { integer: true, min: 1 },
  seed: { integer: true },
  presencePenalty: { min: -2, max: 2 },
  frequencyPenalty: { min: -2, max: 2 },
} as const satisfies Partial<Record<keyof ChatSettings, Parameters<typeof checkNumber>[2]>>

/** The most stop sequences or tools a call may give: far more than any provider takes. */
const maxListedSettings = 10_000

/** What the other checked settings must be: a model id that is not a string would be sent, then fail in accounting. */
const settingShapes = {
  model: {
    expected: 'a non-empty string (a model id)',
    accepts: (value: unknown) => typeof value === 'string' && value !== '',
  },
  user: {
    expected: 'a string (an id of your end user)',
    accepts: (value: unknown) => typeof value === 'string',
  },
  // Lists are bounded before they are read: a sparse list of length 2³²−1 would take minutes to walk.
  stop: {
    expected: 'a string or an array of at most 10,000 strings',
    accepts: (value: unknown) =>
      typeof value === 'string' ||
      (Array.isArray(value) &&
        value.length <= maxListedSettings &&
        everyEntry(value, (item) => typeof item === 'string')),
  },
  tools: {
    expected:
      'an array of at most 10,000 tool definitions ({ name, parameters, description?: string, strict?: boolean })',
    accepts: (value: unknown) =>
      Array.isArray(value) &&
      value.length <= maxListedSettings &&
      everyEntry(
        value,
        (tool: { name?: unknown; parameters?: unknown; description?: unknown; strict?: unknown } | null) =>
          typeof tool === 'object' &&
          tool !== null &&
          typeof tool.name === 'string' &&
          typeof tool.parameters === 'object' &&
          tool.parameters !== null &&
          (tool.description === undefined || typeof tool.description === 'string') &&
          (tool.strict === undefined || typeof tool.strict === 'boolean'),
      ),
  },
  toolChoice: toolChoiceShape,
  responseFormat: {
    expected:
      "{ type: 'text' }, { type: 'json_object' } or { type: 'json_schema', name, schema, description?: string, strict?: boolean }",
    accepts: (value: unknown) => {
      if (!isPlainObject(value)) return false
      const format = value as {
        type?: unknown
        name?: unknown
        schema?: unknown
        description?: unknown
        strict?: unknown
      }
      if (format.type === 'text' || format.type === 'json_object') return true
      // Both are sent as they are: a `strict: 1` would go out with its schema not made strict-mode valid.
      return (
        format.type === 'json_schema' &&
        typeof format.name === 'string' &&
        isPlainObject(format.schema) &&
        (format.description === undefined || typeof format.description === 'string') &&
        (format.strict === undefined || typeof format.strict === 'boolean')
      )
    },
  },
  providerOptions: {
    expected: 'an object of objects, keyed by provider name',
    // Spread into a request body, a string would be sent as fields "0", "1"…, and an array as its indices.
    accepts: (value: unknown) =>
      isPlainObject(value) && Object.values(value).every((entry) => entry === undefined || isPlainObject(entry)),
  },
} as const satisfies Partial<Record<keyof ChatSettings, { expected: string; accepts: (value: unknown) => boolean }>>

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

type CheckedSetting = keyof typeof numericSettingRules | keyof typeof settingShapes
const checkedSettings = [...Object.keys(numericSettingRules), ...Object.keys(settingShapes)] as CheckedSetting[]
const checkedSettingSet: ReadonlySet<string> = new Set(checkedSettings)

/**
 * Checks one setting, throwing `<owner>: <option> must be …, got …`; a tool whose name the providers refuse is named
 * by its index (`<option>[1].name`). A setting whose reading throws (a Proxy, a getter) is `<option> could not be
 * read: <what it threw>`.
 */
function checkSetting(key: CheckedSetting, value: unknown, option: string, owner?: string): void {
  if (value === undefined) return
  if (key in numericSettingRules) {
    checkNumber(value, option, numericSettingRules[key as keyof typeof numericSettingRules], owner)
    return
  }
  try {
    checkShape(key as keyof typeof settingShapes, value, option, owner)
  } catch (error) {
    throw unreadableOption(error, option, owner)
  }
}

function checkShape(key: keyof typeof settingShapes, value: unknown, option: string, owner?: string): void {
  const shape = settingShapes[key]
  if (!shape.accepts(value)) throw optionError(option, shape.expected, value, owner)
  if (key === 'stop') {
    checkStopSequences(value as string | ReadonlyArray<string>, option, owner)
    return
  }
  if (key !== 'tools') {
    if (jsonSettings.has(key)) checkJsonSetting(value, option, owner)
    return
  }
  const tools = value as ReadonlyArray<{ readonly name: string }>
  const index = tools.findIndex((tool) => !providerName.test(tool.name))
  if (index !== -1) throw optionError(`${option}[${index}].name`, providerNameRule, tools[index]?.name, owner)
  // A tool call names its tool: with two tools of one name, which one the model called cannot be told (and Anthropic
  // refuses the request).
  const names = new Set<string>()
  for (let at = 0; at < tools.length; at++) {
    const name = (tools[at] as { readonly name: string }).name
    if (names.has(name)) throw optionError(`${option}[${at}].name`, 'a name no other tool has', name, owner)
    names.add(name)
  }
  checkJsonSetting(value, option, owner)
}

/**
 * Refuses an empty stop sequence, naming it (`stop[1]`): it marks no place to stop, Anthropic's Messages API refuses it
 * and OpenAI's reference gives it no meaning, so every provider refuses it alike, at construction and per call (white
 * space, which OpenAI takes, is left to each provider's own check).
 */
function checkStopSequences(stop: string | ReadonlyArray<string>, option: string, owner?: string): void {
  const expected = 'a non-empty string (an empty stop sequence marks no place to stop)'
  if (typeof stop === 'string') {
    if (stop === '') throw optionError(option, expected, stop, owner)
    return
  }
  const index = stop.indexOf('')
  if (index !== -1) throw optionError(`${option}[${index}]`, expected, '', owner)
}

/** Settings sent as JSON whatever they hold: tool schemas, a response format's schema, provider options. */
const jsonSettings: ReadonlySet<string> = new Set(['tools', 'responseFormat', 'providerOptions'])
const jsonSettingSite = { functionName: 'LLMCall', state: 'input_validation' }

/**
 * Refuses a setting JSON cannot carry as it is, naming the first place: NaN or Infinity (which JSON sends as `null`),
 * a BigInt, a cycle or a function — a schema bound computed as NaN would otherwise reach the provider as `null`.
 */
function checkJsonSetting(value: unknown, option: string, owner?: string): void {
  try {
    assertJsonSafe(value, jsonSettingSite, Number.MAX_SAFE_INTEGER)
  } catch (error) {
    const issue = ValidationError.isInstance(error) ? error.issues[0] : undefined
    if (issue === undefined) throw error
    const place = `${option}${issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')}`
    throw new ConfigurationError({
      option: place,
      message: `${place} must be JSON (${issue.message})`,
      functionName: owner,
    })
  }
}

/** What is wrong with a setting of a call's input, or `undefined` when it is absent or valid. */
function settingIssue(key: CheckedSetting, value: unknown): StandardSchemaV1.Issue | undefined {
  if (value === undefined) return undefined
  try {
    checkSetting(key, value, key)
    return undefined
  } catch (error) {
    return optionIssue(error as ConfigurationError)
  }
}

/** A refused setting of the input as an input issue: the setting's path, and the refusal's words after its name. */
function optionIssue(refusal: ConfigurationError): { message: string; path: Array<string | number> } {
  const option = refusal.option
  const named = refusal.functionName === undefined ? '' : `${refusal.functionName}: `
  const message = refusal.message.slice(named.length)
  // `<option> must be …`: the issue's path names the option already.
  const path = option.split(/[[\].]+/).filter((part) => part !== '')
  return {
    message: message.startsWith(`${option} `) ? message.slice(option.length + 1) : message,
    path: path.map((part) => (/^\d+$/.test(part) ? Number(part) : part)),
  }
}

/**
 * What is wrong with an assistant message's `toolCalls`, or `undefined`: a list of `{ id, name, arguments }` of strings
 * (the id non-empty: the tool message answering the call names it), as a model returns them.
 */
function toolCallsIssue(toolCalls: unknown): { message: string; path: Array<string | number> } | undefined {
  if (!Array.isArray(toolCalls)) return { message: 'expected a list of tool calls', path: ['toolCalls'] }
  for (let index = 0; index < toolCalls.length; index++) {
    const call = toolCalls[index] as { id?: unknown; name?: unknown; arguments?: unknown } | null
    if (
      typeof call !== 'object' ||
      call === null ||
      typeof call.id !== 'string' ||
      call.id === '' ||
      typeof call.name !== 'string' ||
      typeof call.arguments !== 'string'
    ) {
      return {
        message: 'expected a tool call { id, name, arguments } of strings, with an id',
        path: ['toolCalls', index],
      }
    }
  }
  return undefined
}

/**
 * What is wrong with an assistant message's `reasoning`, or `undefined`: a list of `{ text, provider }` of strings, with
 * `signature` and `redactedData` strings when present, as a model returns them.
 */
function reasoningIssue(reasoning: unknown): { message: string; path: Array<string | number> } | undefined {
  if (!Array.isArray(reasoning)) return { message: 'expected a list of reasoning parts', path: ['reasoning'] }
  for (let index = 0; index < reasoning.length; index++) {
    const part = reasoning[index] as Record<string, unknown> | null
    if (
      typeof part !== 'object' ||
      part === null ||
      typeof part.text !== 'string' ||
      typeof part.provider !== 'string' ||
      !(part.signature === undefined || typeof part.signature === 'string') ||
      !(part.redactedData === undefined || typeof part.redactedData === 'string')
    ) {
      return {
        message: 'expected a reasoning part { text, provider, signature?, redactedData? } of strings',
        path: ['reasoning', index],
      }
    }
  }
  return undefined
}

/** A chat message as the input check copied it: every field read once, a tool call and a reasoning part too. */
interface CheckedMessage {
  role?: unknown
  content?: unknown
  toolCalls?: unknown
  toolCallId?: unknown
  reasoning?: unknown
}

/**
 * A copy of a message, made before it is checked: its own fields and the message fields it inherits (a class's
 * getters), each read once, its tool calls and reasoning parts copied the same way, so that what is checked is sent.
 */
function copyMessage(given: object): CheckedMessage {
  const message: CheckedMessage = copyOptions(given, messageFieldSet)
  if (Array.isArray(message.toolCalls)) message.toolCalls = copyEntries(message.toolCalls, toolCallFields)
  if (Array.isArray(message.reasoning)) message.reasoning = copyEntries(message.reasoning, reasoningFields)
  return message
}

const toolCallFields = ['id', 'name', 'arguments']
const reasoningFields = ['text', 'provider', 'signature', 'redactedData']

/**
 * A list's entries, each object copied by {@link copyOptions}. The copy ends at the first entry that is `undefined` (a
 * hole included), which the check refuses there: a sparse list as long as 2³²−1 is not walked.
 */
function copyEntries(list: readonly unknown[], fields: readonly string[]): unknown[] {
  const copy: unknown[] = []
  for (let index = 0; index < list.length; index++) {
    const entry = list[index]
    copy.push(typeof entry === 'object' && entry !== null ? copyOptions(entry, fields) : entry)
    if (entry === undefined) break
  }
  return copy
}

/** Every field of a chat message, of any role. */
const messageFieldSet: ReadonlySet<string> = new Set(['role', 'content', 'toolCalls', 'toolCallId', 'reasoning'])

/**
 * A field of `message` that is another spelling of a message field (`tool_calls`, `tool_call_id`), which would be
 * dropped on the way to the provider, and the field meant; other extra fields pass, as they do beside the messages.
 */
function misspeltMessageField(message: object): { key: string; meant: string } | undefined {
  for (const key in message) {
    if (messageFieldSet.has(key) || !Object.hasOwn(message, key)) continue
    const meant = knownSpelling(key, messageFieldSet)
    if (meant !== undefined) return { key, meant }
  }
  return undefined
}

const settingKeySet: ReadonlySet<string> = new Set(chatSettingKeys)
/** The keys an input is read for: one Set lookup per key on the common path. */
const inputKeySet: ReadonlySet<string> = new Set([...chatSettingKeys, 'messages'])

/** Checks the input's shape cheaply, so a malformed prompt fails in `input_validation` with paths. */
const inputSchema: StandardSchemaV1<LLMCallInput> = {
  '~standard': {
    version: 1,
    vendor: 'tinyllm',
    validate(value) {
      if (typeof value !== 'object' || value === null) return { issues: [{ message: 'expected { messages: [...] }' }] }
      const messages = (value as { messages?: unknown }).messages
      if (!Array.isArray(messages)) return { issues: [{ message: 'expected an array', path: ['messages'] }] }
      if (messages.length === 0) return { issues: [{ message: 'needs at least one message', path: ['messages'] }] }
      const issues: StandardSchemaV1.Issue[] = []
      const checked: Array<CheckedMessage | undefined> = []
      for (let index = 0; index < messages.length && issues.length < 20; index++) {
        const given: unknown = messages[index]
        // Checked and sent as one copy, each field read once: a getter cannot answer the check one value and the
        // request another.
        const message = typeof given === 'object' && given !== null ? copyMessage(given) : undefined
        checked.push(message)
        if (message === undefined || !roles.has(message.role)) {
          issues.push({
            message: 'expected a chat message with role system, user, assistant or tool',
            path: ['messages', index],
          })
          continue
        }
        if (message.role === 'tool' && (typeof message.toolCallId !== 'string' || message.toolCallId === '')) {
          issues.push({
            message: 'a tool message needs the toolCallId of the call it answers',
            path: ['messages', index, 'toolCallId'],
          })
        }
        if (message.role === 'assistant' && message.toolCalls !== undefined) {
          const issue = toolCallsIssue(message.toolCalls)
          if (issue !== undefined) issues.push({ message: issue.message, path: ['messages', index, ...issue.path] })
        }
        if (message.role === 'assistant' && message.reasoning !== undefined) {
          const issue = reasoningIssue(message.reasoning)
          if (issue !== undefined) issues.push({ message: issue.message, path: ['messages', index, ...issue.path] })
        }
        const misspelt = misspeltMessageField(given as object)
        if (misspelt !== undefined) {
          issues.push({
            message: `is not a message field; did you mean ${misspelt.meant}?`,
            path: ['messages', index, misspelt.key],
          })
        }
        if (message.content === null && message.role === 'assistant') {
          // Null content stands for "only tool calls"; without any, both providers refuse the message (HTTP 400).
          if (!Array.isArray(message.toolCalls) || message.toolCalls.length === 0)
            issues.push({
              message: 'an assistant message with null content needs tool calls',
              path: ['messages', index, 'content'],
            })
        } else if (typeof message.content !== 'string') {
          issues.push({ message: 'expected string content', path: ['messages', index, 'content'] })
        }
      }
      // The call goes on with a copy of what was read here, each field read once: a getter that answers differently
      // on each read cannot have one value checked and another sent.
      const input: Record<string, unknown> = { ...value, messages: checked }
      // Every setting is read here, checked or not, so one that cannot be read (a getter or a Proxy that throws) fails
      // validation once rather than every attempt.
      for (const key of chatSettingKeys) {
        const own = Object.hasOwn(input, key)
        const setting = own ? input[key] : (value as Record<string, unknown>)[key]
        if (!own && setting !== undefined) input[key] = setting
        const issue = checkedSettingSet.has(key) ? settingIssue(key as CheckedSetting, setting) : undefined
        if (issue !== undefined) issues.push(issue)
      }
      for (const key of Object.keys(input)) {
        if (inputKeySet.has(key) || input[key] === undefined) continue
        // Another library's spelling of a setting (`top_p`, `maxOutputTokens`) fails; other extra keys pass: in a
        // Chain, the step before may hand over more than the conversation.
        const meant = knownSpelling(key, settingKeySet)
        if (meant !== undefined) issues.push({ message: `is not a chat setting; did you mean ${meant}?`, path: [key] })
      }
      return issues.length === 0 ? { value: input as unknown as LLMCallInput } : { issues }
    },
  },
}

/**
 * A Function that calls a chat model through the provider-neutral {@link ChatModel} specification, with everything a
 * production call needs: retries of what is retryable only (the model itself never retries), a shared rate limiter,
 * token and cost accounting over the run tree, a budget checked before anything is sent, structured output, streaming
 * with an idle timeout, and tool calls checked against the tools offered.
 *
 * Each attempt: check the budget → acquire from the rate limiter → `model.doGenerate` (or `doStream`) → record usage
 * and cost on the run (`record.usage`, summed up the tree) → settle the limiter with the real token count → shape the
 * output. A 429 with `retry-after` also starts the limiter's shared cool-down. When the model reports no usage, the
 * estimate the budget and the limiter were given stands: it is recorded as the call's usage, annotated
 * `usageEstimated: true`; with neither a budget nor a limiter, no estimate is made and the run is annotated
 * `usageReported: false` with no usage.
 *
 * @example
 * const chat = new LLMCall({ name: 'classify', model, settings: { model: 'gpt-4o-mini', temperature: 0 } })
 * const prompt = await template.invoke({ message: application })
 * const answer = await chat.invoke(prompt) // 'good'
 *
 * @example
 * const verdict = new LLMCall({
 *   name: 'verdict',
 *   model,
 *   structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }) },
 * })
 * const { verdict: value } = await verdict.invoke(prompt)
 */
export class LLMCall<Mode extends LLMCallOutputMode = 'text', Schema extends StandardSchemaV1 = never> extends Function<
  LLMCallInput,
  LLMCallOutput<Mode, Schema>
> {
  override readonly kind: string = 'llm-call'
  /** The chat model every attempt calls. */
  readonly model: ChatModel
  /** Defaults sent with every call, structured output's response format included. */
  readonly settings: ChatSettings
  /** What `invoke` returns: `text`, `texts` or `result`. */
  readonly outputMode: LLMCallOutputMode
  /** The structured-output options, when the answer is parsed as JSON and validated. */
  readonly structuredOutput: StructuredOutputOptions<Schema> | undefined
  /** The shared limiter every attempt acquires from, if any. */
  readonly rateLimiter: RateLimiterLike | undefined
  /** Prices used for cost accounting. */
  readonly prices: PriceTable
  /** For streams: longest silence between chunks, in ms. */
  readonly idleTimeoutMs: number | undefined
  /** The `attemptTimeoutMs` option: limit on each model call from when it is sent (enforced here, not by the base). */
  readonly callTimeoutMs: number | undefined
  /** Output tokens assumed per choice when the request carries no `maxTokens` (its own or the model's default). */
  readonly outputTokenEstimate: number
  /** The model's `defaultMaxTokens`: the `maxTokens` a request that sets none is sent with, if the model sends one. */
  private readonly modelMaxTokens: number | undefined
  private readonly countInputTokens: (request: ChatRequest) => number
  private readonly responseFormat: ResponseFormat | undefined
  /** The option the structured-output schema was given as, which a model's refusal of the sent schema names. */
  private readonly structuredSchemaOption: string | undefined
  private readonly structuredValidator: Validator | undefined

  constructor(options: LLMCallOptions<Mode, Schema>) {
    super(baseOptions(options))
    const name = this.name
    // Options whose reading throws (a getter, a Proxy) are bad options too.
    try {
      checkNoSettingBeside(options, name)
      checkKnownOptions(options, llmCallOptionKeySet, name)
      const model = options.model
      if (typeof model?.doGenerate !== 'function' || typeof model.doStream !== 'function') {
        throw optionError('model', 'a ChatModel (with doGenerate and doStream)', model, name)
      }
      if (model.specificationVersion !== 'v1') {
        throw new ConfigurationError({
          option: 'model',
          message: `model implements chat-model specification ${String(model.specificationVersion)}; this version of tinyllm supports v1`,
          functionName: name,
        })
      }
      this.model = model
      this.modelMaxTokens = checkNumber(model.defaultMaxTokens, 'model.defaultMaxTokens', maxTokensRule, name)
      this.outputMode = checkOneOf(options.output, 'output', ['text', 'texts', 'result'], name) ?? 'text'
      this.idleTimeoutMs = checkTimeout(options.idleTimeoutMs, 'idleTimeoutMs', name)
      this.callTimeoutMs = checkTimeout(options.attemptTimeoutMs, 'attemptTimeoutMs', name)
      this.outputTokenEstimate =
        checkNumber(options.outputTokenEstimate, 'outputTokenEstimate', { integer: true, min: 1 }, name) ?? 512
      const countInputTokens = options.estimateInputTokens ?? estimateInputTokens
      if (typeof countInputTokens !== 'function') {
        throw optionError('estimateInputTokens', 'a function (request) => tokens', countInputTokens, name)
      }
      this.countInputTokens = countInputTokens
      const limiter = options.rateLimiter
      if (
        limiter !== undefined &&
        (typeof limiter?.acquire !== 'function' ||
          typeof limiter.settle !== 'function' ||
          typeof limiter.coolDown !== 'function')
      ) {
        throw optionError('rateLimiter', 'a RateLimiter (with acquire, settle and coolDown)', limiter, name)
      }
      this.rateLimiter = limiter
      const prices = options.prices ?? defaultPrices
      if (!isObject(prices)) throw optionError('prices', 'a price table (definePrices)', prices, name)
      if (prices !== defaultPrices) checkPriceTable(prices, name)
      this.prices = prices
      const structured = options.structuredOutput
      this.structuredOutput = structured
      if (structured !== undefined) {
        if (typeof structured !== 'object' || structured === null) {
          throw optionError('structuredOutput', 'an object { name, schema }', structured, name)
        }
        // Refuses a list or a Map too, whose entries would be read as no options.
        checkKnownOptions(structured, structuredOutputKeys, name, 'structuredOutput')
        if (typeof structured.name !== 'string' || !providerName.test(structured.name)) {
          throw optionError('structuredOutput.name', providerNameRule, structured.name, name)
        }
        const { description, strict } = structured
        if (description !== undefined && typeof description !== 'string') {
          throw optionError('structuredOutput.description', 'a string', description, name)
        }
        if (strict !== undefined && typeof strict !== 'boolean') {
          throw optionError('structuredOutput.strict', 'a boolean', strict, name)
        }
        const schema = toJsonSchema(structured.schema, {
          ...(structured.jsonSchema === undefined ? {} : { jsonSchema: structured.jsonSchema }),
          option: 'structuredOutput.jsonSchema',
          functionName: name,
        })
        this.responseFormat = {
          type: 'json_schema',
          name: structured.name,
          schema,
          ...(description === undefined ? {} : { description }),
          ...(strict === undefined ? {} : { strict }),
        }
        this.structuredSchemaOption =
          structured.jsonSchema === undefined ? 'structuredOutput.schema' : 'structuredOutput.jsonSchema'
        this.structuredValidator = new Validator(structured.schema, { functionName: name, state: 'running' })
      } else {
        this.responseFormat = undefined
        this.structuredSchemaOption = undefined
        this.structuredValidator = undefined
      }
      // Read as invoke reads an input's settings: a settings class's getters and a prototype's settings are sent too.
      const given: unknown = options.settings
      if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given)))
        throw optionError('settings', 'an object of chat settings', given, name)
      // Refuses a Map too, whose entries would be read as no settings at all, and none sent.
      if (given !== undefined) checkKnownOptions(given, settingKeySet, name, 'settings')
      const settings = given === undefined ? {} : copyOptions(given, chatSettingKeys)
      for (const key of checkedSettings) checkSetting(key, settings[key], this.settingOption(key), name)
      if (this.responseFormat !== undefined) {
        // Two response formats for one call: the one given in settings would be replaced without a word.
        if (settings.responseFormat !== undefined) {
          const option = this.settingOption('responseFormat')
          throw new ConfigurationError({
            option,
            message: `${option} cannot be set beside structuredOutput, which sends its own (a json_schema format from its schema); drop one of them`,
            functionName: name,
          })
        }
        settings.responseFormat = this.responseFormat
      }
      this.settings = Object.freeze(settings) as ChatSettings
      checkProviderOptionKeys(
        this.settings.providerOptions,
        model.provider,
        this.settingOption('providerOptions'),
        name,
      )
      try {
        this.model.checkSettings?.(this.settings, name)
      } catch (refused) {
        throw ConfigurationError.isInstance(refused) ? this.namedAsGiven(refused) : refused
      }
    } catch (error) {
      throw unreadableOption(error, 'options', name)
    }
  }

  /**
   * The constructor option a chat setting was given as, which its errors name: `settings.maxTokens` for an LLMCall. A
   * class that takes the settings at the top level of its options (a provider's `*Chat`) overrides it to name the
   * setting as its user wrote it. Called by the constructor, before a subclass's fields are set.
   */
  protected settingOption(key: keyof ChatSettings): string {
    return `settings.${key}`
  }

  /**
   * Runs the call streaming: iterate the returned object for deltas, await its `result` for the final output. Same
   * lifecycle, retries (as long as no delta was handed out yet), accounting and validation as `invoke`. In `text` mode
   * only the first choice streams, the one the output is (with `n > 1`, read every choice with `texts` or `result`). A
   * call replayed from a journal streams its recorded answer (see {@link LLMCall.replayParts}).
   */
  stream(input: LLMCallInput, options?: InvokeOptions): LLMStream<LLMCallOutput<Mode, Schema>> {
    // `super`'s, which refuses a method detached from its call (`const { stream } = chat`) with a typed error.
    return streamRun((push: (delta: LLMStreamDelta) => void) =>
      super.invoke(input, streamingOptions(options, push as (part: unknown) => void)),
    )
  }

  /**
   * The deltas a call replayed from a journal streams, made from the output the journal kept, per choice: the text and
   * the tool calls. A text answer replays as the model sent it. The journal keeps only the parsed output of structured
   * output, so a structured answer replays as the JSON of that output (`JSON.stringify`, a string one with its quotes),
   * not as the model sent it: its whitespace, a Markdown code fence, keys the schema strips and strict mode's nulls are
   * gone; in `result` mode, each choice's text as the result holds it. A reader that puts the answer together from the
   * deltas reads the same text answer on a re-run, and a structured answer that parses to the same value.
   */
  override replayParts(output: LLMCallOutput<Mode, Schema>): LLMStreamDelta[] {
    return deltasOf(output, this.outputMode, this.structuredOutput !== undefined)
  }

  /**
   * The request one attempt sends: defaults, then the input's settings, then the input's messages. With structured
   * output, a `responseFormat` in the input other than the call's own is a `ConfigurationError`.
   */
  buildRequest(input: LLMCallInput): ChatRequest {
    const request: Record<string, unknown> = { ...this.settings }
    for (const key of chatSettingKeys) {
      const value = input[key]
      if (value !== undefined) request[key] = value
    }
    // With structured output its own format is sent: another given for this call would be dropped without a word.
    if (this.responseFormat !== undefined && !this.isOwnResponseFormat(request.responseFormat)) {
      throw new ConfigurationError({
        option: 'responseFormat',
        message:
          'a responseFormat cannot be given to a call with structuredOutput, which sends its own (a json_schema format from its schema); leave it out of the input',
        functionName: this.name,
      })
    }
    request.messages = input.messages
    return request as unknown as ChatRequest
  }

  /** Whether `format` is the structured-output format this call sends: the same object, or a copy of it (from JSON). */
  private isOwnResponseFormat(format: unknown): boolean {
    if (format === this.responseFormat) return true
    try {
      return JSON.stringify(format) === JSON.stringify(this.responseFormat)
    } catch {
      return false
    }
  }

  run(input: LLMCallInput, context: RunContext): Promise<LLMCallOutput<Mode, Schema>> {
    const request = this.buildRequest(input)
    // What the provider cannot honour is refused here, before anything is sent: the settings given at construction
    // passed this check then, so what it refuses now came with the input, and is invalid input, as what the input
    // schema refuses is. A check that throws something else (a setting that throws when read, a Proxy) is not
    // retried: it would throw again.
    try {
      if (input.providerOptions !== undefined) {
        checkProviderOptionKeys(input.providerOptions, this.model.provider, 'providerOptions', this.name)
      }
      this.model.checkSettings?.(request, this.name)
    } catch (thrown) {
      if (!ConfigurationError.isInstance(thrown)) throw this.typedModelError(thrown)
      throw new ValidationError({
        functionName: this.name,
        state: 'input_validation',
        issues: [optionIssue(thrown)],
        cause: thrown,
      })
    }
    const modelId = request.model ?? this.model.modelId
    if (context.budget === undefined && this.rateLimiter === undefined)
      return this.attempt(request, modelId, undefined, context)
    // Estimated only when a budget or a limiter needs a figure before the call is sent.
    const counted = countTokens(() => this.countInputTokens(request), this.name, 'estimateInputTokens')
    const added = countTokens(() => this.model.addedInputTokens?.(request) ?? 0, this.name, 'model.addedInputTokens')
    const estimatedInput = counted + added
    const estimatedOutput = this.estimateOutputTokens(request)
    const estimate: Usage = {
      inputTokens: estimatedInput,
      outputTokens: estimatedOutput,
      totalTokens: estimatedInput + estimatedOutput,
    }
    const budget = context.budget
    if (budget === undefined) return this.attempt(request, modelId, estimate, context)
    // Reserved at the dearest version that may answer: the call is priced as the one that does.
    const costUsd = mostCostOf(modelId, estimate, this.prices)
    // A cost limit cannot admit a call whose cost would be unknown: it would be spent without being counted.
    if (costUsd === undefined && budget.maxCostUsd !== undefined) throw unpricedModelError(modelId, this.name)
    // Held until the real usage is recorded, so concurrent calls of one run tree cannot overshoot the budget together;
    // kept for good by an attempt that failed after its request may have been worked on (see mayHaveUsedTokens).
    const hold: BudgetHold = { release: context.reserveBudget({ tokens: estimate.totalTokens, costUsd }), kept: false }
    return this.attempt(request, modelId, estimate, context, hold).finally(() => {
      if (!hold.kept) hold.release()
    })
  }

  /**
   * The output tokens a call may use, per choice: the `maxTokens` the request will carry — its own, else the one the
   * model sends for a request without one (Anthropic's 4,096) — else `outputTokenEstimate`. More than a call is
   * believed to use is a ConfigurationError naming the setting: as large as `1e8 × 2` it is more than any budget or
   * limiter counts, and would be refused under the name of a figure the caller never gave.
   */
  private estimateOutputTokens(request: ChatRequest): number {
    const carried = request.maxTokens ?? this.modelMaxTokens
    const option =
      request.maxTokens !== undefined
        ? 'maxTokens'
        : carried !== undefined
          ? 'model.defaultMaxTokens'
          : 'outputTokenEstimate'
    const perChoice = carried ?? this.outputTokenEstimate
    const choices = Math.max(1, request.n ?? 1)
    const tokens = perChoice * choices
    if (tokens <= maxCredibleTokens) return tokens
    const asked = choices === 1 ? `${option} (${perChoice})` : `${option} × n (${perChoice} × ${choices})`
    throw new ConfigurationError({
      option,
      message: `${asked} asks for more output tokens than a budget or a rate limiter counts (at most 100,000,000 per call); lower it`,
      functionName: this.name,
    })
  }

  /**
   * One attempt. `estimate` is the call's estimated usage, made when a budget or a limiter needs one; it stands for the
   * call's usage when the model reports none.
   */
  private attempt(
    request: ChatRequest,
    modelId: string,
    estimate: Usage | undefined,
    context: RunContext,
    hold?: BudgetHold,
  ): Promise<LLMCallOutput<Mode, Schema>> {
    if (this.rateLimiter === undefined && this.callTimeoutMs === undefined && context.stream === undefined) {
      // The common call: no limiter to wait for, no deadline of its own, no stream. One promise chain and no suspended
      // async frame of its own, which keeps the framework's memory per call in flight small. A run that can be cancelled
      // hands the model its scope (a provider on tinyllm's transport cancels the request through it, and no signal is
      // made unless the model asks for one); a run that can never be cancelled hands nothing.
      const scope = context.cancelScope
      const options = scope.cancellable ? new CallCancellation(scope) : undefined
      try {
        return this.model.doGenerate(request, options).then(
          (result) => this.complete(result, request, modelId, estimate, context, hold),
          hold === undefined
            ? this.rethrowTyped
            : (thrown: unknown) => {
                const error = this.typedModelError(thrown)
                hold.kept = mayHaveUsedTokens(error)
                throw error
              },
        )
      } catch (thrown) {
        // A model that throws instead of rejecting (or returns no promise) fails as a rejection would: typed, and not
        // retried unless its error says so.
        return Promise.reject(this.typedModelError(thrown))
      }
    }
    return this.attemptGuarded(request, modelId, estimate, context, hold)
  }

  /** An attempt through the rate limiter, a per-call deadline or a stream. */
  private async attemptGuarded(
    request: ChatRequest,
    modelId: string,
    estimate: Usage | undefined,
    context: RunContext,
    hold: BudgetHold | undefined,
  ): Promise<LLMCallOutput<Mode, Schema>> {
    const limiter = this.rateLimiter
    // A limiter is never without an estimate: `run` makes one whenever there is a limiter. A limiter that breaks (its
    // `acquire` throws something that is not a tinyllm error) is a bug or a misconfiguration, not a failed call: unretried.
    const permit =
      limiter === undefined
        ? undefined
        : await acquire(limiter, (estimate as Usage).totalTokens, context.cancelScope, hold).catch(this.rethrowTyped)
    const timeoutMs = this.callTimeoutMs
    // The call's own scope under the run's: its deadline, and the one signal handed to the model.
    const scope = new CancelScope(context.cancelScope, {
      timeoutMs,
      timeoutReason:
        timeoutMs === undefined
          ? undefined
          : () => new TimeoutError({ timeoutMs, kind: 'attempt', functionName: this.name, state: 'running' }),
      manual: context.stream !== undefined,
    })
    let result: ChatResult
    try {
      result = this.credible(
        context.stream === undefined
          ? await scope.race(
              this.model.doGenerate(request, scope.cancellable ? new CallCancellation(scope) : undefined),
            )
          : await this.readStream(request, scope, context.stream),
      )
    } catch (thrown) {
      // A call that ran out of its own time fails with that (retryable) timeout, whatever the model threw.
      const error =
        scope.cancelled && !context.cancelScope.cancelled && TimeoutError.isInstance(scope.reason)
          ? scope.reason
          : this.typedModelError(thrown)
      if (hold !== undefined) hold.kept = mayHaveUsedTokens(error)
      if (limiter !== undefined) {
        // A limiter that breaks here does not make the failure retryable (a 400 sent again, say).
        try {
          this.releaseAfterFailure(limiter, permit as RateLimitPermit, error)
        } catch (broken) {
          throw this.typedModelError(broken)
        }
      }
      throw error
    } finally {
      scope.dispose()
    }
    // With no usage reported, nothing replaces the estimate: it stays in the limiter's window. A limiter that breaks
    // here fails the call as the rest of the accounting would, unretried: the answered request is not sent again.
    if (limiter !== undefined) {
      try {
        limiter.settle(permit as RateLimitPermit, (result.usage ?? (estimate as Usage)).totalTokens)
      } catch (broken) {
        throw this.typedModelError(broken)
      }
    }
    return this.complete(result, request, modelId, estimate, context, hold)
  }

  /**
   * One streaming attempt: forwards each delta to the run's stream as it arrives (reasoning only restarts the idle
   * timeout, as does any activity the model reports without a part: a server tool at work, a refusal), fails with a
   * (retryable) idle TimeoutError when the model stays silent for `idleTimeoutMs`, resolves with the finish part's
   * result. A stalled
   * read is abandoned, not awaited, so a model that ignores its signal cannot hang the run; leaving early for any
   * reason cancels the call's scope, which closes the request.
   */
  private async readStream(request: ChatRequest, callScope: CancelScope, stream: StreamListener): Promise<ChatResult> {
    const idleTimeoutMs = this.idleTimeoutMs
    const scope =
      idleTimeoutMs === undefined
        ? callScope
        : new CancelScope(callScope, {
            timeoutMs: idleTimeoutMs,
            timeoutReason: () =>
              new TimeoutError({ timeoutMs: idleTimeoutMs, kind: 'idle', functionName: this.name, state: 'running' }),
          })
    let iterator: AsyncIterator<ChatStreamPart> | undefined
    let finished = false
    try {
      // Inside the try: a model that throws here (or returns no stream) still has its idle scope ended below.
      const options: ChatCallOptions =
        idleTimeoutMs === undefined
          ? { signal: scope.signal }
          : { signal: scope.signal, onActivity: () => scope.restartTimeout(idleTimeoutMs) }
      iterator = this.model.doStream(request, options)[Symbol.asyncIterator]()
      for (;;) {
        const step: IteratorResult<ChatStreamPart> = await scope.race(iterator.next())
        if (step.done === true) {
          throw new ProviderCallError({
            provider: this.model.provider,
            message: `${this.name}: the stream ended without a finish part`,
            retryable: true,
          })
        }
        const part = step.value
        if (part.type === 'finish') {
          finished = true
          return part.result
        }
        if (idleTimeoutMs !== undefined) scope.restartTimeout(idleTimeoutMs)
        // Reasoning shows the model at work, so it counts against the idle timeout, but it is not passed on: the reader
        // has seen nothing of the answer yet, so a call that fails while the model thinks is still retried. So do the
        // other choices of text mode, whose output (and journal entry, which a re-run streams) is the first choice.
        if (part.type !== 'reasoning-delta' && (part.choiceIndex === 0 || this.outputMode !== 'text')) stream(part)
      }
    } finally {
      if (!finished)
        scope.cancel(
          new ProviderCallError({ provider: this.model.provider, message: `${this.name}: stream abandoned` }),
        )
      if (scope !== callScope) scope.dispose()
      if (iterator !== undefined) closeQuietly(iterator)
    }
  }

  /**
   * Records usage, cost, model and request id on the run, checks tool calls, and shapes the output. The request was
   * answered (and paid for): whatever throws here that is not a tinyllm error is not retryable, so it is not sent again
   * — an answer that is no result at all (`null`, say) included. The budget `hold` is released as soon as the usage
   * is recorded: counted twice while the output is validated, it would refuse a concurrent call that fits.
   */
  private complete(
    result: ChatResult,
    request: ChatRequest,
    modelId: string,
    estimate: Usage | undefined,
    context: RunContext,
    hold: BudgetHold | undefined,
  ): Promise<LLMCallOutput<Mode, Schema>> | LLMCallOutput<Mode, Schema> {
    let answer: ChatResult | undefined
    try {
      // Checked here for every path (a result through the limiter was checked before it settled: it passes again).
      answer = this.credible(result)
      const answeredBy = typeof answer.model === 'string' && answer.model !== '' ? answer.model : modelId
      // Usage the model did not report is not zero: the estimate stands for it (so a budget still fills), marked as
      // such; with no estimate made (no budget, no limiter) none is recorded, and the run says the server reported
      // none.
      const usage = answer.usage ?? estimate
      // Priced as the model that answered; when that one has no price, as the model asked for, the price the call was
      // admitted under: a cost budget that admitted it must count what it spent.
      if (usage !== undefined)
        context.addUsage(usage, costOf(answeredBy, usage, this.prices) ?? costOf(modelId, usage, this.prices))
      hold?.release()
      if (answer.usage === undefined) {
        if (estimate === undefined) context.annotate('usageReported', false)
        else context.annotate('usageEstimated', true)
      }
      context.annotate('model', answeredBy)
      // Tokens and cost are on the record's `usage` (this call and every ancestor); only what usage lacks is annotated.
      if (answer.requestId !== undefined) context.annotate('requestId', answer.requestId)
      if (answer.responseId !== undefined) context.annotate('responseId', answer.responseId)
      context.annotate(
        'finishReasons',
        answer.choices.map((choice) => choice.finishReason),
      )
      assertKnownTools(answer, request.tools, { functionName: this.name, state: 'running' }, () =>
        this.model.providerToolNames === undefined ? [] : this.model.providerToolNames(request),
      )
      return this.shapeOutput(answer) as Promise<LLMCallOutput<Mode, Schema>> | LLMCallOutput<Mode, Schema>
    } catch (thrown) {
      // An answer whose usage no total can take was worked on all the same: its estimate stays spent, as after a 5xx.
      if (answer === undefined && hold !== undefined) hold.kept = true
      throw this.typedModelError(thrown)
    }
  }

  /**
   * The result, once its usage figures, if any, are known to be token counts: believed, 1e308 tokens would block a
   * shared rate limiter for its whole window and make every total Infinity. Otherwise a (retryable) malformed-response
   * error. A total below its parts (0 from a model that leaves it out) is taken as their sum: the limiter and the budget
   * count totals, and would otherwise pass tokens that were used.
   */
  private readonly credible = (result: ChatResult): ChatResult => {
    const usage = result.usage
    if (usage === undefined) return result
    // Read once, into figures of its own: a getter that answered a count here cannot answer 1e300 to the limiter.
    const counted = tokenCounts(usage)
    if (typeof counted !== 'string') return { ...result, usage: counted }
    throw new ProviderCallError({
      provider: this.model.provider,
      message: `${this.name}: malformed response: its usage figures are not token counts (${counted})`,
      providerErrorType: 'malformed_response',
      requestId: result.requestId,
      retryable: true,
    })
  }

  /**
   * What a model threw, as a tinyllm error. A model must throw tinyllm errors (the specification says so); anything
   * else is a bug in it, which trying again will not fix, so it is not retryable. The same goes for what the
   * accounting after an answer throws: sending the request again would pay for it again. A refusal the model made
   * without a Function to name (a request it cannot build: a `toolChoice` of a tool it does not send, a strict schema
   * it cannot take) is named after this call, as a refusal of its settings is.
   */
  private typedModelError(thrown: unknown): TinyLLMError {
    if (TinyLLMError.isInstance(thrown)) {
      return ConfigurationError.isInstance(thrown) ? this.namedAsGiven(thrown) : thrown
    }
    return new FunctionError({ functionName: this.name, state: 'running', cause: thrown, retryable: false })
  }

  /**
   * A model's refusal of a request, named as this call's user gave what it refuses: after this call when it names no
   * Function, and with structured output, the response format the model was sent (`responseFormat.schema`) named as
   * the option it came from (`structuredOutput.schema`, or `structuredOutput.jsonSchema` when that was given).
   */
  private namedAsGiven(refusal: ConfigurationError): ConfigurationError {
    const given = refusal.option
    const option =
      this.structuredSchemaOption === undefined || !/^responseFormat(?![A-Za-z0-9_])/.test(given)
        ? given
        : given.startsWith('responseFormat.schema')
          ? this.structuredSchemaOption + given.slice('responseFormat.schema'.length)
          : `structuredOutput${given.slice('responseFormat'.length)}`
    if (refusal.functionName !== undefined && option === given) return refusal
    const named = refusal.functionName === undefined ? '' : `${refusal.functionName}: `
    const message = refusal.message.slice(named.length)
    return new ConfigurationError({
      option,
      message: message.startsWith(given) ? option + message.slice(given.length) : message,
      functionName: refusal.functionName ?? this.name,
      cause: refusal.cause,
    })
  }

  private readonly rethrowTyped = (thrown: unknown): never => {
    throw this.typedModelError(thrown)
  }

  /** A failed attempt: start the shared cool-down on a 429, and give back tokens the provider did not spend. */
  private releaseAfterFailure(limiter: RateLimiterLike, permit: RateLimitPermit, error: unknown): void {
    if (RateLimitError.isInstance(error)) {
      const hint = error.retryAfterMs
      if (typeof hint === 'number' && Number.isFinite(hint) && hint > 0) {
        limiter.coolDown(Math.min(hint, this.retry.maxRetryAfterMs))
      }
    }
    if (!mayHaveUsedTokens(error)) limiter.settle(permit, 0)
  }

  private shapeOutput(result: ChatResult): unknown {
    const structured = this.structuredOutput
    const mode = this.outputMode
    if (structured === undefined) {
      if (mode === 'text') return resultText(result)
      if (mode === 'texts') return result.choices.map((choice) => choice.message.content ?? '')
      return result
    }
    if (mode === 'text') return this.parseStructured(result, 0)
    const values: unknown[] = []
    let pending = false
    for (let index = 0; index < result.choices.length; index++) {
      const value = this.parseStructured(result, index)
      pending ||= isPromiseLike(value)
      values.push(value)
    }
    if (!pending) return mode === 'texts' ? values : { ...result, values }
    return Promise.all(values).then((settled) => (mode === 'texts' ? settled : { ...result, values: settled }))
  }

  private parseStructured(result: ChatResult, index: number): unknown {
    const choice = result.choices[index]
    const text = stripCodeFence(choice?.message.content ?? '')
    const where = result.choices.length > 1 ? ['choices', index] : []
    let value: unknown
    try {
      if (text === '') throw new SyntaxError('the answer is empty')
      value = JSON.parse(text)
    } catch (cause) {
      const truncated = stopHint(choice?.finishReason)
      throw new ValidationError({
        functionName: this.name,
        state: 'running',
        issues: [
          {
            path: where,
            message: `the model's answer is not valid JSON (${(cause as Error).message}${truncated})`,
          },
        ],
        cause,
      })
    }
    const validator = this.structuredValidator as Validator
    if (where.length === 0) return validator.validate(value)
    const located = (error: unknown): never => {
      if (!ValidationError.isInstance(error)) throw error
      throw new ValidationError({
        functionName: this.name,
        state: 'running',
        issues: error.issues.map((issue) => ({ path: [...where, ...issue.path], message: issue.message })),
      })
    }
    try {
      const validated = validator.validate(value)
      return isPromiseLike(validated) ? Promise.resolve(validated).then(undefined, located) : validated
    } catch (error) {
      return located(error)
    }
  }
}

/**
 * Refuses a `providerOptions` key that is another spelling of the model's provider (`OpenAI` or `opneai` for
 * `openai`): the model reads only its own name, so those options would be ignored without a word. Other providers' keys
 * pass, so a request can carry options for several.
 */
function checkProviderOptionKeys(
  providerOptions: ChatSettings['providerOptions'],
  provider: string,
  option: string,
  functionName: string,
): void {
  if (providerOptions === undefined || typeof provider !== 'string') return
  for (const key of Object.keys(providerOptions)) {
    if (key === provider || closestName(key, [provider]) === undefined) continue
    throw new ConfigurationError({
      option: `${option}.${key}`,
      message: `${option}.${key} is not the model's provider; did you mean ${option}.${provider}? The model sends only the options under its provider's name`,
      functionName,
    })
  }
}

/** What the error of a structured answer that is not JSON says about why the model stopped, if anything. */
function stopHint(finishReason: unknown): string {
  if (finishReason === 'length') return '; it was cut off at maxTokens, raise maxTokens'
  if (finishReason === 'content_filter') {
    return '; the model refused or its answer was filtered (finish reason content_filter)'
  }
  return ''
}

/** Every option of {@link LLMCall}, for the classes that check options for unknown keys (a provider's `*Chat`). */
export const llmCallOptionKeys = Object.freeze([
  'name',
  'model',
  'settings',
  'retry',
  'timeoutMs',
  'attemptTimeoutMs',
  'idleTimeoutMs',
  'rateLimiter',
  'prices',
  'output',
  'structuredOutput',
  'outputTokenEstimate',
  'estimateInputTokens',
  'durable',
] as const satisfies ReadonlyArray<keyof LLMCallOptions>)

// Fails to compile when LLMCallOptions gains an option the list (and so every unknown-key check) would reject.
const everyOptionIsListed: Exclude<keyof LLMCallOptions, (typeof llmCallOptionKeys)[number]> extends never
  ? true
  : never = true
void everyOptionIsListed
const llmCallOptionKeySet: ReadonlySet<string> = new Set(llmCallOptionKeys)
const structuredOutputKeys: ReadonlySet<string> = new Set(
  Object.keys({
    name: true,
    schema: true,
    description: true,
    jsonSchema: true,
    strict: true,
  } satisfies Record<keyof StructuredOutputOptions, true>),
)

/**
 * Refuses a chat setting given beside LLMCall's options (`maxTokens`, `top_p`, `temperature`), where a provider's `*Chat`
 * takes them but LLMCall does not, naming it under `settings`, where it belongs: the known-options check would only list
 * LLMCall's own options, which none of them is close to.
 */
function checkNoSettingBeside(options: object, functionName: string): void {
  if (typeof options !== 'object' || options === null) return
  for (const key of Object.keys(options)) {
    if (llmCallOptionKeySet.has(key) || key.length > 64) continue
    const setting = knownSpelling(key, settingKeySet)
    if (setting === undefined || (options as Record<string, unknown>)[key] === undefined) continue
    throw new ConfigurationError({
      option: key,
      message: `${key} is not an option; did you mean settings.${setting}? (an LLMCall takes chat settings under settings)`,
      functionName,
    })
  }
}

/** The refusal of a call whose model has no price, under a budget that limits cost. */
function unpricedModelError(modelId: string, functionName: string): ConfigurationError {
  const id = JSON.stringify(modelId)
  return new ConfigurationError({
    option: 'prices',
    message:
      `model ${id} has no price, so the budget's maxCostUsd cannot admit it (its cost would be unknown); the call was not sent.` +
      ` Give it one: prices: definePrices(defaultPrices, { ${id}: { inputPerMillion, outputPerMillion } })`,
    functionName,
  })
}

/**
 * A token count from `option` (the call's tokenizer, or the model's added tokens). One that throws, or is not a count,
 * is a ConfigurationError, not retried: asking again gives the same answer.
 */
function countTokens(count: () => unknown, functionName: string, option: string): number {
  let tokens: unknown
  try {
    tokens = count()
  } catch (cause) {
    throw new ConfigurationError({
      option,
      message: `${option} threw instead of returning a number of tokens ≥ 0 (the thrown error is the cause)`,
      functionName,
      cause,
    })
  }
  if (typeof tokens === 'number' && Number.isFinite(tokens) && tokens >= 0) return tokens
  throw estimateError(tokens, functionName, option)
}

/** The refusal of a token estimate that is not a count: NaN would admit every call of a budget from then on. */
function estimateError(estimate: unknown, functionName: string, option = 'estimateInputTokens'): ConfigurationError {
  const shown = typeof estimate === 'number' ? String(estimate) : safeStringify(estimate, 60)
  return new ConfigurationError({
    option,
    message: `${option} must return a number of tokens ≥ 0, got ${shown}`,
    functionName,
  })
}

/**
 * The options an LLMCall hands its base Function: its retry policy, {@link llmRetryDefaults} filling what it leaves
 * unset, and its `attemptTimeoutMs` left out (enforced around the model call, so that queueing for the limiter does not
 * eat it). Options whose reading throws (a getter, a Proxy) are a ConfigurationError, as the base's are.
 */
function baseOptions(options: LLMCallOptions<LLMCallOutputMode, StandardSchemaV1>): FunctionOptions {
  const name = nameOf(options)
  try {
    return {
      name: options?.name as string,
      input: inputSchema,
      retry: resolveRetryPolicy(options?.retry, name, llmRetryDefaults),
      ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      durable: options?.durable ?? true,
    }
  } catch (error) {
    throw unreadableOption(error, 'options', name)
  }
}

/** An options object's `name` for an error message, if it can be read and is a string. */
function nameOf(options: unknown): string | undefined {
  try {
    const name = (options as { name?: unknown } | undefined)?.name
    return typeof name === 'string' ? name : undefined
  } catch {
    return undefined
  }
}

/**
 * A permit of `limiter`, waited for in a scope of its own under the run's: the limiter listens to that scope's signal,
 * never to a caller's signal that any number of runs share (which then holds one listener however many calls queue).
 * A call cancelled while it waits was never sent: its budget `hold` is given back as it is cancelled, before anyone
 * awaiting the run hears of it, so the call they make next finds the room it left.
 */
async function acquire(
  limiter: RateLimiterLike,
  tokens: number,
  runScope: CancelScope,
  hold: BudgetHold | undefined,
): Promise<RateLimitPermit> {
  if (!runScope.cancellable) return limiter.acquire({ tokens })
  const waiting = new CancelScope(runScope, { manual: true })
  const giveBack = hold?.release
  if (giveBack !== undefined) waiting.listen(giveBack)
  try {
    const permit = await limiter.acquire({ tokens }, waiting.signal)
    // Granted as the wait was cancelled: the call is not sent, and gives the permit back too.
    if (waiting.cancelled) {
      limiter.settle(permit, 0)
      throw waiting.reason
    }
    return permit
  } finally {
    if (giveBack !== undefined) waiting.unlisten(giveBack)
    waiting.dispose()
  }
}

/** A call's budget reservation, and whether a failed attempt keeps it for good. */
interface BudgetHold {
  readonly release: () => void
  kept: boolean
}

/**
 * Whether a call that failed with `error` after its request was sent may have used tokens: a 4xx answer means the
 * request was refused, not worked on; anything else (a 5xx, a cut stream, a timeout, an abort) may have. Such a call
 * keeps its estimate in the rate limiter's window and in the budget: what it used is unknown, and not taken as zero.
 */
function mayHaveUsedTokens(error: unknown): boolean {
  return !(
    ProviderCallError.isInstance(error) &&
    error.status !== undefined &&
    error.status >= 400 &&
    error.status < 500
  )
}

/** An object, not an array or `null`. */
function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Most tokens one call is believed to have used; any real call is orders of magnitude below. */
const maxCredibleTokens = 100_000_000

/**
 * A response's usage figures, each read once, when they are token counts (a total below its parts raised to their sum);
 * otherwise what is wrong with them.
 */
function tokenCounts(usage: Usage): Usage | string {
  if (typeof usage !== 'object' || usage === null) return `usage is ${String(usage)}`
  const figures = { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
  for (const key of ['inputTokens', 'outputTokens', 'totalTokens'] as const) {
    const value: unknown = usage[key]
    if (typeof value !== 'number' || !(value >= 0 && value <= maxCredibleTokens))
      return `${key}: ${typeof value === 'number' ? String(value) : safeStringify(value, 40)}`
    figures[key] = value
  }
  figures.totalTokens = Math.max(figures.totalTokens, figures.inputTokens + figures.outputTokens)
  return figures
}

function closeQuietly(iterator: AsyncIterator<unknown>): void {
  // Not awaited: a stalled generator would never answer, and the scope's cancellation already closed the request.
  try {
    iterator.return?.().then(undefined, () => {})
  } catch {
    // An iterator whose return() throws has nothing left to clean up.
  }
}

/**
 * The deltas that stream `output`, a completed call's output in `mode`: its text and tool calls, per choice. A text
 * answer streams as the model sent it. A value of `structured` output (`text` and `texts` modes) streams as its JSON
 * (`JSON.stringify`, a string one with its quotes), which is not the text the model sent: whitespace, a Markdown code
 * fence, keys the schema stripped and strict mode's nulls are not in the value. A `result`'s choices stream their text
 * as the result holds it (a strict structured answer with its nulls read back as absent, written again as JSON). An
 * output a subclass made that JSON cannot write (a cycle) streams no text; `result` still has it.
 */
function deltasOf(output: unknown, mode: LLMCallOutputMode, structured: boolean): LLMStreamDelta[] {
  const text = (choiceIndex: number, value: unknown, asJson = structured): LLMStreamDelta[] => {
    let content = ''
    try {
      content = typeof value === 'string' && !asJson ? value : (JSON.stringify(value) ?? '')
    } catch {
      // Nothing to hand out as text: the reader still has the output itself in `result`.
    }
    return content === '' ? [] : [{ type: 'text-delta', choiceIndex, text: content }]
  }
  if (mode === 'text') return text(0, output)
  if (mode === 'texts') return Array.isArray(output) ? output.flatMap((value, index) => text(index, value)) : []
  const choices = (output as Partial<ChatResult> | undefined)?.choices ?? []
  return choices.flatMap((choice) => [
    ...text(choice.index, choice.message.content ?? undefined, false),
    ...toolCallDeltas(choice),
  ])
}
