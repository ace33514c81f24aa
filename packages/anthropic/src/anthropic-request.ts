import type {
  ToolChoice as AnthropicToolChoice,
  ContentBlockParam,
  MessageCreateParamsNonStreaming,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages'
import { ConfigurationError, checkNumber, optionError, safeStringify } from '@tinyllm/core'
import {
  type AssistantMessage,
  assertObjectParameters,
  assertStrictSchemaAccepted,
  type ChatMessage,
  type ChatRequest,
  type ChatSettings,
  type JsonSchema,
  maxTokensRule,
  type ReasoningPart,
  type ToolCallIdRule,
  type ToolChoice,
  type ToolDefinition,
  toolsToSend,
  toProviderToolCallId,
  toStopSequences,
  toStrictJsonSchema,
} from '@tinyllm/llm'
import { anthropicProfile } from './anthropic-profile.js'
import { anthropicStrictRules, anthropicStrictSchemaProblem, withoutRefusedConstraints } from './anthropic-schema.js'
import { toolsetMemberNames } from './anthropic-toolsets.js'

/** The defaults a request falls back on. */
export interface RequestDefaults {
  readonly model: string
  readonly maxTokens: number
}

/**
 * Settings of the provider-neutral specification that Anthropic's Messages API (version 2026-10-21, which
 * `@anthropic-ai/sdk` 1.x speaks) does not accept, with what to do instead.
 */
const unsupported: ReadonlyArray<readonly [keyof ChatSettings, string]> = [
  [
    'temperature',
    "Anthropic's Messages API version 2026-10-21 rejects temperature, even at its default. For an older API version, send it through providerOptions.anthropic.temperature with headers { 'anthropic-version': '2023-06-01' }",
  ],
  [
    'topP',
    "Anthropic's Messages API version 2026-10-21 rejects top_p. For an older API version, send it through providerOptions.anthropic.top_p with headers { 'anthropic-version': '2023-06-01' }",
  ],
  ['seed', "Anthropic's Messages API has no seed"],
  ['presencePenalty', "Anthropic's Messages API has no presence penalty"],
  ['frequencyPenalty', "Anthropic's Messages API has no frequency penalty"],
]

const topLevelUnions = ['anyOf', 'oneOf', 'allOf'] as const

/** The smallest `thinking.budget_tokens` the Messages API takes. */
const minThinkingBudgetTokens = 1024

/**
 * Throws a {@link ConfigurationError} naming the first setting that Anthropic's Messages API cannot honour: `n > 1`,
 * `temperature`, `topP`, `seed`, the penalties, a `json_object` response format, a `maxTokens` that is not an
 * integer from 1 to 100,000,000, a `stop` sequence that is empty or only white space, or a tool whose parameters are a
 * list, of a type other than `'object'`, or a union (`anyOf`, `oneOf`, `allOf` at the top level), and with thinking
 * on (`providerOptions.anthropic.thinking`) a `budget_tokens` that is not an integer of at least 1024, or a tool choice
 * that forces tool use (`toolChoice`, else
 * `providerOptions.anthropic.tool_choice`). `owner` names the Function (or model) in the message.
 */
export function assertSupportedSettings(settings: ChatSettings, owner?: string): void {
  if (settings.n !== undefined && settings.n !== 1) {
    throw new ConfigurationError({
      option: 'n',
      message: `n > 1 is unsupported: Anthropic's Messages API returns one choice per call, so n must be 1 (got ${settings.n}); make ${settings.n} calls instead`,
      functionName: owner,
    })
  }
  for (const [option, reason] of unsupported) {
    if (settings[option] !== undefined) {
      throw new ConfigurationError({ option, message: `${option} is unsupported: ${reason}`, functionName: owner })
    }
  }
  checkNumber(settings.maxTokens, 'maxTokens', maxTokensRule, owner)
  // The API answers 400 "each stop sequence must contain non-whitespace" (or "must be non-empty"), even to the '\n'
  // that OpenAI takes, so a prompt moved over from OpenAIChat fails here, not at every call.
  const blank = toStopSequences(settings.stop)?.find(
    (sequence) => typeof sequence === 'string' && sequence.trim() === '',
  )
  if (blank !== undefined) {
    throw new ConfigurationError({
      option: 'stop',
      message: `stop ${JSON.stringify(blank)} is unsupported: Anthropic's Messages API refuses a stop sequence that is empty or only white space`,
      functionName: owner,
    })
  }
  // "input_schema.type: Input should be 'object'": one without a type is sent as an object, one of another type (or a
  // list, which would be sent as an empty object) is refused here rather than with a 400.
  assertObjectParameters(settings.tools, "Anthropic's input_schema is an object", owner)
  // "input_schema does not support oneOf, allOf, or anyOf at the top level", strict or not.
  for (const [index, tool] of (settings.tools ?? []).entries()) {
    const union = topLevelUnions.find((keyword) => tool?.parameters?.[keyword] !== undefined)
    if (union !== undefined) {
      throw new ConfigurationError({
        option: `tools[${index}].parameters`,
        message: `tools[${index}].parameters has ${union} at the top level, which Anthropic's input_schema does not support; wrap the union in an object (z.object({ value: … }))`,
        functionName: owner,
      })
    }
  }
  const extras = settings.providerOptions?.anthropic as
    | { thinking?: { type?: unknown; budget_tokens?: unknown }; tool_choice?: { type?: unknown } | null }
    | undefined
  // max_tokens is always sent, from maxTokens or the model's default: one given here would be dropped unseen.
  const passedMaxTokens = (extras as { max_tokens?: unknown } | undefined)?.max_tokens
  if (passedMaxTokens !== undefined) {
    throw optionError(
      'providerOptions.anthropic.max_tokens',
      'absent (set maxTokens, which is sent as max_tokens and which a budget counts)',
      passedMaxTokens,
      owner,
    )
  }
  const thinking = extras?.thinking
  // "budget_tokens: Input should be greater than or equal to 1024". (That it be under max_tokens holds only without
  // interleaved thinking, a beta this request does not see: left to the API.)
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens
    if (typeof budget !== 'number' || !Number.isSafeInteger(budget) || budget < minThinkingBudgetTokens) {
      throw optionError(
        'providerOptions.anthropic.thinking.budget_tokens',
        `an integer ≥ ${minThinkingBudgetTokens}`,
        budget,
        owner,
      )
    }
  }
  // "Thinking may not be enabled when tool_choice forces tool use." The tool choice sent is the request's, else (when
  // it sends none) the one in providerOptions.anthropic.
  const requested = toolsToSend(settings).toolChoice
  const passed = extras?.tool_choice
  const forced =
    requested === undefined
      ? passed?.type === 'any' || passed?.type === 'tool'
      : requested === 'required' || typeof requested === 'object'
  const [option, choice] =
    requested === undefined ? ['providerOptions.anthropic.tool_choice', passed] : ['toolChoice', requested]
  if (forced && (thinking?.type === 'enabled' || thinking?.type === 'adaptive')) {
    throw new ConfigurationError({
      option,
      message: `${option} ${safeStringify(choice)} is unsupported with extended thinking: Anthropic's Messages API refuses a tool choice that forces tool use while thinking is on; use 'auto', or turn thinking off`,
      functionName: owner,
    })
  }
  if (settings.responseFormat?.type === 'json_object') {
    throw new ConfigurationError({
      option: 'responseFormat',
      message:
        "responseFormat json_object is unsupported: Anthropic's Messages API has no free-form JSON mode; use { type: 'json_schema', schema } (sent as output_config.format)",
      functionName: owner,
    })
  }
}

