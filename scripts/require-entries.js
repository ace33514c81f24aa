// Writes the CommonJS entry points of a package after its build: for every export whose "require" condition names a
// .cjs file (and a .d.cts for its types), a file that hands require() the ES module of the export's "default"
// condition. Node (20.19+, 22.12+) loads an ES module from require(), so a CommonJS user and an ESM user share one
// instance of the package: there is no second build that could drift or duplicate state.
// Run from the package's folder: `node ../../scripts/require-entries.js`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'

const manifest = JSON.parse(readFileSync('package.json', 'utf8'))
let written = 0
for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
  if (typeof target !== 'object' || target === null || target.require === undefined) continue
  const module = target.default?.default
  const { types, default: entry } = target.require
  if (typeof module !== 'string' || typeof entry !== 'string' || typeof types !== 'string') {
    throw new Error(`${manifest.name}: exports["${subpath}"] needs require.types, require.default and default.default`)
  }
  if (!existsSync(module)) throw new Error(`${manifest.name}: exports["${subpath}"]: ${module} was not built`)
  const specifier = (from) => {
    const path = relative(dirname(from), module)
    return path.startsWith('.') ? path : `./${path}`
  }
  writeFileSync(entry, `'use strict'\nmodule.exports = require('${specifier(entry)}')\n`)
  // TypeScript's node16 and node18 settings model a Node that cannot require() an ES module, and say so (TS1479) about
  // this line to a user who checks libraries (skipLibCheck off); every Node these packages support can, and the types
  // flow through it all the same, so the error is silenced here rather than left to each user.
  writeFileSync(
    types,
    `// @ts-ignore TS1479 under --module node16/node18: require() of an ES module is supported\n` +
      `export * from '${specifier(types)}'\n`,
  )
  written++
}
if (written === 0) throw new Error(`${manifest.name}: no export has a "require" condition to write`)
