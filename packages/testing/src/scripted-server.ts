import type { RouteHandler } from './loopback-response.js'
import type { LoopbackServer, LoopbackServerOptions } from './loopback-server.js'

/**
 * The options every provider's scripted loopback server takes, besides the toolkit's own (latency, faults, seed,
 * cassette): where replies come from and how streams are paced.
 */
export interface ScriptedServerOptions<Source> extends Omit<LoopbackServerOptions, 'routes' | 'formatError'> {
  /** A function of the request, or a list used in order; default: echo the last user message. */
  readonly replies?: Source | undefined
  /** With a list: start over when it runs out instead of answering an error. */
  readonly cycleReplies?: boolean | undefined
  /** Characters per streamed delta; default: text word by word, tool arguments 8 characters at a time. */
  readonly chunkChars?: number | undefined
  /** Pause between streamed events. */
  readonly streamEventDelayMs?: number | undefined
  /** Further routes, e.g. `'POST /v1/embeddings'`; the server's own routes win on a clash. */
  readonly routes?: Readonly<Record<string, RouteHandler>> | undefined
}

/** A running provider loopback server that answers from a script. */
export interface ScriptedServer<Source> extends LoopbackServer {
  /** What to give the provider's SDK as `baseURL`. */
  readonly baseURL: string
  /** Replaces where replies come from (a list starts from its first entry). */
  setReplies(replies: Source | undefined, options?: { readonly cycle?: boolean | undefined }): void
}
