import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { LoopbackRequest } from '@tinyllm/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordFigures } from './figures.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../../', import.meta.url))
const canary = `sk-proj-${randomBytes(45).toString('base64url')}`

/** The examples that exist, by package name; the suite runs each one as a user would, with `pnpm start`. */
const examples = [
  { directory: 'credit-classification', name: '@tinyllm/example-credit-classification' },
  { directory: 'batch-classification', name: '@tinyllm/example-batch-classification' },
].filter((example) => existsSync(`${root}examples/${example.directory}/src/main.ts`))

let server: OpenAICompatibleServer
/** Requests that reached the stand-in API carrying the canary: proof that the examples really used the key. */
let keyedRequests = 0
const figures: Array<[string, string | number]> = []

beforeAll(async () => {
  if (examples.length === 0) return
  // The examples import the packages' builds; turbo builds them before this suite (see this package's turbo.json).
  for (const name of ['core', 'flow', 'logger', 'openai', 'anthropic']) {
    const built = `${root}packages/${name}/dist/index.js`
    if (!existsSync(built)) throw new Error(`${built} is missing: run pnpm turbo run build first`)
  }
  // Stands in for api.openai.com: `OPENAI_BASE_URL` points the SDK here, so a "live" run never leaves the machine.
  server = await startOpenAICompatibleServer({
    replies: (_body, context) => (context.chatIndex % 2 === 0 ? 'good' : 'bad'),
    fallback: undefined,
  })
  server.injectFaults((_index: number, request: LoopbackRequest) => {
    if (request.headers.authorization === `Bearer ${canary}`) keyedRequests += 1
    return undefined
  })
})
afterAll(() => server?.close())

/** Runs `pnpm --filter <example> start <args>` with the canary set and logs at debug; returns everything it printed. */
async function start(name: string, args: string[]): Promise<string> {
  const environment = {
    ...process.env,
    OPENAI_API_KEY: canary,
    OPENAI_BASE_URL: server.baseURL,
    TINYLLM_LOG_LEVEL: 'debug',
    OPENAI_LOG: 'debug',
    NO_COLOR: '1',
  }
  try {
    const { stdout, stderr } = await run('pnpm', ['--filter', name, 'start', ...args], {
      cwd: root,
      env: environment,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    })
    return `${stdout}\n${stderr}`
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${name} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout}\n${failed.stderr}`)
  }
}

describe.runIf(examples.length > 0)('the examples, run with a canary OPENAI_API_KEY at debug level', () => {
  const runs: ReadonlyArray<readonly [string, string, string[]]> = [
    ['@tinyllm/example-credit-classification', 'live (OPENAI_BASE_URL → loopback)', []],
    ['@tinyllm/example-credit-classification', 'offline (cassette replay)', ['--offline']],
    ['@tinyllm/example-batch-classification', '200 applications, injected faults', ['--count', '200']],
  ]
  it.each(runs.filter(([name]) => examples.some((example) => example.name === name)))(
    '%s, %s: the canary is never printed',
    async (name, label, args) => {
      const before = keyedRequests
      const output = await start(name, args)
      expect(output.length).toBeGreaterThan(0)
      expect(output.includes(canary)).toBe(false)
      figures.push([
        `${name.replace('@tinyllm/example-', '')}, ${label}`,
        `${output.length} characters printed, canary 0 times`,
      ])
      if (label.startsWith('live')) {
        // The live path sent the key (to the stand-in), and printed it nowhere.
        expect(keyedRequests - before).toBeGreaterThan(0)
        expect(output).toContain('Outcome:')
      }
    },
  )

  it('records its figures', () => {
    recordFigures(
      'Secrets in the examples (pnpm --filter <example> start, OPENAI_LOG=debug, TINYLLM_LOG_LEVEL=debug)',
      8,
      [
        ['examples found', examples.map((example) => example.directory).join(', ')],
        ['requests that carried the canary to the stand-in API', keyedRequests],
        ...figures,
      ],
    )
  })
})
