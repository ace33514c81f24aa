import { checkKnownOptions, unreadableOption } from '@tinyllm/core'

/**
 * A prompt template's options, read once into a plain copy that the constructor then uses: options whose reading
 * throws (a getter, a `Proxy`) are a ConfigurationError naming `owner`, never the thrown error itself. An option the
 * template does not know is refused, with a suggestion, when the template is built as itself: a subclass may take
 * options of its own, which only it knows. Options that are not an object are handed back as they are, for the base
 * class to report.
 */
export function readTemplateOptions<Options>(
  options: Options,
  known: ReadonlySet<string>,
  builtAsItself: boolean,
  owner: string,
): Options {
  if (typeof options !== 'object' || options === null) return options
  let copy: Options
  try {
    copy = { ...options }
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
  const name = (copy as { name?: unknown }).name
  if (builtAsItself) checkKnownOptions(copy as object, known, typeof name === 'string' ? name : owner)
  return copy
}
