import type { RouteContext, RouteHandler } from '@tinyllm/testing'

/** Resolves when the request's exchange ends: the client went away, or the server closed. */
function whenClosed(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

const chunk = (delta: Record<string, unknown>) => ({
  id: 'chatcmpl-hanging',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
})

/**
 * Chat-completion routes that never finish on their own, so that only the client can end the exchange (the request
 * log then says `client-closed`): `/hang/v1` never answers; `/slow-stream/v1` streams the start of an answer, then
 * nothing more.
 */
export const hangingRoutes: Readonly<Record<string, RouteHandler>> = {
  'POST /hang/v1/chat/completions': async ({ signal }: RouteContext) => {
    await whenClosed(signal)
    return { status: 499, json: { error: { message: 'closed', type: 'closed' } } }
  },
  'POST /slow-stream/v1/chat/completions': ({ signal }: RouteContext) => ({
    sse: (async function* () {
      yield chunk({ role: 'assistant', content: '' })
      yield chunk({ content: 'The answer is' })
      await whenClosed(signal)
    })(),
  }),
}
