import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { type AnthropicCompatibleServer, startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { describe, expect, it } from 'vitest'
import { firstMissingLine, textBlocks } from './example-output.js'
import { type Readme, readmes, type SnippetCheck } from './readmes.js'
import { extractSnippets, firstBrokenPromise, promisedOutput, type Snippet } from './snippets.js'

// Every ```ts block of the root README and of each package's README is a program a reader can paste and run. They are
// written to a scratch folder of this package (`.turbo/`, which git and Biome ignore), where they import the packages
// by their names through this package's dependencies, as an application would; type-checked together under the
// repository's strict settings; and each run by Node, which strips the types, offline. A snippet that calls a model
// either starts a loopback server itself, or is given one by the harness through the provider's environment variables
// (see `readmes.ts`); every other snippet runs with those variables empty, so nothing can reach the internet.
const run = promisify(execFile)
const repositoryRoot = resolve(import.meta.dirname, '../..')
const scratch = resolve(import.meta.dirname, '../.turbo/readme-snippets')
/** The temporary folder of every snippet run (the operating system's `TMPDIR`), emptied with the scratch folder. */
const snippetTmp = join(scratch, 'tmp')
/** Generous: a snippet runs in well under a second, but a busy machine is slow. No timing is asserted. */
const runLimitMs = 90_000

interface WrittenSnippet extends Snippet {
  /** Relative to the scratch folder. */
  readonly file: string
}

rmSync(scratch, { recursive: true, force: true })
mkdirSync(snippetTmp, { recursive: true })
writeFileSync(join(scratch, 'package.json'), `${JSON.stringify({ private: true, type: 'module' })}\n`)

const collected = readmes.map((readme) => {
  const folder = readme.path === 'README.md' ? 'root' : dirname(readme.path).replaceAll('/', '-')
  let snippets: Snippet[]
  try {
    snippets = extractSnippets(readFileSync(join(repositoryRoot, readme.path), 'utf8'), readme.path)
  } catch (problem) {
    // Reported by this README's first test; the other READMEs are still checked.
    return { readme, snippets: [], problem }
  }
  mkdirSync(join(scratch, folder), { recursive: true })
  const written = snippets.map((snippet): WrittenSnippet => {
    // A test suite is named as vitest finds one.
    const suffix = snippet.runner === 'vitest' ? '.test.ts' : '.ts'
    const file = `${folder}/snippet-${String(snippet.number).padStart(2, '0')}${suffix}`
    writeFileSync(join(scratch, file), snippet.code)
    return { ...snippet, file }
  })
  return { readme, snippets: written, problem: undefined }
})
const everySnippet = collected.flatMap(({ snippets }) => snippets)

writeFileSync(
  join(scratch, 'tsconfig.json'),
  `${JSON.stringify(
    {
      extends: join(repositoryRoot, 'tsconfig.base.json'),
      compilerOptions: {
        noEmit: true,
        // Each snippet is a module of its own, and uses only syntax Node can strip.
        moduleDetection: 'force',
        erasableSyntaxOnly: true,
      },
      files: everySnippet.map((snippet) => snippet.file),
    },
    null,
    2,
  )}\n`,
)

describe('README snippets', () => {
  it('are checked in the root README and in every package’s', () => {
    const packageReadmes = readdirSync(join(repositoryRoot, 'packages'))
      .map((name) => `packages/${name}/README.md`)
      .filter((path) => existsSync(join(repositoryRoot, path)))
    expect(readmes.map((readme) => readme.path).sort()).toEqual(['README.md', ...packageReadmes].sort())
  })

  it('type-check together under the repository’s strict settings', { timeout: 180_000 }, async () => {
    const tsc = join(repositoryRoot, 'node_modules/.bin/tsc')
    const output = await run(tsc, ['-p', 'tsconfig.json', '--pretty', 'false'], { cwd: scratch }).then(
      ({ stdout, stderr }) => stdout + stderr,
      (error: { stdout?: string; stderr?: string; message: string }) =>
        `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message,
    )
    expect(inReadmeTerms(output)).toBe('')
  })

  for (const { readme, snippets, problem } of collected) {
    describe(readme.path, () => {
      it('shows what it promises to show', () => {
        if (problem !== undefined) throw problem
        expect(snippets.length).toBeGreaterThanOrEqual(Math.max(1, readme.atLeast ?? 1))
        for (const name of readme.shows) {
          expect(
            snippets.some((snippet) => snippet.code.includes(name)),
            `no snippet of ${readme.path} contains ${name}`,
          ).toBe(true)
        }
        for (const check of readme.checks ?? []) {
          const matching = snippets.filter((snippet) => snippet.code.includes(check.containing))
          expect(matching.length, `snippets of ${readme.path} containing ${check.containing}`).toBe(1)
        }
      })

      for (const snippet of snippets) {
        const title = `#${snippet.number} (line ${snippet.line})`
        if (snippet.runner === 'vitest') {
          it(`${title} is a test suite, and every test of it passes under vitest`, {
            timeout: runLimitMs + 30_000,
          }, async () => {
            const output = await runSuite(snippet)
            expect(output).toMatch(/Tests\s+[1-9]\d* passed/)
            expect(output).not.toMatch(/\bfailed\b|\bskipped\b|\btodo\b/)
          })
          continue
        }
        it.concurrent(`${title} runs offline and prints what it promises`, { timeout: runLimitMs + 30_000 }, async ({
          expect,
        }) => {
          const check = checkOf(readme, snippet)
          const servers = await startServers(check)
          try {
            const { stdout, stderr } = await runSnippet(snippet, servers)
            const broken = firstBrokenPromise(stdout, promisedOutput(snippet))
            expect(
              broken,
              broken && `${readme.path}:${broken.line} promises "${broken.text}"; the program printed:\n${stdout}`,
            ).toBeUndefined()
            for (const line of stderr.split('\n').filter((text) => text.trim() !== '')) {
              expect(
                isLogLine(line),
                `${readme.path}:${snippet.line}: stderr holds more than log lines:\n${stderr}`,
              ).toBe(true)
            }
            for (const pattern of check?.prints ?? []) expect(stdout).toMatch(pattern)
            if (check?.printsBlockAfter !== undefined) {
              const text = readFileSync(join(repositoryRoot, readme.path), 'utf8')
              const block = textBlocks(text).find((candidate) => candidate.after.includes(check.printsBlockAfter!))
              expect(block, `${readme.path}: no \`\`\`text block after "${check.printsBlockAfter}"`).toBeDefined()
              const missing = firstMissingLine(stdout, block!.lines)
              expect(
                missing,
                `${readme.path}:${missing?.line}: the snippet did not print \`${missing?.text}\`; it printed:\n${stdout}`,
              ).toBeUndefined()
            }
            if (check?.openAIRequests !== undefined) {
              expect(servers.openAI?.chatRequests).toMatchObject(check.openAIRequests)
            }
          } finally {
            await Promise.all([servers.openAI?.close(), servers.anthropic?.close()])
          }
        })
      }
    })
  }
})

