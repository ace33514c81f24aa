import Anthropic from '@anthropic-ai/sdk'
import type { MessageCreateParamsNonStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResult, ChatStreamPart } from '@tinyllm/core'
import { AbortError, ConfigurationError, TimeoutError } from '@tinyllm/core'
import { toTinyLLMError } from './anthropic-error.js'
import { toMessageCreateParams } from './anthropic-request.js'
import { toChatResult } from './anthropic-response.js'
import { MessageStreamAssembler } from './anthropic-stream.js'

/** The model used when neither the options nor the request name one. */
export const defaultAnthropicModel = 'claude-haiku-4-5'

/** `max_tokens` sent when the request sets no `maxTokens` (Anthropic requires one). */
export const defaultAnthropicMaxTokens = 4096

/** Options of {@link AnthropicChatModel}. */
export interface AnthropicChatModelOptions {
  /** Model id for requests that name none. Default {@link defaultAnthropicModel}. */
  readonly model?: string | undefined
  /**
   * An existing SDK client, used as it is (key, base URL, headers). tinyllm still turns its retries off for every
   * call it makes (`maxRetries: 0` per request): retries belong to the calling Function.
   */
  readonly client?: Anthropic | undefined
  /** API key; default: `ANTHROPIC_API_KEY`, read when the first call is made. Ignored with `client`. */
  readonly apiKey?: string | undefined
  /** Base URL of an Anthropic-compatible server, e.g. the loopback server's `url`. Ignored with `client`. */
  readonly baseURL?: string | undefined
  /** Headers sent with every request, e.g. `{ 'anthropic-version': '2023-06-01' }`. Ignored with `client`. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** `max_tokens` for requests that set no `maxTokens`. Default {@link defaultAnthropicMaxTokens}. */
  readonly maxTokens?: number | undefined
  /** The SDK's time limit for one HTTP request, in ms. Default 600,000 (the SDK's). */
  readonly requestTimeoutMs?: number | undefined
}

/**
 * The chat-model specification over Anthropic's Messages API, through the official `@anthropic-ai/sdk`.
 * System messages go to the `system` field, tool calls and results to `tool_use`/`tool_result` blocks, a JSON-schema
 * response format to `output_config.format`. Settings the API does not accept (`n > 1`, `temperature`, `topP`,
 * `seed`, penalties, `json_object`) are a {@link ConfigurationError} before anything is sent.
 *
 * @example
 * const model = new AnthropicChatModel({ model: 'claude-haiku-4-5' }) // key from ANTHROPIC_API_KEY
 * const result = await model.doGenerate({ messages: [{ role: 'user', content: 'Hello' }] })
 */
export class AnthropicChatModel implements ChatModel {
  readonly specificationVersion = 'v1' as const
  readonly provider = 'anthropic'
  readonly modelId: string
  readonly #options: AnthropicChatModelOptions
  readonly #maxTokens: number
  readonly #timeoutMs: number
  #client: Anthropic | undefined

  constructor(options: AnthropicChatModelOptions = {}) {
    this.#options = options
    this.modelId = options.model ?? defaultAnthropicModel
    this.#maxTokens = options.maxTokens ?? defaultAnthropicMaxTokens
    this.#timeoutMs = options.requestTimeoutMs ?? options.client?.timeout ?? 600_000
    this.#client = options.client
    if (!Number.isInteger(this.#maxTokens) || this.#maxTokens < 1) {
      throw new ConfigurationError({ option: 'maxTokens', message: `must be an integer ≥ 1, got ${this.#maxTokens}` })
    }
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) {
      throw new ConfigurationError({
        option: 'requestTimeoutMs',
        message: `must be a number of ms > 0, got ${this.#timeoutMs}`,
      })
    }
  }

