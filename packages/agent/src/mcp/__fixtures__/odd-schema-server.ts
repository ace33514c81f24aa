// A real MCP server over stdio, written with the SDK's low-level server API, that lists a tool whose input schema no
// JSON Schema validator compiles (`type: 'nonsense'`) beside one that is fine: what a careless server can send.
// `pages` lists its tools over pages: `paged` over two that end, `loop` over pages whose cursor comes back, `endless`
// over pages with a new cursor each time, `many` 160,000 tools on one page, `long-cursor` a cursor of 100,000 characters; `not-object` lists a tool whose input schema is not an object's, which the
// SDK's client refuses in the whole list; `bad-output` lists a tool whose output schema does not compile; `same-id`
// two tools whose different input schemas declare the same `$id`; `own-keys` tools whose schemas name properties every
// object inherits (`constructor`, `toString`, `valueOf`) and tools whose schemas have a key `__proto__`;
// `proto-then-plain` one name over two pages, its schema with a key `__proto__` on the first only; `names` tools
// with blank descriptions and names alike once sanitised; `repeated` one tool on two pages; `strict-refused` tools
// whose schemas a provider's strict mode refuses though every object lists its properties (a keyword OpenAI's strict
// mode does not take, nesting or an enum past its limits, a recursive `$ref`, which Anthropic's refuses); `banner` writes
// a line that is not a JSON-RPC message to its stdout before it starts. A call with a `stdout` argument writes that to
// its stdout as a line (`repeat` times over), and answers nothing; one with a `stderr` argument writes that to its
// stderr (`repeat` times over, at once, as a process that does not buffer it does), and answers `logged`. One with
// `stall: true` stops reading its stdin, as a stuck server does, writes `stalled` to its stderr, and answers nothing.
import { writeSync } from 'node:fs'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { CallToolRequestSchema, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js'

const pages = process.argv[2]
let listed = 0
if (pages === 'banner') process.stdout.write('odd server starting\n')

const server = new Server({ name: 'odd', version: '1.0.0' }, { capabilities: { tools: {} } })
server.setRequestHandler(ListToolsRequestSchema, async (request) => {
  listed += 1
  if (pages === 'paged' && request.params?.cursor === undefined) {
    return { tools: [{ name: 'first', inputSchema: { type: 'object' } }], nextCursor: 'page-2' }
  }
  if (pages === 'paged') return { tools: [{ name: 'second', inputSchema: { type: 'object' } }] }
  if (pages === 'proto-then-plain') {
    // The same name on two pages: first with a key __proto__ in its schema, then without.
    const inputSchema =
      request.params?.cursor === undefined
        ? JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}')
        : { type: 'object' }
    return {
      tools: [{ name: 'twice', inputSchema }],
      ...(request.params?.cursor === undefined ? { nextCursor: 'p2' } : {}),
    }
  }
  if (pages === 'loop') return { tools: [{ name: 'same', inputSchema: { type: 'object' } }], nextCursor: 'again' }
  if (pages === 'not-object') {
    return {
      tools: [
        { name: 'fine', inputSchema: { type: 'object' } },
        { name: 'text_only', inputSchema: { type: 'string' } },
      ],
    }
  }
  if (pages === 'same-id') {
    const $id = 'https://example.com/input.json'
    return {
      tools: [
        {
          name: 'named',
          inputSchema: { $id, type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        },
        {
          name: 'counted',
          inputSchema: { $id, type: 'object', properties: { count: { type: 'number' } }, required: ['count'] },
        },
      ],
    }
  }
  if (pages === 'bad-output') {
    return {
      tools: [
        { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
        {
          name: 'broken_output',
          inputSchema: { type: 'object' },
          outputSchema: { type: 'object', properties: { a: { type: 'nonsense' } } },
        },
      ],
    }
  }
  if (pages === 'own-keys') {
    return {
      tools: [
        {
          name: 'inherited_names',
          inputSchema: {
            type: 'object',
            properties: {
              constructor: { type: 'object' },
              toString: { type: 'string' },
              prototype: { type: 'boolean' },
            },
            required: ['constructor'],
          },
        },
        {
          name: 'inherited_output',
          inputSchema: { type: 'object' },
          outputSchema: { type: 'object', properties: { valueOf: { type: 'string' }, count: { type: 'number' } } },
        },
        // As JSON.parse reads them: `__proto__` is a key of its own, which an object literal cannot write.
        {
          name: 'proto_input',
          inputSchema: JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}'),
        },
        {
          name: 'proto_output',
          inputSchema: { type: 'object' },
          outputSchema: JSON.parse(
            '{"type":"object","properties":{"a":{"type":"object","properties":{"__proto__":{}}}}}',
          ),
        },
      ],
    }
  }
  if (pages === 'many') {
    // One page of 160,000 tools (8 MB, under the 10 MiB the client reads of a line) and the next with one more.
    if (request.params?.cursor === undefined) {
      const tools = Array.from({ length: 160_000 }, (_, index) => ({
        name: `t${index}`,
        inputSchema: { type: 'object' },
      }))
      return { tools, nextCursor: 'last' }
    }
    return { tools: [{ name: 'last', inputSchema: { type: 'object' } }] }
  }
  if (pages === 'long-cursor') {
    // A cursor of 100,000 characters, then the last page.
    if (request.params?.cursor === undefined) {
      return { tools: [{ name: 'first', inputSchema: { type: 'object' } }], nextCursor: 'c'.repeat(100_000) }
    }
    return { tools: [{ name: 'second', inputSchema: { type: 'object' } }] }
  }
  if (pages === 'repeated') {
    // One tool listed on both of two pages.
    const tools = [{ name: 'same', description: 'Listed twice', inputSchema: { type: 'object' } }]
    return request.params?.cursor === undefined ? { tools, nextCursor: 'p2' } : { tools }
  }
  if (pages === 'names') {
    // Names and descriptions as the MCP spec allows them: an empty or blank description, a title alone, names with a
    // dot or longer than 64 characters, two of which are alike once only letters, digits, _ and - are kept.
    const long = `lookup_${'x'.repeat(60)}`
    return {
      tools: [
        { name: 'blank', description: '', inputSchema: { type: 'object' } },
        { name: 'spaced', description: '  ', title: 'Spaced out', inputSchema: { type: 'object' } },
        { name: 'admin.get_user', description: 'Dotted', inputSchema: { type: 'object' } },
        { name: 'admin_get_user', description: 'Underscored', inputSchema: { type: 'object' } },
        { name: `${long}_1`, description: 'Long, first', inputSchema: { type: 'object' } },
        { name: `${long}_2`, description: 'Long, second', inputSchema: { type: 'object' } },
      ],
    }
  }
  if (pages === 'strict-refused') {
    let nested: Record<string, unknown> = { type: 'object', properties: { leaf: { type: 'string' } } }
    for (let level = 0; level < 11; level++) nested = { type: 'object', properties: { inner: nested } }
    const text = { type: 'string' }
    const schemas: Record<string, Record<string, unknown>> = {
      unevaluated: { type: 'object', properties: { a: text }, unevaluatedProperties: false },
      dependent: { type: 'object', properties: { a: text, b: text }, dependentRequired: { a: ['b'] } },
      property_names: { type: 'object', properties: { a: text }, propertyNames: { maxLength: 3 } },
      nested,
      many_values: {
        type: 'object',
        properties: { a: { type: 'string', enum: Array.from({ length: 1001 }, String) } },
      },
      recursive: {
        type: 'object',
        properties: { filter: { $ref: '#/$defs/filter' } },
        $defs: {
          filter: {
            type: 'object',
            properties: { field: text, and: { type: 'array', items: { $ref: '#/$defs/filter' } } },
          },
        },
      },
    }
    return { tools: Object.entries(schemas).map(([name, inputSchema]) => ({ name, description: name, inputSchema })) }
  }
  if (pages === 'endless') {
    return { tools: [{ name: `tool_${listed}`, inputSchema: { type: 'object' } }], nextCursor: `page-${listed + 1}` }
  }
  return {
    tools: [
      {
        name: 'echo',
        description: 'Says its text back',
        inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
      },
      {
        name: 'broken',
        description: 'Its schema is not one',
        inputSchema: { type: 'object', properties: { a: { type: 'nonsense' } } },
      },
    ],
  }
})
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  // `fail` with a JSON-RPC error code answers with that error, its message `repeat` times as long.
  const code = request.params.arguments?.fail
  const repeat = Number(request.params.arguments?.repeat ?? 1)
  if (typeof code === 'number') throw new McpError(code, 'the database is down'.repeat(repeat))
  const stderr = request.params.arguments?.stderr
  if (typeof stderr === 'string') {
    // Written whole before answering, as a process whose writes block does: a pipe full and unread holds it here.
    let unwritten = Buffer.from(stderr.repeat(repeat))
    while (unwritten.length > 0) {
      try {
        unwritten = unwritten.subarray(writeSync(2, unwritten))
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'EAGAIN') throw error
      }
    }
    return { content: [{ type: 'text', text: 'logged' }] }
  }
  if (request.params.arguments?.stall === true) {
    // Paused, stdin no longer holds the process open: a timer does. Its stderr says when it has stopped reading.
    process.stdin.pause()
    setInterval(() => {}, 60_000)
    writeSync(2, 'stalled\n')
    return new Promise<never>(() => {})
  }
  if (request.params.arguments?.blank === true) process.stdout.write('\n \r\n\t\n')
  const stdout = request.params.arguments?.stdout
  if (typeof stdout === 'string') {
    process.stdout.write(`${stdout.repeat(repeat)}\n`)
    return new Promise<never>(() => {})
  }
  if (request.params.name === 'inherited_output') return { content: [], structuredContent: { count: 1 } }
  return {
    content: [
      { type: 'text', text: String(request.params.arguments?.text ?? JSON.stringify(request.params.arguments)) },
    ],
  }
})
await server.connect(new StdioServerTransport())
