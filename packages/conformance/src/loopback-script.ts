import type { Fault, FaultSchedule } from '@tinyllm/testing'
import type { ReplyTurn, ScriptedTurn } from './scripted-turn.js'

/**
 * For a provider server built on `@tinyllm/testing`: the faults that play a script's `stall`, `reset`, `cut` and
 * `malformed` turns, to pass as the server's `faults` option. Request `i` gets the fault of `script[i]`.
 */
export function scriptFaults(script: readonly ScriptedTurn[]): FaultSchedule {
  return (requestIndex) => faultOf(script[requestIndex])
}

function faultOf(turn: ScriptedTurn | undefined): Fault | undefined {
  switch (turn?.type) {
    case 'stall':
      return turn.text === undefined ? { kind: 'stall-headers' } : { kind: 'stall-stream', afterEvents: 1 }
    case 'reset':
      return { kind: 'reset-before-headers' }
    case 'cut':
      return { kind: 'cut-stream', afterEvents: turn.afterEvents ?? 0 }
    case 'malformed':
      return { kind: 'malformed-json' }
    default:
      return undefined
  }
}

/**
 * The turn the provider's own server answers request `index` with: a `stall`, `cut` or `malformed` turn becomes its
 * text (the fault from {@link scriptFaults} shapes it), a `reset` an empty text (never sent), a request past the end of
 * the script an error that says so.
 */
export function replyTurnAt(script: readonly ScriptedTurn[], index: number): ReplyTurn {
  const turn = script[index]
  if (turn === undefined) {
    return {
      type: 'error',
      status: 500,
      message: `conformance script has ${script.length} turns; got request #${index}`,
    }
  }
  switch (turn.type) {
    case 'stall':
      return { type: 'text', text: turn.text ?? '' }
    case 'reset':
      return { type: 'text', text: '' }
    case 'cut':
    case 'malformed':
      return { type: 'text', text: turn.text }
    default:
      return turn
  }
}
