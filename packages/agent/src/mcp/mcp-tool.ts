import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js'
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv'
import type {
  JsonSchemaType,
  JsonSchemaValidator,
  jsonSchemaValidator as ValidatorProvider,
} from '@modelcontextprotocol/sdk/validation/types.js'
import {
  assertJsonSafe,
  type RunContext,
  type StandardSchemaV1,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from '@tinyllm/core'
import { findStrictSchemaViolation, type JsonSchema, portableStrictRules, toStrictJsonSchema } from '@tinyllm/llm'
import { Tool } from '../tool.js'
import { MCPConnectionError, MCPToolError } from './mcp-errors.js'

/** A tool as an MCP server lists it (`tools/list`). */
export interface MCPToolInfo {
  readonly name: string
  readonly title?: string | undefined
  readonly description?: string | undefined
  readonly inputSchema: Readonly<Record<string, unknown>>
  /** The JSON Schema of its `structuredContent`, if it has one: the SDK's client checks each answer against it. */
  readonly outputSchema?: Readonly<Record<string, unknown>> | undefined
  readonly annotations?: Readonly<Record<string, unknown>> | undefined
}

/** @internal What an MCP tool needs of its connection. */
export interface MCPToolConnection {
  readonly name: string
  readonly client: Client
  /**
   * Tracks a call in flight: the signal aborts with `signal` (the run's), or when the connection is lost; call the
   * returned function when done.
   */
  track(signal: AbortSignal): { readonly signal: AbortSignal; readonly done: () => void }
  /** Why the connection was lost, if it was. */
  readonly lostReason: MCPConnectionError | undefined
}

/**
 * A validator of `schema`, compiled on a validator of its own: one shared would keep the `$id` the schema declares
 * registered, and check the schema of another tool with the same `$id` — of this server or another — against this one.
 *
 * ajv reads a property an object inherits as one it has: every object would have a `constructor` and a `toString`, so
 * a schema naming one would refuse a value without it (`must be string`), and miss it when required. It checks a copy
 * of the value made of its own properties alone; the value it gives back is the one it was given.
 */
function compile<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
  const validate = new AjvJsonSchemaValidator().getValidator<T>(schema)
  return (input) => {
    const result = validate(ownPropertiesOf(input, new Map()))
    return result.valid ? { ...result, data: input as T } : result
  }
}

/**
 * `value` with each object in it copied without a prototype — own properties alone, as JSON has them — and each list
 * as a list of as many items (holes kept: a sparse one costs its items, not its length).
 */
function ownPropertiesOf(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value
  const copied = copies.get(value)
  if (copied !== undefined) return copied
  const copy: object = Array.isArray(value) ? new Array(value.length) : Object.create(null)
  copies.set(value, copy)
  for (const key of Object.keys(value)) {
    const item = ownPropertiesOf((value as Record<string, unknown>)[key], copies)
    // Defined, not set: `__proto__` is a key like any other, not the prototype's setter.
    Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true })
  }
  return copy
}

/**
 * @internal The validators the SDK's client compiles for the output schemas of the tools it lists. An output schema
 * that does not compile fails only its own tool — a ConfigurationError naming it when the tools are listed, which
 * `only` leaves out — where the SDK's own would fail the whole tool list.
 */
export const outputValidators: ValidatorProvider = {
  getValidator<T>(schema: JsonSchemaType) {
    try {
      return compile<T>(schema)
    } catch (error) {
      const errorMessage = `its output schema does not compile (${error instanceof Error ? error.message : String(error)})`
      return () => ({ valid: false, data: undefined, errorMessage })
    }
  },
}
const mcpErrorCodes = { requestTimeout: -32001 }
/** The longest delay a timer holds. */
const maxTimerDelayMs = 2_147_483_647

/**
 * A tool of an MCP server, as a tinyllm {@link Tool} (kind `mcp-tool`): its arguments are checked against the server's
 * JSON Schema before the call, the call goes through the MCP client (cancelled with the run, bounded by its deadline),
 * and its result is the server's `structuredContent`, or its text, or its content blocks. An `isError` answer, an
 * error answer and an answer that is not an MCP result fail the run with an {@link MCPToolError}; a server that went
 * away, with an {@link MCPConnectionError}.
 */
