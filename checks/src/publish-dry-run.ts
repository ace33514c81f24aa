// The last step of `pnpm release` without publishing: `pnpm publish --dry-run` for every published package under
// packages/*, as `changeset publish` would publish it (pnpm replaces the workspace: protocol). CI runs it through
// `pnpm release:dry-run` after the tests.
import { spawnSync } from 'node:child_process'
import { publishedPackages } from './workspace.ts'

const failed: string[] = []
for (const { name, dir, manifest } of publishedPackages()) {
  const run = spawnSync('pnpm', ['publish', '--dry-run', '--no-git-checks', '--access', 'public'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  })
  const published = `${run.stdout}${run.stderr}`.includes(`+ ${name}@${manifest.version}`)
  console.log(`${run.status === 0 && published ? 'ok  ' : 'FAIL'} ${name}@${manifest.version}`)
  if (run.status !== 0 || !published) {
    failed.push(name)
    console.error(`${run.stdout}${run.stderr}`)
  }
}
if (failed.length > 0) {
  console.error(`publish dry run failed for ${failed.join(', ')}`)
  process.exit(1)
}
console.log('publish dry run: every package would publish')
