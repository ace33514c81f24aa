import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ConditionalExport, entryPoints, type Manifest, publishedPackages, readJson, root } from './workspace.ts'

// The rules every package users install keeps. They run over packages/* as it is, so a package added later is held
// to them from its first commit.
const packages = publishedPackages()
const rootManifest = readJson<Manifest>(join(root, 'package.json'))
const repository = rootManifest.repository as { type: string; url: string }
const repositoryWeb = repository.url.replace(/^git\+/, '').replace(/\.git$/, '')
const license = readFileSync(join(root, 'LICENSE'), 'utf8')

// Client libraries whose objects an application builds and hands to a package (a `client`, a connection, a tracer
// provider). They are peer dependencies, so the application's own copy is the one used: one copy installed, and the
// class the types name is the class the user has. Any package with `sdk` in its name counts too.
const clientLibraries = new Set(['openai', '@anthropic-ai/sdk', '@opentelemetry/api', 'bullmq', 'ioredis'])
const isClientLibrary = (name: string) => clientLibraries.has(name) || /(^|[-/@])sdk($|[-/])/.test(name)

const caretRange = /^\^\d+\.\d+\.\d+(-[\w.]+)?$/

function record(value: unknown): Record<string, string> {
  return (value ?? {}) as Record<string, string>
}

it('finds the published packages', () => {
  expect(packages.map((pkg) => pkg.name)).toContain('@tinyllm/core')
})

it('builds every published package before these checks run (each is a dependency of @tinyllm/checks)', () => {
  const own = readJson<Manifest>(join(root, 'checks', 'package.json'))
  const missing = packages.map((pkg) => pkg.name).filter((name) => record(own.devDependencies)[name] !== 'workspace:*')
  expect(missing, 'add these to checks/package.json devDependencies as "workspace:*"').toEqual([])
})

it('states the license and where the repository is, once, at the root', () => {
  expect(rootManifest.license).toBe('MIT')
  expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} tinyllm contributors\n/)
  expect(repository.type).toBe('git')
})

describe.each(packages)('$name', ({ name, path, dir, manifest }) => {
  it('ships the MIT LICENSE of the repository', () => {
    expect(manifest.license).toBe('MIT')
    expect(existsSync(join(dir, 'LICENSE')), `${path}/LICENSE is missing: copy the root LICENSE`).toBe(true)
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(license)
  })

  it('says where it comes from: repository with its directory, homepage, bugs, keywords, description', () => {
    expect(manifest.repository).toEqual({ type: 'git', url: repository.url, directory: path })
    expect(manifest.homepage).toBe(`${repositoryWeb}/tree/main/${path}#readme`)
    expect(manifest.bugs).toEqual(rootManifest.bugs)
    expect(manifest.keywords).toEqual(expect.arrayContaining(['tinyllm']))
    expect((manifest.keywords as string[]).length).toBeGreaterThanOrEqual(3)
    expect(typeof manifest.description === 'string' && manifest.description.length > 20).toBe(true)
  })

  it('is an ES module package with engines, public access and no side effects', () => {
    expect(manifest.type).toBe('module')
    expect(manifest.sideEffects).toBe(false)
    // The lowest Node admitted loads an ES module from require() (22.12: the .cjs entries rest on it) and has
    // process.getBuiltinModule (22.3: a run started inside another finds its parent through it). Below, require()
    // fails inside the package and nested runs silently lose their parent; npm warns at install instead.
    const [, major, minor] = /^(?:>=|\^)(\d+)\.(\d+)\.\d+(?: |$)/.exec(record(manifest.engines).node ?? '') ?? []
    expect(Number(major) > 22 || (Number(major) === 22 && Number(minor) >= 12), 'engines.node from 22.12.0').toBe(true)
    expect(manifest.publishConfig).toEqual({ access: 'public' })
  })

  it('exports every entry to import and to require(): a .cjs entry that loads the same ES module', () => {
    const exports = record(manifest.exports) as unknown as Record<string, unknown>
    expect(exports['./package.json']).toBe('./package.json')
    const entries = entryPoints(manifest)
    expect(entries.length).toBeGreaterThan(0)
    for (const [subpath, target] of entries) {
      const base = (target as ConditionalExport).default?.default?.replace(/\.js$/, '')
      expect(target, `exports["${subpath}"]`).toEqual({
        require: { types: `${base}.d.cts`, default: `${base}.cjs` },
        default: { types: `${base}.d.ts`, default: `${base}.js` },
      })
      // The condition objects' key order is the resolution order: types first, require before default.
      expect(Object.keys(target as object)).toEqual(['require', 'default'])
      expect(Object.keys((target as ConditionalExport).require)).toEqual(['types', 'default'])
      expect(Object.keys((target as ConditionalExport).default)).toEqual(['types', 'default'])
      if (subpath !== '.') {
        // TypeScript's old node10 resolution reads no exports map.
        const typesVersions = record(record(manifest.typesVersions)['*'])
        expect(typesVersions[subpath.slice(2)], `typesVersions for ${subpath}`).toEqual([`${base}.d.ts`])
      }
    }
  })

  it('builds its require() entries and checks the packed package with publint --strict and attw (default profile)', () => {
    const scripts = record(manifest.scripts)
    expect(scripts.build).toBe('rm -rf dist && tsc -p tsconfig.build.json && node ../../scripts/require-entries.js')
    expect(scripts['check:package']).toBe('publint --strict && attw --pack .')
    expect(scripts['test:unit'], 'test:unit runs on Node 22 too, so it must be `vitest run …`').toMatch(
      /^vitest run( |$)/,
    )
  })

  it('keeps tests and fixtures out of its files', () => {
    expect(manifest.files).toEqual(
      expect.arrayContaining(['dist', '!**/*.test.*', '!**/*.test-d.*', '!**/__fixtures__']),
    )
  })

  it('depends on caret ranges, and takes client libraries (SDKs) as peer dependencies', () => {
    for (const [dependency, range] of Object.entries(record(manifest.dependencies))) {
      if (dependency.startsWith('@tinyllm/')) {
        expect(range, dependency).toBe('workspace:^')
        continue
      }
      expect(isClientLibrary(dependency), `${dependency} is a client library: make it a peer dependency`).toBe(false)
      expect(range, `${dependency}: a caret range lets npm share one copy with the app`).toMatch(caretRange)
    }
    for (const [dependency, range] of Object.entries(record(manifest.peerDependencies))) {
      if (dependency.startsWith('@tinyllm/')) expect(range, dependency).toBe('workspace:^')
      else expect(range, dependency).toMatch(/^(\^\d+\.\d+\.\d+|>=\d+(\.\d+)*)$/)
    }
  })

  it('is released for the first time at 0.1.0: unreleased packages are at 0.0.0', () => {
    if (!existsSync(join(dir, 'CHANGELOG.md'))) expect(manifest.version, `${name} was never released`).toBe('0.0.0')
  })
})
