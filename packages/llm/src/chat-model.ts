import { optionError, type Usage } from '@tinyllm/core'

/** A system instruction. */
export interface SystemMessage {
  readonly role: 'system'
  readonly content: string
}

/** A message from the user. */
export interface UserMessage {
  readonly role: 'user'
  readonly content: string
}

/** A tool call the model asked for. `arguments` is the raw JSON text the model produced. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/**
 * Reasoning the model produced before its answer (Anthropic's extended thinking), kept so that it can go back to the
 * provider that made it: with thinking on, Anthropic requires the thinking of the assistant turn a tool loop answers
 * sent back unchanged. Plain JSON strings, so it survives journals, cassettes and job data. Reasoning text is model
 * output, redacted where output is.
 */
export interface ReasoningPart {
  /** The reasoning text as the model gave it; `''` when the provider sent it only encrypted (see `redactedData`). */
  readonly text: string
  /** The provider that produced it (its `ChatModel.provider`): only that provider's models send it back. */
  readonly provider: string
  /** The provider's opaque proof that `text` is unchanged (Anthropic's `signature`), sent back with it. */
  readonly signature?: string
  /** Reasoning the provider sent only encrypted (Anthropic's `redacted_thinking` data), sent back unchanged. */
  readonly redactedData?: string
}

/** A message from the model: text, tool calls, or both. */
export interface AssistantMessage {
  readonly role: 'assistant'
  readonly content: string | null
  readonly toolCalls?: ReadonlyArray<ToolCall>
  /**
   * The model's reasoning, in the order it came, when the provider returns reasoning it needs back (Anthropic with
   * thinking on). Keep it when you send the message back, as a tool loop does: the provider that made it sends it
   * before the text and tool calls, the order its model produced them in; other providers leave it out.
   */
  readonly reasoning?: ReadonlyArray<ReasoningPart>
}

/** The result of a tool call, sent back to the model. */
export interface ToolMessage {
  readonly role: 'tool'
  readonly toolCallId: string
  readonly content: string
}

/** One message of a conversation. */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage

/** A tool the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  /** 1–64 letters, digits, `_` or `-`, the names OpenAI and Anthropic accept; LLMCall refuses any other. */
  readonly name: string
  readonly description?: string
  readonly parameters: Readonly<Record<string, unknown>>
  readonly strict?: boolean
}

/** Which tool, if any, the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string }

/** The shape of the model's answer. */
export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | {
      readonly type: 'json_schema'
      readonly name: string
      readonly schema: Readonly<Record<string, unknown>>
      readonly description?: string
      readonly strict?: boolean
    }

