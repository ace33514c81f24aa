import { redactString } from '@tinyllm/logger'

/**
 * Scrubs secrets from an error's message and stack, down its cause chain. Provider packages call it on the SDK error
 * they keep as `cause`, which ends up in logs and run records (a server may echo the key it was sent).
 */
export function redactErrorInPlace(error: Error): void {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; depth += 1) {
    const message = redactString(current.message)
    if (message !== current.message) {
      trySet(current, 'message', message)
      if (typeof current.stack === 'string') trySet(current, 'stack', redactString(current.stack))
    }
    current = (current as { cause?: unknown }).cause
  }
}

function trySet(target: Error, key: 'message' | 'stack', value: string): void {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false })
  } catch {
    // A frozen error keeps its text; our own message is redacted regardless.
  }
}
