import type { Fault, FaultSchedule, LoopbackRequest } from '@tinyllm/testing'
import { createSeededRandom } from '@tinyllm/testing'

/** One kind of failure the suite injects, named as the issue lists it. */
export interface FaultVariant {
  readonly label: string
  /** The fault for one request; `stream` tells whether it asked for server-sent events. */
  readonly fault: (stream: boolean) => Fault
}

const tooMany = (headers: Record<string, string>): Fault => ({ kind: 'status', status: 429, headers })

/** Bytes of the oversized answers, against a cap of {@link responseCapBytes}. */
export const oversizedBytes = 256 * 1024
/** The `maxResponseBytes` the fault suite's model runs with. */
export const responseCapBytes = 64 * 1024

/**
 * Every failure of the list: 429 with each kind of `retry-after` (0.1 s, an HTTP date, negative, huge, garbage,
 * `retry-after-ms`), 500/502/503/504, connection reset before and after headers, stalled headers, a stalled or cut
 * stream, malformed JSON, an oversized response. A stall lasts until the client gives up.
 */
export const faultVariants: readonly FaultVariant[] = [
  { label: '429 retry-after: 0.1', fault: () => tooMany({ 'retry-after': '0.1' }) },
  // An HTTP date has whole seconds: this one lies up to 1 s ahead, or is already past (meaning "now").
  {
    label: '429 retry-after: <HTTP date>',
    fault: () => tooMany({ 'retry-after': new Date(Date.now() + 1000).toUTCString() }),
  },
  { label: '429 retry-after: -1', fault: () => tooMany({ 'retry-after': '-1' }) },
  { label: '429 retry-after: 86400 (huge)', fault: () => tooMany({ 'retry-after': '86400' }) },
  { label: '429 retry-after: soon (garbage)', fault: () => tooMany({ 'retry-after': 'soon' }) },
  { label: '429 retry-after-ms: 20', fault: () => tooMany({ 'retry-after-ms': '20' }) },
  { label: '500', fault: () => ({ kind: 'status', status: 500 }) },
  { label: '502', fault: () => ({ kind: 'status', status: 502 }) },
  { label: '503', fault: () => ({ kind: 'status', status: 503 }) },
  { label: '504', fault: () => ({ kind: 'status', status: 504 }) },
  { label: 'reset before headers', fault: () => ({ kind: 'reset-before-headers' }) },
  { label: 'reset after headers', fault: () => ({ kind: 'reset-after-headers' }) },
  { label: 'stalled headers', fault: () => ({ kind: 'stall-headers' }) },
  // JSON bodies are one chunk: stall or cut it at the start. Streams: after two events, mid-answer.
  { label: 'stalled stream', fault: (stream) => ({ kind: 'stall-stream', afterEvents: stream ? 2 : 0 }) },
  { label: 'cut stream', fault: (stream) => ({ kind: 'cut-stream', afterEvents: stream ? 2 : 0 }) },
  { label: 'malformed JSON', fault: () => ({ kind: 'malformed-json' }) },
  { label: 'oversized response', fault: () => ({ kind: 'oversized', bytes: oversizedBytes }) },
]

/** Which variant a fault object came from, for counting the server's request log by variant. */
export function variantOf(fault: Fault): string {
  if (fault.kind === 'status') {
    if (fault.status !== 429) return String(fault.status)
    const headers = fault.headers ?? {}
    if (headers['retry-after-ms'] !== undefined) return '429 retry-after-ms: 20'
    const value = headers['retry-after'] ?? ''
    if (/GMT$/.test(value)) return '429 retry-after: <HTTP date>'
    return faultVariants.find((variant) => variant.label.startsWith(`429 retry-after: ${value}`))?.label ?? '429'
  }
  return (
    {
      'reset-before-headers': 'reset before headers',
      'reset-after-headers': 'reset after headers',
      'stall-headers': 'stalled headers',
      'stall-stream': 'stalled stream',
      'cut-stream': 'cut stream',
      'malformed-json': 'malformed JSON',
      oversized: 'oversized response',
    } as const
  )[fault.kind]
}

/**
 * A fault schedule: each request gets a fault with probability `rate`, the variant drawn uniformly. The draws depend
 * only on the request's index and the seed, so a run is reproducible whatever order the bodies arrive in.
 */
export function mixedFaults(rate: number, seed: number): FaultSchedule {
  return (requestIndex: number, request: LoopbackRequest) => {
    const random = createSeededRandom(seed ^ Math.imul(requestIndex + 1, 0x9e3779b1))
    if (random() >= rate) return undefined
    const variant = faultVariants[Math.floor(random() * faultVariants.length)] as FaultVariant
    const stream = (request.body as { stream?: unknown } | undefined)?.stream === true
    return variant.fault(stream)
  }
}
