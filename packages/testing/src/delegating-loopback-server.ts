import { optionError, unreadableOption } from '@tinyllm/core'
import type { FaultKind, FaultOptions, FaultSchedule } from './fault.js'
import type { Latency } from './latency.js'
import type { LoggedRequest } from './loopback-request.js'
import type { RouteHandler } from './loopback-response.js'
import type { LoopbackServer } from './loopback-server.js'

/**
 * A {@link LoopbackServer} that forwards everything to another one. Provider packages extend it to add their own
 * helpers (a `baseURL`, the parsed requests of their API, `setReplies`) without restating the whole interface.
 */
export class DelegatingLoopbackServer implements LoopbackServer {
  protected readonly server: LoopbackServer

  /**
   * A `server` that is not an object with the methods of a {@link LoopbackServer}, or whose reading throws (a getter, a
   * `Proxy`), is a `ConfigurationError` here, not a TypeError at each later use.
   */
  constructor(server: LoopbackServer) {
    checkLoopbackServer(server)
    this.server = server
  }

  get url(): string {
    return this.server.url
  }

  get port(): number {
    return this.server.port
  }

  get requests(): readonly LoggedRequest[] {
    return this.server.requests
  }

  get inFlight(): number {
    return this.server.inFlight
  }

  get openSockets(): number {
    return this.server.openSockets
  }

  get faultCounts(): Readonly<Record<FaultKind, number>> {
    return this.server.faultCounts
  }

  setLatency(latency: Latency | undefined): void {
    this.server.setLatency(latency)
  }

  setHandler(route: string, handler: RouteHandler | undefined): void {
    this.server.setHandler(route, handler)
  }

  injectFaults(faults: FaultSchedule | FaultOptions): void {
    this.server.injectFaults(faults)
  }

  clearFaults(): void {
    this.server.clearFaults()
  }

  whenIdle(): Promise<void> {
    return this.server.whenIdle()
  }

  close(): Promise<void> {
    return this.server.close()
  }
}

const owner = 'DelegatingLoopbackServer'
const loopbackServerMethods = ['setLatency', 'setHandler', 'injectFaults', 'clearFaults', 'whenIdle', 'close'] as const

function checkLoopbackServer(server: unknown): void {
  const expected = 'a LoopbackServer (as startLoopbackServer resolves to)'
  if (typeof server !== 'object' || server === null) throw optionError('server', expected, server, owner)
  let missing: string | undefined
  try {
    missing = loopbackServerMethods.find((method) => typeof (server as Record<string, unknown>)[method] !== 'function')
  } catch (cause) {
    throw unreadableOption(cause, 'server', owner)
  }
  if (missing !== undefined) throw optionError('server', `${expected}, with a ${missing} method`, server, owner)
}
