import type { ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js'
import { STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { ErrorCode, type JSONRPCMessage, McpError } from '@modelcontextprotocol/sdk/types.js'
import {
  ConfigurationError,
  checkKnownOptions,
  checkOneOf,
  optionError,
  safeStringify,
  unreadableOption,
} from '@tinyllm/core'
import { type ClientSecrets, registerClientSecrets } from '@tinyllm/llm'
import { MCPConnectionError } from './mcp-errors.js'
import {
  MCPTool,
  type MCPToolConnection,
  type MCPToolInfo,
  malformedAnswer,
  outputValidators,
  UnreadableAnswer,
} from './mcp-tool.js'
import { NotAMessageError, reportLinesOf } from './stdio-lines.js'

/** An MCP server started as a process of its own, spoken to over its stdin and stdout. */
export interface MCPStdioServerOptions {
  /** Names the server in errors and tool descriptions. */
  readonly name: string
  readonly command: string
  readonly args?: ReadonlyArray<string>
  /** The process's environment; default the SDK's safe subset of this one's (PATH, HOME, …). */
  readonly env?: Readonly<Record<string, string>>
  readonly cwd?: string
  /**
   * Where the server's stderr goes. Default `inherit`. With `pipe`, read it from the connection's `stderr`: a server
   * whose piped stderr nobody reads blocks (or fails) writing to it once the pipe is full.
   */
  readonly stderr?: 'inherit' | 'ignore' | 'pipe'
}

/** An MCP server reached over streamable HTTP. */
export interface MCPHttpServerOptions {
  readonly name: string
  readonly url: string | URL
  /** Sent with every request (an authorization header, say). */
  readonly headers?: Readonly<Record<string, string>>
}

/** Most pages of `tools/list` read from one server: past that, its list is taken not to end. */
const maxToolPages = 1_000

/**
 * Longest `tools/list` cursor taken, in characters. The cursor of every page is kept, to notice one that comes back:
 * 1,000 cursors of 10 MiB each would hold 10 GB, and a server's cursor is an opaque token, not a page of data.
 */
const maxCursorLength = 16_384

/** Most tool names an error quotes. */
const maxNamesQuoted = 20

/** Names as an error quotes them: the first {@link maxNamesQuoted}, each cut short. */
function quotedNames(names: ReadonlyArray<string>): string {
  const quoted = names.slice(0, maxNamesQuoted).map((name) => safeStringify(name, 100))
  if (names.length > maxNamesQuoted) quoted.push(`… ${names.length - maxNamesQuoted} more`)
  return quoted.join(', ')
}

/** Most tools offered from one server: as many as a model may be offered in one call (`LLMCall` refuses more). */
const maxTools = 10_000

const stdioOptionKeys: ReadonlySet<string> = new Set(['name', 'command', 'args', 'env', 'cwd', 'stderr'])
const httpOptionKeys: ReadonlySet<string> = new Set(['name', 'url', 'headers'])
const toolsOptionKeys: ReadonlySet<string> = new Set(['only', 'prefix', 'needsApproval'])

/** A list of strings, holes too read (a hole is no string): a sparse list as long as 2³²−1 is refused at once. */
function isStrings(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false
  for (let index = 0; index < value.length; index++) if (typeof value[index] !== 'string') return false
  return true
}
/** An object of strings, as a literal writes one: a `Headers` or a `Map` (iterable) holds no own properties to copy. */
const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' &&
  value !== null &&
  !(Symbol.iterator in value) &&
  Object.values(value).every((item) => typeof item === 'string')

/**
 * An object of values (`env`, `headers`) read once, into a copy: the values checked, registered as secrets and sent are
 * then the same, where a getter could answer each reading its own (a key sent that was never registered). Anything
 * else is handed back as it is, for the check to refuse.
 */
function ownCopy<Value>(value: Value): Value {
  if (typeof value !== 'object' || value === null || Symbol.iterator in value) return value
  return { ...value }
}

/** The name of the first of `headers` that fetch refuses to send, if one is: its name, or its value, is not valid. */
function unsendableHeader(headers: Readonly<Record<string, string>>): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    try {
      new Headers([[key, value]])
    } catch {
      return key
    }
  }
  return undefined
}

/** Where an MCP server is: a command to start, or a URL. */
export type MCPServerOptions = MCPStdioServerOptions | MCPHttpServerOptions

