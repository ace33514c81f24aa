/**
 * The stop sequences to send, as a list: a single string (`stop: 'END'`, which JavaScript callers and JSON inputs
 * pass) is one sequence, not its characters. `undefined` when there are none.
 */
export function toStopSequences(stop: ReadonlyArray<string> | string | undefined): string[] | undefined {
  if (stop === undefined) return undefined
  if (typeof stop === 'string') return [stop]
  return stop.length === 0 ? undefined : [...stop]
}
