import {
  ConfigurationError,
  FunctionError,
  type InvokeOptions,
  isAbortable,
  ProviderCallError,
  RateLimitError,
  type RetryPolicy,
  type RunContext,
  type StandardSchemaV1,
  TimeoutError,
  TinyFunction,
  TinyLLMError,
  ValidationError,
  validateWith,
} from '@tinyllm/core'
import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatSettings,
  type ChatStreamPart,
  type ResponseFormat,
  resultText,
} from './chat-model.js'
import { chatSettingKeys } from './chat-settings.js'
import { type JsonSchema, toJsonSchema } from './json-schema.js'
import { DeltaChannel, type LLMStream, LLMStreamResult } from './llm-stream.js'
import { costOf, defaultPrices, type PriceTable } from './prices.js'
import type { RateLimiter, RateLimitPermit } from './rate-limiter.js'
import { estimateInputTokens } from './token-estimate.js'
import { assertKnownTools } from './tool-calls.js'

/** What an LLMCall takes: the conversation, plus any per-call settings that override its defaults. */
export type LLMCallInput = ChatRequest

/**
 * What an LLMCall returns: `text` — the first choice's text (the default, as the seed's OpenAIChat); `texts` — every
 * choice's text, for `n > 1`; `result` — the whole {@link ChatResult} (usage, finish reasons, tool calls, raw response).
 */
export type LLMCallOutputMode = 'text' | 'texts' | 'result'

/** Structured output: the model is asked for JSON matching `schema`, and its answer is parsed and validated. */
export interface StructuredOutputOptions<Schema extends StandardSchemaV1 = StandardSchemaV1> {
  /** Name of the response format, sent to the provider (letters, digits, `_` and `-`). */
  readonly name: string
  /** Validates the parsed answer; its output is the LLMCall's output. zod 4 is the documented default. */
  readonly schema: Schema
  readonly description?: string
  /**
   * JSON Schema sent to the provider. Default: from the schema's Standard JSON Schema converter
   * (`~standard.jsonSchema`, zod ≥ 4.2); give it for libraries without one.
   */
  readonly jsonSchema?: JsonSchema
  /** Asks the provider to enforce the schema strictly, when it can. */
  readonly strict?: boolean
}

/** A full result whose choices were parsed and validated as structured output: `values[i]` belongs to choice `i`. */
export type StructuredChatResult<Value> = ChatResult & { readonly values: ReadonlyArray<Value> }

/** The output type of an LLMCall, from its output mode and structured-output schema (`never` for none). */
export type LLMCallOutput<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1> = [Schema] extends [never]
  ? Mode extends 'texts'
    ? string[]
    : Mode extends 'result'
      ? ChatResult
      : string
  : Mode extends 'texts'
    ? Array<StandardSchemaV1.InferOutput<Schema>>
    : Mode extends 'result'
      ? StructuredChatResult<StandardSchemaV1.InferOutput<Schema>>
      : StandardSchemaV1.InferOutput<Schema>

/** Options of {@link LLMCall}. */
export interface LLMCallOptions<Mode extends LLMCallOutputMode = 'text', Schema extends StandardSchemaV1 = never> {
  /** Shown in errors, logs, events and run trees. */
  readonly name: string
  /** The chat model to call (a provider package's model, or ScriptedChatModel in tests). */
  readonly model: ChatModel
  /** Settings sent with every call (e.g. `{ model: 'gpt-4o', temperature: 0 }`); the input's settings override them. */
  readonly settings?: ChatSettings
  /** Retry policy; merged over {@link llmRetryDefaults}. */
  readonly retry?: RetryPolicy
  /** Limit on the whole run, retries and waits included, in ms. */
  readonly timeoutMs?: number
  /**
   * Limit on each attempt's model call, in ms, counted from when it is sent (waiting for the rate limiter does not
   * count); an attempt that runs out fails with a retryable TimeoutError of kind `attempt`.
   */
  readonly attemptTimeoutMs?: number
  /** For `stream`: fail with a (retryable) TimeoutError of kind `idle` when no chunk arrives for this long, in ms. */
  readonly idleTimeoutMs?: number
  /** Shared requests/tokens-per-minute limiter; every attempt acquires from it before it is sent. */
  readonly rateLimiter?: RateLimiter
  /** Prices for cost accounting. Default {@link defaultPrices}; an unknown model's cost is recorded as unknown. */
  readonly prices?: PriceTable
  /** What `invoke` returns. Default `text`. */
  readonly output?: Mode
  /** Ask for JSON matching a schema, then parse and validate the answer. */
  readonly structuredOutput?: StructuredOutputOptions<Schema>
  /**
   * Output tokens assumed per choice for budget checks and rate-limit reservations when `maxTokens` is not set.
   * Default 512.
   */
  readonly outputTokenEstimate?: number
  /** Counts a request's input tokens before it is sent. Default {@link estimateInputTokens} (no tokenizer). */
  readonly estimateInputTokens?: (request: ChatRequest) => number
}

