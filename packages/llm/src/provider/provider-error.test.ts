import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { runInNewContext } from 'node:vm'
import { AbortError, TimeoutError } from '@tinyllm/core'
import { registerSecret } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { ProviderCallError, RateLimitError } from '../provider-errors.js'
import { providerEndpoint } from './endpoint.js'
import { incompleteStream, malformedResponse, toProviderError } from './provider-error.js'
import type { ProviderProfile } from './provider-profile.js'

const profile: ProviderProfile = {
  provider: 'example',
  displayName: 'Example',
  apiKeyVariable: 'EXAMPLE_API_KEY',
  logVariable: 'EXAMPLE_LOG',
  requestIdHeaders: ['request-id', 'x-request-id'],
  chatPath: '/chat',
  baseURLVersion: 'included',
  streamErrorStatus: { overloaded_error: 529, invalid_request_error: 400 },
}

/** An SDK error as another copy of an SDK builds it: the same fields, no shared class. */
function apiError(status: number | undefined, body: unknown, headers: Record<string, string> = {}): Error {
  const error = new Error(`${status ?? ''} ${JSON.stringify(body)}`)
  return Object.assign(error, { status, headers: new Headers(headers), error: body })
}

function named(name: string, fields: object = {}): Error {
  class Named extends Error {}
  Object.defineProperty(Named, 'name', { value: name })
  return Object.assign(new Named('SDK failure'), fields)
}

