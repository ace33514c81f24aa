import { checkKnownOptions, checkNumber, optionError, unreadableOption } from '@tinyllm/core'
import { finalStatus, readHeaders } from './fault.js'
import { ReplyScript, type ReplyScriptSource } from './reply-script.js'

/** Options of a {@link ScriptedRoute}. */
export interface ScriptedRouteOptions<Request, Context, Reply> {
  /** Where replies come from: the server's `replies` option; default: `echo`. */
  readonly replies?: ReplyScriptSource<Request, Context, Reply> | undefined
  /** With a list: start over when it runs out instead of answering an error. */
  readonly cycleReplies?: boolean | undefined
  /** The API's name for one request of the route, for the used-up error: `chat request`, `Messages request`. */
  readonly requestName: string
  /** The reply when none is scripted, e.g. the last user message. */
  readonly echo: (request: Request) => Reply
  /** What a reply function receives besides the request: built from its arrival index and its index on this route. */
  readonly context: (requestIndex: number, index: number) => Context
  /**
   * The fields a reply object may have. A reply with another (a misspelling, another provider's name for a field) is
   * answered with an HTTP 400 that names it and suggests the right one, instead of a reply that leaves it out.
   */
  readonly replyKeys?: ReadonlySet<string> | undefined
  /**
   * What is wrong with a reply object's fields (`content: 5`, tool calls that are not a list), or `undefined`: such a
   * reply is answered with an HTTP 400 saying so, instead of an answer the API never gives or a 500 of the server's own.
   */
  readonly replyProblem?: ((reply: object) => string | undefined) | undefined
}

/** The reply of a route whose list of replies is used up (an HTTP 500), or that has a field it does not know (a 400). */
export interface UsedUpReply {
  readonly error: { readonly status: 500 | 400; readonly message: string }
}

/**
 * The scripted side of a provider's API route, the same for every provider: the request bodies the route received, in
 * order, and the reply to each from its {@link ReplyScript}. The provider checks each request and writes its reply in
 * its API's wire format. Options that are not an object, lack a `requestName` string or the `echo` and `context`
 * functions, hold a key the route does not know (`replise`: a suggestion names `replies`) or a wrong `replies`,
 * `cycleReplies`, `replyKeys` or `replyProblem`, or throw as they are read, are a `ConfigurationError` naming the first
 * wrong one.
 *
 * @example
 * const chat = new ScriptedRoute({ ...options, requestName: 'chat request', echo, context: (requestIndex, chatIndex) => ({ requestIndex, chatIndex }) })
 * const reply = await chat.next(body, requestIndex) // the scripted reply, or a UsedUpReply
 */
export class ScriptedRoute<Request, Context, Reply> {
  /** The bodies received, in the order they were answered. */
  readonly requests: Request[] = []
  readonly #script: ReplyScript<Request, Context, Reply>
  readonly #requestName: string
  readonly #context: (requestIndex: number, index: number) => Context
  readonly #replyKeys: ReadonlySet<string> | undefined
  readonly #replyProblem: ((reply: object) => string | undefined) | undefined
  #faulted: (requestIndex: number) => boolean = () => false

  constructor(options: ScriptedRouteOptions<Request, Context, Reply>) {
    const read = readRouteOptions(options)
    this.#script = new ReplyScript(read.replies, read.cycleReplies ?? false, read.echo)
    this.#requestName = read.requestName
    this.#context = read.context
    this.#replyKeys = read.replyKeys
    this.#replyProblem = read.replyProblem
  }

  /** Replaces where replies come from (a list starts from its first entry). */
  setReplies(replies: ReplyScriptSource<Request, Context, Reply> | undefined, cycle: boolean): void {
    // Checked here too: a route used on its own would answer its next request with a used-up 500, not say why.
    checkReplies(replies, 'ScriptedRoute.setReplies')
    if (typeof cycle !== 'boolean') throw optionError('cycle', 'a boolean', cycle, 'ScriptedRoute.setReplies')
    this.#script.set(replies, cycle)
  }

  /**
   * Tells the route which of the server's requests were given a fault (a reset, a status, a cut stream…): the reply a
   * list gives such a request is not used up, so the request after it — the client's retry — gets it.
   * `ScriptedLoopbackServer` calls it with its request log.
   */
  watchFaults(faulted: (requestIndex: number) => boolean): void {
    this.#faulted = faulted
  }

