import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer, METHODS } from 'node:http'
import type { Socket } from 'node:net'
import {
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  optionError,
  safeStringify,
  unreadableOption,
} from '@tinyllm/core'
import { redact, redactAndCut, redactString } from '@tinyllm/logger'
import type { Cassette } from './cassette.js'
import type { Fault, FaultKind, FaultOptions, FaultSchedule } from './fault.js'
import { faultKinds, faultOptionKeys } from './fault.js'
import type { FaultRoll } from './fault-plan.js'
import { FaultPlan } from './fault-plan.js'
import type { Latency } from './latency.js'
import { checkLatency, pickLatencyMs } from './latency.js'
import type { LoggedRequest, LoopbackRequest, RequestOutcome } from './loopback-request.js'
import type { LoopbackResponse, RouteHandler } from './loopback-response.js'
import { flushThenDestroy, sleep, write, writeResponse } from './response-writer.js'
import { createSeededRandom } from './seeded-random.js'

/** What an error body is built from: the server's own errors (unknown route, handler threw) and status faults. */
export interface LoopbackErrorDetails {
  readonly status: number
  readonly message: string
  /** A provider-style error type: `invalid_request_error`, `not_found_error`, `rate_limit_error`, `server_error`… */
  readonly type: string
}

/** Builds the JSON error body in a provider's shape. */
export type ErrorBodyFormatter = (error: LoopbackErrorDetails) => unknown

/** Options of {@link startLoopbackServer}. Fault settings come from {@link FaultOptions}. */
export interface LoopbackServerOptions extends FaultOptions {
  /** Handlers by `'METHOD /path'` (exact path, no query string). */
  readonly routes?: Readonly<Record<string, RouteHandler>> | undefined
  /** Answers requests no route matches (before the cassette; default: a 404 error body). */
  readonly fallback?: RouteHandler | undefined
  /** Answers requests no route matches by replaying or recording; saved when the server closes. */
  readonly cassette?: Cassette | undefined
  /** Delay before each response's headers (fault responses included). */
  readonly latency?: Latency | undefined
  /** Seed of the generator behind latency ranges and `faultRate` (default 1): same seed, same rolls. */
  readonly seed?: number | undefined
  /** Shape of error bodies; default `{ error: { message, type, param: null, code: null } }`. */
  readonly formatError?: ErrorBodyFormatter | undefined
  /** Port to listen on; default 0 (any free port). The host is always 127.0.0.1. */
  readonly port?: number | undefined
  /**
   * How long an idle keep-alive connection stays open, in ms (default Node's 5,000). A client may reuse a connection
   * just as the server closes it and see `ECONNRESET`, as against a real API; a test that counts attempts or log lines,
   * with pauses between calls on a busy machine, sets this longer than its run. `close()` ends idle connections anyway.
   */
  readonly keepAliveTimeoutMs?: number | undefined
  /**
   * The longest request body the server reads, in bytes (default 32 MiB): a longer one, whether its `content-length`
   * says so or more than this has come, is answered 413 at once, as a real API answers, without reading it whole (the
   * rest is read and dropped) and without a route, fault or latency.
   */
  readonly maxRequestBytes?: number | undefined
}

/** The longest request body a loopback server reads by default: 32 MiB. */
const defaultMaxRequestBytes = 32 * 1024 * 1024

