import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import {
  deserializeMessage,
  ReadBuffer,
  STDIO_DEFAULT_MAX_BUFFER_SIZE,
} from '@modelcontextprotocol/sdk/shared/stdio.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'

/**
 * @internal A line a stdio server wrote to its stdout that is not a JSON-RPC message, or longer than the SDK reads, as
 * its transport reports it: the line (its head, for one too long), and what is wrong with it (`is not …`).
 */
export class NotAMessageError extends Error {
  readonly line: string
  readonly what: string

  constructor(line: string, what: string, cause?: unknown) {
    super(`a line of the server's stdout ${what}`, { cause })
    this.line = line
    this.what = what
  }
}

/**
 * The lines of a stdio server's stdout, read as the SDK's read buffer reads them — one JSON-RPC message a line, at most
 * as many bytes buffered — except that a line that is not a message throws a {@link NotAMessageError} holding it (the
 * SDK's throws the parser's error, which does not say what the line was), and a blank line is passed over.
 */
class LineBuffer extends ReadBuffer {
  private buffered: Buffer | undefined = undefined

  override append(chunk: Buffer): void {
    if ((this.buffered?.length ?? 0) + chunk.length > STDIO_DEFAULT_MAX_BUFFER_SIZE) {
      const head = (this.buffered ?? chunk).subarray(0, 1_000).toString('utf8')
      this.clear()
      throw new NotAMessageError(head, `is longer than the ${STDIO_DEFAULT_MAX_BUFFER_SIZE} bytes the MCP SDK reads`)
    }
    this.buffered = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk])
  }

  override readMessage(): JSONRPCMessage | null {
    let line = ''
    // A blank line carries nothing, and hides no message: passed over (a server may end each message with two).
    while (line.trim() === '') {
      const index = this.buffered?.indexOf('\n') ?? -1
      if (this.buffered === undefined || index === -1) return null
      line = this.buffered.toString('utf8', 0, index).replace(/\r$/, '')
      this.buffered = this.buffered.subarray(index + 1)
    }
    try {
      return deserializeMessage(line)
    } catch (cause) {
      throw new NotAMessageError(line, 'is not a JSON-RPC message', cause)
    }
  }

  override clear(): void {
    this.buffered = undefined
  }
}

/**
 * @internal Has `transport` report a line of the server's stdout that is not a JSON-RPC message to its `onerror` as a
 * {@link NotAMessageError}, the line in it. The SDK's transport keeps its read buffer in a field of its own: this one
 * takes its place (the MCP tests check that it does).
 */
export function reportLinesOf(transport: StdioClientTransport): void {
  Reflect.set(transport, '_readBuffer', new LineBuffer())
}
