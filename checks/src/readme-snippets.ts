import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

// A README's snippets are read as a user reads them: top down, having run every `npm i` met on the way (the install
// block at the top, and any `npm i …` or "install `…`" in the text before a snippet). What npm then installs is the
// packages named, their dependencies and their peers, but not their optional peers (`@tinyllm/testing` of a provider's
// `./testing` export, the MCP SDK of `@tinyllm/agent/mcp`): a snippet that needs one of those must say to install it.

interface InstalledManifest {
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>
  readonly exports?: Record<string, { default?: { default?: string } } | string>
}

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

function namedInInstalls(text: string): string[] {
  const names: string[] = []
  for (const [, words] of text.matchAll(/npm (?:i|install)((?: +[^\s`#]+)+)/g)) {
    names.push(
      ...words!
        .trim()
        .split(/ +/)
        .filter((word) => !word.startsWith('-')),
    )
  }
  for (const [, name] of text.matchAll(/install `([^`\s]+)`/g)) names.push(name!)
  return names
}

/** The problems of each snippet of a README in a project where the README's packages are installed (`nodeModules`). */
export function snippetsMissingPackages(readme: string, nodeModules: string): string[] {
  const manifest = (name: string): InstalledManifest | undefined => {
    try {
      return JSON.parse(readFileSync(join(nodeModules, name, 'package.json'), 'utf8')) as InstalledManifest
    } catch {
      return undefined
    }
  }
  const installedBy = (names: readonly string[]): Set<string> => {
    const installed = new Set<string>()
    const pending = [...names]
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (installed.has(name)) continue
      installed.add(name)
      const { dependencies = {}, peerDependencies = {}, peerDependenciesMeta = {} } = manifest(name) ?? {}
      pending.push(...Object.keys(dependencies))
      pending.push(...Object.keys(peerDependencies).filter((peer) => peerDependenciesMeta[peer]?.optional !== true))
    }
    return installed
  }
  // The packages an entry point loads, following the relative imports of its built files.
  const loadedBy = (specifier: string): Set<string> => {
    const name = packageName(specifier)
    const target = manifest(name)?.exports?.[`.${specifier.slice(name.length)}`]
    const loaded = new Set<string>()
    if (typeof target !== 'object' || target.default?.default === undefined) return loaded
    const pending = [resolve(nodeModules, name, target.default.default)]
    const read = new Set<string>()
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (read.has(file)) continue
      read.add(file)
      const source = readFileSync(file, 'utf8')
      for (const [, from, bare] of source.matchAll(
        /^(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm,
      )) {
        const imported = (from ?? bare)!
        if (imported.startsWith('.')) pending.push(resolve(dirname(file), imported))
        else if (!imported.startsWith('node:')) loaded.add(packageName(imported))
      }
    }
    return loaded
  }

  const problems: string[] = []
  for (const snippet of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const installed = installedBy(namedInInstalls(readme.slice(0, snippet.index)))
    const at = `the snippet at line ${readme.slice(0, snippet.index).split('\n').length + 1}`
    for (const [, specifier] of snippet[1]!.matchAll(/^import\b[^'"]*?\bfrom '([^']+)'/gm)) {
      if (specifier!.startsWith('node:') || specifier!.startsWith('.')) continue
      const name = packageName(specifier!)
      if (!installed.has(name)) {
        problems.push(`${at} imports ${name}, which no install line before it names`)
        continue
      }
      for (const needed of loadedBy(specifier!)) {
        if (!installed.has(needed)) {
          problems.push(`${at} imports ${specifier}, which needs ${needed}, left out of the install lines`)
        }
      }
    }
  }
  return [...new Set(problems)]
}
