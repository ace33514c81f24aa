/**
 * What a provider package tells the shared helpers about its API: names, where its request ids and its chat endpoint
 * are, what its stream errors mean. Data only — the error mapping, the client defaults and the secret handling built on
 * it are written once, in `@tinyllm/llm`, so that two providers cannot drift apart.
 *
 * @example
 * const openAIProfile: ProviderProfile = {
 *   provider: 'openai',
 *   displayName: 'OpenAI',
 *   apiKeyVariable: 'OPENAI_API_KEY',
 *   baseURLVariable: 'OPENAI_BASE_URL',
 *   logVariable: 'OPENAI_LOG',
 *   requestIdHeaders: ['x-request-id'],
 *   chatPath: '/chat/completions',
 *   baseURLVersion: 'included',
 *   strictResponseFormat: 'when-asked',
 * }
 */
export interface ProviderProfile {
  /** The provider's name: every error's `provider` and the first word of its message, e.g. `openai`. */
  readonly provider: string
  /** The name people know, for messages: `OpenAI`. */
  readonly displayName: string
  /** The environment variable the API key is read from when none is passed, e.g. `OPENAI_API_KEY`. */
  readonly apiKeyVariable: string
  /** The environment variable the SDK reads the base URL from when none is passed, e.g. `OPENAI_BASE_URL`. */
  readonly baseURLVariable?: string | undefined
  /**
   * The environment variable the SDK reads headers to send with every request from, one `name: value` a line, e.g.
   * `OPENAI_CUSTOM_HEADERS`: the credentials among them are registered for redaction as the `headers` option's are.
   */
  readonly headersVariable?: string | undefined
  /** The environment variable that turns the SDK's own logs on, e.g. `OPENAI_LOG`. */
  readonly logVariable: string
  /** Response headers carrying the request id, in order of preference. */
  readonly requestIdHeaders: ReadonlyArray<string>
  /** Path of the chat endpoint after the base URL, as the SDK appends it: `/chat/completions`, `/v1/messages`. */
  readonly chatPath: string
  /**
   * Whether the API version (`/v1`) belongs in the base URL (`included`, as for OpenAI-compatible servers) or is added
   * by the SDK (`added-by-sdk`, as for Anthropic). A 404 whose base URL gets this wrong says so.
   */
  readonly baseURLVersion: 'included' | 'added-by-sdk'
  /**
   * Error types a stream's `error` event may carry, with the HTTP status each stands for (Anthropic's
   * `overloaded_error` is 529), so that a stream error is retried like the same error as an HTTP answer.
   */
  readonly streamErrorStatus?: Readonly<Record<string, number>> | undefined
  /**
   * When the API holds an answer to a JSON-schema response format strictly to its (strict-mode) schema: `when-asked`,
   * as OpenAI, for a format with `strict: true`; `always`, as Anthropic's output format. Default `when-asked`. It tells
   * `restoreStrictAnswers` which answers to read back as the caller's schema wants them.
   */
  readonly strictResponseFormat?: 'when-asked' | 'always' | undefined
}
