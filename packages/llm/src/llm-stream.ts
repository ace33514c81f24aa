import type { ChatStreamPart } from './chat-model.js'

/** A piece of a streamed answer as an LLMCall hands it out: text or tool-call arguments, as they arrive. */
export type LLMStreamDelta = Exclude<ChatStreamPart, { readonly type: 'finish' }>

/**
 * A streamed LLMCall: iterate it for deltas as they arrive, and await `result` for the final value (the same value
 * `invoke` would return, after usage accounting and validation). The run behind it goes through the whole lifecycle
 * and completes when the stream ends.
 *
 * Iterate it at most once. Leaving the loop early stops the deltas but not the run: `result` still settles. To cancel
 * the call, abort the `signal` passed to `stream`. An error ends the iteration with the run's typed error, and
 * `result` rejects with the same error (a rejection nobody awaits is not reported as unhandled).
 *
 * @example
 * const stream = chat.stream(prompt)
 * for await (const delta of stream) if (delta.type === 'text-delta') process.stdout.write(delta.text)
 * const text = await stream.result
 */
export interface LLMStream<Output> extends AsyncIterable<LLMStreamDelta> {
  readonly result: Promise<Output>
}

const compactAfter = 1024

/**
 * @internal The one-producer, one-consumer queue between a streaming run and its reader. Unbounded on purpose: the
 * producer never waits for the reader, so a slow reader cannot trip the idle timeout, and a response is bounded by the
 * model's maximum output anyway.
 */
export class DeltaChannel implements AsyncIterator<LLMStreamDelta> {
  /** Deltas handed to the reader (or buffered for it) so far. */
  emitted = 0
  private buffer: LLMStreamDelta[] = []
  private head = 0
  private ended = false
  private failure: { readonly error: unknown } | undefined = undefined
  private detached = false
  private pending:
    | { resolve: (result: IteratorResult<LLMStreamDelta>) => void; reject: (error: unknown) => void }
    | undefined = undefined

  push(delta: LLMStreamDelta): void {
    if (this.ended || this.detached) return
    this.emitted += 1
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      pending.resolve({ value: delta, done: false })
    } else {
      this.buffer.push(delta)
    }
  }

  close(): void {
    if (this.ended) return
    this.ended = true
    const pending = this.pending
    this.pending = undefined
    pending?.resolve({ value: undefined, done: true })
  }

  fail(error: unknown): void {
    if (this.ended) return
    this.ended = true
    this.failure = { error }
    const pending = this.pending
    this.pending = undefined
    pending?.reject(error)
  }

  next(): Promise<IteratorResult<LLMStreamDelta>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head] as LLMStreamDelta
      this.head += 1
      if (this.head >= compactAfter && this.head * 2 >= this.buffer.length) {
        this.buffer = this.buffer.slice(this.head)
        this.head = 0
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.failure !== undefined && !this.detached) {
      const { error } = this.failure
      this.detached = true
      return Promise.reject(error)
    }
    if (this.ended || this.detached) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<LLMStreamDelta>> {
    this.detached = true
    this.buffer = []
    this.head = 0
    const pending = this.pending
    this.pending = undefined
    pending?.resolve({ value: undefined, done: true })
    return Promise.resolve({ value: undefined, done: true })
  }
}

/** @internal */
export class LLMStreamResult<Output> implements LLMStream<Output> {
  readonly result: Promise<Output>
  private readonly channel: DeltaChannel

  constructor(channel: DeltaChannel, result: Promise<Output>) {
    this.channel = channel
    this.result = result
    // Whoever only iterates gets the error from the iterator; the same rejection here must not crash the process.
    result.catch(() => {})
  }

  [Symbol.asyncIterator](): AsyncIterator<LLMStreamDelta> {
    return this.channel
  }
}
