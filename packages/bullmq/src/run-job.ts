import {
  type Budget,
  checkKnownOptions,
  checkNumber,
  optionError,
  type UsageTotals,
  unreadableOption,
} from '@tinyllm/core'
import { checkKeyName } from './redis-connection.js'

/** What a run's job carries from the producer to a worker. JSON, as everything in Redis. */
export interface RunJobData {
  /** The graph's name: the worker looks it up among its graphs. */
  readonly graph: string
  /** The producer's fingerprint of the graph; the worker refuses the run when its own differs. */
  readonly fingerprint: string
  readonly input: unknown
  readonly runId: string
  /** Absolute deadline, epoch ms. */
  readonly deadline?: number
  readonly metadata?: Readonly<Record<string, unknown>>
  readonly budget?: Budget
  readonly maxConcurrentRuns?: number
  /** The producer's context as its ContextCarrier injected it (a trace context): made active around the run. */
  readonly context?: Readonly<Record<string, string>>
  /**
   * Set by the worker when the run failed: the typed error's JSON (`TinyLLMError.fromJSON` reads it back), at most
   * 1 MiB of it: past that, its lists keep the entries that fit (`issuesLeftOut` counts the others) and a field too
   * large in itself goes, the name, message and retry fields kept first.
   */
  readonly error?: Record<string, unknown>
}

/** The most JSON of a failed run's error its job keeps: what a journal entry or any value sent to a worker may take. */
const maxErrorJsonBytes = 1024 * 1024

/** The fields of an error's JSON kept first: what `TinyLLMError.fromJSON` needs to read it back typed and readable. */
const essentialErrorFields = ['name', 'message', 'functionName', 'state', 'retryable', 'retryAfterMs'] as const

/**
 * The JSON of a failed run's error as its job keeps it: at most {@link maxErrorJsonBytes}, read back as the same typed
 * error. Past the limit, each list in it (a ValidationError's issues) keeps the entries that fit, from the first, and
 * `<list>LeftOut` counts the others (`issuesLeftOut`, as a ValidationError's JSON already counts what it left out);
 * then the fields that fit stay, the name, message, location and retry fields first (each of them short), and a field
 * too large in itself (a cause holding a large object) goes.
 */
export function storedErrorJson(json: Record<string, unknown>): Record<string, unknown> {
  if (jsonBytes(json) <= maxErrorJsonBytes) return json
  const kept: Record<string, unknown> = { ...json }
  const lists = Object.keys(kept).filter((key) => Array.isArray(kept[key]))
  for (const key of lists) kept[key] = []
  // What the lists may take, shared in their order: the first list keeps as much as fits, the next what is left.
  let room = maxErrorJsonBytes - jsonBytes(kept) - lists.length * 32
  for (const key of lists) {
    const list = json[key] as ReadonlyArray<unknown>
    const fitting: unknown[] = []
    for (const entry of list) {
      const entrySize = jsonBytes(entry ?? null) + 1
      if (entrySize > room) break
      room -= entrySize
      fitting.push(entry)
    }
    kept[key] = fitting
    const leftOut = list.length - fitting.length
    if (leftOut > 0) {
      const counted = kept[`${key}LeftOut`]
      kept[`${key}LeftOut`] = leftOut + (typeof counted === 'number' ? counted : 0)
    }
  }
  if (jsonBytes(kept) <= maxErrorJsonBytes) return kept
  // Fields too large in themselves (a cause holding a large object): those that fit stay, the essential ones first.
  const fitted: Record<string, unknown> = {}
  let used = 2
  for (const key of [...essentialErrorFields, ...Object.keys(kept)]) {
    if (Object.hasOwn(fitted, key) || kept[key] === undefined) continue
    const fieldBytes = jsonBytes(key) + jsonBytes(kept[key]) + 2
    if (used + fieldBytes > maxErrorJsonBytes) continue
    fitted[key] = kept[key]
    used += fieldBytes
  }
  return fitted
}

/** The bytes of `value`'s JSON. */
function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null')
}

/** Why a job whose data is not JSON is no run: said, not quoted (the parser's message quotes where a secret may be). */
export const notJsonProblem = 'its job in Redis holds a field that is not JSON (another program wrote it?)'

/** The data a worker gives a job whose data field is not JSON, so that the job fails as not a run's. */
export const unparsableJobData: object = Object.freeze({})

/**
 * What keeps a job's data from being a run's, or `undefined` when it is one: a job that another program queued, or
 * whose data was changed in Redis, may hold anything (`null`, a string, an object naming no graph, text that is not
 * JSON).
 */
export function runJobDataProblem(data: unknown): string | undefined {
  if (data === unparsableJobData) return notJsonProblem
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return `its data is ${data === null ? 'null' : Array.isArray(data) ? 'a list' : `a ${typeof data}`}, not a run's`
  }
  const { graph, fingerprint } = data as Partial<Record<keyof RunJobData, unknown>>
  if (typeof graph !== 'string') return "its data is not a run's: graph is not a string"
  if (typeof fingerprint !== 'string') return "its data is not a run's: fingerprint is not a string"
  return undefined
}

