import { ConfigurationError, checkKnownOptions, optionError, safeStringify, unreadableOption } from '@tinyllm/core'

const sseEventMarker: unique symbol = Symbol.for('tinyllm.testing.sse-event')

/** A server-sent event with a name (`event:` line) and/or an id, made with {@link sseEvent}. */
export interface SseEvent {
  readonly [sseEventMarker]: true
  readonly event: string | undefined
  /**
   * A string is sent as is, one `data:` line per line: a line ends at `\r\n`, `\n` or `\r`, as the SSE format says, and
   * a client reads each line break as `\n` (the format cannot carry a `\r`). Anything else is sent as JSON.
   */
  readonly data: unknown
  readonly id: string | undefined
}

/**
 * One item of an SSE response: a string is sent as one `data:` line as is (e.g. `'[DONE]'`), an {@link SseEvent}
 * with its `event:`/`id:` lines, any other value as a JSON-encoded `data:` line.
 */
export type SseItem = string | SseEvent | object

/**
 * Makes a named server-sent event, as Anthropic-style streams need. An event name or id with a line break (CR or LF)
 * cannot be sent as one field, so it is a `ConfigurationError`, as are one that is not a string, options that are not
 * an object, whose reading throws (a getter, a `Proxy`) or with a key other than `event`, `data` and `id`.
 *
 * @example
 * sseEvent({ event: 'message_stop', data: { type: 'message_stop' } })
 * // event: message_stop\ndata: {"type":"message_stop"}\n\n
 */
export function sseEvent(options: { event?: string | undefined; data: unknown; id?: string | undefined }): SseEvent {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, 'sseEvent')
  // Each part read once, into the event: a getter cannot answer the check one name and the event another.
  let read: { event: unknown; data: unknown; id: unknown }
  try {
    checkKnownOptions(options, sseEventKeys, 'sseEvent')
    const { event, data, id } = options as Record<string, unknown>
    read = { event, data, id }
  } catch (error) {
    throw unreadableOption(error, 'options', 'sseEvent')
  }
  return {
    [sseEventMarker]: true,
    event: checkSseField('event', read.event),
    data: read.data,
    id: checkSseField('id', read.id),
  }
}

const sseEventKeys: ReadonlySet<string> = new Set(['event', 'data', 'id'])

const lineBreak = /[\r\n]/
const dataLineEnd = /\r\n|\r|\n/

/** Whether a string can be sent as an SSE `event:` or `id:` field: one without CR or LF, which would end the line. */
export function isSseFieldValue(value: string): boolean {
  return !lineBreak.test(value)
}

/** An `event:` or `id:` field, returned when it can be sent as one line: a string without CR or LF. */
function checkSseField(field: 'event' | 'id', value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw optionError(field, 'a string', value, 'sseEvent')
  if (isSseFieldValue(value)) return value
  throw new ConfigurationError({
    option: field,
    message: `${field} must not hold a line break (CR or LF), which would end the field early; got ${safeStringify(value, 1_000)}`,
    functionName: 'sseEvent',
  })
}

/** Whether a value was made by {@link sseEvent} (across duplicated copies of this package, too). */
export function isSseEvent(value: unknown): value is SseEvent {
  return typeof value === 'object' && value !== null && sseEventMarker in value
}

/**
 * Encodes one item as the bytes of one server-sent event, blank line included. An item (or an event's data) JSON cannot
 * write — `undefined`, a function, a symbol, a BigInt, a cycle, a `toJSON` that throws — is a `ConfigurationError`.
 */
export function encodeSseItem(item: SseItem): string {
  if (typeof item === 'string') return dataLines(item)
  if (isSseEvent(item)) {
    let text = ''
    if (item.event !== undefined) text += `event: ${item.event}\n`
    if (item.id !== undefined) text += `id: ${item.id}\n`
    return text + dataLines(typeof item.data === 'string' ? item.data : itemJson(item.data))
  }
  return dataLines(itemJson(item))
}

/** `value` as JSON, or a ConfigurationError: JSON.stringify's own TypeError names neither the function nor the item. */
function itemJson(value: unknown): string {
  let json: string | undefined
  let cause: unknown
  try {
    json = JSON.stringify(value)
  } catch (error) {
    cause = error
  }
  if (typeof json === 'string') return json
  throw optionError('item', 'a string, an sseEvent or a value JSON can write', value, 'encodeSseItem', cause)
}

function dataLines(data: string): string {
  let text = ''
  // Most data holds no CR: splitting on a string is cheaper than on the pattern.
  const lines = data.includes('\r') ? data.split(dataLineEnd) : data.split('\n')
  for (const line of lines) text += `data: ${line}\n`
  return `${text}\n`
}

/** A server-sent event as read off the wire: its `data:` lines joined with `\n`. */
export interface ParsedSseEvent {
  readonly event?: string
  readonly id?: string
  readonly data: string
}

/**
 * Parses a complete `text/event-stream` body into its events, as the SSE format says an event source reads them: a
 * leading byte order mark is dropped, as are comments and `retry:` lines; an event is dispatched at its blank line and
 * only if it has a `data:` line (an `event:` alone is not an event), and a last event the body ends before its blank
 * line is incomplete and dropped. A body that is not a string is a ConfigurationError.
 */
export function parseSseEvents(text: string): ParsedSseEvent[] {
  if (typeof text !== 'string') {
    throw new ConfigurationError({
      option: 'text',
      message: `text must be the body of a text/event-stream, a string; got ${text === null ? 'null' : typeof text}`,
      functionName: 'parseSseEvents',
    })
  }
  const events: ParsedSseEvent[] = []
  const lines = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
  // The text after the last line break is a line the body never ended: like the event it belongs to, it is dropped.
  lines.pop()
  let pending = newPendingEvent()
  for (const line of lines) {
    if (line === '') {
      if (pending.data.length > 0) events.push(dispatched(pending))
      pending = newPendingEvent()
    } else if (!line.startsWith(':')) {
      readField(pending, line)
    }
  }
  return events
}

interface PendingSseEvent {
  event: string | undefined
  id: string | undefined
  readonly data: string[]
}

function newPendingEvent(): PendingSseEvent {
  return { event: undefined, id: undefined, data: [] }
}

function readField(pending: PendingSseEvent, line: string): void {
  const colon = line.indexOf(':')
  const field = colon === -1 ? line : line.slice(0, colon)
  let value = colon === -1 ? '' : line.slice(colon + 1)
  if (value.startsWith(' ')) value = value.slice(1)
  if (field === 'data') pending.data.push(value)
  else if (field === 'event') pending.event = value
  else if (field === 'id') pending.id = value
}

function dispatched(pending: PendingSseEvent): ParsedSseEvent {
  return {
    ...(pending.event === undefined ? {} : { event: pending.event }),
    ...(pending.id === undefined ? {} : { id: pending.id }),
    data: pending.data.join('\n'),
  }
}
