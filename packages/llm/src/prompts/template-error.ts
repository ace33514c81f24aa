import { brandError, TinyLLMError } from '@tinyllm/core'
import { redactAndCut } from '@tinyllm/logger'
import { locatedError } from '../located-error.js'

/**
 * Why a template could not be rendered: `syntax` (unbalanced brace, bad placeholder name), `forbidden` (a path segment
 * such as `__proto__`, `prototype` or `constructor`), `missing` (no own property of that name), `not-scalar` (the value
 * is not a string, finite number, bigint or boolean), `unreadable` (reading the input threw: a `Proxy`, a revoked one;
 * the thrown error is the `cause`), `too-long` (the rendered text would be longer than a JavaScript string can be).
 */
export type TemplateErrorReason = 'syntax' | 'forbidden' | 'missing' | 'not-scalar' | 'unreadable' | 'too-long'

/** The most keys a TemplateError holds and its message lists. */
export const maxListedKeys = 50
/** Keys come from the input: a TemplateError holds, and its message quotes, each one up to this many characters. */
export const maxQuotedKeyLength = 64

/**
 * A key as a TemplateError holds and quotes it: cut at {@link maxQuotedKeyLength} characters, marked by `…`, its
 * secrets replaced before the cut, so that no part of one shows where the cut falls inside it.
 */
export function quotedKey(key: string): string {
  return key.length > maxQuotedKeyLength ? redactAndCut(key, maxQuotedKeyLength) : key
}

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
  /**
   * For `missing`: the own keys of the object the lookup reached — the first 50, each cut at 64 characters (`…`
   * marks a cut), however many and long the input's keys are.
   */
  readonly availableKeys: ReadonlyArray<string> | undefined
  /**
   * For `missing`: how many of the keys {@link TemplateError.availableKeys} leaves out (0 when it holds them all). Of a
   * list longer than 50 entries, counted from its length, holes included.
   */
  readonly availableKeysLeftOut: number | undefined

  constructor(options: {
    reason: TemplateErrorReason
    message: string
    placeholder?: string | undefined
    availableKeys?: ReadonlyArray<string> | undefined
    /** How many keys there are, when `availableKeys` holds only the first of them; default its length. */
    availableKeyCount?: number | undefined
    functionName?: string | undefined
    state?: string | undefined
    cause?: unknown
  }) {
    super(locatedError(options))
    this.reason = options.reason
    this.placeholder = options.placeholder
    const keys = options.availableKeys?.slice(0, maxListedKeys).map(quotedKey)
    this.availableKeys = keys
    this.availableKeysLeftOut =
      keys === undefined
        ? undefined
        : Math.max(0, (options.availableKeyCount ?? options.availableKeys?.length ?? 0) - keys.length)
  }
}
brandError(TemplateError, 'TemplateError')
