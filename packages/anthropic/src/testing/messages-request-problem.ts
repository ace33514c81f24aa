import type { BetaToolUnion } from '@anthropic-ai/sdk/resources/beta/messages'
import type {
  Base64ImageSource,
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParams,
  MessageCreateParamsBase,
  Metadata,
  ThinkingConfigParam,
  ToolUnion,
} from '@anthropic-ai/sdk/resources/messages'
import { findStrictSchemaViolation } from '@tinyllm/llm'
import { anthropicStrictRules, anthropicStrictSchemaProblem } from '../anthropic-schema.js'
import { signaturePrefix, thinkingSignature } from './resolved-message.js'
import { toolResultProblem } from './tool-result-problem.js'

/**
 * What Anthropic answers a Messages request it refuses with a 400 `invalid_request_error`, or `undefined`: the checks
 * a client is most likely to fail, each from the API reference (platform.claude.com/docs/en/api/messages) or the
 * types of `@anthropic-ai/sdk`. `version` is the request's `anthropic-version` header, `beta` its `anthropic-beta`
 * header (a comma-separated list of beta features).
 */
export function messagesRequestProblem(
  body: unknown,
  version: string | undefined,
  beta?: string | undefined,
): string | undefined {
  // "When making API requests, you must send an anthropic-version request header" (docs.anthropic.com/en/api/versioning);
  // the SDK always sends it, so a request without one comes from a client that builds its own.
  if (version === undefined) return 'anthropic-version: header is required'
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body is not valid JSON.'
  const candidate = body as Record<string, unknown>
  if (typeof candidate.model !== 'string') return 'model: Field required'
  const betas = betaFeatures(beta)
  return (
    unknownParameterProblem(candidate, version) ??
    maxTokensProblem(candidate.max_tokens, candidate.model, betas) ??
    messagesProblem(candidate.messages) ??
    systemProblem(candidate.system) ??
    metadataProblem(candidate.metadata) ??
    serviceTierProblem(candidate.service_tier) ??
    stopSequencesProblem(candidate.stop_sequences) ??
    samplingProblem(candidate, version) ??
    thinkingProblem(candidate.thinking, candidate.max_tokens as number) ??
    toolsProblem(candidate.tools, betas) ??
    toolChoiceProblem(candidate.tool_choice, candidate.tools) ??
    outputFormatProblem(candidate.output_config) ??
    cacheBreakpointsProblem(candidate) ??
    thinkingBlocksProblem(candidate.messages as Record<string, unknown>[]) ??
    toolUseProblem(candidate.messages as Record<string, unknown>[]) ??
    toolResultProblem(candidate.messages as MessageCreateParams['messages']) ??
    thinkingToolProblem(candidate.thinking, candidate.tool_choice, candidate.messages as Record<string, unknown>[])
  )
}

/**
 * `max_tokens` is a required integer. 0 is valid: the SDK's `MessageCreateParamsBase.max_tokens` says "Set to `0` to
 * populate the prompt cache without generating a response".
 */
function maxTokensProblem(maxTokens: unknown, model: string, betas: ReadonlySet<string>): string | undefined {
  if (typeof maxTokens !== 'number') return 'max_tokens: Field required'
  if (!Number.isInteger(maxTokens)) return 'max_tokens: Input should be a valid integer'
  if (maxTokens < 0) return 'max_tokens: Input should be greater than or equal to 0'
  const id = model.replace(/-(?:\d{8}|latest)$/, '')
  const extended = extendedMaxOutputTokens.get(id)
  const limit = extended !== undefined && betas.has(extended.beta) ? extended.limit : maxOutputTokens.get(id)
  if (limit !== undefined && maxTokens > limit) {
    return `max_tokens: ${maxTokens} > ${limit}, which is the maximum allowed number of output tokens for ${model}`
  }
  return undefined
}

/**
 * The most output tokens each model takes in `max_tokens`, by its id without a date (the "Max output" row of
 * Anthropic's models overview); a request asking for more is refused with a 400 naming the limit. A model missing
 * here is not checked.
 */
const maxOutputTokens: ReadonlyMap<string, number> = new Map([
  ['claude-opus-4-5', 64_000],
  ['claude-opus-4-1', 32_000],
  ['claude-opus-4-0', 32_000],
  ['claude-opus-4', 32_000],
  ['claude-sonnet-4-5', 64_000],
  ['claude-sonnet-4-0', 64_000],
  ['claude-sonnet-4', 64_000],
  ['claude-haiku-4-5', 64_000],
  ['claude-3-7-sonnet', 64_000],
  ['claude-3-5-sonnet', 8_192],
  ['claude-3-5-haiku', 8_192],
  ['claude-3-haiku', 4_096],
  ['claude-3-opus', 4_096],
])

