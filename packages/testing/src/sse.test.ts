import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { encodeSseItem, isSseEvent, parseSseEvents, sseEvent } from './sse.js'

describe('server-sent events', () => {
  it('encodes strings as is, objects as JSON and named events with their event and id lines', () => {
    expect(encodeSseItem('[DONE]')).toBe('data: [DONE]\n\n')
    expect(encodeSseItem({ a: [1] })).toBe('data: {"a":[1]}\n\n')
    expect(encodeSseItem(sseEvent({ event: 'ping', id: '1', data: 'a\nb' }))).toBe(
      'event: ping\nid: 1\ndata: a\ndata: b\n\n',
    )
    expect(encodeSseItem({ event: 'not-named', data: 1 })).toBe('data: {"event":"not-named","data":1}\n\n')
  })

  it('encodeSseItem refuses an item JSON cannot write (a BigInt, a cycle, a throwing toJSON) with a ConfigurationError', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    const items: unknown[] = [
      { count: 1n },
      cycle,
      sseEvent({ event: 'e', data: cycle }),
      {
        toJSON: () => {
          throw new Error('boom')
        },
      },
      undefined,
      Symbol('s'),
      () => 1,
      sseEvent({ data: 2n }),
    ]
    for (const item of items) {
      expect(() => encodeSseItem(item as never), String(typeof item)).toThrow(ConfigurationError)
      expect(() => encodeSseItem(item as never)).toThrow(/^encodeSseItem: item must be /)
    }
  })

  it('recognises events made by sseEvent only', () => {
    expect(isSseEvent(sseEvent({ data: 1 }))).toBe(true)
    expect(isSseEvent({ event: 'x', data: 1 })).toBe(false)
  })

  it('parses what it encodes, ignoring comments and CRLF line ends', () => {
    const text = `: comment\r\n\r\n${encodeSseItem(sseEvent({ event: 'e', id: '9', data: 'x\ny' }))}${encodeSseItem('[DONE]')}`
    expect(parseSseEvents(text)).toEqual([{ event: 'e', id: '9', data: 'x\ny' }, { data: '[DONE]' }])
  })

  it('ends a data line at CRLF, LF or CR, so no part of the data is lost on the way', () => {
    expect(encodeSseItem(sseEvent({ data: 'a\rb' }))).toBe('data: a\ndata: b\n\n')
    expect(encodeSseItem('c\r\nd\ne\r\rf')).toBe('data: c\ndata: d\ndata: e\ndata: \ndata: f\n\n')
    const sent = ['a\rb', 'c\r\nd', 'e\nf'].map((data) => encodeSseItem(sseEvent({ data }))).join('')
    expect(parseSseEvents(sent).map((event) => event.data)).toEqual(['a\nb', 'c\nd', 'e\nf'])
  })

  it('refuses an event name or id with a line break, which would end its field early', () => {
    for (const bad of ['e\nvil', 'e\rvil', 'e\r\nvil']) {
      expect(() => sseEvent({ event: bad, data: 'z' })).toThrow(ConfigurationError)
      expect(() => sseEvent({ id: bad, data: 'z' })).toThrow(/sseEvent: id must not hold a line break/)
    }
    expect(parseSseEvents(encodeSseItem(sseEvent({ event: 'a b:c', id: 'x y', data: 'z' })))).toEqual([
      { event: 'a b:c', id: 'x y', data: 'z' },
    ])
  })

  it('parseSseEvents refuses a body that is not a string with a ConfigurationError', () => {
    for (const body of [5, null, undefined, { data: 'x' }]) {
      expect(() => parseSseEvents(body as never)).toThrow(ConfigurationError)
      expect(() => parseSseEvents(body as never)).toThrow(
        /^parseSseEvents: text must be the body of a text\/event-stream/,
      )
    }
  })
  it('reads a body as the SSE format says: a BOM dropped, an event without data not dispatched', () => {
    expect(parseSseEvents('\uFEFFdata: a\n\n')).toEqual([{ data: 'a' }])
    expect(parseSseEvents('event: ping\n\ndata: b\n\n')).toEqual([{ data: 'b' }])
    expect(parseSseEvents('event: ping\ndata:\n\n')).toEqual([{ event: 'ping', data: '' }])
  })

  it('drops a last event the body ends before its blank line, as a client does', () => {
    expect(parseSseEvents('data: a\n\ndata: cut')).toEqual([{ data: 'a' }])
    expect(parseSseEvents('data: a\n\nevent: e\ndata: b\n')).toEqual([{ data: 'a' }])
    expect(parseSseEvents('data: a\r\n\r\ndata: b\r\rdata: c\r')).toEqual([{ data: 'a' }, { data: 'b' }])
  })

  it('sseEvent refuses options that are not an object with a ConfigurationError', () => {
    for (const options of [undefined, null, 'data']) {
      expect(() => sseEvent(options as never)).toThrow(ConfigurationError)
      expect(() => sseEvent(options as never)).toThrow(/^sseEvent: options must be an object, got /)
    }
  })

  it('sseEvent refuses an event name or id that is not a string, options it cannot read or keys it does not know, with a ConfigurationError', () => {
    const throwing = Object.defineProperty({ data: 'x' }, 'event', {
      get() {
        throw new Error('unreadable')
      },
      enumerable: true,
    })
    for (const options of [
      { event: Symbol('e') as never, data: 'x' },
      { event: 42 as never, data: 'x' },
      { id: {} as never, data: 'x' },
      throwing,
      { evnt: 'e', data: 'x' } as never,
    ]) {
      expect(() => sseEvent(options)).toThrow(ConfigurationError)
      expect(() => sseEvent(options)).toThrow(/^sseEvent: /)
    }
    expect(() => sseEvent({ evnt: 'e', data: 'x' } as never)).toThrow('evnt is not an option; did you mean event?')
    // A value quoted in the message is cut, as an error quotes one: an event name of megabytes makes no message of as many.
    let long: unknown
    try {
      sseEvent({ event: `${'e'.repeat(1_000_000)}\n`, data: 'x' })
    } catch (error) {
      long = error
    }
    expect(ConfigurationError.isInstance(long)).toBe(true)
    expect((long as Error).message.length).toBeLessThan(1_500)
  })
})
