import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * Imports a second, separate copy of an installed package — its files copied to a temporary folder, its own
 * dependencies linked — as a bundle or a second install of it in an application would be: its classes are not the
 * installed package's, so `instanceof` against them fails. `remove` deletes the copy.
 */
export async function importAnotherCopy<Module>(name: string): Promise<{ module: Module; remove: () => void }> {
  const installed = packageRoot(createRequire(import.meta.url).resolve(name))
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
  const module = (await import(pathToFileURL(join(copy, 'index.mjs')).href)) as Module
  return { module, remove: () => rmSync(folder, { recursive: true, force: true }) }
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
