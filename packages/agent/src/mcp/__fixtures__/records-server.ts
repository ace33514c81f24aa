// A real MCP server, written with the SDK's server API, that the MCP tests start as a process of its own:
// `node records-server.ts stdio` speaks over stdin/stdout; `node records-server.ts http` listens on a free port of
// 127.0.0.1 (streamable HTTP, stateless) and prints `listening <url>` once it does. `block` waits for `release`, to
// keep a call in flight as long as a test needs; over HTTP, `garble` gets an answer no MCP server should send.
import { createServer, type ServerResponse } from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'

const applicants: Record<string, { name: string; monthlyIncome: number; monthlyDebt: number }> = {
  'A-17': { name: 'Ada Lovelace', monthlyIncome: 8_000, monthlyDebt: 2_000 },
  'B-42': { name: 'Charles Babbage', monthlyIncome: 3_000, monthlyDebt: 1_800 },
}

/** The calls of `block` waiting for `release` (the process's, shared by the HTTP server's per-request servers). */
const blocked: Array<() => void> = []

function recordsServer(): McpServer {
  const server = new McpServer({ name: 'loan-records', version: '1.0.0' })
  server.registerTool(
    'lookup_applicant',
    {
      description: "An applicant's name, monthly income and monthly debt payments, by applicant id",
      inputSchema: { applicantId: z.string().describe('e.g. A-17') },
      outputSchema: { name: z.string(), monthlyIncome: z.number(), monthlyDebt: z.number() },
    },
    async ({ applicantId }) => {
      const record = applicants[applicantId]
      if (record === undefined) {
        return { content: [{ type: 'text', text: `no applicant ${applicantId}` }], isError: true }
      }
      return { content: [{ type: 'text', text: JSON.stringify(record) }], structuredContent: record }
    },
  )
  server.registerTool(
    'add',
    {
      description: 'Adds two numbers',
      inputSchema: { a: z.number(), b: z.number(), note: z.string().optional() },
    },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  )
  server.registerTool('hang', { description: 'Never answers' }, () => new Promise<never>(() => {}))
  server.registerTool(
    'check_token',
    { description: 'Refuses the token it was started with, quoting it' },
    async () => ({
      content: [{ type: 'text', text: `refused token ${process.env[process.env.TOKEN_VARIABLE ?? 'RECORDS_TOKEN']}` }],
      isError: true,
    }),
  )
  server.registerTool('crash', { description: 'The server process dies while answering' }, () => {
    setImmediate(() => process.exit(3))
    return new Promise<never>(() => {})
  })
  server.registerTool(
    'block',
    { description: 'Answers once release is called' },
    () => new Promise((resolve) => blocked.push(() => resolve({ content: [{ type: 'text', text: 'released' }] }))),
  )
  server.registerTool('blocked', { description: 'How many calls of block are waiting' }, async () => ({
    content: [{ type: 'text', text: String(blocked.length) }],
  }))
  server.registerTool('release', { description: 'Answers every waiting call of block' }, async () => {
    const waiting = blocked.splice(0)
    for (const answer of waiting) answer()
    return { content: [{ type: 'text', text: String(waiting.length) }] }
  })
  server.registerTool(
    'garble',
    {
      description:
        'Over HTTP, its answer arrives garbled: not JSON, a result whose content is not a list, one with a key ' +
        '__proto__, or an event stream that ends with no answer or an event that is not JSON, or with an event id in ' +
        'an event the client does not read (no data); `resumable-stream` ends its event stream with no answer but an ' +
        'event id (`bom-resumable-stream` too, after a byte order mark), and answers once the client resumes it from there; ' +
        '`huge` answers with text of 64 MiB, as JSON or in an event stream (`huge-stream`), unless the client closes it first; ' +
        '`chatty-stream` sends 12 comments of 1 MiB on its event stream before a short answer',
      inputSchema: {
        as: z.enum([
          'not-json',
          'bad-content',
          'proto-key',
          'empty-stream',
          'not-json-event',
          'id-only-event',
          'resumable-stream',
          'bom-resumable-stream',
          'huge',
          'huge-stream',
          'chatty-stream',
        ]),
      },
    },
    async () => ({ content: [{ type: 'text', text: 'not garbled (stdio)' }] }),
  )
  return server
}

/** The id of the call of `garble` whose event stream ended to be resumed. */
let resumable: unknown

