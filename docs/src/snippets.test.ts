import { describe, expect, it } from 'vitest'
import { extractSnippets, firstBrokenPromise, promisedOutput } from './snippets.js'

const readme = [
  '# A package', // 1
  '', // 2
  '```ts', // 3
  'console.log(1 + 1) // 2', // 4
  '```', // 5
  '', // 6
  '<!-- runs under vitest -->', // 7
  '', // 8
  '```ts', // 9
  "const key = 'sk'", // 10
  '```', // 11
  '', // 12
  '```sh', // 13
  'pnpm test', // 14
  '```', // 15
].join('\n')

describe('extractSnippets', () => {
  it('finds each ```ts block with its README line, and runs a marked one under vitest', () => {
    expect(extractSnippets(readme, 'README.md')).toEqual([
      { readme: 'README.md', number: 1, line: 4, code: 'console.log(1 + 1) // 2\n', runner: 'node' },
      { readme: 'README.md', number: 2, line: 10, code: "const key = 'sk'\n", runner: 'vitest' },
    ])
  })

  it('refuses a block marked as not to be run: every snippet runs', () => {
    expect(() => extractSnippets('<!-- not run: needs a key -->\n```ts\nx\n```\n', 'README.md')).toThrow(
      /README.md:1: every snippet runs/,
    )
  })

  it('refuses TypeScript that would escape the checks by its spelling', () => {
    for (const block of ['```typescript\nx\n```', '```ts no-run\nx\n```', '  ```ts\n  x\n  ```']) {
      expect(() => extractSnippets(block, 'README.md')).toThrow(/plain ```ts fence/)
    }
    expect(() => extractSnippets('```ts\nx\n', 'README.md')).toThrow(/never closed/)
  })
})

describe('console.log promises', () => {
  const [snippet] = extractSnippets(
    '```ts\nconsole.log(a) // first\nconst b = 1 // not a promise\nconsole.log(b, c) // second … end\n```\n',
    'README.md',
  )

  it('are read from `console.log(…) // text` lines', () => {
    expect(promisedOutput(snippet!)).toEqual([
      { line: 2, text: 'first' },
      { line: 4, text: 'second … end' },
    ])
  })

  it('are kept when the output holds each text in order, `…` standing for anything on one line', () => {
    const promises = promisedOutput(snippet!)
    expect(firstBrokenPromise('first\nsecond 1 2 end\n', promises)).toBeUndefined()
    expect(firstBrokenPromise('second 1 2 end\nfirst\n', promises)).toEqual({ line: 4, text: 'second … end' })
    expect(firstBrokenPromise('first\nsecond\nend\n', promises)).toEqual({ line: 4, text: 'second … end' })
  })
})
