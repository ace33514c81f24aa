import { describe, expect, it } from 'vitest'
import { excerptLines, findExcerpt, nearestMiss } from './excerpts.js'

const source = [
  "import { Chain } from '@tinyllm/flow'", // 1
  '', // 2
  'export function pipeline() {', // 3
  '  const chain = new Chain({', // 4
  "    name: 'Pipeline',", // 5
  '    children: [first, second],', // 6
  '    concurrency: 4,', // 7
  '  })', // 8
  '  return chain', // 9
  '}', // 10
].join('\n')

describe('findExcerpt', () => {
  it('finds consecutive lines whatever their indentation, and gives the line of the first', () => {
    expect(findExcerpt("const chain = new Chain({\n  name: 'Pipeline',\n", source)).toEqual({ line: 4 })
    expect(findExcerpt('\n\nreturn chain\n}\n\n', source)).toEqual({ line: 9 })
  })

  it('lets a `// …` line stand for any number of source lines, none included', () => {
    expect(findExcerpt('const chain = new Chain({\n  // …\n  concurrency: 4,\n})', source)).toEqual({ line: 4 })
    expect(findExcerpt("const chain = new Chain({\n  // …\n  name: 'Pipeline',", source)).toEqual({ line: 4 })
    expect(findExcerpt('export function pipeline() {\n  // …\n}', source)).toEqual({ line: 3 })
  })

  it('finds nothing when a line differs, is missing, or is out of order', () => {
    expect(findExcerpt("const chain = new Chain({\n  name: 'Other',", source)).toBeUndefined()
    expect(findExcerpt('const chain = new Chain({\n  concurrency: 4,', source)).toBeUndefined()
    expect(findExcerpt('concurrency: 4,\n// …\nchildren: [first, second],', source)).toBeUndefined()
    expect(findExcerpt('return chain // the pipeline', source)).toBeUndefined()
    expect(findExcerpt('// …\n\n', source)).toBeUndefined()
  })
})

describe('nearestMiss', () => {
  it('says how far the source follows the excerpt, and what it reads where they part', () => {
    expect(nearestMiss("const chain = new Chain({\n  name: 'Other',", source)).toEqual({
      matchedLines: 1,
      missing: "name: 'Other',",
      at: { line: 5, text: "name: 'Pipeline'," },
    })
  })

  it('compares the lines after an elision where the source comes closest to them', () => {
    expect(
      nearestMiss('export function pipeline() {\n// …\nchildren: [first, second],\nconcurrency: 8,', source),
    ).toEqual({
      matchedLines: 3,
      missing: 'concurrency: 8,',
      at: { line: 7, text: 'concurrency: 4,' },
    })
  })

  it('names no source line where an elision leaves the place open', () => {
    expect(nearestMiss('const chain = new Chain({\n// …\nmaxDepth: 2,', source)).toEqual({
      matchedLines: 2,
      missing: 'maxDepth: 2,',
    })
  })

  it('is undefined when the source does not hold the first line', () => {
    expect(nearestMiss('const other = 1', source)).toBeUndefined()
  })
})

describe('excerptLines', () => {
  it('trims each line and drops the blank lines around the excerpt, not those inside it', () => {
    expect(excerptLines('\n  a\n\n  b  \n\n')).toEqual(['a', '', 'b'])
  })
})