/**
 * The larger limits an `anthropic-beta` feature gives, by model id without a date: Claude 3.7 Sonnet takes 128,000
 * output tokens with `output-128k-2025-02-19`, and 64,000 without.
 */
const extendedMaxOutputTokens: ReadonlyMap<string, { readonly limit: number; readonly beta: string }> = new Map([
  ['claude-3-7-sonnet', { limit: 128_000, beta: 'output-128k-2025-02-19' }],
])

/** The roles of the SDK's `MessageParam`: `UserMessageParam`, `AssistantMessageParam` and `SystemMessageParam`. */
const messageRoles: ReadonlySet<unknown> = new Set(['user', 'assistant', 'system'])

function messagesProblem(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return 'messages: Field required'
  if (messages.length === 0) return 'messages: at least one message is required'
  for (const [index, message] of messages.entries()) {
    if (!isObject(message)) return `messages.${index}: ${notADictionary}`
    if (!messageRoles.has(message.role)) {
      return `messages.${index}.role: Input should be 'user', 'assistant' or 'system'`
    }
    // A `MessageParam` is `{ role, content }`: another key (`name`, `tool_call_id`, another provider's) is refused.
    const extra = Object.keys(message).find((key) => key !== 'role' && key !== 'content')
    if (extra !== undefined) return `messages.${index}.${extra}: Extra inputs are not permitted`
    const problem = contentProblem(message.content, `messages.${index}.content`)
    if (problem !== undefined) return problem
    const finalAssistant = index === messages.length - 1 && message.role === 'assistant'
    if (!finalAssistant && (message.content === '' || (message.content as unknown[]).length === 0)) {
      return `messages.${index}: all messages must have non-empty content except for the optional final assistant message`
    }
    // A final assistant message prefills the answer, which the model continues: it may not end in white space.
    if (finalAssistant && /\s$/.test(finalText(message.content))) {
      return 'messages: final assistant content cannot end with trailing whitespace'
    }
  }
  return textBlocksProblem(messages as Record<string, unknown>[])
}

/** The text a message ends with: its string content, or the text of its last block when that is a text block. */
function finalText(content: unknown): string {
  if (typeof content === 'string') return content
  const last = Array.isArray(content) ? (content.at(-1) as Record<string, unknown> | undefined) : undefined
  return last?.type === 'text' && typeof last.text === 'string' ? last.text : ''
}

/**
 * Every text block of every message must hold text ("messages: text content blocks must be non-empty"), and a message
 * whose text is only white space is refused ("…must contain non-whitespace text"); string content is shorthand for one
 * text block. A blank block beside one with text is taken, as the API takes it.
 */
function textBlocksProblem(messages: readonly Record<string, unknown>[]): string | undefined {
  for (const { content } of messages) {
    // An empty string is no text block: only a final assistant message may be empty, which messagesProblem checks.
    const texts =
      typeof content === 'string'
        ? content === ''
          ? []
          : [content]
        : (content as Record<string, unknown>[])
            .filter((block) => block.type === 'text' && typeof block.text === 'string')
            .map((block) => block.text as string)
    if (texts.includes('')) return 'messages: text content blocks must be non-empty'
    if (texts.length > 0 && texts.every((text) => text.trim() === '')) {
      return 'messages: text content blocks must contain non-whitespace text'
    }
  }
  return undefined
}

/**
 * `MessageParam.content` is `string | Array<ContentBlockParam>` (the SDK's `MessageContentParam`), and every content
 * block is an object tagged by its `type`.
 */
function contentProblem(content: unknown, path: string): string | undefined {
  if (content === undefined) return `${path}: Field required`
  if (typeof content === 'string') return undefined
  if (!Array.isArray(content)) return `${path}: Input should be a valid list`
  for (const [index, block] of content.entries()) {
    if (!isObject(block)) return `${path}.${index}: ${notADictionary}`
    if (typeof block.type !== 'string') return `${path}.${index}: Unable to extract tag using discriminator 'type'`
    if (!blockTypes.has(block.type)) return tagProblem(`${path}.${index}`, block.type, blockTypes)
    if (block.type === 'text' && typeof block.text !== 'string') {
      return `${path}.${index}.text: ${block.text === undefined ? 'Field required' : 'Input should be a valid string'}`
    }
    const problem =
      block.type === 'image'
        ? imageProblem(block.source, `${path}.${index}.image.source`)
        : toolResultImagesProblem(block, `${path}.${index}.tool_result.content`)
    if (problem !== undefined) return problem
  }
  return undefined
}

/** The image blocks a `tool_result` carries (a screenshot), checked as a message's own. */
function toolResultImagesProblem(block: Record<string, unknown>, path: string): string | undefined {
  if (block.type !== 'tool_result' || !Array.isArray(block.content)) return undefined
  for (const [index, part] of (block.content as unknown[]).entries()) {
    if (!isObject(part) || part.type !== 'image') continue
    const problem = imageProblem(part.source, `${path}.${index}.image.source`)
    if (problem !== undefined) return problem
  }
  return undefined
}