interface Servers {
  readonly openAI?: OpenAICompatibleServer | undefined
  readonly anthropic?: AnthropicCompatibleServer | undefined
}

function checkOf(readme: Readme, snippet: Snippet): SnippetCheck | undefined {
  return readme.checks?.find((check) => snippet.code.includes(check.containing))
}

async function startServers(check: SnippetCheck | undefined): Promise<Servers> {
  return {
    openAI: check?.openAIServer === undefined ? undefined : await startOpenAICompatibleServer(check.openAIServer),
    anthropic:
      check?.anthropicServer === undefined ? undefined : await startAnthropicCompatibleServer(check.anthropicServer),
  }
}

async function runSnippet(snippet: WrittenSnippet, servers: Servers): Promise<{ stdout: string; stderr: string }> {
  const file = join(scratch, snippet.file)
  try {
    return await run(process.execPath, [file], {
      cwd: dirname(file),
      env: { ...environment(servers), TMPDIR: snippetTmp },
      timeout: runLimitMs,
      maxBuffer: 16 * 1024 * 1024,
    })
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${snippet.readme}:${snippet.line} (snippet #${snippet.number}) failed: ${failure.message}\n--- stdout\n${failure.stdout ?? ''}\n--- stderr\n${inReadmeTerms(failure.stderr ?? '')}`,
    )
  }
}

/** Runs a snippet that is a test suite with vitest, offline, in its folder; the summary vitest printed. */
async function runSuite(snippet: WrittenSnippet): Promise<string> {
  const file = join(scratch, snippet.file)
  const vitest = join(repositoryRoot, 'node_modules/.bin/vitest')
  try {
    const { stdout, stderr } = await run(vitest, ['run', '--root', dirname(file), basename(file)], {
      cwd: dirname(file),
      env: { ...environment({}), TMPDIR: snippetTmp, NO_COLOR: '1' },
      timeout: runLimitMs,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout + stderr
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${snippet.readme}:${snippet.line} (snippet #${snippet.number}) failed under vitest: ${failure.message}\n--- stdout\n${inReadmeTerms(failure.stdout ?? '')}\n--- stderr\n${inReadmeTerms(failure.stderr ?? '')}`,
    )
  }
}

/**
 * The environment a snippet runs in: no API key and no base URL of any provider — a snippet that forgot its loopback
 * server fails for want of a key, before anything is sent — unless the harness started a server for it. No colours
 * and no log level of the machine's, so that the output is the same everywhere.
 */
function environment(servers: Servers): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENAI_API_KEY: '',
    OPENAI_BASE_URL: '',
    ANTHROPIC_API_KEY: '',
    ANTHROPIC_AUTH_TOKEN: '',
    ANTHROPIC_BASE_URL: '',
  }
  for (const name of ['FORCE_COLOR', 'TINYLLM_LOG_LEVEL', 'OPENAI_LOG', 'ANTHROPIC_LOG']) delete env[name]
  if (servers.openAI !== undefined) {
    env.OPENAI_API_KEY = 'sk-loopback-readme'
    env.OPENAI_BASE_URL = servers.openAI.baseURL
  }
  if (servers.anthropic !== undefined) {
    env.ANTHROPIC_API_KEY = 'sk-ant-loopback-readme'
    env.ANTHROPIC_BASE_URL = servers.anthropic.baseURL
  }
  return env
}

/** A line of a tinyllm (or pino) logger writing JSON: what a snippet may write to stderr. Anything else is a problem. */
function isLogLine(line: string): boolean {
  try {
    const entry: unknown = JSON.parse(line)
    return typeof entry === 'object' && entry !== null && 'level' in entry && 'msg' in entry
  } catch {
    return false
  }
}

/** Rewrites `core/snippet-03.ts(5,10)` and `…/snippet-03.ts:5:10` into the README line they stand for. */
function inReadmeTerms(text: string): string {
  return text.replace(
    /(?:[^\s()]*\/)?([\w-]+\/snippet-\d+(?:\.test)?\.ts)(?:\((\d+),(\d+)\)|:(\d+):(\d+))/g,
    (whole, file, ...at) => {
      const snippet = everySnippet.find((candidate) => candidate.file === file)
      const [line, column] = (at[0] === undefined ? [at[2], at[3]] : [at[0], at[1]]) as [string, string]
      if (snippet === undefined) return whole
      return `${snippet.readme}:${snippet.line + Number(line) - 1}:${column}`
    },
  )
}
