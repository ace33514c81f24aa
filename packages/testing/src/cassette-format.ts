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

/** Checks the shape of a parsed cassette file, naming the file and the first problem found. */
export function parseCassetteFile(value: unknown, path: string): CassetteFile {
  const fail = (problem: string): never => {
    throw new Error(`Invalid cassette file ${path}: ${problem}`)
  }
  if (typeof value !== 'object' || value === null) return fail('not a JSON object')
  const file = value as { version?: unknown; interactions?: unknown }
  if (file.version !== cassetteFormatVersion) return fail(`version is ${String(file.version)}, expected 1`)
  if (!Array.isArray(file.interactions)) return fail('"interactions" is not an array')
  file.interactions.forEach((interaction: unknown, index) => {
    const candidate = interaction as { request?: { method?: unknown; path?: unknown }; response?: { status?: unknown } }
    if (typeof candidate?.request?.method !== 'string' || typeof candidate.request.path !== 'string') {
      fail(`interactions[${index}].request needs a string "method" and "path"`)
    }
    if (typeof candidate.response?.status !== 'number') fail(`interactions[${index}].response needs a numeric "status"`)
  })
  return value as CassetteFile
}
