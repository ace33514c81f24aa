import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// Packs @tinyllm/anthropic and the packages it needs as they would be published, installs the tarballs into
// an empty folder outside the workspace (the Anthropic SDK and zod from the registry), and runs AnthropicChat there
// against the loopback Anthropic server the package ships: no other provider and no flow.
const packagesDir = resolve(import.meta.dirname, '../..')
const folder = mkdtempSync(join(tmpdir(), 'tinyllm-core-anthropic-'))

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

describe('install @tinyllm/anthropic and what it needs only', () => {
  it('runs AnthropicChat against the loopback server from the packed tarballs', { timeout: 240_000 }, () => {
    const manifest = {
      name: 'core-and-anthropic-consumer',
      private: true,
      type: 'module',
      dependencies: {
        '@tinyllm/logger': pack('logger'),
        '@tinyllm/core': pack('core'),
        '@tinyllm/llm': pack('llm'),
        '@tinyllm/testing': pack('testing'),
        '@tinyllm/anthropic': pack('anthropic'),
        zod: '4.6.7',
      },
    }
    writeFileSync(join(folder, 'package.json'), JSON.stringify(manifest, null, 2))
    // Synchronous calls block vitest's own timeout, so each has one: a stuck install fails the test instead of hanging.
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: folder,
      stdio: 'pipe',
      timeout: 180_000,
    })
    writeFileSync(
      join(folder, 'main.js'),
      `import { AnthropicChat } from '@tinyllm/anthropic'
import { startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { ProviderCallError } from '@tinyllm/llm'
import { z } from 'zod'
const server = await startAnthropicCompatibleServer({
  replies: [
    'Hello from the loopback server.',
    '{"verdict":"good"}',
    { error: { status: 401, message: 'invalid x-api-key' } },
  ],
})
try {
  const options = { model: 'claude-haiku-4-5', apiKey: 'test-key', baseURL: server.baseURL }
  const chat = new AnthropicChat(options)
  console.log(await chat.invoke({ messages: [{ role: 'user', content: 'Hi' }] }))
  const verdict = new AnthropicChat({
    ...options,
    structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }) },
  })
  console.log(JSON.stringify(await verdict.invoke({ messages: [{ role: 'user', content: 'Judge' }] })))
  const failed = await chat.invoke({ messages: [{ role: 'user', content: 'Hi' }] }).catch((error) => error)
  console.log(ProviderCallError.isInstance(failed), failed.status, failed.retryable)
} finally {
  await server.close()
}
`,
    )
    const output = execFileSync(process.execPath, ['main.js'], { cwd: folder, encoding: 'utf8', timeout: 30_000 })
      .trim()
      .split('\n')
    expect(output).toEqual(['Hello from the loopback server.', '{"verdict":"good"}', 'true 401 false'])
    const installed = readdirSync(join(folder, 'node_modules', '@tinyllm'))
    expect(installed.sort()).toEqual(['anthropic', 'core', 'llm', 'logger', 'testing'])
  })
})