/** The tags of the SDK's image sources: `Base64ImageSource`, `URLImageSource` and `FileImageSource`. */
const imageSourceTypes: ReadonlySet<string> = new Set(
  Object.keys({ base64: 0, url: 0, file: 0 } satisfies Record<ImageBlockParam['source']['type'], 0>),
)

/** The image formats the API reads: the SDK's `Base64ImageSource.media_type`. */
const imageMediaTypes: ReadonlySet<unknown> = new Set(
  Object.keys({ 'image/jpeg': 0, 'image/png': 0, 'image/gif': 0, 'image/webp': 0 } satisfies Record<
    Base64ImageSource['media_type'],
    0
  >),
)

/** The field each image source must carry besides its `type` and `media_type`. */
const imageSourceFields: Readonly<Record<string, string>> = { base64: 'data', url: 'url', file: 'file_id' }

/**
 * An image block's `source` is one of the SDK's image sources, tagged by its `type`: base64 `data` of a format the API
 * reads ("…image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"),
 * a `url`, or a `file_id`.
 */
function imageProblem(source: unknown, path: string): string | undefined {
  if (source === undefined) return `${path}: Field required`
  if (!isObject(source)) return `${path}: ${notADictionary}`
  if (typeof source.type !== 'string') return `${path}: Unable to extract tag using discriminator 'type'`
  if (!imageSourceTypes.has(source.type)) return tagProblem(path, source.type, imageSourceTypes)
  const typed = `${path}.${source.type}`
  if (source.type === 'base64' && !imageMediaTypes.has(source.media_type)) {
    const formats = [...imageMediaTypes].map((format) => `'${String(format)}'`)
    return `${typed}.media_type: Input should be ${formats.slice(0, -1).join(', ')} or ${formats.at(-1)}`
  }
  const field = imageSourceFields[source.type] as string
  if (source[field] === undefined) return `${typed}.${field}: Field required`
  if (typeof source[field] !== 'string') return `${typed}.${field}: Input should be a valid string`
  return undefined
}

/** The types of the SDK's `ContentBlockParam`: a block of another type is refused by its tag. */
const blockTypes: ReadonlySet<string> = new Set(
  Object.keys({
    text: 0,
    image: 0,
    document: 0,
    search_result: 0,
    thinking: 0,
    redacted_thinking: 0,
    tool_use: 0,
    tool_result: 0,
    server_tool_use: 0,
    web_search_tool_result: 0,
    web_fetch_tool_result: 0,
    code_execution_tool_result: 0,
    bash_code_execution_tool_result: 0,
    text_editor_code_execution_tool_result: 0,
    tool_search_tool_result: 0,
    container_upload: 0,
  } satisfies Record<ContentBlockParam['type'], 0>),
)

/** The types of the SDK's `ThinkingConfigParam`. */
const thinkingTypes: ReadonlySet<string> = new Set(
  Object.keys({ enabled: 0, disabled: 0, between_tools: 0, adaptive: 0 } satisfies Record<
    ThinkingConfigParam['type'],
    0
  >),
)

/** A tagged union's answer to a tag it does not have. */
function tagProblem(path: string, tag: string, tags: ReadonlySet<string>): string {
  const expected = [...tags].map((name) => `'${name}'`).join(', ')
  return `${path}: Input tag '${tag}' found using 'type' does not match any of the expected tags: ${expected}`
}

/** `metadata` is the SDK's `Metadata`: only `user_id`, a string or null. */
function metadataProblem(metadata: unknown): string | undefined {
  if (metadata === undefined || metadata === null) return undefined
  if (!isObject(metadata)) return `metadata: ${notADictionary}`
  const known = Object.keys({ user_id: 0 } satisfies Record<keyof Metadata, 0>)
  const extra = Object.keys(metadata).find((key) => !known.includes(key))
  if (extra !== undefined) return `metadata.${extra}: Extra inputs are not permitted`
  const userId = metadata.user_id
  if (userId !== undefined && userId !== null && typeof userId !== 'string') {
    return 'metadata.user_id: Input should be a valid string'
  }
  return undefined
}

/** `system` is `string | Array<TextBlockParam>`. */
function systemProblem(system: unknown): string | undefined {
  if (system === undefined || typeof system === 'string') return undefined
  if (!Array.isArray(system)) return 'system: Input should be a valid list'
  for (const [index, block] of system.entries()) {
    if (!isObject(block)) return `system.${index}: ${notADictionary}`
    if (block.type !== 'text') return `system.${index}.type: Input should be 'text'`
    if (typeof block.text !== 'string') return `system.${index}.text: Input should be a valid string`
    if (block.text === '') return 'system: text content blocks must be non-empty'
  }
  return undefined
}