/**
 * The retry rule of LLM calls: retry only what a provider marks retryable — HTTP 429 (after its `retry-after`), 5xx,
 * connection failures and timed-out attempts. Never 4xx, validation, budget, abort or configuration errors, and never an
 * error that is not a tinyllm error (a bug is not fixed by trying again).
 */
export function isRetryableLLMError(error: unknown): boolean {
  return TinyLLMError.isInstance(error) && error.retryable
}

/**
 * LLMCall's default retry policy: 3 attempts, exponential backoff from 500 ms to 8 s with jitter, `retry-after` hints
 * honoured up to 60 s, {@link isRetryableLLMError} deciding what is retried.
 */
export const llmRetryDefaults: Readonly<Required<Omit<RetryPolicy, 'retryable'>>> & {
  readonly retryable: (error: unknown, attempt: number) => boolean
} = Object.freeze({
  attempts: 3,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  multiplier: 2,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
  retryable: isRetryableLLMError,
})

/** Errors thrown after a stream had already handed out deltas: retrying would repeat text the reader has seen. */
const failedAfterOutput = new WeakSet<object>()
/** Marks an input as a streaming run's, without showing in its keys or its JSON. */
const streamChannelKey = Symbol('tinyllm.llm-call.stream')

const roles: ReadonlySet<unknown> = new Set(['system', 'user', 'assistant', 'tool'])

/** Settings sent as JSON numbers, where NaN and Infinity would silently go out as `null`. */
const numericSettingKeys = [
  'temperature',
  'topP',
  'maxTokens',
  'n',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
] as const satisfies ReadonlyArray<keyof ChatSettings>

/** What is wrong with a numeric setting, or `undefined` when it is absent or a finite number. */
function numericSettingProblem(value: unknown): string | undefined {
  if (value === undefined || (typeof value === 'number' && Number.isFinite(value))) return undefined
  const shown =
    typeof value === 'bigint' ? `${value}n` : typeof value === 'string' ? JSON.stringify(value) : String(value)
  return `expected a finite number, got ${shown}`
}

/** Checks the input's shape cheaply, so a malformed prompt fails in `input_validation` with paths. */
const inputSchema: StandardSchemaV1<LLMCallInput> = {
  '~standard': {
    version: 1,
    vendor: 'tinyllm',
    validate(value) {
      if (typeof value !== 'object' || value === null) return { issues: [{ message: 'expected { messages: [...] }' }] }
      const messages = (value as { messages?: unknown }).messages
      if (!Array.isArray(messages)) return { issues: [{ message: 'expected an array', path: ['messages'] }] }
      if (messages.length === 0) return { issues: [{ message: 'needs at least one message', path: ['messages'] }] }
      const issues: StandardSchemaV1.Issue[] = []
      for (let index = 0; index < messages.length && issues.length < 20; index++) {
        const message = messages[index] as { role?: unknown; content?: unknown } | null
        if (typeof message !== 'object' || message === null || !roles.has(message.role)) {
          issues.push({
            message: 'expected a chat message with role system, user, assistant or tool',
            path: ['messages', index],
          })
        } else if (typeof message.content !== 'string' && !(message.role === 'assistant' && message.content === null)) {
          issues.push({ message: 'expected string content', path: ['messages', index, 'content'] })
        }
      }
      for (const key of numericSettingKeys) {
        const problem = numericSettingProblem((value as Record<string, unknown>)[key])
        if (problem !== undefined) issues.push({ message: problem, path: [key] })
      }
      return issues.length === 0 ? { value: value as LLMCallInput } : { issues }
    },
  },
}