export class MCPTool extends Tool<Record<string, unknown>, unknown> {
  override readonly kind: string = 'mcp-tool'
  /** The tool's name on its server (the Function's name may be prefixed or sanitised). */
  readonly serverToolName: string
  private readonly connection: MCPToolConnection

  constructor(connection: MCPToolConnection, info: MCPToolInfo, options: { name: string; needsApproval: boolean }) {
    const parameters = withoutDialect(info.inputSchema)
    super({
      name: options.name,
      // The spec lets a server leave both out, or send them empty: a tool is offered with a description all the same.
      description:
        nonBlank(info.description) ?? nonBlank(info.title) ?? `${info.name} (a tool of MCP server ${connection.name})`,
      input: jsonSchemaValidator(parameters),
      parameters,
      strict: strictCapable(parameters),
      needsApproval: options.needsApproval,
      durable: true,
    })
    // Compiled as the SDK's client compiles it: one that does not compile makes the tool one that cannot be offered.
    if (info.outputSchema !== undefined) compile(info.outputSchema as JsonSchemaType)
    this.serverToolName = info.name
    this.connection = connection
  }

  async run(arguments_: Record<string, unknown>, context: RunContext): Promise<unknown> {
    const connection = this.connection
    const lost = connection.lostReason
    if (lost !== undefined) throw lost
    const call = connection.track(context.signal)
    const deadline = context.deadline
    // The SDK's limit on the request: the run's deadline, else the SDK's default. A timer cannot hold more than
    // 2³¹−1 ms (a longer one fires at once), and a deadline may be further away: the run's own deadline ends it then.
    const timeoutMs =
      deadline === undefined
        ? DEFAULT_REQUEST_TIMEOUT_MSEC
        : Math.min(maxTimerDelayMs, Math.max(1, deadline - Date.now()))
    try {
      const result = await connection.client.callTool({ name: this.serverToolName, arguments: arguments_ }, undefined, {
        signal: call.signal,
        timeout: timeoutMs,
      })
      if (result.isError === true) {
        throw new MCPToolError({
          server: connection.name,
          toolName: this.serverToolName,
          message: textOf(result.content) || `${this.serverToolName} failed`,
          functionName: this.name,
        })
      }
      if (result.structuredContent !== undefined) return result.structuredContent
      const content = (result.content ?? []) as ReadonlyArray<{ type?: unknown; text?: unknown }>
      return content.every((block) => block.type === 'text') ? textOf(content) : content
    } catch (error) {
      throw this.typed(error, call.signal, timeoutMs)
    } finally {
      call.done()
    }
  }

  /**
   * What a call threw, as a tinyllm error: the connection's loss, the server's error, or a timeout. The SDK reports a
   * lost connection and its own timeout with error codes a server may answer with too (-32000 is the first of those
   * JSON-RPC leaves to servers): a server's error answer is an MCPToolError whatever its code. The run's abort comes as
   * the reason of the call's signal; the connection's loss as the data of the error the call fails with (the signal's
   * reason, or the answer to a response cut off), which no server's answer can carry; the SDK's timeout carries the
   * limit it was given.
   */
  private typed(error: unknown, signal: AbortSignal, timeoutMs: number): unknown {
    if (signal.aborted && TinyLLMError.isInstance(signal.reason)) return signal.reason
    if (TinyLLMError.isInstance(error)) return error
    const connection = this.connection
    const { code, data } = (error ?? {}) as { code?: unknown; data?: unknown }
    const message = error instanceof Error ? error.message : String(error)
    if (MCPConnectionError.isInstance(data)) return data
    if (code === mcpErrorCodes.requestTimeout && (data as { timeout?: unknown } | undefined)?.timeout === timeoutMs) {
      return new TimeoutError({ timeoutMs, kind: 'attempt', functionName: this.name, state: 'running' })
    }
    const malformed = malformedAnswer(error)
    if (malformed !== undefined) {
      return new MCPToolError({
        server: connection.name,
        toolName: this.serverToolName,
        message: `the server's answer is malformed: ${malformed}`,
        cause: error,
        functionName: this.name,
      })
    }
    if (typeof code === 'number') {
      // An HTTP refusal's code is its status (or -1, an answer of another content type), not a JSON-RPC error code.
      const http = error instanceof StreamableHTTPError
      return new MCPToolError({
        server: connection.name,
        toolName: this.serverToolName,
        message: http && code > 0 ? `HTTP ${code}: ${message}` : message,
        code: http ? undefined : code,
        cause: error,
        functionName: this.name,
      })
    }
    return new MCPConnectionError({
      server: connection.name,
      message: `the call could not reach the server (${message})`,
      cause: error,
      functionName: this.name,
      state: 'running',
    })
  }
}

