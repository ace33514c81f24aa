import { constants as bufferConstants } from 'node:buffer'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import * as zlib from 'node:zlib'
import type { Dispatcher } from 'undici'
import { type RequestCancellation, requestCancellation } from './fetch-transport.js'
import {
  countedBody,
  type FetchFunction,
  type ResponseSizeCap,
  responseTooLarge,
  unexpectedStatus,
} from './response-size-limit.js'

type Undici = typeof import('undici')

/**
 * undici, loaded once a provider chat model or a transport is created (an app that never creates a model does not pay
 * for importing it).
 */
let undici: Undici | undefined
let loading: Promise<Undici> | undefined
/** The keep-alive pool every undici transport shares, like `fetch`'s global one. */
let pool: Dispatcher | undefined

/** Starts loading undici (once), and settles when it is loaded. */
export function loadUndici(): Promise<Undici> {
  loading ??= import('undici').then((module) => {
    undici = module
    // No timers of undici's own: a call's time limits are cancellations (tinyllm's scopes, the SDK's timeout).
    // No redirects followed here either: the provider's transport follows those within the API's origin only.
    pool = new module.Agent({ headersTimeout: 0, bodyTimeout: 0 })
    return module
  })
  return loading
}

/** Bodies up to this many compressed bytes are inflated synchronously (microseconds); bigger ones off the thread. */
const syncInflateLimit = 64 * 1024
const nullBodyStatuses: ReadonlySet<number> = new Set([204, 205, 304])

/**
 * A `fetch` for an SDK on undici's `request` API over one keep-alive pool: the same requests, answers and failures as
 * `fetch` (a failure to connect rejects with a `TypeError('fetch failed')` whose cause is the socket's error; a
 * cancellation, with the call's AbortError or TimeoutError), at a fraction of its cost per call. JSON answers are read
 * whole before the `Response` is handed over — counted against the size cap as they arrive, their content codings
 * undone as `fetch` undoes them (gzip, deflate wrapped or raw, brotli, zstd where the runtime has it, up to five
 * stacked) with the cap as their limit; event streams are handed over as they arrive, decoded and counted. Requests
 * with a body `request` cannot send go through `fallback`, and so do requests made while undici is still loading
 * (creating the transport starts that, if a chat model did not already): no request waits for undici to load. (A base
 * URL with credentials in it never gets here: the provider refuses it, as `fetch` would.)
 */
export function undiciTransport(cap: ResponseSizeCap, fallback: FetchFunction): FetchFunction {
  // An undici that cannot be loaded leaves every request to the fallback.
  loadUndici().then(undefined, () => {})
  return (input, init) => {
    if (undici === undefined || (typeof input !== 'string' && !(input instanceof URL))) return fallback(input, init)
    const url = typeof input === 'string' ? input : input.href
    const body = init?.body
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array))
      return fallback(input, init)
    return send(undici, cap, url, init)
  }
}

function send(module: Undici, cap: ResponseSizeCap, url: string, init: RequestInit | undefined): Promise<Response> {
  const cancellation = requestCancellation(init)
  const signal = cancellation?.signal
  if (signal?.aborted) {
    cancellation?.dispose()
    return Promise.reject(signal.reason)
  }
  const method = init?.method ?? 'GET'
  const options = {
    method: method as Dispatcher.HttpMethod,
    headers: requestHeaders(init?.headers),
    body: (init?.body ?? null) as string | Uint8Array | null,
    signal,
    dispatcher: pool as Dispatcher,
  }
  return module.request(url, options).then(
    (answer) => toResponse(answer, method, cap, cancellation),
    (error: unknown) => {
      cancellation?.dispose()
      throw signal?.aborted === true ? signal.reason : new TypeError('fetch failed', { cause: error })
    },
  )
}

/** The request's headers as undici takes them (a flat list), asking for gzip or deflate as `fetch` does. */
function requestHeaders(headers: RequestInit['headers']): string[] {
  const list: string[] = []
  let acceptsEncoding = false
  const add = (value: string, name: string): void => {
    if (!acceptsEncoding && name.toLowerCase() === 'accept-encoding') acceptsEncoding = true
    list.push(name, value)
  }
  if (headers instanceof Headers) headers.forEach(add)
  else if (Array.isArray(headers)) for (const [name, value] of headers) add(value as string, name as string)
  else if (headers !== undefined) for (const name of Object.keys(headers)) add(headers[name] as string, name)
  if (!acceptsEncoding) list.push('accept-encoding', 'gzip, deflate')
  return list
}

