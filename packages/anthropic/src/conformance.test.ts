import type { MessageCreateParams } from '@anthropic-ai/sdk/resources/messages'
import type { ReplyTurn, WireMessage, WireRequest } from '@tinyllm/conformance'
import { describeChatModelConformance, replyTurnAt, scriptFaults } from '@tinyllm/conformance'
import { describe } from 'vitest'
import { AnthropicChatModel } from './anthropic-chat-model.js'
import type { ScriptedReply } from './testing/index.js'
import { startAnthropicCompatibleServer } from './testing/index.js'

// What both transports share: the server, its script and how a request reads on the wire.
const suite = {
  name: 'anthropic',
  chatPath: '/v1/messages',
  multipleChoices: false,
  startServer: (script: Parameters<typeof replyTurnAt>[0]) =>
    startAnthropicCompatibleServer({
      replies: (_request, { requestIndex }) => toScriptedReply(replyTurnAt(script, requestIndex)),
      faults: scriptFaults(script),
    }),
  readRequest: readMessagesRequest,
}

describeChatModelConformance({
  ...suite,
  createModel: (server) =>
    new AnthropicChatModel({ model: 'claude-haiku-4-5', apiKey: 'conformance-key', baseURL: server.baseURL }),
  sdk: {
    packageName: '@anthropic-ai/sdk',
    installedFrom: import.meta.url,
    createModel: (sdk, server) => {
      const Anthropic = (sdk as typeof import('@anthropic-ai/sdk')).default
      const client = new Anthropic({ apiKey: 'conformance-key', baseURL: server.baseURL, logLevel: 'off' })
      return new AnthropicChatModel({ model: 'claude-haiku-4-5', client })
    },
  },
})

// The same contract over the fallback transport, the runtime's global fetch.
describe('over the fetch transport', () => {
  describeChatModelConformance({
    ...suite,
    createModel: (server) =>
      new AnthropicChatModel({
        model: 'claude-haiku-4-5',
        apiKey: 'conformance-key',
        baseURL: server.baseURL,
        transport: 'fetch',
      }),
  })
})

/** The suite's finish reasons as Anthropic's stop reasons. */
const stopReasons = { stop: 'end_turn', length: 'max_tokens', content_filter: 'refusal' } as const

function toScriptedReply(turn: ReplyTurn): ScriptedReply {
  switch (turn.type) {
    case 'text':
      return {
        text: turn.text,
        stopReason: turn.finishReason === undefined ? undefined : stopReasons[turn.finishReason],
        usage: turn.usage,
      }
    case 'tool-calls':
      return {
        text: turn.text,
        toolUses: turn.toolCalls.map((call) => ({ id: call.id, name: call.name, input: call.arguments })),
        usage: turn.usage,
      }
    case 'error':
      return { error: { status: turn.status, message: turn.message ?? `HTTP ${turn.status}`, headers: turn.headers } }
    case 'choices':
      return { error: { status: 400, message: 'Anthropic has no multiple choices' } }
  }
}

/** Reads a Messages API body into the suite's provider-neutral terms. */
function readMessagesRequest(body: unknown): WireRequest {
  const request = body as MessageCreateParams
  const system: string[] = []
  if (typeof request.system === 'string') system.push(request.system)
  else for (const block of request.system ?? []) system.push(block.text)
  const messages: WireMessage[] = []
  for (const message of request.messages) {
    const blocks =
      typeof message.content === 'string' ? [{ type: 'text', text: message.content } as const] : message.content
    let text = ''
    if (message.role === 'assistant') {
      const toolCalls = []
      for (const block of blocks) {
        if (block.type === 'text') text += block.text
        else if (block.type === 'tool_use') toolCalls.push({ id: block.id, name: block.name, arguments: block.input })
      }
      messages.push({ role: 'assistant', text, toolCalls })
      continue
    }
    for (const block of blocks) {
      if (block.type === 'text') text += block.text
      else if (block.type === 'tool_result') {
        const content =
          typeof block.content === 'string'
            ? block.content
            : (block.content ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('')
        messages.push({ role: 'tool', toolCallId: block.tool_use_id, text: content })
      }
    }
    if (message.role === 'system') system.push(text)
    else if (text !== '' || typeof message.content === 'string') messages.push({ role: 'user', text })
  }
  return {
    model: request.model,
    system,
    messages,
    maxTokens: request.max_tokens,
    stop: request.stop_sequences ?? [],
    n: undefined,
    responseSchema: request.output_config?.format?.schema,
    toolNames: (request.tools ?? []).flatMap((tool) => ('name' in tool ? [tool.name] : [])),
    stream: request.stream === true,
  }
}
