// Runs the unit tests of every package under packages/* on Node 22, the lowest Node the packages support, as CI does
// after the tests on the pinned Node: `pnpm test:node22` from the root, after a build.
// Each package's `test:unit` must be `vitest run …`; its vitest runs on Node 22, and so does every `node` its tests
// start (Node 22's folder comes first on PATH).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, join } from 'node:path'
import { type Manifest, node22, readJson, root } from './workspace.ts'

const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim()
if (!version.startsWith('v22.')) {
  console.error(`Node 22 is missing (${node22}): run \`pnpm install\``)
  process.exit(1)
}

const results: { name: string; passed: boolean }[] = []
for (const folder of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', folder)
  if (!existsSync(join(dir, 'package.json'))) continue
  const manifest = readJson<Manifest>(join(dir, 'package.json'))
  const script = (manifest.scripts as Record<string, string> | undefined)?.['test:unit']
  if (script === undefined) continue
  const args = /^vitest run(?: (.*))?$/.exec(script)
  if (args === null) {
    console.error(`${manifest.name}: test:unit must be \`vitest run …\` to run on Node 22, got \`${script}\``)
    results.push({ name: manifest.name, passed: false })
    continue
  }
  const vitestManifest = createRequire(join(dir, 'package.json')).resolve('vitest/package.json')
  const bin = readJson<{ bin: Record<string, string> }>(vitestManifest).bin.vitest!
  console.log(`\n── ${manifest.name} on Node ${version} ──`)
  const run = spawnSync(
    node22,
    [join(dirname(vitestManifest), bin), 'run', ...(args[1]?.split(' ') ?? []), '--reporter=dot'],
    {
      cwd: dir,
      stdio: 'inherit',
      env: { ...process.env, PATH: `${dirname(node22)}${delimiter}${process.env.PATH ?? ''}` },
    },
  )
  results.push({ name: manifest.name, passed: run.status === 0 })
}

const failed = results.filter((result) => !result.passed)
console.log(
  `\nNode ${version}: ${results.length - failed.length} packages passed their unit tests, ${failed.length} failed` +
    (failed.length > 0 ? ` (${failed.map((result) => result.name).join(', ')})` : ''),
)
process.exit(failed.length > 0 ? 1 : 0)