function toResponse(
  answer: Dispatcher.ResponseData,
  method: string,
  cap: ResponseSizeCap,
  cancellation: RequestCancellation | undefined,
): Promise<Response> | Response {
  const status = answer.statusCode
  const headers = new Headers()
  const raw = answer.headers
  for (const name in raw) {
    const value = raw[name]
    if (typeof value === 'string') headers.append(name, value)
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item)
  }
  const init = { status, statusText: answer.statusText ?? '', headers }
  const body = answer.body
  const refused = unexpectedStatus(cap, status, headers)
  if (refused !== undefined) {
    body.on('error', () => {}).destroy()
    cancellation?.dispose()
    throw refused
  }
  if (nullBodyStatuses.has(status) || method === 'HEAD') {
    body.dump().catch(() => {})
    cancellation?.dispose()
    return new Response(null, init)
  }
  let codings: readonly Coding[]
  try {
    codings = codingsOf(headers.get('content-encoding') ?? '')
  } catch (error) {
    // Not read: the connection is closed (undici reports that on the body, which nobody listens to any more).
    body.on('error', () => {}).destroy()
    cancellation?.dispose()
    throw error
  }
  const tooLarge = (): Error => responseTooLarge(cap, status, headers)
  if ((headers.get('content-type') ?? '').includes('text/event-stream')) {
    const end = cancellation === undefined ? undefined : () => cancellation.dispose()
    return new Response(countedBody(webStream(inflating(body, codings)), cap.maxBytes, tooLarge, end), init)
  }
  // Read whole before the SDK gets the response; a body that fails on the way fails as the SDK's read of it would.
  return readWhole(body, cap.maxBytes, tooLarge)
    .then((bytes) => decodeBody(bytes, codings, cap.maxBytes, tooLarge))
    .then(
      (bytes) => {
        cancellation?.dispose()
        return new Response(bytes, init)
      },
      (error: unknown) => {
        cancellation?.dispose()
        return new Response(failedBody(bodyError(error)), init)
      },
    )
}

/** A body that fails with `error` when read. */
function failedBody(error: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.error(error) })
}

/** The whole body, or `tooLarge()` (the connection closed) once more than `maxBytes` arrived. */
function readWhole(body: Readable, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    body.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received > maxBytes) {
        body.destroy()
        reject(tooLarge())
      } else chunks.push(chunk)
    })
    body.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received)))
    body.once('error', reject)
  })
}

/** Decodes a whole body as `fetch` would, each coding in turn, never past `maxBytes`. */
async function decodeBody(
  bytes: Buffer,
  codings: readonly Coding[],
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  let decoded = bytes
  for (const coding of codings) {
    if (decoded.length === 0) break
    decoded = await decodeOnce(coding, decoded, maxBytes, tooLarge)
  }
  return decoded
}

function decodeOnce(coding: Coding, bytes: Buffer, maxBytes: number, tooLarge: () => Error): Buffer | Promise<Buffer> {
  // zlib refuses a limit above the largest Buffer (a cap of 2⁶⁰ bytes, say), which no body can outgrow anyway.
  const options = { maxOutputLength: Math.min(maxBytes, bufferConstants.MAX_LENGTH), ...coding.flush }
  const overCap = (error: unknown): Error =>
    (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
      ? tooLarge()
      : new TypeError('terminated', { cause: error })
  const { sync, async } = coding.decoders(bytes)
  if (bytes.length <= syncInflateLimit) {
    try {
      return sync(bytes, options)
    } catch (error) {
      throw overCap(error)
    }
  }
  return new Promise((resolve, reject) =>
    async(bytes, options, (error, result) => (error === null ? resolve(result) : reject(overCap(error)))),
  )
}

type Decode = (bytes: Buffer, options: object) => Buffer
type DecodeAsync = (bytes: Buffer, options: object, done: (error: Error | null, result: Buffer) => void) => void

/** One content coding: how to undo it on a whole body (given its first bytes) and on a stream. */
interface Coding {
  readonly flush: object
  decoders(head: Buffer): { readonly sync: Decode; readonly async: DecodeAsync }
  stream(): Transform
}

const zlibFlush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }
const brotliFlush = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
}

/** A `deflate` body with the zlib wrapper (its first byte names the method, 8) rather than raw DEFLATE. */
const zlibWrapped = (head: Buffer): boolean => ((head[0] ?? 0) & 0x0f) === 0x08

const gzip: Coding = {
  flush: zlibFlush,
  decoders: () => ({ sync: zlib.gunzipSync, async: zlib.gunzip }),
  stream: () => zlib.createGunzip(zlibFlush),
}

