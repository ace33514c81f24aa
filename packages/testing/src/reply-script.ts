/**
 * Where a provider's loopback server takes its answers: a function of the request, or a list used in order (and
 * cycled when asked).
 */
export type ReplyScriptSource<Request, Context, Reply> =
  | ((request: Request, context: Context) => Reply | Promise<Reply>)
  | readonly Reply[]

/**
 * The answers a loopback server gives, in order. With no source, `fallback` answers (an echo, say); a list that is used
 * up gives `undefined`, which the server reports as an error naming how many replies were scripted.
 */
export class ReplyScript<Request, Context, Reply> {
  #source: ReplyScriptSource<Request, Context, Reply> | undefined
  #cycle: boolean
  #next = 0
  readonly #fallback: (request: Request) => Reply

  constructor(
    source: ReplyScriptSource<Request, Context, Reply> | undefined,
    cycle: boolean,
    fallback: (request: Request) => Reply,
  ) {
    this.#source = source
    this.#cycle = cycle
    this.#fallback = fallback
  }

  /** Replaces the source; a list starts again from its first entry. */
  set(source: ReplyScriptSource<Request, Context, Reply> | undefined, cycle: boolean): void {
    this.#source = source
    this.#cycle = cycle
    this.#next = 0
  }

  /** How many replies a list holds (0 for a function or no source). */
  get length(): number {
    return typeof this.#source === 'object' ? this.#source.length : 0
  }

  /**
   * The reply to `request`, or `undefined` when a list is used up. With `keep`, a list's reply is read but left for the
   * next request: the one a faulted request would have had is the one its retry gets.
   */
  async next(request: Request, context: Context, keep = false): Promise<Reply | undefined> {
    const source = this.#source
    if (source === undefined) return this.#fallback(request)
    if (typeof source === 'function') return source(request, context)
    if (source.length === 0) return undefined
    if (this.#next >= source.length) {
      if (!this.#cycle) return undefined
      this.#next = 0
    }
    const reply = source[this.#next]
    if (!keep) this.#next++
    return reply
  }
}
