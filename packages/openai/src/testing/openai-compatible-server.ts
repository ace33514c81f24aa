import { checkNumber, optionError } from '@tinyllm/core'
import type {
  LoopbackResponse,
  ScriptedApiDefinition,
  ScriptedApiServer,
  ScriptedServerOptions,
} from '@tinyllm/testing'
import { readServerApiKey, startScriptedApiServer } from '@tinyllm/testing'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import { toChatCompletion } from './chat-completion.js'
import { toChatCompletionChunks } from './chat-completion-chunks.js'
import { messageError } from './message-error.js'
import { messageText } from './message-text.js'
import { openAIErrorBody } from './openai-error-body.js'
import { parameterError } from './parameter-error.js'
import { resolveReply } from './resolved-reply.js'
import {
  type ErrorReply,
  type ReplyContext,
  type ReplySource,
  replyKeys,
  replyProblem,
  type ScriptedReply,
} from './scripted-reply.js'
import { strictSchemaError } from './strict-schema-error.js'
import { toolChoiceError } from './tool-choice-error.js'
import { toolMessageError } from './tool-message-error.js'

/** Options of {@link startOpenAICompatibleServer}; latency, faults, seed and cassette work as in the core toolkit. */
export interface OpenAICompatibleServerOptions extends ScriptedServerOptions<ReplySource> {
  /** What `GET /v1/models` lists; default `['gpt-4o-mini', 'gpt-4o']`. */
  readonly models?: readonly string[] | undefined
  /** The `created` timestamp (seconds) to report, for byte-stable output; default: now. */
  readonly created?: number | undefined
  /**
   * When set, a request whose bearer token (or Azure's `api-key` header) is missing or differs is answered 401, as
   * OpenAI would; the answer never quotes the key presented.
   */
  readonly apiKey?: string | undefined
}

/** A running OpenAI-compatible loopback server; its `baseURL` is `url` + `/v1`. `chatRequests` are the bodies of the chat completion requests received, in the order they were answered. */
export type OpenAICompatibleServer = ScriptedApiServer<
  ChatCompletionCreateParams,
  ReplyContext,
  ScriptedReply,
  'chatRequests'
>

/** OpenAI's chat completions API, as the loopback server speaks it. */
const chatCompletionsApi: ScriptedApiDefinition<
  ChatCompletionCreateParams,
  ReplyContext,
  ScriptedReply,
  Own,
  'chatRequests'
> = {
  name: 'startOpenAICompatibleServer',
  optionKeys: Object.keys({ models: true, created: true, apiKey: true } satisfies Record<keyof Own, true>),
  readOptions,
  route: 'POST /v1/chat/completions',
  requestsName: 'chatRequests',
  baseURLPath: '/v1',
  requestName: 'chat request',
  replyKeys,
  replyProblem,
  echo,
  context: (requestIndex, chatIndex) => ({ requestIndex, chatIndex }),
  refusal: ({ request }, { apiKey }) => keyError(request.headers, apiKey) ?? validate(request.body),
  respond: (scripted, body, { requestIndex }, { created, chunkChars, streamEventDelayMs }) => {
    const reply = typeof scripted === 'string' ? { content: scripted } : scripted
    const resolved = resolveReply(reply, body, { requestIndex, created: created ?? Math.floor(Date.now() / 1000) })
    if (!body.stream) return { json: toChatCompletion(resolved) }
    const includeUsage = body.stream_options?.include_usage === true
    const chunks = toChatCompletionChunks(resolved, { includeUsage, chunkChars })
    return { sse: [...chunks, '[DONE]'], sseEventDelayMs: streamEventDelayMs }
  },
  errorResponse,
  otherRoutes: ({ models, created, apiKey }) => ({
    'GET /v1/models': ({ request }) => {
      const refused = keyError(request.headers, apiKey)
      if (refused !== undefined) return errorResponse(refused)
      return {
        json: {
          object: 'list',
          data: models.map((id) => ({ id, object: 'model', created: created ?? 0, owned_by: 'tinyllm-loopback' })),
        },
      }
    },
  }),
  formatError: openAIErrorBody,
}