/**
 * `stop_sequences` is `Array<string>`, and the API refuses a sequence that is empty ("each stop sequence must be
 * non-empty") or only white space ("each stop sequence must contain non-whitespace"), such as the `'\n'` OpenAI takes.
 */
function stopSequencesProblem(sequences: unknown): string | undefined {
  if (sequences === undefined) return undefined
  if (!Array.isArray(sequences)) return 'stop_sequences: Input should be a valid list'
  const index = sequences.findIndex((sequence) => typeof sequence !== 'string')
  if (index !== -1) return `stop_sequences.${index}: Input should be a valid string`
  if (sequences.includes('')) return 'stop_sequences: each stop sequence must be non-empty'
  if (sequences.some((sequence: string) => sequence.trim() === '')) {
    return 'stop_sequences: each stop sequence must contain non-whitespace'
  }
  return undefined
}

const notADictionary = 'Input should be a valid dictionary or object to extract fields from'
const toolChoiceTypes: ReadonlySet<unknown> = new Set(['auto', 'any', 'tool', 'none'])

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Every top-level parameter of a Messages request, as the `@anthropic-ai/sdk` types list them (the type check fails
 * when the SDK adds or drops one).
 */
const knownParameters: ReadonlySet<string> = new Set(
  Object.keys({
    max_tokens: 0,
    messages: 0,
    model: 0,
    cache_control: 0,
    container: 0,
    diagnostics: 0,
    inference_geo: 0,
    metadata: 0,
    output_config: 0,
    service_tier: 0,
    speed: 0,
    stop_sequences: 0,
    stream: 0,
    system: 0,
    thinking: 0,
    tool_choice: 0,
    tools: 0,
    user_profile_id: 0,
    workspace_id: 0,
  } satisfies Record<keyof MessageCreateParamsBase, 0>),
)

/** Sampling parameters that API versions before 2026-10-21 take, and that version rejects even at their defaults. */
const removedIn20261021: ReadonlySet<string> = new Set(['temperature', 'top_p', 'top_k'])

/** `service_tier` is the SDK's `'auto' | 'standard_only'`. */
function serviceTierProblem(tier: unknown): string | undefined {
  if (tier === undefined || tier === 'auto' || tier === 'standard_only') return undefined
  return "service_tier: Input should be 'auto' or 'standard_only'"
}

/** A parameter the request's API version does not have (a misspelling, another provider's): "Extra inputs…". */
function unknownParameterProblem(body: Record<string, unknown>, version: string): string | undefined {
  const unknown = Object.keys(body).find(
    (name) => !knownParameters.has(name) && (version >= '2026-10-21' || !removedIn20261021.has(name)),
  )
  return unknown === undefined ? undefined : `${unknown}: Extra inputs are not permitted`
}

function samplingProblem(body: Record<string, unknown>, version: string): string | undefined {
  if (version >= '2026-10-21') return undefined
  // Where older versions take them, the API reference bounds both: temperature "Ranges from `0.0` to `1.0`"
  // (minimum 0, maximum 1), and top_p has minimum 0, maximum 1.
  for (const name of ['temperature', 'top_p']) {
    const value = body[name]
    if (value === undefined) continue
    if (typeof value !== 'number') return `${name}: Input should be a valid number`
    if (value < 0) return `${name}: Input should be greater than or equal to 0`
    if (value > 1) return `${name}: Input should be less than or equal to 1`
  }
  // top_k: "Required range: x >= 0", an integer (the SDK's `top_k?: number`, documented as "Only sample from the top K
  // options").
  const topK = body.top_k
  if (topK !== undefined) {
    if (typeof topK !== 'number' || !Number.isInteger(topK)) return 'top_k: Input should be a valid integer'
    if (topK < 0) return 'top_k: Input should be greater than or equal to 0'
  }
  return thinkingSamplingProblem(body)
}

/**
 * The extended-thinking guide: "Thinking isn't compatible with temperature or top_k modifications", and with thinking
 * on, top_p may be set "to values between 1 and 0.95".
 */
function thinkingSamplingProblem(body: Record<string, unknown>): string | undefined {
  const type = (body.thinking as { type?: unknown } | null | undefined)?.type
  if (type !== 'enabled' && type !== 'adaptive') return undefined
  if (body.temperature !== undefined && body.temperature !== 1) {
    return '`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. Please consult our documentation at https://platform.claude.com/docs/en/build-with-claude/extended-thinking'
  }
  if (typeof body.top_p === 'number' && body.top_p < 0.95) {
    return '`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled'
  }
  if (body.top_k !== undefined) return '`top_k` is not compatible with thinking'
  return undefined
}

