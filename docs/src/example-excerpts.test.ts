import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { elision, excerptLines, findExcerpt, nearestMiss } from './excerpts.js'
import { extractSnippets, type Snippet } from './snippets.js'

// The ```ts blocks of an example's README are excerpts of the example, not programs of their own: each must be found
// in one of the example's files under src/, as `findExcerpt` compares (indentation aside, `// …` for lines left
// out). The example itself runs in its own tests, so an excerpt that drifts from the code fails here instead of
// misleading a reader.
const repositoryRoot = resolve(import.meta.dirname, '../..')
const examplesFolder = join(repositoryRoot, 'examples')
const examples = readdirSync(examplesFolder, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

describe('example READMEs', () => {
  const documented = examples.filter((name) => existsSync(join(examplesFolder, name, 'README.md')))

  it('exist for every example', () => {
    const missing = examples.filter((name) => !documented.includes(name))
    expect(missing, 'examples without a README.md').toEqual([])
  })

  for (const name of documented) {
    const readme = `examples/${name}/README.md`
    const sources = sourceFiles(join(examplesFolder, name, 'src')).map((file) => ({
      path: relative(join(examplesFolder, name), file),
      text: readFileSync(file, 'utf8'),
    }))
    let excerpts: Snippet[] = []
    let problem: unknown
    try {
      excerpts = extractSnippets(readFileSync(join(repositoryRoot, readme), 'utf8'), readme)
    } catch (error) {
      problem = error
    }

    describe(readme, () => {
      it('has its TypeScript in plain ```ts blocks', () => {
        if (problem !== undefined) throw problem
      })

      for (const excerpt of excerpts) {
        const lines = excerptLines(excerpt.code)
        const first = lines.find((line) => line !== elision) ?? ''
        it(`line ${excerpt.line}: \`${first}\` is in src/`, () => {
          expect(first, `${readme}:${excerpt.line}: an excerpt with no line of code`).not.toBe('')
          if (!sources.some((source) => findExcerpt(excerpt.code, source.text) !== undefined)) {
            expect.fail(notFound(readme, name, excerpt, sources))
          }
        })
      }
    })
  }
})

/** Which file the excerpt was most likely taken from, and where it departs from it. */
function notFound(
  readme: string,
  example: string,
  excerpt: Snippet,
  sources: readonly { readonly path: string; readonly text: string }[],
): string {
  const heading = `${readme}:${excerpt.line}: the excerpt is not in examples/${example}/src/`
  const nearest = sources
    .map((source) => ({ path: source.path, miss: nearestMiss(excerpt.code, source.text) }))
    .filter((candidate) => candidate.miss !== undefined)
    .sort((left, right) => (right.miss?.matchedLines ?? 0) - (left.miss?.matchedLines ?? 0))[0]
  if (nearest?.miss === undefined) {
    // Not even the first line: name the file that holds the most of the excerpt's lines, anywhere.
    const wanted = excerptLines(excerpt.code).filter((line) => line !== elision && line !== '')
    const [likeliest] = sources
      .map((source) => ({ path: source.path, held: heldLines(wanted, source.text) }))
      .sort((left, right) => right.held - left.held)
    if (likeliest === undefined || likeliest.held === 0) {
      return `${heading}: no file holds any of its lines (searched ${sources.map((source) => source.path).join(', ')})`
    }
    return `${heading}: expected in ${likeliest.path}, which holds ${likeliest.held} of its ${wanted.length} lines but not its first, \`${wanted[0]}\``
  }
  const { matchedLines, missing, at } = nearest.miss
  const where =
    at === undefined ? 'after the lines before it' : `at ${nearest.path}:${at.line}, which reads \`${at.text}\``
  return `${heading}: expected in ${nearest.path}, which holds its first ${matchedLines} line(s) but not \`${missing}\` ${where}`
}

/** How many of `wanted` (trimmed lines) appear in `source`, each anywhere. */
function heldLines(wanted: readonly string[], source: string): number {
  const lines = new Set(source.split('\n').map((line) => line.trim()))
  return wanted.filter((line) => lines.has(line)).length
}

/** Every TypeScript file under `folder`, in a stable order. */
function sourceFiles(folder: string): string[] {
  if (!existsSync(folder)) return []
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .sort()
    .map((file) => join(folder, file))
}
