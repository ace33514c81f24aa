/** Token counts a scripted turn reports, instead of the server's estimate. */
export interface ScriptedUsage {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** A tool call a scripted turn answers with. */
export interface ScriptedToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: Readonly<Record<string, unknown>>
}

/**
 * Why a scripted text answer stopped, in the specification's terms: `stop` (the model finished), `length` (it ran out
 * of tokens: OpenAI's `length`, Anthropic's `max_tokens`) or `content_filter` (OpenAI's `content_filter`, Anthropic's
 * `refusal`).
 */
export type ScriptedFinishReason = 'stop' | 'length' | 'content_filter'

/** Answer with one choice of plain text. */
export interface TextTurn {
  readonly type: 'text'
  readonly text: string
  /** The finish reason the server reports, in the provider's own terms; `stop` when absent. */
  readonly finishReason?: ScriptedFinishReason | undefined
  readonly usage?: ScriptedUsage | undefined
}

/** Answer with several choices, one text each (only asked of providers that support `n > 1`). */
export interface ChoicesTurn {
  readonly type: 'choices'
  readonly texts: readonly string[]
  /**
   * Why each choice stopped, by index, in the provider's own terms as for a `TextTurn`; `stop` for a choice it has no
   * entry for, and for every choice when absent.
   */
  readonly finishReasons?: readonly ScriptedFinishReason[] | undefined
  readonly usage?: ScriptedUsage | undefined
}

/** Answer with tool calls (and optionally some text before them). */
export interface ToolCallsTurn {
  readonly type: 'tool-calls'
  readonly toolCalls: readonly ScriptedToolCall[]
  readonly text?: string | undefined
  readonly usage?: ScriptedUsage | undefined
}

/** Answer with an HTTP error in the provider's own error shape, with these headers (e.g. `retry-after`). */
export interface ErrorTurn {
  readonly type: 'error'
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly message?: string | undefined
}

/**
 * Never finish answering. Without `text` the server holds the response before its headers; with `text` it starts
 * answering with that text and holds after the first streamed event. Either way until the client goes away.
 */
export interface StallTurn {
  readonly type: 'stall'
  readonly text?: string | undefined
}

/** Reset the connection before any byte of the response is sent, as a crashed server or a dropped network does. */
export interface ResetTurn {
  readonly type: 'reset'
}

/**
 * Start answering with `text`, then drop the connection part-way: after `afterEvents` whole streamed events, half of the
 * next one, then a reset. A plain body is one chunk: it is cut half-way, whatever `afterEvents` says.
 */
export interface CutTurn {
  readonly type: 'cut'
  readonly text: string
  readonly afterEvents?: number | undefined
}

/**
 * Answer `200` with a body that is not JSON: a plain answer of `text` cut to half its bytes, or a stream whose first
 * event's data does not parse, followed by the events of `text`.
 */
export interface MalformedTurn {
  readonly type: 'malformed'
  readonly text: string
}

/** What the provider's loopback server answers one chat request with, in provider-neutral terms. */
export type ScriptedTurn =
  | TextTurn
  | ChoicesTurn
  | ToolCallsTurn
  | ErrorTurn
  | StallTurn
  | ResetTurn
  | CutTurn
  | MalformedTurn

/**
 * The turns a provider's own server renders as a reply; stalls, resets, cuts and malformed bodies are played by the
 * toolkit's faults on the reply of their text (see `scriptFaults`).
 */
export type ReplyTurn = TextTurn | ChoicesTurn | ToolCallsTurn | ErrorTurn
