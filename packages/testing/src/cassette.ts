import { constants } from 'node:buffer'
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { optionError, unreadableOption } from '@tinyllm/core'
import { headerCredentials, isSecretFieldName, registerSecret } from '@tinyllm/logger'
import { canonicalJson } from './canonical-json.js'
import { CassetteFileError } from './cassette-file-error.js'
import type { CassetteInteraction, CassetteRequest, CassetteResponse, CassetteSseEvent } from './cassette-format.js'
import { cassetteFormatVersion, parseCassetteFile } from './cassette-format.js'
import { CassetteMissError } from './cassette-miss-error.js'
import { maxJsonDepth, nestsDeeperThan } from './json-depth.js'
import { jsonDifferences } from './json-difference.js'
import type { LoopbackRequest } from './loopback-request.js'
import type { LoopbackResponse, RouteContext, RouteHandler } from './loopback-response.js'
import { checkServerOptions } from './loopback-server.js'
import {
  redactAcrossEvents,
  redactSecretsDeep,
  redactSecretsInJsonText,
  redactSecretsInText,
} from './secret-redaction.js'
import type { ParsedSseEvent } from './sse.js'
import { parseSseEvents, sseEvent } from './sse.js'

/** `record` forwards to a real upstream and stores what it answers; `replay` answers from the file, offline. */
export type CassetteMode = 'record' | 'replay'

