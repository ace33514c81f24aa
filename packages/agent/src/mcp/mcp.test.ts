// Tools from a real MCP server process, written with the SDK's server API (`__fixtures__/records-server.ts`), started
// by each test over stdio or streamable HTTP. Nothing is mocked: the SDK's client talks to the SDK's server.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { AnthropicChat } from '@tinyllm/anthropic'
import { startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { AbortError, ConfigurationError, formatRunTree, TimeoutError, ValidationError } from '@tinyllm/core'
import { type ChatRequest, LLMCall, type ToolMessage } from '@tinyllm/llm'
import { ScriptedChatModel, type ScriptedReply } from '@tinyllm/llm/testing'
import { OpenAIChat } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { Agent } from '../index.js'
import {
  connectMCPServer,
  MCPConnectionError,
  type MCPServerConnection,
  type MCPServerOptions,
  type MCPTool,
  MCPToolError,
  type MCPToolsOptions,
} from './index.js'

const fixture = fileURLToPath(new URL('./__fixtures__/records-server.ts', import.meta.url))
const oddSchemaFixture = fileURLToPath(new URL('./__fixtures__/odd-schema-server.ts', import.meta.url))
const opened: Array<{ close(): Promise<void> | void }> = []

afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close()
})

async function stdioServer(): Promise<MCPServerConnection> {
  const connection = await connectMCPServer({
    name: 'records',
    command: process.execPath,
    args: [fixture, 'stdio'],
    stderr: 'ignore',
  })
  opened.push(connection)
  return connection
}

/** Starts the fixture as an HTTP server process; resolves with its URL once it listens. */
async function httpServerProcess(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [fixture, 'http'], { stdio: ['ignore', 'pipe', 'ignore'] })
  opened.push({ close: () => void child.kill() })
  let output = ''
  for await (const chunk of child.stdout) {
    output += String(chunk)
    const url = /listening (\S+)/.exec(output)?.[1]
    if (url !== undefined) return { url, process: child }
  }
  throw new Error(`the MCP fixture exited before listening: ${output}`)
}

const call = (name: string, arguments_: unknown, id = `call-${name}`) => ({
  id,
  name,
  arguments: JSON.stringify(arguments_),
})

function agentOver(tools: Agent['tools'], ...replies: ScriptedReply[]) {
  const model = new ScriptedChatModel({ responses: replies })
  const llm = new LLMCall({ name: 'model', model, output: 'result' })
  return {
    model,
    agent: (options: { onToolError?: 'fail'; toolTimeoutMs?: number } = {}) =>
      new Agent({ name: 'reviewer', model: llm, tools, ...options }),
  }
}

/** The tool of that name on its server. */
function toolNamed(tools: ReadonlyArray<MCPTool>, name: string): MCPTool {
  const tool = tools.find((candidate) => candidate.name === name)
  if (tool === undefined) throw new Error(`no tool ${name}`)
  return tool
}

function lastToolMessage(model: ScriptedChatModel): ToolMessage | undefined {
  const messages = (model.calls.at(-1) as ChatRequest).messages
  return messages.findLast((message): message is ToolMessage => message.role === 'tool')
}

