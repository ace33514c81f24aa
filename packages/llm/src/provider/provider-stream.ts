import { abortErrorFor, type TinyLLMError } from '@tinyllm/core'
import type { ChatResult, ChatStreamPart } from '../chat-model.js'

/** Turns a provider's raw stream events into tinyllm stream parts, then assembles the final result. */
export interface StreamAssembler<Event> {
  /** The parts one raw event yields (often none). */
  add(event: Event): Iterable<ChatStreamPart>
  /**
   * Whether the provider's last event arrived (Anthropic's `message_stop`), for a provider whose SDK reads on after it:
   * the loop stops reading then, whether or not the server ends the body.
   */
  readonly ended?: boolean
  /** The whole result, once the stream ended; throws a typed error when the stream ended unfinished. */
  finish(): ChatResult
}

/** What {@link streamProviderParts} needs from a provider package. */
export interface ProviderStreamOptions<Event> {
  /** The caller's signal: it closes the request. */
  readonly signal?: AbortSignal | undefined
  /** The caller's `onActivity` (see `ChatCallOptions`): told of every raw event, one that yields no part included. */
  readonly onActivity?: (() => void) | undefined
  /** Sends the request with `signal` and returns the raw event iterator and the request id. */
  open(
    signal: AbortSignal | undefined,
  ): Promise<{ readonly events: AsyncIterator<Event>; readonly requestId?: string | undefined }>
  /**
   * Maps whatever the SDK threw to a typed tinyllm error; `answered` once the stream was open (the server had
   * answered): a failure then is one of reading the answer, never a request that could not be sent.
   */
  toError(error: unknown, signal: AbortSignal | undefined, answered: boolean): TinyLLMError
  /** A fresh assembler for this stream, once the request id is known. */
  createAssembler(requestId: string | undefined): StreamAssembler<Event>
  /** Applied to the assembled result before it is handed out (e.g. `restoreStrictAnswers`). */
  readonly complete?: ((result: ChatResult) => ChatResult) | undefined
}

/**
 * The streaming loop every provider needs, written once: it opens the request with the caller's signal (tinyllm adds no
 * signal of its own: the caller's cancellation, deadline and idle timeout are one scope, and its signal closes the
 * request), maps every failure to a typed error, and yields the assembled parts, ending with one `finish` part. Every
 * raw event is reported to `onActivity` before its parts are yielded: a server tool's progress is no silence.
 * When the consumer stops early or something fails, the SDK's stream is returned, which closes the HTTP request.
 */
export async function* streamProviderParts<Event>(
  options: ProviderStreamOptions<Event>,
): AsyncIterable<ChatStreamPart> {
  const { signal, onActivity } = options
  if (signal?.aborted) throw abortErrorFor(signal)
  // Whether the SDK's stream ran to its end: one that did not is returned, which closes its HTTP request.
  let drained = false
  let events: AsyncIterator<Event> | undefined
  try {
    let assembler: StreamAssembler<Event>
    try {
      const opened = await options.open(signal)
      events = opened.events
      assembler = options.createAssembler(opened.requestId)
    } catch (error) {
      throw options.toError(error, signal, false)
    }
    for (;;) {
      let next: IteratorResult<Event>
      try {
        next = await events.next()
      } catch (error) {
        throw options.toError(error, signal, true)
      }
      // SDKs end a stream quietly when its request is aborted: the signal tells why it ended.
      if (signal?.aborted) throw abortErrorFor(signal)
      if (next.done === true) {
        drained = true
        break
      }
      if (onActivity !== undefined) reportActivity(onActivity)
      yield* assembler.add(next.value)
      if (assembler.ended === true) {
        // The answer is whole at its last event: a server (or proxy) that holds the body open after it must not hold
        // the call. The SDK's stream is returned, which closes the request, before the result is handed out; awaited,
        // as no read is pending on it, so that its cleanup (the listener it put on the caller's signal) is done too.
        drained = true
        try {
          await events.return?.()
        } catch {
          // The answer is whole: how the SDK fared closing the request changes nothing.
        }
        break
      }
    }
    const assembled = assembler.finish()
    const result = options.complete === undefined ? assembled : options.complete(assembled)
    yield { type: 'finish', result }
  } finally {
    // Returning the SDK's stream early closes its HTTP request and lets it clean up; not awaited, as a stalled stream
    // would never answer.
    if (!drained) events?.return?.().catch(() => {})
  }
}

/** Tells `onActivity` of an event; what it throws is no failure of the stream, whose answer it does not change. */
function reportActivity(onActivity: () => void): void {
  try {
    onActivity()
  } catch {
    // The caller's bookkeeping (its idle timer) failed; the stream is read on as it would be without it.
  }
}
