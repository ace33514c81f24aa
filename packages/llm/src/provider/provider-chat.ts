import type { StandardSchemaV1 } from '@tinyllm/core'
import type { ChatModel, ChatSettings } from '../chat-model.js'
import { LLMCall, type LLMCallOutputMode } from '../llm-call.js'
import {
  type ProviderChatDefinition,
  type ProviderChatOptions,
  toProviderLLMCallOptions,
} from './provider-chat-options.js'

/**
 * An {@link LLMCall} bound to one provider's chat model: the base of `OpenAIChat` and `AnthropicChat`. It reads its
 * options by the rule every provider shares ({@link toProviderLLMCallOptions}), so a provider's `*Chat` class only
 * names itself and says how its chat model is built; `model` is typed as that provider's chat model.
 *
 * @example
 * const acmeChat: ProviderChatDefinition<AcmeChatModelOptions, AcmeChatModel> = {
 *   defaultName: 'AcmeChat',
 *   connectionKeys: providerConnectionKeys,
 *   createModel: (options) => new AcmeChatModel(options),
 * }
 *
 * class AcmeChat<Mode extends LLMCallOutputMode = 'text', Schema extends StandardSchemaV1 = never> extends ProviderChat<
 *   Mode,
 *   Schema,
 *   AcmeChatModel
 * > {
 *   override readonly kind: string = 'acme-chat'
 *
 *   constructor(options: ProviderChatOptions<Mode, Schema, AcmeClientOptions>) {
 *     super(options, acmeChat)
 *   }
 * }
 */
export class ProviderChat<
  Mode extends LLMCallOutputMode,
  Schema extends StandardSchemaV1,
  Model extends ChatModel,
> extends LLMCall<Mode, Schema> {
  /** The chat model behind this call; its SDK client is created at the first call. */
  declare readonly model: Model

  // The definition's model options are the provider's own business: any `createModel` fits, whatever it takes.
  constructor(options: ProviderChatOptions<Mode, Schema, object>, definition: ProviderChatDefinition<never, Model>) {
    super(toProviderLLMCallOptions(options, definition))
  }

  /** A setting is an option of its own here (`maxTokens`), not one under `settings`: errors name it so. */
  protected override settingOption(key: keyof ChatSettings): string {
    return key
  }
}
