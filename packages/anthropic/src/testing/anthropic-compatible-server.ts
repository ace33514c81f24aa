import type { MessageCreateParams } from '@anthropic-ai/sdk/resources/messages'
import type { ScriptedApiDefinition, ScriptedApiServer, ScriptedServerOptions } from '@tinyllm/testing'
import { readServerApiKey, startScriptedApiServer } from '@tinyllm/testing'
import { anthropicErrorBody, anthropicErrorType } from './anthropic-error-body.js'
import { toMessageEvents } from './message-events.js'
import { messagesRequestProblem } from './messages-request-problem.js'
import { resolveMessage } from './resolved-message.js'
import { type ReplyContext, type ReplySource, replyKeys, replyProblem, type ScriptedReply } from './scripted-reply.js'

/** Options of {@link startAnthropicCompatibleServer}; latency, faults, seed and cassette work as in the core toolkit. */
export interface AnthropicCompatibleServerOptions extends ScriptedServerOptions<ReplySource> {
  /** When set, a request whose `x-api-key` or bearer token differs is answered 401, as Anthropic would. */
  readonly apiKey?: string | undefined
}

/** A running Anthropic-compatible loopback server; its `baseURL` is its `url`, as the SDK adds `/v1/messages` itself. `messageRequests` are the bodies of the Messages requests received, in the order they were answered. */
export type AnthropicCompatibleServer = ScriptedApiServer<
  MessageCreateParams,
  ReplyContext,
  ScriptedReply,
  'messageRequests'
>

/** Anthropic's Messages API, as the loopback server speaks it. */
const messagesApi: ScriptedApiDefinition<MessageCreateParams, ReplyContext, ScriptedReply, Own, 'messageRequests'> = {
  name: 'startAnthropicCompatibleServer',
  optionKeys: Object.keys({ apiKey: true } satisfies Record<keyof Own, true>),
  readOptions,
  route: 'POST /v1/messages',
  requestsName: 'messageRequests',
  requestName: 'Messages request',
  replyKeys,
  replyProblem,
  echo,
  context: (requestIndex, messageIndex) => ({ requestIndex, messageIndex }),
  refusal: ({ request }, { apiKey }) => {
    if (apiKey !== undefined && presentedKey(request.headers) !== apiKey) {
      return { status: 401, message: 'invalid x-api-key' }
    }
    const { headers } = request
    const invalid = messagesRequestProblem(request.body, headers['anthropic-version'], headers['anthropic-beta'])
    return invalid === undefined ? undefined : { status: 400, message: invalid }
  },
  respond: (scripted, body, { requestIndex, requestId }, { chunkChars, streamEventDelayMs }) => {
    const resolved = resolveMessage(typeof scripted === 'string' ? { text: scripted } : scripted, body, requestIndex)
    const headers = { 'request-id': requestId }
    if (!body.stream) return { json: resolved.message, headers }
    return { sse: [...toMessageEvents(resolved, { chunkChars })], sseEventDelayMs: streamEventDelayMs, headers }
  },
  errorResponse: (error, { requestId }) => ({
    status: error.status,
    headers: { 'request-id': requestId, ...error.headers },
    json: {
      type: 'error',
      error: { type: error.type ?? anthropicErrorType(error.status), message: error.message },
      request_id: requestId,
    },
  }),
  formatError: anthropicErrorBody,
}

