import { createHash } from 'node:crypto'
import { brandError, TinyLLMError } from '@tinyllm/core'
import { redact } from '@tinyllm/logger'
import { canonicalJson } from './canonical-json.js'
import type { CassetteRequest } from './cassette-format.js'
import type { JsonDifference } from './json-difference.js'

/** How much of a path, a body and each side of a difference a miss quotes, and how many differences it lists. */
const pathLength = 200
const bodyLength = 300
const valueLength = 100
const listedDifferences = 5

/** Why a replaying cassette had no answer. */
export type CassetteMissReason = 'not-recorded' | 'exhausted'

/** What a miss quotes of a request, in its message and its JSON alike: bounded, whatever the size of the request. */
export interface CassetteRequestExcerpt {
  readonly method: string
  /** Path and query, cut at 200 characters (`…` marks a cut). */
  readonly path: string
  /** `sha256:` and 16 hex digits of the whole body's canonical JSON, as it is matched; absent without a body. */
  readonly bodyDigest?: string
  /** The body's canonical JSON, cut at 300 characters; absent without a body. */
  readonly body?: string
}

/** A {@link JsonDifference} as a miss quotes it: each side as JSON text, cut at 100 characters. */
export interface CassetteDifferenceExcerpt {
  readonly path: string
  readonly expected: string
  readonly actual: string
}

/**
 * Raised (and answered over HTTP as a 404 error body) when a replaying cassette has no recording for a request. It names
 * the request, the nearest recorded request and where the two differ, so a changed prompt is easy to spot. Its message
 * and its JSON (which the 404 body carries) quote the same excerpts — method, path, a digest and a cut of each body, the
 * first differences cut short, and how many there are — so neither grows with the request; `request` and `nearest`
 * hold them whole, as matched (secrets redacted), and `differences` the first 50, but are left out of its JSON and of
 * what `console.log` prints.
 */
export class CassetteMissError extends TinyLLMError {
  override readonly name = 'CassetteMissError'
  declare static isInstance: (error: unknown) => error is CassetteMissError
  /** The cassette file that was searched. */
  readonly cassettePath: string
  /** The request that found no recording (secrets redacted, as matched). */
  declare readonly request: CassetteRequest
  /** The most similar recorded request, if the cassette holds any. */
  declare readonly nearest: CassetteRequest | undefined
  /** The first 50 places where `request` differs from `nearest` (`expected` is the recorded side). */
  declare readonly differences: readonly JsonDifference[]
  /** How many places differ in all: `differences` lists the first 50 of them. */
  readonly differenceCount: number
  /** `exhausted`: identical requests were recorded, but fewer times than they were replayed. */
  readonly reason: CassetteMissReason

  constructor(miss: CassetteMiss) {
    super({ message: describeMiss(miss) })
    this.cassettePath = miss.cassettePath
    this.reason = miss.reason
    this.differenceCount = miss.differenceCount
    // Not enumerable: the JSON view and a printed error show the excerpts, not a request of any size.
    Object.defineProperties(this, {
      request: { value: miss.request },
      nearest: { value: miss.nearest },
      differences: { value: miss.differences },
    })
  }

  /** The error's JSON view, with the excerpts its message quotes in place of the whole requests: what the 404 body carries. */
  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...redact({
        request: excerptRequest(this.request),
        nearest: this.nearest && excerptRequest(this.nearest),
        differences: this.differences.slice(0, listedDifferences).map(excerptDifference),
        differenceCount: this.differenceCount,
      }),
    }
  }
}
// Recognised across duplicated copies of this package, where `instanceof` fails.
brandError(CassetteMissError, 'CassetteMissError')

/** What a {@link CassetteMissError} reports, as its fields say. */
type CassetteMiss = Pick<
  CassetteMissError,
  'cassettePath' | 'request' | 'nearest' | 'differences' | 'differenceCount' | 'reason'
>

function describeMiss(options: CassetteMiss): string {
  const { request, nearest, differences, differenceCount } = options
  const missed = `${request.method} ${cut(request.path, pathLength)}`
  const lines = [
    options.reason === 'exhausted'
      ? `Cassette ${options.cassettePath} replayed every recording of ${missed} already; this request is one more than was recorded.`
      : `Cassette ${options.cassettePath} has no recording of ${missed}.`,
    `  request: ${describeRequest(request)}`,
    nearest ? `  nearest recorded: ${describeRequest(nearest)}` : '  nearest recorded: none (the cassette is empty)',
  ]
  if (nearest && differences.length > 0) {
    lines.push('  differences (recorded → received):')
    for (const difference of differences.slice(0, listedDifferences).map(excerptDifference)) {
      lines.push(`    ${difference.path}: ${difference.expected} → ${difference.actual}`)
    }
    if (differenceCount > listedDifferences) lines.push(`    … and ${differenceCount - listedDifferences} more`)
  }
  return lines.join('\n')
}

function describeRequest(request: CassetteRequest): string {
  const { method, path, bodyDigest, body } = excerptRequest(request)
  return `${method} ${path} ${bodyDigest === undefined ? '(no body)' : `body ${bodyDigest} ${body}`}`
}

function excerptRequest(request: CassetteRequest): CassetteRequestExcerpt {
  const excerpt = { method: request.method, path: cut(request.path, pathLength) }
  if (request.body === undefined) return excerpt
  const json = canonicalJson(request.body)
  const bodyDigest = `sha256:${createHash('sha256').update(json).digest('hex').slice(0, 16)}`
  return { ...excerpt, bodyDigest, body: cut(json, bodyLength) }
}

function excerptDifference(difference: JsonDifference): CassetteDifferenceExcerpt {
  return {
    path: cut(difference.path, pathLength),
    expected: excerptValue(difference.expected),
    actual: excerptValue(difference.actual),
  }
}

function excerptValue(value: unknown): string {
  return value === undefined ? '(absent)' : cut(JSON.stringify(value), valueLength)
}

/** `text` cut at `length` characters, never between the halves of a surrogate pair. */
function cut(text: string, length: number): string {
  if (text.length <= length) return text
  const end = /[\ud800-\udbff]/.test(text.charAt(length - 1)) ? length - 1 : length
  return `${text.slice(0, end)}…`
}