/**
 * The SDK's `ThinkingConfigEnabled.budget_tokens`: "Must be ≥1024 and less than `max_tokens`". Only manual extended
 * thinking (`type: 'enabled'`) has a budget.
 */
function thinkingProblem(thinking: unknown, maxTokens: number): string | undefined {
  if (thinking === undefined || thinking === null) return undefined
  if (!isObject(thinking)) return `thinking: ${notADictionary}`
  if (typeof thinking.type !== 'string') return "thinking: Unable to extract tag using discriminator 'type'"
  if (!thinkingTypes.has(thinking.type)) return tagProblem('thinking', thinking.type, thinkingTypes)
  const config = thinking as { type?: unknown; budget_tokens?: unknown }
  if (config.type !== 'enabled') return undefined
  const budget = config.budget_tokens
  if (typeof budget !== 'number' || !Number.isInteger(budget)) {
    return 'thinking.enabled.budget_tokens: Input should be a valid integer'
  }
  if (budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024'
  if (budget >= maxTokens) return '`max_tokens` must be greater than `thinking.budget_tokens`'
  return undefined
}

/**
 * A thinking block sent back must be the one the model produced: its text and signature as they came, and a redacted
 * one its data. A signature this server gave (see `thinkingSignature`) must still match the text; one it did not give
 * (a conversation recorded from the API) cannot be checked here, so it is taken.
 */
function thinkingBlocksProblem(messages: readonly Record<string, unknown>[]): string | undefined {
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue
    for (const [blockIndex, block] of (message.content as Record<string, unknown>[]).entries()) {
      const path = `messages.${index}.content.${blockIndex}`
      if (block.type === 'redacted_thinking' && typeof block.data !== 'string') {
        return `${path}.redacted_thinking.data: Field required`
      }
      if (block.type !== 'thinking') continue
      if (typeof block.thinking !== 'string') return `${path}.thinking.thinking: Field required`
      if (typeof block.signature !== 'string') return `${path}.thinking.signature: Field required`
      if (block.signature.startsWith(signaturePrefix) && block.signature !== thinkingSignature(block.thinking)) {
        return `${path}: Invalid \`signature\` in \`thinking\` block`
      }
    }
  }
  return undefined
}

/**
 * The pattern Anthropic checks a `tool_use` block's id against, as its 400 quotes it
 * (`messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`): ids other providers give
 * (`functions.get_weather:0`, `call_1|fc_1`) are refused.
 */
const toolUseIdPattern = /^[a-zA-Z0-9_-]+$/

/** What Anthropic says of a `tool_use` block's id: none, not a string (`7`, `null`), or not of its pattern. */
function toolUseIdValueProblem(id: unknown): string | undefined {
  if (id === undefined) return 'Field required'
  if (typeof id !== 'string') return 'Input should be a valid string'
  return toolUseIdPattern.test(id) ? undefined : `String should match pattern '${toolUseIdPattern.source}'`
}

/**
 * What Anthropic says of a `tool_use` block's `input`, the SDK's `{ [key: string]: unknown }`: none, or not an object
 * (arguments kept as JSON text, a list, `null`).
 */
function toolUseInputProblem(input: unknown): string | undefined {
  if (input === undefined) return 'Field required'
  return isObject(input) ? undefined : 'Input should be a valid dictionary'
}

/** A `tool_use` block of an assistant turn whose `id` or `input` Anthropic refuses. */
function toolUseProblem(messages: readonly Record<string, unknown>[]): string | undefined {
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue
    for (const [blockIndex, block] of (message.content as Record<string, unknown>[]).entries()) {
      if (block.type !== 'tool_use') continue
      const where = `messages.${index}.content.${blockIndex}.tool_use`
      const id = toolUseIdValueProblem(block.id)
      if (id !== undefined) return `${where}.id: ${id}`
      const input = toolUseInputProblem(block.input)
      if (input !== undefined) return `${where}.input: ${input}`
    }
  }
  return undefined
}

/**
 * What thinking (`enabled` or `adaptive`) demands of tool use. The extended-thinking guide: "Thinking isn't compatible
 * with … forced tool use", so a `tool_choice` of `any` or `tool` is refused. And in a tool loop, the assistant turn
 * whose `tool_use` blocks the last user turn answers must start with the thinking block it was answered with, sent
 * back unchanged; the API's 400 says so in the words below.
 */
