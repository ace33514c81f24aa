import type { ChatSettings } from './chat-model.js'

/** Every key of {@link ChatSettings}, for code that copies settings or separates them from other options. */
export const chatSettingKeys = [
  'model',
  'temperature',
  'topP',
  'maxTokens',
  'n',
  'stop',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseFormat',
  'tools',
  'toolChoice',
  'user',
  'providerOptions',
] as const satisfies ReadonlyArray<keyof ChatSettings>

/**
 * What a `maxTokens` must be, as `checkNumber` takes it: an integer from 1 to 100,000,000. Far above what any model
 * answers, and a count every budget and rate limiter holds exactly: `1e20` would otherwise be sent as it is.
 *
 * @example
 * checkNumber(settings.maxTokens, 'maxTokens', maxTokensRule, owner)
 */
export const maxTokensRule = Object.freeze({ integer: true, min: 1, max: 100_000_000, unit: 'tokens' } as const)

// Fails to compile when ChatSettings gains a key this list (and so every copy made with it) would drop.
const everySettingIsListed: Exclude<keyof ChatSettings, (typeof chatSettingKeys)[number]> extends never ? true : never =
  true
void everySettingIsListed

/**
 * Separates the chat settings in `options` (those that are defined) from everything else — how a provider's `*Chat`
 * class, which takes settings at the top level of its options, hands them to LLMCall.
 */
export function splitChatSettings<Options extends object>(
  options: Options,
): { settings: ChatSettings; rest: Omit<Options, keyof ChatSettings> } {
  const settings: Record<string, unknown> = {}
  const rest: Record<string, unknown> = { ...(options as Record<string, unknown>) }
  for (const key of chatSettingKeys) {
    const value = rest[key]
    delete rest[key]
    if (value !== undefined) settings[key] = value
  }
  return { settings: settings as ChatSettings, rest: rest as Omit<Options, keyof ChatSettings> }
}