/**
 * A Function that calls a chat model through the provider-neutral {@link ChatModel} specification, with everything a
 * production call needs: retries of what is retryable only (the model itself never retries), a shared rate limiter,
 * token and cost accounting over the run tree, a budget checked before anything is sent, structured output, streaming
 * with an idle timeout, and tool calls checked against the tools offered.
 *
 * Each attempt: check the budget → acquire from the rate limiter → `model.doGenerate` (or `doStream`) → record usage
 * and cost on the run (`record.usage`, summed up the tree) → settle the limiter with the real token count → shape the
 * output. A 429 with `retry-after` also starts the limiter's shared cool-down.
 *
 * @example
 * const chat = new LLMCall({ name: 'classify', model, settings: { model: 'gpt-4o-mini', temperature: 0 } })
 * const prompt = await template.invoke({ message: application })
 * const answer = await chat.invoke(prompt) // 'good'
 *
 * @example
 * const verdict = new LLMCall({
 *   name: 'verdict',
 *   model,
 *   structuredOutput: { name: 'verdict', schema: z.object({ verdict: z.enum(['good', 'bad']) }) },
 * })
 * const { verdict: value } = await verdict.invoke(prompt)
 */
export class LLMCall<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> extends TinyFunction<LLMCallInput, LLMCallOutput<Mode, Schema>> {
  override readonly kind: string = 'llm-call'
  /** The chat model every attempt calls. */
  readonly model: ChatModel
  /** Defaults sent with every call, structured output's response format included. */
  readonly settings: ChatSettings
  /** What `invoke` returns: `text`, `texts` or `result`. */
  readonly outputMode: LLMCallOutputMode
  /** The structured-output options, when the answer is parsed as JSON and validated. */
  readonly structuredOutput: StructuredOutputOptions<Schema> | undefined
  /** The shared limiter every attempt acquires from, if any. */
  readonly rateLimiter: RateLimiter | undefined
  /** Prices used for cost accounting. */
  readonly prices: PriceTable
  /** For streams: longest silence between chunks, in ms. */
  readonly idleTimeoutMs: number | undefined
  /** The `attemptTimeoutMs` option: limit on each model call from when it is sent (enforced here, not by the base). */
  readonly callTimeoutMs: number | undefined
  /** Output tokens assumed per choice when `maxTokens` is not set. */
  readonly outputTokenEstimate: number
  private readonly countInputTokens: (request: ChatRequest) => number
  private readonly responseFormat: ResponseFormat | undefined

