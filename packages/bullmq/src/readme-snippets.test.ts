import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

// Every ```ts snippet of the README that imports something is a program a user could paste: each starts its own
// redis-server and model server, and runs from a folder outside the repository, importing the built packages by name.
const run = promisify(execFile)
const packageDir = resolve(import.meta.dirname, '..')
const repositoryRoot = resolve(packageDir, '../..')
const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((match) => match[1] as string)
  .filter((code) => code.includes('import '))

const folder = mkdtempSync(join(tmpdir(), 'tinyllm-bullmq-readme-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

const dependencies: Record<string, string> = {
  '@tinyllm/bullmq': packageDir,
  '@tinyllm/core': join(packageDir, 'node_modules/@tinyllm/core'),
  '@tinyllm/flow': join(packageDir, 'node_modules/@tinyllm/flow'),
  '@tinyllm/openai': join(packageDir, 'node_modules/@tinyllm/openai'),
  '@types/node': join(repositoryRoot, 'node_modules/@types/node'),
}
mkdirSync(join(folder, 'node_modules/@tinyllm'), { recursive: true })
mkdirSync(join(folder, 'node_modules/@types'), { recursive: true })
for (const [name, target] of Object.entries(dependencies))
  symlinkSync(target, join(folder, 'node_modules', name), 'dir')
writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module', private: true }))
const files = snippets.map((code, index) => {
  const file = `snippet-${index + 1}.ts`
  writeFileSync(join(folder, file), code)
  return file
})
writeFileSync(
  join(folder, 'tsconfig.json'),
  JSON.stringify({
    extends: join(repositoryRoot, 'tsconfig.base.json'),
    compilerOptions: { noEmit: true, types: ['node'], allowImportingTsExtensions: true },
    files,
  }),
)

describe('README snippets', () => {
  it('show serve, the executor, the rate limiter and the journal', () => {
    expect(snippets.length).toBe(3)
    for (const name of ['serve(', 'new BullMQExecutor(', 'new RedisRateLimiter(', 'new RedisJournal(']) {
      expect(
        snippets.some((code) => code.includes(name)),
        name,
      ).toBe(true)
    }
  })

  it('type-check under the repository’s strict settings', async () => {
    const tsc = join(repositoryRoot, 'node_modules/.bin/tsc')
    const result = await run(tsc, ['-p', join(folder, 'tsconfig.json')], { cwd: folder }).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? 'failed',
      }),
    )
    expect(`${result.stdout}${result.stderr}`).toBe('')
  }, 60_000)

  it.each(files.map((file, index) => [index + 1, file]))(
    'snippet %i runs to completion offline',
    async (_, file) => {
      const { stdout, stderr } = await run(process.execPath, [join(folder, file as string)], {
        cwd: folder,
        timeout: 30_000,
      })
      expect(stderr).toBe('')
      expect(stdout).not.toBe('')
    },
    40_000,
  )
})