function thinkingToolProblem(
  thinking: unknown,
  toolChoice: unknown,
  messages: readonly Record<string, unknown>[],
): string | undefined {
  const type = (thinking as { type?: unknown } | null | undefined)?.type
  if (type !== 'enabled' && type !== 'adaptive') return undefined
  const forced = (toolChoice as { type?: unknown } | null | undefined)?.type
  if (forced === 'any' || forced === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.'
  const last = messages.at(-1)
  const answersTools =
    last?.role === 'user' &&
    Array.isArray(last.content) &&
    (last.content as Record<string, unknown>[]).some((block) => block.type === 'tool_result')
  const index = messages.length - 2
  const turn = messages[index]
  if (!answersTools || turn?.role !== 'assistant') return undefined
  const first = typeof turn.content === 'string' ? 'text' : (turn.content as Record<string, unknown>[])[0]?.type
  if (first === 'thinking' || first === 'redacted_thinking') return undefined
  return (
    `messages.${index}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first)}\`. ` +
    'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the ' +
    'lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous ' +
    'turns. To avoid this requirement, disable `thinking`. Please consult our documentation at ' +
    'https://docs.claude.com/en/docs/build-with-claude/extended-thinking'
  )
}

/**
 * The name pattern Anthropic checks a custom tool's name against, as its 400 quotes it
 * (`tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`), and the API reference gives
 * `Tool.name` minLength 1 and maxLength 128. Older documentation and errors said 64 characters; refusing 65 to 128
 * would fail tests on names the API takes.
 */
const toolNamePattern = /^[a-zA-Z0-9_-]{1,128}$/

/**
 * The tools of the SDK's `ToolUnion` other than a custom `Tool`, by their `type` tag: each has the one `name` given
 * here, or none (a toolset).
 */
const serverToolNames: ReadonlyMap<string, string | undefined> = new Map([
  ['bash_20250124', 'bash'],
  ['code_execution_20250522', 'code_execution'],
  ['code_execution_20250825', 'code_execution'],
  ['code_execution_20260120', 'code_execution'],
  ['code_execution_20260521', 'code_execution'],
  ['browser_toolset_20260801', undefined],
  ['memory_20250818', 'memory'],
  ['computer_toolset_20260801', undefined],
  ['text_editor_20250124', 'str_replace_editor'],
  ['text_editor_20250429', 'str_replace_based_edit_tool'],
  ['text_editor_20250728', 'str_replace_based_edit_tool'],
  ['web_search_20250305', 'web_search'],
  ['web_fetch_20250910', 'web_fetch'],
  ['web_search_20260209', 'web_search'],
  ['web_fetch_20260209', 'web_fetch'],
  ['web_fetch_20260309', 'web_fetch'],
  ['web_search_20260318', 'web_search'],
  ['web_fetch_20260318', 'web_fetch'],
  ['tool_search_tool_bm25_20251119', 'tool_search_tool_bm25'],
  ['tool_search_tool_bm25', 'tool_search_tool_bm25'],
  ['tool_search_tool_regex_20251119', 'tool_search_tool_regex'],
  ['tool_search_tool_regex', 'tool_search_tool_regex'],
])

/** The SDK's beta tool whose `type` tag is `Type`. */
type BetaTool<Type> = Extract<BetaToolUnion, { type: Type }>

/** The fields the SDK's type `Tool` does not mark optional, but for its `type` and `name`. */
type RequiredFields<Tool> = Exclude<
  { [Field in keyof Tool]-?: Pick<Tool, Field> extends Required<Pick<Tool, Field>> ? Field : never }[keyof Tool],
  'type' | 'name'
>

/** The tool types of the SDK's `BetaToolUnion` that its `ToolUnion` lacks, but `mcp_toolset` (see `betaTools`). */
type BetaOnlyToolType = Exclude<NonNullable<BetaToolUnion['type']>, NonNullable<ToolUnion['type']> | 'mcp_toolset'>

/** What the API asks of a beta tool: its one `name`, the `anthropic-beta` feature that turns it on, its other fields. */
interface BetaToolRule<Type> {
  readonly name: BetaTool<Type> extends { readonly name: infer Name } ? Name : never
  readonly beta: string
  /** Every field the SDK's type requires besides `type` and `name`. */
  readonly required: Readonly<Record<RequiredFields<BetaTool<Type>>, 0>>
}

/**
 * The tools of the SDK's `BetaToolUnion` that its `ToolUnion` lacks, by their `type` tag, with what the API asks of
 * each, read off the SDK's types (the type check fails when the SDK adds a tool, renames one, or requires another
 * field): its one `name`, the `anthropic-beta` feature that turns it on, and the fields it must carry (a computer
 * tool's `display_width_px` and `display_height_px`, the advisor's `model`). Without that feature the API does not
 * know their tag and refuses them as any unknown tool type (Anthropic's computer use guide: `computer_20250124` needs
 * `computer-use-2025-01-24`, `computer_20251124` needs `computer-use-2025-11-24`, and the 2024-10-22 tools need
 * `computer-use-2024-10-22`). `mcp_toolset` is left out: it needs `mcp_servers`, a parameter the API has only in its
 * beta.
 */
const betaTools = {
  computer_20241022: {
    name: 'computer',
    beta: 'computer-use-2024-10-22',
    required: { display_height_px: 0, display_width_px: 0 },
  },
  text_editor_20241022: { name: 'str_replace_editor', beta: 'computer-use-2024-10-22', required: {} },
  bash_20241022: { name: 'bash', beta: 'computer-use-2024-10-22', required: {} },
  computer_20250124: {
    name: 'computer',
    beta: 'computer-use-2025-01-24',
    required: { display_height_px: 0, display_width_px: 0 },
  },
  computer_20251124: {
    name: 'computer',
    beta: 'computer-use-2025-11-24',
    required: { display_height_px: 0, display_width_px: 0 },
  },
  advisor_20260301: { name: 'advisor', beta: 'advisor-tool-2026-03-01', required: { model: 0 } },
} satisfies { readonly [Type in BetaOnlyToolType]: BetaToolRule<Type> }

/** The fields each beta tool type must carry besides `type` and `name`, in the order the SDK's types list them. */
const betaRequiredFields: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries(betaTools).map(([type, { required }]) => [type, Object.keys(required)]),
)

