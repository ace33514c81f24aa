import { checkKnownOptions, type FunctionOptions, functionOptionKeys } from '@tinyllm/core'

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