  async doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    const signal = options?.signal
    const body = this.#body(request)
    if (signal?.aborted) throw new AbortError({ reason: signal.reason })
    const client = this.#resolveClient()
    try {
      const { data, request_id, response } = await client.messages
        .create(body, { signal, maxRetries: 0, timeout: this.#timeoutMs })
        .withResponse()
      return toChatResult(data, request_id ?? response.headers.get('x-request-id') ?? undefined)
    } catch (error) {
      throw toTinyLLMError(error, { signal, timeoutMs: this.#timeoutMs })
    }
  }

  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const signal = options?.signal
    const idleTimeoutMs = options?.idleTimeoutMs
    const body = this.#body(request)
    if (signal?.aborted) throw new AbortError({ reason: signal.reason })
    const client = this.#resolveClient()
    // One controller per call: the caller's signal, the idle timer and an early `break` all close the request.
    const controller = new AbortController()
    const forwardAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', forwardAbort, { once: true })
    let idleTimer: ReturnType<typeof setTimeout> | undefined
    let idledOut = false
    const armIdleTimer = (): void => {
      if (idleTimeoutMs === undefined) return
      idleTimer = setTimeout(() => {
        idledOut = true
        controller.abort()
      }, idleTimeoutMs)
    }
    const disarmIdleTimer = (): void => clearTimeout(idleTimer)
    const fail = (error: unknown): never => {
      if (idledOut) throw new TimeoutError({ kind: 'idle', timeoutMs: idleTimeoutMs ?? 0, functionName: 'anthropic' })
      if (signal?.aborted) throw new AbortError({ reason: signal.reason })
      throw toTinyLLMError(error, { signal, timeoutMs: this.#timeoutMs })
    }
    let finished = false
    try {
      armIdleTimer()
      let requestId: string | undefined
      let events: AsyncIterator<RawMessageStreamEvent>
      try {
        const { data, request_id, response } = await client.messages
          .create({ ...body, stream: true }, { signal: controller.signal, maxRetries: 0, timeout: this.#timeoutMs })
          .withResponse()
        requestId = request_id ?? response.headers.get('x-request-id') ?? undefined
        events = data[Symbol.asyncIterator]()
      } catch (error) {
        return fail(error)
      } finally {
        disarmIdleTimer()
      }
      const assembler = new MessageStreamAssembler()
      for (;;) {
        let next: IteratorResult<RawMessageStreamEvent>
        armIdleTimer()
        try {
          next = await events.next()
        } catch (error) {
          return fail(error)
        } finally {
          disarmIdleTimer()
        }
        // The SDK ends a stream quietly when its request is aborted: an idle timeout or the caller's abort.
        if (idledOut || signal?.aborted) return fail(undefined)
        if (next.done) break
        for (const part of assembler.push(next.value)) yield part
      }
      const result = assembler.finish(requestId)
      finished = true
      yield { type: 'finish', result }
    } finally {
      disarmIdleTimer()
      signal?.removeEventListener('abort', forwardAbort)
      // A consumer that stopped early (or an error) leaves the request open: close it.
      if (!finished) controller.abort()
    }
  }

  #body(request: ChatRequest): MessageCreateParamsNonStreaming {
    return toMessageCreateParams(request, { model: this.modelId, maxTokens: this.#maxTokens })
  }

  #resolveClient(): Anthropic {
    if (this.#client !== undefined) return this.#client
    const apiKey = this.#options.apiKey ?? globalThis.process?.env?.ANTHROPIC_API_KEY
    if (apiKey === undefined || apiKey.trim() === '') {
      throw new ConfigurationError({
        option: 'apiKey',
        message: 'no Anthropic API key: pass { apiKey } or set the ANTHROPIC_API_KEY environment variable',
      })
    }
    const options: ConstructorParameters<typeof Anthropic>[0] = { apiKey, maxRetries: 0, timeout: this.#timeoutMs }
    if (this.#options.baseURL !== undefined) options.baseURL = this.#options.baseURL
    if (this.#options.headers !== undefined) options.defaultHeaders = { ...this.#options.headers }
    this.#client = new Anthropic(options)
    return this.#client
  }
}
