import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { type Manifest, readJson, root } from './workspace.ts'

// `npm install` in the repository stops at once with the command to run instead, not later inside turbo.
const script = join(root, 'scripts', 'use-pnpm.cjs')
const preinstall = (agent: string) =>
  spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, npm_config_user_agent: agent } })

it('stops npm and yarn with the pnpm command', () => {
  for (const agent of ['npm/10.8.2 node/v22.12.0 linux x64 workspaces/false', 'yarn/1.22.22 npm/? node/v22.12.0']) {
    const run = preinstall(agent)
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('npm i -g pnpm@10 && pnpm install')
  }
})

it('lets pnpm through', () => {
  expect(preinstall('pnpm/10.34.9 npm/? node/v26.10.0 linux x64').status).toBe(0)
})

it('is the root preinstall, and npm 10.9+ refuses the root before installing anything (devEngines)', () => {
  const manifest = readJson<Manifest>(join(root, 'package.json'))
  expect((manifest.scripts as Record<string, string>).preinstall).toBe('node scripts/use-pnpm.cjs')
  expect(manifest.devEngines).toEqual({ packageManager: { name: 'pnpm', version: '^10.0.0', onFail: 'error' } })
})
