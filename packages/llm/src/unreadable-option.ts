import { ConfigurationError, safeStringify, TinyLLMError } from '@tinyllm/core'

/**
 * The error for an option whose reading threw (a getter, a Proxy): the error itself when it is already a tinyllm error
 * (an option check), else a {@link ConfigurationError} naming the option, with what was thrown as its cause.
 */
export function unreadableOption(error: unknown, option: string, owner: string): TinyLLMError {
  if (TinyLLMError.isInstance(error)) return error
  return new ConfigurationError({
    option,
    message: `${option} could not be read: ${safeStringify(error instanceof Error ? error.message : error, 200)}`,
    functionName: owner,
    cause: error,
  })
}
