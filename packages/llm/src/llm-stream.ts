import { type InvokeOptions, partNotHandedOut } from '@tinyllm/core'
import type { ChatChoice, ChatStreamPart } from './chat-model.js'
import { copyOptions } from './options-copy.js'

/** A piece of a streamed answer as an LLMCall hands it out: text or tool-call arguments, as they arrive. */
export type LLMStreamDelta = Exclude<ChatStreamPart, { readonly type: 'finish' | 'reasoning-delta' }>

/**
 * A run that streams: iterate it for its parts as they arrive, and await `result` for what the run resolves with (the
 * value `invoke` would return). Iterate it at most once. Leaving the loop early stops the parts, not the run: `result`
 * still settles; abort the `signal` given to `stream` to stop the run. An error ends the iteration with the run's typed
 * error, and `result` rejects with the same error (a rejection nobody awaits is not reported as unhandled).
 */
export interface ResultStream<Part, Result> extends AsyncIterable<Part> {
  readonly result: Promise<Result>
}

/**
 * A streamed LLMCall: deltas as they arrive, and the final output (after usage accounting and validation) as `result`.
 * The run behind it goes through the whole lifecycle and completes when the stream ends.
 *
 * @example
 * const stream = chat.stream(prompt)
 * for await (const delta of stream) if (delta.type === 'text-delta') process.stdout.write(delta.text)
 * const text = await stream.result
 */
export interface LLMStream<Output> extends ResultStream<LLMStreamDelta, Output> {}

/** A choice's tool calls as stream parts, each whole in one delta: how a result that is already complete streams. */
export function toolCallDeltas(
  choice: ChatChoice,
): Array<Extract<ChatStreamPart, { readonly type: 'tool-call-delta' }>> {
  return (choice.message.toolCalls ?? []).map((call, toolCallIndex) => ({
    type: 'tool-call-delta',
    choiceIndex: choice.index,
    toolCallIndex,
    id: call.id,
    name: call.name,
    argumentsDelta: call.arguments,
  }))
}

/**
 * Streams a run: `start` starts it with a `push` to hand each part to the reader (a Function's `stream` option) and
 * returns the run's promise. `push` answers `partNotHandedOut` for a part it hands to no one (the reader left, or the
 * run ended), which a run does not count as streamed: a failed attempt whose parts reached no reader may still be
 * retried. How `LLMCall.stream` and `Agent.stream` are built, for a Function of your own that streams.
 * `onLeave`, if given, is called once when the reader leaves the loop before the run ended (a `break`, a `return`, a
 * throw in the loop's body): to cancel the run, say.
 *
 * @example
 * stream(input: Input, options?: InvokeOptions): ResultStream<string, Output> {
 *   return streamRun((push) => this.invoke(input, streamingOptions(options, push)))
 * }
 */
export function streamRun<Part, Result>(
  start: (push: (part: Part) => true | typeof partNotHandedOut) => Promise<Result>,
  onLeave?: () => void,
): ResultStream<Part, Result> {
  const channel = new PartChannel<Part>(onLeave)
  let result: Promise<Result>
  try {
    // A start written without async may answer a value, or another realm's promise: the result is a promise all the same.
    result = Promise.resolve(start(channel.push))
  } catch (error) {
    // The stream is the one place its run's failure shows: `stream()` itself never throws.
    result = Promise.reject(error)
  }
  result.then(
    () => channel.close(),
    (error: unknown) => channel.fail(error),
  )
  // Whoever only iterates gets the error from the iterator; the same rejection here must not crash the process.
  result.catch(() => {})
  return { result, [Symbol.asyncIterator]: () => channel }
}

/** Every option `invoke` reads by its name: all of them, or this does not compile. */
const invokeOptionNames: ReadonlyArray<string> = Object.keys({
  logger: true,
  onEvent: true,
  budget: true,
  maxConcurrentRuns: true,
  runId: true,
  journal: true,
  executor: true,
  signal: true,
  timeoutMs: true,
  metadata: true,
  stream: true,
  key: true,
  deadline: true,
  parent: true,
} satisfies Record<keyof InvokeOptions, true>)

