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

describe('printed blocks', () => {
  const code = [
    'console.log(formatRunTree(record))', // 2
    '// ✔ Pipeline (chain) …', // 3
    '// └─ ✔ Report (function) …', // 4
    '', // 5
    '// a note, not output', // 6
    'for (const span of spans) {', // 7
    '  console.log(', // 8
    '    span.name,', // 9
    '  )', // 10
    '}', // 11
    '// Prompt', // 12
    'console.log(done) // true', // 13
    '// a note on the line above, which promised its own text', // 14
    'const total = sum(values)', // 15
    '// a note under a line that prints nothing', // 16
  ].join('\n')
  const [snippet] = extractSnippets(`\`\`\`ts\n${code}\n\`\`\`\n`, 'README.md')

  it('are the `// ` lines right below a console.log, on one line or several, or a loop around one', () => {
    expect(promisedOutput(snippet!)).toEqual([
      { line: 3, text: '✔ Pipeline (chain) …' },
      { line: 4, text: '└─ ✔ Report (function) …' },
      { line: 12, text: 'Prompt' },
      { line: 13, text: 'true' },
    ])
  })

  it('are kept only when the output holds every line of them, in order', () => {
    const promises = promisedOutput(snippet!)
    const printed = '✔ Pipeline (chain) 3.1 ms\n└─ ✔ Report (function) 0.1 ms\nPrompt\ntrue\n'
    expect(firstBrokenPromise(printed, promises)).toBeUndefined()
    expect(firstBrokenPromise(printed.replace('Report', 'Summary'), promises)).toEqual({
      line: 4,
      text: '└─ ✔ Report (function) …',
    })
  })
})
