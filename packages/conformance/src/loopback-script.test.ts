import { describe, expect, it } from 'vitest'
import { replyTurnAt, stallFaults } from './loopback-script.js'
import type { ScriptedTurn } from './scripted-turn.js'

const script: ScriptedTurn[] = [
  { type: 'text', text: 'a' },
  { type: 'stall' },
  { type: 'stall', text: 'starts then stalls' },
  { type: 'error', status: 429 },
]

describe('stallFaults', () => {
  it('holds a stall without text before the headers, one with text after its first event', () => {
    const schedule = stallFaults(script)
    if (typeof schedule !== 'function') throw new Error('expected a function schedule')
    const request = { method: 'POST', path: '/', query: '', headers: {}, body: undefined, rawBody: Buffer.alloc(0) }
    expect([0, 1, 2, 3, 4].map((index) => schedule(index, request))).toEqual([
      undefined,
      { kind: 'stall-headers' },
      { kind: 'stall-stream', afterEvents: 1 },
      undefined,
      undefined,
    ])
  })
})

describe('replyTurnAt', () => {
  it('passes turns on, turns stalls into their text, and answers past the end with an error naming the request', () => {
    expect(replyTurnAt(script, 0)).toEqual({ type: 'text', text: 'a' })
    expect(replyTurnAt(script, 1)).toEqual({ type: 'text', text: '' })
    expect(replyTurnAt(script, 2)).toEqual({ type: 'text', text: 'starts then stalls' })
    expect(replyTurnAt(script, 3)).toEqual({ type: 'error', status: 429 })
    expect(replyTurnAt(script, 4)).toMatchObject({ type: 'error', status: 500, message: expect.stringContaining('#4') })
  })
})
