export {
  type JsonSchema,
  type StandardJsonSchemaConverter,
  type ToJsonSchemaOptions,
  toJsonSchema,
} from './json-schema.js'
export {
  isRetryableLLMError,
  LLMCall,
  type LLMCallInput,
  type LLMCallOptions,
  type LLMCallOutput,
  type LLMCallOutputMode,
  llmRetryDefaults,
  type StructuredChatResult,
  type StructuredOutputOptions,
} from './llm-call.js'
export type { LLMStream, LLMStreamDelta } from './llm-stream.js'
export {
  costOf,
  defaultPrices,
  defaultPricesDate,
  definePrices,
  findPrice,
  type ModelPrice,
  type PriceTable,
} from './prices.js'
export {
  RateLimiter,
  type RateLimiterClock,
  type RateLimiterOptions,
  type RateLimiterStatus,
  type RateLimitPermit,
  type RateLimitRequest,
} from './rate-limiter.js'
export { estimateInputTokens } from './token-estimate.js'
export { assertKnownTools, parseToolArguments, ToolCallError, type ToolCallErrorReason } from './tool-calls.js'
