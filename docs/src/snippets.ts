/** One ```ts block of a README: a program a reader can paste into a file of their own and run. */
export interface Snippet {
  /** The README it comes from, relative to the repository root, e.g. `packages/core/README.md`. */
  readonly readme: string
  /** Its position among the README's ```ts blocks, from 1. */
  readonly number: number
  /** The README line of its first line of code. */
  readonly line: number
  readonly code: string
  /** What runs it: Node, or vitest for a test suite (the block is marked `<!-- runs under vitest -->`). */
  readonly runner: 'node' | 'vitest'
}

/** What a `console.log(…) // text` line promises the program prints. */
export interface PromisedOutput {
  /** The README line of the `console.log`. */
  readonly line: number
  /** The text after `// `; `…` in it stands for anything. */
  readonly text: string
}

const fence = /^```(.*)$/
const vitestMarker = /^<!--\s*runs under vitest\s*-->$/
const notRunMarker = /^<!--\s*not run\b/

/**
 * The ```ts blocks of a README, in order. Every one is run: by Node, or by vitest when it is marked
 * `<!-- runs under vitest -->` on the line before it (blank lines allowed between). A block marked as not to be run,
 * and any other TypeScript-looking fence (```typescript, ```ts no-run, an indented ```ts), is refused, so that no
 * TypeScript in a README escapes the checks.
 */
export function extractSnippets(markdown: string, readme: string): Snippet[] {
  const lines = markdown.split('\n')
  const snippets: Snippet[] = []
  let index = 0
  while (index < lines.length) {
    const line = lines[index] as string
    const trimmed = line.trimStart()
    const opening = fence.exec(trimmed)
    if (opening === null) {
      index += 1
      continue
    }
    const info = (opening[1] ?? '').trim()
    if (/^(ts|typescript|tsx)\b/.test(info) && (info !== 'ts' || trimmed !== line)) {
      throw new Error(
        `${readme}:${index + 1}: write a TypeScript block as a plain \`\`\`ts fence at the start of the line (mark a test suite with <!-- runs under vitest --> before it), not \`${line.trim()}\``,
      )
    }
    const end = lines.findIndex((candidate, at) => at > index && candidate.trimStart().startsWith('```'))
    if (end === -1) throw new Error(`${readme}:${index + 1}: this code fence is never closed`)
    if (info === 'ts') {
      snippets.push({
        readme,
        number: snippets.length + 1,
        line: index + 2,
        code: `${lines.slice(index + 1, end).join('\n')}\n`,
        runner: runnerOf(lines, index, readme),
      })
    }
    index = end + 1
  }
  return snippets
}

function runnerOf(lines: readonly string[], fenceIndex: number, readme: string): 'node' | 'vitest' {
  let before = fenceIndex - 1
  while (before >= 0 && (lines[before] as string).trim() === '') before -= 1
  const marker = before < 0 ? '' : (lines[before] as string).trim()
  if (notRunMarker.test(marker))
    throw new Error(`${readme}:${before + 1}: every snippet runs; mark a test suite with <!-- runs under vitest -->`)
  return vitestMarker.test(marker) ? 'vitest' : 'node'
}

const promise = /^\s*console\.log\(.*\) \/\/ (.+)$/
const comment = /^\s*\/\/ ?(.*)$/

/**
 * What a snippet promises to print, in order: the text after each `console.log(…) // text` line, and each line of a
 * block of `// ` comments right below a statement that prints without such a text of its own — a `console.log(…)` on
 * one line or on several, or a loop around one — as a run tree, a Mermaid chart or a list of spans is shown:
 *
 * ```ts
 * console.log(formatRunTree(record))
 * // ✔ Pipeline (chain) … tokens=23
 * // └─ ✔ Report (function) …
 * ```
 */
export function promisedOutput(snippet: Snippet): PromisedOutput[] {
  const promises: PromisedOutput[] = []
  const lines = snippet.code.split('\n')
  lines.forEach((line, offset) => {
    const text = promise.exec(line)?.[1]
    if (text !== undefined) promises.push({ line: snippet.line + offset, text: text.trim() })
    else if (printsWithoutText(lines, offset)) {
      for (let below = offset + 1; below < lines.length; below++) {
        const shown = comment.exec(lines[below] as string)?.[1]
        if (shown === undefined) break
        promises.push({ line: snippet.line + below, text: shown.trim() })
      }
    }
  })
  return promises
}

/** Whether the statement that ends on line `end` calls `console.log` and has no `// text` promise of its own. */
function printsWithoutText(lines: readonly string[], end: number): boolean {
  const last = lines[end] as string
  if (comment.test(last) || promise.test(last)) return false
  let start = end
  let open = bracketBalance(last)
  while (open < 0 && start > 0) {
    start -= 1
    open += bracketBalance(lines[start] as string)
  }
  return lines.slice(start, end + 1).some((line) => line.includes('console.log('))
}

/** Opening minus closing brackets of a line of code, strings and comments included: a rough count is enough here. */
function bracketBalance(line: string): number {
  let balance = 0
  for (const character of line) {
    if (character === '(' || character === '{' || character === '[') balance += 1
    else if (character === ')' || character === '}' || character === ']') balance -= 1
  }
  return balance
}

/**
 * Checks that `output` holds every promised text, in the order of the promises; `…` in a text stands for anything
 * (on one line). Returns the first promise that is not kept, or `undefined`.
 */
export function firstBrokenPromise(output: string, promises: readonly PromisedOutput[]): PromisedOutput | undefined {
  let from = 0
  for (const promised of promises) {
    const pattern = new RegExp(promised.text.split('…').map(escapeRegExp).join('.*?'))
    const match = pattern.exec(output.slice(from))
    if (match === null) return promised
    from += match.index + match[0].length
  }
  return undefined
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