/**
 * Starts a real HTTP server on 127.0.0.1 that speaks OpenAI's chat completions API (`POST /v1/chat/completions`,
 * JSON or SSE with `stream: true`) and `GET /v1/models`, answering from a script, a function, a cassette, or by echo.
 * Given `apiKey`, a request without that key is answered 401, as OpenAI would.
 * It refuses what the API reference says the API refuses, with a 400 `invalid_request_error`: a top-level parameter
 * the API does not have ("Unrecognized request argument supplied", e.g. Anthropic's `top_k`), no model (or an empty
 * one), no messages, a message role it does not know, an assistant message with neither content nor tool calls, any
 * other message without content or with content that is neither a string nor a list of objects, an image in a
 * message other than a user message,
 * parameters out of their documented range (`temperature` 0–2, the penalties −2–2, `logit_bias` values −100–100,
 * `top_logprobs` 0–20 and only with `logprobs: true`, at most 4 `stop` sequences, `stream_options` only with `stream:
 * true`), `max_tokens` for a reasoning model (`o1`, `o3`, `o4-mini`, the gpt-5 family…: "Unsupported parameter"), a `temperature`
 * or `top_p` other than 1 for one (unless `reasoning_effort` is `'none'`: "Unsupported value"), `max_tokens`
 * beside `max_completion_tokens`, `max_completion_tokens` or `max_tokens` over the most output
 * tokens of a model it knows (16,384 for `gpt-4o` and `gpt-4o-mini`, 32,768 for `gpt-4.1`, 100,000 for `o3`…; another
 * model is not checked), `parallel_tool_calls` without `tools`, `function_call` without `functions`, a `response_format` type other than `text`, `json_object` and `json_schema`, a `json_object` response format whose messages never say "json", `metadata` beyond 16 pairs (keys up to 64 characters, string values up to 512), a `safety_identifier` over
 * 128 characters, `tools` or a message's `tool_calls` that are not a list of objects (or an empty list), more than 128 `tools`, a function or response-format
 * name that is not 1–64 letters, digits, `_` or `-`, a `tool_choice` string other than `none`, `auto` and `required`, a `tool_choice` object of no shape the API has (Anthropic's `{ type: 'tool', name }`), any `tool_choice` (`'none'` too) without `tools`, a
 * `tool_choice` naming a function (or a custom tool) that `tools` does not offer, tool turns that do not
 * pair up (an assistant message's `tool_calls` without a `tool` message for each id, a `tool` message answering no
 * call), and a `strict` response format or tool whose schema strict mode does not accept (an open object, a property
 * missing from `required`, a root that is not an object, `oneOf`/`allOf`/`not`…, more than 10 levels of nesting,
 * 5000 properties or 1000 enum values).
 *
 * @example
 * const server = await startOpenAICompatibleServer({ replies: ['Hello!', { toolCalls: [{ name: 'f', arguments: {} }] }] })
 * const client = new OpenAI({ apiKey: 'test', baseURL: server.baseURL, maxRetries: 0 })
 * await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
 * await server.close()
 */
export async function startOpenAICompatibleServer(
  options: OpenAICompatibleServerOptions = {},
): Promise<OpenAICompatibleServer> {
  return startScriptedApiServer(options, chatCompletionsApi)
}

/** The options the OpenAI-compatible server adds to the toolkit's scripted server, as its routes read them. */
interface Own {
  readonly models: readonly string[]
  readonly created: number | undefined
  readonly apiKey: string | undefined
}

/** `models: 'gpt-4o'`, `created: 'yesterday'` or an `apiKey` no request could present would fail every request. */
function readOptions(options: Record<string, unknown>): Own {
  const listed = options.models ?? ['gpt-4o-mini', 'gpt-4o']
  // Spread, a hole reads as `undefined`, which is no model id (`every` would skip it).
  const models: unknown = Array.isArray(listed) ? [...listed] : listed
  if (!Array.isArray(models) || !models.every((model) => typeof model === 'string')) {
    throw optionError('models', 'a list of model ids', listed, chatCompletionsApi.name)
  }
  return {
    models,
    created: checkNumber(options.created, 'created', { integer: true, min: 0 }, chatCompletionsApi.name),
    apiKey: readServerApiKey(options.apiKey, chatCompletionsApi.name),
  }
}

function echo(body: ChatCompletionCreateParams): ScriptedReply {
  const lastUser = body.messages.findLast((message) => message.role === 'user')
  return { content: messageText(lastUser?.content) }
}

function errorResponse(error: ErrorReply['error']): LoopbackResponse {
  const defaults = openAIErrorBody({ status: error.status, message: error.message, type: '' }).error
  return {
    status: error.status,
    headers: error.headers,
    json: {
      error: {
        message: error.message,
        type: error.type ?? defaults.type,
        param: error.param ?? null,
        code: error.code === undefined ? defaults.code : error.code,
      },
    },
  }
}

function validate(body: unknown): ErrorReply['error'] | undefined {
  const missing = (param: string): ErrorReply['error'] => ({
    status: 400,
    message: `Missing required parameter: '${param}'.`,
    type: 'invalid_request_error',
    param,
    code: 'missing_required_parameter',
  })
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      status: 400,
      message: 'We could not parse the JSON body of your request. The body must be a JSON object.',
      type: 'invalid_request_error',
      code: null,
    }
  }
  const candidate = body as { model?: unknown; messages?: unknown }
  // "Model ID used to generate the response": an empty string names no model.
  if (typeof candidate.model !== 'string' || candidate.model === '') return missing('model')
  if (!Array.isArray(candidate.messages)) return missing('messages')
  if (candidate.messages.length === 0) {
    return { status: 400, message: "Invalid 'messages': empty array.", param: 'messages', code: 'empty_array' }
  }
  const request = body as ChatCompletionCreateParams
  return (
    parameterError(request) ??
    toolChoiceError(request) ??
    messageError(candidate.messages) ??
    toolMessageError(request.messages) ??
    strictSchemaError(request)
  )
}

/** OpenAI's 401 when a server `apiKey` is set and the request presents no key or another one, never quoting it. */
function keyError(
  headers: Readonly<Record<string, string>>,
  apiKey: string | undefined,
): ErrorReply['error'] | undefined {
  if (apiKey === undefined) return undefined
  const presented = headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? headers['api-key']
  if (presented === apiKey) return undefined
  const message =
    presented === undefined
      ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
      : 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.'
  return {
    status: 401,
    message,
    type: 'invalid_request_error',
    param: null,
    code: presented === undefined ? null : 'invalid_api_key',
  }
}
