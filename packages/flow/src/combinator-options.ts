import {
  ConfigurationError,
  checkKnownOptions,
  type FunctionOptions,
  functionOptionKeys,
  safeStringify,
  TinyLLMError,
} from '@tinyllm/core'

/** The option names a combinator knows: every Function's, and its own. */
export function combinatorOptionNames(own: ReadonlyArray<string>): ReadonlySet<string> {
  return new Set([...functionOptionKeys, ...own])
}

/**
 * Rejects an option a combinator does not know (a typo, another library's name) with a ConfigurationError that
 * suggests the right name — when it is built as itself (`new.target` is the combinator): a subclass may take options
 * of its own, which only it knows.
 *
 * @example
 * checkCombinatorOptions(options, chainOptionNames, new.target === Chain)
 */
export function checkCombinatorOptions(
  options: FunctionOptions,
  known: ReadonlySet<string>,
  builtAsItself: boolean,
): void {
  if (builtAsItself) checkKnownOptions(options, known, options.name)
}

/**
 * The error for an option whose reading threw (a getter, a Proxy): the error itself when it is already a tinyllm error
 * (an option check), else a ConfigurationError naming the option, with what was thrown as its cause.
 */
export function unreadableOption(error: unknown, option: string, functionName: string): TinyLLMError {
  if (TinyLLMError.isInstance(error)) return error
  return new ConfigurationError({
    option,
    message: `${option} could not be read: ${safeStringify(error instanceof Error ? error.message : error, 200)}`,
    functionName,
    cause: error,
  })
}