/**
 * Builds the body of `POST /v1/messages` from a provider-neutral request. Every setting either reaches the body or
 * is rejected with a {@link ConfigurationError} naming it, before anything is sent. A JSON-schema response format
 * (which Anthropic always enforces) and tools with `strict: true` are sent with their schemas made strict-mode valid
 * (see `toStrictJsonSchema`), the constraints Anthropic refuses moved into descriptions (see `withoutRefusedConstraints`). `providerOptions.anthropic` is merged in under the mapped fields (a field given both
 * ways is sent from the request, but for `tools`: both lists are sent), never with its `stream`.
 */
export function toMessageCreateParams(
  request: ChatRequest,
  defaults: RequestDefaults,
): MessageCreateParamsNonStreaming {
  assertSupportedSettings(request)
  const maxTokens = request.maxTokens ?? defaults.maxTokens
  const { system, messages } = toAnthropicMessages(request.messages)
  const body: MessageCreateParamsNonStreaming = {
    model: request.model ?? defaults.model,
    max_tokens: maxTokens,
    messages,
  }
  if (system !== undefined) body.system = system
  const stop = toStopSequences(request.stop)
  if (stop !== undefined) body.stop_sequences = stop
  const { tools, toolChoice } = toolsToSend(request)
  if (tools !== undefined) body.tools = tools.map(toAnthropicTool)
  if (toolChoice !== undefined) body.tool_choice = toAnthropicToolChoice(toolChoice)
  if (request.user !== undefined) body.metadata = { user_id: request.user }
  const format = request.responseFormat
  if (format?.type === 'json_schema') {
    const schema = toAnthropicStrictSchema(format.schema, 'responseFormat.schema')
    body.output_config = { format: { type: 'json_schema', schema: { ...schema } } }
  }
  const extras = request.providerOptions?.anthropic
  if (extras === undefined) return withChosenToolSent(body)
  // Extras go under what the request maps, so they cannot change its messages, model or maxTokens, nor make it stream.
  const merged = { ...extras, ...body } as MessageCreateParamsNonStreaming & { stream?: unknown }
  delete merged.stream
  // Extras such as { output_config: { effort } } add to the structured-output format rather than replace it.
  if (body.output_config !== undefined && typeof extras.output_config === 'object' && extras.output_config !== null) {
    merged.output_config = { ...(extras.output_config as object), ...body.output_config }
  }
  // Tools given here (Anthropic's own: web search, bash…) go beside the request's, never dropped for them.
  if (body.tools !== undefined && Array.isArray(extras.tools)) {
    merged.tools = [...body.tools, ...(extras.tools as NonNullable<MessageCreateParamsNonStreaming['tools']>)]
  }
  return withChosenToolSent(merged)
}

