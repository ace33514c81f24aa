import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { functionOptionKeys } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'

// Lists of options the READMEs give in prose, held to the lists the code checks keys against, so that an option
// added to every Function is not missing from the docs that name them all.
const repositoryRoot = resolve(import.meta.dirname, '../..')

/** The `code` names in the parentheses that follow `lead` in a README. */
function namesAfter(readme: string, lead: string): string[] {
  const text = readFileSync(join(repositoryRoot, readme), 'utf8').replace(/\s+/g, ' ')
  const start = text.indexOf(lead)
  expect(start, `${readme}: no "${lead}"`).toBeGreaterThanOrEqual(0)
  const list = text.slice(start + lead.length, text.indexOf(')', start + lead.length))
  return [...list.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string)
}

describe('option lists of the READMEs', () => {
  it('the flow README names every option every Function takes, which a combinator takes too', () => {
    expect(namesAfter('packages/flow/README.md', 'plus those every Function takes (').sort()).toEqual(
      [...functionOptionKeys].sort(),
    )
  })
})
