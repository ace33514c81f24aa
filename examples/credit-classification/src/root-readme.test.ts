import { execFile } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterAll, describe, expect, it } from 'vitest'

// The repository README's first code block is the credit pipeline a newcomer reads first: it must type-check and run.
const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
const snippetFile = fileURLToPath(new URL('./readme-first-snippet.generated.ts', import.meta.url))
const run = promisify(execFile)

afterAll(() => rmSync(snippetFile, { force: true }))

describe("the README's credit pipeline", () => {
  it('is the first code block, type-checks, runs against an OpenAI-compatible server and routes by its answer', async () => {
    expect(snippet).toContain('new Decision(')
    writeFileSync(snippetFile, `// Generated from README.md by root-readme.test.ts; not committed.\n${snippet}`)
    // Type-check it with the example's strict settings (the generated file sits in src/, which tsconfig includes).
    await run('tsc', ['-p', fileURLToPath(new URL('../tsconfig.json', import.meta.url)), '--noEmit'], {
      encoding: 'utf8',
    })

    const server = await startOpenAICompatibleServer({ replies: ['Bad'] })
    try {
      const env = { ...process.env, OPENAI_API_KEY: 'sk-test-readme', OPENAI_BASE_URL: server.baseURL }
      const { stdout } = await run(process.execPath, [snippetFile], { env, encoding: 'utf8' })
      expect(stdout).toMatch(/^✔ Credit analysis \(chain\)/m)
      expect(stdout).toMatch(/CreditClassification \(decision\) .*choice=bad/)
      expect(stdout).toMatch(/└─ ✔ Bad credit analysis \(parallel\)/)
      expect(stdout).toMatch(/EmailNotification \(function\)/)
      expect(stdout).toContain('flowchart TD')
      expect(server.chatRequests[0]).toMatchObject({ model: 'gpt-4o-mini', temperature: 0, n: 1 })
    } finally {
      await server.close()
    }
  })
})
