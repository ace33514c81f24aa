// Runs the provider-neutral conformance suite against OpenAIChatModel and the OpenAI-compatible loopback server.
import type { ReplyTurn, WireMessage, WireRequest } from '@tinyllm/conformance'
import { describeChatModelConformance, replyTurnAt, scriptFaults } from '@tinyllm/conformance'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import { describe } from 'vitest'
import { OpenAIChatModel } from './openai-chat-model.js'
import type { ScriptedReply } from './testing/index.js'
import { startOpenAICompatibleServer } from './testing/index.js'

// What both transports share: the server, its script and how a request reads on the wire.
const suite = {
  name: 'openai',
  chatPath: '/v1/chat/completions',
  multipleChoices: true,
  startServer: (script: Parameters<typeof replyTurnAt>[0]) =>
    startOpenAICompatibleServer({
      replies: (_request, { requestIndex }) => toScriptedReply(replyTurnAt(script, requestIndex)),
      faults: scriptFaults(script),
    }),
  readRequest: readChatCompletionRequest,
}

describeChatModelConformance({
  ...suite,
  createModel: (server) =>
    new OpenAIChatModel({ model: 'gpt-4o-mini', apiKey: 'conformance-key', baseURL: server.baseURL }),
  sdk: {
    packageName: 'openai',
    installedFrom: import.meta.url,
    createModel: (sdk, server) => {
      const { OpenAI } = sdk as typeof import('openai')
      const client = new OpenAI({ apiKey: 'conformance-key', baseURL: server.baseURL, logLevel: 'off' })
      return new OpenAIChatModel({ model: 'gpt-4o-mini', client })
    },
  },
})

// The same contract over the fallback transport, the runtime's global fetch.
describe('over the fetch transport', () => {
  describeChatModelConformance({
    ...suite,
    createModel: (server) =>
      new OpenAIChatModel({
        model: 'gpt-4o-mini',
        apiKey: 'conformance-key',
        baseURL: server.baseURL,
        transport: 'fetch',
      }),
  })
})

function toScriptedReply(turn: ReplyTurn): ScriptedReply {
  const usage =
    turn.type === 'error' || turn.usage === undefined
      ? undefined
      : { promptTokens: turn.usage.inputTokens, completionTokens: turn.usage.outputTokens }
  switch (turn.type) {
    case 'text':
      return { content: turn.text, finishReason: turn.finishReason, usage }
    case 'choices':
      return {
        choices: turn.texts.map((content, index) => ({ content, finishReason: turn.finishReasons?.[index] })),
        usage,
      }
    case 'tool-calls':
      return {
        content: turn.text ?? null,
        toolCalls: turn.toolCalls.map((call) => ({ id: call.id, name: call.name, arguments: call.arguments })),
        usage,
      }
    case 'error':
      return { error: { status: turn.status, message: turn.message ?? `HTTP ${turn.status}`, headers: turn.headers } }
  }
}

function text(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : ''))
    .join('')
}

function readChatCompletionRequest(body: unknown): WireRequest {
  const request = body as ChatCompletionCreateParams
  const system: string[] = []
  const messages: WireMessage[] = []
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(text(message.content))
        break
      case 'user':
        messages.push({ role: 'user', text: text(message.content) })
        break
      case 'assistant':
        messages.push({
          role: 'assistant',
          text: text(message.content),
          toolCalls: (message.tool_calls ?? []).flatMap((call) =>
            call.type === 'function'
              ? [{ id: call.id, name: call.function.name, arguments: JSON.parse(call.function.arguments) as unknown }]
              : [],
          ),
        })
        break
      case 'tool':
        messages.push({ role: 'tool', toolCallId: message.tool_call_id, text: text(message.content) })
        break
    }
  }
  const format = request.response_format
  return {
    model: request.model,
    system,
    messages,
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    stop:
      request.stop === undefined || request.stop === null
        ? []
        : typeof request.stop === 'string'
          ? [request.stop]
          : request.stop,
    n: request.n ?? undefined,
    responseSchema: format?.type === 'json_schema' ? format.json_schema.schema : undefined,
    toolNames: (request.tools ?? []).flatMap((tool) => (tool.type === 'function' ? [tool.function.name] : [])),
    stream: request.stream === true,
  }
}
