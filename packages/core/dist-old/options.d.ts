import { ConfigurationError, TinyLLMError } from './errors.js'
/** The longest delay a timer can wait in one go (2³¹−1 ms, about 24.8 days); longer ones are re-armed. */
export declare const maxTimerDelayMs = 2147483647
/** What a numeric option must be, for {@link checkNumber}. */
export interface NumberRule {
  /** Whole numbers only. */
  readonly integer?: boolean
  /** Smallest allowed value (inclusive). */
  readonly min?: number
  /** Values must be greater than this (exclusive). */
  readonly above?: number
  /** Largest allowed value (inclusive). */
  readonly max?: number
  /** `Infinity` is also allowed (meaning "no limit"). */
  readonly orInfinity?: boolean
  /** The unit, shown in the message (`ms`, `tokens`). */
  readonly unit?: string
}
/**
 * Checks a numeric option and returns it (`undefined` when absent). Anything else is a {@link ConfigurationError} in
 * the one format every option of tinyllm uses: `<owner>: <option> must be …, got …`.
 *
 * @example
 * checkNumber(options.concurrency, 'concurrency', { integer: true, min: 1, orInfinity: true }, name)
 */
export declare function checkNumber(
  value: unknown,
  option: string,
  rule: NumberRule,
  owner?: string,
): number | undefined
/** A timeout or delay in ms: a number > 0, at most 2³¹−1 (2,147,483,647), the longest delay a timer can hold. */
export declare function checkTimeout(value: unknown, option: string, owner?: string): number | undefined
/** Checks a boolean option and returns it (`undefined` when absent). */
export declare function checkBoolean(value: unknown, option: string, owner?: string): boolean | undefined
/** Checks that an option is one of `allowed`; returns it (`undefined` when absent). */
export declare function checkOneOf<const Allowed extends string>(
  value: unknown,
  option: string,
  allowed: ReadonlyArray<Allowed>,
  owner?: string,
): Allowed | undefined
/** A {@link ConfigurationError} saying `<owner>: <option> must be <expected>, got <value>`. */
export declare function optionError(
  option: string,
  expected: string,
  value: unknown,
  owner?: string,
): ConfigurationError
/**
 * Rejects option keys nobody reads — a misspelling, or another library's name for a setting (`max_tokens`,
 * `top_p`, `model_name`) — with a {@link ConfigurationError} that suggests the right name, instead of silently ignoring
 * them. Keys whose value is `undefined` are ignored.
 */
export declare function checkKnownOptions(options: object, known: ReadonlySet<string>, owner?: string): void
/**
 * The error for an option whose reading threw (a getter, a Proxy): the error itself when it already is a tinyllm error
 * (an option check), else a {@link ConfigurationError} naming the option, with what was thrown as its cause.
 */
export declare function unreadableOption(error: unknown, option: string, owner?: string): TinyLLMError
/**
 * The known name `key` is another spelling of — another case or snake_case (`TopP`, `top_p`), or another library's
 * name (`model_name`, `maxOutputTokens`) — or `undefined`. No near misses: an LLM call's input, where other keys may
 * pass, is checked with it.
 */
export declare function knownSpelling(key: string, known: ReadonlySet<string>): string | undefined
//# sourceMappingURL=options.d.ts.map
