import type { MessageCreateParams, StopReason } from '@anthropic-ai/sdk/resources/messages'
import { optionError } from '@tinyllm/core'
import { type ReplyScriptSource, scriptedToolCallsProblem } from '@tinyllm/testing'

/** A `tool_use` block the server answers with. */
export interface ScriptedToolUse {
  /** Defaults to `toolu_loopback_<request>_<n>`. */
  readonly id?: string | undefined
  readonly name: string
  /** The tool input; a string is sent as the streamed JSON text as is (and parsed for the non-streamed body). */
  readonly input: Readonly<Record<string, unknown>> | string
}

/** Token counts to report instead of the estimate (about one token per four characters). */
export interface ScriptedUsage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cacheCreationInputTokens?: number | undefined
  readonly cacheReadInputTokens?: number | undefined
}

/**
 * One block of extended thinking: a string is a `thinking` block with that text, which the server signs (and checks
 * the signature of when it comes back); `{ redactedData }` a `redacted_thinking` block with that data.
 */
export type ScriptedThinking = string | { readonly redactedData: string }

/** One assistant message: its thinking blocks (if any), a text block (if any text), then `tool_use` blocks. */
export interface MessageReply {
  /** Thinking blocks the message starts with, as a model with `thinking` enabled answers. */
  readonly thinking?: readonly ScriptedThinking[] | undefined
  readonly text?: string | null | undefined
  readonly toolUses?: readonly ScriptedToolUse[] | undefined
  /**
   * Defaults to `tool_use` with tool uses, else `stop_sequence` when the text contains one of the request's
   * `stop_sequences` (the text is cut before it), else `end_turn`.
   */
  readonly stopReason?: StopReason | undefined
  readonly usage?: ScriptedUsage | undefined
  /** The model to report; defaults to the request's. */
  readonly model?: string | undefined
}

/** An error answered in Anthropic's shape `{ type: 'error', error: { type, message }, request_id }`. */
export interface ErrorReply {
  readonly error: {
    readonly status: number
    readonly message: string
    /** Defaults to Anthropic's type for the status: `rate_limit_error`, `overloaded_error`, `api_error`… */
    readonly type?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
}

/** What the server answers one Messages request with; a string is shorthand for `{ text }`. */
export type ScriptedReply = string | MessageReply | ErrorReply

/** What a reply function receives besides the request body. */
export interface ReplyContext {
  /** Zero-based index of the request among all the server received. */
  readonly requestIndex: number
  /** Zero-based index of the request among Messages requests. */
  readonly messageIndex: number
}

/** Where replies come from: a function of the request (and its {@link ReplyContext}), or a list used in order. */
export type ReplySource = ReplyScriptSource<MessageCreateParams, ReplyContext, ScriptedReply>

/** Computes the reply to one Messages request. */
export type ReplyFunction = Extract<ReplySource, (...args: never[]) => unknown>

/** Every field a reply object may have: a reply with another is answered with a 400 that names it. */
export const replyKeys: ReadonlySet<string> = new Set(
  Object.keys({ thinking: 0, text: 0, toolUses: 0, stopReason: 0, usage: 0, model: 0, error: 0 } satisfies Record<
    keyof MessageReply | keyof ErrorReply,
    0
  >),
)

const stopReasons: ReadonlySet<unknown> = new Set(
  Object.keys({
    end_turn: 0,
    max_tokens: 0,
    stop_sequence: 0,
    tool_use: 0,
    pause_turn: 0,
    refusal: 0,
    model_context_window_exceeded: 0,
  } satisfies Record<StopReason, 0>),
)

/**
 * What is wrong with a reply object's fields, as its types say them, or `undefined`: `text: 5`, tool uses that are not
 * a list of `{ name, input }`, thinking that is not a list of texts or `{ redactedData }`, a stop reason Anthropic has
 * not, usage counts that are not whole numbers ≥ 0.
 */
export function replyProblem(reply: object): string | undefined {
  const fields = reply as Record<string, unknown>
  // An error reply is the toolkit's to check (status, message).
  if ('error' in fields) return undefined
  const { text, toolUses, thinking, stopReason, usage, model } = fields
  if (text !== undefined && text !== null && typeof text !== 'string') return problem('text', 'a string or null', text)
  if (model !== undefined && typeof model !== 'string') return problem('model', 'a string', model)
  if (stopReason !== undefined && !stopReasons.has(stopReason)) {
    return problem('stopReason', `one of ${[...stopReasons].join(', ')}`, stopReason)
  }
  if (thinking !== undefined) {
    if (!Array.isArray(thinking)) return problem('thinking', 'a list of thinking texts or { redactedData }', thinking)
    for (const [index, block] of thinking.entries()) {
      const redacted = (block as { redactedData?: unknown } | null)?.redactedData
      if (typeof block !== 'string' && typeof redacted !== 'string') {
        return problem(`thinking[${index}]`, 'a thinking text or { redactedData }', block)
      }
    }
  }
  if (usage !== undefined) {
    if (typeof usage !== 'object' || usage === null) return problem('usage', 'an object of token counts', usage)
    for (const [name, count] of Object.entries(usage)) {
      if (count !== undefined && !(Number.isSafeInteger(count) && (count as number) >= 0)) {
        return problem(`usage.${name}`, 'an integer ≥ 0', count)
      }
    }
  }
  if (toolUses === undefined) return undefined
  // The server parses an input given as text: the message it answers carries it as an object.
  return scriptedToolCallsProblem(toolUses, 'toolUses', 'input', true)
}

function problem(field: string, expected: string, value: unknown): string {
  return optionError(field, expected, value).message
}
