import type { StandardSchemaV1 } from '@tinyllm/core'
import {
  type LLMCallOutputMode,
  ProviderChat,
  type ProviderChatDefinition,
  type ProviderChatOptions,
} from '@tinyllm/llm'
import { OpenAIChatModel, type OpenAIChatModelOptions } from './openai-chat-model.js'
import { type OpenAIClientOptions, openAIConnectionKeys } from './openai-client-options.js'

/**
 * Options of {@link OpenAIChat}: the OpenAI model id, any call settings (`temperature`, `n`, `maxTokens`, `tools`, …),
 * a client or how to reach the API, and the LLMCall options (`retry`, `rateLimiter`, `prices`, `output`,
 * `structuredOutput`, timeouts). `name` defaults to `OpenAIChat`. An option it does not know (`top_p`, `max_tokens`, a
 * typo) is a ConfigurationError that suggests the right name.
 */
export type OpenAIChatOptions<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> = ProviderChatOptions<Mode, Schema, OpenAIClientOptions>

/** How {@link OpenAIChat} builds its chat model from its options. */
const openAIChat: ProviderChatDefinition<OpenAIChatModelOptions, OpenAIChatModel> = {
  defaultName: 'OpenAIChat',
  connectionKeys: openAIConnectionKeys,
  createModel: (options) => new OpenAIChatModel(options),
}

/**
 * An LLMCall bound to OpenAI's chat completions through the official `openai` SDK: every setting you give it is
 * sent, retries (429 after its `retry-after`, 5xx, dropped connections) happen here and never in the SDK, usage and cost
 * are recorded on the run tree. Settings OpenAI refuses (`temperature` above 2, more than 4 `stop` sequences) are a
 * ConfigurationError at construction, and invalid input (a ValidationError) given with a call's input; neither is sent.
 * Invoke it with `{ messages }`, which is what a prompt template returns.
 *
 * Pass `baseURL` (and `apiKey`) to use any OpenAI-compatible server — Azure, vLLM, Ollama, LM Studio, or the loopback
 * server of `@tinyllm/openai/testing` — or an SDK `client` you configured yourself. Without `apiKey`, the key is read
 * from `OPENAI_API_KEY` at the first call.
 *
 * @example
 * const chat = new OpenAIChat({ model: 'gpt-4o-mini', temperature: 0, n: 1 })
 * const answer = await chat.invoke({ messages: [{ role: 'user', content: 'Say hi' }] }) // 'Hi!'
 *
 * @example
 * // Structured output from a zod schema, parsed and validated.
 * const verdict = new OpenAIChat({
 *   name: 'verdict',
 *   model: 'gpt-4o-mini',
 *   structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }), strict: true },
 * })
 * const { verdict: value } = await verdict.invoke(prompt)
 */
export class OpenAIChat<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> extends ProviderChat<Mode, Schema, OpenAIChatModel> {
  override readonly kind: string = 'openai-chat'

  constructor(options: OpenAIChatOptions<Mode, Schema>) {
    super(options, openAIChat)
  }
}
