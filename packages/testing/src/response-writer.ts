import type { ServerResponse } from 'node:http'
import type { Fault } from './fault.js'
import type { LoopbackResponse } from './loopback-response.js'
import type { SseItem } from './sse.js'
import { encodeSseItem, isSseEvent, sseEvent } from './sse.js'

const maxTimerMs = 2_147_483_647

/** Waits `ms` milliseconds (forever when not finite), or less if `signal` aborts; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = ms < maxTimerMs ? setTimeout(done, ms) : undefined
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Sends a response, shaping it as a stream-level fault asks (the faults that need the handler's answer). */
export async function writeResponse(
  response: ServerResponse,
  answer: LoopbackResponse,
  requestId: string,
  fault: Fault | undefined,
  signal: AbortSignal,
): Promise<void> {
  const problem = answerProblem(answer)
  // Thrown before any header goes out: the client gets a 500 that says what is wrong, not a connection cut.
  if (problem !== undefined) throw new Error(problem)
  const headers = responseHeaders(answer, requestId)
  let status = answer.status ?? 200
  let chunks: AsyncIterable<Buffer>
  if ('sse' in answer) {
    const items = fault?.kind === 'malformed-json' ? withMalformedFirst(answer.sse) : answer.sse
    chunks = encodeEvents(items, answer.sseEventDelayMs ?? 0, signal)
  } else {
    let body: Buffer = 'raw' in answer ? Buffer.from(answer.raw) : Buffer.from(JSON.stringify(answer.json) ?? 'null')
    if (fault?.kind === 'malformed-json') {
      body = malformedJson(body)
      status = 200
      headers['content-type'] = 'application/json'
    }
    headers['content-length'] = String(body.length)
    chunks = single(body)
  }
  response.writeHead(status, headers)

  // A plain body is one chunk, framed by its content-length: past it, a cut or a stall would come after the client had
  // the whole answer. Whatever its `afterEvents`, the fault plays on that chunk: half of it, or a stall before it.
  const eventsBefore = (afterEvents: number): number => ('sse' in answer ? afterEvents : 0)
  const cutAt =
    fault?.kind === 'cut-stream'
      ? eventsBefore(fault.afterEvents)
      : fault?.kind === 'reset-after-headers'
        ? 0
        : undefined
  let stallAt = fault?.kind === 'stall-stream' ? eventsBefore(fault.afterEvents) : undefined
  const stallMs = fault?.kind === 'stall-stream' ? (fault.ms ?? Number.POSITIVE_INFINITY) : 0
  let index = 0
  for await (const chunk of chunks) {
    if (signal.aborted) return
    if (index === stallAt) {
      stallAt = undefined
      response.flushHeaders()
      await sleep(stallMs, signal)
      if (signal.aborted) return
    }
    if (index === cutAt) {
      const half = Math.floor(chunk.length / 2)
      if (half > 0) response.write(chunk.subarray(0, half))
      return flushThenDestroy(response)
    }
    await write(response, chunk)
    index++
  }
  if (signal.aborted) return
  if (stallAt !== undefined) {
    response.flushHeaders()
    await sleep(stallMs, signal)
    if (signal.aborted) return
  }
  if (cutAt !== undefined) return flushThenDestroy(response)
  response.end()
}

/** What makes a handler's answer one no response can be made of, or `undefined`. */
function answerProblem(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) {
    return `the handler answered ${answer === null ? 'null' : typeof answer}, not { json }, { sse } or { raw }`
  }
  const bodies = ['json', 'sse', 'raw'].filter((key) => key in answer)
  if (bodies.length !== 1) {
    return `the handler's answer must hold one of json, sse and raw; it holds ${bodies.length === 0 ? 'none' : bodies.join(' and ')}`
  }
  const { sse, raw, status, sseEventDelayMs } = answer as {
    sse?: unknown
    raw?: unknown
    status?: unknown
    sseEventDelayMs?: unknown
  }
  // A 1xx is informational: a client given one as the answer waits for another, or fails.
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 999)) {
    return `the handler answered status ${typeof status === 'string' ? JSON.stringify(status) : String(status)}, not a final HTTP status from 200 to 999`
  }
  // A pause of NaN or -5 would be taken as none, and one of '30' handed to a timer as it is.
  if (sseEventDelayMs !== undefined && !(typeof sseEventDelayMs === 'number' && sseEventDelayMs >= 0)) {
    const shown = typeof sseEventDelayMs === 'string' ? JSON.stringify(sseEventDelayMs) : String(sseEventDelayMs)
    return `the handler answered sseEventDelayMs ${shown}, not a number of ms ≥ 0`
  }
  if (bodies[0] === 'sse' && !isIterable(sse))
    return 'the handler answered sse that is not a list or an iterable of events'
  if (bodies[0] === 'sse' && Array.isArray(sse)) {
    let index = 0
    for (const item of sse) {
      const problem = unsendable(item)
      if (problem !== undefined) {
        return `the handler answered sse whose item ${index} cannot be sent as an event (${problem})`
      }
      index++
    }
  }
  if (bodies[0] === 'raw' && typeof raw !== 'string' && !(raw instanceof Uint8Array)) {
    return 'the handler answered raw that is neither a string nor bytes'
  }
  return undefined
}