/**
 * Starts a real HTTP server on 127.0.0.1 that speaks Anthropic's Messages API (`POST /v1/messages`, a JSON message
 * or, with `stream: true`, named server-sent events from `message_start` to `message_stop`), answering from a script,
 * a function, a cassette, or by echo. Errors come in Anthropic's shape with a `request-id` header. It refuses what the
 * API refuses with a 400 `invalid_request_error`: no `anthropic-version` header; a top-level parameter the request's
 * API version does not have ("Extra inputs are not permitted", e.g. OpenAI's `max_completion_tokens`); no model or
 * messages; `max_tokens`
 * missing, negative, not an integer, or over the most output tokens of a model it knows (Claude 3.7 Sonnet's 64,000,
 * or 128,000 with the `output-128k-2025-02-19` beta feature); a message role other than `user`, `assistant` or `system`; message content that
 * is not a string or a list of blocks tagged by a block `type` the SDK has (a `text` block with its `text`, an `image`
 * block with a base64 source of a format the API reads, a URL or a file id), a message whose text is only white space,
 * `metadata`
 * other than a string `user_id`, a `thinking` of a type the SDK does not have, a `system` that is not a string or text blocks, and
 * `stop_sequences` that are not a list of strings (as the API's 400s, never a crash of the server's 500) or hold one
 * that is empty or only white space; sampling
 * parameters on API version 2026-10-21, and `temperature` or `top_p` outside 0–1 on older versions; a thinking budget
 * under 1024 or not under `max_tokens`; a custom tool whose name does not match `^[a-zA-Z0-9_-]{1,128}$` or whose
 * `input_schema` is missing, not of type `object`, or has `oneOf`/`allOf`/`anyOf` at the top level; a tool of a type
 * the API does not know, or of a beta type (`computer_20250124`…) without the `anthropic-beta` feature that turns it
 * on or without a field its SDK type requires (a computer tool's `display_width_px` and `display_height_px`); a `tool_choice` other than `none` without `tools`, or one naming
 * no tool in `tools`; an output format that is not `json_schema` with a schema; more than 4 blocks with a
 * `cache_control` (prompt-cache breakpoints, over tools, system and messages); tool
 * turns that do not pair up (`tool_use` blocks without a `tool_result` for each in the next message, a `tool_result`
 * answering no `tool_use` or a second answering the same one, two `tool_use` blocks with one id); a final assistant turn ending in white space; an output format or strict tool whose schema has an object without
 * `additionalProperties: false`, bounds on a number, a string's `minLength`/`maxLength`, or an array's `maxItems` or
 * `minItems` other than 0 or 1; a thinking block sent back changed (the signature it gives is a digest of the text); and
 * thinking (`enabled` or `adaptive`) with a `tool_choice` that forces tool use, or with a tool loop whose assistant turn
 * does not start with its thinking block. A reply's `thinking` makes the message start with thinking blocks.
 *
 * @example
 * const server = await startAnthropicCompatibleServer({ replies: ['Hello!', { toolUses: [{ name: 'f', input: {} }] }] })
 * const model = new AnthropicChatModel({ apiKey: 'test', baseURL: server.baseURL })
 * await model.doGenerate({ messages: [{ role: 'user', content: 'Hi' }] }) // 'Hello!'
 * await server.close()
 */
export async function startAnthropicCompatibleServer(
  options: AnthropicCompatibleServerOptions = {},
): Promise<AnthropicCompatibleServer> {
  return startScriptedApiServer(options, messagesApi)
}

/** The options the Anthropic-compatible server adds to the toolkit's scripted server, as its route reads them. */
type Own = Required<Omit<AnthropicCompatibleServerOptions, keyof ScriptedServerOptions<ReplySource>>>

/** An `apiKey` no request could present is refused before the server starts. */
function readOptions(options: Record<string, unknown>): Own {
  return { apiKey: readServerApiKey(options.apiKey, messagesApi.name) }
}

function presentedKey(headers: Readonly<Record<string, string>>): string | undefined {
  const bearer = headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1]
  return headers['x-api-key'] ?? bearer
}

function echo(body: MessageCreateParams): ScriptedReply {
  const lastUser = body.messages.findLast((message) => message.role === 'user')
  const content = lastUser?.content
  if (typeof content === 'string') return { text: content }
  let text = ''
  for (const block of content ?? []) if (block.type === 'text') text += block.text
  return { text }
}
