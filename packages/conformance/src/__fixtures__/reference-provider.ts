// The smallest provider that passes the conformance suite: a chat model over `fetch` that speaks a tiny JSON protocol,
// and its loopback server built on @tinyllm/core/testing. The suite's own tests run against it, and it supports n > 1,
// so the suite's "multiple choices" branch is exercised too. Not published.

import { AbortError, ConfigurationError, TimeoutError } from '@tinyllm/core'
import {
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type FinishReason,
  ProviderCallError,
  RateLimitError,
  restoreStrictAnswers,
  toStopSequences,
  toStrictJsonSchema,
} from '@tinyllm/llm'
import type { LoopbackResponse, LoopbackServer } from '@tinyllm/testing'
import { parseSseEvents, startLoopbackServer } from '@tinyllm/testing'
import type { ChatModelConformanceAdapter } from '../chat-model-conformance.js'
import { replyTurnAt, scriptFaults } from '../loopback-script.js'
import type { ReplyTurn } from '../scripted-turn.js'
import type { WireMessage, WireRequest } from '../wire-request.js'

/** The wire format of the reference protocol. */
interface ReferenceRequest {
  readonly model: string
  readonly system: string[]
  readonly messages: WireMessage[]
  readonly max_tokens?: number
  readonly stop?: readonly string[]
  readonly n?: number
  readonly schema?: unknown
  readonly tools?: readonly string[]
  readonly stream: boolean
}

interface ReferenceChoice {
  readonly text: string | null
  readonly tool_calls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>
  readonly finish: FinishReason
}

interface ReferenceResponse {
  readonly model: string
  readonly choices: readonly ReferenceChoice[]
  readonly usage: { readonly input: number; readonly output: number }
}

export class ReferenceChatModel implements ChatModel {
  readonly specificationVersion = 'v1' as const
  readonly provider = 'reference'
  readonly modelId = 'reference-model'
  readonly #url: string
  readonly #apiKey: string

  constructor(baseURL: string, apiKey = 'reference-test-key') {
    this.#url = `${baseURL}/v1/chat`
    this.#apiKey = apiKey
  }

  async doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    const response = await this.#post(request, false, options?.signal)
    const requestId = response.headers.get('x-request-id') ?? undefined
    try {
      return restore(toResult((await response.json()) as ReferenceResponse, requestId), request)
    } catch (error) {
      throw fail(error, options?.signal)
    }
  }

  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const controller = new AbortController()
    const forward = (): void => controller.abort()
    options?.signal?.addEventListener('abort', forward, { once: true })
    try {
      if (options?.signal?.aborted) throw new AbortError({ reason: options.signal.reason })
      const response = await this.#post(request, true, controller.signal, options?.signal)
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let text = ''
      for (;;) {
        const next = await reader.read()
        if (next.done) break
        text += next.value
        const end = text.lastIndexOf('\n\n')
        if (end === -1) continue
        for (const event of parseSseEvents(text.slice(0, end + 2))) {
          const data = JSON.parse(event.data) as ChatStreamPart | ReferenceResponse
          if ('choices' in data) {
            const result = toResult(data, response.headers.get('x-request-id') ?? undefined)
            yield { type: 'finish', result: restore(result, request) }
            return
          }
          yield data
        }
        text = text.slice(end + 2)
      }
      throw new ProviderCallError({ provider: 'reference', message: 'stream ended early', retryable: true })
    } catch (error) {
      throw fail(error, options?.signal)
    } finally {
      options?.signal?.removeEventListener('abort', forward)
      controller.abort()
    }
  }

  async #post(
    request: ChatRequest,
    stream: boolean,
    signal: AbortSignal | undefined,
    callerSignal: AbortSignal | undefined = signal,
  ): Promise<Response> {
    if (request.temperature !== undefined) {
      throw new ConfigurationError({ option: 'temperature', message: 'unsupported by the reference protocol' })
    }
    if (callerSignal?.aborted) throw new AbortError({ reason: callerSignal.reason })
    const stop = toStopSequences(request.stop)
    const body: ReferenceRequest = {
      model: request.model ?? this.modelId,
      system: request.messages.flatMap((message) => (message.role === 'system' ? [message.content] : [])),
      messages: request.messages.flatMap((message): WireMessage[] => {
        if (message.role === 'system') return []
        if (message.role === 'user') return [{ role: 'user', text: message.content }]
        if (message.role === 'tool') return [{ role: 'tool', toolCallId: message.toolCallId, text: message.content }]
        const toolCalls = (message.toolCalls ?? []).map((call) => ({ ...call, arguments: JSON.parse(call.arguments) }))
        return [{ role: 'assistant', text: message.content ?? '', toolCalls }]
      }),
      ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
      ...(stop === undefined ? {} : { stop }),
      ...(request.n === undefined ? {} : { n: request.n }),
      ...(request.responseFormat?.type === 'json_schema' ? { schema: wireSchema(request.responseFormat) } : {}),
      ...(request.tools === undefined ? {} : { tools: request.tools.map((tool) => tool.name) }),
      stream,
    }
    let response: Response
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#apiKey}` },
        body: JSON.stringify(body),
        signal: signal ?? null,
      })
    } catch (error) {
      throw fail(error, callerSignal)
    }
    if (response.ok) return response
    const status = response.status
    const requestId = response.headers.get('x-request-id') ?? undefined
    const retryAfter = response.headers.get('retry-after')
    const options = {
      provider: this.provider,
      status,
      requestId,
      message: `reference: HTTP ${status}: ${await response.text()}`,
      retryable: status === 429 || status >= 500,
      ...(retryAfter === null ? {} : { retryAfterMs: Number(retryAfter) * 1000 }),
    }
    throw status === 429 ? new RateLimitError(options) : new ProviderCallError({ ...options, cause: response })
  }
}