  constructor(options: LLMCallOptions<Mode, Schema>) {
    const retryable = options.retry?.retryable ?? isRetryableLLMError
    super({
      name: options.name,
      input: inputSchema,
      retry: {
        ...llmRetryDefaults,
        ...options.retry,
        retryable: (error, attempt) => !failedAfterOutput.has(error as object) && retryable(error, attempt),
      },
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      // attemptTimeoutMs is enforced here, around the model call, so that queueing for the limiter does not eat it.
    })
    const name = options.name
    const model = options.model
    if (typeof model?.doGenerate !== 'function' || typeof model.doStream !== 'function') {
      throw new ConfigurationError({
        option: 'model',
        message: 'expected a ChatModel (with doGenerate and doStream)',
        functionName: name,
      })
    }
    if (model.specificationVersion !== 'v1') {
      throw new ConfigurationError({
        option: 'model',
        message: `implements chat-model specification ${String(model.specificationVersion)}; this version of tinyllm supports v1`,
        functionName: name,
      })
    }
    this.model = model
    const mode = options.output ?? 'text'
    if (mode !== 'text' && mode !== 'texts' && mode !== 'result') {
      throw new ConfigurationError({
        option: 'output',
        message: `must be 'text', 'texts' or 'result', got ${String(mode)}`,
        functionName: name,
      })
    }
    this.outputMode = mode
    this.idleTimeoutMs = positive(options.idleTimeoutMs, 'idleTimeoutMs', name)
    this.callTimeoutMs = positive(options.attemptTimeoutMs, 'attemptTimeoutMs', name)
    this.outputTokenEstimate = positive(options.outputTokenEstimate, 'outputTokenEstimate', name) ?? 512
    this.countInputTokens = options.estimateInputTokens ?? estimateInputTokens
    this.rateLimiter = options.rateLimiter
    this.prices = options.prices ?? defaultPrices
    const structured = options.structuredOutput
    this.structuredOutput = structured
    if (structured !== undefined) {
      if (typeof structured.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(structured.name)) {
        throw new ConfigurationError({
          option: 'structuredOutput.name',
          message: 'must be 1–64 letters, digits, _ or -',
          functionName: name,
        })
      }
      const schema = toJsonSchema(structured.schema, {
        ...(structured.jsonSchema === undefined ? {} : { jsonSchema: structured.jsonSchema }),
        option: 'structuredOutput.jsonSchema',
        functionName: name,
      })
      this.responseFormat = {
        type: 'json_schema',
        name: structured.name,
        schema,
        ...(structured.description === undefined ? {} : { description: structured.description }),
        ...(structured.strict === undefined ? {} : { strict: structured.strict }),
      }
    } else {
      this.responseFormat = undefined
    }
    for (const key of numericSettingKeys) {
      const problem = numericSettingProblem(options.settings?.[key])
      if (problem !== undefined) {
        throw new ConfigurationError({ option: `settings.${key}`, message: problem, functionName: name })
      }
    }
    const settings = { ...options.settings }
    if (this.responseFormat !== undefined) Object.assign(settings, { responseFormat: this.responseFormat })
    this.settings = Object.freeze(settings)
  }

  /**
   * Runs the call streaming: iterate the returned object for deltas, await its `result` for the final output. Same
   * lifecycle, retries (as long as no delta was handed out yet), accounting and validation as `invoke`.
   */
  stream(input: LLMCallInput, options?: InvokeOptions): LLMStream<LLMCallOutput<Mode, Schema>> {
    const channel = new DeltaChannel()
    const marked = typeof input === 'object' && input !== null ? { ...input } : input
    if (typeof marked === 'object' && marked !== null) {
      Object.defineProperty(marked, streamChannelKey, { value: channel, enumerable: false })
    }
    const result = this.invoke(marked, options)
    result.then(
      () => channel.close(),
      (error: unknown) => channel.fail(error),
    )
    return new LLMStreamResult(channel, result)
  }

  /** The request one attempt sends: defaults, then the input's settings, then the input's messages. */
  buildRequest(input: LLMCallInput): ChatRequest {
    const request: Record<string, unknown> = { ...this.settings }
    for (const key of chatSettingKeys) {
      const value = input[key]
      if (value !== undefined) request[key] = value
    }
    if (this.responseFormat !== undefined) request.responseFormat = this.responseFormat
    request.messages = input.messages
    return request as unknown as ChatRequest
  }

  run(input: LLMCallInput, context: RunContext): Promise<LLMCallOutput<Mode, Schema>> {
    const channel = (input as { [streamChannelKey]?: DeltaChannel })[streamChannelKey]
    const request = this.buildRequest(input)
    const modelId = request.model ?? this.model.modelId
    const estimatedInput = this.countInputTokens(request)
    const estimatedOutput = (request.maxTokens ?? this.outputTokenEstimate) * Math.max(1, request.n ?? 1)
    const tokens = estimatedInput + estimatedOutput
    if (context.budget === undefined) return this.attempt(request, modelId, tokens, channel, context)
    // Held until the real usage is recorded, so concurrent calls of one run tree cannot overshoot the budget together.
    const releaseBudget = context.reserveBudget({
      tokens,
      costUsd: costOf(modelId, { inputTokens: estimatedInput, outputTokens: estimatedOutput }, this.prices),
    })
    return this.attempt(request, modelId, tokens, channel, context).finally(releaseBudget)
  }

