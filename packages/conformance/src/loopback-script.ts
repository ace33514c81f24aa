import type { FaultSchedule } from '@tinyllm/testing'
import type { ReplyTurn, ScriptedTurn } from './scripted-turn.js'

/**
 * For a provider server built on `@tinyllm/core/testing`: the faults that play a script's `stall` turns, to pass as
 * the server's `faults` option. Request `i` gets the fault of `script[i]`.
 */
export function stallFaults(script: readonly ScriptedTurn[]): FaultSchedule {
  return (requestIndex) => {
    const turn = script[requestIndex]
    if (turn?.type !== 'stall') return undefined
    return turn.text === undefined ? { kind: 'stall-headers' } : { kind: 'stall-stream', afterEvents: 1 }
  }
}

/**
 * The turn the provider's own server answers request `index` with: a `stall` turn becomes its text (the fault from
 * {@link stallFaults} holds it), a request past the end of the script an error that says so.
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
  return turn.type === 'stall' ? { type: 'text', text: turn.text ?? '' } : turn
}
