import { describe, expect, it } from 'vitest'
import { formatRatio, table } from './markdown.ts'

describe('table', () => {
  it('pads every column to its widest cell and right-aligns numeric columns, as Biome formats Markdown', () => {
    expect(
      table(
        ['Subject', 'µs'],
        [
          ['tinyllm', '0.174'],
          ['LangChain.js', '13.443'],
        ],
        [false, true],
      ),
    ).toEqual([
      '| Subject      |     µs |',
      '| ------------ | -----: |',
      '| tinyllm      |  0.174 |',
      '| LangChain.js | 13.443 |',
    ])
  })
})

describe('formatRatio', () => {
  it('shows fewer decimals as the ratio grows, and a dash when there is none', () => {
    expect([1, 12.34, 2456.2, undefined].map(formatRatio)).toEqual(['1.00×', '12.3×', '2,456×', '—'])
  })
})
