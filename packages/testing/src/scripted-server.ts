import { ConfigurationError, checkNumber, optionError, unreadableOption } from '@tinyllm/core'
import { DelegatingLoopbackServer } from './delegating-loopback-server.js'
import type { LoopbackResponse, RouteContext, RouteHandler, RouteKey } from './loopback-response.js'
import {
  checkServerOptions,
  type ErrorBodyFormatter,
  type LoopbackServer,
  type LoopbackServerOptions,
  loopbackServerOptionKeys,
  startLoopbackServerAs,
} from './loopback-server.js'
import type { ReplyScriptSource } from './reply-script.js'
import { checkReplies, ScriptedRoute, type ScriptedRouteOptions, type UsedUpReply } from './scripted-route.js'

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

/** The keys {@link ScriptedServerOptions} adds to the toolkit's. */
const scriptKeys = {
  replies: true,
  cycleReplies: true,
  chunkChars: true,
  streamEventDelayMs: true,
} satisfies Record<Exclude<keyof ScriptedServerOptions<unknown>, keyof LoopbackServerOptions>, true>

/** Every key of {@link ScriptedServerOptions}: the toolkit's, less `formatError`, and the script's. */
const scriptedServerOptionKeys = Object.freeze([
  ...loopbackServerOptionKeys.filter((key) => key !== 'formatError'),
  ...Object.keys(scriptKeys),
])

/** The script's options, as a provider's route reads them once before its server starts. */
export type ScriptSettings<Source> = Pick<
  ScriptedServerOptions<Source>,
  'replies' | 'cycleReplies' | 'chunkChars' | 'streamEventDelayMs'
>

/**
 * Reads a provider server's options once, before it starts: the script's, and the provider's own through `readOwn`.
 * Options that are not an object, an own option `readOwn` refuses, or one whose reading throws (a getter, a Proxy) are a
 * ConfigurationError naming the server, not a failure of every request. The toolkit's options are checked by the
 * toolkit.
 */
export function readScriptedOptions<Options extends ScriptedServerOptions<unknown>, Own extends object>(
  options: Options,
  name: string,
  readOwn: (options: Options) => Own,
): ScriptSettings<Options['replies']> & Own {
  try {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, name)
    return {
      replies: options.replies,
      cycleReplies: options.cycleReplies,
      chunkChars: options.chunkChars,
      streamEventDelayMs: options.streamEventDelayMs,
      ...readOwn(options),
    }
  } catch (error) {
    throw unreadableOption(error, 'options', name)
  }
}

/**
 * Reads a provider server's `apiKey` option. A key no request could present — not a string, empty, or with characters
 * a header cannot carry or would trim (blanks at either end, a line break) — is a ConfigurationError naming `owner`
 * that never quotes the key, instead of a server that answers every request 401.
 *
 * @example
 * const apiKey = readServerApiKey(options.apiKey, 'startMyServer') // 'sk-test', or undefined: no key checked
 */
export function readServerApiKey(apiKey: unknown, owner: string): string | undefined {
  if (apiKey === undefined) return undefined
  if (typeof apiKey !== 'string') throw optionError('apiKey', 'a string', apiKey, owner)
  if (/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(apiKey)) return apiKey
  throw new ConfigurationError({
    option: 'apiKey',
    message: `apiKey must be a key a request can present in a header: not empty, printable ASCII, no blanks at either end (got ${apiKey.length === 0 ? 'an empty string' : `a string of ${apiKey.length} characters`})`,
    functionName: owner,
  })
}

/** A running provider loopback server that answers from a script. */
export interface ScriptedServer<Source> extends LoopbackServer {
  /** What to give the provider's SDK as `baseURL`. */
  readonly baseURL: string
  /** Replaces where replies come from (a list starts from its first entry). */
  setReplies(replies: Source | undefined, options?: { readonly cycle?: boolean | undefined }): void
}

/** What a provider's API adds to the loopback server: its routes and the shape of its error bodies. */
export interface ScriptedApi {
  /** The function that starts the server, e.g. `startOpenAICompatibleServer`: its option errors name it. */
  readonly name: string
  /** The options the provider's server adds to {@link ScriptedServerOptions} (`models`, `apiKey`…). */
  readonly optionKeys?: ReadonlyArray<string> | undefined
  /** The API's routes, e.g. `'POST /v1/chat/completions'`; left out when a cassette answers instead. */
  readonly routes: Readonly<Record<string, RouteHandler>>
  /** The API's error body, for unknown routes, handlers that threw, and status faults. */
  readonly formatError: ErrorBodyFormatter
}

