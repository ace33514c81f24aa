/**
 * OpenAI's reasoning models by their ids: the o-series (`o1`, `o3-mini`, `o4-mini`…) and the gpt-5 family (`gpt-5`,
 * `gpt-5-mini`, `gpt-5.1`…), a dated snapshot (`o3-2025-04-16`) or a fine-tuned model (`ft:o4-mini-…`) of one
 * included. `o10` would be one; `gpt-50` or `omni-moderation-latest` are not.
 */
const reasoningModelId = /^(?:ft:)?(?:o\d+|gpt-5)(?:$|[-.:])/

/**
 * Whether `model` names one of OpenAI's reasoning models, which refuse the legacy `max_tokens` with a 400
 * ("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.") and
 * take only `max_completion_tokens`.
 */
export function isOpenAIReasoningModel(model: unknown): boolean {
  return typeof model === 'string' && reasoningModelId.test(model)
}
