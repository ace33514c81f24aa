/**
 * Whether every entry of `list` is accepted, holes included: a hole reads as `undefined`, where `every` would skip it
 * (and a sparse list would then go on with holes in it: a stop sequence sent as `null`, a tool call that is not there).
 */
export function everyEntry<Entry>(list: ReadonlyArray<Entry>, accepts: (entry: Entry) => boolean): boolean {
  for (let index = 0; index < list.length; index++) if (!accepts(list[index] as Entry)) return false
  return true
}
