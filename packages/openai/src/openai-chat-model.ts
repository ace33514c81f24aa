import { abortErrorFor, ConfigurationError } from '@tinyllm/core'
import {
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  defaultMaxResponseBytes,
  limitResponseSize,
  readEnvironment,
  resolveApiKey,
  streamProviderParts,
} from '@tinyllm/llm'
import { registerSecret } from '@tinyllm/logger'
import { OpenAI } from 'openai'
import { ChatStreamAssembler } from './chat-stream-assembler.js'
import type { OpenAIClientOptions } from './openai-client-options.js'
import { toTinyLLMError } from './openai-error.js'
import { toOpenAIBody } from './openai-request.js'
import { toChatResult } from './openai-response.js'

/** Options of {@link OpenAIChatModel}: the default model, and a client or how to create one. */
export type OpenAIChatModelOptions = OpenAIClientOptions & {
  /** Default model id, e.g. `gpt-4o-mini`; a request's `model` overrides it. */
  readonly model: string
  /** Limit on one HTTP request, in ms, enforced by the SDK (one attempt; tinyllm retries). Default: the SDK's. */
  readonly timeoutMs?: number | undefined
}

/** The SDK's per-request options (not exported by name from the SDK's public entry points). */
type RequestOptions = NonNullable<Parameters<OpenAI['chat']['completions']['retrieve']>[1]>

const connectionOptionNames = ['apiKey', 'baseURL', 'organization', 'project', 'headers', 'maxResponseBytes'] as const

/**
 * OpenAI's chat completions as a tinyllm {@link ChatModel}, over the official `openai` SDK. Every setting of a request
 * reaches the wire; failures become typed tinyllm errors; the SDK's own retries are off, so the calling Function's
 * retry policy is the only one. The SDK client is created at the first call (so a missing `OPENAI_API_KEY` is an
 * error of that call, not of the import).
 *
 * You rarely call it directly: {@link OpenAIChat} wraps it in an LLMCall with retries, rate limits and cost.
 *
 * @example
 * const model = new OpenAIChatModel({ model: 'gpt-4o-mini', baseURL: server.url + '/v1', apiKey: 'test' })
 * const result = await model.doGenerate({ messages: [{ role: 'user', content: 'Hello' }] })
 */
export class OpenAIChatModel implements ChatModel {
  readonly specificationVersion = 'v1' as const
  readonly provider = 'openai'
  readonly modelId: string
  readonly #options: OpenAIChatModelOptions
  #client: OpenAI | undefined

  constructor(options: OpenAIChatModelOptions) {
    if (typeof options?.model !== 'string' || options.model.trim() === '') {
      throw new ConfigurationError({ option: 'model', message: 'an OpenAI model id is required, e.g. "gpt-4o-mini"' })
    }
    if (options.client !== undefined) {
      const clash = connectionOptionNames.find((name) => options[name] !== undefined)
      if (clash !== undefined) {
        throw new ConfigurationError({
          option: clash,
          message: 'cannot be combined with `client`: configure the client you pass instead',
        })
      }
    }
    const { timeoutMs, maxResponseBytes } = options
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new ConfigurationError({ option: 'timeoutMs', message: `must be a number of ms > 0, got ${timeoutMs}` })
    }
    if (maxResponseBytes !== undefined && !(Number.isInteger(maxResponseBytes) && maxResponseBytes > 0)) {
      throw new ConfigurationError({
        option: 'maxResponseBytes',
        message: `must be an integer > 0, got ${maxResponseBytes}`,
      })
    }
    this.modelId = options.model
    this.#options = options
    this.#client = options.client
    // The key of a client you pass is scrubbed from tinyllm's errors and logs like one tinyllm read itself.
    if (typeof options.client?.apiKey === 'string') registerSecret(options.client.apiKey)
  }

  /**
   * Sends one chat completion request (never retried here) and returns every choice, usage and the request id.
   * Rejects with a typed tinyllm error; `options.signal` closes the HTTP request. Called by the framework.
   */
  doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    // Deliberately not async and without `.withResponse()`: one call is one SDK promise and one `then`, which keeps
    // the framework's share of an in-flight call small. The SDK puts the request id on the parsed body; a body that is
    // not JSON at all (an HTML page from a proxy) therefore comes back without one.
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(abortErrorFor(signal))
    let pending: Promise<unknown>
    try {
      const body = toOpenAIBody(request, this.modelId)
      pending = this.#getClient().chat.completions.create({ ...body, stream: false }, this.#requestOptions(signal))
    } catch (error) {
      return Promise.reject(toTinyLLMError(error, signal))
    }
    return pending.then(
      (completion) =>
        toChatResult(completion, (completion as { _request_id?: string | null })._request_id ?? undefined),
      (error: unknown) => {
        throw toTinyLLMError(error, signal)
      },
    )
  }

  /**
   * Streams one chat completion (with `stream_options.include_usage`): text and tool-call deltas, then one `finish`
   * part with the assembled result. `options.idleTimeoutMs` counts the wait for the first byte and every wait between
   * chunks, not the time the consumer spends on a part. Called by the framework.
   */
  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const outer = options?.signal
    if (outer?.aborted) throw abortErrorFor(outer)
    const client = this.#getClient()
    const body = toOpenAIBody(request, this.modelId)
    const passedStreamOptions = request.providerOptions?.openai?.stream_options
    const streamOptions = {
      ...(typeof passedStreamOptions === 'object' ? passedStreamOptions : {}),
      include_usage: true,
    }

    yield* streamProviderParts<unknown>({
      signal: outer,
      idleTimeoutMs: options?.idleTimeoutMs,
      open: async (signal) => {
        const response = await client.chat.completions
          .create({ ...body, stream: true, stream_options: streamOptions }, this.#requestOptions(signal))
          .withResponse()
        return { events: response.data[Symbol.asyncIterator](), requestId: response.request_id ?? undefined }
      },
      toError: toTinyLLMError,
      createAssembler: (requestId) => new ChatStreamAssembler(requestId),
    })
  }

  #requestOptions(signal: AbortSignal | undefined): RequestOptions {
    const timeoutMs = this.#options.timeoutMs
    const options: RequestOptions = { maxRetries: 0 }
    if (signal !== undefined) options.signal = signal
    if (timeoutMs !== undefined) options.timeout = timeoutMs
    return options
  }

  #getClient(): OpenAI {
    if (this.#client !== undefined) return this.#client
    const options = this.#options
    const apiKey = resolveApiKey({ apiKey: options.apiKey, variable: 'OPENAI_API_KEY', provider: 'OpenAI' })
    const client = new OpenAI({
      apiKey,
      baseURL: options.baseURL,
      organization: options.organization,
      project: options.project,
      defaultHeaders: options.headers,
      maxRetries: 0,
      fetch: limitResponseSize(globalThis.fetch, options.maxResponseBytes ?? defaultMaxResponseBytes, 'openai'),
      // tinyllm reports failures as typed errors and through its own logger; OPENAI_LOG still turns SDK logs on.
      logLevel: readEnvironment('OPENAI_LOG') === undefined ? 'off' : undefined,
    })
    this.#client = client
    return client
  }
}
