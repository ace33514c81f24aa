import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { snippetsMissingPackages } from './readme-snippets.ts'
import { type ConditionalExport, entryPoints, node22, publishedPackages, root, specifier } from './workspace.ts'

// Packs every published package as `pnpm publish` would, looks inside the tarballs, installs them all into an empty
// project outside the workspace (their other dependencies from the registry), and loads every entry point there with
// require() and with import on Node 22, the lowest Node the packages support. Then the core example runs in that
// project on Bun and on Deno. Node 22, Bun and Deno come from the npm registry, as devDependencies of this package.
const packages = publishedPackages()
const project = mkdtempSync(join(tmpdir(), 'tinyllm-tarballs-'))
const tarballs = new Map<string, { file: string; entries: string[] }>()

function run(command: string, args: readonly string[], timeout: number): string {
  return execFileSync(command, args, { cwd: project, encoding: 'utf8', stdio: 'pipe', timeout })
}

beforeAll(() => {
  for (const { name, path, dir } of packages) {
    if (!existsSync(join(dir, 'dist'))) throw new Error(`${path} is not built: run \`pnpm build\` first`)
    const before = new Set(readdirSync(project))
    execFileSync('pnpm', ['pack', '--pack-destination', project], { cwd: dir, stdio: 'pipe', timeout: 60_000 })
    const file = readdirSync(project).find((entry) => entry.endsWith('.tgz') && !before.has(entry))
    if (file === undefined) throw new Error(`pnpm pack produced no tarball for ${name}`)
    tarballs.set(name, { file, entries: run('tar', ['-tzf', file], 30_000).trim().split('\n') })
  }
})

afterAll(() => rmSync(project, { recursive: true, force: true }))

