import type { NumberRule } from '@tinyllm/core'
import { checkKnownOptions, checkNumber, optionError, unreadableOption } from '@tinyllm/core'
import { framingHeaders, isValidHeader } from './http-header.js'
import type { LoopbackRequest } from './loopback-request.js'
import { setOwn } from './set-own.js'

/** Answer with this final status (200 to 999: 429, 500, 503…), these headers (`retry-after`, `x-request-id`…) and this body. */
export interface StatusFault {
  readonly kind: 'status'
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A string is sent as is; anything else as JSON. Defaults to the server's error body for the status. */
  readonly body?: unknown
}

/** Destroy the connection before any byte of the response is written. */
export interface ResetBeforeHeadersFault {
  readonly kind: 'reset-before-headers'
}

/** Send the status line, headers and part of the body, then destroy the connection. */
export interface ResetAfterHeadersFault {
  readonly kind: 'reset-after-headers'
}

/** Hold the response before its headers: for `ms` milliseconds, or until the client or the server closes. */
export interface StallHeadersFault {
  readonly kind: 'stall-headers'
  readonly ms?: number | undefined
}

/**
 * Send headers and `afterEvents` whole events, then pause for `ms` or until closed, then go on. A plain body (JSON or
 * raw) is one chunk, sent whole once it is sent: the pause comes before it, whatever `afterEvents` says.
 */
export interface StallStreamFault {
  readonly kind: 'stall-stream'
  readonly afterEvents: number
  readonly ms?: number | undefined
}

/**
 * Send `afterEvents` whole events, then half of the next one, then destroy the connection. A plain body (JSON or raw)
 * is one chunk: half of it is sent, whatever `afterEvents` says, so the client never has the whole answer.
 */
export interface CutStreamFault {
  readonly kind: 'cut-stream'
  readonly afterEvents: number
}

/**
 * Answer 200 with a body that is not valid JSON (for a stream: an event whose data is not valid JSON comes first, named
 * as the stream's first event is).
 */
export interface MalformedJsonFault {
  readonly kind: 'malformed-json'
}

/** Answer 200 with a valid JSON body of `bytes` bytes. */
export interface OversizedFault {
  readonly kind: 'oversized'
  readonly bytes: number
}

/** A failure the loopback server injects into one request. */
export type Fault =
  | StatusFault
  | ResetBeforeHeadersFault
  | ResetAfterHeadersFault
  | StallHeadersFault
  | StallStreamFault
  | CutStreamFault
  | MalformedJsonFault
  | OversizedFault

/** The kinds of {@link Fault}. */
export type FaultKind = Fault['kind']

/** Every {@link FaultKind}, in a stable order. */
export const faultKinds: readonly FaultKind[] = [
  'status',
  'reset-before-headers',
  'reset-after-headers',
  'stall-headers',
  'stall-stream',
  'cut-stream',
  'malformed-json',
  'oversized',
]

interface FieldRule {
  readonly rule: NumberRule
  readonly required?: boolean
}

/** A final status: a 1xx is informational, and a client given one as the answer waits for another forever. */
export const finalStatus: NumberRule = { integer: true, min: 200, max: 999 }

const wholeCount: FieldRule = { rule: { integer: true, min: 0 }, required: true }
const delayMs: FieldRule = { rule: { min: 0, orInfinity: true, unit: 'ms' } }

/** The fields each kind of fault takes besides `kind`, with the rule of each numeric one; `required` ones must be set. */
const faultFields: Readonly<Record<FaultKind, Readonly<Record<string, FieldRule | undefined>>>> = {
  status: {
    status: { rule: finalStatus, required: true },
    headers: undefined,
    body: undefined,
  },
  'reset-before-headers': {},
  'reset-after-headers': {},
  'stall-headers': { ms: delayMs },
  'stall-stream': { afterEvents: wholeCount, ms: delayMs },
  'cut-stream': { afterEvents: wholeCount },
  'malformed-json': {},
  oversized: { bytes: { rule: { integer: true, min: 0 }, required: true } },
}

/**
 * The fault `fault` describes, read once into a copy of its own: a ConfigurationError naming `option` (`faults[2]`)
 * when it is not a fault of a known kind with the fields that kind takes — a misspelt kind or field, or a missing or
 * non-numeric `afterEvents`, `status`, `bytes` or `ms`, would otherwise be logged as injected while the request is
 * answered normally (or held forever). The copy is what was checked: changing the object given afterwards changes
 * nothing, and the copy is frozen.
 */
