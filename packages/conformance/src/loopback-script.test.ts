import { describe, expect, it } from 'vitest'
import { replyTurnAt, scriptFaults } from './loopback-script.js'
import type { ScriptedTurn } from './scripted-turn.js'

const script: ScriptedTurn[] = [
  { type: 'text', text: 'a' },
  { type: 'stall' },
  { type: 'stall', text: 'starts then stalls' },
  { type: 'error', status: 429 },
  { type: 'reset' },
  { type: 'cut', text: 'starts then breaks', afterEvents: 3 },
  { type: 'cut', text: 'half a body' },
  { type: 'malformed', text: 'not JSON' },
]

describe('scriptFaults', () => {
  it('plays stalls, resets, cuts and malformed bodies as the toolkit faults that shape them', () => {
    const schedule = scriptFaults(script)
    if (typeof schedule !== 'function') throw new Error('expected a function schedule')
    const request = { method: 'POST', path: '/', query: '', headers: {}, body: undefined, rawBody: Buffer.alloc(0) }
    expect(script.map((_turn, index) => schedule(index, request))).toEqual([
      undefined,
      { kind: 'stall-headers' },
      { kind: 'stall-stream', afterEvents: 1 },
      undefined,
      { kind: 'reset-before-headers' },
      { kind: 'cut-stream', afterEvents: 3 },
      { kind: 'cut-stream', afterEvents: 0 },
      { kind: 'malformed-json' },
    ])
    expect(schedule(script.length, request)).toBeUndefined()
  })
})

describe('replyTurnAt', () => {
  it('passes turns on, turns faults into their text, and answers past the end with an error naming the request', () => {
    expect(replyTurnAt(script, 0)).toEqual({ type: 'text', text: 'a' })
    expect(replyTurnAt(script, 1)).toEqual({ type: 'text', text: '' })
    expect(replyTurnAt(script, 2)).toEqual({ type: 'text', text: 'starts then stalls' })
    expect(replyTurnAt(script, 3)).toEqual({ type: 'error', status: 429 })
    expect(replyTurnAt(script, 4)).toEqual({ type: 'text', text: '' })
    expect(replyTurnAt(script, 5)).toEqual({ type: 'text', text: 'starts then breaks' })
    expect(replyTurnAt(script, 7)).toEqual({ type: 'text', text: 'not JSON' })
    expect(replyTurnAt(script, 8)).toMatchObject({ type: 'error', status: 500, message: expect.stringContaining('#8') })
  })
})
