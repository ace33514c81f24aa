export * from './chat-model.js'
export { chatSettingKeys, maxTokensRule, splitChatSettings } from './chat-settings.js'
export {
  type JsonSchema,
  type StandardJsonSchemaConverter,
  type ToJsonSchemaOptions,
  toJsonSchema,
} from './json-schema.js'
export {
  LLMCall,
  type LLMCallInput,
  type LLMCallOptions,
  type LLMCallOutput,
  type LLMCallOutputMode,
  llmRetryDefaults,
  type StructuredChatResult,
  type StructuredOutputOptions,
} from './llm-call.js'
export { type LLMStream, type LLMStreamDelta, type ResultStream, streamingOptions, streamRun } from './llm-stream.js'
export {
  costOf,
  defaultPrices,
  defaultPricesDate,
  definePrices,
  findPrice,
  type ModelPrice,
  type PriceTable,
} from './prices.js'
export * from './prompts/index.js'
export { readEnvironment, resolveApiKey } from './provider/api-key.js'
export { toAssistantMessage } from './provider/assistant-message.js'
export { type ClientSecrets, registerClientSecrets } from './provider/client-secrets.js'
export { displayURL, type ProviderEndpoint, providerEndpoint, urlSecrets } from './provider/endpoint.js'
export { ProviderChat } from './provider/provider-chat.js'
export {
  type ClientOptions,
  checkChatModelOptions,
  checkConnectionOptions,
  type ExistingClientOptions,
  type ProviderChatDefinition,
  type ProviderChatModelOptions,
  type ProviderChatOptions,
  toProviderLLMCallOptions,
} from './provider/provider-chat-options.js'
export { ProviderClient, type ProviderClientOptions, type SdkClientShape } from './provider/provider-client.js'
export { type ProviderConnectionOptions, providerConnectionKeys } from './provider/provider-connection-options.js'
export {
  incompleteStream,
  malformedResponse,
  type ProviderCallContext,
  toProviderError,
} from './provider/provider-error.js'
export type { ProviderProfile } from './provider/provider-profile.js'
export { type ProviderStreamOptions, type StreamAssembler, streamProviderParts } from './provider/provider-stream.js'
export { redactErrorInPlace } from './provider/redact-error.js'
export { defaultMaxResponseBytes, type FetchFunction, limitResponseSize } from './provider/response-size-limit.js'
export { type HeaderReader, retryAfterMs } from './provider/retry-after.js'
export { isRetryableStatus } from './provider/retryable-status.js'
export {
  prepareTransport,
  type SdkClientOptions,
  sdkClientOptions,
  sdkRequestOptions,
} from './provider/sdk-client-options.js'
export { type SdkLogger, sdkLogger } from './provider/sdk-logger.js'
export { toStopSequences } from './provider/stop-sequences.js'
export { restoreStrictAnswers, type StrictJsonSchema, toStrictJsonSchema } from './provider/strict-json-schema.js'
export {
  assertStrictSchemaAccepted,
  findStrictSchemaViolation,
  portableStrictRules,
  type StrictSchemaLimits,
  type StrictSchemaRefusal,
  type StrictSchemaRules,
  type StrictSchemaViolation,
} from './provider/strict-schema-violation.js'
export { type ToolCallIdRule, toProviderToolCallId } from './provider/tool-call-id.js'
export { assertObjectParameters, toolsToSend } from './provider/tools-to-send.js'
export { ProviderCallError, type ProviderCallErrorOptions, RateLimitError } from './provider-errors.js'
export {
  abortedWith,
  checkLimits,
  checkSignal,
  listenForAbort,
  RateLimiter,
  type RateLimiterClock,
  type RateLimiterLike,
  type RateLimiterOptions,
  type RateLimiterStatus,
  type RateLimitPermit,
  type RateLimitRequest,
  requestedTokens,
  requireCount,
} from './rate-limiter.js'
export { estimateInputTokens } from './token-estimate.js'
export { assertKnownTools, parseToolArguments, ToolCallError, type ToolCallErrorReason } from './tool-calls.js'
