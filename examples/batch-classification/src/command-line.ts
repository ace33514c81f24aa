import { parseArgs } from 'node:util'

/** What the batch run is asked to do. */
export interface BatchOptions {
  readonly count: number
  readonly concurrency: number
  readonly seed: number
  readonly faultRate: number
  readonly requestsPerMinute: number
  readonly tokensPerMinute: number
}

export const usage = `Usage: pnpm batch [options]   (or: pnpm --filter @tinyllm/example-batch-classification start [options])

Classifies generated loan applications through one Parallel, offline, against a loopback OpenAI-compatible server
with realistic latency and injected faults, and accounts for every one of them.

  --count <n>          applications to generate, at most 1000000 (default 1000)
  --concurrency <n>    most calls in flight at once (default 32)
  --seed <n>           seed of the generator, the latency and the faults, 0 to 4294967295 (default 42)
  --fault-rate <0..1>  share of requests answered with a fault: 429, 500, 503 or a reset connection (default 0.03)
  --rpm <n>            rate limiter: requests per minute (default 10000)
  --tpm <n>            rate limiter: tokens per minute (default 2000000)
  --help               show this text`

/** The most applications the example generates: all are held in memory, and every one is classified. */
const maxCount = 1_000_000

/** Thrown for a command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Reads the command line; `undefined` for `--help`. */
export function readCommandLine(argv: readonly string[]): BatchOptions | undefined {
  const { values } = parseArgs({
    // `pnpm start -- --flag` passes the `--` on; it separates pnpm's options from the script's, not ours.
    args: argv[0] === '--' ? argv.slice(1) : [...argv],
    options: {
      count: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      seed: { type: 'string', default: '42' },
      'fault-rate': { type: 'string', default: '0.03' },
      rpm: { type: 'string', default: '10000' },
      tpm: { type: 'string', default: '2000000' },
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
  const faultRate = /^(\d+\.?\d*|\.\d+)$/.test(values['fault-rate']) ? Number(values['fault-rate']) : Number.NaN
  if (!(faultRate >= 0 && faultRate <= 1)) {
    throw new UsageError(`--fault-rate must be between 0 and 1, got "${values['fault-rate']}"`)
  }
  return {
    count: integer('count', values.count, 1, maxCount),
    concurrency: integer('concurrency', values.concurrency, 1),
    // The loopback server's generator keeps 32 bits: a larger seed is refused there.
    seed: integer('seed', values.seed, 0, 4_294_967_295),
    faultRate,
    requestsPerMinute: integer('rpm', values.rpm, 1),
    tokensPerMinute: integer('tpm', values.tpm, 1),
  }
}
