/** A tool call as an assistant turn of the request carried it. */
export interface WireToolCall {
  readonly id: string
  readonly name: string
  /** The arguments as the wire carried them, parsed when they were JSON text. */
  readonly arguments: unknown
}

/** One non-system turn of a request, as the provider's server received it. */
export type WireMessage =
  | { readonly role: 'user'; readonly text: string }
  | { readonly role: 'assistant'; readonly text: string; readonly toolCalls: readonly WireToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly text: string }

/**
 * A chat request as the provider's server received it, read into provider-neutral terms by the adapter, so the
 * suite can check that every setting reached the wire. Leave a field `undefined` (or empty) when the request did not
 * carry it.
 */
export interface WireRequest {
  readonly model: string | undefined
  /** System instructions, in order, wherever the provider's format puts them. */
  readonly system: readonly string[]
  /** The conversation without system instructions, in order; tool results are `tool` turns. */
  readonly messages: readonly WireMessage[]
  readonly maxTokens: number | undefined
  readonly stop: readonly string[]
  /** Choices asked for, when the provider supports `n`. */
  readonly n: number | undefined
  /** The JSON schema sent for structured output (response format, output config or forced tool). */
  readonly responseSchema: unknown
  /** Names of the tools offered. */
  readonly toolNames: readonly string[]
  readonly stream: boolean
}
