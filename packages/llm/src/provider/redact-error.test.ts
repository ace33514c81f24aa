import { inspect } from 'node:util'
import { runInNewContext } from 'node:vm'
import { registerSecret } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { redactErrorInPlace } from './redact-error.js'

const key = 'sk-proj-redactErrorInPlaceTestKey0123456789abcdefABCDEF'
registerSecret(key)

/** An SDK error as a server that echoes the key leaves it: in the message, the parsed body and the headers. */
class SdkError extends Error {
  readonly status = 401
  readonly headers = new Headers({ 'x-request-id': 'req_1', 'x-echo': `Bearer ${key}` })
  readonly error = { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error', nested: [key] }
  readonly code = 'invalid_api_key'
  readonly requestID = `req for ${key}`
}

describe('redactErrorInPlace', () => {
  it('scrubs the message, the stack, the body and the headers an SDK error keeps, down the cause chain', () => {
    const error = new Error('wrapper', { cause: new SdkError(`401 Incorrect API key provided: ${key}`) })
    redactErrorInPlace(error)
    const sdkError = error.cause as SdkError
    expect(inspect(error, { depth: 20, showHidden: true })).not.toContain(key)
    expect(sdkError.message).toBe('401 Incorrect API key provided: [REDACTED]')
    expect(sdkError.error).toEqual({
      message: 'Incorrect API key provided: [REDACTED]',
      type: 'invalid_request_error',
      nested: ['[REDACTED]'],
    })
    expect(sdkError.requestID).toBe('req for [REDACTED]')
    // Headers stay Headers, so retry-after and request ids can still be read from them.
    expect(sdkError.headers.get('x-request-id')).toBe('req_1')
    expect(sdkError.headers.get('x-echo')).toBe('Bearer [REDACTED]')
    expect(sdkError.status).toBe(401)
    expect(sdkError.code).toBe('invalid_api_key')
  })

  it('leaves an error without secrets as it was', () => {
    const error = new SdkError('plain')
    const headers = new Headers({ 'retry-after': '1' })
    Object.defineProperty(error, 'headers', { value: headers, enumerable: true })
    Object.defineProperty(error, 'error', { value: { message: 'slow down' }, enumerable: true })
    const body = error.error
    redactErrorInPlace(error)
    expect(error.headers).toBe(headers)
    expect(error.error).toEqual(body)
  })

  it('scrubs an error of another realm, and one in the cause chain of a local error', () => {
    const foreign = (): Error => runInNewContext(`new Error(${JSON.stringify(`upstream echoed ${key}`)})`) as Error
    expect(foreign()).not.toBeInstanceOf(Error)
    const alone = foreign()
    redactErrorInPlace(alone)
    expect(alone.message).toBe('upstream echoed [REDACTED]')
    const wrapped = new Error('wrapper', { cause: foreign() })
    redactErrorInPlace(wrapped)
    expect((wrapped.cause as Error).message).toBe('upstream echoed [REDACTED]')
    expect(inspect(wrapped, { depth: 20, showHidden: true })).not.toContain(key)
  })
})
