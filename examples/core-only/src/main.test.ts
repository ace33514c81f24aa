import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('prints the risk band, the run tree with the retry, and the validation error', () => {
  const output = execFileSync(process.execPath, [fileURLToPath(new URL('./main.ts', import.meta.url))], {
    encoding: 'utf8',
  })
  expect(output).toContain('risk band: medium')
  expect(output).toMatch(/✔ Assess \(function\)/)
  expect(output).toMatch(/└─ ✔ RiskBand \(function\) .* attempts=2/)
  expect(output).toContain('running → retrying → running')
  expect(output).toContain('- income: Too small: expected number to be >0')
})