/**
 * `body`, once its `tool_choice` is known to name a tool it sends: the request's own or one of
 * `providerOptions.anthropic.tools` (a server tool such as `web_search`). A choice of a tool sent neither way, or of
 * `any` with no tool sent, is a {@link ConfigurationError} naming the tools sent, where the API would answer 400
 * "Tool '…' not found in provided tools" or "tool_choice may only be specified while providing tools".
 */
function withChosenToolSent(body: MessageCreateParamsNonStreaming): MessageCreateParamsNonStreaming {
  const choice = body.tool_choice
  const sent = Array.isArray(body.tools) ? body.tools.map((tool) => (tool as { name?: unknown } | null)?.name) : []
  const names = sent.filter((name): name is string => typeof name === 'string')
  const listed = names.length === 0 ? 'none' : names.map((name) => safeStringify(name, 100)).join(', ')
  // `any` ('required') with no tool at all: "tool_choice may only be specified while providing tools."
  if (choice?.type === 'any' && sent.length === 0) {
    throw new ConfigurationError({
      option: 'toolChoice',
      message:
        'toolChoice "required" needs a tool to choose (tools sent: none); give tools or providerOptions.anthropic.tools',
    })
  }
  if (choice?.type !== 'tool' || sent.includes(choice.name)) return body
  throw new ConfigurationError({
    option: 'toolChoice',
    message: `toolChoice names tool ${safeStringify(choice.name, 100)}, which the request does not send (tools sent: ${listed}); name one of tools or of providerOptions.anthropic.tools`,
  })
}

/**
 * The names of the tools `providerOptions.anthropic.tools` sends beside the request's own (Anthropic's, such as
 * `bash`, or custom ones), and of the members of the toolsets it sends (`left_click` of `computer_toolset_20260801`).
 */
export function providerToolNames(request: ChatRequest): string[] {
  const tools = (request.providerOptions?.anthropic as { tools?: unknown } | undefined)?.tools
  if (!Array.isArray(tools)) return []
  const names: string[] = []
  for (const tool of tools) {
    const name = (tool as { name?: unknown } | null)?.name
    if (typeof name === 'string') names.push(name)
    else names.push(...toolsetMemberNames(tool))
  }
  return names
}

/**
 * Leading system messages become the `system` field (joined by a blank line); a system message later in the
 * conversation stays in place as a `system` turn; an empty or blank one is left out. Tool results become
 * `tool_result` blocks of a user turn, together with the results and user text that follow them.
 */
function toAnthropicMessages(chat: ReadonlyArray<ChatMessage>): {
  system: string | undefined
  messages: MessageParam[]
} {
  const system: string[] = []
  const messages: MessageParam[] = []
  // The user turn that carries tool results, while further results (and user text) may still join it.
  let toolResultTurn: ContentBlockParam[] | undefined
  for (const [index, message] of chat.entries()) {
    switch (message.role) {
      case 'system':
        // An empty or blank one says nothing, and as a turn the API refuses it ("all messages must have non-empty
        // content"): left out, as a prompt template's empty optional instruction is on OpenAI in effect.
        if (typeof message.content === 'string' && message.content.trim() === '') break
        if (messages.length === 0) system.push(message.content)
        else messages.push({ role: 'system', content: message.content })
        toolResultTurn = undefined
        break
      case 'user':
        if (toolResultTurn !== undefined) toolResultTurn.push({ type: 'text', text: message.content })
        else messages.push({ role: 'user', content: message.content })
        toolResultTurn = undefined
        break
      case 'tool': {
        const result: ToolResultBlockParam = {
          type: 'tool_result',
          tool_use_id: toAnthropicToolId(message.toolCallId),
          content: message.content,
        }
        if (toolResultTurn !== undefined) toolResultTurn.push(result)
        else {
          toolResultTurn = [result]
          messages.push({ role: 'user', content: toolResultTurn })
        }
        break
      }
      case 'assistant': {
        const content = assistantContent(message, index)
        // An answer with nothing in it (Anthropic's own empty answer, or blank text) is refused anywhere but last ("all
        // messages must have non-empty content"): left out, the turns around it are one, as the API joins them.
        if (index < chat.length - 1 && (typeof content === 'string' ? content.trim() === '' : content.length === 0))
          break
        messages.push({ role: 'assistant', content })
        toolResultTurn = undefined
        break
      }
    }
  }
  return { system: system.length === 0 ? undefined : system.join('\n\n'), messages }
}

