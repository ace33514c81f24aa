import { brandError, TinyLLMError } from '@tinyllm/core'

/**
 * Why a template could not be rendered: `syntax` (unbalanced brace, bad placeholder name), `forbidden` (a path segment
 * such as `__proto__`, `prototype` or `constructor`), `missing` (no own property of that name), `not-scalar` (the value
 * is not a string, finite number, bigint or boolean), `unreadable` (reading the input threw: a `Proxy`, a revoked one;
 * the thrown error is the `cause`), `too-long` (the rendered text would be longer than a JavaScript string can be).
 */
export type TemplateErrorReason = 'syntax' | 'forbidden' | 'missing' | 'not-scalar' | 'unreadable' | 'too-long'

/**
 * A prompt template could not be rendered. Names the placeholder and, for a missing variable, the keys that were
 * available; it never shows the input's values, which may be secret.
 */
export class TemplateError extends TinyLLMError {
  override readonly name = 'TemplateError'
  declare static isInstance: (error: unknown) => error is TemplateError
  readonly reason: TemplateErrorReason
  /** The placeholder as written, e.g. `applicant.name`; undefined for a syntax error outside any placeholder. */
  readonly placeholder: string | undefined
  /** For `missing`: the own keys of the object the lookup reached (at most 50). */
  readonly availableKeys: ReadonlyArray<string> | undefined

  constructor(options: {
    reason: TemplateErrorReason
    message: string
    placeholder?: string | undefined
    availableKeys?: ReadonlyArray<string> | undefined
    functionName?: string | undefined
    state?: string | undefined
    cause?: unknown
  }) {
    super({
      message: `${options.functionName === undefined ? '' : `${options.functionName}: `}${options.message}`,
      functionName: options.functionName,
      state: options.state,
      cause: options.cause,
    })
    this.reason = options.reason
    this.placeholder = options.placeholder
    this.availableKeys = options.availableKeys
  }
}
brandError(TemplateError, 'TemplateError')
