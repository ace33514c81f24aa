import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

// Every ```ts snippet of the README is a program a user could paste, and runs offline against the loopback server.
// Each is type-checked under the repository's strict settings and run by Node (which strips the types) as a module of
// this package, importing it by its own name, so through its build and exports map. `console.log(…) // text` promises
// that `text` is printed. The snippets are written to `.turbo/`, a folder inside the package that git and Biome ignore.
const run = promisify(execFile)
const packageDir = resolve(import.meta.dirname, '..')
const repositoryRoot = resolve(packageDir, '../..')
const scratch = join(packageDir, '.turbo', 'readme-snippets')
const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')

rmSync(scratch, { recursive: true, force: true })
mkdirSync(scratch, { recursive: true })
const files = snippets.map((code, index) => {
  const file = join(scratch, `snippet-${index + 1}.ts`)
  writeFileSync(file, code)
  return file
})
writeFileSync(
  join(scratch, 'tsconfig.json'),
  JSON.stringify({
    extends: join(repositoryRoot, 'tsconfig.base.json'),
    compilerOptions: { noEmit: true, types: ['node'] },
    files,
  }),
)

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe('README snippets', () => {
  it('are there: AnthropicChat, AnthropicChatModel and the loopback server', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(6)
    for (const name of ['new AnthropicChat(', 'new AnthropicChatModel(', 'startAnthropicCompatibleServer(']) {
      expect(
        snippets.some((code) => code.includes(name)),
        name,
      ).toBe(true)
    }
  })

  it('type-check under the repository’s strict settings', { timeout: 60_000 }, async () => {
    const tsc = join(repositoryRoot, 'node_modules/.bin/tsc')
    const result = await run(tsc, ['-p', join(scratch, 'tsconfig.json')], { cwd: scratch }).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? 'failed',
      }),
    )
    expect(`${result.stdout}${result.stderr}`).toBe('')
  })

  for (const [index, file] of files.entries()) {
    const code = snippets[index] ?? ''
    it(`#${index + 1} runs offline and prints what it says`, { timeout: 30_000 }, async () => {
      const { stdout } = await run(process.execPath, [file], {
        cwd: packageDir,
        timeout: 25_000,
        env: { ...process.env, ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '' },
      })
      for (const [, expected] of code.matchAll(/^\s*console\.log\(.*\) \/\/ (.+)$/gm)) {
        expect(stdout).toContain(expected)
      }
    })
  }
})