describe('MCP tools over stdio', () => {
  it("lists the server's tools as tools: name, description, its JSON Schema, strict when it can be", async () => {
    const records = await stdioServer()
    const tools = await records.tools()
    expect(tools.map((tool) => [tool.name, tool.kind, tool.strict])).toEqual([
      ['lookup_applicant', 'mcp-tool', true],
      ['add', 'mcp-tool', true],
      ['hang', 'mcp-tool', true],
      ['check_token', 'mcp-tool', true],
      ['crash', 'mcp-tool', true],
      ['block', 'mcp-tool', true],
      ['blocked', 'mcp-tool', true],
      ['release', 'mcp-tool', true],
      ['garble', 'mcp-tool', true],
    ])
    expect(tools[0]?.description).toBe("An applicant's name, monthly income and monthly debt payments, by applicant id")
    expect(tools[0]?.parameters).toEqual({
      type: 'object',
      properties: { applicantId: { type: 'string', description: 'e.g. A-17' } },
      required: ['applicantId'],
    })
    const picked = await records.tools({ only: ['add'], prefix: 'records_', needsApproval: () => true })
    expect(picked.map((tool) => [tool.name, tool.serverToolName, tool.needsApproval])).toEqual([
      ['records_add', 'add', true],
    ])
  })

  it('refuses an only naming a tool the server does not list (a misspelt name), rather than offer the agent fewer tools', async () => {
    const records = await stdioServer()
    const error = await records.tools({ only: ['add', 'lookup_aplicant', 'ad'] }).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toBe(
      'MCP server records: only names "lookup_aplicant", "ad", which it does not list (its tools: "lookup_applicant", "add", "hang", "check_token", "crash", "block", "blocked", "release", "garble")',
    )
    const [add, ...others] = await records.tools({ only: ['add', 'add'] })
    expect([add?.name, others]).toEqual(['add', []])
  })

  it('a needsApproval rule that answers neither true nor false is a ConfigurationError, not "no approval"', async () => {
    const records = await stdioServer()
    const error = await records
      .tools({ needsApproval: () => 'yes' as unknown as boolean })
      .catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/needsApproval must be true or false for tool "lookup_applicant"/)
    // Nor is a rule that throws, or options whose reading throws: each a ConfigurationError, not the raw error.
    const unreadableOnly = new Proxy(['add'], {
      get: (target, key) => {
        if (key === 'length') throw new Error('no length')
        return Reflect.get(target, key)
      },
    })
    for (const [options, message] of [
      [
        {
          needsApproval: () => {
            throw new Error('rule broke')
          },
        },
        'records: needsApproval could not be read: Error: rule broke',
      ],
      [{ only: unreadableOnly }, 'records: options could not be read: Error: no length'],
    ] as const) {
      const refused = await records.tools(options as MCPToolsOptions).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(refused), String(refused)).toBe(true)
      expect((refused as Error).message).toBe(message)
    }
  })

  it('a tool whose input schema does not compile: a ConfigurationError naming server and tool; `only` lists the rest', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture],
      stderr: 'ignore',
    })
    opened.push(odd)
    const error = await odd.tools().catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/^MCP server odd: its tool "broken" cannot be offered \(.*nonsense.*only/)
    const [echo, ...others] = await odd.tools({ only: ['echo'] })
    expect(others).toEqual([])
    expect(await echo?.invoke({ text: 'hi' })).toBe('hi')
  })

  it('a tool whose output schema does not compile: a ConfigurationError naming it too, and `only` lists the rest', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'bad-output'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const error = await odd.tools().catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(
      /^MCP server odd: its tool "broken_output" cannot be offered \(.*nonsense.*only/,
    )
    const [echo, ...others] = await odd.tools({ only: ['echo'] })
    expect(others).toEqual([])
    expect(await echo?.invoke({ text: 'hi' })).toBe('hi')
  })

  it('offers a tool with an empty or blank description, as the MCP spec allows: its title, else a description of its own', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'names'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const tools = await odd.tools({ only: ['blank', 'spaced'] })
    expect(tools.map((tool) => [tool.name, tool.description])).toEqual([
      ['blank', 'blank (a tool of MCP server odd)'],
      ['spaced', 'Spaced out'],
    ])
    expect(await toolNamed(tools, 'blank').invoke({})).toBe('{}')
  })

  it("offers a tool whose schema a provider's strict mode refuses without strict mode, so that every provider takes it", async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'strict-refused'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const tools = await odd.tools()
    expect(tools.map((tool) => [tool.name, tool.strict])).toEqual([
      ['unevaluated', false],
      ['dependent', false],
      ['property_names', false],
      ['nested', false],
      ['many_values', false],
      ['recursive', false],
    ])
    const openai = await startOpenAICompatibleServer({ replies: () => 'Nothing to do.' })
    opened.push(openai)
    const anthropic = await startAnthropicCompatibleServer({ replies: () => 'Nothing to do.' })
    opened.push(anthropic)
    const models = [
      new OpenAIChat({
        name: 'model',
        model: 'gpt-4o-mini',
        baseURL: openai.baseURL,
        apiKey: 'sk-test',
        output: 'result',
      }),
      new AnthropicChat({
        name: 'model',
        model: 'claude-sonnet-4-5',
        maxTokens: 100,
        baseURL: anthropic.baseURL,
        apiKey: 'sk-test',
        output: 'result',
      }),
    ]
    for (const model of models) {
      const outcome = await new Agent({ name: 'reviewer', model, tools }).invoke('Anything to do?')
      expect(outcome).toMatchObject({ status: 'complete', output: 'Nothing to do.' })
    }
  })

  it('refuses two tools offered under one name once sanitised or cut to 64 characters, naming both; `only` picks one', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'names'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const long = `lookup_${'x'.repeat(60)}`
    for (const [only, first, second, offered] of [
      [['admin.get_user', 'admin_get_user'], 'admin.get_user', 'admin_get_user', 'admin_get_user'],
      [[`${long}_1`, `${long}_2`], `${long}_1`, `${long}_2`, long.slice(0, 64)],
    ] as const) {
      const error = await odd.tools({ only }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toBe(
        `MCP server odd: its tools "${first}" and "${second}" would both be offered as "${offered}" (a tool's name is sent to the model as 1–64 letters, digits, _ and -); choose one with tools({ only: [...] }), or give them a prefix in separate calls`,
      )
    }
    const [dotted, ...others] = await odd.tools({ only: ['admin.get_user'] })
    expect(others).toEqual([])
    expect([dotted?.name, dotted?.serverToolName]).toEqual(['admin_get_user', 'admin.get_user'])
    const repeated = await connectMCPServer({
      name: 'repeated',
      command: process.execPath,
      args: [oddSchemaFixture, 'repeated'],
      stderr: 'ignore',
    })
    opened.push(repeated)
    const twice = await repeated.tools().catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(twice), String(twice)).toBe(true)
    expect((twice as Error).message).toBe(
      'MCP server repeated: it lists its tool "same" twice, and a tool is called by its name; list the others with tools({ only: [...] })',
    )
  })

  it("checks each tool's arguments against its own schema, when two schemas declare the same $id", async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'same-id'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const tools = await odd.tools()
    expect(await toolNamed(tools, 'named').invoke({ name: 'Ada' })).toBe('{"name":"Ada"}')
    expect(await toolNamed(tools, 'counted').invoke({ count: 3 })).toBe('{"count":3}')
    const refused = await toolNamed(tools, 'counted')
      .invoke({ name: 'Ada' })
      .catch((caught: unknown) => caught)
    expect((refused as Error).message).toMatch(/required property 'count'/)
  })

  it('reads every page of the tool list, and refuses pages that never end instead of listing forever', async () => {
    const oddServer = async (pages: string) => {
      const odd = await connectMCPServer({
        name: 'odd',
        command: process.execPath,
        args: [oddSchemaFixture, pages],
        stderr: 'ignore',
      })
      opened.push(odd)
      return odd
    }
    const paged = await (await oddServer('paged')).tools()
    expect(paged.map((tool) => tool.name)).toEqual(['first', 'second'])

    const looping = await (await oddServer('loop')).tools().catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(looping), String(looping)).toBe(true)
    expect((looping as Error).message).toBe(
      'MCP server odd: could not list tools: its tools/list pages do not end (the cursor "again" came back)',
    )
    const endless = await (await oddServer('endless')).tools().catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(endless), String(endless)).toBe(true)
    expect((endless as Error).message).toMatch(/its tools\/list pages do not end \(more than 1000 pages\)$/)
    // Every page's cursor is kept to notice one that comes back: 1,000 of 10 MiB would hold 10 GB.
    const longCursor = await (await oddServer('long-cursor')).tools().catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(longCursor), String(longCursor)).toBe(true)
    expect((longCursor as Error).message).toBe(
      'MCP server odd: could not list tools: its tools/list cursor is 100000 characters long, more than the 16384 a cursor may have',
    )
  })

  it('refuses a list of more tools than a model can be offered with an MCPConnectionError, and `only` picks from it', async () => {
    const many = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'many'],
      stderr: 'ignore',
    })
    opened.push(many)
    // 160,001 tools over two pages, the first of 160,000: no stack overflow, and no tool built past the 10,000th.
    const refused = await many.tools().catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(refused), String(refused)).toBe(true)
    expect((refused as Error).message).toBe(
      'MCP server odd: could not list tools: it lists more than 10000, more than a model can be offered; choose some with tools({ only: [...] })',
    )
    const chosen = await many.tools({ only: ['t7', 'last'] })
    expect(chosen.map((tool) => tool.name)).toEqual(['t7', 'last'])
  }, 120_000)

  it('says what is wrong with a tool list the SDK refuses, and where', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'not-object'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const refused = await odd.tools().catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(refused), String(refused)).toBe(true)
    expect((refused as Error).message).toBe(
      'MCP server odd: could not list tools (tools.1.inputSchema.type: Invalid input: expected "object")',
    )
  })

  it('an agent calls them: structured content comes back as the result, text as text', async () => {
    const records = await stdioServer()
    const { model, agent } = agentOver(
      await records.tools(),
      { toolCalls: [call('lookup_applicant', { applicantId: 'A-17' }), call('add', { a: 2, b: 3 })] },
      'Ada earns 8000.',
    )
    const record = await agent().trace('Look up A-17')
    expect(record.output).toMatchObject({ status: 'complete', output: 'Ada earns 8000.' })
    const results = (model.calls[1]?.messages ?? []).filter((message) => message.role === 'tool')
    expect(results.map((message) => message.content)).toEqual([
      '{"name":"Ada Lovelace","monthlyIncome":8000,"monthlyDebt":2000}',
      '5',
    ])
    expect(record.children.map((child) => `${child.function} (${child.kind})`)).toContain('lookup_applicant (mcp-tool)')
  })

  it("checks the model's arguments against the server's schema before calling, and tells the model", async () => {
    const records = await stdioServer()
    const { model, agent } = agentOver(
      await records.tools(),
      { toolCalls: [call('lookup_applicant', { applicantId: 17 })] },
      'ok',
    )
    await agent().invoke('go')
    expect(JSON.parse(lastToolMessage(model)?.content ?? '{}').error).toMatch(/^invalid arguments: .*must be string/)
  })

  it("a server's error answer (isError) is an MCPToolError: told to the model, or failing the run", async () => {
    const records = await stdioServer()
    const tools = await records.tools()
    const told = agentOver(tools, { toolCalls: [call('lookup_applicant', { applicantId: 'Z-0' })] }, 'ok')
    await told.agent().invoke('go')
    expect(JSON.parse(lastToolMessage(told.model)?.content ?? '{}').error).toContain('no applicant Z-0')
    const failing = agentOver(tools, { toolCalls: [call('lookup_applicant', { applicantId: 'Z-0' })] })
    const error = await failing
      .agent({ onToolError: 'fail' })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(MCPToolError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ server: 'records', toolName: 'lookup_applicant' })
  })

  it("a server's error answer is an MCPToolError whatever its code, those the SDK uses for itself too", async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture],
      stderr: 'ignore',
    })
    opened.push(odd)
    const [echo] = await odd.tools({ only: ['echo'] })
    // -32000 (the first code JSON-RPC leaves to servers) is the SDK's "connection closed", -32001 its "timed out".
    for (const code of [-32000, -32001, -32603]) {
      const error = await echo?.invoke({ fail: code }, { timeoutMs: 60_000 }).catch((caught: unknown) => caught)
      expect(MCPToolError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ server: 'odd', toolName: 'echo', code })
      expect((error as Error).message).toMatch(/the database is down$/)
    }
    // The connection is fine.
    expect(await echo?.invoke({ text: 'still here' })).toBe('still here')
  })

  it("an error quoting a server's long answer keeps it under 1,000 characters, as every tinyllm error", async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture],
      stderr: 'ignore',
    })
    opened.push(odd)
    const [echo] = await odd.tools({ only: ['echo'] })
    const long = await echo?.invoke({ fail: -32603, repeat: 100_000 }).catch((caught: unknown) => caught)
    expect(MCPToolError.isInstance(long), String(long)).toBe(true)
    expect((long as Error).message).toMatch(/^"MCP error -32603: .*the database is down.*…$/)
    expect((long as Error).message.length).toBeLessThan(1_100)
    expect(JSON.stringify(long).length).toBeLessThan(3_000)
  })

  it('a server that dies mid-call: an MCPConnectionError, then every later call fails the same way at once', async () => {
    const records = await stdioServer()
    const tools = await records.tools()
    const { agent } = agentOver(tools, { toolCalls: [call('crash', {})] })
    const error = await agent({ onToolError: 'fail' })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
    const later = agentOver(tools, { toolCalls: [call('add', { a: 1, b: 1 })] }, 'The records are down.')
    const outcome = await later.agent().invoke('go')
    expect(outcome).toMatchObject({ status: 'complete', output: 'The records are down.' })
    expect(JSON.parse(lastToolMessage(later.model)?.content ?? '{}').error).toContain('MCP server records')
  })

  it('a deadline further away than a timer can hold (30 days) does not end the call at once', async () => {
    const records = await stdioServer()
    const add = toolNamed(await records.tools(), 'add')
    expect(await add.invoke({ a: 20, b: 22 }, { deadline: Date.now() + 30 * 24 * 3_600_000 })).toBe('42')
  })

  it('a call that hangs is bounded by the tool deadline', async () => {
    const records = await stdioServer()
    const { agent } = agentOver(await records.tools(), { toolCalls: [call('hang', {})] })
    const error = await agent({ onToolError: 'fail', toolTimeoutMs: 200 })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(TimeoutError.isInstance(error)).toBe(true)
  })

  it('refuses a wrong or unknown option with a ConfigurationError naming it, before starting anything', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'r', url: 'not a url' }, 'r: url must be an http:// or https:// URL, got "not a url"'],
      [{ name: 'r', url: 'ftp://127.0.0.1/x' }, 'r: url must be an http:// or https:// URL, got "ftp://127.0.0.1/x"'],
      [{ name: 'r', command: 'node', args: 5 }, 'r: args must be a list of strings, got 5'],
      // A hole is no string; a sparse list as long as a list can be is refused at once, not copied hole by hole.
      [
        { name: 'r', command: 'node', args: Object.assign(['-e'], { 2: '1' }) },
        'r: args must be a list of strings, got',
      ],
      [
        { name: 'r', command: 'node', args: Object.assign(new Array(2 ** 32 - 1), { 0: '-e' }) },
        'r: args must be a list',
      ],
      [{ name: 'r', command: '' }, 'r: command must be a non-empty string, got ""'],
      [{ name: 'r', command: 'node', stderr: 'stdout' }, 'r: stderr must be one of'],
      [{ name: 'r', url: 'http://127.0.0.1:1/mcp', header: {} }, 'r: header is not an option; did you mean headers?'],
      // Copied as an object, a Headers or a Map would lose every header (its authorization, say) without a word.
      [
        { name: 'r', url: 'http://127.0.0.1:1/mcp', headers: new Headers({ authorization: 'Bearer t0ken-1' }) },
        'r: headers must be an object of strings, got',
      ],
      [
        { name: 'r', command: 'node', env: new Map([['TOKEN', 't0ken-1']]) },
        'r: env must be an object of strings, got',
      ],
      // A NUL character, which no process can be given: named, its value never shown (an env var's may be a key).
      [{ name: 'r', command: 'node', env: { API_KEY: 't0ken-1\0' } }, 'r: env has a NUL character in it'],
      [{ name: 'r', command: 'node', args: ['--key=t0ken-1\0'] }, 'r: args has a NUL character in it'],
      [{ name: 'r', command: 'node\0' }, 'r: command has a NUL character in it'],
      // Headers fetch refuses to send: named, never shown.
      [
        { name: 'r', url: 'http://127.0.0.1:1/mcp', headers: { 'x api key': 't0ken-1' } },
        'r: headers: fetch cannot send the header "x api key"',
      ],
      [
        { name: 'r', url: 'http://127.0.0.1:1/mcp', headers: { authorization: 'Bearer t0ken-1€' } },
        'r: headers: fetch cannot send the header "authorization"',
      ],
      // fetch refuses it, quoting the URL whole in an error an MCPConnectionError would hold as its cause.
      [{ name: 'r', url: 'http://user:t0ken-1@127.0.0.1:1/mcp' }, 'r: url has credentials in it (user:password@)'],
      [
        { name: 'r', url: 'http://127.0.0.1:1/mcp', command: 'node' },
        'r: an MCP server needs a command (stdio) or a url',
      ],
      [
        new Proxy(
          {},
          {
            get: () => {
              throw new Error('unreadable')
            },
          },
        ),
        'options could not be read: Error: unreadable',
      ],
    ]
    for (const [options, message] of cases) {
      const error = await connectMCPServer(options as MCPServerOptions).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toContain(message)
      expect((error as Error).message).not.toContain('t0ken-1')
    }
    const records = await stdioServer()
    const typo = await records.tools({ prefx: 'r_' } as MCPToolsOptions).catch((caught: unknown) => caught)
    expect((typo as Error).message).toContain('records: prefx is not an option; did you mean prefix?')
    for (const [options, message] of [
      [{ only: 'add' }, 'records: only must be a list of tool names, got "add"'],
      [{ prefix: 5 }, 'records: prefix must be a string, got 5'],
      [{ needsApproval: true }, 'records: needsApproval must be a function of the tool, got true'],
    ] as const) {
      const error = await records.tools(options as unknown as MCPToolsOptions).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toBe(message)
    }
  })

  it('a line on its stdout that is not a JSON-RPC message fails the connection at once, the line in the error', async () => {
    const odd = await connectMCPServer({ name: 'odd', command: process.execPath, args: [oddSchemaFixture] })
    opened.push(odd)
    const [echo] = await odd.tools({ only: ['echo'] })
    // Blank lines carry nothing, and hide no answer: passed over.
    expect(await echo?.invoke({ text: 'after blank lines', blank: true })).toBe('after blank lines')
    // Long deadlines: without the line told, each call would wait for its own, and the test for its timeout.
    const beside = echo?.invoke({ stdout: '{"level":"info","msg":"not a message"}' }, { timeoutMs: 600_000 })
    const logged = await echo
      ?.invoke({ stdout: 'debug: key sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789' }, { timeoutMs: 600_000 })
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(logged), String(logged)).toBe(true)
    // The first line written is the one told, in the calls in flight, and in every later one.
    const told =
      'MCP server odd: it wrote a line to its stdout that is not a JSON-RPC message: ' +
      '"{\\"level\\":\\"info\\",\\"msg\\":\\"not a message\\"}" (stdout carries MCP messages alone; write logs to stderr)'
    expect((logged as Error).message).toBe(told)
    expect(await beside?.catch((caught: unknown) => caught)).toBe(logged)
    expect(await echo?.invoke({ text: 'later' }).catch((caught: unknown) => caught)).toBe(logged)
    expect(await odd.tools().catch((caught: unknown) => caught)).toBe(logged)

    // Said while connecting, it fails the connection; the line is cut short and its secrets are redacted.
    const banner = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'banner'],
    })
      .then(() => 'connected')
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(banner), String(banner)).toBe(true)
    expect((banner as Error).message).toMatch(
      /^MCP server odd: could not connect \(it wrote a line to its stdout that is not a JSON-RPC message: "odd server starting" \(/,
    )
    const noisy = await connectMCPServer({ name: 'noisy', command: process.execPath, args: [oddSchemaFixture] })
    opened.push(noisy)
    const [noisyEcho] = await noisy.tools({ only: ['echo'] })
    const long = await noisyEcho
      ?.invoke({ stdout: `key sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789 ${'x'.repeat(100_000)}` })
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(long), String(long)).toBe(true)
    expect((long as Error).message).toMatch(/not a JSON-RPC message: "key \[REDACTED\] x+…/)
    expect((long as Error).message.length).toBeLessThan(500)
    expect(inspect(long)).not.toContain('Abcdefghijklmnopqrstuvwxyz')
    // Longer than the SDK reads (10 MB): said so, with the line's head.
    const huge = await connectMCPServer({ name: 'huge', command: process.execPath, args: [oddSchemaFixture] })
    opened.push(huge)
    const [hugeEcho] = await huge.tools({ only: ['echo'] })
    const tooLong = await hugeEcho
      ?.invoke({ stdout: 'head ', repeat: 3 * 1024 * 1024 })
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(tooLong), String(tooLong)).toBe(true)
    expect((tooLong as Error).message).toMatch(
      /^MCP server huge: it wrote a line to its stdout that is longer than the 10485760 bytes the MCP SDK reads: "(head ?)+… \(stdout carries/,
    )
  }, 120_000)

  it('a schema naming a property every object inherits (constructor, toString, valueOf) checks what the value has', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'own-keys'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const tools = await odd.tools({ only: ['inherited_names', 'inherited_output'] })
    const names = toolNamed(tools, 'inherited_names')
    expect(await names.invoke({ constructor: {}, prototype: true })).toBe('{"constructor":{},"prototype":true}')
    // A property the value does not have is missing, not the one every object inherits.
    const missing = await names.invoke({ toString: 'text' }).catch((caught: unknown) => caught)
    expect((missing as Error).message).toMatch(/must have required property 'constructor'$/)
    const wrong = await names.invoke({ constructor: {}, toString: 5 }).catch((caught: unknown) => caught)
    expect((wrong as Error).message).toMatch(/data\/toString must be string$/)
    // The SDK's client checks an answer against the output schema with the same validator.
    expect(await toolNamed(tools, 'inherited_output').invoke({})).toEqual({ count: 1 })
  })

  it('a tool whose schema has a key __proto__ (which the SDK leaves out reading it) cannot be offered: a ConfigurationError', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'own-keys'],
      stderr: 'ignore',
    })
    opened.push(odd)
    for (const [only, where] of [
      [
        undefined,
        'its tool "proto_input" cannot be offered (its schema has a key named __proto__, at inputSchema.properties.__proto__,',
      ],
      [
        ['proto_output'],
        'its tool "proto_output" cannot be offered (its schema has a key named __proto__, at outputSchema.properties.a.properties.__proto__,',
      ],
    ] as const) {
      const refused = await odd.tools(only === undefined ? {} : { only }).catch((caught: unknown) => caught)
      expect(ConfigurationError.isInstance(refused), String(refused)).toBe(true)
      expect((refused as Error).message).toContain(`MCP server odd: ${where}`)
    }
    expect(({} as Record<string, unknown>).type).toBeUndefined()
  })

  it('takes what a tool list says of a schema from the listing alone, not from a tools field in any other answer', async () => {
    const odd = await connectMCPServer({ name: 'odd', command: process.execPath, args: [oddSchemaFixture] })
    opened.push(odd)
    const [echo] = await odd.tools({ only: ['echo'] })
    // An answer to no request of the client's, carrying a "tools" field whose echo has a key __proto__ in its schema.
    const stray = JSON.stringify({
      jsonrpc: '2.0',
      id: 987_654,
      result: { tools: [{ name: 'echo', inputSchema: JSON.parse('{"type":"object","properties":{"__proto__":{}}}') }] },
    })
    const controller = new AbortController()
    const hanging = echo?.invoke({ stdout: stray }, { signal: controller.signal }).catch((caught: unknown) => caught)
    // Answered after the stray line: by then the client has read it.
    expect(await echo?.invoke({ text: 'after' })).toBe('after')
    controller.abort()
    expect(AbortError.isInstance(await hanging)).toBe(true)
    // The server's listing of echo is as it was: echo is offered.
    const again = await odd.tools({ only: ['echo'] })
    expect(again.map((tool) => tool.name)).toEqual(['echo'])
    expect(await again[0]?.invoke({ text: 'still here' })).toBe('still here')
  })

  it('refuses a listed tool whose schema has a key __proto__ even when a later page lists its name again without one', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture, 'proto-then-plain'],
      stderr: 'ignore',
    })
    opened.push(odd)
    const refused = await odd.tools().catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(refused), String(refused)).toBe(true)
    expect((refused as Error).message).toContain(
      'MCP server odd: its tool "twice" cannot be offered (its schema has a key named __proto__, at inputSchema.properties.__proto__,',
    )
  })

  it('arguments JSON cannot hold as they are (a cycle, a BigInt, NaN, a toJSON) are invalid input, not sent', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture],
      stderr: 'ignore',
    })
    opened.push(odd)
    const [echo] = await odd.tools({ only: ['echo'] })
    const cyclic: Record<string, unknown> = { text: 'round' }
    cyclic.self = cyclic
    for (const [arguments_, why] of [
      [cyclic, /- self: cannot be sent as JSON: a cycle is not JSON-safe/],
      [{ text: 'big', count: 10n }, /- count: cannot be sent as JSON: a BigInt is not JSON-safe/],
      // JSON would send null, which the schema refuses, and the other value: what is checked is what would be sent.
      [{ text: 'nan', count: Number.NaN }, /- count: cannot be sent as JSON: NaN is not JSON-safe/],
      [{ text: 'mine', toJSON: () => ({ text: 7 }) }, /- toJSON: cannot be sent as JSON: a function is not JSON-safe/],
    ] as const) {
      const refused = await echo?.invoke(arguments_).catch((caught: unknown) => caught)
      expect(ValidationError.isInstance(refused), String(refused)).toBe(true)
      expect((refused as Error).message).toMatch(why)
    }
    expect(await echo?.invoke({ text: 'still here' })).toBe('still here')
  })

  it("with stderr: 'pipe', the server's stderr is read from the connection, and a chatty server keeps answering", async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture],
      stderr: 'pipe',
    })
    opened.push(odd)
    let logged = 0
    odd.stderr?.on('data', (chunk: Buffer) => {
      logged += chunk.length
    })
    const [echo] = await odd.tools({ only: ['echo'] })
    // Far more than a pipe holds (64 KiB): unread, the server's writes would block, and its answers with them.
    for (let call = 0; call < 5; call++)
      expect(await echo?.invoke({ stderr: 'log line ', repeat: 50_000 })).toBe('logged')
    const ended = once(odd.stderr as NodeJS.ReadableStream, 'end')
    await odd.close()
    await ended
    expect(logged).toBe(5 * 50_000 * 'log line '.length)
    const inherited = await connectMCPServer({ name: 'odd', command: process.execPath, args: [oddSchemaFixture] })
    opened.push(inherited)
    expect(inherited.stderr).toBeNull()
  })

  it('a server that exits at its start, its piped stderr full and not yet read, fails connecting at once', async () => {
    // Its process does not close until its stderr is read to its end: no one can read it before connecting resolves.
    const error = await connectMCPServer({
      name: 'crashing',
      command: process.execPath,
      args: ['-e', "process.stderr.write('E'.repeat(1_000_000)); process.exit(1)"],
      stderr: 'pipe',
    }).catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
    // Not the SDK's timeout of the connection's first request (60 s, past the test's own timeout).
    expect((error as Error).message).toBe(
      'MCP server crashing: could not connect (the server closed its stdout (did its process exit?))',
    )
  })

  it('close() called twice resolves, both times, once the server process has ended', async () => {
    const records = await stdioServer()
    const pid = (records.client.transport as StdioClientTransport).pid
    expect(pid).toBeTypeOf('number')
    const first = records.close()
    await records.close()
    // Signal 0 only asks whether the process is there: it is gone, not left to end after close() resolved.
    expect(() => process.kill(pid as number, 0)).toThrow(/ESRCH/)
    await first
  })

  it('never shows the value of an env variable named like a credential or a password, even when the server echoes it', async () => {
    for (const variable of ['RECORDS_TOKEN', 'MYSQL_PWD', 'SMTP_PASS']) {
      const secret = `records-env-${variable.toLowerCase()}-7q2w9e`
      const records = await connectMCPServer({
        name: 'records',
        command: process.execPath,
        args: [fixture, 'stdio'],
        env: { TOKEN_VARIABLE: variable, [variable]: secret },
        stderr: 'ignore',
      })
      opened.push(records)
      const error = await toolNamed(await records.tools(), 'check_token')
        .invoke({})
        .catch((caught: unknown) => caught)
      expect(MCPToolError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toContain('refused token [REDACTED]')
      const shown = [(error as Error).message, String((error as Error).stack), JSON.stringify(error), inspect(error)]
      for (const place of shown) expect(place.includes(secret), `${variable} in ${place}`).toBe(false)
    }
  }, 120_000)

  it('reads the env once: a variable whose getter answers a new key each time has the key the server got redacted', async () => {
    let reads = 0
    const env = Object.defineProperty({ TOKEN_VARIABLE: 'RECORDS_TOKEN' }, 'RECORDS_TOKEN', {
      enumerable: true,
      get: () => {
        reads += 1
        return `records-env-getter-${reads}-7q2w9e`
      },
    })
    const records = await connectMCPServer({
      name: 'records',
      command: process.execPath,
      args: [fixture, 'stdio'],
      env,
      stderr: 'ignore',
    })
    opened.push(records)
    const error = await toolNamed(await records.tools(), 'check_token')
      .invoke({})
      .catch((caught: unknown) => caught)
    expect(MCPToolError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toContain('refused token [REDACTED]')
    expect(reads).toBe(1)
  })

  it('a command that is not an MCP server is an MCPConnectionError', async () => {
    const error = await connectMCPServer({
      name: 'broken',
      command: process.execPath,
      args: ['-e', 'process.exit(1)'],
    }).catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain('MCP server broken: could not connect')
  })

  it('a server that stops reading its stdin loses the connection once 10 MiB wait there, rather than hold every later request', async () => {
    const odd = await connectMCPServer({
      name: 'odd',
      command: process.execPath,
      args: [oddSchemaFixture],
      stderr: 'pipe',
    })
    opened.push(odd)
    let stderr = ''
    const stalled = new Promise<void>((resolve) =>
      odd.stderr?.on('data', (chunk) => {
        stderr += String(chunk)
        if (stderr.includes('stalled')) resolve()
      }),
    )
    const echo = toolNamed(await odd.tools({ only: ['echo'] }), 'echo')
    const stuck = echo.invoke({ stall: true }).catch((caught: unknown) => caught)
    await stalled
    // 60 calls of 512 KiB each, and their cancellations when they time out, would wait in memory for a reader for good.
    const text = 'x'.repeat(512 * 1024)
    const errors = await Promise.all(
      Array.from({ length: 60 }, () => echo.invoke({ text }, { timeoutMs: 10_000 }).catch((caught: unknown) => caught)),
    )
    for (const error of errors) {
      expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^MCP server odd: it does not read its stdin: \d+ bytes written there/)
    }
    expect(MCPConnectionError.isInstance(await echo.invoke({ text: 'later' }).catch((caught: unknown) => caught))).toBe(
      true,
    )
    // The call in flight when the connection was lost fails with it.
    expect(MCPConnectionError.isInstance(await stuck), String(await stuck)).toBe(true)
  })
})