/**
 * Starts the loopback server under a provider's scripted server, one way for every provider: an option neither the
 * toolkit nor the provider knows is a ConfigurationError naming `api.name` with a suggestion; the toolkit's options as
 * given, the API's routes — unless a cassette answers instead — winning over `options.routes` on a clash, and errors
 * in the API's shape.
 *
 * @example
 * const server = await startScriptedLoopbackServer(options, { name: 'startMyServer', routes: { 'POST /v1/chat': handle }, formatError })
 */
export async function startScriptedLoopbackServer(
  options: ScriptedServerOptions<unknown>,
  api: ScriptedApi,
): Promise<LoopbackServer> {
  const toolkitOptions: Record<string, unknown> = {}
  try {
    checkServerOptions(options, [...scriptedServerOptionKeys, ...(api.optionKeys ?? [])], api.name)
    checkScriptOptions(options, api.name)
    for (const key of loopbackServerOptionKeys) toolkitOptions[key] = options[key as keyof typeof options]
  } catch (error) {
    throw unreadableOption(error, 'options', api.name)
  }
  const { cassette, routes } = toolkitOptions as LoopbackServerOptions
  return startLoopbackServerAs(
    {
      ...(toolkitOptions as LoopbackServerOptions),
      routes: cassette ? routes : { ...routes, ...api.routes },
      formatError: api.formatError,
    },
    api.name,
  )
}

/**
 * The script's own options: a `chunkChars` that is not a whole number ≥ 1 would lose the streamed text, `replies` that
 * are neither a list nor a function (a single reply) would be read letter by letter or not at all.
 */
function checkScriptOptions(options: ScriptedServerOptions<unknown>, owner: string): void {
  checkReplies(options.replies, owner)
  checkNumber(options.chunkChars, 'chunkChars', { integer: true, min: 1 }, owner)
  checkNumber(options.streamEventDelayMs, 'streamEventDelayMs', { min: 0, unit: 'ms' }, owner)
  const cycle = options.cycleReplies
  if (cycle !== undefined && typeof cycle !== 'boolean') throw optionError('cycleReplies', 'a boolean', cycle, owner)
}

/**
 * A provider's scripted loopback server: the toolkit's server, the `baseURL` the provider's SDK takes, and
 * `setReplies` for the route that answers from the script. Provider packages extend it to name the requests their API
 * received (`chatRequests`, `messageRequests`) from `route.requests`.
 */
export class ScriptedLoopbackServer<Request, Context, Reply>
  extends DelegatingLoopbackServer
  implements ScriptedServer<ReplyScriptSource<Request, Context, Reply>>
{
  /** The route that answers from the script. */
  protected readonly route: ScriptedRoute<Request, Context, Reply>
  readonly #baseURLPath: string

  /** `baseURLPath` is what the SDK wants after the server's `url`: `/v1` for OpenAI's, nothing for Anthropic's. */
  constructor(server: LoopbackServer, route: ScriptedRoute<Request, Context, Reply>, baseURLPath = '') {
    super(server)
    this.route = route
    this.#baseURLPath = baseURLPath
    // The log has a request's fault before its route is asked for a reply.
    route.watchFaults((requestIndex) => server.requests[requestIndex]?.fault !== undefined)
  }

  get baseURL(): string {
    return `${this.server.url}${this.#baseURLPath}`
  }

  /**
   * Replaces where replies come from (a list starts from its first entry); `cycle` starts a list over when it runs out.
   * Replies that are neither a list nor a function, and options that are not `{ cycle }` with a boolean (a misspelt
   * `cylce` would be ignored), are a ConfigurationError naming `setReplies`.
   */
  setReplies(
    replies: ReplyScriptSource<Request, Context, Reply> | undefined,
    options: { readonly cycle?: boolean | undefined } = {},
  ): void {
    let cycle: unknown
    try {
      checkReplies(replies, 'setReplies')
      checkServerOptions(options, ['cycle'], 'setReplies')
      cycle = options.cycle ?? false
    } catch (error) {
      throw unreadableOption(error, 'options', 'setReplies')
    }
    if (typeof cycle !== 'boolean') throw optionError('cycle', 'a boolean', cycle, 'setReplies')
    this.route.setReplies(replies, cycle)
  }
}

/** What a scripted reply that is an error holds: the provider's error, with at least a status and a message. */
type ErrorOf<Reply> = Extract<Reply, { readonly error: unknown }>['error']

/**
 * A provider's API as its scripted loopback server speaks it: the one route that answers from the script, what the
 * API refuses, and how replies and errors are written on the wire. Each provider keeps its wire rules; the way a
 * request becomes an answer is the toolkit's.
 */
