import { parseArgs } from 'node:util'

/** What the distributed batch is asked to do. */
export interface DistributedOptions {
  readonly count: number
  readonly workers: number
  readonly concurrency: number
  readonly seed: number
  readonly killAWorker: boolean
  readonly requestsPerMinute: number
  readonly tokensPerMinute: number
}

export const usage = `Usage: pnpm distributed [options]

Classifies generated loan applications with the credit pipeline on N worker processes (BullMQ on a private
redis-server), offline against a loopback OpenAI-compatible server, and accounts for every one of them.

  --count <n>          applications to generate, at most 1000000 (default 10000)
  --workers <n>        worker processes, at most 64 (default 3)
  --concurrency <n>    runs in progress at once per worker (default 64)
  --seed <n>           seed of the generator and the latency, 0 to 4294967295 (default 42)
  --kill-a-worker      kill -9 the first worker at 30% and watch its runs resume on the others
  --rpm <n>            shared rate limiter: requests per minute, all workers together (default 100000)
  --tpm <n>            shared rate limiter: tokens per minute (default 20000000)
  --help               show this text`

/** The most worker processes the example starts. */
const maxWorkers = 64

/** The most applications the example generates: all are held in memory, and every one is classified. */
const maxCount = 1_000_000

/** Thrown for a command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Reads the command line; `undefined` for `--help`. */
export function readCommandLine(argv: readonly string[]): DistributedOptions | undefined {
  const { values } = parseArgs({
    // `pnpm start -- --flag` passes the `--` on; it separates pnpm's options from the script's, not ours.
    args: argv.filter((argument) => argument !== '--'),
    options: {
      count: { type: 'string', default: '10000' },
      workers: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '64' },
      seed: { type: 'string', default: '42' },
      'kill-a-worker': { type: 'boolean', default: false },
      rpm: { type: 'string', default: '100000' },
      tpm: { type: 'string', default: '20000000' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) return undefined
  // Digits only: Number() would read an empty value (`--seed=`) or blanks as 0.
  const integer = (option: string, text: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER) => {
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(value) || value < minimum || value > maximum) {
      const range = maximum === Number.MAX_SAFE_INTEGER ? `≥ ${minimum}` : `from ${minimum} to ${maximum}`
      throw new UsageError(`--${option} must be an integer ${range}, got "${text}"`)
    }
    return value
  }
  // Each worker is a Node process: a few dozen make the point, thousands would exhaust the machine.
  const workers = integer('workers', values.workers, 1, maxWorkers)
  if (values['kill-a-worker'] && workers < 2) throw new UsageError('--kill-a-worker needs --workers 2 or more')
  return {
    count: integer('count', values.count, 1, maxCount),
    workers,
    concurrency: integer('concurrency', values.concurrency, 1),
    // The loopback server's generator keeps 32 bits: a larger seed is refused there.
    seed: integer('seed', values.seed, 0, 4_294_967_295),
    killAWorker: values['kill-a-worker'],
    requestsPerMinute: integer('rpm', values.rpm, 1),
    tokensPerMinute: integer('tpm', values.tpm, 1),
  }
}
