import { optionError } from '@tinyllm/core'
import { type ReplyScriptSource, scriptedToolCallsProblem } from '@tinyllm/testing'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'

/** Why a scripted choice stopped. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call'

/** A function tool call the server answers with; `arguments` objects are JSON-encoded. */
export interface ScriptedToolCall {
  /** Defaults to `call_<request>_<choice>_<tool>`. */
  readonly id?: string | undefined
  readonly name: string
  readonly arguments: string | Readonly<Record<string, unknown>>
}

/** One assistant choice. */
export interface ScriptedChoice {
  readonly content?: string | null | undefined
  readonly toolCalls?: readonly ScriptedToolCall[] | undefined
  /** Defaults to `tool_calls` when there are tool calls, `stop` otherwise. */
  readonly finishReason?: FinishReason | undefined
}

/** Token counts to report instead of the estimate (about one token per four characters). */
export interface ScriptedUsage {
  readonly promptTokens?: number | undefined
  readonly completionTokens?: number | undefined
}

interface ScriptedReplyCommon {
  /** `null` answers without usage, as an OpenAI-compatible server that reports none (no usage chunk when streamed). */
  readonly usage?: ScriptedUsage | null | undefined
  /** The model to report; defaults to the request's. */
  readonly model?: string | undefined
}

/** One choice, repeated `n` times when the request asks for `n > 1`. */
export interface SingleChoiceReply extends ScriptedChoice, ScriptedReplyCommon {}

/** Several choices, returned as given whatever the request's `n`. */
export interface MultipleChoiceReply extends ScriptedReplyCommon {
  readonly choices: readonly ScriptedChoice[]
}

/** An error answered in OpenAI's shape `{ error: { message, type, param, code } }`. */
export interface ErrorReply {
  readonly error: {
    readonly status: number
    readonly message: string
    readonly type?: string | undefined
    readonly code?: string | null | undefined
    readonly param?: string | null | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
}

/** What the server answers one chat completion with; a string is shorthand for `{ content }`. */
export type ScriptedReply = string | SingleChoiceReply | MultipleChoiceReply | ErrorReply

/** What a reply function receives besides the request body. */
export interface ReplyContext {
  /** Zero-based index of the request among all the server received. */
  readonly requestIndex: number
  /** Zero-based index of the request among chat completion requests. */
  readonly chatIndex: number
}

/** Where replies come from: a function of the request (and its {@link ReplyContext}), or a list used in order. */
export type ReplySource = ReplyScriptSource<ChatCompletionCreateParams, ReplyContext, ScriptedReply>

/** Computes the reply to one chat completion request. */
export type ReplyFunction = Extract<ReplySource, (...args: never[]) => unknown>

/** Every field a reply object may have: a reply with another is answered with a 400 that names it. */
export const replyKeys: ReadonlySet<string> = new Set(
  Object.keys({ content: 0, toolCalls: 0, finishReason: 0, usage: 0, model: 0, choices: 0, error: 0 } satisfies Record<
    keyof SingleChoiceReply | keyof MultipleChoiceReply | keyof ErrorReply,
    0
  >),
)

const finishReasons: ReadonlySet<unknown> = new Set(
  Object.keys({ stop: 0, length: 0, tool_calls: 0, content_filter: 0, function_call: 0 } satisfies Record<
    FinishReason,
    0
  >),
)

/**
 * What is wrong with a reply object's fields, as its types say them, or `undefined`: `content: 5`, tool calls that are
 * not a list of `{ name, arguments }`, a finish reason OpenAI has not, usage counts that are not whole numbers ≥ 0.
 */
export function replyProblem(reply: object): string | undefined {
  const fields = reply as Record<string, unknown>
  // An error reply is the toolkit's to check (status, message).
  if ('error' in fields) return undefined
  if (fields.model !== undefined && typeof fields.model !== 'string') return problem('model', 'a string', fields.model)
  const usage = fields.usage
  if (usage !== undefined && usage !== null) {
    if (typeof usage !== 'object') return problem('usage', '{ promptTokens, completionTokens } or null', usage)
    for (const name of ['promptTokens', 'completionTokens'] as const) {
      const count = (usage as Record<string, unknown>)[name]
      if (count !== undefined && !(Number.isSafeInteger(count) && (count as number) >= 0)) {
        return problem(`usage.${name}`, 'an integer ≥ 0', count)
      }
    }
  }
  if (fields.choices === undefined) return choiceProblem(fields, '')
  if (!Array.isArray(fields.choices)) return problem('choices', 'a list of choices', fields.choices)
  for (const [index, choice] of fields.choices.entries()) {
    if (typeof choice !== 'object' || choice === null) return problem(`choices[${index}]`, 'an object', choice)
    const found = choiceProblem(choice as Record<string, unknown>, `choices[${index}].`)
    if (found !== undefined) return found
  }
  return undefined
}

function choiceProblem(choice: Record<string, unknown>, at: string): string | undefined {
  const { content, toolCalls, finishReason } = choice
  if (content !== undefined && content !== null && typeof content !== 'string') {
    return problem(`${at}content`, 'a string or null', content)
  }
  if (finishReason !== undefined && !finishReasons.has(finishReason)) {
    return problem(`${at}finishReason`, `one of ${[...finishReasons].join(', ')}`, finishReason)
  }
  if (toolCalls === undefined) return undefined
  return scriptedToolCallsProblem(toolCalls, `${at}toolCalls`, 'arguments')
}

function problem(field: string, expected: string, value: unknown): string {
  return optionError(field, expected, value).message
}