/** A strict format's schema goes strict-mode valid, as every provider's does. */
function wireSchema(format: {
  readonly schema: Readonly<Record<string, unknown>>
  readonly strict?: boolean
}): unknown {
  return format.strict === true ? toStrictJsonSchema(format.schema).schema : format.schema
}

function restore(result: ChatResult, request: ChatRequest): ChatResult {
  return restoreStrictAnswers(result, request, { strictResponseFormat: 'when-asked' })
}

function toResult(response: ReferenceResponse, requestId: string | undefined): ChatResult {
  return {
    choices: response.choices.map((choice, index) => ({
      index,
      finishReason: choice.finish,
      message: {
        role: 'assistant',
        content: choice.text,
        ...(choice.tool_calls.length > 0 ? { toolCalls: choice.tool_calls } : {}),
      },
    })),
    usage: {
      inputTokens: response.usage.input,
      outputTokens: response.usage.output,
      totalTokens: response.usage.input + response.usage.output,
    },
    model: response.model,
    ...(requestId === undefined ? {} : { requestId }),
    raw: response,
  }
}

function fail(error: unknown, signal: AbortSignal | undefined): Error {
  if (ProviderCallError.isInstance(error) || TimeoutError.isInstance(error)) return error
  if (signal?.aborted) return new AbortError({ reason: signal.reason })
  return new ProviderCallError({ provider: 'reference', message: String(error), retryable: true, cause: error })
}

/** Renders a reply turn of the script in the reference protocol. */
function answer(turn: ReplyTurn, request: ReferenceRequest): LoopbackResponse {
  if (turn.type === 'error') {
    return { status: turn.status, headers: turn.headers, json: { error: turn.message ?? `HTTP ${turn.status}` } }
  }
  const choices: ReferenceChoice[] =
    turn.type === 'choices'
      ? turn.texts.map((text, index) => ({ text, tool_calls: [], finish: turn.finishReasons?.[index] ?? 'stop' }))
      : turn.type === 'tool-calls'
        ? [
            {
              text: turn.text ?? null,
              tool_calls: turn.toolCalls.map((call) => ({ ...call, arguments: JSON.stringify(call.arguments) })),
              finish: 'tool_calls',
            },
          ]
        : [{ text: turn.text, tool_calls: [], finish: turn.finishReason ?? 'stop' }]
  const usage = turn.usage
  const response: ReferenceResponse = {
    model: request.model,
    choices,
    usage: { input: usage?.inputTokens ?? 10, output: usage?.outputTokens ?? 5 },
  }
  if (!request.stream) return { json: response }
  const events: object[] = []
  for (const [choiceIndex, choice] of choices.entries()) {
    for (const word of choice.text?.match(/\s*\S+/g) ?? []) events.push({ type: 'text-delta', choiceIndex, text: word })
    for (const [toolCallIndex, call] of choice.tool_calls.entries()) {
      events.push({
        type: 'tool-call-delta',
        choiceIndex,
        toolCallIndex,
        id: call.id,
        name: call.name,
        argumentsDelta: '',
      })
      events.push({ type: 'tool-call-delta', choiceIndex, toolCallIndex, argumentsDelta: call.arguments })
    }
  }
  return { sse: [...events, response] }
}

/** A tool call of the conversation that the messages after it do not answer (the reference API refuses those). */
function unpairedToolCall(messages: readonly WireMessage[]): string | undefined {
  const answered = new Set(messages.flatMap((message) => (message.role === 'tool' ? [message.toolCallId] : [])))
  for (const message of messages) {
    if (message.role !== 'assistant') continue
    const open = message.toolCalls.find((call) => !answered.has(call.id))
    if (open !== undefined) return open.id
  }
  return undefined
}

/** The adapter a provider package writes; here for the reference protocol. */
export const referenceAdapter: ChatModelConformanceAdapter<LoopbackServer> = {
  name: 'reference',
  chatPath: '/v1/chat',
  multipleChoices: true,
  startServer: (script) =>
    startLoopbackServer({
      routes: {
        'POST /v1/chat': ({ request, requestIndex }) => {
          const body = request.body as ReferenceRequest
          const unpaired = unpairedToolCall(body.messages)
          if (unpaired !== undefined) return { status: 400, json: { error: `tool call ${unpaired} has no result` } }
          return answer(replyTurnAt(script, requestIndex), body)
        },
      },
      faults: scriptFaults(script),
    }),
  createModel: (server) => new ReferenceChatModel(server.url),
  readRequest(body): WireRequest {
    const request = body as ReferenceRequest
    return {
      model: request.model,
      system: request.system,
      messages: request.messages,
      maxTokens: request.max_tokens,
      stop: request.stop ?? [],
      n: request.n,
      responseSchema: request.schema,
      toolNames: request.tools ?? [],
      stream: request.stream,
    }
  },
}
