import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { root } from './workspace.ts'

// scripts/check-changesets.js, which CI runs, in small repositories of one package.
const script = join(root, 'scripts', 'check-changesets.js')
const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

function repository() {
  const folder = mkdtempSync(join(tmpdir(), 'tinyllm-changesets-'))
  folders.push(folder)
  const git = (...args: string[]) => {
    const run = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd: folder })
    if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`)
    return run.stdout.toString().trim()
  }
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(folder, path)), { recursive: true })
    writeFileSync(join(folder, path), text)
  }
  const commit = (message: string) => {
    git('add', '-A')
    git('commit', '-qm', message)
  }
  const check = (environment: Record<string, string> = {}) => {
    const run = spawnSync(process.execPath, [script], {
      cwd: folder,
      encoding: 'utf8',
      env: { ...process.env, CHANGESET_BASE: '', ...environment },
    })
    return { code: run.status, output: `${run.stdout}${run.stderr}` }
  }
  git('init', '-q', '-b', 'main')
  write('.changeset/config.json', '{}\n')
  write('packages/a/package.json', JSON.stringify({ name: '@example/a', version: '0.0.0' }))
  write('packages/a/src/index.ts', 'export const a = 1\n')
  write('packages/private/package.json', JSON.stringify({ name: 'private', version: '0.0.0', private: true }))
  return { git, write, commit, check }
}

const changeset = (name: string) => `---\n'${name}': minor\n---\n\nWhat it is.\n`

describe('with no base commit (a fresh clone of main)', () => {
  it('fails for a package never released that no changeset names, and passes once one does', () => {
    const repo = repository()
    repo.commit('a package')
    expect(repo.check()).toMatchObject({ code: 1, output: expect.stringContaining('@example/a was never released') })
    repo.write('.changeset/a.md', changeset('@example/a'))
    repo.commit('its changeset')
    expect(repo.check()).toMatchObject({ code: 0 })
  })

  it('after a release, fails only when a shipped file changed since', () => {
    const repo = repository()
    repo.commit('a package')
    repo.write('packages/a/package.json', JSON.stringify({ name: '@example/a', version: '0.1.0' }))
    repo.write('packages/a/CHANGELOG.md', '# @example/a\n')
    repo.commit('release 0.1.0')
    expect(repo.check()).toMatchObject({ code: 0 })
    repo.write('packages/a/src/index.test.ts', 'test\n')
    repo.commit('a test')
    expect(repo.check()).toMatchObject({ code: 0 })
    repo.write('packages/a/src/index.ts', 'export const a = 2\n')
    repo.commit('a change')
    expect(repo.check()).toMatchObject({
      code: 1,
      output: expect.stringContaining('@example/a changed since its last release'),
    })
  })
})

describe('with a base commit (a branch)', () => {
  it('needs a changeset added on the branch for each package it changed', () => {
    const repo = repository()
    repo.write('.changeset/a.md', changeset('@example/a'))
    repo.commit('a package and its changeset')
    repo.git('checkout', '-qb', 'feature')
    repo.write('packages/a/src/index.ts', 'export const a = 2\n')
    repo.commit('a change')
    // The changeset pending on main does not count for the branch's change.
    expect(repo.check()).toMatchObject({ code: 1, output: expect.stringContaining('@example/a changed since') })
    repo.write('.changeset/feature.md', changeset('@example/a'))
    repo.commit('its changeset')
    expect(repo.check()).toMatchObject({ code: 0 })
  })

  it('takes the base from CHANGESET_BASE', () => {
    const repo = repository()
    repo.write('.changeset/a.md', changeset('@example/a'))
    repo.commit('a package and its changeset')
    const base = repo.git('rev-parse', 'HEAD')
    repo.write('packages/a/src/index.ts', 'export const a = 2\n')
    repo.commit('a change on main')
    expect(repo.check()).toMatchObject({ code: 0 })
    expect(repo.check({ CHANGESET_BASE: base })).toMatchObject({ code: 1 })
  })
})
