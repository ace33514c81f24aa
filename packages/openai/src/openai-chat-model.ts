import { abortErrorFor } from '@tinyllm/core'
import type { ChatCallOptions, ChatModel, ChatRequest, ChatResult, ChatSettings, ChatStreamPart } from '@tinyllm/llm'
import {
  checkChatModelOptions,
  type ProviderChatModelOptions,
  ProviderClient,
  prepareTransport,
  restoreStrictAnswers,
  sdkRequestOptions,
  streamProviderParts,
} from '@tinyllm/llm'
import { OpenAI } from 'openai'
import { ChatStreamAssembler } from './chat-stream-assembler.js'
import { type OpenAIClientOptions, openAIConnectionKeys } from './openai-client-options.js'
import { openAIProfile } from './openai-profile.js'
import { assertSupportedSettings, toOpenAIBody } from './openai-request.js'
import { toChatResult } from './openai-response.js'

/** Options of {@link OpenAIChatModel}: the default model, a client or how to create one, and the SDK's timeout. */
export type OpenAIChatModelOptions = ProviderChatModelOptions<OpenAIClientOptions>

/**
 * OpenAI's chat completions as a tinyllm {@link ChatModel}, over the official `openai` SDK. Every setting of a request
 * reaches the wire; failures become typed tinyllm errors; the SDK's own retries are off, so the calling Function's
 * retry policy is the only one. The SDK client is created at the first call (so a missing `OPENAI_API_KEY` is an
 * error of that call, not of the import). The API key and any credentials in the base URL are redacted from tinyllm's
 * errors and logs for as long as the model lives.
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
  readonly #sdk: ProviderClient<OpenAI>

  constructor(options: OpenAIChatModelOptions) {
    options = checkChatModelOptions(options, openAIConnectionKeys, 'OpenAIChatModel')
    prepareTransport(options)
    this.modelId = options.model
    this.#sdk = new ProviderClient(
      openAIProfile,
      options,
      (common) => new OpenAI({ ...common, organization: options.organization, project: options.project }),
    )
  }

  /**
   * Refuses settings OpenAI does not accept (`temperature` above 2, more than 4 `stop` sequences, `max_tokens` for a
   * reasoning model), naming `owner`.
   */
  checkSettings(settings: ChatSettings, owner: string): void {
    assertSupportedSettings(settings, owner, this.modelId)
  }

  /**
   * Sends one chat completion request (never retried here) and returns every choice, usage and the request id (the
   * `x-request-id` header, else the completion's `id`). Rejects with a typed tinyllm error; cancelling the call closes
   * the HTTP request. Called by the framework.
   */
  doGenerate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult> {
    // Deliberately not async and without `.withResponse()`: one call is one SDK promise and one `then`, which keeps
    // the framework's share of an in-flight call small. The SDK puts the request id on the parsed body.
    const sdk = this.#sdk
    const cancelled = sdk.cancellation(options)
    if (cancelled !== undefined) return Promise.reject(cancelled)
    let pending: Promise<unknown>
    try {
      const body = toOpenAIBody(request, this.modelId)
      pending = sdk.client.chat.completions.create({ ...body, stream: false }, sdk.requestOptions(options))
    } catch (error) {
      return Promise.reject(sdk.callError(error, options))
    }
    return pending.then(
      (completion) => restoreStrictAnswers(toChatResult(completion), request, openAIProfile),
      (error: unknown) => sdk.rejectCall(pending, error, options),
    )
  }

  /**
   * Streams one chat completion (with `stream_options.include_usage`): text and tool-call deltas, then one `finish`
   * part with the assembled result. `options.signal` closes the request (LLMCall aborts it for its idle timeout and
   * deadline); `options.onActivity` hears of every chunk, one without text included. Called by the framework.
   */
  async *doStream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatStreamPart> {
    const { signal: outer, onActivity } = this.#sdk.streamOptions(options)
    if (outer?.aborted) throw abortErrorFor(outer)
    const client = this.#sdk.client
    yield* streamProviderParts<unknown>({
      signal: outer,
      onActivity,
      // The body is built here, so that a request that cannot be read fails as one that could not be sent.
      open: async (signal) => {
        const body = toOpenAIBody(request, this.modelId)
        const passedStreamOptions = request.providerOptions?.openai?.stream_options
        const streamOptions = {
          ...(typeof passedStreamOptions === 'object' ? passedStreamOptions : {}),
          include_usage: true,
        }
        const response = await client.chat.completions
          .create({ ...body, stream: true, stream_options: streamOptions }, sdkRequestOptions(signal))
          .withResponse()
        return { events: response.data[Symbol.asyncIterator](), requestId: response.request_id ?? undefined }
      },
      toError: (error, signal, answered) => this.#sdk.toError(error, signal, answered),
      createAssembler: (requestId) => new ChatStreamAssembler(requestId),
      complete: (result) => restoreStrictAnswers(result, request, openAIProfile),
    })
  }
}