/** What a completed run's job returns. */
export interface RunJobResult {
  readonly output: unknown
  /** Tokens and cost of the whole run, replayed steps included. */
  readonly usage?: UsageTotals
  /** How many durable steps were replayed from the journal instead of run (a resumed run's, after a crash). */
  readonly replayedSteps: number
}

/** Where runs are queued: the BullMQ queue name and the prefix of every key. */
export interface QueueLocation {
  /** BullMQ queue name; default `runs`. Producers and workers of one set of graphs share it. */
  readonly queue?: string
  /** First part of every Redis key; default `tinyllm`. */
  readonly prefix?: string
}

/**
 * Checks the options object of a class of this package — an object, holding no key it does not know (a misspelling
 * such as `requestPerMinute` would otherwise leave a limit off), with a suggestion for the right name — and answers a
 * copy of it, each option read once: one whose reading throws (a getter, a `Proxy`) is a ConfigurationError.
 */
export function checkOptionKeys<Options extends object>(
  options: Options,
  known: ReadonlyArray<keyof Options & string>,
  owner: string,
): Options {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  checkKnownOptions(options, new Set(known), owner)
  const read: Record<string, unknown> = {}
  try {
    for (const key of known) {
      const value = options[key]
      if (value !== undefined) read[key] = value
    }
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
  return read as Options
}

/** The longest delay a timer holds, 2³¹−1 ms: a longer one fires at once (Node sets it to 1 ms), so options refuse it. */
export const maxTimerDelayMs = 2_147_483_647

/** Checks a duration option in ms: a whole number from `min` up to {@link maxTimerDelayMs}; `undefined` when absent. */
export function checkTimerMs(value: unknown, option: string, min: number, owner: string): number | undefined {
  return checkNumber(value, option, { integer: true, min, max: maxTimerDelayMs, unit: 'ms' }, owner)
}

export const defaultQueue = 'runs'
export const defaultPrefix = 'tinyllm'

/** Resolved names of the queue and of the keys beside it. */
export interface QueueNames {
  readonly queue: string
  readonly prefix: string
  /** Channel on which cancel requests are published (the run id is the message). */
  readonly cancelChannel: string
  /** Key that keeps the cancel request of a run that has no job yet, for a worker that starts it later. */
  cancelKey(runId: string): string
  /** Key of a run's job, BullMQ's hash `<prefix>:<queue>:<run id>`. */
  jobKey(runId: string): string
}

/** The third part of the key of a run's cancel request, `<prefix>:<queue>:cancelled:<run id>`: no run may have it as its id. */
export const cancelledKeySegment = 'cancelled'

/** The second part of every journal key, `<prefix>:journal:<idempotency key>`: no queue may have it as its name. */
export const journalKeySegment = 'journal'

/** The second part of a rate limiter's keys, `{<prefix>:limiter:<name>}:grants`. */
export const limiterKeySegment = 'limiter'

/**
 * A prefix of keys, checked: a name of keys (see `checkKeyName`) with no `:<segment>` part that ends with it or is
 * followed by `:`, where `segment` follows the prefix in the keys it names (`journal` for a queue and its journal, the
 * default; `limiter` for a rate limiter). Journal keys are `<prefix>:journal:<key>`: those of such a prefix would also
 * be the journal keys of a shorter one, and each would replay the other's entries (run `r` under `app:journal:x` is run
 * `x:journal:r` under `app`); so would a limiter's keys be another's, each counting the other's grants (`b:limiter:c`
 * under `a` is `c` under `a:limiter:b`).
 */
export function checkPrefix(value: unknown, owner: string, segment = journalKeySegment): string {
  const prefix = checkKeyName(value, 'prefix', owner)
  if (!`${prefix}:`.includes(`:${segment}:`)) return prefix
  const keys = segment === journalKeySegment ? `<prefix>:${segment}:<key>` : `{<prefix>:${segment}:<name>}`
  throw optionError(
    'prefix',
    `a prefix without a ":${segment}" part, where the ${segment} keys of a shorter prefix are (${keys})`,
    prefix,
    owner,
  )
}

/**
 * The queue's names, checked before any connection is opened: a queue is a non-empty string without `:` (BullMQ's
 * rule) other than `journal` (its jobs' keys would be the journal's, `<prefix>:journal:<run id>`), a prefix a
 * non-empty string; neither holds a lone surrogate, which Redis would keep as U+FFFD, another queue's keys.
 */
export function queueNames(location: QueueLocation, owner: string): QueueNames {
  const queue = location.queue ?? defaultQueue
  const prefix = checkPrefix(location.prefix ?? defaultPrefix, owner)
  if (
    typeof queue !== 'string' ||
    queue === '' ||
    queue.includes(':') ||
    queue === journalKeySegment ||
    !queue.isWellFormed()
  ) {
    throw optionError(
      'queue',
      `a non-empty string without ":" or a lone surrogate, other than "${journalKeySegment}"`,
      queue,
      owner,
    )
  }
  return {
    queue,
    prefix,
    cancelChannel: `${prefix}:${queue}:cancel`,
    cancelKey: (runId) => `${prefix}:${queue}:${cancelledKeySegment}:${runId}`,
    jobKey: (runId) => `${prefix}:${queue}:${runId}`,
  }
}
