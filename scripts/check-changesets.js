// Fails when a published package (packages/*, not private) changed without a changeset that releases it.
//
//   node scripts/check-changesets.js [--base <git ref>]
//
// With a base (--base, else $CHANGESET_BASE, else where HEAD left origin/main or main), a package whose shipped files
// changed since the base needs a changeset added or edited since the base that names it: a branch brings its own.
// Without one — a fresh clone of main, where main is HEAD — a package whose shipped files changed since its version
// last changed (its last release), or that was never released (version 0.0.0, no CHANGELOG.md), needs a pending
// changeset that names it.
// Tests, fixtures and test configuration are not shipped, so changing them alone needs no changeset.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const notShipped = [
  /\.test\.[cm]?[jt]sx?$/,
  /\.test-d\.[cm]?ts$/,
  /(^|\/)__fixtures__\//,
  /(^|\/)test\//,
  /(^|\/)vitest\.config\.[cm]?[jt]s$/,
  /(^|\/)tsconfig\.json$/,
  /(^|\/)turbo\.json$/,
  /(^|\/)CHANGELOG\.md$/,
]

function git(...args) {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

function tryGit(...args) {
  try {
    return git(...args)
  } catch {
    return undefined
  }
}

function lines(text) {
  return text === undefined || text === '' ? [] : text.split('\n')
}

/** The published packages: `{ name, dir }` for every packages/<dir>/package.json that is not private. */
function publishedPackages() {
  return readdirSync('packages')
    .filter((dir) => existsSync(join('packages', dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join('packages', dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({
      name: manifest.name,
      dir: `packages/${dir}`,
      // changesets writes CHANGELOG.md at a package's first release; until then it stays at 0.0.0
      released: manifest.version !== '0.0.0' && existsSync(join('packages', dir, 'CHANGELOG.md')),
    }))
}

/** The package names a changeset's front matter releases. */
function releasedBy(text) {
  const frontMatter = /^---\n([\s\S]*?)\n---/.exec(text.replace(/\r\n/g, '\n'))?.[1] ?? ''
  return lines(frontMatter)
    .map((line) => /^\s*['"]?([^'":]+)['"]?\s*:\s*(major|minor|patch)\s*$/.exec(line)?.[1])
    .filter((name) => name !== undefined)
}

function isChangeset(path) {
  return /^\.changeset\/[^/]+\.md$/.test(path) && !path.endsWith('/README.md')
}

function shippedChanges(files, dir) {
  return files.filter((file) => file.startsWith(`${dir}/`) && !notShipped.some((pattern) => pattern.test(file)))
}

function findBase() {
  const index = process.argv.indexOf('--base')
  if (index !== -1) return process.argv[index + 1]
  if (process.env.CHANGESET_BASE) return process.env.CHANGESET_BASE
  const head = tryGit('rev-parse', 'HEAD')
  for (const branch of ['origin/main', 'main']) {
    const base = tryGit('merge-base', 'HEAD', branch)
    if (base !== undefined && base !== head) return base
  }
  return undefined
}

const packages = publishedPackages()
const base = findBase()
const missing = []

if (base !== undefined) {
  if (tryGit('rev-parse', '--verify', `${base}^{commit}`) === undefined) {
    console.error(`check-changesets: the base ${base} is not a commit of this clone (fetch it, or unset it)`)
    process.exit(2)
  }
  const changed = lines(git('diff', '--name-only', `${base}...HEAD`))
  const covered = new Set(
    lines(git('diff', '--name-only', '--diff-filter=AM', `${base}...HEAD`, '--', '.changeset'))
      .filter(isChangeset)
      .flatMap((file) => releasedBy(readFileSync(file, 'utf8'))),
  )
  for (const { name, dir } of packages) {
    const files = shippedChanges(changed, dir)
    if (files.length > 0 && !covered.has(name)) missing.push({ name, files, why: `changed since ${base.slice(0, 12)}` })
  }
  console.log(`check-changesets: compared with ${base.slice(0, 12)}`)
} else {
  const pending = new Set(
    readdirSync('.changeset')
      .map((file) => `.changeset/${file}`)
      .filter(isChangeset)
      .flatMap((file) => releasedBy(readFileSync(file, 'utf8'))),
  )
  for (const { name, dir, released } of packages) {
    if (pending.has(name)) continue
    const release = released ? tryGit('log', '-1', '--format=%H', '-G"version":', '--', `${dir}/package.json`) : ''
    const files =
      release === undefined || release === ''
        ? shippedChanges(lines(git('ls-files', '--', dir)), dir)
        : shippedChanges(lines(git('diff', '--name-only', release, 'HEAD', '--', dir)), dir)
    if (files.length > 0) {
      missing.push({ name, files, why: released ? 'changed since its last release' : 'was never released' })
    }
  }
  console.log('check-changesets: no base commit to compare with; checked the changes since each release')
}

if (missing.length > 0) {
  for (const { name, files, why } of missing) {
    console.error(`${name} ${why} and no changeset names it: ${files.slice(0, 5).join(', ')}`)
  }
  console.error('Add one with `pnpm changeset`, written for users: what they can now do or must change.')
  process.exit(1)
}
console.log(`check-changesets: every changed package has a changeset (${packages.length} packages)`)
