import { checkKnownOptions } from '@tinyllm/core'

/**
 * Rejects an option a prompt template does not know, with a suggestion, when the template is built as itself: a
 * subclass may take options of its own, which only it knows (and the base class reports options that are not an
 * object).
 */
export function checkTemplateOptions(options: object, known: ReadonlySet<string>, builtAsItself: boolean): void {
  if (!builtAsItself || typeof options !== 'object' || options === null) return
  checkKnownOptions(options, known, (options as { name?: unknown }).name as string | undefined)
}