/**
 * @internal The data of the error answer a server's answer is replaced with when the SDK would read it otherwise than
 * it was sent (leaving out a key of it): why. No server's answer can carry one.
 */
export class UnreadableAnswer {
  readonly why: string

  constructor(why: string) {
    this.why = why
  }
}

/**
 * @internal What is wrong with the server's answer, when a request failed because the answer reached us but is not an
 * MCP result: not JSON (a SyntaxError from parsing it), JSON the SDK's result schema refuses (its issues, with paths),
 * or JSON the SDK would read otherwise than it was sent (an {@link UnreadableAnswer}).
 */
export function malformedAnswer(error: unknown): string | undefined {
  if (error instanceof SyntaxError) return `it is not JSON (${error.message})`
  const data = (error as { data?: unknown } | null)?.data
  if (data instanceof UnreadableAnswer) return data.why
  const issues = (error as { issues?: unknown } | null)?.issues
  if (!Array.isArray(issues)) return undefined
  return issues
    .map((issue: { path?: unknown; message?: unknown }) => {
      const path = Array.isArray(issue.path) && issue.path.length > 0 ? issue.path.join('.') : '(root)'
      return `${path}: ${String(issue.message)}`
    })
    .join('; ')
}

/** A Standard Schema that checks a value against a JSON Schema, with the validator the MCP SDK uses. */
function jsonSchemaValidator(schema: JsonSchema): StandardSchemaV1<Record<string, unknown>> {
  const validate = compile<Record<string, unknown>>(schema as JsonSchemaType)
  return {
    '~standard': {
      version: 1,
      vendor: 'mcp',
      validate(value) {
        const result = validate(value)
        if (!result.valid) return { issues: [{ message: result.errorMessage }] }
        // The arguments go to the server as JSON, checked as they are sent: a value JSON cannot hold as it is (a cycle,
        // a BigInt; NaN, which it sends as null; a toJSON, which sends another value) is invalid input, not a call
        // that fails as if the server could not be reached, or that sends what the schema refuses.
        try {
          assertJsonSafe(value, { functionName: 'mcp-tool', state: 'input_validation' })
        } catch (error) {
          if (!ValidationError.isInstance(error)) throw error
          return {
            issues: error.issues.map(({ message, path }) => ({ message: `cannot be sent as JSON: ${message}`, path })),
          }
        }
        return { value: result.data }
      },
    },
  }
}

/** `text`, unless it is absent or holds nothing but white space. */
function nonBlank(text: string | undefined): string | undefined {
  return typeof text === 'string' && text.trim() !== '' ? text : undefined
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return ''
  return content
    .map((block: { type?: unknown; text?: unknown }) => (block.type === 'text' ? String(block.text) : ''))
    .join('')
}

function withoutDialect(schema: Readonly<Record<string, unknown>>): JsonSchema {
  const { $schema: _dialect, ...rest } = schema
  return rest.type === undefined ? { type: 'object', ...rest } : rest
}

/**
 * Whether a server's schema can be sent in strict mode to every provider: strict mode can express it (every object
 * lists its properties), and no provider's strict mode refuses what it becomes there (a keyword, a size, a recursive
 * `$ref`). Servers write schemas for any client, so one that cannot is offered without strict mode rather than refused
 * at every turn.
 */
function strictCapable(schema: JsonSchema): boolean {
  try {
    return findStrictSchemaViolation(toStrictJsonSchema(schema).schema, portableStrictRules) === undefined
  } catch {
    return false
  }
}
