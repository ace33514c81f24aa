import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// docs/guarantees.md names the test that checks each promise — `run.test.ts`, or `llm-call.test.ts` › the test's title
// (`…` for words left out) — and the READMEs name a few too. Each named file must exist, and each named title must be
// the title of a test or a describe block in a file of that name, so that a renamed or deleted test cannot leave a
// promise pointing at nothing.
const repositoryRoot = resolve(import.meta.dirname, '../..')
const documents = [
  'README.md',
  'docs/guarantees.md',
  ...readdirSync(join(repositoryRoot, 'packages')).map((name) => `packages/${name}/README.md`),
  ...readdirSync(join(repositoryRoot, 'examples')).map((name) => `examples/${name}/README.md`),
].filter((path) => {
  try {
    readFileSync(join(repositoryRoot, path))
    return true
  } catch {
    return false
  }
})

/** Every test file of the repository, by its file name. */
const testFiles = new Map<string, string[]>()
for (const folder of ['packages', 'examples', 'docs', 'checks', 'bench']) {
  for (const file of readdirSync(join(repositoryRoot, folder), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.test.ts') || file.includes('node_modules') || file.includes('.turbo')) continue
    const name = basename(file)
    testFiles.set(name, [...(testFiles.get(name) ?? []), join(repositoryRoot, folder, file)])
  }
}

interface Citation {
  readonly document: string
  readonly line: number
  readonly file: string
  readonly title: string | undefined
}

/** The `name.test.ts` citations of a document, each with the titles cited after it (`› title`, `› title…`). */
function citations(document: string): Citation[] {
  const text = readFileSync(join(repositoryRoot, document), 'utf8')
  const found: Citation[] = []
  for (const match of text.matchAll(/`([\w.-]+\.test\.ts)`((?:\s*›\s*[^`›)]+)*)/g)) {
    const line = text.slice(0, match.index).split('\n').length
    const titles = (match[2] ?? '')
      .split('›')
      .map((title) =>
        title
          .replace(/\s+/g, ' ')
          .trim()
          .replace(/[,;:]$/, ''),
      )
      .filter((title) => title !== '')
    if (titles.length === 0) found.push({ document, line, file: match[1] as string, title: undefined })
    for (const title of titles) found.push({ document, line, file: match[1] as string, title })
  }
  return found
}

/** The titles of the tests and describe blocks of a test file, as written. */
function titlesOf(path: string): string[] {
  const source = readFileSync(path, 'utf8')
  const titles: string[] = []
  for (const match of source.matchAll(/\b(?:it|test|describe)(?:\.\w+)*\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
    titles.push((match[2] as string).replace(/\\(.)/g, '$1'))
  }
  // The title of `it.each([…])('title', …)`, after its table: `%s` and the like stand for the table's values.
  for (const match of source.matchAll(/\](?:\s*as const)?\s*\)\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
    titles.push((match[2] as string).replace(/\\(.)/g, '$1'))
  }
  return titles
}

/** Quotes and apostrophes read alike, whitespace is one space, and `…` stands for any words. */
function titlePattern(cited: string): RegExp {
  const plain = (text: string) => text.replace(/[’‘]/g, "'").replace(/\s+/g, ' ')
  const parts = plain(cited)
    .split('…')
    .map((part) => part.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('.*')}`)
}

const plainTitle = (title: string) => title.replace(/[’‘]/g, "'").replace(/\s+/g, ' ')

describe('tests named by the documentation', () => {
  const all = documents.flatMap(citations)

  it('are found: the guarantees name some', () => {
    expect(all.filter((citation) => citation.document === 'docs/guarantees.md').length).toBeGreaterThan(20)
  })

  for (const citation of all) {
    const label = `${citation.document}:${citation.line}: ${citation.file}${citation.title === undefined ? '' : ` › ${citation.title}`}`
    it(label, () => {
      const paths = testFiles.get(citation.file) ?? []
      expect(paths, `${label}: no test file of that name`).not.toEqual([])
      if (citation.title === undefined) return
      const pattern = titlePattern(citation.title)
      const titles = paths.flatMap(titlesOf)
      expect(
        titles.some((title) => pattern.test(plainTitle(title))),
        `${label}: no test or describe block of ${citation.file} has that title`,
      ).toBe(true)
    })
  }
})
