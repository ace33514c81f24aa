import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as zlib from 'node:zlib'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { AbortError, CancelScope } from '@tinyllm/core'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { cancelScopeField } from './call-cancellation.js'
import { fetchTransport } from './fetch-transport.js'
import { sameOriginRedirects } from './redirects.js'
import type { FetchFunction } from './response-size-limit.js'
import { loadUndici, undiciTransport } from './undici-transport.js'

const cap = { maxBytes: 1024, provider: 'acme', requestIdHeaders: ['x-request-id'] }
const servers: Array<{ close(): void }> = []

afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push({
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat`
}

// Requests made while undici is still loading go through the fallback: these tests are about undici's path.
beforeAll(async () => {
  await loadUndici()
})

const transports = {
  undici: undiciTransport(cap, fetchTransport(cap)),
  fetch: fetchTransport(cap),
}

describe.each(Object.entries(transports))('the %s transport', (_name, transport) => {
  it('sends the request and hands back a gzip answer inflated, with its status and headers', async () => {
    let received: { method?: string | undefined; body?: string; encoding?: string | undefined } = {}
    const url = await serve((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        received = { method: request.method, body, encoding: request.headers['accept-encoding'] }
        const json = gzipSync(JSON.stringify({ echo: body }))
        response.writeHead(201, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'x-request-id': 'r1',
        })
        response.end(json)
      })
    })
    const response = await transport(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(response.status).toBe(201)
    expect(response.headers.get('x-request-id')).toBe('r1')
    expect(await response.json()).toEqual({ echo: '{"a":1}' })
    expect(received).toMatchObject({ method: 'POST', body: '{"a":1}' })
    expect(received.encoding).toContain('gzip')
  })

  it('undoes the content codings fetch undoes: stacked ones, raw deflate, zstd; none past five', async () => {
    const text = JSON.stringify({ answer: 'decoded' })
    const encodings: Array<[string, (bytes: Buffer) => Buffer]> = [
      ['gzip, gzip', (bytes) => gzipSync(gzipSync(bytes))],
      ['deflate, br', (bytes) => brotliCompressSync(deflateSync(bytes))],
      ['deflate', (bytes) => deflateRawSync(bytes)],
      ['gzip, identity', (bytes) => bytes], // a coding fetch does not know: the body as it came
      ['constructor', (bytes) => bytes],
    ]
    // zstd where the runtime's own fetch undoes it (Node 24's does; Node 22's zlib has zstd, but its fetch leaves it).
    if (typeof zlib.zstdCompressSync === 'function') {
      const probe = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'zstd' })
        response.end(zlib.zstdCompressSync(Buffer.from(text)))
      })
      const fetched = await (await fetch(probe, { method: 'POST', body: '{}' })).text()
      if (fetched === text) encodings.push(['zstd', (bytes) => zlib.zstdCompressSync(bytes)])
    }
    for (const stream of [false, true]) {
      for (const [encoding, encode] of encodings) {
        const url = await serve((_request, response) => {
          const type = stream ? 'text/event-stream' : 'application/json'
          response.writeHead(200, { 'content-type': type, 'content-encoding': encoding })
          response.end(encode(Buffer.from(text)))
        })
        const response = await transport(url, { method: 'POST', body: '{}' })
        expect(await response.text(), `${encoding}, ${stream ? 'streamed' : 'whole'}`).toBe(text)
      }
    }
    const url = await serve((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip,gzip,gzip,gzip,gzip,gzip',
      })
      response.end(text)
    })
    const refused = await transport(url, { method: 'POST', body: '{}' }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(TypeError)
    expect(String((refused as Error).cause)).toContain('too many content-encodings')
  })

  it('follows a redirect within the origin as fetch does: the body sent again on a 307, a 303 turned into a GET', async () => {
    const following = sameOriginRedirects(transport, 'acme')
    const url = await serve((request, response) => {
      if (request.url === '/v1/chat' || request.url === '/v1/see-other') {
        response.writeHead(request.url === '/v1/chat' ? 307 : 303, { location: '/v1/moved' })
        response.end('moved')
        return
      }
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(
          JSON.stringify({ method: request.method, path: request.url, body, type: request.headers['content-type'] }),
        )
      })
    })
    const headers = { 'content-type': 'application/json' }
    const response = await following(url, { method: 'POST', body: '{"a":1}', headers })
    expect(await response.json()).toEqual({
      method: 'POST',
      path: '/v1/moved',
      body: '{"a":1}',
      type: 'application/json',
    })
    const seeOther = await following(url.replace('/v1/chat', '/v1/see-other'), {
      method: 'POST',
      body: '{"a":1}',
      headers,
    })
    expect(await seeOther.json()).toEqual({ method: 'GET', path: '/v1/moved', body: '' })
  })

  it('never follows a redirect to another origin, so the key in its headers goes nowhere else', async () => {
    let reachedOther = 0
    const other = await serve((_request, response) => {
      reachedOther += 1
      response.end('{}')
    })
    const url = await serve((_request, response) => {
      response.writeHead(307, { location: other })
      response.end()
    })
    const following = sameOriginRedirects(transport, 'acme')
    const headers = { 'x-api-key': 'sk-ant-secret', 'api-key': 'azure-secret' }
    const refused = await following(url, { method: 'POST', body: '{}', headers }).catch((error: unknown) => error)
    expect(refused).toMatchObject({
      name: 'ProviderCallError',
      status: 307,
      providerErrorType: 'cross_origin_redirect',
      retryable: false,
    })
    expect((refused as Error).message).toContain(`to another origin, ${new URL(other).origin}`)
    expect(reachedOther).toBe(0)
  })

  it('fails a compressed body that inflates past the cap with a non-retryable response_too_large error', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      response.end(gzipSync(JSON.stringify({ text: 'x'.repeat(10_000) })))
    })
    const response = await transport(url, { method: 'POST', body: '{}' })
    await expect(response.text()).rejects.toMatchObject({ providerErrorType: 'response_too_large', retryable: false })
  })

  it('fails an answer of a status HTTP gives no response (600) as a malformed response, and closes it', async () => {
    for (const type of ['text/event-stream', 'application/json']) {
      let closed!: () => void
      const whenClosed = new Promise<void>((resolve) => {
        closed = resolve
      })
      const url = await serve((request, response) => {
        request.on('close', closed)
        response.writeHead(600, { 'content-type': type, 'x-request-id': 'r600' })
        response.write(type === 'text/event-stream' ? 'data: {"a":1}\n\n' : '{"a":')
      })
      await expect(transport(url, { method: 'POST', body: '{}' }), type).rejects.toMatchObject({
        name: 'ProviderCallError',
        providerErrorType: 'malformed_response',
        status: 600,
        requestId: 'r600',
        retryable: true,
      })
      await whenClosed
    }
  })

  it('closes the request when the call scope it was handed in fetchOptions is cancelled', async () => {
    let closed!: () => void
    const whenClosed = new Promise<void>((resolve) => {
      closed = resolve
    })
    const url = await serve((request) => request.on('close', closed))
    const call = new CancelScope(undefined, { manual: true })
    const pending = transport(url, { method: 'POST', body: '{}', [cancelScopeField]: call } as RequestInit)
    setTimeout(() => call.cancel(new Error('stop')), 20)
    await expect(pending).rejects.toThrow('stop')
    await whenClosed
  })

  it("hands the HTTP client an AbortError, not the caller's reason, when a call is cancelled mid-stream", async () => {
    let closed!: () => void
    const whenClosed = new Promise<void>((resolve) => {
      closed = resolve
    })
    const url = await serve((request, response) => {
      request.on('close', closed)
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write('data: {"a":1}\n\n')
    })
    // A reason whose every read throws: nothing may read it but the caller.
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap')
        },
        getPrototypeOf() {
          throw new Error('trap')
        },
      },
    )
    const call = new CancelScope(undefined, { manual: true })
    const response = await transport(url, { method: 'POST', body: '{}', [cancelScopeField]: call } as RequestInit)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    expect((await reader.read()).done).toBe(false)
    call.cancel(hostile)
    const error = await reader.read().then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(AbortError.isInstance(error) || AbortError.isInstance((error as Error).cause)).toBe(true)
    await whenClosed
  })
})

describe('a cap above the largest Buffer', () => {
  const huge = { ...cap, maxBytes: 2 ** 60 }

  it.each(Object.entries({ undici: undiciTransport(huge, fetchTransport(huge)), fetch: fetchTransport(huge) }))(
    'reads a compressed answer on the %s transport as no cap at all',
    async (_name, transport) => {
      const url = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        response.end(gzipSync(JSON.stringify({ text: 'ok' })))
      })
      const response = await transport(url, { method: 'POST', body: '{}' })
      expect(await response.json()).toEqual({ text: 'ok' })
    },
  )
})

describe('loading undici', () => {
  afterEach(() => {
    vi.doUnmock('undici')
    vi.resetModules()
  })

  it('starts when a provider model is created, and a request made before undici has loaded does not wait for it', async () => {
    vi.resetModules()
    let importStarted!: () => void
    const whenImportStarted = new Promise<void>((resolve) => {
      importStarted = resolve
    })
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    // undici loads only once the test lets it: until then, any request that waited for it would wait for ever.
    vi.doMock('undici', async (importOriginal) => {
      importStarted()
      await released
      return importOriginal()
    })
    const { prepareTransport } = await import('./sdk-client-options.js')
    const fresh = await import('./undici-transport.js')
    prepareTransport({})
    await whenImportStarted
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{}')
    })
    const viaFallback: unknown[] = []
    const fallback: FetchFunction = (input, init) => {
      viaFallback.push(input)
      return fetchTransport(cap)(input, init)
    }
    const transport = fresh.undiciTransport(cap, fallback)
    expect((await transport(url, { method: 'POST', body: '{}' })).status).toBe(200)
    expect(viaFallback).toEqual([url])
    release()
    await fresh.loadUndici()
    expect((await transport(url, { method: 'POST', body: '{}' })).status).toBe(200)
    expect(viaFallback).toEqual([url])
  }, 30_000)
})