  private attempt(
    request: ChatRequest,
    modelId: string,
    tokens: number,
    channel: DeltaChannel | undefined,
    context: RunContext,
  ): Promise<LLMCallOutput<Mode, Schema>> {
    if (this.rateLimiter === undefined && this.callTimeoutMs === undefined && channel === undefined) {
      // The common call: no limiter to wait for, no deadline to race, no stream. One promise chain and no suspended
      // async frame of its own, which keeps the framework's memory per call in flight small.
      const signal = context.signal
      const options = isAbortable(signal) ? { signal } : undefined
      return this.model.doGenerate(request, options).then((result) => this.complete(result, request, modelId, context))
    }
    return this.attemptGuarded(request, modelId, tokens, channel, context)
  }

  /** An attempt through the rate limiter, a per-call deadline or a stream. */
  private async attemptGuarded(
    request: ChatRequest,
    modelId: string,
    tokens: number,
    channel: DeltaChannel | undefined,
    context: RunContext,
  ): Promise<LLMCallOutput<Mode, Schema>> {
    const limiter = this.rateLimiter
    const permit = limiter === undefined ? undefined : await limiter.acquire({ tokens }, context.signal)
    const deadline =
      this.callTimeoutMs === undefined ? undefined : new CallDeadline(context.signal, this.callTimeoutMs, this.name)
    // A signal that can never abort is not handed on: the SDK would combine it with its own on every call for nothing.
    const signal = deadline?.signal ?? (isAbortable(context.signal) ? context.signal : undefined)
    let result: ChatResult
    try {
      if (channel !== undefined) result = await this.generateStreaming(request, signal ?? context.signal, channel)
      else {
        const pending = this.model.doGenerate(request, signal === undefined ? undefined : { signal })
        result = await (deadline === undefined ? pending : deadline.race(pending))
      }
    } catch (thrown) {
      const error = deadline === undefined ? thrown : deadline.errorFor(thrown)
      if (limiter !== undefined) this.releaseAfterFailure(limiter, permit as RateLimitPermit, error)
      throw error
    } finally {
      deadline?.dispose()
    }
    if (limiter !== undefined) limiter.settle(permit as RateLimitPermit, result.usage.totalTokens)
    return this.complete(result, request, modelId, context)
  }

  /** Records usage, cost, model and request id on the run, checks tool calls, and shapes the output. */
  private complete(
    result: ChatResult,
    request: ChatRequest,
    modelId: string,
    context: RunContext,
  ): Promise<LLMCallOutput<Mode, Schema>> {
    const usage = result.usage
    const answeredBy = typeof result.model === 'string' && result.model !== '' ? result.model : modelId
    const cost = costOf(answeredBy, usage, this.prices)
    context.addUsage(usage, cost)
    context.annotate('model', answeredBy)
    // Tokens and cost are on the record's `usage` (this call and every ancestor); only what usage lacks is annotated.
    if (result.requestId !== undefined) context.annotate('requestId', result.requestId)
    assertKnownTools(result, request.tools, { functionName: this.name, state: 'running' })
    return this.shapeOutput(result) as Promise<LLMCallOutput<Mode, Schema>>
  }

  /** A failed attempt: start the shared cool-down on a 429, and give back tokens the provider did not spend. */
  private releaseAfterFailure(limiter: RateLimiter, permit: RateLimitPermit, error: unknown): void {
    if (RateLimitError.isInstance(error)) {
      const hint = error.retryAfterMs
      if (typeof hint === 'number' && Number.isFinite(hint) && hint > 0) {
        limiter.coolDown(Math.min(hint, this.retry.maxRetryAfterMs))
      }
    }
    // A 4xx answer means the request was refused, not processed; anything else may have consumed tokens.
    if (
      ProviderCallError.isInstance(error) &&
      error.status !== undefined &&
      error.status >= 400 &&
      error.status < 500
    ) {
      limiter.settle(permit, 0)
    }
  }