/** The beta features an `anthropic-beta` header turns on: the names it lists, separated by commas. */
function betaFeatures(header: string | undefined): ReadonlySet<string> {
  if (header === undefined) return new Set()
  return new Set(header.split(',').map((feature) => feature.trim()))
}

/**
 * The name each tool type the request may use must have (`undefined` for a toolset): the generally available ones,
 * and the beta ones whose feature `betas` turns on.
 */
function toolNamesFor(betas: ReadonlySet<string>): ReadonlyMap<string, string | undefined> {
  if (betas.size === 0) return serverToolNames
  const names = new Map(serverToolNames)
  for (const [type, { name, beta }] of Object.entries(betaTools)) if (betas.has(beta)) names.set(type, name)
  return names
}

/**
 * A custom tool (the SDK's `Tool`, with `type` absent, null or `'custom'`) needs a valid name and an `input_schema`
 * whose type is `'object'` (`Tool.InputSchema`). Server tools (`web_search_20250305`…) have fixed names and no schema,
 * and a beta tool the fields its SDK type requires (`display_width_px` and `display_height_px` of a computer tool);
 * a `type` of no tool the API knows (a misspelt version, another provider's `function`, a beta tool without its
 * `anthropic-beta` feature) is refused, never passed over.
 */
function toolsProblem(tools: unknown, betas: ReadonlySet<string>): string | undefined {
  if (tools === undefined || tools === null) return undefined
  const known = toolNamesFor(betas)
  // The SDK's `tools?: Array<ToolUnion>`: another type is no list of tools.
  if (!Array.isArray(tools)) return 'tools: Input should be a valid list'
  for (const [index, tool] of tools.entries()) {
    if (!isObject(tool)) return `tools.${index}: ${notADictionary}`
    const candidate = tool as { type?: unknown; name?: unknown; input_schema?: unknown }
    const { type } = candidate
    if (type !== undefined && type !== null && type !== 'custom') {
      if (typeof type !== 'string' || !known.has(type)) {
        const tags = ['custom', ...known.keys()].map((tag) => `'${tag}'`).join(', ')
        return `tools.${index}: Input tag '${String(type)}' found using 'type' does not match any of the expected tags: ${tags}`
      }
      const name = known.get(type)
      if (name !== undefined && candidate.name !== name) return `tools.${index}.${type}.name: Input should be '${name}'`
      const missing = betaRequiredFields.get(type)?.find((field) => tool[field] === undefined)
      if (missing !== undefined) return `tools.${index}.${type}.${missing}: Field required`
      continue
    }
    const path = `tools.${index}.custom`
    if (typeof candidate?.name !== 'string') return `${path}.name: Field required`
    if (!toolNamePattern.test(candidate.name)) {
      return `${path}.name: String should match pattern '${toolNamePattern.source}'`
    }
    const schema = candidate.input_schema as Record<string, unknown> | null | undefined
    if (schema === undefined) return `${path}.input_schema: Field required`
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      return `${path}.input_schema: Input should be a valid dictionary`
    }
    if (schema.type !== 'object') return `${path}.input_schema.type: Input should be 'object'`
    if (['oneOf', 'allOf', 'anyOf'].some((keyword) => keyword in schema)) {
      return `${path}.input_schema: input_schema does not support oneOf, allOf, or anyOf at the top level`
    }
  }
  const names = tools.map((tool) => (tool as { name?: unknown } | null)?.name).filter((name) => name !== undefined)
  if (new Set(names).size < names.length) return 'tools: Tool names must be unique.'
  return strictToolProblem(tools)
}

/**
 * The fields besides `type` of each of the SDK's `ToolChoiceAuto`, `ToolChoiceAny`, `ToolChoiceTool` and
 * `ToolChoiceNone`: another is refused ("Extra inputs are not permitted").
 */