/** A running loopback HTTP server: request log, counters and knobs to change its behaviour mid-test. */
export interface LoopbackServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:54321`. */
  readonly url: string
  readonly port: number
  /** Every request received, in arrival order, redacted (see {@link LoggedRequest}). */
  readonly requests: readonly LoggedRequest[]
  /** Requests received whose exchange has not ended yet. */
  readonly inFlight: number
  /** Open TCP connections, idle keep-alive ones included. */
  readonly openSockets: number
  /** How many faults of each kind were injected. */
  readonly faultCounts: Readonly<Record<FaultKind, number>>
  /** Replaces the latency for requests that arrive from now on. */
  setLatency(latency: Latency | undefined): void
  /**
   * Adds, replaces or (with `undefined`) removes the handler of a `'METHOD /path'` route. A route of another shape or
   * with a method Node's HTTP server never accepts (`FETCH /x`), or a handler that is not a function, is a
   * `ConfigurationError` naming `setHandler`.
   */
  setHandler(route: string, handler: RouteHandler | undefined): void
  /** Replaces the fault settings; a list schedule counts from the next request. */
  injectFaults(faults: FaultSchedule | FaultOptions): void
  /** Removes every fault setting. */
  clearFaults(): void
  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void>
  /**
   * Stops listening, destroys idle and active connections (stalled responses included), saves the cassette if any,
   * and resolves when all is closed: by then `openSockets` and `inFlight` are 0 and every logged request has its
   * outcome. Calling it again returns the same promise.
   */
  close(): Promise<void>
}

/**
 * Starts a real HTTP server on 127.0.0.1 for tests, benchmarks and offline runs: routes answer with JSON, server-sent
 * events or raw bytes; latency and faults are injected on demand, reproducibly.
 *
 * @example
 * const server = await startLoopbackServer({
 *   routes: { 'GET /health': () => ({ json: { ok: true } }) },
 *   faults: [{ kind: 'status', status: 429, headers: { 'retry-after': '1' } }],
 * })
 * await fetch(`${server.url}/health`) // 429, then 200 for the next request
 * await server.close()
 */
export function startLoopbackServer(options: LoopbackServerOptions = {}): Promise<LoopbackServer> {
  return startLoopbackServerAs(options, 'startLoopbackServer')
}

/**
 * {@link startLoopbackServer} on behalf of the function the caller called (`startOpenAICompatibleServer`…): an option
 * it refuses is a ConfigurationError naming `owner`.
 */
export async function startLoopbackServerAs(options: LoopbackServerOptions, owner: string): Promise<LoopbackServer> {
  let server: LoopbackHttpServer
  let port: number
  try {
    checkServerOptions(options, loopbackServerOptionKeys, owner)
    checkServerValues(options, owner)
    server = new LoopbackHttpServer(options, owner)
    port = options.port ?? 0
  } catch (error) {
    // An option whose getter or Proxy throws as it is read is refused like one of the wrong type.
    throw unreadableOption(error, 'options', owner)
  }
  try {
    await server.listen(port)
  } catch (cause) {
    // A port another process holds (EADDRINUSE) or one this process may not open (EACCES).
    throw new ConfigurationError({
      option: 'port',
      message: `port ${port} cannot be listened on: ${cause instanceof Error ? cause.message : String(cause)}`,
      functionName: owner,
      cause,
    })
  }
  return server
}

/** Every key of {@link LoopbackServerOptions}, fault settings included. */
export const loopbackServerOptionKeys = Object.freeze(
  Object.keys({
    routes: true,
    fallback: true,
    cassette: true,
    latency: true,
    seed: true,
    formatError: true,
    port: true,
    keepAliveTimeoutMs: true,
    maxRequestBytes: true,
    faults: true,
    faultRate: true,
    faultMix: true,
  } satisfies Record<keyof LoopbackServerOptions, true>),
)

/**
 * Checks a server's options object: an option it does not know (a typo such as `rotues`) is a ConfigurationError
 * naming `owner` and suggesting the right name, instead of a server that silently ignores it.
 */
export function checkServerOptions(options: object, known: ReadonlyArray<string>, owner: string): void {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  checkKnownOptions(options, new Set(known), owner)
}

/** The largest seed: the generator keeps 32 bits, so a larger or fractional seed would roll as another one does. */
const maxSeed = 2 ** 32 - 1

/**
 * The options a server cannot do without checking their type: a port that is not a number would listen on a named
 * pipe (a string) or fail with a RangeError, a seed that is not a whole number from 0 to 2^32 − 1 would give the rolls
 * of another seed, and a fallback, formatError or cassette that cannot be called would fail every request it should answer.
 */
function checkServerValues(options: LoopbackServerOptions, owner: string): void {
  checkNumber(options.port, 'port', { integer: true, min: 0, max: 65_535 }, owner)
  const routes = options.routes
  if (routes != null && typeof routes !== 'object')
    throw optionError('routes', "an object of 'METHOD /path' handlers", routes, owner)
  checkNumber(options.seed, 'seed', { integer: true, min: 0, max: maxSeed }, owner)
  // Node's timers take at most 2^31 − 1 ms.
  checkNumber(
    options.keepAliveTimeoutMs,
    'keepAliveTimeoutMs',
    { integer: true, min: 1, max: 2 ** 31 - 1, unit: 'ms' },
    owner,
  )
  checkNumber(options.maxRequestBytes, 'maxRequestBytes', { integer: true, min: 1, unit: 'bytes' }, owner)
  for (const name of ['fallback', 'formatError'] as const) {
    const value = options[name]
    if (value != null && typeof value !== 'function') throw optionError(name, 'a function', value, owner)
  }
  const cassette = options.cassette
  if (cassette != null && (typeof cassette.handle !== 'function' || typeof cassette.close !== 'function')) {
    throw optionError('cassette', 'a cassette made with createCassette', cassette, owner)
  }
}

type LogEntry = { -readonly [Key in keyof LoggedRequest]: LoggedRequest[Key] }

const defaultErrorTypes: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
}

function errorTypeOf(status: number): string {
  return defaultErrorTypes[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error')
}

const defaultFormatError: ErrorBodyFormatter = ({ message, type }) => ({
  error: { message, type, param: null, code: null },
})

class LoopbackHttpServer implements LoopbackServer {
  readonly #server: Server
  readonly #routes = new Map<string, RouteHandler>()
  readonly #fallback: RouteHandler | undefined
  readonly #cassette: Cassette | undefined
  readonly #formatError: ErrorBodyFormatter
  readonly #maxRequestBytes: number
  readonly #faultPlan: FaultPlan
  readonly #latencyRandom
  readonly #log: LogEntry[] = []
  readonly #sockets = new Set<Socket>()
  readonly #controllers = new Set<AbortController>()
  readonly #faultCounts: Record<FaultKind, number>
  readonly #idleWaiters: (() => void)[] = []
  readonly #socketWaiters: (() => void)[] = []
  #latency: Latency | undefined
  #inFlight = 0
  #port = 0
  #closing: Promise<void> | undefined

  constructor(options: LoopbackServerOptions, owner: string) {
    for (const [route, handler] of Object.entries(options.routes ?? {})) this.#setRoute(route, handler, owner, true)
    this.#fallback = options.fallback
    this.#cassette = options.cassette
    this.#formatError = options.formatError ?? defaultFormatError
    this.#maxRequestBytes = options.maxRequestBytes ?? defaultMaxRequestBytes
    this.#latency = checkLatency(options.latency, owner)
    const seed = options.seed ?? 1
    this.#latencyRandom = createSeededRandom(seed)
    this.#faultPlan = new FaultPlan(createSeededRandom(seed ^ 0x9e3779b9))
    this.#faultPlan.configure(options, 0, owner)
    this.#faultCounts = Object.fromEntries(faultKinds.map((kind) => [kind, 0])) as Record<FaultKind, number>
    this.#server = createServer((request, response) => this.#onRequest(request, response))
    if (options.keepAliveTimeoutMs != null) this.#server.keepAliveTimeout = options.keepAliveTimeoutMs
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => {
        this.#sockets.delete(socket)
        if (this.#sockets.size === 0) for (const resolve of this.#socketWaiters.splice(0)) resolve()
      })
    })
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        const address = this.#server.address()
        this.#port = typeof address === 'object' && address ? address.port : port
        resolve()
      })
    })
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  get port(): number {
    return this.#port
  }

  get requests(): readonly LoggedRequest[] {
    return this.#log
  }

  get inFlight(): number {
    return this.#inFlight
  }

  get openSockets(): number {
    return this.#sockets.size
  }

  get faultCounts(): Readonly<Record<FaultKind, number>> {
    return { ...this.#faultCounts }
  }

  setLatency(latency: Latency | undefined): void {
    this.#latency = checkLatency(latency, 'setLatency')
  }

  setHandler(route: string, handler: RouteHandler | undefined): void {
    this.#setRoute(route, handler, 'setHandler', false)
  }

  /** A route of `setHandler`, or of the `routes` option of `owner`, the function that started the server. */
  #setRoute(route: string, handler: RouteHandler | undefined, owner: string, fromOption: boolean): void {
    const key = normaliseRoute(route, fromOption, owner)
    if (handler === undefined || handler === null) this.#routes.delete(key)
    else if (typeof handler === 'function') this.#routes.set(key, handler)
    // An answer given where its handler belongs (`{ json }`) would fail every request with a 500.
    else {
      const option = fromOption ? `routes[${JSON.stringify(route)}]` : 'handler'
      throw optionError(option, 'a route handler (a function)', handler, owner)
    }
  }

  injectFaults(faults: FaultSchedule | FaultOptions): void {
    try {
      // Array.isArray does not narrow readonly arrays out of a union, hence the casts.
      const isSchedule = typeof faults === 'function' || Array.isArray(faults)
      if (!isSchedule) checkServerOptions(faults, faultOptionKeys, 'injectFaults')
      const options = isSchedule ? { faults: faults as FaultSchedule } : (faults as FaultOptions)
      this.#faultPlan.configure(options, this.#log.length, 'injectFaults')
    } catch (error) {
      throw unreadableOption(error, 'faults', 'injectFaults')
    }
  }

  clearFaults(): void {
    this.#faultPlan.configure({}, this.#log.length, 'clearFaults')
  }

  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const controller of this.#controllers) controller.abort()
    this.#server.closeAllConnections()
    for (const socket of this.#sockets) socket.destroy()
    // The server's close callback can come before the sockets' own `close` events, and so before the request log and
    // the counters have heard of them: wait for those too.
    await Promise.all([closed, this.whenIdle(), this.#whenNoSockets()])
    await this.#cassette?.close()
  }

  #whenNoSockets(): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#socketWaiters.push(resolve))
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    const index = this.#log.length
    const requestId = `req_${index}`
    // Random draws happen at arrival, so they follow arrival order whatever the bodies' timing.
    const roll = this.#faultPlan.roll()
    const latencyMs = pickLatencyMs(this.#latency, this.#latencyRandom)
    const url = targetUrl(request.url ?? '/')
    const headers = flattenHeaders(request)
    // The log is redacted as it is written, while the secrets of the client that sent the request are registered.
    const entry: LogEntry = {
      index,
      requestId,
      method: (request.method ?? 'GET').toUpperCase(),
      path: redactString(url.pathname),
      query: redactString(url.search),
      headers: redact(headers),
      body: undefined,
      receivedAt: Date.now(),
      outcome: 'pending',
      status: undefined,
      fault: undefined,
      endedAt: undefined,
    }
    this.#log.push(entry)
    this.#inFlight++
    const controller = new AbortController()
    this.#controllers.add(controller)
    response.on('error', () => {})
    // Set when the answer failed after its headers went out: the server, not the client, cuts the connection.
    let cutByServer = false
    response.once('close', () => {
      entry.outcome = this.#outcomeOf(entry, response, cutByServer)
      entry.endedAt = Date.now()
      if (response.headersSent) entry.status = response.statusCode
      controller.abort()
      this.#controllers.delete(controller)
      this.#inFlight--
      if (this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve()
    })
    if (this.#closing) controller.abort()
    this.#exchange(request, response, entry, url, headers, roll, latencyMs, controller.signal).catch(
      (error: unknown) => {
        if (response.headersSent) {
          cutByServer = true
          response.destroy()
          return
        }
        // The thrown message may quote a request or a key: secrets are replaced as in the request log, and a message
        // quoting a whole body is cut, as a tinyllm error's is.
        const message = redactAndCut(thrownMessage(error), 1_000)
        this.#sendError(response, entry.requestId, 500, `Loopback handler failed: ${message}`)
      },
    )
  }

  #outcomeOf(entry: LogEntry, response: ServerResponse, cutByServer: boolean): RequestOutcome {
    if (entry.fault) return 'fault'
    if (response.writableFinished) return 'completed'
    if (this.#closing || cutByServer) return 'server-closed'
    return 'client-closed'
  }

  async #exchange(
    incoming: IncomingMessage,
    response: ServerResponse,
    entry: LogEntry,
    url: URL,
    headers: Record<string, string>,
    roll: FaultRoll,
    latencyMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    let rawBody: Buffer | undefined
    try {
      rawBody = await readBody(incoming, this.#maxRequestBytes)
    } catch {
      return // The client went away while sending its body.
    }
    if (rawBody === undefined) {
      const limit = this.#maxRequestBytes.toLocaleString('en-US')
      const message = `Request body too large: more than ${limit} bytes (maxRequestBytes)`
      return this.#sendError(response, entry.requestId, 413, message)
    }
    const request: LoopbackRequest = {
      method: entry.method,
      path: url.pathname,
      query: url.search,
      headers,
      body: parseBody(rawBody, headers['content-type']),
      rawBody,
    }
    entry.body = redact(request.body)
    const fault = this.#faultPlan.choose(entry.index, request, roll) ?? undefined
    if (fault) {
      entry.fault = redact(fault)
      this.#faultCounts[fault.kind]++
    }
    await sleep(latencyMs, signal)
    if (signal.aborted) return

    switch (fault?.kind) {
      case 'reset-before-headers':
        if (response.socket) response.socket.resetAndDestroy()
        else response.destroy()
        return
      case 'status':
        return this.#sendStatusFault(response, entry.requestId, fault)
      case 'oversized':
        return sendOversized(response, entry.requestId, fault.bytes, signal)
      case 'stall-headers':
        await sleep(fault.ms ?? Number.POSITIVE_INFINITY, signal)
        if (signal.aborted) return
        break
    }

    const answer = await this.#route(request, entry, signal, fault)
    if (signal.aborted) return
    await writeResponse(response, answer, entry.requestId, fault?.kind === 'stall-headers' ? undefined : fault, signal)
  }

  #route(
    request: LoopbackRequest,
    entry: LogEntry,
    signal: AbortSignal,
    fault: Fault | undefined,
  ): LoopbackResponse | Promise<LoopbackResponse> {
    const handler =
      this.#routes.get(`${request.method} ${request.path}`) ?? this.#fallback ?? this.#cassette?.handle ?? undefined
    if (!handler) {
      // The path as the log holds it: a key the path carries (a misplaced one, say) is not sent back to be quoted.
      const message = `No loopback route for ${entry.method} ${entry.path}`
      return { status: 404, json: this.#formatError({ status: 404, message, type: errorTypeOf(404) }) }
    }
    return handler({ request, requestIndex: entry.index, requestId: entry.requestId, signal, fault })
  }

  #sendStatusFault(response: ServerResponse, requestId: string, fault: Fault & { kind: 'status' }): void {
    const body =
      fault.body === undefined
        ? this.#formatError({
            status: fault.status,
            message: `Injected fault: HTTP ${fault.status}`,
            type: errorTypeOf(fault.status),
          })
        : fault.body
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    const headers: Record<string, string> = {
      'x-request-id': requestId,
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    }
    for (const [name, value] of Object.entries(fault.headers ?? {})) headers[name.toLowerCase()] = value
    headers['content-length'] = String(Buffer.byteLength(text))
    response.writeHead(fault.status, headers).end(text)
  }

  #sendError(response: ServerResponse, requestId: string, status: number, message: string): void {
    if (response.destroyed) return
    const details = { status, message, type: errorTypeOf(status) }
    let text: string
    try {
      text = JSON.stringify(this.#formatError(details)) ?? 'null'
    } catch (error) {
      // The last answer to a failed request: a formatError that throws (or builds no JSON) must not end the process.
      const reason = redactString(thrownMessage(error))
      text = JSON.stringify(defaultFormatError({ ...details, message: `${message} (formatError failed: ${reason})` }))
    }
    response.writeHead(status, { 'x-request-id': requestId, 'content-type': 'application/json' }).end(text)
  }
}

/**
 * The request target as a URL. One that is none (`GET http://[ HTTP/1.1`) would throw in the server's request listener
 * and end the process: it is kept whole, encoded, as a path no route matches, so it is logged and answered.
 */