  private async shapeOutput(result: ChatResult): Promise<unknown> {
    const structured = this.structuredOutput
    const mode = this.outputMode
    if (structured === undefined) {
      if (mode === 'text') return resultText(result)
      if (mode === 'texts') return result.choices.map((choice) => choice.message.content ?? '')
      return result
    }
    if (mode === 'text') return this.parseStructured(result, 0)
    const values: unknown[] = []
    for (let index = 0; index < result.choices.length; index++) values.push(await this.parseStructured(result, index))
    return mode === 'texts' ? values : { ...result, values }
  }

  private async parseStructured(result: ChatResult, index: number): Promise<unknown> {
    const choice = result.choices[index]
    const text = stripCodeFence(choice?.message.content ?? '')
    const where = result.choices.length > 1 ? ['choices', index] : []
    let value: unknown
    try {
      if (text === '') throw new SyntaxError('the answer is empty')
      value = JSON.parse(text)
    } catch (cause) {
      const truncated = choice?.finishReason === 'length' ? '; it was cut off at maxTokens, raise maxTokens' : ''
      throw new ValidationError({
        functionName: this.name,
        state: 'running',
        issues: [
          {
            path: where,
            message: `the model's answer is not valid JSON (${(cause as Error).message}${truncated})`,
          },
        ],
        cause,
      })
    }
    const schema = (this.structuredOutput as StructuredOutputOptions).schema
    try {
      return await validateWith(schema, value, this.name, 'running')
    } catch (error) {
      if (!ValidationError.isInstance(error) || where.length === 0) throw error
      throw new ValidationError({
        functionName: this.name,
        state: 'running',
        issues: error.issues.map((issue) => ({ path: [...where, ...issue.path], message: issue.message })),
      })
    }
  }

  /** One streaming attempt: forwards deltas, enforces the idle timeout, resolves with the finish part's result. */
  private async generateStreaming(
    request: ChatRequest,
    signal: AbortSignal,
    channel: DeltaChannel,
  ): Promise<ChatResult> {
    const reader = new StreamReader(signal, this.idleTimeoutMs, this.name)
    const emittedBefore = channel.emitted
    try {
      reader.open(this.model.doStream(request, { signal: reader.signal }))
      for (;;) {
        const step = await reader.next()
        if (step.done === true) {
          throw new ProviderCallError({
            provider: this.model.provider,
            message: `${this.name}: the stream ended without a finish part`,
            retryable: true,
          })
        }
        const part = step.value
        if (part.type === 'finish') {
          reader.finished = true
          return part.result
        }
        channel.push(part)
      }
    } catch (thrown) {
      const error = TinyLLMError.isInstance(thrown)
        ? thrown
        : new FunctionError({ functionName: this.name, state: 'running', cause: thrown })
      if (channel.emitted > emittedBefore) failedAfterOutput.add(error)
      throw error
    } finally {
      reader.close()
    }
  }
}

/**
 * Reads a model's stream under the run's signal and an idle timeout, with one abort listener and one timer per attempt
 * (not per chunk). A stalled `next()` is abandoned, not awaited, so a model that ignores its signal cannot hang the run.
 */
class StreamReader {
  readonly signal: AbortSignal
  finished = false
  private readonly controller = new AbortController()
  private readonly runSignal: AbortSignal
  private readonly idleTimeoutMs: number | undefined
  private readonly functionName: string
  private iterator: AsyncIterator<ChatStreamPart> | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private lastActivity = 0
  private rejectPending: ((error: unknown) => void) | undefined = undefined
  private readonly onRunAbort = (): void => this.interrupt(this.runSignal.reason)
  private readonly onTimer = (): void => {
    this.timer = undefined
    const idleTimeoutMs = this.idleTimeoutMs as number
    const idle = performance.now() - this.lastActivity
    if (idle < idleTimeoutMs) {
      this.timer = setTimeout(this.onTimer, Math.ceil(idleTimeoutMs - idle))
      return
    }
    this.interrupt(
      new TimeoutError({ timeoutMs: idleTimeoutMs, kind: 'idle', functionName: this.functionName, state: 'running' }),
    )
  }