describe.each(packages)('the tarball of $name', ({ name, manifest }) => {
  it('holds the LICENSE, the README, and every file its exports name', () => {
    const { entries } = tarballs.get(name)!
    expect(entries).toEqual(expect.arrayContaining(['package/LICENSE', 'package/README.md', 'package/package.json']))
    for (const [, target] of entryPoints(manifest)) {
      const { require, default: esm } = target as ConditionalExport
      for (const file of [require.types, require.default, esm.types, esm.default]) {
        expect(entries).toContain(`package/${file.slice(2)}`)
      }
    }
  })

  it('leaves out tests, type tests and fixtures', () => {
    const { entries } = tarballs.get(name)!
    const unwanted = entries.filter((entry) => /\.test\.|\.test-d\.|__fixtures__|^package\/test\//.test(entry))
    expect(unwanted).toEqual([])
  })

  it('replaces the workspace: protocol with version ranges', () => {
    const { file } = tarballs.get(name)!
    const packed = run('tar', ['-xzOf', file, 'package/package.json'], 30_000)
    expect(packed).not.toContain('workspace:')
  })
})

describe('an empty project with every tarball installed', () => {
  const specifiers = packages.flatMap(({ name, manifest }) =>
    entryPoints(manifest).map(([subpath]) => specifier(name, subpath)),
  )

  beforeAll(() => {
    const dependencies = Object.fromEntries(
      packages.map(({ name }) => [name, `file:./${tarballs.get(name)!.file}`] as const),
    )
    // Optional peers (the MCP SDK of @tinyllm/agent/mcp) are not installed by npm: a user of that entry adds them.
    const optionalPeers: Record<string, string> = {}
    for (const { manifest: published } of packages) {
      const peers = (published.peerDependencies ?? {}) as Record<string, string>
      const meta = (published.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>
      for (const [peer, range] of Object.entries(peers)) {
        if (meta[peer]?.optional === true && !peer.startsWith('@tinyllm/')) optionalPeers[peer] = range
      }
    }
    const manifest = {
      name: 'tinyllm-consumer',
      private: true,
      dependencies: { ...dependencies, ...optionalPeers, zod: '4.6.7' },
    }
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2))
    // Peer dependencies (the SDKs, @opentelemetry/api, vitest) are installed by npm, as for a user.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], 280_000)
  })

  it('has Node 22 to run them on', () => {
    expect(run(node22, ['--version'], 30_000)).toMatch(/^v22\./)
  })

  it('require()s and imports every entry point on Node 22, and both give the same module', () => {
    const list = JSON.stringify(specifiers)
    writeFileSync(
      join(project, 'require-all.cjs'),
      `const result = {}\nfor (const specifier of ${list}) result[specifier] = Object.keys(require(specifier)).sort()\n` +
        'console.log(JSON.stringify(result))\n',
    )
    writeFileSync(
      join(project, 'import-all.mjs'),
      `const result = {}\nfor (const specifier of ${list}) result[specifier] = Object.keys(await import(specifier)).sort()\n` +
        'console.log(JSON.stringify(result))\n',
    )
    writeFileSync(
      join(project, 'same-module.mjs'),
      `import { createRequire } from 'node:module'\nimport * as core from '@tinyllm/core'\n` +
        `const required = createRequire(import.meta.url)('@tinyllm/core')\n` +
        'console.log(required.Function === core.Function && required.TinyLLMError === core.TinyLLMError)\n',
    )
    const required = JSON.parse(run(node22, ['require-all.cjs'], 60_000)) as Record<string, string[]>
    const imported = JSON.parse(run(node22, ['import-all.mjs'], 60_000)) as Record<string, string[]>
    expect(Object.keys(required).sort()).toEqual([...specifiers].sort())
    for (const entry of specifiers) {
      expect(required[entry]!.length, `${entry} exports nothing`).toBeGreaterThan(0)
      expect(required[entry], entry).toEqual(imported[entry])
    }
    expect(run(node22, ['same-module.mjs'], 60_000).trim()).toBe('true')
  })

  it('type-checks every entry point from CommonJS and from ES modules for nodenext, node16 and bundler, libraries included', () => {
    const importAll = specifiers.map((entry, index) => `import * as entry${index} from '${entry}'\n`).join('')
    const requireAll = specifiers.map((entry, index) => `import entry${index} = require('${entry}')\n`).join('')
    const use = specifiers.map((_, index) => `export const keys${index} = Object.keys(entry${index})\n`).join('')
    writeFileSync(join(project, 'types-esm.mts'), importAll + use)
    writeFileSync(join(project, 'types-cjs.cts'), requireAll + use)
    const tsc = join(root, 'node_modules', '.bin', 'tsc')
    const common = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2023', '--pretty', 'false']
    // Node's types as a TypeScript user installs them: the testing entries' declarations name Buffer and node:http.
    const nodeTypes = ['--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')]
    for (const resolution of [['nodenext'], ['node16'], ['node18'], ['preserve', '--moduleResolution', 'bundler']]) {
      let output = ''
      try {
        run(tsc, [...common, ...nodeTypes, '--module', ...resolution, 'types-esm.mts', 'types-cjs.cts'], 120_000)
      } catch (error) {
        output = String((error as { stdout?: unknown }).stdout)
      }
      const lines = output.split('\n').filter((line) => line !== '' && !line.startsWith(' '))
      // Only errors in a file count as checked: any other output (a refused option, a crash) means nothing was.
      expect(lines.filter((line) => !/^\S+\(\d+,\d+\): error TS\d+:/.test(line))).toEqual([])
      // tinyllm's declarations and the user's files are held to it; a dependency's own declarations are not ours.
      const ours = lines.filter((line) => /^(node_modules\/@tinyllm\/|types-)/.test(line))
      expect(ours, `--module ${resolution.join(' ')}`).toEqual([])
    }
  })

  const coreExample = join(root, 'examples', 'core-only', 'src', 'main.ts')
  const expectCoreExample = (output: string) => {
    expect(output).toContain('risk band: medium')
    expect(output).toMatch(/└─ ✔ RiskBand \(function\) .* attempts=2/)
    expect(output).toContain('rejected: ')
  }

  it('runs the core example (examples/core-only) on Bun', () => {
    copyFileSync(coreExample, join(project, 'core-example.ts'))
    const bun = join(root, 'checks', 'node_modules', '.bin', 'bun')
    expectCoreExample(run(bun, ['core-example.ts'], 60_000))
  })

  it('runs the core example (examples/core-only) on Deno', () => {
    copyFileSync(coreExample, join(project, 'core-example.ts'))
    const deno = join(root, 'checks', 'node_modules', '.bin', 'deno')
    // Deno reads the project's package.json and node_modules; it needs no network here.
    expectCoreExample(run(deno, ['run', '--allow-read', '--allow-env', '--allow-sys', 'core-example.ts'], 120_000))
  })

  it('installs, with the install lines of each README, every package its snippets import or need', () => {
    for (const { name } of packages) {
      const readme = readFileSync(join(project, 'node_modules', name, 'README.md'), 'utf8')
      expect(snippetsMissingPackages(readme, join(project, 'node_modules')), `${name}'s README`).toEqual([])
    }
  })

  it('installs the LICENSE with every package', () => {
    for (const { name } of packages) {
      expect(readFileSync(join(project, 'node_modules', name, 'LICENSE'), 'utf8')).toContain('MIT License')
    }
  })
})
