import { abortErrorFor, TimeoutError, type TinyLLMError } from '@tinyllm/core'
import type { ChatResult, ChatStreamPart } from '../chat-model.js'

/** Turns a provider's raw stream events into tinyllm stream parts, then assembles the final result. */
export interface StreamAssembler<Event> {
  /** The parts one raw event yields (often none). */
  add(event: Event): Iterable<ChatStreamPart>
  /** The whole result, once the stream ended; throws a typed error when the stream ended unfinished. */
  finish(): ChatResult
}

/** What {@link streamProviderParts} needs from a provider package. */
export interface ProviderStreamOptions<Event> {
  /** The caller's signal. */
  readonly signal?: AbortSignal | undefined
  /** Fail with a `TimeoutError` (kind `idle`) when the server sends nothing for this long, in ms. */
  readonly idleTimeoutMs?: number | undefined
  /** Sends the request with `signal` and returns the raw event iterator and the request id. */
  open(signal: AbortSignal): Promise<{ readonly events: AsyncIterator<Event>; readonly requestId?: string | undefined }>
  /** Maps whatever the SDK threw to a typed tinyllm error. */
  toError(error: unknown, signal: AbortSignal): TinyLLMError
  /** A fresh assembler for this stream, once the request id is known. */
  createAssembler(requestId: string | undefined): StreamAssembler<Event>
  /** Applied to the assembled result before it is handed out (e.g. `restoreStrictAnswers`). */
  readonly complete?: ((result: ChatResult) => ChatResult) | undefined
}

/**
 * The streaming loop every provider needs, written once: one AbortController per stream, aborted by the caller's
 * signal, by the idle timer, or when the consumer stops early; the idle timer counts the wait for the first byte and
 * every wait between events, never the time the consumer spends on a part; the caller's signal holds exactly one
 * listener, removed when the stream ends; the HTTP request is closed on any early exit. Yields the assembled parts
 * and ends with one `finish` part.
 */
export async function* streamProviderParts<Event>(
  options: ProviderStreamOptions<Event>,
): AsyncIterable<ChatStreamPart> {
  const outer = options.signal
  if (outer?.aborted) throw abortErrorFor(outer)
  const controller = new AbortController()
  const signal = controller.signal
  const onAbort = (): void => controller.abort(outer?.reason)
  outer?.addEventListener('abort', onAbort, { once: true })
  const idleTimeoutMs = options.idleTimeoutMs
  let waiting = true
  const timer =
    idleTimeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          // Time the consumer spends between parts is not the server's silence.
          if (waiting) controller.abort(new TimeoutError({ timeoutMs: idleTimeoutMs, kind: 'idle' }))
        }, idleTimeoutMs)
  let completed = false
  let events: AsyncIterator<Event> | undefined
  try {
    let assembler: StreamAssembler<Event>
    try {
      const opened = await options.open(signal)
      events = opened.events
      assembler = options.createAssembler(opened.requestId)
    } catch (error) {
      throw options.toError(error, signal)
    }
    for (;;) {
      waiting = true
      timer?.refresh()
      let next: IteratorResult<Event>
      try {
        next = await events.next()
      } catch (error) {
        throw options.toError(error, signal)
      }
      // SDKs end a stream quietly when its request is aborted: the signal tells why it ended.
      if (signal.aborted) throw abortErrorFor(signal)
      if (next.done === true) break
      waiting = false
      yield* assembler.add(next.value)
    }
    const assembled = assembler.finish()
    const result = options.complete === undefined ? assembled : options.complete(assembled)
    completed = true
    yield { type: 'finish', result }
  } finally {
    clearTimeout(timer)
    outer?.removeEventListener('abort', onAbort)
    // Closes the HTTP request when the consumer stopped early or something failed, and lets the SDK's stream clean up.
    if (!completed && !signal.aborted) controller.abort()
    if (!completed) events?.return?.().catch(() => {})
  }
}