export function readFault(fault: unknown, option: string, owner: string): Fault {
  try {
    const kind = typeof fault === 'object' && fault !== null ? (fault as { kind?: unknown }).kind : undefined
    if (!faultKinds.includes(kind as FaultKind)) {
      const kinds = faultKinds.map((name) => `'${name}'`).join(', ')
      throw optionError(option, `a fault of kind ${kinds}`, fault, owner)
    }
    const fields = faultFields[kind as FaultKind]
    checkKnownOptions(fault as object, new Set(['kind', ...Object.keys(fields)]), `${owner}: ${option}`)
    const copy: Record<string, unknown> = { kind }
    for (const [name, field] of Object.entries(fields)) {
      const value = (fault as Record<string, unknown>)[name]
      if (field) {
        const checked = checkNumber(value, `${option}.${name}`, field.rule, owner)
        if (checked === undefined && field.required) throw optionError(`${option}.${name}`, 'set', value, owner)
      }
      if (value !== undefined) copy[name] = value
    }
    if (kind === 'status') {
      copy.headers = readHeaders(copy.headers, `${option}.headers`, owner)
      copy.body = readBody(copy.body, `${option}.body`, owner)
    }
    // Frozen: a route handler is given it as `fault`, and a list's or a mix's copy is what later requests get too.
    return Object.freeze(copy) as unknown as Fault
  } catch (error) {
    throw unreadableOption(error, option, owner)
  }
}

/**
 * A status fault's (or a scripted error's) headers, copied: names and values an HTTP response can carry, or each request would fail with a
 * 500, and none that frames the body: the server sets `content-length` from the body, so a given one would be
 * silently replaced, and a `transfer-encoding` beside it would make the answer one no client can read.
 */
export function readHeaders(headers: unknown, option: string, owner: string): Record<string, string> | undefined {
  if (headers === undefined) return undefined
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw optionError(option, 'an object of header names and string values', headers, owner)
  }
  const copy: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string' || !isValidHeader(name, value)) {
      const expected = 'a string without line breaks, under a valid header name'
      throw optionError(`${option}[${JSON.stringify(name)}]`, expected, value, owner)
    }
    if (framingHeaders.has(name.toLowerCase())) {
      const expected = 'absent (the server sets the framing of the body it sends)'
      throw optionError(`${option}[${JSON.stringify(name)}]`, expected, value, owner)
    }
    setOwn(copy, name, value)
  }
  return copy
}

/**
 * A status fault's body, copied: a string as it is, anything else as the JSON it is sent as. A body that is no JSON (a
 * cycle, a BigInt, a getter that throws) would fail each request with a 500; an object changed afterwards would change
 * the answer.
 */
function readBody(body: unknown, option: string, owner: string): unknown {
  if (body === undefined || typeof body === 'string') return body
  let text: string | undefined
  try {
    text = JSON.stringify(body)
  } catch {
    text = undefined
  }
  if (text === undefined) throw optionError(option, 'a string or a JSON value', body, owner)
  return JSON.parse(text)
}

/**
 * Which requests get which fault: a list (entry `i` applies to the `i`-th request after the list was installed;
 * `undefined`/`null` entries and requests past the end get none), or a function of the absolute request index.
 */
export type FaultSchedule =
  | readonly (Fault | null | undefined)[]
  | ((requestIndex: number, request: LoopbackRequest) => Fault | null | undefined)

/** One fault of a random mix, drawn with probability proportional to `weight` (default 1). */
export interface WeightedFault {
  readonly fault: Fault
  readonly weight?: number | undefined
}

/** Fault injection settings: a schedule, and a seeded random rate with a weighted mix for requests it leaves alone. */
export interface FaultOptions {
  readonly faults?: FaultSchedule | undefined
  /** Probability in `[0, 1]` that a request the schedule leaves alone gets a fault from `faultMix`. */
  readonly faultRate?: number | undefined
  /** The faults `faultRate` draws from; defaults to {@link defaultFaultMix}. */
  readonly faultMix?: readonly WeightedFault[] | undefined
}

/** Every key of {@link FaultOptions}. */
export const faultOptionKeys = Object.freeze(
  Object.keys({ faults: true, faultRate: true, faultMix: true } satisfies Record<keyof FaultOptions, true>),
)

/** The mix `faultRate` draws from when none is given: the failures a retrying client must survive. */
export const defaultFaultMix: readonly WeightedFault[] = [
  { fault: { kind: 'status', status: 429, headers: { 'retry-after': '0' } }, weight: 3 },
  { fault: { kind: 'status', status: 500 }, weight: 2 },
  { fault: { kind: 'status', status: 503 }, weight: 1 },
  { fault: { kind: 'reset-before-headers' }, weight: 1 },
  { fault: { kind: 'reset-after-headers' }, weight: 1 },
]