/**
 * `options` with `stream` set to `push` (and `signal` to `signal`, when given), as a streaming `invoke` takes them: a
 * copy that holds what `invoke` would read of them — their own keys, and each option they hold otherwise (a getter of
 * a settings class, an inherited one), which a spread would leave out, and with it the caller's signal, deadline or
 * budget. Options that are not an object (`5`, `null`, a list), or that cannot be read (a getter or a Proxy that
 * throws), are handed on as they are or as options that fail to be read in the same way, so the run rejects with its
 * typed ConfigurationError, as `invoke` would, and the stream ends with it.
 */
export function streamingOptions(
  options: InvokeOptions | undefined,
  push: (part: unknown) => void,
  signal?: AbortSignal,
): InvokeOptions {
  let copy: Record<string, unknown>
  try {
    // Asked inside the try: `Array.isArray` of a revoked Proxy throws, as reading it does.
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      return options
    }
    copy = options === undefined ? {} : copyOptions(options, invokeOptionNames)
  } catch (error) {
    // The run's reading of its options is the one place their failure is typed; this makes it meet the same failure.
    const fail = (): never => {
      throw error
    }
    return new Proxy({}, { get: fail, has: fail, ownKeys: fail, getOwnPropertyDescriptor: fail, getPrototypeOf: fail })
  }
  copy.stream = push
  if (signal !== undefined) copy.signal = signal
  return copy as InvokeOptions
}

const compactAfter = 1024

/** A reader waiting for the next part. */
interface Waiting<Part> {
  readonly resolve: (result: IteratorResult<Part>) => void
  readonly reject: (error: unknown) => void
}

/**
 * The one-producer, one-consumer queue between a streaming run and its reader. Unbounded on purpose: the producer
 * never waits for the reader, so a slow reader cannot trip an idle timeout, and a response is bounded by the model's
 * maximum output anyway. Read through a moving head (no `shift`), compacted now and then. A reader may ask for several
 * parts at once (`next()` before the last one settled), as the async iterator protocol allows: they are answered in
 * order.
 */
class PartChannel<Part> implements AsyncIterator<Part> {
  private buffer: Part[] = []
  private head = 0
  private ended = false
  private failure: { readonly error: unknown } | undefined = undefined
  private detached = false
  private waiting: Array<Waiting<Part>> = []

  constructor(private readonly onLeave: (() => void) | undefined) {}

  /** Hands `part` to the reader, now or when it asks; `partNotHandedOut` when no reader will ever see it. */
  readonly push = (part: Part): true | typeof partNotHandedOut => {
    if (this.ended || this.detached) return partNotHandedOut
    const waiting = this.waiting.shift()
    if (waiting !== undefined) waiting.resolve({ value: part, done: false })
    else this.buffer.push(part)
    return true
  }

  close(): void {
    for (const waiting of this.end()) waiting.resolve({ value: undefined, done: true })
  }

  fail(error: unknown): void {
    if (!this.ended) this.failure = { error }
    const [first, ...rest] = this.end()
    if (first === undefined) return
    // The first reader waiting gets the error (and the iteration ends with it); the others, the end.
    this.detached = true
    first.reject(error)
    for (const waiting of rest) waiting.resolve({ value: undefined, done: true })
  }

  next(): Promise<IteratorResult<Part>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head] as Part
      this.head += 1
      if (this.head >= compactAfter && this.head * 2 >= this.buffer.length) {
        this.buffer = this.buffer.slice(this.head)
        this.head = 0
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.failure !== undefined && !this.detached) {
      this.detached = true
      return Promise.reject(this.failure.error)
    }
    if (this.ended || this.detached) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject })
    })
  }

  return(): Promise<IteratorResult<Part>> {
    const leaving = !this.ended && !this.detached
    this.detached = true
    this.buffer = []
    this.head = 0
    for (const waiting of this.takeWaiting()) waiting.resolve({ value: undefined, done: true })
    if (leaving) this.onLeave?.()
    return Promise.resolve({ value: undefined, done: true })
  }

  /** Marks the end (once) and hands back the readers waiting for it. */
  private end(): Array<Waiting<Part>> {
    if (this.ended) return []
    this.ended = true
    return this.takeWaiting()
  }

  private takeWaiting(): Array<Waiting<Part>> {
    const waiting = this.waiting
    this.waiting = []
    return waiting
  }
}
