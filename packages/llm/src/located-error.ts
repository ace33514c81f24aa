/** Where an error of this package happened, and why, as its class is given them. */
export interface ErrorLocation {
  readonly message: string
  readonly functionName?: string | undefined
  readonly state?: string | undefined
  readonly cause?: unknown
}

/**
 * What an error class of this package hands TinyLLMError: the message, led by the function it happened in when it is
 * known (`classify: …`), and the location and cause as they are.
 */
export function locatedError(options: ErrorLocation): ErrorLocation {
  return {
    message: `${options.functionName === undefined ? '' : `${options.functionName}: `}${options.message}`,
    functionName: options.functionName,
    state: options.state,
    cause: options.cause,
  }
}
