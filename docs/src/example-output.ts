/** An example run whose output its README shows, the same on every run offline but for durations. */
export interface ExampleRun {
  /** The folder under `examples/`. */
  readonly name: string
  /** What `start` is given. */
  readonly args: readonly string[]
  /** What the program reads on its standard input; none when absent (the input is closed at once). */
  readonly stdin?: string
  /** A piece of the README's text right before the ```text block that shows this run. */
  readonly under: string
}

/**
 * The examples that print the same on every run offline: they replay a cassette or a scripted server, and the only
 * thing that varies is how long a step took. The batch example is left out: which call a seeded fault meets depends on
 * timing, so its counts are one run's, and its own test checks their shape. The distributed one needs Redis.
 */
export const exampleRuns: readonly ExampleRun[] = [
  { name: 'credit-classification', args: [], under: 'A real run of `pnpm demo`, offline' },
  { name: 'core-only', args: [], under: 'A real run (durations vary)' },
  {
    name: 'chat-with-history',
    args: [],
    stdin: 'Hi, I am Ada.\nWhat is my name?\n',
    under: 'The input can be piped too',
  },
  { name: 'agent', args: [], under: 'A real run of `pnpm agent`, offline' },
]

/** A ```text block of a README: its lines with their line numbers, and the few lines of text right before it. */
export interface TextBlock {
  readonly after: string
  readonly lines: ReadonlyArray<{ readonly line: number; readonly text: string }>
}

/** Every ```text block of a README. */
export function textBlocks(readme: string): TextBlock[] {
  const lines = readme.split('\n')
  const blocks: TextBlock[] = []
  for (let index = 0; index < lines.length; index++) {
    if (lines[index] !== '```text') continue
    const before = lines.slice(Math.max(0, index - 8), index).filter((line) => !line.startsWith('```'))
    const body: Array<{ line: number; text: string }> = []
    let end = index + 1
    for (; end < lines.length && lines[end] !== '```'; end++) body.push({ line: end + 1, text: lines[end] as string })
    blocks.push({ after: before.join(' ').replace(/\s+/g, ' ').trim(), lines: body })
    index = end
  }
  return blocks
}

/** A duration as the run trees and summaries print it: `282.2 ms`, `97 µs`, `4.58 s`. */
const duration = /\d+(?:\.\d+)? (?:ms|µs|s)(?![\w/])/g

/**
 * The first line of `shown` (blank lines aside) that `output` does not print, after the lines before it: each must be
 * a whole line of the output, a duration standing for any duration and `…` for anything.
 */
export function firstMissingLine(
  output: string,
  shown: ReadonlyArray<{ readonly line: number; readonly text: string }>,
): { readonly line: number; readonly text: string } | undefined {
  const printed = output.split('\n').map((line) => line.replace(duration, '<duration>').trimEnd())
  let from = 0
  for (const expected of shown) {
    if (expected.text.trim() === '') continue
    const pattern = new RegExp(
      `^${expected.text.replace(duration, '<duration>').trimEnd().split('…').map(escapeRegExp).join('.*')}$`,
    )
    const at = printed.findIndex((line, index) => index >= from && pattern.test(line))
    if (at === -1) return expected
    from = at + 1
  }
  return undefined
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