/** Over HTTP, a call of `garble` gets an answer the SDK's server would never send: the HTTP layer writes it. */
function garbled(message: unknown): string | undefined {
  const call = message as { method?: unknown; id?: unknown; params?: { name?: unknown; arguments?: { as?: unknown } } }
  if (call?.method !== 'tools/call' || call.params?.name !== 'garble') return undefined
  if (call.params.arguments?.as === 'not-json') return '<<not json>>'
  if (call.params.arguments?.as === 'empty-stream') return ': an event stream with no answer\n\n'
  if (call.params.arguments?.as === 'not-json-event') return 'event: message\ndata: <<not json>>\n\n'
  // An event without data is not dispatched: the client never reads its id.
  if (call.params.arguments?.as === 'id-only-event') return 'retry: 1\nid: garble-2\n\n'
  if (call.params.arguments?.as === 'resumable-stream' || call.params.arguments?.as === 'bom-resumable-stream') {
    // An event id to resume from, and a reconnection delay of 1 ms; a byte order mark before it is read as none.
    resumable = call.id
    return `${call.params.arguments.as === 'bom-resumable-stream' ? '\ufeff' : ''}retry: 1\nid: garble-1\ndata: \n\n`
  }
  if (call.params.arguments?.as === 'proto-key') {
    // As JSON.stringify cannot write it: `__proto__` a key of the structured content's own.
    const structured = '{"__proto__":{"polluted":true},"count":1}'
    return `{"jsonrpc":"2.0","id":${JSON.stringify(call.id)},"result":{"content":[],"structuredContent":${structured}}}`
  }
  return JSON.stringify({ jsonrpc: '2.0', id: call.id, result: { content: 'not-a-list' } })
}

/** An answer whose text is 64 MiB, written a MiB at a time as the client reads it; it stops when the client closes it. */
function hugeAnswer(response: ServerResponse, id: unknown, stream: boolean): void {
  response.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' })
  response.write(
    `${stream ? 'data: ' : ''}{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"`,
  )
  const mebibyte = 'x'.repeat(1024 * 1024)
  let left = 64
  const write = (): void => {
    while (left > 0 && !response.destroyed) {
      left -= 1
      if (!response.write(mebibyte)) {
        response.once('drain', write)
        return
      }
    }
    if (!response.destroyed) response.end(`"}]}}${stream ? '\n\n' : ''}`)
  }
  write()
}

/** An event stream of 12 comments of 1 MiB (12 MiB in all, each event small), then a short answer. */
function chattyAnswer(response: ServerResponse, id: unknown): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' })
  const comment = `: ${'x'.repeat(1024 * 1024)}\n\n`
  let left = 12
  const write = (): void => {
    while (left > 0 && !response.destroyed) {
      left -= 1
      if (!response.write(comment)) {
        response.once('drain', write)
        return
      }
    }
    const answer = { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'chatted' }] } }
    if (!response.destroyed) response.end(`data: ${JSON.stringify(answer)}\n\n`)
  }
  write()
}

if (process.argv[2] === 'http') {
  const http = createServer(async (request, response) => {
    let body = ''
    for await (const chunk of request) body += String(chunk)
    const message: unknown = body === '' ? undefined : JSON.parse(body)
    if (request.method === 'GET' && request.headers['last-event-id'] === 'garble-1') {
      // The rest of the resumable stream: the answer.
      const answer = { jsonrpc: '2.0', id: resumable, result: { content: [{ type: 'text', text: 'resumed' }] } }
      response.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${JSON.stringify(answer)}\n\n`)
      return
    }
    const huge = (message as { params?: { arguments?: { as?: unknown } } } | undefined)?.params?.arguments?.as
    if (huge === 'chatty-stream' && garbled(message) !== undefined) {
      chattyAnswer(response, (message as { id: unknown }).id)
      return
    }
    if ((huge === 'huge' || huge === 'huge-stream') && garbled(message) !== undefined) {
      hugeAnswer(response, (message as { id: unknown }).id, huge === 'huge-stream')
      return
    }
    const garbledAnswer = garbled(message)
    if (garbledAnswer !== undefined) {
      const stream = /^\ufeff?(:|event:|retry:)/.test(garbledAnswer)
      response.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' }).end(garbledAnswer)
      return
    }
    // Stateless: a server and a transport per request, as the SDK's stateless examples do.
    const server = recordsServer()
    const transport = new StreamableHTTPServerTransport({})
    response.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(request, response, message)
  })
  http.listen(0, '127.0.0.1', () => {
    const address = http.address()
    if (typeof address === 'object' && address !== null) console.log(`listening http://127.0.0.1:${address.port}/mcp`)
  })
} else {
  await recordsServer().connect(new StdioServerTransport())
}
