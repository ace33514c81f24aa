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

/** Answer with one choice of plain text. */
export interface TextTurn {
  readonly type: 'text'
  readonly text: string
  readonly usage?: ScriptedUsage | undefined
}

/** Answer with several choices, one text each (only asked of providers that support `n > 1`). */
export interface ChoicesTurn {
  readonly type: 'choices'
  readonly texts: readonly string[]
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

/** What the provider's loopback server answers one chat request with, in provider-neutral terms. */
export type ScriptedTurn = TextTurn | ChoicesTurn | ToolCallsTurn | ErrorTurn | StallTurn

/** The turns a provider's own server renders as a reply (stalls are played by the core toolkit's faults). */
export type ReplyTurn = TextTurn | ChoicesTurn | ToolCallsTurn | ErrorTurn
