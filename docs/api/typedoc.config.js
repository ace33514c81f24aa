// The API reference of every published package under packages/*, today's and any added later: each entry point its
// exports map names, documented from the TSDoc of its source. A broken link or an export without documentation is
// an error (treatWarningsAsErrors here, check-reference.js after), so `pnpm run docs` fails on either.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const packagesDir = resolve(import.meta.dirname, '../../packages')

/** The folders of the published packages: TypeDoc documents each entry point its exports map names. */
function publishedPackages() {
  return readdirSync(packagesDir)
    .map((folder) => join(packagesDir, folder))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .filter((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private !== true)
}

// Links in comments and paths in Markdown must resolve. Undocumented exports are found by check-reference.js in the
// JSON output: TypeDoc's own check also asks for a comment on every method signature of every exported interface.
// (A helper type that an export names but the package does not export itself is shown by name, not flagged:
// exporting it is a change of API, not of documentation.)
const validation = {
  notExported: false,
  invalidLink: true,
  invalidPath: true,
  rewrittenLink: true,
  notDocumented: false,
}

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'tinyllm',
  entryPoints: publishedPackages(),
  entryPointStrategy: 'packages',
  packageOptions: {
    // The build's tsconfig maps dist/ back to src/, so the exports map leads TypeDoc to the documented source.
    tsconfig: './tsconfig.build.json',
    excludePrivate: true,
    excludeInternal: true,
    // The reference is the API; the READMEs, with their worked examples, are read on the repository and on npm.
    readme: 'none',
    validation,
    // Source links point at the repository's address, not at whatever remote (or none) a checkout happens to have.
    sourceLinkTemplate: 'https://github.com/tinyllm/tinyllm/blob/main/{path}#L{line}',
  },
  out: './reference',
  readme: './index.md',
  excludePrivate: true,
  excludeInternal: true,
  sort: ['kind', 'instance-first', 'alphabetical-ignoring-documents'],
  githubPages: false,
  sourceLinkTemplate: 'https://github.com/tinyllm/tinyllm/blob/main/{path}#L{line}',
  hideGenerator: true,
  validation,
  json: './reference/api.json',
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
}