/** Which tools of a server to offer, and how. */
export interface MCPToolsOptions {
  /** Only these tools (by their name on the server); a name it does not list is a ConfigurationError. Default all. */
  readonly only?: ReadonlyArray<string>
  /** Put before each tool's name (`records_` → `records_lookup`), to keep the tools of several servers apart. */
  readonly prefix?: string
  /**
   * Which calls wait for approval, by tool: e.g. `(tool) => tool.annotations?.destructiveHint === true`. Default none.
   * It must return `true` or `false`: anything else is a ConfigurationError, not taken as "no approval".
   */
  readonly needsApproval?: (tool: MCPToolInfo) => boolean
}

/**
 * Connects to a Model Context Protocol server through the official SDK's client — a command started as a process
 * (stdio), or a URL (streamable HTTP) — and lists its tools as tinyllm tools, ready for an Agent. Close it when done:
 * that ends the server's process (stdio) or the session (HTTP).
 *
 * @example
 * const records = await connectMCPServer({ name: 'records', command: 'node', args: ['records-server.js'] })
 * const agent = new Agent({ name: 'reviewer', model, tools: await records.tools() })
 * // …
 * await records.close()
 */
export async function connectMCPServer(options: MCPServerOptions): Promise<MCPServerConnection> {
  let connection: MCPServerConnection
  let transport: Transport
  try {
    const name = options?.name
    if (typeof name !== 'string' || name === '') {
      throw new ConfigurationError({ option: 'name', message: 'an MCP server needs a name (for errors and tools)' })
    }
    connection = new MCPServerConnection(name)
    transport = connection.transportFor(options)
  } catch (error) {
    throw unreadableOption(error, 'options', 'connectMCPServer')
  }
  const name = connection.name
  const connecting = connection.track(undefined)
  // The SDK bounds the `initialize` request, not the notification it posts after it and waits on (over HTTP, until the
  // server answers it): a handshake not done in the time a request is given is given up on, and closing the
  // connection below ends the post still waiting.
  let timer: ReturnType<typeof setTimeout> | undefined
  const connected = connection.client.connect(transport, { signal: connecting.signal })
  connected.catch(() => {})
  try {
    await Promise.race([
      connected,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the MCP handshake was not done in ${DEFAULT_REQUEST_TIMEOUT_MSEC} ms`)),
          DEFAULT_REQUEST_TIMEOUT_MSEC,
        )
      }),
    ])
  } catch (cause) {
    // A connection lost while connecting says why it was lost (a line on its stdout that is not a message, say).
    const lost = (cause as { data?: unknown } | null)?.data
    const why = lost !== undefined && lost === connection.lostReason ? connection.lostBecause : undefined
    const error = new MCPConnectionError({
      server: name,
      message: `could not connect (${why ?? (cause instanceof Error ? cause.message : String(cause))})`,
      cause,
    })
    // It may quote the credentials (a server echoing them in its refusal): they stay redacted for as long as it lives.
    connection.keepSecretsFor(error)
    await connection.close().catch(() => {})
    throw error
  } finally {
    clearTimeout(timer)
    connecting.done()
  }
  return connection
}

/** A connection to one MCP server: its tools as tinyllm tools, and `close`. */
export class MCPServerConnection implements MCPToolConnection {
  readonly name: string
  /** The SDK's client, for what tinyllm does not wrap (resources, prompts…). */
  readonly client: Client
  /** @internal Why the connection is gone for good, once it is. */
  lostReason: MCPConnectionError | undefined = undefined
  /** @internal The reason of {@link lostReason}, without the server's name before it. */
  lostBecause: string | undefined = undefined
  private readonly inFlight = new Set<AbortController>()
  /** The HTTP request of each JSON-RPC request in flight (streamable HTTP), by its id: closed when it is cancelled. */
  private readonly requests = new Map<unknown, AbortController>()
  /** The requests (streamable HTTP) whose answer is awaited on an event stream, by id: deleted once it is read. */
  private readonly unanswered = new Set<unknown>()
  /** The closing of the connection, once `close` was called: every call of `close` resolves when it is done. */
  private closing: Promise<void> | undefined = undefined
  private piped: Readable | null = null
  /** The credentials of the URL and the headers, registered for redaction while the connection is open. */
  private secrets: ClientSecrets | undefined = undefined
  private releaseSecrets: () => void = () => {}

  /** @internal Use {@link connectMCPServer}. */
  constructor(name: string) {
    this.name = name
    this.client = new Client({ name: 'tinyllm', version: '1' }, { jsonSchemaValidator: outputValidators })
    this.client.onclose = () => this.lose('the connection closed')
  }

  /**
   * The server's tools (every page of `tools/list`), as tinyllm tools. A server whose pages never end — a cursor it
   * gave before, or more than 1,000 pages — is an MCPConnectionError, not a list that grows forever; so is one that
   * lists more than 10,000 tools (of those `only` names), more than a model can be offered, or gives a cursor longer
   * than 16,384 characters. A name in `only` that the server does not list is a ConfigurationError naming it; so are
   * two tools offered under one name — names the server tells apart, alike once sanitised to the letters, digits, `_`
   * and `-` a model accepts and cut to 64 characters — naming both.
   */
  async tools(options: MCPToolsOptions = {}): Promise<MCPTool[]> {
    // Each option read once, into plain values: options whose reading throws (a getter, a Proxy) are bad options too.
    let chosen: {
      only: ReadonlySet<string> | undefined
      prefix: string
      needsApproval: MCPToolsOptions['needsApproval']
    }
    try {
      checkKnownOptions(options, toolsOptionKeys, this.name)
      const { only, prefix, needsApproval } = options
      if (only !== undefined && !isStrings(only)) throw optionError('only', 'a list of tool names', only, this.name)
      if (prefix !== undefined && typeof prefix !== 'string') throw optionError('prefix', 'a string', prefix, this.name)
      if (needsApproval !== undefined && typeof needsApproval !== 'function') {
        throw optionError('needsApproval', 'a function of the tool', needsApproval, this.name)
      }
      chosen = { only: only === undefined ? undefined : new Set(only), prefix: prefix ?? '', needsApproval }
    } catch (error) {
      throw unreadableOption(error, 'options', this.name)
    }
    const { only } = chosen
    const listed: MCPToolInfo[] = []
    // What the server lists, for an `only` naming a tool it does not: how many, and the first names, to say so.
    const found = new Set<string>()
    const firstNames: string[] = []
    let count = 0
    const cursors = new Set<string>()
    let cursor: string | undefined
    do {
      const listing = this.track(undefined)
      const page = await this.client
        .listTools(cursor === undefined ? undefined : { cursor }, { signal: listing.signal })
        .finally(listing.done)
        .catch((cause: unknown) => {
          if (this.lostReason !== undefined) throw this.lostReason
          // Why, in the message: an answer the SDK refuses names where it is wrong (`tools.1.inputSchema.type: …`).
          const why = malformedAnswer(cause) ?? (cause instanceof Error ? cause.message : String(cause))
          const error = new MCPConnectionError({ server: this.name, message: `could not list tools (${why})`, cause })
          this.keepSecretsFor(error)
          throw error
        })
      // One by one, those chosen only: a page of 150,000 tools spread into push would overflow the stack, and more
      // than a model can be offered would take minutes to turn into tools that no call could send.
      for (const tool of page.tools as MCPToolInfo[]) {
        count++
        if (firstNames.length < maxNamesQuoted) firstNames.push(tool.name)
        if (only !== undefined && !only.has(tool.name)) continue
        found.add(tool.name)
        if (listed.length === maxTools) {
          throw new MCPConnectionError({
            server: this.name,
            message: `could not list tools: it lists more than ${maxTools}, more than a model can be offered; choose some with tools({ only: [...] })`,
          })
        }
        listed.push(tool)
      }
      cursor = page.nextCursor
      if (cursor !== undefined && cursor.length > maxCursorLength) {
        throw new MCPConnectionError({
          server: this.name,
          message: `could not list tools: its tools/list cursor is ${cursor.length} characters long, more than the ${maxCursorLength} a cursor may have`,
        })
      }
      if (cursor !== undefined && (cursors.has(cursor) || cursors.size + 1 >= maxToolPages)) {
        const why = cursors.has(cursor)
          ? `the cursor ${JSON.stringify(cursor).slice(0, 100)} came back`
          : `more than ${maxToolPages} pages`
        throw new MCPConnectionError({
          server: this.name,
          message: `could not list tools: its tools/list pages do not end (${why})`,
        })
      }
      if (cursor !== undefined) cursors.add(cursor)
    } while (cursor !== undefined)
    // A name that picks nothing (misspelt, or a tool the server no longer has) would leave the agent a tool short
    // without a word.
    if (only !== undefined && found.size < only.size) {
      const missing = [...only].filter((name) => !found.has(name))
      const more = count > firstNames.length ? `, … ${count - firstNames.length} more` : ''
      throw new ConfigurationError({
        option: 'only',
        message: `MCP server ${this.name}: only names ${quotedNames(missing)}, which it does not list (its tools: ${count === 0 ? 'none' : quotedNames(firstNames)}${more})`,
      })
    }
    // Offered by name, each to one tool: two the server tells apart may be alike once sanitised and cut.
    const offered = new Map<string, MCPTool>()
    for (const tool of listed) {
      const made = this.toolOf(tool, chosen)
      const other = offered.get(made.name)
      if (other !== undefined) {
        const which =
          other.serverToolName === tool.name
            ? `it lists its tool ${safeStringify(tool.name, 100)} twice, and a tool is called by its name; list the others with tools({ only: [...] })`
            : `its tools ${safeStringify(other.serverToolName, 100)} and ${safeStringify(tool.name, 100)} would both be offered as ${safeStringify(made.name, 100)} (a tool's name is sent to the model as 1–64 letters, digits, _ and -); choose one with tools({ only: [...] }), or give them a prefix in separate calls`
        throw new ConfigurationError({ option: 'only', message: `MCP server ${this.name}: ${which}` })
      }
      offered.set(made.name, made)
    }
    return [...offered.values()]
  }

  /**
   * One listed tool as a tinyllm tool. A tool that cannot be offered (an input schema that does not compile) is a
   * ConfigurationError naming the server and the tool, rather than a tool left out without a word: `only` leaves it out.
   */
  private toolOf(
    tool: MCPToolInfo,
    options: { readonly prefix: string; readonly needsApproval: MCPToolsOptions['needsApproval'] },
  ): MCPTool {
    let needsApproval: unknown
    try {
      needsApproval = options.needsApproval === undefined ? false : options.needsApproval(tool)
    } catch (error) {
      // A rule that throws gives no answer: a ConfigurationError, as any answer but true or false is.
      throw unreadableOption(error, 'needsApproval', this.name)
    }
    if (typeof needsApproval !== 'boolean') {
      throw optionError(
        'needsApproval',
        `true or false for tool ${JSON.stringify(tool.name)} of MCP server ${this.name}`,
        needsApproval,
      )
    }
    try {
      const protoKey: unknown = tool.inputSchema[protoKeyMark]
      if (typeof protoKey === 'string') {
        throw new Error(`its schema has a key named __proto__, at ${protoKey}, which the MCP SDK leaves out reading it`)
      }
      const offered = new MCPTool(this, tool, {
        name: `${options.prefix}${tool.name}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64),
        needsApproval,
      })
      // Its results may quote the credentials (a server echoing them): they stay redacted in the run records holding
      // them for as long as the tool lives, as a provider's for as long as its model lives — after close() too.
      this.keepSecretsFor(offered)
      return offered
    } catch (cause) {
      throw new ConfigurationError({
        option: 'only',
        message: `MCP server ${this.name}: its tool ${JSON.stringify(tool.name)} cannot be offered (${cause instanceof Error ? cause.message : String(cause)}); list the others with tools({ only: [...] })`,
        cause,
      })
    }
  }

  /**
   * The server's stderr, when it was started with `stderr: 'pipe'` (else `null`), from its start: read it (a server
   * whose piped stderr nobody reads blocks, or fails, writing to it once the pipe is full).
   *
   * @example
   * const records = await connectMCPServer({ name: 'records', command: 'node', args: ['records-server.js'], stderr: 'pipe' })
   * records.stderr?.on('data', (chunk) => log.debug(String(chunk)))
   */
  get stderr(): Readable | null {
    return this.piped
  }

  /**
   * Closes the connection; calls in flight fail with an MCPConnectionError. It ends the server's process (stdio), or
   * its session (HTTP: the server is told with a DELETE, given up on after 2 s, as the SDK gives a process to end).
   * Called again, it resolves when the first call is done, not before.
   */
  close(): Promise<void> {
    this.closing ??= this.end()
    return this.closing
  }

  private async end(): Promise<void> {
    this.lose('the connection was closed')
    try {
      const transport = this.client.transport
      if (transport instanceof StreamableHTTPClientTransport) await endSession(transport)
      await this.client.close()
    } finally {
      this.releaseSecrets()
    }
  }

  /** @internal Keeps the connection's credentials redacted while `owner` (an error that may quote them) lives. */
  keepSecretsFor(owner: object): void {
    if (this.secrets !== undefined) registerClientSecrets(owner, this.secrets)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** @internal Tracks a request in flight, aborted with `signal` (a run's, say) or when the connection is lost. */
  track(signal: AbortSignal | undefined): { readonly signal: AbortSignal; readonly done: () => void } {
    const controller = new AbortController()
    const stop = (): void => controller.abort(signal?.reason)
    if (signal?.aborted === true) stop()
    else signal?.addEventListener('abort', stop, { once: true })
    if (this.lostReason !== undefined) controller.abort(this.abortReason())
    this.inFlight.add(controller)
    return {
      signal: controller.signal,
      done: () => {
        this.inFlight.delete(controller)
        signal?.removeEventListener('abort', stop)
      },
    }
  }

  /** @internal The transport `options` describe, checked: each option wrong or unknown is a ConfigurationError. */
  transportFor(options: MCPServerOptions): Transport {
    const given = options as Partial<MCPStdioServerOptions & MCPHttpServerOptions>
    const name = this.name
    if ((given.command === undefined) === (given.url === undefined)) {
      throw new ConfigurationError({
        option: 'command',
        message: `an MCP server needs a command (stdio) or a url (streamable HTTP)${given.command === undefined ? '' : ', not both'}`,
        functionName: name,
      })
    }
    if (given.command !== undefined) {
      checkKnownOptions(given, stdioOptionKeys, name)
      const { command, args, cwd } = given
      const env = ownCopy(given.env)
      if (typeof command !== 'string' || command === '')
        throw optionError('command', 'a non-empty string', command, name)
      if (args !== undefined && !isStrings(args)) throw optionError('args', 'a list of strings', args, name)
      if (env !== undefined && !isStringRecord(env)) throw optionError('env', 'an object of strings', env, name)
      if (cwd !== undefined && typeof cwd !== 'string') throw optionError('cwd', 'a string', cwd, name)
      // A process cannot be given a NUL character (Node refuses one, quoting the value: an env var's may be a key).
      const withNul = (
        [
          ['command', [command]],
          ['args', args ?? []],
          ['env', Object.entries(env ?? {}).flat()],
          ['cwd', cwd === undefined ? [] : [cwd]],
        ] as const
      ).find(([, values]) => values.some((value) => value.includes('\0')))
      if (withNul !== undefined) {
        throw new ConfigurationError({
          option: withNul[0],
          message: `${withNul[0]} has a NUL character in it, which a process cannot be given`,
          functionName: name,
        })
      }
      // The values of variables named like a credential (`GITHUB_TOKEN`, `API_KEY`, `MYSQL_PWD`) are never shown.
      if (env !== undefined) {
        this.secrets = { env }
        this.releaseSecrets = registerClientSecrets(this, this.secrets)
      }
      const transport = new StdioClientTransport({
        command,
        ...(args === undefined ? {} : { args: [...args] }),
        ...(env === undefined ? {} : { env: { ...env } }),
        ...(cwd === undefined ? {} : { cwd }),
        stderr: checkOneOf(given.stderr, 'stderr', ['inherit', 'ignore', 'pipe'], name) ?? 'inherit',
      })
      this.piped = transport.stderr as Readable | null
      this.watch(transport)
      // The SDK drops a line of the server's stdout that is not a JSON-RPC message, and the call it may have been the
      // answer to waits for its deadline. Its stdout carries MCP messages alone: a server that writes anything else
      // there is broken (an answer may be lost in it), and the connection is lost at once, the line in its reason.
      reportLinesOf(transport)
      this.watchStdoutEnd(transport)
      this.watchStdin(transport)
      transport.onerror = (error) => {
        if (!(error instanceof NotAMessageError)) return
        const line = safeStringify(error.line, 200)
        this.lose(
          `it wrote a line to its stdout that ${error.what}: ${line} (stdout carries MCP messages alone; write logs to stderr)`,
        )
        this.client.close().catch(() => {})
      }
      return transport
    }
    checkKnownOptions(given, httpOptionKeys, name)
    const { url } = given
    const headers = ownCopy(given.headers)
    const parsed =
      (typeof url === 'string' || url instanceof URL) && URL.canParse(String(url)) ? new URL(url) : undefined
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw optionError('url', 'an http:// or https:// URL', url, name)
    }
    if (parsed.username !== '' || parsed.password !== '') {
      // fetch refuses such a URL, and its refusal quotes it whole: said here, as a provider's baseURL is, never shown.
      throw new ConfigurationError({
        option: 'url',
        message:
          'url has credentials in it (user:password@), which fetch refuses to send: leave them out of the URL and' +
          " send them as a header, e.g. headers: { authorization: 'Basic ' + btoa('user:password') }",
        functionName: name,
      })
    }
    if (headers !== undefined && !isStringRecord(headers)) {
      throw optionError('headers', 'an object of strings', headers, name)
    }
    const unsendable = headers === undefined ? undefined : unsendableHeader(headers)
    if (unsendable !== undefined) {
      // Named, its value never shown (it may be the credentials): fetch would refuse it at the first request.
      throw new ConfigurationError({
        option: 'headers',
        message: `headers: fetch cannot send the header ${safeStringify(unsendable, 100)} (a name must be an HTTP token, a value made of characters up to U+00FF)`,
        functionName: name,
      })
    }
    // Credentials in the URL or the headers are never shown (a server may echo them in an error), as a provider's.
    this.secrets = { baseURL: parsed.href, headers }
    this.releaseSecrets = registerClientSecrets(this, this.secrets)
    const transport = new StreamableHTTPClientTransport(parsed, {
      ...(headers === undefined ? {} : { requestInit: { headers: { ...headers } } }),
      fetch: this.watchedFetch,
    })
    this.watch(transport)
    this.watchResumption(transport)
    return transport
  }

  /**
   * Reads each message of the server before the SDK's client does (which keeps the handler found on the transport),
   * for a key named `__proto__`, which the SDK leaves out: the tools a tool list holds with one in their schemas are
   * marked so (see `protoKeyMark`); an answer with one in its `structuredContent` fails its call, rather than answer it
   * without.
   */
  private watch(transport: Transport): void {
    transport.onmessage = (message: JSONRPCMessage) => {
      const { id, result } = message as {
        id?: string | number
        result?: { tools?: unknown; structuredContent?: unknown }
      }
      if (!('method' in message)) this.unanswered.delete(id)
      const structured = result?.structuredContent
      if (
        id !== undefined &&
        typeof structured === 'object' &&
        structured !== null &&
        Object.hasOwn(structured, '__proto__')
      ) {
        const why = 'its structuredContent has a key named __proto__, which the MCP SDK leaves out reading it'
        this.answerWithError(id, ErrorCode.InternalError, why, new UnreadableAnswer(why))
      }
      const tools = result?.tools
      if (!Array.isArray(tools)) return
      // Told on the tool itself, in the message the SDK reads next (an input schema keeps keys of any name): nothing is
      // kept about tools between messages, and a tool listed again on another page, or in another answer, has its own.
      for (const tool of tools as Array<{ inputSchema?: unknown; outputSchema?: unknown } | null>) {
        const schema = tool?.inputSchema
        if (typeof schema !== 'object' || schema === null) continue
        const at = protoKeyIn(schema, 'inputSchema') ?? protoKeyIn(tool?.outputSchema, 'outputSchema')
        if (at !== undefined) (schema as Record<string, unknown>)[protoKeyMark] = at
        else if (Object.hasOwn(schema, protoKeyMark)) delete (schema as Record<string, unknown>)[protoKeyMark]
      }
    }
  }

  /**
   * Loses the connection once the server's stdout ends: no answer can come after it. The SDK notices a server gone
   * when its process closes — once its stderr has been read to its end too, which a piped stderr not read (yet: not
   * before `connectMCPServer` resolves) never is, and a call would wait for its deadline. The SDK's transport keeps
   * the process in a field of its own once started (the MCP tests check that it does).
   */
  private watchStdoutEnd(transport: StdioClientTransport): void {
    const start = transport.start.bind(transport)
    transport.start = async () => {
      await start()
      const stdout = (Reflect.get(transport, '_process') as ChildProcess | undefined)?.stdout
      stdout?.once('end', () => {
        this.lose('the server closed its stdout (did its process exit?)')
        this.client.close().catch(() => {})
      })
    }
  }

  /**
   * Loses the connection to a server that has stopped reading its stdin (it is stuck): what is written there waits in
   * this process's memory until it is read, and every call that times out meanwhile would leave its request, and its
   * cancellation, there for good. Past 10 MiB waiting — as much as the SDK reads of one message — nothing more is
   * sent: the calls in flight, and every later one, fail with an MCPConnectionError saying so.
   */
  private watchStdin(transport: StdioClientTransport): void {
    const send = transport.send.bind(transport)
    transport.send = (message) => {
      const stdin = (Reflect.get(transport, '_process') as ChildProcess | undefined)?.stdin
      const waiting = stdin?.writableLength ?? 0
      if (waiting <= STDIO_DEFAULT_MAX_BUFFER_SIZE) return send(message)
      this.lose(
        `it does not read its stdin: ${waiting} bytes written there wait to be read, more than the ${STDIO_DEFAULT_MAX_BUFFER_SIZE} a connection holds (is the server stuck?)`,
      )
      this.client.close().catch(() => {})
      return Promise.reject(this.lostReason)
    }
  }

  /**
   * Has the SDK's transport say when it reads an event id on the event stream of a request it posted: it resumes that
   * stream from there if it ends without the answer, which is then no longer awaited on it. The SDK's parser alone
   * knows which ids count (one in an event with data, ended by a blank line, after a byte order mark…).
   */
  private watchResumption(transport: StreamableHTTPClientTransport): void {
    const send = transport.send.bind(transport)
    transport.send = (message, options) => {
      const id = !Array.isArray(message) && 'method' in message && 'id' in message ? message.id : undefined
      if (id === undefined) return send(message, options)
      const onresumptiontoken = (token: string): void => {
        this.unanswered.delete(id)
        options?.onresumptiontoken?.(token)
      }
      return send(message, { ...options, onresumptiontoken })
    }
  }

  /** Fails every call in flight with an MCPConnectionError, and every later one. */
  private lose(reason: string): void {
    if (this.lostReason === undefined) {
      this.lostReason = new MCPConnectionError({ server: this.name, message: reason })
      this.lostBecause = reason
    }
    for (const controller of this.inFlight) controller.abort(this.abortReason())
  }

  /**
   * What a request in flight is aborted with once the connection is lost. The SDK fails the request with an McpError
   * it is aborted with as it is (with any other reason, with an McpError of its own quoting it): this one carries the
   * loss as its data, as the answer to a request whose response was cut off does.
   */
  private abortReason(): McpError {
    return new McpError(ErrorCode.ConnectionClosed, this.lostBecause ?? 'the connection was lost', this.lostReason)
  }

  /**
   * Fails the request `id`, whose HTTP response was cut off before its end (the server died mid-call, or dropped this
   * one answer): an event stream cut off the SDK would leave waiting for the request timeout. The calls beside it are
   * left alone — if the server went away, their responses are cut off too.
   */
  private cutOff(id: unknown): void {
    if (id === undefined) return
    const message = 'a response was cut off before its end (did the server stop?)'
    this.answerWithError(
      id as string | number,
      ErrorCode.ConnectionClosed,
      message,
      new MCPConnectionError({ server: this.name, message }),
    )
  }

  /**
   * Answers the request `id` with an error, before any answer of the server's: the call's error is the answer's data,
   * which no server's answer can carry. An answer of the server's that comes after it answers nothing.
   */
  private answerWithError(id: string | number, code: number, message: string, data: unknown): void {
    this.client.transport?.onmessage?.({ jsonrpc: '2.0', id, error: { code, message, data } })
  }

  /**
   * Answers the request `id`, whose event stream ended, with an error if the SDK read neither an answer nor an event id
   * to resume from on it — once the SDK has read the stream to its end: its reading runs on promises, all settled
   * before the next turn of the event loop.
   */
  private answerIfUnanswered(id: unknown): void {
    setImmediate(() => {
      if (!this.unanswered.delete(id)) return
      const why = 'its event stream ended without an answer the MCP SDK could read, and with no event id to resume from'
      this.answerWithError(id as string | number, ErrorCode.InternalError, why, new UnreadableAnswer(why))
    })
  }

  /**
   * `fetch`, watching each response body: one whose reading breaks before its end means the server went away
   * mid-answer. Only a failed read counts: a body its reader cancelled (the SDK drops the empty answer to each
   * notification it posts, `notifications/cancelled` among them) is no sign of that, nor is a request closed here.
   *
   * A request the client gives up on — its call aborted or out of time — is closed, whatever phase it is in: the SDK
   * tells the server with `notifications/cancelled`, and that notification closes the HTTP request it names, which the
   * server might otherwise hold open until the connection closes.
   *
   * An event stream that ends without the answer to its request — none, or one the SDK cannot read, which it drops —
   * leaves the call waiting for its deadline, unless the SDK read an event id on it to resume it from (it asks for the
   * rest of it then): without one, the request is answered with an error that says so.
   *
   * A message is held whole in memory: a body, or an event of an event stream — a request's, or the GET stream the SDK
   * opens for the server's own messages — larger than the SDK reads over stdio is cut there, failing its request.
   */
  private readonly watchedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const message = jsonRpcMessage(init?.body)
    if (message?.method === 'notifications/cancelled') this.requests.get(message.params?.requestId)?.abort()
    const id = message?.method === undefined ? undefined : message.id
    const request = id === undefined ? undefined : new AbortController()
    if (request !== undefined) this.requests.set(id, request)
    const done = (): void => {
      if (request !== undefined && this.requests.get(id) === request) this.requests.delete(id)
    }
    let response: Response
    try {
      const given = init?.signal ?? undefined
      const signal = given === undefined ? request?.signal : request && AbortSignal.any([request.signal, given])
      response = await fetch(input, signal === undefined ? init : { ...init, signal })
    } catch (error) {
      done()
      throw error
    }
    const body = response.body
    if (body === null) {
      done()
      return response
    }
    const reader = body.getReader()
    let cancelled = false
    // Bytes of the message being read: the whole body, or on an event stream the event since the last blank line.
    let received = 0
    let lineEmpty = false
    let afterCarriageReturn = false
    const contentType = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
    const eventStream = contentType === 'text/event-stream'
    // The stream a request's answer comes on; the others (the one the SDK opens with a GET for the server's own
    // messages) answer nothing, but their events are held as they are read, and bounded alike.
    const answering = eventStream && id !== undefined
    if (answering) this.unanswered.add(id)
    const watched = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let chunk: Awaited<ReturnType<typeof reader.read>>
        try {
          chunk = await reader.read()
        } catch (cause) {
          done()
          this.unanswered.delete(id)
          if (cancelled) return
          // The request was closed because its call was cancelled: its answer ends here, and no one waits for it.
          if (request?.signal.aborted === true) controller.close()
          else {
            this.cutOff(id)
            controller.error(cause)
          }
          return
        }
        // The reader may have cancelled the body while the read was pending: the stream is closed already.
        if (cancelled) return
        if (!eventStream) received += chunk.done ? 0 : chunk.value.byteLength
        else if (!chunk.done) {
          // An event stream may carry any number of events before the answer (progress, logs, keep-alive comments):
          // each is read and dropped as it ends, so only the event being read is held. A line ends in CR LF, LF or CR
          // alone, as the event stream format reads it; an empty line ends the event.
          for (const byte of chunk.value) {
            received++
            const endsLine = byte === CARRIAGE_RETURN || (byte === LINE_FEED && !afterCarriageReturn)
            afterCarriageReturn = byte === CARRIAGE_RETURN
            if (endsLine) {
              if (lineEmpty) received = 0
              lineEmpty = true
            } else if (byte !== LINE_FEED) lineEmpty = false
          }
        }
        if (received > STDIO_DEFAULT_MAX_BUFFER_SIZE) {
          // A message is held whole in memory: one without end would take all of it. Its request fails, and the
          // response is closed (an event without end on the GET stream too, which the SDK opens again, at most twice).
          const why = `it is larger than the ${STDIO_DEFAULT_MAX_BUFFER_SIZE} bytes the MCP SDK reads of an answer over stdio`
          done()
          if (id !== undefined) {
            this.unanswered.delete(id)
            this.answerWithError(id as string | number, ErrorCode.InternalError, why, new UnreadableAnswer(why))
          }
          cancelled = true
          reader.cancel().catch(() => {})
          controller.error(new Error(`the server's ${id === undefined ? 'message' : 'answer'} ${why}`))
          return
        }
        if (!chunk.done) controller.enqueue(chunk.value)
        else {
          done()
          controller.close()
          if (answering) this.answerIfUnanswered(id)
        }
      },
      cancel: (reason) => {
        cancelled = true
        done()
        this.unanswered.delete(id)
        return reader.cancel(reason)
      },
    })
    return new Response(watched, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
}

const LINE_FEED = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * The key by which a listed tool's input schema tells where its schemas have a key named `__proto__` (see `watch`),
 * which the SDK's client leaves out reading them: a property of that name would be dropped without a word. Set by the
 * client alone: one the server sent is taken out.
 */
const protoKeyMark = 'tinyllm:protoKey'

/**
 * Where `value` (read from JSON) has a key named `__proto__`, if it has one: its path from `name`, like
 * `inputSchema.properties.__proto__`. Read without recursion: a schema nested deeper than the stack still gets an answer.
 */
function protoKeyIn(value: unknown, name: string): string | undefined {
  interface Node {
    readonly value: unknown
    readonly key: string
    readonly parent: Node | undefined
  }
  const pending: Node[] = [{ value, key: name, parent: undefined }]
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (typeof node.value !== 'object' || node.value === null) continue
    for (const [key, item] of Object.entries(node.value)) {
      const child: Node = { value: item, key, parent: node }
      if (key !== '__proto__') {
        pending.push(child)
        continue
      }
      const path: string[] = []
      for (let at: Node | undefined = child; at !== undefined; at = at.parent) path.push(at.key)
      const joined = path.reverse().join('.')
      return joined.length <= 200 ? joined : `…${joined.slice(-200)}`
    }
  }
  return undefined
}

/** How long closing a connection waits for the server to end its session (HTTP). */
const endSessionTimeoutMs = 2_000

/**
 * Ends the session of `transport`, if the server gave one: the SDK's client leaves it open on close. A server that
 * refuses or does not answer in time leaves it to end on its own; closing the transport then aborts the request.
 */
async function endSession(transport: StreamableHTTPClientTransport): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      transport.terminateSession(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, endSessionTimeoutMs)
      }),
    ])
  } catch {
    // Refused, or the server is gone: there is no session left to end, or none it lets a client end.
  } finally {
    clearTimeout(timer)
  }
}

/** The JSON-RPC message a request posts, if its body is one: its method, id and params. */
function jsonRpcMessage(
  body: RequestInit['body'] | undefined,
): { method?: unknown; id?: unknown; params?: { requestId?: unknown } } | undefined {
  if (typeof body !== 'string') return undefined
  try {
    const message: unknown = JSON.parse(body)
    return typeof message === 'object' && message !== null ? message : undefined
  } catch {
    return undefined
  }
}