/**
 * An assistant turn's blocks in the order the model produced them: its thinking (sent back unchanged, as the API
 * requires of the turn a tool loop answers), its text (unless only white space), then its tool calls. A turn with text
 * alone stays a string.
 */
function assistantContent(
  message: Extract<ChatMessage, { role: 'assistant' }>,
  index: number,
): string | ContentBlockParam[] {
  const toolCalls = message.toolCalls ?? []
  const blocks = thinkingBlocks(message.reasoning)
  if (toolCalls.length === 0 && blocks.length === 0) return message.content ?? ''
  // The model may put white space before its tool calls ("\n\n"), which the API refuses in a text block it is sent.
  if (message.content?.trim()) blocks.push({ type: 'text', text: message.content } satisfies TextBlockParam)
  for (const [callIndex, call] of toolCalls.entries()) {
    blocks.push({
      type: 'tool_use',
      id: toAnthropicToolId(call.id),
      name: call.name,
      input: parseToolArguments(call.arguments, `messages[${index}].toolCalls[${callIndex}].arguments`),
    })
  }
  return blocks
}

/**
 * The tool call ids Anthropic takes ("tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"): another provider's
 * (`functions.get_weather:0`, `call_1|fc_1`) is sent with its other characters replaced and a digest appended.
 */
const anthropicToolIds: ToolCallIdRule = { disallowed: /[^a-zA-Z0-9_-]/g }

function toAnthropicToolId(id: string): string {
  return toProviderToolCallId(id, anthropicToolIds)
}

/**
 * The reasoning Anthropic produced, as the `thinking` (text and signature) and `redacted_thinking` (data) blocks it came
 * as. Reasoning from another provider, or without the signature or data Anthropic checks it by, is not sent: the API
 * would refuse it.
 */
function thinkingBlocks(reasoning: AssistantMessage['reasoning']): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = []
  if (!Array.isArray(reasoning)) return blocks
  for (const part of reasoning as ReadonlyArray<Partial<ReasoningPart> | null>) {
    if (part?.provider !== anthropicProfile.provider) continue
    if (typeof part.redactedData === 'string') blocks.push({ type: 'redacted_thinking', data: part.redactedData })
    else if (typeof part.signature === 'string' && typeof part.text === 'string') {
      blocks.push({ type: 'thinking', thinking: part.text, signature: part.signature })
    }
  }
  return blocks
}

/** Anthropic takes a tool call's input as a JSON object, where the specification carries the model's JSON text. */
function parseToolArguments(text: string, option: string): Record<string, unknown> {
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new ConfigurationError({
      option,
      message: `${option} is not valid JSON (${(error as Error).message})`,
      cause: error,
    })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError({
      option,
      message: `${option} must be a JSON object: Anthropic takes tool input as an object`,
    })
  }
  return parsed as Record<string, unknown>
}

/**
 * A schema as Anthropic's structured outputs and strict tools take it: made strict-mode valid (see
 * `toStrictJsonSchema`), the constraints Anthropic refuses moved into descriptions (see `withoutRefusedConstraints`).
 * A recursive schema, which they refuse with a 400, is a {@link ConfigurationError} naming its `$ref`, as is one they
 * refuse for what strict mode leaves as it is (an open object under `not`, see `anthropicStrictRules`).
 */
function toAnthropicStrictSchema(schema: JsonSchema, option: string): Record<string, unknown> {
  const sent = withoutRefusedConstraints(toStrictJsonSchema(schema, option).schema)
  assertStrictSchemaAccepted(sent, anthropicStrictRules, {
    option,
    provider: 'Anthropic',
    describe: anthropicStrictSchemaProblem,
  })
  return sent
}

function toAnthropicTool(tool: ToolDefinition, index: number): Tool {
  const parameters =
    tool.strict === true ? toAnthropicStrictSchema(tool.parameters, `tools[${index}].parameters`) : tool.parameters
  const definition: Tool = { name: tool.name, input_schema: { type: 'object', ...parameters } }
  if (tool.description !== undefined) definition.description = tool.description
  if (tool.strict !== undefined) definition.strict = tool.strict
  return definition
}

function toAnthropicToolChoice(choice: ToolChoice): AnthropicToolChoice {
  switch (choice) {
    case 'auto':
      return { type: 'auto' }
    case 'none':
      return { type: 'none' }
    case 'required':
      return { type: 'any' }
    default:
      return { type: 'tool', name: choice.name }
  }
}
