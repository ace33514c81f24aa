import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { elision, excerptLines, findExcerpt } from './excerpts.js'

// CONTRIBUTING.md walks through `@tinyllm/anthropic` as the worked example, and its ```ts blocks (indented inside the
// steps) are excerpts of that package: each must be found in one of its source files, as an example README's excerpt
// must be found in the example (`findExcerpt`: indentation aside, `// …` for lines left out). A provider written from
// an excerpt that drifted from the code would copy what the code no longer does.
const repositoryRoot = resolve(import.meta.dirname, '../..')
const contributing = 'CONTRIBUTING.md'
const workedExample = join(repositoryRoot, 'packages/anthropic/src')

const sources = readdirSync(workedExample, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts') && !file.includes('.test.'))
  .sort()
  .map((file) => ({ path: `packages/anthropic/src/${file}`, text: readFileSync(join(workedExample, file), 'utf8') }))

/** The ```ts blocks of a Markdown text, however indented, with the line of their first line of code. */
function typeScriptBlocks(markdown: string): { line: number; code: string }[] {
  const lines = markdown.split('\n')
  const blocks: { line: number; code: string }[] = []
  for (let index = 0; index < lines.length; index++) {
    if ((lines[index] as string).trim() !== '```ts') continue
    const end = lines.findIndex((line, at) => at > index && line.trim().startsWith('```'))
    if (end === -1) throw new Error(`${contributing}:${index + 1}: this code fence is never closed`)
    blocks.push({ line: index + 2, code: lines.slice(index + 1, end).join('\n') })
    index = end
  }
  return blocks
}

describe(`${contributing} excerpts of the worked example`, () => {
  const blocks = typeScriptBlocks(readFileSync(join(repositoryRoot, contributing), 'utf8'))

  it('has some', () => {
    expect(blocks.length).toBeGreaterThan(0)
  })

  for (const block of blocks) {
    const first = excerptLines(block.code).find((line) => line !== elision) ?? ''
    it(`line ${block.line}: \`${first}\` is in packages/anthropic/src/`, () => {
      const found = sources.filter((source) => findExcerpt(block.code, source.text) !== undefined)
      expect(
        found.map((source) => source.path),
        `${contributing}:${block.line}: the excerpt is not in any file of packages/anthropic/src/`,
      ).not.toEqual([])
    })
  }
})