describe('toProviderError', () => {
  it('maps HTTP statuses by shape: 429 with its hint, 408/409/5xx retryable, other 4xx final', () => {
    const limited = toProviderError(
      profile,
      apiError(
        429,
        { error: { type: 'rate_limit_error', message: 'slow' } },
        { 'retry-after': '2', 'request-id': 'req_9' },
      ),
    )
    expect(RateLimitError.isInstance(limited)).toBe(true)
    expect(limited).toMatchObject({
      status: 429,
      retryable: true,
      retryAfterMs: 2000,
      requestId: 'req_9',
      providerErrorType: 'rate_limit_error',
    })
    expect(limited.message).toBe('example: 429 slow (request req_9)')
    for (const status of [408, 409, 500, 503, 529]) {
      expect(toProviderError(profile, apiError(status, {}))).toMatchObject({ status, retryable: true })
    }
    for (const status of [400, 401, 403, 404, 422]) {
      expect(toProviderError(profile, apiError(status, {}, { 'retry-after': '1' }))).toMatchObject({
        status,
        retryable: false,
        retryAfterMs: undefined,
      })
    }
  })

  it('keeps the retry-after of a 429 the server calls final, for the shared rate limiter to cool down', () => {
    const final = toProviderError(
      profile,
      apiError(429, { error: { type: 'rate_limit_error' } }, { 'retry-after': '20', 'x-should-retry': 'false' }),
    )
    expect(RateLimitError.isInstance(final)).toBe(true)
    expect(final).toMatchObject({ status: 429, retryable: false, retryAfterMs: 20_000 })
  })

  it('says the status, then the server’s words, or the SDK’s when the body has none', () => {
    const noBody = Object.assign(new Error('503 status code (no body)'), { status: 503, headers: new Headers() })
    expect(toProviderError(profile, noBody).message).toBe('example: 503 status code (no body)')
    const bare = Object.assign(new Error('Service Unavailable'), { status: 503, headers: new Headers() })
    expect(toProviderError(profile, bare).message).toBe('example: 503 Service Unavailable')
  })

  it('lets x-should-retry decide, reads the request id from the profile’s headers and the code before the type', () => {
    expect(toProviderError(profile, apiError(400, {}, { 'x-should-retry': 'true' }))).toMatchObject({ retryable: true })
    expect(toProviderError(profile, apiError(503, {}, { 'x-should-retry': 'false' }))).toMatchObject({
      retryable: false,
    })
    const openAIStyle = Object.assign(
      apiError(
        401,
        { message: 'bad key', code: 'invalid_api_key', type: 'invalid_request_error' },
        { 'x-request-id': 'req_x' },
      ),
      { code: 'invalid_api_key', type: 'invalid_request_error' },
    )
    expect(toProviderError(profile, openAIStyle)).toMatchObject({
      providerErrorType: 'invalid_api_key',
      requestId: 'req_x',
    })
  })

  it('maps a stream error event by its type: the profile’s status table, else whether the server failed', () => {
    const overloaded = toProviderError(
      profile,
      apiError(undefined, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    )
    expect(overloaded).toMatchObject({ status: undefined, retryable: true, providerErrorType: 'overloaded_error' })
    expect(overloaded.message).toBe('example: error in stream (overloaded_error): Overloaded')
    expect(
      toProviderError(
        profile,
        apiError(undefined, { type: 'error', error: { type: 'invalid_request_error', message: 'no' } }),
      ),
    ).toMatchObject({ retryable: false })
    expect(toProviderError(profile, apiError(undefined, { message: 'boom', type: 'server_error' }))).toMatchObject({
      retryable: true,
      providerErrorType: 'server_error',
    })
    const limited = toProviderError(
      { ...profile, streamErrorStatus: { rate_limit_error: 429 } },
      apiError(undefined, { type: 'error', error: { type: 'rate_limit_error', message: 'slow' } }),
    )
    expect(RateLimitError.isInstance(limited)).toBe(true)
    // An error event without a type, or with only text, is still an error in the stream.
    for (const body of [{ error: { message: 'engine died' } }, { message: 'engine died' }, 'engine died']) {
      const untyped = toProviderError(profile, apiError(undefined, body))
      expect(untyped).toMatchObject({ status: undefined, retryable: false, providerErrorType: undefined })
      expect(untyped.message).toBe('example: error in stream: engine died')
    }
  })

  it('maps a rate limit inside a stream to a RateLimitError with its hint on every provider, status table or not', () => {
    const { streamErrorStatus: _, ...withoutTable } = profile
    const bodies = [
      { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null },
      { type: 'error', error: { type: 'rate_limit_error', message: 'slow' } },
    ]
    for (const body of bodies) {
      const event = Object.assign(apiError(undefined, body, { 'retry-after-ms': '1500' }), {
        code: (body as { code?: string }).code,
      })
      const limited = toProviderError(withoutTable, event)
      expect(RateLimitError.isInstance(limited)).toBe(true)
      expect(limited).toMatchObject({ status: undefined, retryable: true, retryAfterMs: 1500 })
    }
    // A type named like a property every object has stands for no status.
    const odd = toProviderError(profile, apiError(undefined, { type: 'error', error: { type: 'constructor' } }))
    expect(odd).toMatchObject({ name: 'ProviderCallError', retryable: false })
  })

  it('maps any failure that is no SDK error, once the server had answered, to a retryable read failure', () => {
    const answered = toProviderError(profile, new Error('socket hang up'), { answered: true })
    expect(answered).toMatchObject({ name: 'ProviderCallError', retryable: true })
    expect(answered.message).toBe('example: connection failed while reading the response: socket hang up')
    expect(toProviderError(profile, new Error('socket hang up'))).toMatchObject({
      retryable: false,
      providerErrorType: 'invalid_request',
    })
  })

  it('recognises SDK errors by name or constructor name, never by class', () => {
    const endpoint = providerEndpoint(profile, 'http://127.0.0.1:1/v1')
    const refused = named('APIConnectionError', {
      cause: new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
    })
    expect(toProviderError(profile, refused, { endpoint }).message).toBe(
      'example: connection failed: POST http://127.0.0.1:1/v1/chat: ECONNREFUSED',
    )
    const byProperty = Object.assign(new Error('Request timed out.'), { name: 'APIConnectionTimeoutError' })
    expect(toProviderError(profile, byProperty)).toMatchObject({ retryable: true, providerErrorType: 'timeout' })
    expect(AbortError.isInstance(toProviderError(profile, named('APIUserAbortError')))).toBe(true)
  })

  it('maps a request the transport refused to send (a header value with a control character) to a final invalid_request, not a retryable connection failure', async () => {
    const server = createServer((_request, response) => response.end('{}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    let requests = 0
    server.on('request', () => {
      requests += 1
    })
    try {
      const { port } = server.address() as AddressInfo
      // What Node's fetch (undici) throws for an API key with a DEL in it: its Headers take the value, its dispatcher
      // refuses it before connecting.
      const thrown = await fetch(`http://127.0.0.1:${port}/v1/chat`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-key\x7f' },
      }).then(
        () => undefined,
        (error: unknown) => error,
      )
      const endpoint = providerEndpoint(profile, `http://127.0.0.1:${port}/v1`)
      // As the SDKs wrap it, and as a client's own fetch may throw it.
      for (const error of [named('APIConnectionError', { cause: thrown }), thrown]) {
        const mapped = toProviderError(profile, error, { endpoint })
        expect(mapped).toMatchObject({ retryable: false, providerErrorType: 'invalid_request' })
        expect(mapped.message).toMatch(/^example: the request could not be sent: invalid .*header/)
      }
      expect(requests).toBe(0)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('keeps the abort reason of an aborted signal and passes tinyllm errors through', () => {
    const controller = new AbortController()
    const timeout = new TimeoutError({ timeoutMs: 5, kind: 'attempt' })
    controller.abort(timeout)
    expect(toProviderError(profile, new Error('whatever'), { signal: controller.signal })).toBe(timeout)
    const own = new ProviderCallError({ provider: 'example', message: 'x' })
    expect(toProviderError(profile, own)).toBe(own)
  })

  it('maps a body that is not JSON to a retryable malformed_response, a cut connection to a retryable failure, and the rest to a final invalid_request', () => {
    expect(toProviderError(profile, new SyntaxError('Unexpected token <'))).toMatchObject({
      retryable: true,
      providerErrorType: 'malformed_response',
    })
    const terminated = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    })
    expect(toProviderError(profile, terminated)).toMatchObject({ retryable: true, providerErrorType: undefined })
    expect(toProviderError(profile, new TypeError('Do not know how to serialize a BigInt'))).toMatchObject({
      retryable: false,
      providerErrorType: 'invalid_request',
    })
    expect(toProviderError(profile, 'a string')).toMatchObject({
      retryable: false,
      providerErrorType: 'invalid_request',
    })
  })

  it('maps a thrown value whose reading throws (a revoked Proxy, traps that throw) to a typed final error, never a TypeError', () => {
    const { proxy: revoked, revoke } = Proxy.revocable({}, {})
    revoke()
    const fail = (): never => {
      throw new Error('trap')
    }
    const hostile = new Proxy({}, { get: fail, getPrototypeOf: fail, has: fail, ownKeys: fail })
    for (const thrown of [revoked, hostile]) {
      let error: unknown
      expect(() => {
        error = toProviderError(profile, thrown)
      }).not.toThrow()
      expect(ProviderCallError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ retryable: false, providerErrorType: 'invalid_request' })
      expect((error as Error).message).toMatch(/^example: the request could not be sent: /)
      expect(() => JSON.stringify(error)).not.toThrow()
      expect(() => inspect(error)).not.toThrow()
    }
  })

  it('quotes the server at most 500 characters, redacted, and scrubs the cause', () => {
    const key = 'sk-proj-providerErrorTestKey0123456789abcdef'
    registerSecret(key)
    const error = apiError(400, { error: { message: `bad key ${key} ${'x'.repeat(2000)}` } })
    const mapped = toProviderError(profile, error)
    expect(mapped.message).not.toContain(key)
    expect(mapped.message.length).toBeLessThan(600)
    expect(error.message).not.toContain(key)
  })

  it('quotes the type of a stream error event within the same bound, however long the server made it', () => {
    const type = `overloaded_${'x'.repeat(2_000_000)}`
    const mapped = toProviderError(profile, apiError(undefined, { error: { type, message: 'boom' } }))
    expect(mapped).toMatchObject({ name: 'ProviderCallError', providerErrorType: type, retryable: true })
    expect(mapped.message).toMatch(/^example: error in stream \(overloaded_x+…\): boom$/)
    expect(mapped.message.length).toBeLessThan(600)
  })

  it('quotes a request id within the same bound, as a body that is not what the API promises may carry any id', () => {
    const requestId = `chatcmpl-${'x'.repeat(1_000_000)}`
    for (const error of [
      malformedResponse(profile, 'an empty `choices` array', { requestId }),
      incompleteStream(profile, 'the stream ended before choice 0 finished', requestId),
      toProviderError(profile, apiError(500, { error: { message: 'boom' } }, { 'x-request-id': requestId })),
    ]) {
      expect(error).toMatchObject({ name: 'ProviderCallError', requestId })
      expect(error.message).toMatch(/\(request chatcmpl-x+…\)$/)
      expect(error.message.length).toBeLessThan(600)
    }
  })

  it('adds the base URL hint to a 404', () => {
    const endpoint = providerEndpoint(profile, 'http://127.0.0.1:1')
    expect(toProviderError(profile, apiError(404, {}), { endpoint }).message).toContain(
      'the base URL http://127.0.0.1:1 has no /v1',
    )
  })
})

describe('malformedResponse and incompleteStream', () => {
  it('are retryable, typed, and name the request', () => {
    expect(malformedResponse(profile, 'no choices', { status: 200, requestId: 'req_1' })).toMatchObject({
      message: 'example: malformed response: no choices (request req_1)',
      providerErrorType: 'malformed_response',
      retryable: true,
      status: 200,
    })
    expect(incompleteStream(profile, 'the stream ended early', undefined)).toMatchObject({
      providerErrorType: 'incomplete_stream',
      retryable: true,
    })
  })

  it('scrubs the secrets of an SDK error from another realm, which it keeps as the cause', () => {
    const key = 'example-key-Xs81mQc0pLk3vT9wZZ'
    registerSecret(key)
    const foreign = runInNewContext(
      `Object.assign(new Error('500 upstream echoed ${key}'), { status: 500, error: { message: 'echoed ${key}' } })`,
    ) as Error
    const error = toProviderError(profile, foreign)
    expect(ProviderCallError.isInstance(error)).toBe(true)
    expect((error.cause as Error).message).toBe('500 upstream echoed [REDACTED]')
    expect(JSON.stringify((error.cause as { error?: unknown }).error)).not.toContain(key)
  })
})