describe('MCP tools over streamable HTTP', () => {
  it('works with an OpenAI model over HTTP too: the agent reads the record through the MCP server', async () => {
    const { url } = await httpServerProcess()
    const records = await connectMCPServer({ name: 'records', url })
    opened.push(records)
    const openai = await startOpenAICompatibleServer({
      replies: (request) =>
        request.messages.some((message) => message.role === 'tool')
          ? `Found: ${String(request.messages.at(-1)?.content)}`
          : { toolCalls: [{ name: 'add', arguments: { a: 20, b: 22, note: null } }] },
    })
    opened.push(openai)
    const model = new OpenAIChat({
      name: 'model',
      model: 'gpt-4o-mini',
      baseURL: openai.baseURL,
      apiKey: 'sk-test',
      output: 'result',
    })
    const outcome = await new Agent({ name: 'reviewer', model, tools: await records.tools() }).invoke('Add 20 and 22')
    expect(outcome).toMatchObject({ status: 'complete', output: 'Found: 42' })
    // The optional `note` went out strict (nullable, required); the model's null reached the server as absent.
    const add = openai.chatRequests[0]?.tools?.find((tool) => tool.type === 'function' && tool.function.name === 'add')
    expect(add).toMatchObject({ function: { strict: true, parameters: { required: ['a', 'b', 'note'] } } })
  })

  it('a call aborted or out of time closes its HTTP request, which the server would hold open', async () => {
    // A stateless server in this process, whose `hang` never answers: only the client can end its request.
    const events: string[] = []
    const waiting: Array<() => void> = []
    const record = (event: string): void => {
      events.push(event)
      for (const wake of waiting.splice(0)) wake()
    }
    const http = createServer(async (request, response) => {
      let body = ''
      for await (const chunk of request) body += String(chunk)
      const message = body === '' ? undefined : JSON.parse(body)
      const call = message?.method === 'tools/call' ? String(message.params.name) : undefined
      if (call !== undefined) {
        record(`${call} received`)
        response.on('close', () => record(`${call} closed`))
      }
      const server = new McpServer({ name: 'hanging', version: '1.0.0' })
      server.registerTool('hang', { description: 'Never answers' }, () => new Promise<never>(() => {}))
      server.registerTool('echo', { description: 'Answers', inputSchema: { text: z.string() } }, ({ text }) => ({
        content: [{ type: 'text', text }],
      }))
      const transport = new StreamableHTTPServerTransport({})
      await server.connect(transport)
      await transport.handleRequest(request, response, message)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({
      close: () => {
        http.closeAllConnections()
        http.close()
      },
    })
    const { port } = http.address() as AddressInfo
    const hanging = await connectMCPServer({ name: 'hanging', url: `http://127.0.0.1:${port}/mcp` })
    opened.push(hanging)
    const tools = await hanging.tools()
    const seen = async (count: number): Promise<void> => {
      while (events.length < count) await new Promise<void>((resolve) => waiting.push(resolve))
    }

    // A deadline far above what sending the request takes, even on a loaded machine.
    const timedOut = await toolNamed(tools, 'hang')
      .invoke({}, { timeoutMs: 3_000 })
      .catch((caught: unknown) => caught)
    expect(TimeoutError.isInstance(timedOut), String(timedOut)).toBe(true)
    await seen(2)
    const cancel = new AbortController()
    const aborted = toolNamed(tools, 'hang').invoke({}, { signal: cancel.signal })
    await seen(3)
    cancel.abort()
    expect(AbortError.isInstance(await aborted.catch((caught: unknown) => caught))).toBe(true)
    await seen(4)
    expect(events).toEqual(['hang received', 'hang closed', 'hang received', 'hang closed'])
    // Closing them is no sign of a lost connection: the next call is answered.
    expect(await toolNamed(tools, 'echo').invoke({ text: 'still here' })).toBe('still here')
  })

  it('a server that answers initialize but never the notification after it fails connecting with an MCPConnectionError after 60 s', async () => {
    let notified!: () => void
    const initialized = new Promise<void>((resolve) => {
      notified = resolve
    })
    const http = createServer(async (request, response) => {
      let body = ''
      for await (const chunk of request) body += String(chunk)
      const message = body === '' ? undefined : JSON.parse(body)
      // The SDK's client posts notifications/initialized and waits for the answer, which this server never gives.
      if (message?.method === 'notifications/initialized') return notified()
      const transport = new StreamableHTTPServerTransport({})
      await new McpServer({ name: 'mute', version: '1.0.0' }).connect(transport)
      await transport.handleRequest(request, response, message)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({
      close: () => {
        http.closeAllConnections()
        http.close()
      },
    })
    const { port } = http.address() as AddressInfo
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const connecting = connectMCPServer({ name: 'mute', url: `http://127.0.0.1:${port}/mcp` }).catch(
        (caught: unknown) => caught,
      )
      await initialized
      await vi.advanceTimersByTimeAsync(60_000)
      const error = await connecting
      expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/^MCP server mute: could not connect \(.*60000 ms/)
    } finally {
      vi.useRealTimers()
    }
  })

  it('close() ends the session of a server that keeps one: the server is told, with a DELETE', async () => {
    const ended: string[] = []
    const sessions = new Map<string, StreamableHTTPServerTransport>()
    const http = createServer(async (request, response) => {
      let body = ''
      for await (const chunk of request) body += String(chunk)
      const message = body === '' ? undefined : JSON.parse(body)
      const session = request.headers['mcp-session-id']
      let transport = typeof session === 'string' ? sessions.get(session) : undefined
      if (transport === undefined) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, created),
          onsessionclosed: (id) => void ended.push(id),
        })
        const server = new McpServer({ name: 'sessions', version: '1.0.0' })
        server.registerTool('echo', { description: 'Answers', inputSchema: { text: z.string() } }, ({ text }) => ({
          content: [{ type: 'text', text }],
        }))
        await server.connect(created)
        transport = created
      }
      await transport.handleRequest(request, response, message)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({
      close: () => {
        http.closeAllConnections()
        http.close()
      },
    })
    const { port } = http.address() as AddressInfo
    const connection = await connectMCPServer({ name: 'sessions', url: `http://127.0.0.1:${port}/mcp` })
    opened.push(connection)
    expect(await toolNamed(await connection.tools(), 'echo').invoke({ text: 'hi' })).toBe('hi')
    expect(ended).toEqual([])
    await connection.close()
    expect(ended).toEqual([...sessions.keys()])
    expect(ended).toHaveLength(1)
  })

  it('never shows the credentials of its headers or URL, even when the server echoes them in its refusal', async () => {
    const secrets = ['mcp-header-key-5j2k9x', 'bearer-token-8h3m2q', 'url-password-4t7w1z']
    const http = createServer((request, response) => {
      response.writeHead(401, { 'content-type': 'text/plain' })
      response.end(`refused key ${request.headers['x-api-key']}, ${request.headers.authorization}, ${request.url}`)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void http.close() })
    const { port } = http.address() as AddressInfo
    const error = await connectMCPServer({
      name: 'guarded',
      url: `http://127.0.0.1:${port}/mcp?password=${secrets[2]}`,
      headers: { 'x-api-key': secrets[0] as string, Authorization: `Bearer ${secrets[1]}` },
    }).catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toContain('refused key [REDACTED], [REDACTED], /mcp?password=[REDACTED]')
    const shown = [(error as Error).message, String((error as Error).stack), JSON.stringify(error)].join('\n')
    for (const secret of secrets) expect(shown.includes(secret)).toBe(false)
  })

  it('refuses headers given as a list of entries without showing their credentials', async () => {
    const secret = '3f9a0c6e2b7d4a18b5c9e0f1a2b3c4d5'
    const error = await connectMCPServer({
      name: 'listed',
      url: 'http://127.0.0.1:1/mcp',
      headers: [
        ['x-api-key', secret],
        ['Authorization', `Token ${secret}`],
      ] as unknown as Record<string, string>,
    }).catch((caught: unknown) => caught)
    expect(ConfigurationError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toContain(
      'listed: headers must be an object of strings, got [["x-api-key","[REDACTED]"]',
    )
    const shown = [(error as Error).message, String((error as Error).stack), JSON.stringify(error), inspect(error)]
    for (const text of shown) expect(text).not.toContain(secret.slice(0, 12))
  })

  it('reads the headers once: a header whose getter answers a new key each time has the key the server got redacted', async () => {
    const http = createServer((request, response) => {
      response.writeHead(401, { 'content-type': 'text/plain' })
      response.end(`refused key ${request.headers['x-api-key']}`)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void http.close() })
    const { port } = http.address() as AddressInfo
    let reads = 0
    const headers = Object.defineProperty({}, 'x-api-key', {
      enumerable: true,
      get: () => {
        reads += 1
        return `mcp-header-getter-${reads}-5j2k9x`
      },
    })
    const error = await connectMCPServer({ name: 'guarded', url: `http://127.0.0.1:${port}/mcp`, headers }).catch(
      (caught: unknown) => caught,
    )
    expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).message).toContain('refused key [REDACTED]')
    expect(reads).toBe(1)
  })

  it('credentials the server echoes in an answer or an error stay redacted in the run record after close()', async () => {
    const secret = 'mcp-echoed-key-3v8n6c'
    // A server that quotes the key it was sent: in a tool's result, and in a JSON-RPC error answering a call.
    const http = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += String(chunk)
      })
      request.on('end', () => {
        // No event stream to open (GET) or session to end (DELETE): JSON answers to posts only.
        if (request.method !== 'POST') return void response.writeHead(405).end()
        const message = JSON.parse(body) as { id?: number; method: string; params: Record<string, unknown> }
        if (message.id === undefined) return void response.writeHead(202).end()
        const key = request.headers['x-api-key']
        const answer = (reply: object) =>
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', id: message.id, ...reply }))
        if (message.method === 'initialize') {
          const { protocolVersion } = message.params
          return answer({
            result: { protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'e', version: '1' } },
          })
        }
        if (message.method === 'tools/list') {
          const inputSchema = { type: 'object', properties: { fail: { type: 'boolean' } } }
          return answer({ result: { tools: [{ name: 'whoami', inputSchema }] } })
        }
        const { fail } = message.params.arguments as { fail: boolean }
        if (fail) return answer({ error: { code: -32003, message: `key ${key} is not allowed` } })
        answer({ result: { content: [{ type: 'text', text: `you are ${key}` }] } })
      })
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void http.close() })
    const { port } = http.address() as AddressInfo
    const echoing = await connectMCPServer({
      name: 'echoing',
      url: `http://127.0.0.1:${port}/mcp`,
      headers: { 'x-api-key': secret },
    })
    const tools = await echoing.tools()
    const answered = agentOver(tools, { toolCalls: [call('whoami', { fail: false })] }, 'Done.')
    const record = await answered.agent().trace('Who am I?')
    const refused = agentOver(tools, { toolCalls: [call('whoami', { fail: true })] })
    const error = await refused
      .agent({ onToolError: 'fail' })
      .invoke('Who am I?')
      .catch((caught: unknown) => caught)
    expect(MCPToolError.isInstance(error), String(error)).toBe(true)
    await echoing.close()

    const shown = [
      JSON.stringify(record),
      formatRunTree(record),
      JSON.stringify(error),
      inspect(error, { depth: 10 }),
      String((error as Error).stack),
    ].join('\n')
    expect(shown).toContain('you are [REDACTED]')
    expect(shown).toContain('key [REDACTED] is not allowed')
    expect(shown.includes(secret)).toBe(false)
    expect(tools).toHaveLength(1) // the tools, still held, keep the key redacted in what they returned
  })

  it('a response cut off fails its own call at once, and leaves the calls beside it alone', async () => {
    // Answers as event streams; cuts the answer to `cut` off midway, and holds the one to `held` until told.
    let received: () => void = () => {}
    const heldReceived = new Promise<void>((resolve) => {
      received = resolve
    })
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const http = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += String(chunk)
      })
      request.on('end', async () => {
        if (request.method !== 'POST') return void response.writeHead(405).end()
        const message = JSON.parse(body) as { id?: number; method: string; params: Record<string, unknown> }
        if (message.id === undefined) return void response.writeHead(202).end()
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        const answer = (result: object) =>
          response.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: message.id, result })}\n\n`)
        if (message.method === 'initialize') {
          const { protocolVersion } = message.params
          return answer({ protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'c', version: '1' } })
        }
        if (message.method === 'tools/list') {
          return answer({ tools: ['cut', 'held'].map((name) => ({ name, inputSchema: { type: 'object' } })) })
        }
        if (message.params.name === 'cut') {
          response.write('event: message\ndata: {"jsonrpc"')
          return void setImmediate(() => response.destroy())
        }
        received()
        await released
        answer({ content: [{ type: 'text', text: 'answered' }] })
      })
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void http.close() })
    const { port } = http.address() as AddressInfo
    const connection = await connectMCPServer({ name: 'cutting', url: `http://127.0.0.1:${port}/mcp` })
    opened.push(connection)
    const tools = await connection.tools()
    const held = toolNamed(tools, 'held').invoke({}, { timeoutMs: 60_000 })
    await heldReceived
    // The deadline is far: a typed connection error, not a TimeoutError, shows the call did not wait for it.
    const cut = await toolNamed(tools, 'cut')
      .invoke({}, { timeoutMs: 60_000 })
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(cut), String(cut)).toBe(true)
    expect((cut as Error).message).toMatch(/a response was cut off before its end/)
    release()
    expect(await held).toBe('answered')
  })

  it('an HTTP refusal of a call is an MCPToolError with its status in the message, not as a JSON-RPC code', async () => {
    const http = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += String(chunk)
      })
      request.on('end', () => {
        if (request.method !== 'POST') return void response.writeHead(405).end()
        const message = JSON.parse(body) as { id?: number; method: string; params: Record<string, unknown> }
        if (message.id === undefined) return void response.writeHead(202).end()
        const answer = (result: object) =>
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }))
        if (message.method === 'initialize') {
          const { protocolVersion } = message.params
          return answer({ protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'r', version: '1' } })
        }
        if (message.method === 'tools/list')
          return answer({ tools: [{ name: 'busy', inputSchema: { type: 'object' } }] })
        response.writeHead(503, { 'content-type': 'text/plain' }).end('over capacity')
      })
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void http.close() })
    const { port } = http.address() as AddressInfo
    const refusing = await connectMCPServer({ name: 'refusing', url: `http://127.0.0.1:${port}/mcp` })
    opened.push(refusing)
    const [busy] = await refusing.tools()
    const error = await busy?.invoke({}).catch((caught: unknown) => caught)
    expect(MCPToolError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ server: 'refusing', toolName: 'busy', code: undefined })
    expect((error as Error).message).toMatch(/^HTTP 503: .*over capacity/)
  })

  it('cancelling one call leaves the calls beside it alone: they get their answers', async () => {
    const { url } = await httpServerProcess()
    const records = await connectMCPServer({ name: 'records', url })
    opened.push(records)
    const tools = await records.tools()
    const healthy = toolNamed(tools, 'block').invoke({}, { timeoutMs: 60_000 })
    const cancel = new AbortController()
    const cancelled = toolNamed(tools, 'block')
      .invoke({}, { signal: cancel.signal })
      .catch((caught: unknown) => caught)
    // Both calls are at the server before one is cancelled, so the SDK tells the server (notifications/cancelled) and
    // drops the empty body of its answer (202).
    let waiting = ''
    while (waiting !== '2') waiting = String(await toolNamed(tools, 'blocked').invoke({}))
    cancel.abort()
    expect(AbortError.isInstance(await cancelled), String(await cancelled)).toBe(true)
    // A whole call after the cancellation's notification: the connection is still up.
    expect(await toolNamed(tools, 'add').invoke({ a: 1, b: 2 })).toBe('3')
    await toolNamed(tools, 'release').invoke({})
    expect(await healthy).toBe('released')
  })

  it('an answer that is not an MCP result (not JSON, or not its shape) is an MCPToolError that says so', async () => {
    const { url } = await httpServerProcess()
    const records = await connectMCPServer({ name: 'records', url })
    opened.push(records)
    const garble = toolNamed(await records.tools(), 'garble')
    for (const as of ['not-json', 'bad-content']) {
      const error = await garble.invoke({ as }).catch((caught: unknown) => caught)
      expect(MCPToolError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ server: 'records', toolName: 'garble' })
      expect((error as Error).message).toContain("the server's answer is malformed")
    }
    expect(
      String(await garble.invoke({ as: 'bad-content' }).catch((caught: unknown) => (caught as Error).message)),
    ).toContain('content: ')
    // A key the SDK would leave out: the call fails, rather than answer without it.
    const protoKey = await garble.invoke({ as: 'proto-key' }).catch((caught: unknown) => caught)
    expect(MCPToolError.isInstance(protoKey), String(protoKey)).toBe(true)
    expect((protoKey as Error).message).toBe(
      "the server's answer is malformed: its structuredContent has a key named __proto__, which the MCP SDK leaves out reading it",
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(await garble.invoke({ as: 'bad-content' }).catch(() => 'still answering')).toBe('still answering')
    // An event stream that ends without an answer the SDK can read (it drops one that is not JSON), and with no event
    // id to resume it from: its call fails then, not at its deadline (which the test's own timeout comes before).
    for (const as of ['empty-stream', 'not-json-event', 'id-only-event']) {
      const ended = await garble.invoke({ as }, { timeoutMs: 600_000 }).catch((caught: unknown) => caught)
      expect(MCPToolError.isInstance(ended), String(ended)).toBe(true)
      expect((ended as Error).message).toBe(
        "the server's answer is malformed: its event stream ended without an answer the MCP SDK could read, and with no event id to resume from",
      )
    }
    // One with an event id is resumed by the SDK, and answered then.
    expect(await garble.invoke({ as: 'resumable-stream' })).toBe('resumed')
    expect(await garble.invoke({ as: 'bom-resumable-stream' })).toBe('resumed')
  })

  it('an answer larger than the SDK reads over stdio (10 MiB) fails its call with an MCPToolError; the connection goes on', async () => {
    const { url } = await httpServerProcess()
    const records = await connectMCPServer({ name: 'records', url })
    opened.push(records)
    const garble = toolNamed(await records.tools(), 'garble')
    // Held whole in memory, an answer without end would take all of it: the call fails past the limit, not at its end.
    for (const as of ['huge', 'huge-stream']) {
      const error = await garble.invoke({ as }).catch((caught: unknown) => caught)
      expect(MCPToolError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toBe(
        "the server's answer is malformed: it is larger than the 10485760 bytes the MCP SDK reads of an answer over stdio",
      )
    }
    expect(await garble.invoke({ as: 'bad-content' }).catch(() => 'still answering')).toBe('still answering')
  }, 120_000)

  it('an event stream carrying more than 10 MiB of small events before its answer is read to the answer', async () => {
    const { url } = await httpServerProcess()
    const records = await connectMCPServer({ name: 'records', url })
    opened.push(records)
    // Only the event being read is held: 12 events of 1 MiB are not one answer of 12 MiB.
    expect(await toolNamed(await records.tools(), 'garble').invoke({ as: 'chatty-stream' })).toBe('chatted')
  }, 120_000)

  it("an event without end on the stream the SDK opens for the server's own messages is cut past 10 MiB", async () => {
    // The SDK opens a GET stream once connected; a server that writes one event there and never ends it would have it
    // held in memory until none was left. Each response is cut at the limit (the SDK opens it again, at most twice).
    const cutAt: number[] = []
    const endless = 64 * 1024 * 1024
    const server = createServer(async (request, response) => {
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        let sent = 0
        response.on('close', () => cutAt.push(sent))
        response.write('data: ')
        const chunk = 'x'.repeat(65_536)
        while (sent < endless && !response.destroyed) {
          if (!response.write(chunk))
            await new Promise((resolve) => response.once('drain', resolve).once('close', resolve))
          sent += chunk.length
        }
        response.end()
        return
      }
      let body = ''
      for await (const part of request) body += String(part)
      const message = request.method === 'POST' ? JSON.parse(body) : {}
      if (message.id === undefined) {
        response.writeHead(request.method === 'POST' ? 202 : 200).end()
        return
      }
      const result =
        message.method === 'initialize'
          ? {
              protocolVersion: message.params.protocolVersion,
              capabilities: { tools: {} },
              serverInfo: { name: 'x', version: '1' },
            }
          : { tools: [] }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void server.close(() => {}) })
    const endlessEvents = await connectMCPServer({
      name: 'endless',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    })
    opened.push(endlessEvents)
    while (cutAt.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    // What was in flight when it was cut comes on top of the 10 MiB, far below the 64 MiB the server would send.
    expect(cutAt[0]).toBeLessThan(32 * 1024 * 1024)
    expect(await endlessEvents.tools()).toEqual([])
    server.closeAllConnections()
  }, 120_000)

  it('events whose lines end in a carriage return alone, as the event stream format allows, are each bounded, not summed', async () => {
    // 64 MiB of keep-alive comments, each its own event, on the stream the SDK opens for the server's own messages:
    // lines may end in CR, LF or CR LF, so none of these events is larger than a few bytes, and the stream is read whole.
    const ends: string[] = []
    const server = createServer(async (request, response) => {
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        const chunk = ': keep-alive\r\r'.repeat(4_096)
        let sent = 0
        response.on('close', () => ends.push(sent < 64 * 1024 * 1024 ? 'cut' : 'whole'))
        while (sent < 64 * 1024 * 1024 && !response.destroyed) {
          if (!response.write(chunk))
            await new Promise((resolve) => response.once('drain', resolve).once('close', resolve))
          sent += chunk.length
        }
        response.end()
        return
      }
      let body = ''
      for await (const part of request) body += String(part)
      const message = request.method === 'POST' ? JSON.parse(body) : {}
      if (message.id === undefined) {
        response.writeHead(request.method === 'POST' ? 202 : 200).end()
        return
      }
      const result =
        message.method === 'initialize'
          ? {
              protocolVersion: message.params.protocolVersion,
              capabilities: { tools: {} },
              serverInfo: { name: 'x', version: '1' },
            }
          : { tools: [] }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    opened.push({ close: () => void server.close(() => {}) })
    const keptAlive = await connectMCPServer({
      name: 'kept-alive',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    })
    opened.push(keptAlive)
    while (ends.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ends[0]).toBe('whole')
    server.closeAllConnections()
  }, 120_000)

  it('a server process that dies mid-call: an MCPConnectionError at once, not at the deadline', async () => {
    const { url } = await httpServerProcess()
    const records = await connectMCPServer({ name: 'records', url })
    opened.push(records)
    const { agent } = agentOver(await records.tools(), { toolCalls: [call('crash', {})] })
    // The deadline is far: a typed connection error, not a TimeoutError, shows the call did not wait for it.
    const error = await agent({ onToolError: 'fail', toolTimeoutMs: 60_000 })
      .invoke('go')
      .catch((caught: unknown) => caught)
    expect(MCPConnectionError.isInstance(error), String(error)).toBe(true)
  }, 120_000)
})
