import { brandError, TinyLLMError, type TinyLLMErrorOptions } from '@tinyllm/core'

/** Options of a {@link ProviderCallError}. */
export interface ProviderCallErrorOptions extends TinyLLMErrorOptions {
  /** Provider name, e.g. `openai`. */
  readonly provider: string
  /** HTTP status, when the provider answered. */
  readonly status?: number | undefined
  /** The provider's request id, for support tickets. */
  readonly requestId?: string | undefined
  /** The provider's own error type or code, e.g. `invalid_request_error`. */
  readonly providerErrorType?: string | undefined
}

/** A call to a model provider failed: HTTP status, connection failure, or a malformed response. */
export class ProviderCallError extends TinyLLMError {
  override readonly name: string = 'ProviderCallError'
  declare static isInstance: (error: unknown) => error is ProviderCallError
  readonly provider: string
  readonly status: number | undefined
  readonly requestId: string | undefined
  readonly providerErrorType: string | undefined

  constructor(options: ProviderCallErrorOptions) {
    super(options)
    this.provider = options.provider
    this.status = options.status
    this.requestId = options.requestId
    this.providerErrorType = options.providerErrorType
  }
}
brandError(ProviderCallError, 'ProviderCallError')

/** The provider (HTTP 429) or a local rate limiter refused a call. Retryable; may carry `retryAfterMs`. */
export class RateLimitError extends ProviderCallError {
  override readonly name = 'RateLimitError'
  declare static isInstance: (error: unknown) => error is RateLimitError

  constructor(options: ProviderCallErrorOptions) {
    super({ ...options, retryable: options.retryable ?? true })
  }
}
brandError(RateLimitError, 'RateLimitError')
