import { checkKnownOptions, optionError, unreadableOption } from '@tinyllm/core'
import { copyOptions } from '../options-copy.js'

/**
 * A prompt template's options, read once into a plain copy that the constructor then uses: options that are not an
 * object, or whose reading throws (a getter, a `Proxy`), are a ConfigurationError naming `owner`, never a TypeError or
 * the thrown error itself. The copy holds the options' own keys and the `known` options they hold otherwise (a getter
 * of a class instance, a prototype's), as reading them directly would. An option the template does not know is
 * refused, with a suggestion, when the template is built as itself: a subclass may take options of its own, which only
 * it knows.
 */
export function readTemplateOptions<Options>(
  options: Options,
  known: ReadonlySet<string>,
  builtAsItself: boolean,
  owner: string,
): Options {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  let copy: Record<string, unknown>
  try {
    copy = copyOptions(options, known)
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
  const name = copy.name
  // The options as given, not the copy: a misspelt getter of a settings class is left out of the copy, not refused.
  if (builtAsItself) checkKnownOptions(options, known, typeof name === 'string' ? name : owner)
  return copy as Options
}