  constructor(runSignal: AbortSignal, idleTimeoutMs: number | undefined, functionName: string) {
    this.runSignal = runSignal
    this.idleTimeoutMs = idleTimeoutMs
    this.functionName = functionName
    this.signal = this.controller.signal
    if (runSignal.aborted) this.controller.abort(runSignal.reason)
    else runSignal.addEventListener('abort', this.onRunAbort, { once: true })
    if (idleTimeoutMs !== undefined) {
      this.lastActivity = performance.now()
      this.timer = setTimeout(this.onTimer, idleTimeoutMs)
    }
  }

  open(stream: AsyncIterable<ChatStreamPart>): void {
    this.iterator = stream[Symbol.asyncIterator]()
  }

  next(): Promise<IteratorResult<ChatStreamPart>> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason)
    return new Promise((resolve, reject) => {
      this.rejectPending = reject
      ;(this.iterator as AsyncIterator<ChatStreamPart>).next().then(
        (step) => {
          if (this.rejectPending !== reject) return
          this.rejectPending = undefined
          this.lastActivity = performance.now()
          resolve(step)
        },
        (error: unknown) => {
          if (this.rejectPending !== reject) return
          this.rejectPending = undefined
          reject(error)
        },
      )
    })
  }

  /** Stops the attempt: aborts the model's request and fails the pending read with `reason`. */
  private interrupt(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason)
    const reject = this.rejectPending
    this.rejectPending = undefined
    reject?.(reason)
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.runSignal.removeEventListener('abort', this.onRunAbort)
    // Leaving early (error, abort, idle) cancels the request. In every case the model's iterator may clean up, without
    // being awaited: a stalled generator would never answer.
    if (!this.finished && !this.controller.signal.aborted) this.controller.abort()
    const iterator = this.iterator
    if (iterator?.return !== undefined) {
      try {
        iterator.return().catch(() => {})
      } catch {
        // An iterator whose return() throws has nothing left to clean up.
      }
    }
  }
}

/** The per-attempt limit on a model call: its own signal, linked to the run's, and a timer. */
class CallDeadline {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly runSignal: AbortSignal
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly onRunAbort = (): void => this.controller.abort(this.runSignal.reason)

  constructor(runSignal: AbortSignal, timeoutMs: number, functionName: string) {
    this.runSignal = runSignal
    this.signal = this.controller.signal
    if (runSignal.aborted) this.controller.abort(runSignal.reason)
    else runSignal.addEventListener('abort', this.onRunAbort, { once: true })
    this.timer = setTimeout(() => {
      this.controller.abort(new TimeoutError({ timeoutMs, kind: 'attempt', functionName, state: 'running' }))
    }, timeoutMs)
  }

  /** Settles with `work`, or rejects when the deadline passes or the run aborts, whichever comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.signal
    if (signal.aborted) {
      work.catch(() => {})
      return Promise.reject(signal.reason)
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      work.then(
        (value) => {
          signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      )
    })
  }

  /** A call that failed because the deadline passed fails with the (retryable) attempt timeout. */
  errorFor(thrown: unknown): unknown {
    return !this.runSignal.aborted && this.signal.aborted ? this.signal.reason : thrown
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.runSignal.removeEventListener('abort', this.onRunAbort)
  }
}

function stripCodeFence(text: string): string {
  const trimmed = text.trim()
  if (!trimmed.startsWith('```')) return trimmed
  const match = /^```[A-Za-z0-9_-]*\s*\n([\s\S]*?)\n?```$/.exec(trimmed)
  return match === null ? trimmed : (match[1] as string).trim()
}

function positive(value: number | undefined, option: string, functionName: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError({ option, message: `must be a finite number > 0, got ${String(value)}`, functionName })
  }
  return value
}
