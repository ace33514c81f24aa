import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inject } from 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where each test file leaves its figures for the report printed after the run (see `figures-report.ts`). */
    figuresDirectory: string
  }
}

/** One figure of the suite: a label and what was measured. */
export type Figures = ReadonlyArray<readonly [label: string, value: string | number]>

/** Leaves a section of figures for the report printed at the end of the run; `order` places it in the report. */
export function recordFigures(section: string, order: number, figures: Figures): void {
  const directory = inject('figuresDirectory')
  if (typeof directory !== 'string' || directory === '') return
  const file = join(directory, `${String(order).padStart(2, '0')}-${section.replace(/[^a-z0-9]+/gi, '-')}.json`)
  writeFileSync(file, JSON.stringify({ section, figures }))
}

/** How many times each value occurs, sorted by value. */
export function countsOf(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)))
}
