import { brandError, safeStringify, TinyLLMError } from '@tinyllm/core'

/** The longest message an MCP error quotes whole. */
const maxMessageLength = 1_000

/**
 * `message` as an MCP error gives it: whole, or — quoting a server's text longer than 1,000 characters — that text as
 * a JSON string cut there, its secrets replaced before the cut, as every tinyllm error keeps what it quotes short.
 */
function quoted(message: string): string {
  return message.length <= maxMessageLength ? message : safeStringify(message, maxMessageLength)
}

/**
 * The MCP server cannot be reached, or went away: it could not be started or connected to, its process exited, or
 * its connection broke — before or during a call. Calls in flight fail with it at once, not at their deadline.
 */
export class MCPConnectionError extends TinyLLMError {
  override readonly name = 'MCPConnectionError'
  declare static isInstance: (error: unknown) => error is MCPConnectionError
  /** The server, as named when connecting. */
  readonly server: string

  constructor(options: { server: string; message: string; cause?: unknown; functionName?: string; state?: string }) {
    super({
      message: `MCP server ${options.server}: ${quoted(options.message)}`,
      cause: options.cause,
      functionName: options.functionName,
      state: options.state,
    })
    this.server = options.server
  }
}
brandError(MCPConnectionError, 'MCPConnectionError')

/**
 * The MCP server answered a tool call with an error (`isError`, or a JSON-RPC error; the message is the server's), or
 * with an answer that is not an MCP result (not JSON, or not the shape of one): the server was reached, and answered.
 */
export class MCPToolError extends TinyLLMError {
  override readonly name = 'MCPToolError'
  declare static isInstance: (error: unknown) => error is MCPToolError
  readonly server: string
  readonly toolName: string
  /** The JSON-RPC error code, when the server answered with one. */
  readonly code: number | undefined

  constructor(options: {
    server: string
    toolName: string
    message: string
    code?: number | undefined
    cause?: unknown
    functionName?: string
  }) {
    super({
      message: quoted(options.message),
      cause: options.cause,
      functionName: options.functionName,
      state: 'running',
    })
    this.server = options.server
    this.toolName = options.toolName
    this.code = options.code
  }
}
brandError(MCPToolError, 'MCPToolError')
