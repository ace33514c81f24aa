import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { type Manifest, publishedPackages, readJson, root } from './workspace.ts'

// Runs the next `changeset version` in a copy of the repository (package manifests, changelogs and the pending
// changesets) and reads what it would release.
const scratch = mkdtempSync(join(tmpdir(), 'tinyllm-release-plan-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

// What `changeset version` reads: the workspace's package manifests and changelogs, and the changesets.
function copyForVersioning(folder: string, depth: number): void {
  for (const file of ['package.json', 'CHANGELOG.md', 'pnpm-workspace.yaml']) {
    if (existsSync(join(root, folder, file))) cpSync(join(root, folder, file), join(scratch, folder, file))
  }
  if (depth === 0) return
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
      copyForVersioning(join(folder, entry.name), depth - 1)
    }
  }
}
copyForVersioning('', 2)
cpSync(join(root, '.changeset'), join(scratch, '.changeset'), { recursive: true })
const majors = readdirSync(join(root, '.changeset'))
  .filter((file) => file.endsWith('.md'))
  .flatMap((file) => [
    ...readFileSync(join(root, '.changeset', file), 'utf8').matchAll(/^['"]?([^'":\n]+)['"]?: major$/gm),
  ])
  .map((match) => match[1])
const git = (...args: string[]) => execFileSync('git', args, { cwd: scratch, stdio: 'pipe' })
git('init', '-q', '-b', 'main')
git('add', '-A')
git('-c', 'user.name=checks', '-c', 'user.email=checks@localhost', 'commit', '-qm', 'scratch')
const changesetBin = join(root, 'node_modules', '@changesets', 'cli', 'bin.js')
execFileSync(process.execPath, [changesetBin, 'version'], { cwd: scratch, stdio: 'pipe', timeout: 120_000 })

const packages = publishedPackages().map((pkg) => ({
  ...pkg,
  released: existsSync(join(pkg.dir, 'CHANGELOG.md')),
  next: readJson<Manifest>(join(scratch, pkg.path, 'package.json')).version,
}))

it('uses up every pending changeset', () => {
  expect(
    readdirSync(join(scratch, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md'),
  ).toEqual([])
})

it.each(packages.filter((pkg) => !pkg.released))('releases $name for the first time at 0.1.0', ({ next }) => {
  expect(next).toBe('0.1.0')
})

it.each(packages.filter((pkg) => pkg.released))(
  'releases $name within its major version',
  ({ name, manifest, next }) => {
    // A major release is a decision (a changeset that says major), never a side effect of a dependency's bump.
    if (!majors.includes(name)) expect(next.split('.')[0]).toBe(manifest.version.split('.')[0])
  },
)