// Servers send both forms under this name; `fetch` tells them apart by the first byte.
const deflate: Coding = {
  flush: zlibFlush,
  decoders: (head) =>
    zlibWrapped(head)
      ? { sync: zlib.inflateSync, async: zlib.inflate as unknown as DecodeAsync }
      : { sync: zlib.inflateRawSync, async: zlib.inflateRaw as unknown as DecodeAsync },
  stream: () => new DeflateSniffer(),
}

const brotli: Coding = {
  flush: brotliFlush,
  decoders: () => ({ sync: zlib.brotliDecompressSync, async: zlib.brotliDecompress }),
  stream: () => zlib.createBrotliDecompress(brotliFlush),
}

const zstdFlush = { flush: zlib.constants.ZSTD_e_continue, finishFlush: zlib.constants.ZSTD_e_end }

/** zstd where the runtime's zlib has it (Node 22.15 and later), as `fetch` does. */
const zstd: Coding | undefined =
  typeof zlib.zstdDecompressSync === 'function'
    ? {
        flush: zstdFlush,
        decoders: () => ({ sync: zlib.zstdDecompressSync, async: zlib.zstdDecompress as unknown as DecodeAsync }),
        stream: () => zlib.createZstdDecompress(zstdFlush),
      }
    : undefined

/** The codings `fetch` undoes, by name. */
const codingTable: ReadonlyMap<string, Coding> = new Map([
  ['gzip', gzip],
  ['x-gzip', gzip],
  ['deflate', deflate],
  ['br', brotli],
  ...(zstd === undefined ? [] : ([['zstd', zstd]] as const)),
])

/** The most codings one response may stack, as `fetch` allows. */
const maxContentCodings = 5

/**
 * The codings of a `content-encoding` header in the order they are undone (the last applied first), as `fetch` reads
 * it: none when one of them is not known (`identity` included), so the body is passed on as it came; more than
 * {@link maxContentCodings} fail the response as `fetch` fails it.
 */
function codingsOf(header: string): readonly Coding[] {
  if (header === '') return []
  const names = header.toLowerCase().split(',')
  if (names.length > maxContentCodings) {
    const cause = new Error(
      `too many content-encodings in response: ${names.length}, maximum allowed is ${maxContentCodings}`,
    )
    throw new TypeError('fetch failed', { cause })
  }
  const codings: Coding[] = []
  for (let index = names.length - 1; index >= 0; index--) {
    const coding = codingTable.get((names[index] as string).trim())
    if (coding === undefined) return []
    codings.push(coding)
  }
  return codings
}

/** A `deflate` stream, wrapped or raw, told apart by its first byte as `fetch` does. */
class DeflateSniffer extends Transform {
  #inner: Transform | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#inner === undefined) {
      if (chunk.length === 0) {
        done()
        return
      }
      const inner = zlibWrapped(chunk) ? zlib.createInflate(zlibFlush) : zlib.createInflateRaw(zlibFlush)
      inner.on('data', (data: Buffer) => this.push(data))
      inner.on('error', (error) => this.destroy(error))
      this.#inner = inner
    }
    this.#inner.write(chunk, () => done())
  }

  override _flush(done: TransformCallback): void {
    const inner = this.#inner
    if (inner === undefined) {
      done()
      return
    }
    inner.once('end', () => done())
    inner.end()
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#inner?.destroy()
    done(error)
  }
}

/** An event stream's body, its codings undone as it arrives. */
function inflating(body: Readable, codings: readonly Coding[]): Readable {
  let current = body
  for (const coding of codings) {
    const upstream = current
    const decoder = coding.stream()
    upstream.on('error', (error) => decoder.destroy(error))
    decoder.on('close', () => upstream.destroy())
    current = upstream.pipe(decoder)
  }
  return current
}

/** A Node.js body as a web stream, read as fast as it is consumed; its failures are `fetch`'s (`terminated`). */
function webStream(body: Readable): ReadableStream<Uint8Array> {
  // Once the stream is closed, errored or cancelled, a chunk the body still emits (already read, or on a runtime that
  // emits after destroy) is dropped: enqueuing it would throw out of the body's event handler.
  let settled = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      body.on('data', (chunk: Buffer) => {
        if (settled) return
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))
        if ((controller.desiredSize ?? 0) <= 0) body.pause()
      })
      body.once('end', () => {
        if (settled) return
        settled = true
        controller.close()
      })
      body.once('error', (error) => {
        if (settled) return
        settled = true
        controller.error(bodyError(error))
      })
    },
    pull() {
      body.resume()
    },
    cancel() {
      settled = true
      body.destroy()
    },
  })
}

/** A body that failed while it was read, as `fetch` reports it: a `TypeError('terminated')` with the cause. */
function bodyError(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && 'providerErrorType' in error) return error
  return new TypeError('terminated', { cause: error })
}
