import type { RouteKey } from './loopback-response.js'
import type { LoopbackServer } from './loopback-server.js'

/**
 * Makes `server` answer `route` with nothing until the client leaves, and resolves when the next request to it has
 * arrived: a test of cancellation aborts on that event, not after a wait a busy machine may not have reached. The
 * handler stays until another is set.
 *
 * @example
 * const arrived = holdUntilClosed(server, 'POST /v1/chat/completions')
 * const call = chat.invoke(prompt, { signal: controller.signal })
 * await arrived
 * controller.abort() // the request is closed at the server; `call` rejects with an AbortError
 */
export function holdUntilClosed(server: Pick<LoopbackServer, 'setHandler'>, route: RouteKey): Promise<void> {
  return new Promise((arrived) => {
    server.setHandler(route, ({ signal }) => {
      arrived()
      return new Promise((answer) => signal.addEventListener('abort', () => answer({ json: {} }), { once: true }))
    })
  })
}