/**
 * What an event of an `sse` list is that no stream can carry — `undefined`, a function, a symbol or a bigint, as itself
 * or as an event's data — or `undefined`. Found before the headers go out, it is a 500 that says so, not a connection
 * cut after them. (Only the type is looked at: an object JSON cannot write still fails as it is sent.)
 */
function unsendable(item: unknown): string | undefined {
  const data = isSseEvent(item) ? item.data : item
  if (data === undefined) return 'undefined'
  const type = typeof data
  return type === 'function' || type === 'symbol' || type === 'bigint' ? `a ${type}` : undefined
}

function isIterable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  return Symbol.iterator in value || Symbol.asyncIterator in value
}

/** Writes a chunk, waiting for the socket to drain when the client reads slowly. */
export function write(response: ServerResponse, chunk: Buffer | string): Promise<void> {
  if (response.write(chunk) || response.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done)
      response.off('close', done)
      resolve()
    }
    response.on('drain', done)
    response.on('close', done)
  })
}

/** Lets what was written reach the socket, then destroys it, so the client sees a truncated response. */
export async function flushThenDestroy(response: ServerResponse): Promise<void> {
  response.flushHeaders()
  const socket = response.socket
  if (socket && !socket.destroyed) await new Promise<void>((resolve) => socket.write('', () => resolve()))
  response.destroy()
}

function responseHeaders(answer: LoopbackResponse, requestId: string): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': requestId }
  if ('sse' in answer) {
    headers['content-type'] = 'text/event-stream; charset=utf-8'
    headers['cache-control'] = 'no-cache'
  } else if ('raw' in answer) {
    headers['content-type'] = typeof answer.raw === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream'
  } else {
    headers['content-type'] = 'application/json'
  }
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    if (value === null) delete headers[name.toLowerCase()]
    else headers[name.toLowerCase()] = value
  }
  return headers
}

async function* single(body: Buffer): AsyncIterable<Buffer> {
  yield body
}

async function* encodeEvents(
  items: Iterable<SseItem> | AsyncIterable<SseItem>,
  delayMs: number,
  signal: AbortSignal,
): AsyncIterable<Buffer> {
  let first = true
  for await (const item of items) {
    if (!first && delayMs > 0) await sleep(delayMs, signal)
    if (signal.aborted) return
    first = false
    yield Buffer.from(encodeSseItem(item))
  }
}

/**
 * The stream with a first event whose data is not JSON, named as the stream's first event is: a client that reads only
 * the events its API names (Anthropic's SDK skips an unnamed one) meets it all the same.
 */
async function* withMalformedFirst(items: Iterable<SseItem> | AsyncIterable<SseItem>): AsyncIterable<SseItem> {
  const data = '{"malformed": '
  let first = true
  for await (const item of items) {
    if (first) yield isSseEvent(item) && item.event !== undefined ? sseEvent({ event: item.event, data }) : data
    first = false
    yield item
  }
  if (first) yield data
}

function malformedJson(body: Buffer): Buffer {
  const truncated = body.subarray(0, Math.floor(body.length / 2))
  try {
    JSON.parse(truncated.toString('utf8'))
  } catch {
    return truncated.length > 0 ? truncated : Buffer.from('{')
  }
  return Buffer.from(`${truncated.toString('utf8')}{`)
}
