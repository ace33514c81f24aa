import { validateHeaderName, validateHeaderValue } from 'node:http'

/** Whether a response can carry the header: a name that is an HTTP token, a value without CR, LF or NUL. */
export function isValidHeader(name: string, value: string): boolean {
  try {
    validateHeaderName(name)
    validateHeaderValue(name, value)
    return true
  } catch {
    return false
  }
}
