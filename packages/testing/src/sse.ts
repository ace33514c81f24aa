import { ConfigurationError } from '@tinyllm/core'

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
 * cannot be sent as one field, so it is a `ConfigurationError`.
 *
 * @example
 * sseEvent({ event: 'message_stop', data: { type: 'message_stop' } })
 * // event: message_stop\ndata: {"type":"message_stop"}\n\n
 */
export function sseEvent(options: { event?: string | undefined; data: unknown; id?: string | undefined }): SseEvent {
  checkSseField('event', options.event)
  checkSseField('id', options.id)
  return { [sseEventMarker]: true, event: options.event, data: options.data, id: options.id }
}

const lineBreak = /[\r\n]/
const dataLineEnd = /\r\n|\r|\n/

/** Whether a string can be sent as an SSE `event:` or `id:` field: one without CR or LF, which would end the line. */
export function isSseFieldValue(value: string): boolean {
  return !lineBreak.test(value)
}

function checkSseField(field: 'event' | 'id', value: string | undefined): void {
  if (value === undefined || isSseFieldValue(value)) return
  throw new ConfigurationError({
    option: field,
    message: `${field} must not hold a line break (CR or LF), which would end the field early; got ${JSON.stringify(value)}`,
    functionName: 'sseEvent',
  })
}

/** Whether a value was made by {@link sseEvent} (across duplicated copies of this package, too). */
export function isSseEvent(value: unknown): value is SseEvent {
  return typeof value === 'object' && value !== null && sseEventMarker in value
}

/** Encodes one item as the bytes of one server-sent event, blank line included. */
export function encodeSseItem(item: SseItem): string {
  if (typeof item === 'string') return dataLines(item)
  if (isSseEvent(item)) {
    let text = ''
    if (item.event !== undefined) text += `event: ${item.event}\n`
    if (item.id !== undefined) text += `id: ${item.id}\n`
    return text + dataLines(typeof item.data === 'string' ? item.data : JSON.stringify(item.data))
  }
  return dataLines(JSON.stringify(item))
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
 * Parses a complete `text/event-stream` body into its events (comments and `retry:` lines are dropped); a body that is
 * not a string is a ConfigurationError.
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
  for (const block of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    let event: string | undefined
    let id: string | undefined
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      let value = colon === -1 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') data.push(value)
      else if (field === 'event') event = value
      else if (field === 'id') id = value
    }
    if (data.length === 0 && event === undefined) continue
    events.push({
      ...(event === undefined ? {} : { event }),
      ...(id === undefined ? {} : { id }),
      data: data.join('\n'),
    })
  }
  return events
}
