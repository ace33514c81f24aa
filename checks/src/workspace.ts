import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The repository's root folder. */
export const root = resolve(import.meta.dirname, '../..')

/** What a package.json says, as far as these checks read it. */
export interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly [field: string]: unknown
}

/** A package under packages/* that is published (not private). */
export interface PublishedPackage {
  readonly name: string
  /** `packages/<folder>`, relative to the root. */
  readonly path: string
  /** Absolute. */
  readonly dir: string
  readonly manifest: Manifest
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

/** Every package under packages/* that is not private: the ones users install, today's and any added later. */
export function publishedPackages(): PublishedPackage[] {
  return readdirSync(join(root, 'packages'))
    .filter((folder) => existsSync(join(root, 'packages', folder, 'package.json')))
    .map((folder) => {
      const manifest = readJson<Manifest>(join(root, 'packages', folder, 'package.json'))
      return { name: manifest.name, path: `packages/${folder}`, dir: join(root, 'packages', folder), manifest }
    })
    .filter(({ manifest }) => manifest.private !== true)
}

/** A conditional export of a published package: a CommonJS entry for require() and the ES module for the rest. */
export interface ConditionalExport {
  readonly require: { readonly types: string; readonly default: string }
  readonly default: { readonly types: string; readonly default: string }
}

/** The subpaths a package exports other than ./package.json, with their targets. */
export function entryPoints(manifest: Manifest): [subpath: string, target: unknown][] {
  const exports = (manifest.exports ?? {}) as Record<string, unknown>
  return Object.entries(exports).filter(([subpath]) => subpath !== './package.json')
}

/** The specifier a user writes for an export: `@tinyllm/openai` for `.`, `@tinyllm/openai/testing` for `./testing`. */
export function specifier(name: string, subpath: string): string {
  return subpath === '.' ? name : `${name}/${subpath.slice(2)}`
}

/** Node 22, the lowest Node the packages support, from the npm registry (this package's devDependency `node22`). */
export const node22 = join(root, 'checks', 'node_modules', 'node22', 'bin', 'node')
