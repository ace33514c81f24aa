import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { type EchoContext, echoRoute } from './__fixtures__/echo-route.js'
import { ScriptedRoute } from './scripted-route.js'

describe('ScriptedRoute', () => {
  it('echoes without a script, and records every request in order', async () => {
    const route = echoRoute()
    expect(await route.next({ text: 'a' }, 0)).toBe('a')
    expect(await route.next({ text: 'b' }, 3)).toBe('b')
    expect(route.requests).toEqual([{ text: 'a' }, { text: 'b' }])
  })

  it('setReplies refuses replies that are neither a list nor a function, and a cycle that is no boolean, when called', () => {
    const route = echoRoute()
    expect(() => route.setReplies(5 as never, false)).toThrow(ConfigurationError)
    expect(() => route.setReplies(5 as never, false)).toThrow(
      'ScriptedRoute.setReplies: replies must be a list of replies or a function of the request, got 5',
    )
    expect(() => route.setReplies(['a'], 'x' as never)).toThrow(
      'ScriptedRoute.setReplies: cycle must be a boolean, got "x"',
    )
    route.setReplies(['a'], true)
    route.setReplies(undefined, false)
  })

  it('answers a list in order, then a 500 that names the request and how many replies were scripted', async () => {
    const route = echoRoute({ replies: ['one', 'two'] })
    expect([await route.next({ text: 'a' }, 0), await route.next({ text: 'b' }, 1)]).toEqual(['one', 'two'])
    expect(await route.next({ text: 'c' }, 5)).toEqual({
      error: {
        status: 500,
        message:
          "The loopback server's 2 scripted replies are used up (echo request #2); script more or set cycleReplies.",
      },
    })
  })

  it('cycles when asked, and starts a new list from its first reply', async () => {
    const route = echoRoute({ replies: ['one'], cycleReplies: true })
    expect([await route.next({ text: 'a' }, 0), await route.next({ text: 'b' }, 1)]).toEqual(['one', 'one'])
    route.setReplies(['x', 'y'], false)
    expect(await route.next({ text: 'c' }, 2)).toBe('x')
  })

  it("gives a reply function the request and its context: the server's index and the route's", async () => {
    const route = echoRoute()
    const seen: EchoContext[] = []
    route.setReplies((request, context) => {
      seen.push(context)
      return request.text.toUpperCase()
    }, false)
    await route.next({ text: 'ignored' }, 0)
    expect(await route.next({ text: 'hi' }, 7)).toBe('HI')
    expect(seen).toEqual([
      { requestIndex: 0, echoIndex: 0 },
      { requestIndex: 7, echoIndex: 1 },
    ])
  })

  it('answers a scripted reply that is neither text nor an object with a 400 naming the request, never as a reply', async () => {
    for (const reply of [42, null, true]) {
      const route = echoRoute({ replies: [reply as unknown as string] })
      expect(await route.next({ text: 'a' }, 0)).toEqual({
        error: {
          status: 400,
          message: expect.stringContaining(
            'scripted reply to echo request #0: reply must be a string or an object, got',
          ),
        },
      })
    }
  })

  it('answers a scripted error whose status is no final HTTP status (a 1xx leaves the client waiting) with a 400', async () => {
    for (const status of [101, 199, 1000, 2.5, Number.NaN]) {
      const route = echoRoute({ replies: [{ error: { status, message: 'x' } }] })
      expect(await route.next({ text: 'a' }, 0)).toEqual({
        error: {
          status: 400,
          message: expect.stringContaining('scripted reply to echo request #0: error.status must be'),
        },
      })
    }
    const route = echoRoute({ replies: [{ error: { status: 429, message: 'slow' } }] })
    expect(await route.next({ text: 'a' }, 0)).toEqual({ error: { status: 429, message: 'slow' } })
  })

  it('answers a scripted error with headers no response can carry with a 400 naming the header', async () => {
    for (const headers of [5, { 'bad name': 'x' }, { 'retry-after': 'a\r\nb' }, { 'retry-after': 3 }]) {
      const route = echoRoute({ replies: [{ error: { status: 429, message: 'slow', headers } } as never] })
      expect(await route.next({ text: 'a' }, 0)).toEqual({
        error: { status: 400, message: expect.stringContaining('scripted reply to echo request #0: error.headers') },
      })
    }
    const headers = { 'retry-after': '3' }
    const route = echoRoute({ replies: [{ error: { status: 429, message: 'slow', headers } } as never] })
    expect(await route.next({ text: 'a' }, 0)).toEqual({ error: { status: 429, message: 'slow', headers } })
  })

  it('answers a reply whose getter throws with a 400 naming the reply, the secret in its message redacted', async () => {
    const secret = 'sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd'
    const reply = {
      get error(): never {
        throw new Error(`bad key ${secret}`)
      },
    }
    const route = echoRoute({ replies: [reply] })
    const answer = (await route.next({ text: 'a' }, 0)) as { error: { status: number; message: string } }
    expect(answer.error.status).toBe(400)
    expect(answer.error.message).toContain('scripted reply to echo request #0: reply could not be read: Error: bad key')
    expect(answer.error.message).not.toContain(secret)
  })

  it('answers a scripted error that is no object (null, a string, a number) with a 400 naming the field', async () => {
    for (const error of [null, undefined, 'boom', 5]) {
      const route = echoRoute({ replies: [{ error } as never] })
      expect(await route.next({ text: 'a' }, 0)).toEqual({
        error: {
          status: 400,
          message: expect.stringContaining(
            'scripted reply to echo request #0: error must be an object { status, message }',
          ),
        },
      })
    }
  })
  it('refuses options that are not an object, or lack their functions, with a ConfigurationError', () => {
    const echo = (request: unknown) => request
    const context = () => ({})
    const bad: unknown[] = [
      undefined,
      null,
      'echo',
      { requestName: 'echo request', context },
      { requestName: 'echo request', echo },
      { requestName: 5, echo, context },
    ]
    for (const options of bad) {
      expect(() => new ScriptedRoute(options as never)).toThrow(ConfigurationError)
      expect(() => new ScriptedRoute(options as never)).toThrow(
        /^ScriptedRoute: (options|requestName|echo|context) must be /,
      )
    }
    expect(() => new ScriptedRoute({ requestName: 'echo request', echo, context })).not.toThrow()
  })

  it('refuses an unknown option key with a suggestion, and replies, cycleReplies, replyKeys or replyProblem of the wrong type', () => {
    const given = { requestName: 'echo request', echo: (request: unknown) => request, context: () => ({}) }
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ replise: ['a'] }, /^ScriptedRoute: replise is not an option; did you mean replies\?/],
      [{ replies: 5 }, /^ScriptedRoute: replies must be a list of replies or a function of the request, got 5/],
      [{ replies: 'hello' }, /^ScriptedRoute: replies must be a list of replies or a function of the request/],
      [{ cycleReplies: 'no' }, /^ScriptedRoute: cycleReplies must be a boolean, got "no"/],
      [{ replyKeys: ['content'] }, /^ScriptedRoute: replyKeys must be a set of field names/],
      [{ replyProblem: 'none' }, /^ScriptedRoute: replyProblem must be a function/],
    ]
    for (const [options, message] of refused) {
      expect(() => new ScriptedRoute({ ...given, ...options } as never)).toThrow(ConfigurationError)
      expect(() => new ScriptedRoute({ ...given, ...options } as never)).toThrow(message)
    }
    const throwing = Object.defineProperty({ ...given }, 'replies', {
      enumerable: true,
      get: () => {
        throw new Error('unreadable')
      },
    })
    expect(() => new ScriptedRoute(throwing as never)).toThrow(
      /^ScriptedRoute: options could not be read: Error: unreadable/,
    )
    const route = new ScriptedRoute({
      ...given,
      replies: ['a'],
      cycleReplies: true,
      replyKeys: new Set(['text']),
      replyProblem: () => undefined,
      unused: undefined,
    } as never)
    expect(route.requests).toEqual([])
  })
})
