import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { generateApplications } from './applications.ts'
import { readCommandLine, UsageError } from './command-line.ts'
import { underwrite } from './scripted-underwriter.ts'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const run = promisify(execFile)

async function batch(args: string[]) {
  const env = { ...process.env }
  delete env.OPENAI_API_KEY
  delete env.ANTHROPIC_API_KEY
  return run(process.execPath, [main, ...args], { env, encoding: 'utf8' })
}

/** The number after a summary label, e.g. `good` → 218. */
function count(output: string, label: string): number {
  const match =
    new RegExp(`^ *${label}: *([\\d,]+)$`, 'm').exec(output) ?? new RegExp(`^  ${label} +([\\d,]+)$`, 'm').exec(output)
  if (!match) throw new Error(`no "${label}" line in:\n${output}`)
  return Number(match[1]!.replaceAll(',', ''))
}

describe('the batch-classification example', () => {
  it('classifies all 1,000 applications through faults and retries, and accounts for every one', async () => {
    const { stdout, stderr } = await batch([])
    expect(stdout).toContain('Batch classification: 1,000 applications (seed 42)')
    expect(stdout).toMatch(/^Accounted: [\d,]+ succeeded \+ \d+ failed = 1,000 of 1,000 ✔$/m)
    const classified = count(stdout, 'good') + count(stdout, 'review') + count(stdout, 'bad')
    expect(classified + count(stdout, 'Failed')).toBe(1000)
    // Every class occurs: the scripted model answers from the application, not from a list.
    for (const name of ['good', 'review', 'bad']) expect(count(stdout, name)).toBeGreaterThan(100)
    // The failures a batch of real applications has, typed and grouped, each with an example.
    expect(stdout).toMatch(/^ {2}\d+ × DecisionError — e\.g\. APP-\d{4}: Label: decision "i cannot classify/m)
    expect(stdout).toMatch(/^ {2}\d+ × ProviderCallError 400 context_length_exceeded — e\.g\. APP-\d{4}: /m)
    expect(stdout).toMatch(/^Calls: +[\d,]+ HTTP requests, \d+ faults injected, \d+ retries \(.*RateLimitError 429/m)
    expect(stdout).toMatch(/^Tokens: +[\d,]+ \(input [\d,]+, output [\d,]+\) in [\d,]+ answered calls$/m)
    expect(stdout).toMatch(/^Cost: +\$\d+\.\d{4} at gpt-4o-mini prices$/m)
    expect(stdout).toMatch(/^Wall time: +\d+\.\d\d s$/m)
    expect(stdout).toMatch(/^Rate: +[\d,]+ applications\/s, [\d,]+ calls\/s$/m)
    const report = /^Run report: (.+run-report\.html)$/m.exec(stdout)?.[1]
    expect(readFileSync(report!, 'utf8')).toContain(
      '<title>Batch classification: 1,000 applications · tinyllm run report',
    )
    // Not a terminal: plain progress lines on stderr, one per tenth.
    expect(stderr).toContain('progress: 100/1000 done')
    expect(stderr).toContain('progress: 1000/1000 done')
  })

  it('settles every branch: when every request fails, every application is still accounted for', async () => {
    const { stdout } = await batch(['--count', '20', '--concurrency', '20', '--fault-rate', '1'])
    expect(stdout).toContain('Accounted: 0 succeeded + 20 failed = 20 of 20 ✔')
    expect(count(stdout, 'Failed')).toBe(20)
  })

  it('is deterministic: the same seed classifies the same way', async () => {
    const classesOf = async (seed: string) => {
      const { stdout } = await batch(['--count', '200', '--seed', seed, '--fault-rate', '0', '--concurrency', '64'])
      return ['good', 'review', 'bad', 'Failed'].map((label) => count(stdout, label))
    }
    const [first, again, other] = await Promise.all([classesOf('7'), classesOf('7'), classesOf('8')])
    expect(again).toEqual(first)
    expect(other).not.toEqual(first)
  })

  it('prints its usage with --help, starting with the root command that runs it', async () => {
    const { stdout } = await batch(['--help'])
    expect(stdout).toMatch(/^Usage: pnpm batch \[options\]/)
    expect(stdout).toContain('--fault-rate <0..1>')
    expect(stdout).not.toContain('Run report')
  })

  it('refuses options it cannot run', async () => {
    const error = await batch(['--count', 'many']).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 2 })
    expect((error as { stderr: string }).stderr).toContain('--count must be an integer from 1 to 1000000, got "many"')
  })

  it('refuses more applications than it can hold, before generating any', () => {
    // Read as the example reads it, so that nothing is generated even if the check were gone.
    expect(() => readCommandLine(['--count', '100000000000'])).toThrow(
      new UsageError('--count must be an integer from 1 to 1000000, got "100000000000"'),
    )
    expect(readCommandLine(['--count', '1000000'])?.count).toBe(1_000_000)
  })

  it('refuses a seed the loopback server cannot honour, above 32 bits', () => {
    expect(() => readCommandLine(['--seed', '4294967296'])).toThrow(
      new UsageError('--seed must be an integer from 0 to 4294967295, got "4294967296"'),
    )
    expect(readCommandLine(['--seed', '4294967295'])?.seed).toBe(4_294_967_295)
  })

  // Four processes started in turn: the package's limit (180 s a test) leaves a loaded machine room.
  it('refuses an option given no number (an empty value, blanks) instead of reading it as 0', async () => {
    for (const [args, reason] of [
      [['--seed='], '--seed must be an integer from 0 to 4294967295, got ""'],
      [['--seed', ' '], '--seed must be an integer from 0 to 4294967295, got " "'],
      [['--fault-rate='], '--fault-rate must be between 0 and 1, got ""'],
      [['--fault-rate', '\t'], '--fault-rate must be between 0 and 1, got "\t"'],
    ] as const) {
      const error = await batch([...args]).catch((caught: unknown) => caught)
      expect(error, args.join(' ')).toMatchObject({ code: 2 })
      expect((error as { stderr: string }).stderr, args.join(' ')).toContain(reason)
    }
  })
})

describe('the generated applications and the scripted underwriter', () => {
  it('are a pure function of the seed', () => {
    expect(generateApplications(50, 1)).toEqual(generateApplications(50, 1))
    expect(generateApplications(3, 1)[0]).toMatchObject({ id: 'APP-0001', summary: expect.stringMatching(/^Credit/) })
  })

  it('answers from the application in the request', () => {
    const ask = (summary: string) => underwrite({ messages: [{ role: 'user', content: summary }] })
    const clean = (answer: unknown) => String(answer).trim().toLowerCase().replace(/\.$/, '')
    const figures = (score: number, ratio: number, missed: number, pages = 0) =>
      `Credit score ${score}. Monthly debt payments $1,000 (debt-to-income ${ratio}%). ${missed} missed payments in the last 24 months. ${pages} scanned pages attached.`
    expect(clean(ask(figures(780, 20, 0)))).toBe('good')
    expect(clean(ask(figures(650, 40, 2)))).toBe('review')
    expect(clean(ask(figures(560, 20, 0)))).toBe('bad')
    expect(ask('Credit score not provided. 0 scanned pages attached.')).toMatch(/without a credit score/)
    expect(ask(figures(780, 20, 0, 400))).toMatchObject({ error: { status: 400, code: 'context_length_exceeded' } })
  })
})
