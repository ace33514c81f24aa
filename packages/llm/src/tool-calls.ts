import {
  brandError,
  optionError,
  type StandardSchemaV1,
  safeStringify,
  TinyLLMError,
  unreadableOption,
  ValidationError,
  type ValidationIssue,
  Validator,
} from '@tinyllm/core'
import type { ChatResult, ToolCall, ToolDefinition } from './chat-model.js'
import { locatedError } from './located-error.js'

/**
 * Why a tool call is unusable: `unknown-tool` (the model named a tool the request did not offer), `invalid-json`
 * (its arguments are not JSON), `invalid-arguments` (they do not match the tool's schema).
 */
export type ToolCallErrorReason = 'unknown-tool' | 'invalid-json' | 'invalid-arguments'

/** A tool call from the model cannot be used as it is. Not retryable by default. */
export class ToolCallError extends TinyLLMError {
  override readonly name = 'ToolCallError'
  declare static isInstance: (error: unknown) => error is ToolCallError
  readonly reason: ToolCallErrorReason
  readonly toolName: string
  readonly toolCallId: string
  /** For `unknown-tool`: the tools the request offered. */
  readonly availableTools: ReadonlyArray<string> | undefined
  /** For `invalid-arguments`: what the schema found wrong, with paths. */
  readonly issues: ReadonlyArray<ValidationIssue> | undefined

  constructor(options: {
    reason: ToolCallErrorReason
    message: string
    toolName: string
    toolCallId: string
    availableTools?: ReadonlyArray<string>
    issues?: ReadonlyArray<ValidationIssue>
    functionName?: string
    state?: string
    cause?: unknown
  }) {
    super(locatedError(options))
    this.reason = options.reason
    this.toolName = options.toolName
    this.toolCallId = options.toolCallId
    this.availableTools = options.availableTools
    this.issues = options.issues
  }
}
brandError(ToolCallError, 'ToolCallError')

/** Names the validation of tool arguments in the ValidationError that {@link parseToolArguments} turns into its own. */
const validationSite = { functionName: 'parseToolArguments', state: 'validation' }

/**
 * A tool call's id, name and trimmed arguments, read once: something that is not a tool call — not an object, arguments
 * that are not a string of JSON (an object already parsed), a getter or Proxy that throws — is a ConfigurationError,
 * never a plain TypeError nor arguments quietly taken as `{}`.
 */
function readToolCall(call: ToolCall): { id: string; name: string; text: string } {
  const owner = 'parseToolArguments'
  if (typeof call !== 'object' || call === null)
    throw optionError('call', 'a tool call { id, name, arguments }', call, owner)
  try {
    const { id, name, arguments: text } = call as { id: unknown; name: unknown; arguments: unknown }
    if (text !== undefined && typeof text !== 'string')
      throw optionError('call.arguments', 'a string of JSON (or undefined)', text, owner)
    return { id: id as string, name: name as string, text: text === undefined ? '' : text.trim() }
  } catch (error) {
    throw unreadableOption(error, 'call', owner)
  }
}

/**
 * Parses a tool call's JSON arguments and, given a schema, validates them and returns the schema's output. Empty
 * arguments count as `{}`. Rejects with {@link ToolCallError}: `invalid-json`, or `invalid-arguments` (with issues)
 * when they are not a JSON object (`5`, `"5"`, a list, `null`) or do not match the schema;
 * something that is not a tool call is a ConfigurationError.
 *
 * @example
 * for (const call of result.choices[0]?.message.toolCalls ?? []) {
 *   const { city } = await parseToolArguments(call, z.object({ city: z.string() }))
 * }
 */
