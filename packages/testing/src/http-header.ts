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

/**
 * The headers that frame a response's body, which the server sets from the body it sends: a given `content-length`
 * would cut a stream short, a `transfer-encoding` beside the server's `content-length` makes an answer no client reads.
 */
export const framingHeaders: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding'])
