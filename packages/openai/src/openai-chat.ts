import type { StandardSchemaV1 } from '@tinyllm/core'
import {
  type ChatSettings,
  LLMCall,
  type LLMCallOptions,
  type LLMCallOutputMode,
  splitChatSettings,
} from '@tinyllm/llm'
import { OpenAIChatModel, type OpenAIChatModelOptions } from './openai-chat-model.js'
import type { OpenAIClientOptions } from './openai-client-options.js'

/** The call settings OpenAIChat takes at the top level of its options (the model id is `model`). */
type OpenAIChatSettings = Omit<ChatSettings, 'model'>

/**
 * Options of {@link OpenAIChat}: a name, the OpenAI model id, any call settings (`temperature`, `n`, `maxTokens`,
 * `tools`, …), a client or how to reach the API, and the LLMCall options (`retry`, `rateLimiter`, `prices`, `output`,
 * `structuredOutput`, timeouts).
 */
export type OpenAIChatOptions<Mode extends LLMCallOutputMode = 'text', Schema extends StandardSchemaV1 = never> = Omit<
  LLMCallOptions<Mode, Schema>,
  'model' | 'settings'
> &
  OpenAIChatSettings &
  OpenAIClientOptions & {
    /** The OpenAI model id, e.g. `gpt-4o-mini`; an input's `model` overrides it for one call. */
    readonly model: string
    /** Limit on one HTTP request, in ms, enforced by the SDK. Prefer `attemptTimeoutMs`, which also covers streams. */
    readonly requestTimeoutMs?: number | undefined
  }

/**
 * An {@link LLMCall} bound to OpenAI's chat completions through the official `openai` SDK: every setting you give it is
 * sent, retries (429 after its `retry-after`, 5xx, dropped connections) happen here and never in the SDK, usage and cost
 * are recorded on the run tree. Invoke it with `{ messages }`, which is what a prompt template returns.
 *
 * Pass `baseURL` (and `apiKey`) to use any OpenAI-compatible server — Azure, vLLM, Ollama, LM Studio, or the loopback
 * server of `@tinyllm/openai/testing` — or an SDK `client` you configured yourself. Without `apiKey`, the key is read
 * from `OPENAI_API_KEY` at the first call.
 *
 * @example
 * const chat = new OpenAIChat({ name: 'openai_chat', model: 'gpt-4o-mini', temperature: 0, n: 1 })
 * const answer = await chat.invoke({ messages: [{ role: 'user', content: 'Say hi' }] }) // 'Hi!'
 *
 * @example
 * // Structured output from a zod schema, parsed and validated.
 * const verdict = new OpenAIChat({
 *   name: 'verdict',
 *   model: 'gpt-4o-mini',
 *   structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }) },
 * })
 * const { verdict: value } = await verdict.invoke(prompt)
 */
export class OpenAIChat<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> extends LLMCall<Mode, Schema> {
  override readonly kind: string = 'openai-chat'
  /** The chat model behind this call; its SDK client is created at the first call. */
  declare readonly model: OpenAIChatModel

  constructor(options: OpenAIChatOptions<Mode, Schema>) {
    super(toLLMCallOptions(options))
  }
}

function toLLMCallOptions<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1>(
  options: OpenAIChatOptions<Mode, Schema>,
): LLMCallOptions<Mode, Schema> {
  const {
    model,
    client,
    apiKey,
    baseURL,
    organization,
    project,
    headers,
    maxResponseBytes,
    requestTimeoutMs,
    ...rest
  } = options
  const split = splitChatSettings(rest)
  const settings: ChatSettings = { ...split.settings, model }
  const callOptions = split.rest
  const connection =
    client === undefined ? { apiKey, baseURL, organization, project, headers, maxResponseBytes } : { client }
  const modelOptions = { model, timeoutMs: requestTimeoutMs, ...connection } as OpenAIChatModelOptions
  return {
    ...(callOptions as Omit<LLMCallOptions<Mode, Schema>, 'model' | 'settings'>),
    model: new OpenAIChatModel(modelOptions),
    settings,
  }
}
