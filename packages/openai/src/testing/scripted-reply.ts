import type { ReplyScriptSource } from '@tinyllm/testing'
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