export interface ScriptedApiDefinition<Request, Context, Reply, Own extends object, RequestsName extends string>
  extends Pick<
    ScriptedRouteOptions<Request, Context, Reply>,
    'requestName' | 'replyKeys' | 'replyProblem' | 'echo' | 'context'
  > {
  /** The function that starts the server, e.g. `startOpenAICompatibleServer`: its option errors name it. */
  readonly name: string
  /** The options the provider adds to {@link ScriptedServerOptions} (`models`, `apiKey`…). */
  readonly optionKeys: readonly string[]
  /** Reads those options once, before the server starts; one it refuses is a ConfigurationError naming `name`. */
  readonly readOptions: (options: Record<string, unknown>) => Own
  /** The route the script answers, e.g. `'POST /v1/chat/completions'`. */
  readonly route: RouteKey
  /** The server's property listing the request bodies the route received, e.g. `chatRequests`. */
  readonly requestsName: RequestsName
  /** What the SDK wants after the server's `url` as its `baseURL`: `/v1` for OpenAI's, nothing for Anthropic's. */
  readonly baseURLPath?: string | undefined
  /** The error the API answers a request with, or `undefined` for one it accepts. */
  readonly refusal: (request: RouteContext, options: ScriptSettings<unknown> & Own) => ErrorOf<Reply> | undefined
  /** The API's answer to an accepted request with its scripted reply. */
  readonly respond: (
    reply: Exclude<Reply, { readonly error: unknown }>,
    body: Request,
    request: RouteContext,
    options: ScriptSettings<unknown> & Own,
  ) => LoopbackResponse
  /**
   * The API's answer with an error: a refusal, a scripted error, or a script that is used up ({@link UsedUpReply}: a
   * status and a message, so every other field of the provider's error must be optional).
   */
  readonly errorResponse: (error: ErrorOf<Reply>, request: RouteContext) => LoopbackResponse
  /** The API's other routes, e.g. `'GET /v1/models'`. */
  readonly otherRoutes?: ((options: Own) => Readonly<Record<string, RouteHandler>>) | undefined
  /** The API's error body, for unknown routes, handlers that threw, and status faults. */
  readonly formatError: ErrorBodyFormatter
}

/** The server {@link startScriptedApiServer} starts: the scripted server, and the requests its route received. */
export type ScriptedApiServer<Request, Context, Reply, RequestsName extends string> = ScriptedServer<
  ReplyScriptSource<Request, Context, Reply>
> & { readonly [Name in RequestsName]: readonly Request[] }

/**
 * Starts a provider's scripted loopback server, one way for every provider: its options read and checked once, then
 * each request of the API's route is refused as the API refuses it, or recorded and answered with its scripted reply
 * (an echo by default) in the API's wire format. A scripted error, or a script used up, is answered in the API's error
 * shape.
 *
 * @example
 * export const startMyServer = (options = {}) => startScriptedApiServer(options, { name: 'startMyServer', route: 'POST /v1/chat', ... })
 */
export async function startScriptedApiServer<Request, Context, Reply, Own extends object, RequestsName extends string>(
  options: ScriptedServerOptions<ReplyScriptSource<Request, Context, Reply>>,
  api: ScriptedApiDefinition<Request, Context, Reply, Own, RequestsName>,
): Promise<ScriptedApiServer<Request, Context, Reply, RequestsName>> {
  const settings = readScriptedOptions(options, api.name, (given) => api.readOptions(given as Record<string, unknown>))
  const route = new ScriptedRoute({
    replies: settings.replies,
    cycleReplies: settings.cycleReplies,
    requestName: api.requestName,
    replyKeys: api.replyKeys,
    replyProblem: api.replyProblem,
    echo: api.echo,
    context: api.context,
  })
  const answer = async (request: RouteContext): Promise<LoopbackResponse> => {
    const refused = api.refusal(request, settings)
    if (refused !== undefined) return api.errorResponse(refused, request)
    const body = request.request.body as Request
    const reply = await route.next(body, request.requestIndex)
    if (typeof reply === 'object' && reply !== null && 'error' in reply) {
      return api.errorResponse(reply.error as ErrorOf<Reply>, request)
    }
    return api.respond(reply as Exclude<Reply, { readonly error: unknown }>, body, request, settings)
  }
  const server = await startScriptedLoopbackServer(options, {
    name: api.name,
    optionKeys: api.optionKeys,
    routes: { ...api.otherRoutes?.(settings), [api.route]: answer },
    formatError: api.formatError,
  })
  const scripted = new ScriptedLoopbackServer(server, route, api.baseURLPath)
  Object.defineProperty(scripted, api.requestsName, { get: () => route.requests })
  return scripted as ScriptedLoopbackServer<Request, Context, Reply> &
    ScriptedApiServer<Request, Context, Reply, RequestsName>
}