export async function parseToolArguments<Schema extends StandardSchemaV1 = StandardSchemaV1<unknown>>(
  call: ToolCall,
  schema?: Schema,
): Promise<StandardSchemaV1.InferOutput<Schema>> {
  const { id, name, text } = readToolCall(call)
  let value: unknown
  try {
    value = text === '' ? {} : JSON.parse(text)
  } catch (cause) {
    throw new ToolCallError({
      reason: 'invalid-json',
      message: `the arguments of tool call ${safeStringify(id, 100)} (${safeStringify(name, 100)}) are not valid JSON (${(cause as Error).message})`,
      toolName: name,
      toolCallId: id,
      cause,
    })
  }
  // Tool arguments are a JSON object by every provider's spec: a number, a string or a list is no set of arguments.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`
    const message = `must be a JSON object, got ${kind}`
    throw new ToolCallError({
      reason: 'invalid-arguments',
      message: `the arguments of tool call ${safeStringify(id, 100)} (${safeStringify(name, 100)}) ${message}`,
      toolName: name,
      toolCallId: id,
      issues: [{ path: [], message }],
    })
  }
  if (schema === undefined) return value as StandardSchemaV1.InferOutput<Schema>
  try {
    // The one reading of a schema's answer: an async one of any realm or any thenable awaited, a schema that throws
    // (a refinement that assumed a shape the model did not produce) or answers no result failing like any mismatch.
    return await new Validator(schema, validationSite).validate(value)
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error
    const issues = error.issues
    // The issues as the validation's own message lists them — the first 20, each cut short — never all of them: the
    // model's arguments decide how many there are, and how long what they quote is.
    const listed = error.message
      .split('\n  - ')
      .slice(1)
      .map((line) => line.replace(/\n/g, ' '))
      .join('; ')
    throw new ToolCallError({
      reason: 'invalid-arguments',
      message: `the arguments of tool call ${safeStringify(id, 100)} (${safeStringify(name, 100)}) do not match its schema: ${listed}`,
      toolName: name,
      toolCallId: id,
      issues,
      cause: error.cause,
    })
  }
}

/**
 * Throws {@link ToolCallError} (`unknown-tool`) when a choice of `result` calls a tool that neither `tools` nor
 * `providerToolNames` (the tools offered through a provider's own options, see `ChatModel.providerToolNames`, asked
 * only when a call names a tool `tools` does not have) offers. LLMCall runs this on every answer. A `result` without
 * a list of choices, or `tools` that are not a list, is a `ConfigurationError`.
 */
export function assertKnownTools(
  result: ChatResult,
  tools: ReadonlyArray<ToolDefinition> | undefined,
  location?: { readonly functionName?: string; readonly state?: string },
  providerToolNames?: () => ReadonlyArray<string>,
): void {
  checkKnownToolsArguments(result, tools)
  // The names offered, read once when a call is to be checked: each call is then one lookup, not a walk of the tools.
  let offered: Set<string> | undefined
  let providerNames: ReadonlyArray<string> | undefined
  for (const choice of result.choices) {
    const calls = choice.message.toolCalls
    if (calls === undefined || calls.length === 0) continue
    offered ??= new Set((tools ?? []).map((tool) => tool.name))
    for (const call of calls) {
      if (offered.has(call.name)) continue
      if (providerNames === undefined && providerToolNames !== undefined) {
        providerNames = readProviderToolNames(providerToolNames)
        for (const name of providerNames) offered.add(name)
        if (offered.has(call.name)) continue
      }
      const availableTools = [...(tools ?? []).map((tool) => tool.name), ...(providerNames ?? [])]
      throw new ToolCallError({
        reason: 'unknown-tool',
        message: `the model called tool ${safeStringify(call.name, 100)}, which the request did not offer (offered: ${listed(availableTools)})`,
        toolName: call.name,
        toolCallId: call.id,
        availableTools,
        ...location,
      })
    }
  }
}

/** The names a provider says it offered, as a list of strings: a hook that answers anything else names none. */
function readProviderToolNames(providerToolNames: () => ReadonlyArray<string>): ReadonlyArray<string> {
  const names: unknown = providerToolNames()
  if (!Array.isArray(names)) return []
  return names.filter((name): name is string => typeof name === 'string')
}

function checkKnownToolsArguments(result: unknown, tools: unknown): void {
  const choices = typeof result === 'object' && result !== null ? (result as { choices?: unknown }).choices : undefined
  if (!Array.isArray(choices)) {
    throw optionError('result', 'a chat result with a list of choices', result, 'assertKnownTools')
  }
  if (tools !== undefined && !Array.isArray(tools)) {
    throw optionError('tools', 'a list of tool definitions or undefined', tools, 'assertKnownTools')
  }
}

/** Most offered tools an `unknown-tool` message names; `availableTools` holds them all. */
const maxListedTools = 20

/** The offered tool names as a message lists them: the first 20, then how many more (a request may offer 10,000). */
function listed(names: ReadonlyArray<string>): string {
  if (names.length === 0) return 'none'
  const shown = names.slice(0, maxListedTools).join(', ')
  return names.length > maxListedTools ? `${shown}, … and ${names.length - maxListedTools} more` : shown
}
