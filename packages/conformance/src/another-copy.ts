import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * Imports a second, separate copy of a package installed where `from` (a module's URL) resolves it — its files copied
 * to a temporary folder, its own dependencies linked — as a bundle or a second install of it in an application would
 * be: its classes are not the installed package's, so `instanceof` against them fails. `remove` deletes the copy.
 */
export async function importAnotherCopy(name: string, from: string): Promise<{ module: unknown; remove: () => void }> {
  const installed = packageRoot(createRequire(from).resolve(name))
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
  }
  const folder = mkdtempSync(join(tmpdir(), 'tinyllm-another-copy-'))
  const copy = join(folder, 'node_modules', name)
  cpSync(installed, copy, { recursive: true, dereference: true })
  const fromInstalled = createRequire(join(installed, 'package.json'))
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    const link = join(folder, 'node_modules', dependency)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(packageRoot(fromInstalled.resolve(dependency)), link, 'dir')
  }
  const module: unknown = await import(pathToFileURL(join(copy, entryOf(installed))).href)
  return { module, remove: () => rmSync(folder, { recursive: true, force: true }) }
}

/** The installed package itself, as `import` loads it where `from` resolves it (its ES module entry). */
export async function importInstalled(name: string, from: string): Promise<unknown> {
  const installed = packageRoot(createRequire(from).resolve(name))
  return import(pathToFileURL(join(installed, entryOf(installed))).href)
}

/** The package's ES module entry: `exports['.']`'s `import` or `default`, else `module`, else `index.mjs`. */
function entryOf(root: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>
    module?: unknown
  }
  const main = manifest.exports?.['.'] as { import?: unknown; default?: unknown } | string | undefined
  const entry = typeof main === 'string' ? main : (main?.import ?? main?.default ?? manifest.module)
  return typeof entry === 'string' ? entry : 'index.mjs'
}

/** The folder of the package a resolved file belongs to (the nearest one with a package.json naming a package). */
function packageRoot(file: string): string {
  let folder = dirname(realpathSync(file))
  while (!isPackageRoot(folder)) {
    const parent = dirname(folder)
    if (parent === folder) throw new Error(`no package.json above ${file}`)
    folder = parent
  }
  return folder
}

function isPackageRoot(folder: string): boolean {
  const manifest = join(folder, 'package.json')
  if (!existsSync(manifest)) return false
  return typeof (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'string'
}