/** Options of {@link createCassette}. */
export interface CassetteOptions {
  /** The cassette's JSON file (conventionally `*.cassette.json`). */
  readonly path: string
  readonly mode: CassetteMode
  /** Record mode: the base URL requests are forwarded to, e.g. `https://api.openai.com`. */
  readonly upstream?: string | undefined
  /**
   * Literal strings to redact wherever they appear, URL-encoded forms included, on top of what `@tinyllm/logger` takes
   * for a secret (fields named like one, `sk-…` keys, `Bearer …` tokens, registered secrets): they are registered with
   * `@tinyllm/logger` until the cassette closes. Requests are matched after redaction, so give replay the same list as
   * record.
   */
  readonly secrets?: readonly string[] | undefined
  /** Record mode: the fetch to forward with (defaults to the global one). */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * Recorded HTTP interactions: in record mode a proxy that stores what the upstream answered; in replay mode an
 * offline, deterministic stand-in for it. Serve one with `startLoopbackServer({ cassette })`.
 */
export interface Cassette {
  readonly path: string
  readonly mode: CassetteMode
  /** In replay mode the loaded interactions; in record mode those recorded so far, in request arrival order. */
  readonly interactions: readonly CassetteInteraction[]
  /** Every request replay could not answer, oldest first. */
  readonly misses: readonly CassetteMissError[]
  /** Route handler that replays or records one request. */
  readonly handle: RouteHandler
  /**
   * Replay mode: the recording for a request (method, path with query, canonical body), consuming it so identical
   * requests get their recordings in recorded order; throws {@link CassetteMissError} when there is none.
   */
  match(request: CassetteRequest): CassetteInteraction
  /**
   * Record mode: writes the file atomically (temporary file, then rename), one save at a time, so saves called together
   * all succeed. Replay mode: does nothing.
   */
  save(): Promise<void>
  /** Saves as {@link Cassette.save} does, then unregisters the literal `secrets`; called by the loopback server's `close()`. */
  close(): Promise<void>
}

/**
 * Opens a cassette. Replay mode reads the file now and throws a {@link CassetteFileError} if it is missing, a
 * directory, too large to read as text, not JSON or not shaped like a cassette; record mode starts empty and writes the
 * file on `save()`/`close()`. Request headers are never stored; in what is stored (paths, bodies, event streams,
 * response headers) secrets are replaced with `[REDACTED]` by `@tinyllm/logger`'s rules: the value of every field named
 * like a secret, key-shaped strings, and the literal `secrets` given.
 *
 * @example
 * const cassette = createCassette({ path: 'fixtures/chat.cassette.json', mode: 'replay' })
 * const server = await startLoopbackServer({ cassette })
 */
export function createCassette(options: CassetteOptions): Cassette {
  try {
    return new FileCassette(options)
  } catch (error) {
    // An option whose getter or Proxy throws as it is read is refused like one of the wrong type.
    throw unreadableOption(error, 'options', 'createCassette')
  }
}

/** The longest file read as a cassette: a longer one could not be held as one string, whatever its content. */
const maxCassetteBytes = constants.MAX_STRING_LENGTH

/**
 * The text of a cassette file, or a {@link CassetteFileError} saying why there is none. A directory or a file too large
 * to hold as a string is refused from its size, before a byte of it is read.
 */
function readCassetteText(path: string): string {
  const fail = (problem: string, cause?: unknown): never => {
    throw new CassetteFileError({ cassettePath: path, problem, cause })
  }
  let descriptor: number
  try {
    descriptor = openSync(path, 'r')
  } catch (cause) {
    return fail("the file cannot be read; record it first with mode: 'record'", cause)
  }
  try {
    const stats = fstatSync(descriptor)
    if (!stats.isFile()) return fail('not a file; give the path of a cassette file')
    if (stats.size > maxCassetteBytes) {
      return fail(
        `the file is ${stats.size} bytes, more than the ${maxCassetteBytes} a cassette file can be read in; ` +
          'record fewer interactions per cassette',
      )
    }
    return readFileSync(descriptor, 'utf8')
  } catch (cause) {
    if (CassetteFileError.isInstance(cause)) throw cause
    return fail('the file cannot be read', cause)
  } finally {
    closeSync(descriptor)
  }
}

/** How many temporary files this process has written cassettes to: each save gets its own. */
let temporaryFiles = 0

// Headers that describe one hop or one encoding of the body, not the response.
const hopHeaders = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding'])
const unstoredResponseHeaders = new Set(['date', 'set-cookie'])
const unforwardedRequestHeaders = new Set(['host', 'accept-encoding', ...hopHeaders])

class FileCassette implements Cassette {
  readonly path: string
  readonly mode: CassetteMode
  readonly misses: CassetteMissError[] = []
  readonly handle: RouteHandler = (context) => this.#handle(context)
  readonly #secrets: readonly string[]
  readonly #releaseSecrets: (() => void)[]
  /** The request credentials registered so far (each once, however many requests carry it). */
  readonly #credentials = new Set<string>()
  #saved: Promise<void> = Promise.resolve()
  readonly #upstream: string | undefined
  readonly #fetch: typeof globalThis.fetch
  readonly #recorded: CassetteInteraction[] = []
  readonly #byKey = new Map<string, number[]>()
  readonly #replayed = new Map<string, number>()
  // Record mode: one slot per request in arrival order, filled when its response is complete.
  readonly #slots: (CassetteInteraction | undefined)[] = []

  constructor(options: CassetteOptions) {
    const checked = checkCassetteOptions(options)
    this.path = checked.path
    this.mode = checked.mode
    this.#secrets = checked.secrets
    this.#fetch = checked.fetch ?? globalThis.fetch
    this.#upstream = checked.upstream?.replace(/\/+$/, '')
    if (this.mode === 'replay') this.#load()
    // Registered, the literal secrets are found URL-encoded too (a query string, a link in a body) until close().
    this.#releaseSecrets = this.#secrets.map((secret) => registerSecret(secret))
  }

  #load(): void {
    const file = parseCassetteFile(readCassetteText(this.path), this.path)
    file.interactions.forEach((interaction, index) => {
      this.#recorded.push(interaction)
      const key = matchKey(interaction.request)
      const indices = this.#byKey.get(key)
      if (indices) indices.push(index)
      else this.#byKey.set(key, [index])
    })
  }

  get interactions(): readonly CassetteInteraction[] {
    if (this.mode === 'replay') return this.#recorded
    return this.#slots.filter((interaction) => interaction !== undefined)
  }

