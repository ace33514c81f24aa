import { optionError } from '@tinyllm/core'
import { everyEntry } from '../every-entry.js'

/**
 * The stop sequences to send, as a list: a single string (`stop: 'END'`, which JavaScript callers and JSON inputs
 * pass) is one sequence, not its characters. `undefined` when there are none. Anything else is a `ConfigurationError`.
 */
export function toStopSequences(stop: ReadonlyArray<string> | string | undefined): string[] | undefined {
  if (stop === undefined) return undefined
  if (typeof stop === 'string') return [stop]
  if (!Array.isArray(stop) || !everyEntry(stop, (sequence) => typeof sequence === 'string')) {
    throw optionError('stop', 'a string or an array of strings', stop, 'toStopSequences')
  }
  return stop.length === 0 ? undefined : [...stop]
}
