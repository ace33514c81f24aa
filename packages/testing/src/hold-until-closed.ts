import { optionError, unreadableOption } from '@tinyllm/core'
import type { RouteKey } from './loopback-response.js'
import type { LoopbackServer } from './loopback-server.js'

/**
 * Makes `server` answer `route` with nothing until the client leaves, and resolves when the next request to it has
 * arrived: a test of cancellation aborts on that event, not after a wait a busy machine may not have reached. The
 * handler stays until another is set. A `server` without `setHandler` (or whose reading throws), or a route it refuses, is
 * a rejected `ConfigurationError`.
 *
 * @example
 * const arrived = holdUntilClosed(server, 'POST /v1/chat/completions')
 * const call = chat.invoke(prompt, { signal: controller.signal })
 * await arrived
 * controller.abort() // the request is closed at the server; `call` rejects with an AbortError
 */
export function holdUntilClosed(server: Pick<LoopbackServer, 'setHandler'>, route: RouteKey): Promise<void> {
  return new Promise((arrived, refused) => {
    let setHandler: unknown
    try {
      setHandler = server?.setHandler
    } catch (error) {
      refused(unreadableOption(error, 'server', owner))
      return
    }
    if (typeof setHandler !== 'function') {
      refused(optionError('server', 'a LoopbackServer (with setHandler)', server, owner))
      return
    }
    // What setHandler throws (a route it refuses) rejects, as bad input to an async function does.
    setHandler.call(server, route, ({ signal }: { readonly signal: AbortSignal }) => {
      arrived()
      return new Promise((answer) => signal.addEventListener('abort', () => answer({ json: {} }), { once: true }))
    })
  })
}

const owner = 'holdUntilClosed'
