import { brandError, TinyLLMError } from '@tinyllm/core'

/**
 * Raised when a cassette is opened for replay and its file cannot be used: missing or unreadable, a directory, too
 * large to read as text, not JSON (empty or truncated), or not shaped like a cassette. The message names the file and
 * the first problem found.
 */
export class CassetteFileError extends TinyLLMError {
  override readonly name = 'CassetteFileError'
  declare static isInstance: (error: unknown) => error is CassetteFileError
  /** The cassette file that could not be used. */
  readonly cassettePath: string
  /** What is wrong with it, e.g. `interactions[0].response.sse is not an array`. */
  readonly problem: string

  constructor(options: { cassettePath: string; problem: string; cause?: unknown }) {
    super({ message: `Cassette file ${options.cassettePath}: ${options.problem}`, cause: options.cause })
    this.cassettePath = options.cassettePath
    this.problem = options.problem
  }
}
// Recognised across duplicated copies of this package, where `instanceof` fails.
brandError(CassetteFileError, 'CassetteFileError')