  /** Records `request`, the server's request number `requestIndex`, and returns its reply. */
  async next(request: Request, requestIndex: number): Promise<Reply | UsedUpReply> {
    const index = this.requests.push(request) - 1
    const keep = this.#faulted(requestIndex)
    const reply = await this.#script.next(request, this.#context(requestIndex, index), keep)
    const owner = `the loopback server's scripted reply to ${this.#requestName} #${index}`
    // A number or null is no reply the wire format can write: answered, it became an empty answer or a 500.
    if (reply !== undefined && typeof reply !== 'string' && (typeof reply !== 'object' || reply === null)) {
      return { error: { status: 400, message: optionError('reply', 'a string or an object', reply, owner).message } }
    }
    if (reply !== undefined && typeof reply === 'object' && reply !== null) {
      try {
        if (this.#replyKeys !== undefined) checkKnownOptions(reply, this.#replyKeys, owner)
        if ('error' in reply) {
          const error = (reply as { readonly error?: unknown }).error
          // The server answers any reply holding `error` as an error: one that is no object would be a 500 or a bare body.
          if (typeof error !== 'object' || error === null)
            throw optionError('error', 'an object { status, message }', error, owner)
          checkNumber((error as { readonly status?: unknown }).status, 'error.status', finalStatus, owner)
          const message = (error as { readonly message?: unknown }).message
          if (typeof message !== 'string') throw optionError('error.message', 'a string', message, owner)
          readHeaders((error as { readonly headers?: unknown }).headers, 'error.headers', owner)
        }
        const problem = this.#replyProblem?.(reply)
        if (problem !== undefined) return { error: { status: 400, message: `${owner}: ${problem}` } }
      } catch (error) {
        // A getter or Proxy of the reply that throws is named, its message redacted, as an unreadable option is.
        return { error: { status: 400, message: unreadableOption(error, 'reply', owner).message } }
      }
    }
    if (reply !== undefined) return reply
    return {
      error: {
        status: 500,
        message: `The loopback server's ${this.#script.length} scripted replies are used up (${this.#requestName} #${index}); script more or set cycleReplies.`,
      },
    }
  }
}

const routeOptionKeys: ReadonlySet<string> = new Set(
  Object.keys({
    replies: 0,
    cycleReplies: 0,
    requestName: 0,
    echo: 0,
    context: 0,
    replyKeys: 0,
    replyProblem: 0,
  } satisfies Record<keyof ScriptedRouteOptions<unknown, unknown, unknown>, 0>),
)

/**
 * Reads the options a route is built on, each once (a getter cannot answer the check one value and the route another),
 * refusing the first wrong one as every option check does: a key the route does not know (`replise`) with a
 * suggestion, replies that are neither a list nor a function, a `cycleReplies` that is not a boolean, or an option
 * whose reading throws.
 */
function readRouteOptions<Request, Context, Reply>(
  options: ScriptedRouteOptions<Request, Context, Reply>,
): ScriptedRouteOptions<Request, Context, Reply> {
  const owner = 'ScriptedRoute'
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  let read: Record<keyof ScriptedRouteOptions<Request, Context, Reply>, unknown>
  try {
    checkKnownOptions(options, routeOptionKeys, owner)
    const { replies, cycleReplies, requestName, echo, context, replyKeys, replyProblem } = options
    read = { replies, cycleReplies, requestName, echo, context, replyKeys, replyProblem }
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
  const { requestName, echo, context, cycleReplies, replyKeys, replyProblem } = read
  if (typeof requestName !== 'string') throw optionError('requestName', 'a string', requestName, owner)
  if (typeof echo !== 'function') throw optionError('echo', 'a function', echo, owner)
  if (typeof context !== 'function') throw optionError('context', 'a function', context, owner)
  checkReplies(read.replies, owner)
  if (cycleReplies !== undefined && typeof cycleReplies !== 'boolean') {
    throw optionError('cycleReplies', 'a boolean', cycleReplies, owner)
  }
  if (replyKeys !== undefined && !(replyKeys instanceof Set)) {
    throw optionError('replyKeys', 'a set of field names', replyKeys, owner)
  }
  if (replyProblem !== undefined && typeof replyProblem !== 'function') {
    throw optionError('replyProblem', 'a function', replyProblem, owner)
  }
  return read as unknown as ScriptedRouteOptions<Request, Context, Reply>
}

/**
 * Refuses `replies` that are neither a list nor a function (a single reply), which would be read letter by letter or
 * not at all, naming `owner`.
 */
export function checkReplies(replies: unknown, owner: string): void {
  if (replies === undefined || Array.isArray(replies) || typeof replies === 'function') return
  throw optionError('replies', 'a list of replies or a function of the request', replies, owner)
}
