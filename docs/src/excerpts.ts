/** A line of an excerpt that stands for source lines left out: any number of them, zero included. */
export const elision = '// …'

/** Where an excerpt was found: the 1-based line of its first line in the source. */
export interface ExcerptFound {
  readonly line: number
}

/** How much of an excerpt a source holds, when it does not hold all of it. */
export interface ExcerptNearMiss {
  /** How many of the excerpt's lines (elisions included) the source holds, in order, from its first. */
  readonly matchedLines: number
  /** The first excerpt line the source does not hold there, as written in the excerpt (trimmed). */
  readonly missing: string
  /** The source line (1-based) where `missing` was expected, and what it reads, when one was expected at a line. */
  readonly at?: { readonly line: number; readonly text: string }
}

/**
 * Finds a README excerpt in a source file. Both are compared line by line with the indentation and trailing spaces
 * removed, so an excerpt may be taken from a nested block and shown at the left margin. A line that is only `// …`
 * stands for any number of source lines, zero included; every other line, comments too, must be in the source as
 * written, in order, and the lines between two elisions must be consecutive there.
 */
export function findExcerpt(excerpt: string, source: string): ExcerptFound | undefined {
  const segments = excerptSegments(excerpt)
  const lines = normalisedLines(source)
  if (segments.length === 0) return undefined
  for (let start = 0; start < lines.length; start++) {
    if (placeSegments(segments, lines, start).placed === segments.length) return { line: start + 1 }
  }
  return undefined
}

/**
 * How far a source follows an excerpt it does not hold, to say where the two part: from each place that holds the
 * excerpt's first line, the runs of lines between elisions are placed as `findExcerpt` places them, and the first
 * run that cannot be placed is compared where it comes closest. `undefined` when no line holds the excerpt's first.
 */
export function nearestMiss(excerpt: string, source: string): ExcerptNearMiss | undefined {
  const segments = excerptSegments(excerpt)
  const lines = normalisedLines(source)
  let nearest: ExcerptNearMiss | undefined
  lines.forEach((line, start) => {
    if (line !== segments[0]?.lines[0]) return
    const miss = missFrom(segments, lines, start)
    if (miss !== undefined && (nearest === undefined || miss.matchedLines > nearest.matchedLines)) nearest = miss
  })
  return nearest
}

/** The excerpt's lines, trimmed, without the blank lines around it. */
export function excerptLines(excerpt: string): string[] {
  const lines = normalisedLines(excerpt)
  const first = lines.findIndex((line) => line !== '')
  const last = lines.findLastIndex((line) => line !== '')
  return first === -1 ? [] : lines.slice(first, last + 1)
}

/** A run of consecutive excerpt lines between elisions, and the index of its first line among the excerpt's lines. */
interface Segment {
  readonly lines: readonly string[]
  readonly offset: number
}

/** The runs of consecutive lines between elisions; an elision at either end asks nothing. */
function excerptSegments(excerpt: string): Segment[] {
  const segments: { lines: string[]; offset: number }[] = []
  let current: { lines: string[]; offset: number } | undefined
  excerptLines(excerpt).forEach((line, index) => {
    if (line === elision) {
      current = undefined
      return
    }
    if (current === undefined) {
      current = { lines: [], offset: index }
      segments.push(current)
    }
    current.lines.push(line)
  })
  return segments
}

/**
 * Places the segments from `start`, the first there and each other one at its earliest place after the one before
 * (a later place could only leave less room for the rest). Answers how many were placed, and the line after the last.
 */
function placeSegments(
  segments: readonly Segment[],
  lines: readonly string[],
  start: number,
): { readonly placed: number; readonly end: number } {
  let end = start
  for (const [index, segment] of segments.entries()) {
    const at =
      index === 0 ? (heldFrom(segment, lines, start) === segment.lines.length ? start : -1) : find(segment, lines, end)
    if (at === -1) return { placed: index, end }
    end = at + segment.lines.length
  }
  return { placed: segments.length, end }
}

/** Where the excerpt, its first line placed at `start`, parts from the source; `undefined` if it does not. */
function missFrom(segments: readonly Segment[], lines: readonly string[], start: number): ExcerptNearMiss | undefined {
  const { placed, end } = placeSegments(segments, lines, start)
  const segment = segments[placed]
  if (segment === undefined) return undefined
  // Where the segment that could not be placed comes closest: the place after `end` holding the most of its first
  // lines (the first segment has only its start).
  let closest = { position: end, held: 0 }
  for (let position = end; position < (placed === 0 ? start + 1 : lines.length); position++) {
    const held = heldFrom(segment, lines, position)
    if (held > closest.held) closest = { position, held }
  }
  const missing = segment.lines[closest.held] as string
  const text = lines[closest.position + closest.held]
  const at = closest.held === 0 || text === undefined ? undefined : { line: closest.position + closest.held + 1, text }
  return { matchedLines: segment.offset + closest.held, missing, ...(at && { at }) }
}

/** How many of the segment's first lines the source holds from `position`. */
function heldFrom(segment: Segment, lines: readonly string[], position: number): number {
  let held = 0
  while (held < segment.lines.length && lines[position + held] === segment.lines[held]) held++
  return held
}

/** The earliest place at or after `from` that holds the whole segment, or -1. */
function find(segment: Segment, lines: readonly string[], from: number): number {
  for (let start = from; start + segment.lines.length <= lines.length; start++) {
    if (heldFrom(segment, lines, start) === segment.lines.length) return start
  }
  return -1
}

function normalisedLines(text: string): string[] {
  return text.split('\n').map((line) => line.trim())
}
