import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// Packs @tinyllm/logger and @tinyllm/core as they would be published, installs the tarballs into an empty folder
// outside the workspace (zod from the registry), and runs a validated Function there.
const packagesDir = resolve(import.meta.dirname, '../..')
const folder = mkdtempSync(join(tmpdir(), 'tinyllm-core-only-'))

afterAll(() => rmSync(folder, { recursive: true, force: true }))

function pack(name: string): string {
  execFileSync('pnpm', ['pack', '--pack-destination', folder], {
    cwd: join(packagesDir, name),
    stdio: 'pipe',
    timeout: 60_000,
  })
  const tarball = readdirSync(folder).find((file) => file.startsWith(`tinyllm-${name}-`) && file.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`pnpm pack produced no tarball for ${name}`)
  return `file:./${tarball}`
}

describe('install @tinyllm/core alone', () => {
  it('runs a validated Function from the packed tarballs', { timeout: 180_000 }, () => {
    const manifest = {
      name: 'core-only-consumer',
      private: true,
      type: 'module',
      dependencies: { '@tinyllm/logger': pack('logger'), '@tinyllm/core': pack('core'), zod: '4.6.7' },
    }
    writeFileSync(join(folder, 'package.json'), JSON.stringify(manifest, null, 2))
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: folder,
      stdio: 'pipe',
      timeout: 150_000,
    })
    writeFileSync(
      join(folder, 'main.js'),
      `import { defineFunction, ValidationError, formatRunTree } from '@tinyllm/core'
import { z } from 'zod'
const score = defineFunction({
  name: 'score',
  input: z.object({ income: z.number().positive(), debt: z.number().nonnegative() }),
  output: z.object({ ratio: z.number() }),
  run: ({ income, debt }) => ({ ratio: debt / income }),
})
console.log(JSON.stringify(await score.invoke({ income: 100, debt: 25 })))
const failed = await score.invoke({ income: -1, debt: 0 }).catch((error) => error)
console.log(ValidationError.isInstance(failed), failed.issues[0].path.join('.'))
console.log(formatRunTree(await score.trace({ income: 10, debt: 1 })).split(' ')[0])
`,
    )
    const output = execFileSync(process.execPath, ['main.js'], { cwd: folder, encoding: 'utf8', timeout: 30_000 })
      .trim()
      .split('\n')
    expect(output).toEqual(['{"ratio":0.25}', 'true income', '✔'])
    const installed = readdirSync(join(folder, 'node_modules', '@tinyllm'))
    expect(installed.sort()).toEqual(['core', 'logger'])
  })
})
