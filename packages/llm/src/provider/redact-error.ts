import { redact, redactString } from '@tinyllm/logger'
import { isError } from '../is-error.js'

/**
 * Scrubs secrets from an error, down its cause chain: its message and stack, and what it carries of the server's answer
 * — any string field, the parsed error body, the response headers. Provider packages call it on the SDK error they keep
 * as `cause`, which ends up in logs, run records and `console.error` output (a server may echo the key it was sent).
 * Errors of another realm (a `node:vm` context, a test runner's sandbox) are scrubbed too.
 */
export function redactErrorInPlace(error: Error): void {
  for (let current: unknown = error, depth = 0; isError(current) && depth < 8; depth += 1) {
    const message = redactString(current.message)
    if (message !== current.message) {
      trySet(current, 'message', message, false)
      if (typeof current.stack === 'string') trySet(current, 'stack', redactString(current.stack), false)
    }
    for (const key of Object.keys(current)) {
      if (key === 'cause') continue
      const value = (current as unknown as Record<string, unknown>)[key]
      const redacted = redactField(value)
      if (redacted !== value) trySet(current, key, redacted, true)
    }
    current = (current as { cause?: unknown }).cause
  }
}

/** The field with secrets replaced, or the field itself when it holds none (or is an error, scrubbed on its own). */
function redactField(value: unknown): unknown {
  if (typeof value === 'string') return redactString(value)
  if (typeof value !== 'object' || value === null || isError(value)) return value
  if (typeof Headers === 'function' && value instanceof Headers) {
    let changed = false
    const headers = new Headers()
    value.forEach((text, name) => {
      const redacted = redactString(text)
      changed ||= redacted !== text
      headers.append(name, redacted)
    })
    return changed ? headers : value
  }
  // An error body: a JSON-safe copy, with secret-looking strings and secret-named fields replaced.
  return redact(value)
}

function trySet(target: Error, key: string, value: unknown, enumerable: boolean): void {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable })
  } catch {
    // A frozen error keeps its text; our own message is redacted regardless.
  }
}
