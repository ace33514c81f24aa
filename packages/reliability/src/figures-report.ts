import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { Figures } from './figures.js'

/**
 * Global setup of the suite: gives the test files a directory for their figures, and once every file has run prints
 * them as one table — the figures quoted in the reliability issue and in `docs/guarantees.md`.
 */
export default function setup(project: TestProject): () => void {
  const directory = mkdtempSync(join(tmpdir(), 'tinyllm-reliability-'))
  project.provide('figuresDirectory', directory)
  return () => {
    const sections = readdirSync(directory)
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => JSON.parse(readFileSync(join(directory, file), 'utf8')) as { section: string; figures: Figures })
    rmSync(directory, { recursive: true, force: true })
    if (sections.length === 0) return
    const width = Math.max(...sections.flatMap(({ figures }) => figures.map(([label]) => label.length)))
    const lines = ['', 'tinyllm reliability suite — figures', '']
    for (const { section, figures } of sections) {
      lines.push(section)
      for (const [label, value] of figures) lines.push(`  ${label.padEnd(width)}  ${value}`)
      lines.push('')
    }
    process.stdout.write(`${lines.join('\n')}\n`)
  }
}
