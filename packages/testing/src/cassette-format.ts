import { CassetteFileError } from './cassette-file-error.js'
import { finalStatus } from './fault.js'
import { framingHeaders, isValidHeader } from './http-header.js'
import { maxJsonDepth, nestsDeeperThan } from './json-depth.js'
import { isSseFieldValue } from './sse.js'

/** The version of the cassette file format this toolkit reads and writes. */
export const cassetteFormatVersion = 1

/** The part of a request a cassette stores and matches on: never headers, so credentials are never stored. */
export interface CassetteRequest {
  /** Upper-case HTTP method. */
  readonly method: string
  /** Path and query string, e.g. `/v1/chat/completions`. */
  readonly path: string
  /** The JSON body (or text, when not JSON), secrets redacted; absent when the request had none. */
  readonly body?: unknown
}

/** A server-sent event as stored: `data` exactly as received (after redaction). */
export interface CassetteSseEvent {
  readonly event?: string
  readonly id?: string
  readonly data: string
}

/** A stored response: at most one of `body` (JSON), `text` (any other text) or `sse` (an event stream). */
export interface CassetteResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly text?: string
  readonly sse?: readonly CassetteSseEvent[]
}

/** One recorded request and its response. */
export interface CassetteInteraction {
  readonly request: CassetteRequest
  readonly response: CassetteResponse
}

/** The JSON document a cassette file holds. */
export interface CassetteFile {
  readonly version: typeof cassetteFormatVersion
  readonly interactions: readonly CassetteInteraction[]
}

/**
 * Parses the text of a cassette file and checks its shape, so that a damaged file fails when it is opened rather than on
 * every replay. Throws a {@link CassetteFileError} naming the file and the first problem found.
 */
export function parseCassetteFile(text: string, path: string): CassetteFile {
  const fail = (problem: string, cause?: unknown): never => {
    throw new CassetteFileError({ cassettePath: path, problem, cause })
  }
  if (text.trim() === '') return fail("the file is empty; record it again with mode: 'record'")
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    return fail(`not valid JSON (${reason}); the file may be truncated, record it again with mode: 'record'`, cause)
  }
  if (!isRecord(value)) return fail('not a JSON object')
  if (value.version !== cassetteFormatVersion) return fail(`version is ${String(value.version)}, expected 1`)
  if (!Array.isArray(value.interactions)) return fail('"interactions" is not an array')
  value.interactions.forEach((interaction: unknown, index) => {
    const problem = interactionProblem(interaction)
    if (problem !== undefined) fail(`interactions[${index}]${problem}`)
  })
  return value as unknown as CassetteFile
}

/** What is wrong with one interaction, as a path below it and a problem (`.response.sse is not an array`). */
function interactionProblem(interaction: unknown): string | undefined {
  if (!isRecord(interaction)) return ' is not an object'
  const { request, response } = interaction
  if (!isRecord(request)) return '.request is not an object'
  if (typeof request.method !== 'string' || typeof request.path !== 'string') {
    return '.request needs a string "method" and "path"'
  }
  if (nestsDeeperThan(request.body)) return `.request.body nests more than ${maxJsonDepth} levels deep`
  if (!isRecord(response)) return '.response is not an object'
  const { status, headers, text, sse } = response
  // A final status, as the server can answer with: a 1xx is informational, and would fail every replay with a 500.
  const { min, max } = finalStatus as { min: number; max: number }
  if (typeof status !== 'number' || !Number.isInteger(status) || status < min || status > max) {
    return `.response needs a numeric "status" from ${min} to ${max}`
  }
  if (headers !== undefined) {
    if (!isRecord(headers)) return '.response.headers is not an object'
    for (const [name, header] of Object.entries(headers)) {
      if (typeof header !== 'string') return `.response.headers[${JSON.stringify(name)}] is not a string`
      if (!isValidHeader(name, header)) {
        return `.response.headers[${JSON.stringify(name)}] is not a header a response can carry (a name that is no HTTP token, a line break in the value)`
      }
      if (framingHeaders.has(name.toLowerCase())) {
        return `.response.headers[${JSON.stringify(name)}] frames the body, which the server sets from the body it replays; remove it`
      }
    }
  }
  const bodies = ['body', 'text', 'sse'].filter((key) => response[key] !== undefined)
  if (bodies.length > 1) return `.response has ${bodies.join(' and ')}; it may have at most one of them`
  if (text !== undefined && typeof text !== 'string') return '.response.text is not a string'
  if (nestsDeeperThan(response.body)) return `.response.body nests more than ${maxJsonDepth} levels deep`
  if (sse === undefined) return undefined
  if (!Array.isArray(sse)) return '.response.sse is not an array'
  for (const [index, event] of sse.entries()) {
    const problem = sseEventProblem(event)
    if (problem !== undefined) return `.response.sse[${index}]${problem}`
  }
  return undefined
}

function sseEventProblem(event: unknown): string | undefined {
  if (!isRecord(event)) return ' is not an object'
  if (typeof event.data !== 'string') return '.data is not a string'
  for (const field of ['event', 'id'] as const) {
    const value = event[field]
    if (value === undefined) continue
    if (typeof value !== 'string') return `.${field} is not a string`
    if (!isSseFieldValue(value)) return `.${field} holds a line break (CR or LF), which an event stream cannot send`
  }
  return undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
