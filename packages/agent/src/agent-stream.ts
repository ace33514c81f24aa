import type { AgentEvent } from './agent-event.js'
import type { AgentOutcome } from './agent-outcome.js'

/**
 * A streamed agent run: iterate it for {@link AgentEvent}s as they happen, await `result` for the outcome (the value
 * `invoke` would resolve with). Iterate it at most once; leaving the loop early stops the events, not the run — abort
 * the `signal` given to `stream` to stop the run. An error ends the iteration with the run's typed error, and `result`
 * rejects with it.
 *
 * @example
 * const stream = agent.stream('Review application A-17')
 * for await (const event of stream) if (event.type === 'text-delta') process.stdout.write(event.text)
 * const outcome = await stream.result
 */
export interface AgentStream<Output> extends AsyncIterable<AgentEvent> {
  readonly result: Promise<AgentOutcome<Output>>
}

const compactAfter = 1024

/**
 * @internal The one-producer, one-consumer queue between a run and its reader: unbounded, so the run never waits for a
 * slow reader, and read through a moving head (no `shift`), compacted now and then.
 */
export class EventChannel implements AsyncIterator<AgentEvent> {
  private buffer: AgentEvent[] = []
  private head = 0
  private ended = false
  private failure: { readonly error: unknown } | undefined = undefined
  private detached = false
  private pending:
    | { resolve: (result: IteratorResult<AgentEvent>) => void; reject: (error: unknown) => void }
    | undefined = undefined

  readonly push = (event: unknown): void => {
    if (this.ended || this.detached) return
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      pending.resolve({ value: event as AgentEvent, done: false })
    } else this.buffer.push(event as AgentEvent)
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

  next(): Promise<IteratorResult<AgentEvent>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head] as AgentEvent
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
      this.pending = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<AgentEvent>> {
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
export class AgentStreamResult<Output> implements AgentStream<Output> {
  readonly result: Promise<AgentOutcome<Output>>
  private readonly channel: EventChannel

  constructor(channel: EventChannel, result: Promise<AgentOutcome<Output>>) {
    this.channel = channel
    this.result = result
    result.then(
      () => channel.close(),
      (error: unknown) => channel.fail(error),
    )
    // Whoever only iterates gets the error from the iterator; the same rejection here must not crash the process.
    result.catch(() => {})
  }

  [Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    return this.channel
  }
}