function targetUrl(target: string): URL {
  const base = 'http://127.0.0.1'
  return URL.parse(target, base) ?? new URL(`/${encodeURIComponent(target)}`, base)
}

/**
 * The message of what a handler or formatter threw, whatever it is: an object without a prototype, or whose `message`
 * getter throws, must not turn the server's last answer into an exception nobody catches.
 */
function thrownMessage(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error)
  } catch {
    return safeStringify(error, 200)
  }
}

async function sendOversized(response: ServerResponse, requestId: string, bytes: number, signal: AbortSignal) {
  const prefix = '{"padding":"'
  const suffix = '"}'
  const padding = Math.max(0, bytes - prefix.length - suffix.length)
  response.writeHead(200, {
    'x-request-id': requestId,
    'content-type': 'application/json',
    'content-length': String(prefix.length + padding + suffix.length),
  })
  await write(response, prefix)
  const block = Buffer.alloc(64 * 1024, 'x')
  for (let left = padding; left > 0; left -= block.length) {
    if (signal.aborted) return
    await write(response, left >= block.length ? block : block.subarray(0, left))
  }
  if (signal.aborted) return flushThenDestroy(response)
  response.end(suffix)
}

// A method is an HTTP token; a path starts with `/` and holds no query, fragment or white space (routes match the path alone).
const routePattern = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\/[^\s?#]*)$/

// Node's HTTP parser answers 400 to a request with any other method: a route for one (`FETCH /x`) would never run.
const routeMethods: ReadonlySet<string> = new Set(METHODS)

const routeShape = '"METHOD /path" (a method Node\'s HTTP server accepts, a path without query string)'

/** `route` as the server matches it (`GET /x`), or a ConfigurationError naming the `routes` option or `route`. */
function normaliseRoute(route: string, fromOption: boolean, owner: string): string {
  const match = typeof route === 'string' ? routePattern.exec(route.trim()) : null
  const method = match?.[1]?.toUpperCase()
  if (match && method !== undefined && routeMethods.has(method)) return `${method} ${match[2]}`
  if (fromOption) throw optionError('routes', `an object whose keys look like ${routeShape}`, route, owner)
  throw optionError('route', `a string like ${routeShape}`, route, owner)
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

/**
 * A request's body, or `undefined` when it is longer than `maxBytes`: its `content-length` says so (nothing of it is
 * read), or more than that has come. Past the bound the rest is read and dropped, so the client, still sending, gets
 * the answer and its connection stays usable. Rejects when the client goes away before the body ended.
 */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  // A stream error with no listener left would end the process: one stays, whatever happens to the body.
  request.on('error', () => {})
  if (Number(request.headers['content-length']) > maxBytes) return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const settle = (body: Buffer | undefined, error?: unknown): void => {
      request.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      if (error === undefined) resolve(body)
      else reject(error)
    }
    const onData = (chunk: Buffer): void => {
      length += chunk.length
      if (length <= maxBytes) chunks.push(chunk)
      else {
        chunks.length = 0
        settle(undefined)
        request.resume()
      }
    }
    const onEnd = (): void => settle(Buffer.concat(chunks, length))
    const onError = (error: unknown): void => settle(undefined, error)
    // Closed before its end: the client went away while sending.
    const onClose = (): void => settle(undefined, new Error('the request was closed before its body ended'))
    request.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose)
  })
}

function parseBody(rawBody: Buffer, contentType: string | undefined): unknown {
  if (rawBody.length === 0) return undefined
  const text = rawBody.toString('utf8')
  if (contentType === undefined || contentType.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text)
    } catch {
      // Not JSON: keep the text.
    }
  }
  return text
}