/** Settings of one call. Every setting a provider accepts must reach its wire; one it cannot honour is an error. */
export interface ChatSettings {
  readonly model?: string
  /** ≥ 0; each provider has its own maximum (OpenAI: 2) or refuses it (Anthropic's 2026-10-21 API). */
  readonly temperature?: number
  readonly topP?: number
  readonly maxTokens?: number
  /** Number of choices to generate. */
  readonly n?: number
  /** Where the model stops: one non-empty sequence or several (OpenAI takes at most 4). */
  readonly stop?: string | ReadonlyArray<string>
  readonly seed?: number
  readonly presencePenalty?: number
  readonly frequencyPenalty?: number
  readonly responseFormat?: ResponseFormat
  readonly tools?: ReadonlyArray<ToolDefinition>
  readonly toolChoice?: ToolChoice
  /** An end-user identifier, passed to the provider for abuse monitoring. */
  readonly user?: string
  /** Provider-specific extras, keyed by provider name, passed through unchanged. */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

/** One call: the conversation and its settings. */
export interface ChatRequest extends ChatSettings {
  readonly messages: ReadonlyArray<ChatMessage>
}

/** Why the model stopped. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other'

/** One generated choice. */
export interface ChatChoice {
  readonly index: number
  readonly message: AssistantMessage
  readonly finishReason: FinishReason
}

/** What a call returned. */
export interface ChatResult {
  readonly choices: ReadonlyArray<ChatChoice>
  /**
   * The tokens the provider reports the call used; absent when it reported none (an OpenAI-compatible server without a
   * `usage` object, a stream without a usage chunk). A model never invents figures: LLMCall then counts the call from
   * its estimate. A figure the provider leaves out of a usage it sends is 0: a server that reports only a total gives
   * `{ inputTokens: 0, outputTokens: 0, totalTokens }`, whose tokens `costOf` prices at the dearer of the model's
   * two prices, so the call's cost is an upper bound, never 0.
   */
  readonly usage?: Usage | undefined
  /** The model that answered (may be more specific than the one requested). */
  readonly model: string
  readonly requestId?: string
  /** The provider's id of this response (`chatcmpl-…`, `msg_…`), when it gives one. */
  readonly responseId?: string
  /** The provider's raw response body, for debugging. */
  readonly raw?: unknown
}

/**
 * A piece of a streamed answer. The stream ends with exactly one `finish` part carrying the assembled result.
 * `reasoning-delta` is reasoning text as it comes (Anthropic's thinking), which the finish result's message carries as
 * `reasoning`: it shows the model at work, so LLMCall restarts its idle timeout on it as on text, but does not pass it
 * on to its own stream, so that a call failing while the model thinks is still retried.
 */
export type ChatStreamPart =
  | { readonly type: 'text-delta'; readonly choiceIndex: number; readonly text: string }
  | { readonly type: 'reasoning-delta'; readonly choiceIndex: number; readonly text: string }
  | {
      readonly type: 'tool-call-delta'
      readonly choiceIndex: number
      readonly toolCallIndex: number
      readonly id?: string
      readonly name?: string
      readonly argumentsDelta: string
    }
  | { readonly type: 'finish'; readonly result: ChatResult }

/**
 * Per-call options the framework passes to a model. Time limits (a call's deadline, a stream's idle timeout) are not
 * among them: LLMCall enforces them and cancels through `signal`, so a model needs to honour only the signal.
 */
export interface ChatCallOptions {
  /** Aborts the call: close the HTTP request and reject with the signal's AbortError (or TimeoutError). */
  readonly signal?: AbortSignal
  /**
   * For `doStream`: called on every event the server sends, one that yields no part included (a server tool at work, a
   * refusal's text): the stream is not silent, so LLMCall's idle timeout starts again. A model that never calls it is
   * idle between its parts.
   */
  readonly onActivity?: () => void
}

/**
 * The provider-neutral chat-model specification, version 1. Provider packages implement it; LLM-calling Functions
 * depend only on it. `doGenerate` and `doStream` are called by the framework, not by users.
 *
 * Errors must be tinyllm errors: `ProviderCallError` (status, retryable, requestId, providerErrorType, with the
 * provider's error as `cause`), `RateLimitError` for 429 (with `retryAfterMs`), `AbortError`, `TimeoutError`.
 * Implementations must not retry on their own: retries belong to the calling Function.
 */
export interface ChatModel {
  readonly specificationVersion: 'v1'
  /** Provider name, e.g. `openai`. */
  readonly provider: string
  /** The default model id. */
  readonly modelId: string
  doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult>
  doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart>
  /**
   * The `maxTokens` the model sends with a request that sets none, when it always sends one (Anthropic requires
   * `max_tokens`: `AnthropicChatModel`'s `maxTokens` option, 4,096 by default). `LLMCall` counts it as the request's
   * `maxTokens` in its estimate, so that a budget or a rate limiter reserves what the request may spend.
   */
  readonly defaultMaxTokens?: number
  /**
   * Refuses settings the provider cannot honour (OpenAI: `temperature` above 2; Anthropic: `n > 1`…) with a
   * `ConfigurationError` naming `owner`, the call's name. `LLMCall` calls it with its settings at construction, and
   * with each call's settings before anything is sent, where what it refuses came with the input: `LLMCall` fails that
   * call with a `ValidationError` whose cause is the refusal.
   */
  checkSettings?(settings: ChatSettings, owner: string): void
  /**
   * Input tokens the provider adds to `request` on its side and bills (Anthropic's tool-use system prompt): what no
   * count of the request itself sees. `LLMCall` adds them to its estimate, so that it stays an upper bound.
   */
  addedInputTokens?(request: ChatRequest): number
  /**
   * Names of the tools `request` offers beside `request.tools`, through the provider's own options (a tool Anthropic
   * defines, such as `bash`, given in `providerOptions.anthropic.tools`): a call of one is a call of a tool the request
   * offered. `LLMCall` asks only when an answer calls a tool that `request.tools` does not have.
   */
  providerToolNames?(request: ChatRequest): ReadonlyArray<string>
}

/**
 * The text of the first choice, or '' when the model returned only tool calls. A result that is not one (`null`, no
 * `choices`, a choice without a `message`) is a `ConfigurationError`.
 */
export function resultText(result: ChatResult): string {
  const choices = typeof result === 'object' && result !== null ? result.choices : undefined
  if (!Array.isArray(choices)) throw optionError('result', 'a chat result { choices }', result, 'resultText')
  if (choices.length === 0) return ''
  const choice = choices[0] as Partial<ChatChoice> | null
  if (typeof choice !== 'object' || choice === null || typeof choice.message !== 'object' || choice.message === null) {
    throw optionError('result.choices[0]', 'a choice { message }', choice, 'resultText')
  }
  return choice.message.content ?? ''
}
