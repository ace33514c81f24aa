import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { exampleRuns, firstMissingLine, textBlocks } from './example-output.js'

// An example's README shows what the example prints, pasted from a real run. Its own tests check the shape of that
// output (a tree, a class count) but not the README: the tokens, costs, request ids and lines a reader sees there
// could drift from what the example prints. Each example that prints the same on every run offline is run here as
// its README says, and every line of the README's block must be printed, in order; durations, and what a `…` stands
// for, may differ.
const repositoryRoot = resolve(import.meta.dirname, '../..')
const run = promisify(execFile)

/** No key, base URL, model or log level of the machine's: the example runs offline, as on a fresh machine. */
function offlineEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  for (const name of [
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'OPENAI_MODEL',
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_AUTH_TOKEN',
    'ANTHROPIC_BASE_URL',
    'ANTHROPIC_MODEL',
    'FORCE_COLOR',
    'TINYLLM_LOG_LEVEL',
    'OPENAI_LOG',
    'ANTHROPIC_LOG',
  ]) {
    delete env[name]
  }
  return env
}

describe('what example READMEs say the examples print', () => {
  for (const example of exampleRuns) {
    const readme = `examples/${example.name}/README.md`
    it(`${readme}: the block under "${example.under}" is what \`${['start', ...example.args].join(' ')}\` prints`, async () => {
      const blocks = textBlocks(readFileSync(join(repositoryRoot, readme), 'utf8'))
      const block = blocks.find((candidate) => candidate.after.includes(example.under))
      expect(block, `${readme}: no \`\`\`text block after a line holding "${example.under}"`).toBeDefined()
      const child = run(process.execPath, ['src/main.ts', ...example.args], {
        cwd: join(repositoryRoot, 'examples', example.name),
        env: offlineEnvironment(),
        encoding: 'utf8',
        timeout: 120_000,
      })
      if (example.stdin !== undefined) child.child.stdin?.end(example.stdin)
      const { stdout } = await child
      const missing = firstMissingLine(stdout, block!.lines)
      expect(
        missing,
        `${readme}:${missing?.line}: the example did not print \`${missing?.text}\` (after the lines before it); it printed:\n${stdout}`,
      ).toBeUndefined()
    }, 180_000)
  }
})

describe('firstMissingLine', () => {
  const shown = textBlocks(
    [
      'A real run:',
      '',
      '```text',
      '✔ Pipeline (chain) 282.2 ms tokens=206 cost=$0.000031',
      '',
      '└─ ✔ Report (function) 97 µs',
      'Run report: …/reports/run-report.html',
      '```',
    ].join('\n'),
  )[0]!

  it('holds every line of the block, in order, durations and `…` aside', () => {
    expect(shown.after).toBe('A real run:')
    const printed = [
      'Starting',
      '✔ Pipeline (chain) 3.1 s tokens=206 cost=$0.000031',
      '├─ ✔ Draft (function) 12 µs',
      '└─ ✔ Report (function) 1.5 ms',
      'Run report: /home/ada/reports/run-report.html',
    ].join('\n')
    expect(firstMissingLine(printed, shown.lines)).toBeUndefined()
  })

  it('names the first line printed otherwise, or out of order', () => {
    const printed = '✔ Pipeline (chain) 3.1 ms tokens=185 cost=$0.000028\n└─ ✔ Report (function) 1.5 ms\n'
    expect(firstMissingLine(printed, shown.lines)).toEqual({ line: 4, text: shown.lines[0]!.text })
    const swapped = '└─ ✔ Report (function) 1 ms\n✔ Pipeline (chain) 2 ms tokens=206 cost=$0.000031\nRun report: x\n'
    expect(firstMissingLine(swapped, shown.lines)).toEqual({ line: 6, text: '└─ ✔ Report (function) 97 µs' })
  })
})
