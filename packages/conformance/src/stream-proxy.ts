import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * What a {@link startStreamProxy} does to every stream of server-sent events it passes on: `none` passes it on whole;
 * `end-half-way` sends the first half of its events and ends the body cleanly, as a gateway that closes streams on its
 * own timeout does (no byte is malformed and the connection is not reset: only the provider's own end-of-stream events
 * are missing);
 * `garble-first-data` cuts the data of the first event that has data to half its length, keeping the event's name, so
 * an event the provider's format knows does not parse.
 */
export type StreamTampering = 'none' | 'end-half-way' | 'garble-first-data'

/** A proxy in front of a loopback server that tampers with every stream it passes on. */
export interface StreamProxy {
  /** The proxy's base URL, without a trailing slash. */
  readonly url: string
  /**
   * The headers of every request the proxy received, as the client sent them: the loopback server's own log redacts
   * credentials, so this is where the suite reads the key a model sends.
   */
  readonly requestHeaders: readonly IncomingHttpHeaders[]
  /** `server` as a model should see it: every URL and the port of `target` point at the proxy instead. */
  redirect<Server extends object>(server: Server): Server
  close(): Promise<void>
}

/**
 * Starts an HTTP proxy in front of `target` (a base URL) that passes requests and plain answers through, and streams of
 * server-sent events whole (once the upstream stream has ended), tampered with as `tampering` says.
 */
export async function startStreamProxy(target: string, tampering: StreamTampering): Promise<StreamProxy> {
  const upstream = new URL(target)
  const requestHeaders: IncomingHttpHeaders[] = []
  const server = createServer((incoming, outgoing) => {
    requestHeaders.push(incoming.headers)
    forward(upstream, tampering, incoming, outgoing)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    requestHeaders,
    redirect: (running) =>
      new Proxy(running, {
        get(object, property) {
          const value: unknown = Reflect.get(object, property)
          if (property === 'port' && value === Number(upstream.port)) return port
          return typeof value === 'string' && value.startsWith(target) ? url + value.slice(target.length) : value
        },
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function forward(upstream: URL, tampering: StreamTampering, incoming: IncomingMessage, outgoing: ServerResponse): void {
  const proxied = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: incoming.method,
      path: incoming.url,
      headers: incoming.headers,
    },
    (answer) => {
      const streamed = (answer.headers['content-type'] ?? '').includes('text/event-stream')
      const headers = { ...answer.headers }
      if (!streamed) {
        outgoing.writeHead(answer.statusCode ?? 502, headers)
        answer.pipe(outgoing)
        return
      }
      delete headers['content-length']
      delete headers['transfer-encoding']
      let body = ''
      answer.setEncoding('utf8')
      answer.on('data', (chunk: string) => {
        body += chunk
      })
      answer.on('end', () => {
        const events = body.split(/\r?\n\r?\n/).filter((event) => event.trim() !== '')
        outgoing.writeHead(answer.statusCode ?? 200, headers)
        outgoing.end(
          tamper(events, tampering)
            .map((event) => `${event}\n\n`)
            .join(''),
        )
      })
      answer.on('error', () => outgoing.destroy())
    },
  )
  proxied.on('error', () => outgoing.destroy())
  outgoing.on('close', () => proxied.destroy())
  incoming.pipe(proxied)
}

function tamper(events: readonly string[], tampering: StreamTampering): readonly string[] {
  if (tampering === 'none') return events
  if (tampering === 'end-half-way') return events.slice(0, Math.floor(events.length / 2))
  const first = events.findIndex((event) => /^data:/m.test(event))
  return events.map((event, index) =>
    index === first
      ? event.replace(/^data: ?(.*)$/m, (_line, data: string) => `data: ${data.slice(0, data.length / 2)}`)
      : event,
  )
}
