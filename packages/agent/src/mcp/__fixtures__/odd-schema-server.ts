// A real MCP server over stdio, written with the SDK's low-level server API, that lists a tool whose input schema no
// JSON Schema validator compiles (`type: 'nonsense'`) beside one that is fine: what a careless server can send.
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'

const server = new Server({ name: 'odd', version: '1.0.0' }, { capabilities: { tools: {} } })
server.setRequestHandler(ListToolsRequestSchema, async () => ({
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
}))
server.setRequestHandler(CallToolRequestSchema, async (request) => ({
  content: [{ type: 'text', text: String(request.params.arguments?.text ?? '') }],
}))
await server.connect(new StdioServerTransport())
