import { brandError, TinyLLMError } from '@tinyllm/core'
import type { CassetteRequest } from './cassette-format.js'
import type { JsonDifference } from './json-difference.js'

const excerptLength = 1_500

/** Why a replaying cassette had no answer. */
export type CassetteMissReason = 'not-recorded' | 'exhausted'

/**
 * Raised (and answered over HTTP as a 404 error body) when a replaying cassette has no recording for a request. It names
 * the request, the nearest recorded request and where the two differ, so a changed prompt is easy to spot.
 */
export class CassetteMissError extends TinyLLMError {
  override readonly name = 'CassetteMissError'
  declare static isInstance: (error: unknown) => error is CassetteMissError
  /** The cassette file that was searched. */
  readonly cassettePath: string
  /** The request that found no recording (secrets redacted, as matched). */
  readonly request: CassetteRequest
  /** The most similar recorded request, if the cassette holds any. */
  readonly nearest: CassetteRequest | undefined
  /** Where `request` differs from `nearest` (`expected` is the recorded side). */
  readonly differences: readonly JsonDifference[]
  /** `exhausted`: identical requests were recorded, but fewer times than they were replayed. */
  readonly reason: CassetteMissReason

  constructor(miss: CassetteMiss) {
    super({ message: describeMiss(miss) })
    this.cassettePath = miss.cassettePath
    this.request = miss.request
    this.nearest = miss.nearest
    this.differences = miss.differences
    this.reason = miss.reason
  }
}
// Recognised across duplicated copies of this package, where `instanceof` fails.
brandError(CassetteMissError, 'CassetteMissError')

/** What a {@link CassetteMissError} reports, as its fields say. */
type CassetteMiss = Pick<CassetteMissError, 'cassettePath' | 'request' | 'nearest' | 'differences' | 'reason'>

function describeMiss(options: CassetteMiss): string {
  const { request, nearest, differences } = options
  const lines = [
    options.reason === 'exhausted'
      ? `Cassette ${options.cassettePath} replayed every recording of ${request.method} ${request.path} already; this request is one more than was recorded.`
      : `Cassette ${options.cassettePath} has no recording of ${request.method} ${request.path}.`,
    `  request: ${describeRequest(request)}`,
    nearest ? `  nearest recorded: ${describeRequest(nearest)}` : '  nearest recorded: none (the cassette is empty)',
  ]
  if (nearest && differences.length > 0) {
    lines.push('  differences (recorded → received):')
    for (const difference of differences.slice(0, 10)) {
      lines.push(`    ${difference.path}: ${excerpt(difference.expected, 200)} → ${excerpt(difference.actual, 200)}`)
    }
    if (differences.length > 10) lines.push(`    … and ${differences.length - 10} more`)
  }
  return lines.join('\n')
}

function describeRequest(request: CassetteRequest): string {
  return `${request.method} ${request.path} ${request.body === undefined ? '(no body)' : excerpt(request.body, excerptLength)}`
}

function excerpt(value: unknown, length: number): string {
  const text = value === undefined ? '(absent)' : JSON.stringify(value)
  return text.length > length ? `${text.slice(0, length)}…` : text
}