  match(request: CassetteRequest): CassetteInteraction {
    return this.#match(request, true)
  }

  /** The recording for `request`; without `consume`, it is left for the next identical request. */
  #match(request: CassetteRequest, consume: boolean): CassetteInteraction {
    const key = matchKey(request)
    const indices = this.#byKey.get(key) ?? []
    const used = this.#replayed.get(key) ?? 0
    const index = indices[used]
    if (index !== undefined) {
      if (consume) this.#replayed.set(key, used + 1)
      return this.#recorded[index]!
    }
    const nearest = indices.length > 0 ? this.#recorded[indices[0]!]?.request : this.#nearest(request)
    const { differences, count } = nearest ? jsonDifferences(nearest, request) : { differences: [], count: 0 }
    throw new CassetteMissError({
      cassettePath: this.path,
      request,
      nearest,
      differences,
      differenceCount: count,
      reason: indices.length > 0 ? 'exhausted' : 'not-recorded',
    })
  }

  save(): Promise<void> {
    if (this.mode !== 'record') return Promise.resolve()
    // One save at a time, each writing what was recorded by then: a later call never loses to an earlier one.
    const saving = this.#saved.then(() => this.#write())
    this.#saved = saving.catch(() => {})
    return saving
  }

  async #write(): Promise<void> {
    const text = `${JSON.stringify({ version: cassetteFormatVersion, interactions: this.interactions }, null, 2)}\n`
    await mkdir(dirname(this.path), { recursive: true })
    // Its own temporary file, even beside another cassette of this process saving to the same path at the same time.
    const temporary = `${this.path}.${process.pid}.${++temporaryFiles}.tmp`
    try {
      await writeFile(temporary, text, 'utf8')
      await rename(temporary, this.path)
    } catch (error) {
      await rm(temporary, { force: true })
      throw error
    }
  }

  async close(): Promise<void> {
    try {
      await this.save()
    } finally {
      for (const release of this.#releaseSecrets.splice(0)) release()
    }
  }

  #handle(context: RouteContext): Promise<LoopbackResponse> | LoopbackResponse {
    if (nestsDeeperThan(context.request.body)) return tooDeepResponse(this.mode)
    // In both modes: replay must redact a request as record did, to match it and to quote it in a miss.
    this.#registerCredentials(context.request.headers)
    if (this.mode === 'record') return this.#record(context)
    const request = this.#toCassetteRequest(context.request)
    try {
      // A request given a fault does not get the recording whole: its retry does.
      return replayResponse(this.#match(request, context.fault === undefined).response)
    } catch (error) {
      if (!CassetteMissError.isInstance(error)) throw error
      this.misses.push(error)
      // The error's JSON: the same bounded excerpts of the request, the nearest recording and the differences.
      const { request, nearest, differences, differenceCount } = error.toJSON()
      return {
        status: 404,
        json: {
          error: {
            message: error.message,
            type: 'cassette_miss',
            param: null,
            code: error.reason === 'exhausted' ? 'cassette_exhausted' : 'cassette_miss',
            request,
            nearest: nearest ?? null,
            differences,
            differenceCount,
          },
        },
      }
    }
  }

  async #record(context: RouteContext): Promise<LoopbackResponse> {
    const { request } = context
    const slot = this.#slots.push(undefined) - 1
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers)) {
      if (!unforwardedRequestHeaders.has(name)) headers[name] = value
    }
    let upstreamResponse: Response
    let bytes: Buffer
    try {
      upstreamResponse = await this.#fetch(`${this.#upstream}${request.path}${request.query}`, {
        method: request.method,
        headers,
        ...(request.rawBody.length > 0 ? { body: new Uint8Array(request.rawBody) } : {}),
        // A redirect is recorded and handed back as it came, never followed here: the request carries the caller's
        // credentials (`api-key`, `x-api-key`…), which fetch would send on to another origin. The caller's own client
        // decides whether to follow it.
        redirect: 'manual',
        signal: context.signal,
      })
      bytes = Buffer.from(await upstreamResponse.arrayBuffer())
    } catch (error) {
      // fetch quotes the URL, credentials and all: secrets are replaced as in the request log.
      const message = redactSecretsInText(error instanceof Error ? error.message : String(error))
      return {
        status: 502,
        json: {
          error: {
            message: `Cassette upstream request failed: ${message}`,
            type: 'cassette_upstream_error',
            param: null,
            code: null,
          },
        },
      }
    }
    const passedHeaders: Record<string, string> = {}
    const storedHeaders: Record<string, string> = {}
    upstreamResponse.headers.forEach((value, name) => {
      if (hopHeaders.has(name)) return
      passedHeaders[name] = value
      if (unstoredResponseHeaders.has(name) || isSecretFieldName(name)) return
      storedHeaders[name] = redactSecretsInText(value, this.#secrets)
    })
    this.#slots[slot] = {
      request: this.#toCassetteRequest(request),
      response: {
        status: upstreamResponse.status,
        headers: storedHeaders,
        ...this.#storedBody(bytes.toString('utf8'), upstreamResponse.headers.get('content-type') ?? ''),
      },
    }
    return { status: upstreamResponse.status, headers: passedHeaders, raw: bytes }
  }

  /**
   * Registers the credentials a request carries (see {@link headerCredentials}) until the cassette closes, as its
   * literal `secrets` are: an upstream that echoes them (a 401 quoting the key) must not have them stored, and a
   * request that repeats one in its query or body is redacted, matched and quoted in a miss alike in both modes.
   */
  #registerCredentials(headers: Readonly<Record<string, string>>): void {
    for (const credential of headerCredentials(headers)) {
      if (this.#credentials.has(credential)) continue
      this.#credentials.add(credential)
      this.#releaseSecrets.push(registerSecret(credential))
    }
  }

  #storedBody(text: string, contentType: string): Pick<CassetteResponse, 'body' | 'text' | 'sse'> {
    if (contentType.includes('text/event-stream')) {
      return { sse: this.#storedSseEvents(parseSseEvents(text).map((event) => this.#storedSseEvent(event))) }
    }
    if (contentType.includes('json')) {
      try {
        const body: unknown = JSON.parse(text)
        if (!nestsDeeperThan(body)) return { body: redactSecretsDeep(body, this.#secrets) }
        // Too deep to walk as JSON: kept as text, its secrets replaced all the same.
        return { text: redactSecretsInJsonText(text, this.#secrets) }
      } catch {
        // Not JSON after all: keep it as text.
      }
    }
    return { text: redactSecretsInText(text, this.#secrets) }
  }

  /** The events, with a secret the stream sent in pieces (a key split across deltas) replaced as well. */
  #storedSseEvents(events: CassetteSseEvent[]): CassetteSseEvent[] {
    const parsed = events.map((event) => {
      try {
        const data: unknown = JSON.parse(event.data)
        return nestsDeeperThan(data) ? undefined : data
      } catch {
        return undefined
      }
    })
    const changed = redactAcrossEvents(parsed, this.#secrets)
    return events.map((event, index) =>
      changed.has(index) ? { ...event, data: JSON.stringify(parsed[index]) } : event,
    )
  }

  #storedSseEvent(event: ParsedSseEvent): CassetteSseEvent {
    const stored: { event?: string; id?: string; data: string } = { data: this.#storedSseData(event.data) }
    if (event.event !== undefined) stored.event = redactSecretsInText(event.event, this.#secrets)
    if (event.id !== undefined) stored.id = redactSecretsInText(event.id, this.#secrets)
    return stored
  }

  /** Event data as received, secrets replaced; JSON data is re-encoded only when a field named like a secret went. */
  #storedSseData(data: string): string {
    const text = redactSecretsInText(data, this.#secrets)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return text
    }
    if (typeof parsed !== 'object' || parsed === null) return text
    if (nestsDeeperThan(parsed)) return redactSecretsInJsonText(text, this.#secrets)
    const redacted = JSON.stringify(redactSecretsDeep(parsed, this.#secrets))
    return redacted === JSON.stringify(parsed) ? text : redacted
  }

  #toCassetteRequest(request: LoopbackRequest): CassetteRequest {
    const path = redactSecretsInText(`${request.path}${request.query}`, this.#secrets)
    if (request.body === undefined) return { method: request.method, path }
    return { method: request.method, path, body: redactSecretsDeep(request.body, this.#secrets) }
  }

  #nearest(request: CassetteRequest): CassetteRequest | undefined {
    let best: CassetteRequest | undefined
    let bestScore = Number.POSITIVE_INFINITY
    for (const interaction of this.#recorded) {
      const candidate = interaction.request
      let score = jsonDifferences(candidate.body, request.body, 0).count
      if (candidate.method !== request.method) score += 10_000
      if (candidate.path !== request.path) score += 5_000
      if (score < bestScore) {
        best = candidate
        bestScore = score
      }
    }
    return best
  }
}

const cassetteOptionKeys: ReadonlySet<string> = new Set(
  Object.keys({
    path: true,
    mode: true,
    upstream: true,
    secrets: true,
    fetch: true,
  } satisfies Record<keyof CassetteOptions, true>),
)

/**
 * A misspelt option (`secret` for `secrets`), a mode that is neither `record` nor `replay`, or record mode without an
 * upstream URL is a ConfigurationError: ignored, each would replay instead of record or store a secret it was told to hide.
 * Answers the options as checked, each read once (`secrets` copied): a getter read again could answer another value,
 * and what the caller's list becomes later is not what was checked.
 */
function checkCassetteOptions(options: CassetteOptions): CassetteOptions & { readonly secrets: readonly string[] } {
  const owner = 'createCassette'
  checkServerOptions(options, [...cassetteOptionKeys], owner)
  const { path, mode, upstream, fetch, secrets: given } = options
  // Spread, a hole reads as `undefined`: `every` would skip it, and the hole would fail every redaction later.
  const secrets: unknown = Array.isArray(given) ? [...given] : given
  if (typeof path !== 'string' || path === '') throw optionError('path', 'a file path', path, owner)
  if (mode !== 'record' && mode !== 'replay') throw optionError('mode', "'record' or 'replay'", mode, owner)
  if (mode === 'record' && (typeof upstream !== 'string' || !URL.canParse(upstream))) {
    throw optionError('upstream', 'a base URL (record mode needs an "upstream" to forward to)', upstream, owner)
  }
  if (secrets !== undefined && !(Array.isArray(secrets) && secrets.every((secret) => typeof secret === 'string'))) {
    throw optionError('secrets', 'a list of strings', given, owner)
  }
  if (fetch !== undefined && typeof fetch !== 'function') throw optionError('fetch', 'a function', fetch, owner)
  return { path, mode, upstream, fetch, secrets: (secrets as readonly string[] | undefined) ?? [] }
}

/** The answer to a request whose JSON body is too deep to redact, record or match. */
function tooDeepResponse(mode: CassetteMode): LoopbackResponse {
  return {
    status: 400,
    json: {
      error: {
        message: `The cassette cannot ${mode} a request whose JSON body nests more than ${maxJsonDepth} levels deep.`,
        type: 'invalid_request_error',
        param: null,
        code: 'body_too_deep',
      },
    },
  }
}

function matchKey(request: CassetteRequest): string {
  return `${request.method.toUpperCase()} ${request.path}\n${canonicalJson(request.body)}`
}

function replayResponse(response: CassetteResponse): LoopbackResponse {
  const { status, headers } = response
  if (response.sse) {
    return { status, headers, sse: response.sse.map((event) => sseEvent(event)) }
  }
  if (response.text !== undefined) return { status, headers, raw: response.text }
  return { status, headers, json: response.body ?? null }
}