const toolChoiceFields: Readonly<Record<string, readonly string[]>> = {
  auto: ['disable_parallel_tool_use'],
  any: ['disable_parallel_tool_use'],
  tool: ['name', 'disable_parallel_tool_use'],
  none: [],
}

/**
 * A `tool_choice` must choose among the tools sent: any but `none` needs `tools` ("tool_choice may only be specified
 * while providing tools."), and `{ type: 'tool', name }` a tool of that name.
 */
function toolChoiceProblem(toolChoice: unknown, tools: unknown): string | undefined {
  if (toolChoice === undefined || toolChoice === null) return undefined
  // The SDK's `ToolChoice` is an object tagged by `type` (`'auto'`, `'any'`, `'tool'`, `'none'`), never a bare string.
  if (!isObject(toolChoice)) return `tool_choice: ${notADictionary}`
  const choice = toolChoice as { type?: unknown; name?: unknown }
  if (!toolChoiceTypes.has(choice.type))
    return `tool_choice: Input tag '${String(choice.type)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`
  const path = `tool_choice.${String(choice.type)}`
  const fields = toolChoiceFields[choice.type as string] ?? []
  const extra = Object.keys(toolChoice).find((key) => key !== 'type' && !fields.includes(key))
  if (extra !== undefined) return `${path}.${extra}: Extra inputs are not permitted`
  const flag = (toolChoice as { disable_parallel_tool_use?: unknown }).disable_parallel_tool_use
  if (flag !== undefined && typeof flag !== 'boolean') {
    return `${path}.disable_parallel_tool_use: Input should be a valid boolean`
  }
  if (choice.type === 'tool' && choice.name === undefined) return `${path}.name: Field required`
  if (choice.type === 'tool' && typeof choice.name !== 'string') return `${path}.name: Input should be a valid string`
  if (choice.type === 'none') return undefined
  const offered = Array.isArray(tools) ? (tools as ({ name?: unknown } | null)[]) : []
  if (offered.length === 0) return 'tool_choice may only be specified while providing tools.'
  if (choice.type !== 'tool' || offered.some((tool) => tool?.name === choice.name)) return undefined
  return `Tool '${String(choice.name)}' not found in provided tools`
}

/** The prompt-caching guide: "You can define up to 4 cache breakpoints" in one request. */
const maxCacheBreakpoints = 4

/**
 * A breakpoint is a block with a `cache_control` (`null` sets none): a tool, a system text block, a message's content
 * block, or a block inside a `tool_result`. More than 4 are refused, in the API's words.
 */
function cacheBreakpointsProblem(body: Record<string, unknown>): string | undefined {
  const blocks: unknown[] = [...listed(body.tools), ...listed(body.system)]
  for (const message of listed(body.messages)) {
    for (const block of listed((message as { content?: unknown }).content)) {
      blocks.push(block)
      if ((block as { type?: unknown }).type === 'tool_result')
        blocks.push(...listed((block as { content?: unknown }).content))
    }
  }
  const found = blocks.filter(
    (block) => isObject(block) && block.cache_control !== undefined && block.cache_control !== null,
  ).length
  if (found <= maxCacheBreakpoints) return undefined
  return `A maximum of ${maxCacheBreakpoints} blocks with cache_control may be provided. Found ${found}.`
}

/** `value` when it is a list (string content, an absent `system`: no blocks). */
function listed(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : []
}

/**
 * The SDK's `OutputConfig.format` is a `JSONOutputFormat`: `type: 'json_schema'` and a required `schema`, whose
 * objects must be closed.
 */
function outputFormatProblem(outputConfig: unknown): string | undefined {
  const format = (outputConfig as { format?: unknown } | null | undefined)?.format
  if (format === undefined || format === null) return undefined
  const { type, schema } = format as { type?: unknown; schema?: unknown }
  if (type !== 'json_schema') return "output_config.format.type: Input should be 'json_schema'"
  if (schema === undefined) return 'output_config.format.schema: Field required'
  const problem = strictSchemaProblem(schema)
  return problem === undefined ? undefined : `output_config.format.schema: ${problem}`
}

function strictToolProblem(tools: readonly unknown[]): string | undefined {
  for (const [index, tool] of tools.entries()) {
    const { strict, input_schema } = tool as { strict?: unknown; input_schema?: unknown }
    const problem = strict === true ? strictSchemaProblem(input_schema) : undefined
    if (problem !== undefined) return `tools.${index}.custom.input_schema: ${problem}`
  }
  return undefined
}

/** What Anthropic's strict mode refuses in a schema, in its words; `undefined` when it takes the schema. */
function strictSchemaProblem(schema: unknown): string | undefined {
  const violation = findStrictSchemaViolation(schema, anthropicStrictRules)
  return violation === undefined ? undefined : anthropicStrictSchemaProblem(violation)
}
