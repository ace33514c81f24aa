import {
  type Attributes,
  type Context,
  context as contextApi,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import {
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  type FunctionNode,
  isPromiseLike,
  type LifecycleEvent,
  type LifecycleListener,
  onLifecycleEvent,
  type RunContext,
  type TinyLLMError,
  type UsageTotals,
} from '@tinyllm/core'
import { redactString } from '@tinyllm/logger'
import { attributeNames } from './attributes.js'
import { inputMessagesJson, outputMessagesJson } from './chat-content.js'
import {
  answersOf,
  isLLMCallLike,
  type LLMCallLike,
  llmCallStartAttributes,
  requestAttributes,
  resultAttributes,
} from './llm-call-facts.js'

const tracerName = '@tinyllm/otel'
const tracerVersion = '0.1.0'

/** Options of {@link RunTracer}. */
export interface RunTracerOptions {
  /** Where spans go. Default: the global tracer provider, looked up as each run tree starts. */
  readonly tracerProvider?: TracerProvider
  /**
   * Record LLM calls' messages and answers (`gen_ai.input.messages`, `gen_ai.output.messages`), with secrets redacted
   * as in every log line. Default false: prompts and answers often hold personal data.
   */
  readonly captureContent?: boolean
  /** Longest text recorded per message part when `captureContent` is on, in characters. Default 16,384. */
  readonly maxContentLength?: number
}

const optionKeys: ReadonlySet<string> = new Set(['tracerProvider', 'captureContent', 'maxContentLength'])

/** A Function as {@link RunTracer.instrument} needs it: every tinyllm Function is one. */
export interface InstrumentableFunction {
  readonly name: string
  run(input: never, context: RunContext): unknown
  describe(): FunctionNode
}

/** The span of a run in progress. */
interface OpenSpan {
  readonly span: Span
  /** The parent's context with this span in it: the parent of its children's spans and of what runs inside it. */
  readonly context: Context
  readonly tracer: Tracer
  /** Whether the span records (a sampled-out span still carries the trace context, but nothing else is worth doing). */
  readonly recording: boolean
  /** Whether the run is known to be an LLM call. */
  llmCall: boolean
  /** Whether the span is named after the request's model already. */
  named: boolean
}

/** What {@link RunTracer.instrument} learned about the Functions of one name; `null` when two of them disagree. */
interface FunctionFacts {
  readonly kind: string
  readonly llmCall: LLMCallLike | undefined
}

/**
 * Turns tinyllm runs into OpenTelemetry spans: one span per run (Function, combinator, LLM call), parented like the
 * run tree, each lifecycle transition a span event (a retry with its reason), the error recorded and the status set,
 * the GenAI semantic conventions on LLM calls and tinyllm's own attributes (`tinyllm.kind`, `tinyllm.decision.choice`,
 * `tinyllm.attempt`, `tinyllm.cost_usd`, `tinyllm.replayed`).
 *
 * A root run started inside an active span nests under it. With no tracer provider registered, a run tree costs one
 * lookup as it starts and one map lookup per transition: no span is built.
 *
 * @example
 * const tracing = new RunTracer()
 * const stop = tracing.start() // every run in the process; or `invoke(input, { onEvent: tracing.listener })`
 */
export class RunTracer {
  /** The lifecycle listener: give it to `invoke(input, { onEvent })` to trace one run tree. */
  readonly listener: LifecycleListener
  private readonly tracerProvider: TracerProvider | undefined
  private readonly captureContent: boolean
  private readonly maxContentLength: number
  private readonly spans = new Map<string, OpenSpan>()
  private readonly facts = new Map<string, FunctionFacts | null>()

  constructor(options: RunTracerOptions = {}) {
    checkKnownOptions(options, optionKeys, 'RunTracer')
    this.tracerProvider = options.tracerProvider
    this.captureContent = options.captureContent === true
    this.maxContentLength =
      checkNumber(options.maxContentLength, 'maxContentLength', { integer: true, min: 1 }, 'RunTracer') ?? 16_384
    this.listener = (event) => this.onEvent(event)
  }

  /** Traces every run in the process (`onLifecycleEvent`). Returns the function that stops it. */
  start(): () => void {
    return onLifecycleEvent(this.listener)
  }

  /** Spans of runs in progress. */
  get openSpans(): number {
    return this.spans.size
  }

  /**
   * Returns `fn` to use in its place, whose runs make their span the active OpenTelemetry context while `run`
   * executes — so spans started inside it, like the HTTP client span of a provider SDK under the undici instrumentation,
   * nest under the run's span — and, for an LLM call, record its provider, request settings and (with
   * `captureContent`) messages and answers. It also learns the kinds of `fn`'s graph (`describe()`), for `tinyllm.kind`.
   *
   * Interim, until core hands a run's scope to a hook: the returned Function inherits everything from `fn` and only
   * its `run` is wrapped; `fn` itself is not changed.
   *
   * @example
   * const chat = tracing.instrument(new OpenAIChat({ model: 'gpt-4o-mini' }))
   */
  instrument<Fn extends InstrumentableFunction>(fn: Fn): Fn {
    if (typeof fn?.run !== 'function' || typeof fn.describe !== 'function') {
      throw new ConfigurationError({ option: 'fn', message: 'instrument takes a tinyllm Function' })
    }
    this.learn(fn.describe(), fn)
    const run = fn.run as (input: unknown, context: RunContext) => unknown
    const llmCall = isLLMCallLike(fn) ? fn : undefined
    const runInSpan = (input: unknown, context: RunContext): unknown => this.runInSpan(fn, run, llmCall, input, context)
    return Object.create(fn, { run: { value: runInSpan, enumerable: false } }) as Fn
  }

  // ---- events ----------------------------------------------------------------------------------------------------

  private onEvent(event: LifecycleEvent): void {
    // Nothing traced at all (no tracer provider, say): only a root's first transition may start something.
    if (this.spans.size === 0 && (event.parentRunId !== undefined || event.from !== 'init')) return
    let open = this.spans.get(event.runId)
    if (open === undefined) {
      // A run is seen from its first transition; one that started before tracing did stays untraced.
      if (event.from !== 'init') return
      open = this.open(event)
      if (open === undefined) return
    }
    if (open.recording) {
      const attributes: Attributes = { [attributeNames.from]: event.from, [attributeNames.attempt]: event.attempt }
      const error = event.error
      if (event.to === 'retrying' && error !== undefined) {
        attributes[attributeNames.errorType] = error.name
        attributes[attributeNames.retryReason] = headline(error)
      }
      open.span.addEvent(event.to, attributes, event.at)
    }
    if (event.to === 'complete' || event.to === 'failed') this.close(open, event)
  }

  private open(event: LifecycleEvent): OpenSpan | undefined {
    let tracer: Tracer | undefined
    let parentContext: Context
    if (event.parentRunId === undefined) {
      tracer = this.tracer()
      if (tracer === undefined) return undefined
      parentContext = contextApi.active()
    } else {
      const parent = this.spans.get(event.parentRunId)
      if (parent === undefined) return undefined
      tracer = parent.tracer
      parentContext = parent.context
    }
    const attributes: Attributes = {
      [attributeNames.runId]: event.runId,
      [attributeNames.functionName]: event.function,
    }
    // Interim: the kind comes from the graphs given to instrument(), until core's event carries it.
    const facts = this.facts.get(event.function) ?? undefined
    if (facts !== undefined) attributes[attributeNames.kind] = facts.kind
    const llmCall = facts?.llmCall
    if (llmCall !== undefined) Object.assign(attributes, llmCallStartAttributes(llmCall))
    const span = tracer.startSpan(
      llmCall === undefined ? event.function : `chat ${String(attributes[attributeNames.requestModel])}`,
      { kind: llmCall === undefined ? SpanKind.INTERNAL : SpanKind.CLIENT, startTime: event.at, attributes },
      parentContext,
    )
    const open: OpenSpan = {
      span,
      context: trace.setSpan(parentContext, span),
      tracer,
      recording: span.isRecording(),
      llmCall: llmCall !== undefined,
      named: llmCall !== undefined,
    }
    this.spans.set(event.runId, open)
    return open
  }

  private close(open: OpenSpan, event: LifecycleEvent): void {
    this.spans.delete(event.runId)
    const span = open.span
    if (open.recording) {
      span.setAttribute(attributeNames.attempt, event.attempt)
      if (event.annotations !== undefined) this.recordAnnotations(open, event.annotations)
      if (event.usage !== undefined) recordUsage(span, event.usage, open.llmCall)
      const error = event.error
      if (event.to === 'failed' && error !== undefined) {
        span.setAttribute(attributeNames.errorType, error.name)
        if (error.state !== undefined) span.setAttribute(attributeNames.errorState, error.state)
        span.recordException(
          {
            name: error.name,
            message: redactString(error.message),
            ...(error.stack === undefined ? {} : { stack: redactString(error.stack) }),
          },
          event.at,
        )
        span.setStatus({ code: SpanStatusCode.ERROR, message: headline(error) })
      }
    }
    span.end(event.at)
  }

  private recordAnnotations(open: OpenSpan, annotations: Readonly<Record<string, unknown>>): void {
    const span = open.span
    for (const key of Object.keys(annotations)) {
      const value = annotations[key]
      if (key === 'choice' && typeof value === 'string') span.setAttribute(attributeNames.decisionChoice, value)
      else if (key === 'replayed' && typeof value === 'boolean') span.setAttribute(attributeNames.replayed, value)
      else if (key === 'requestId' && typeof value === 'string') span.setAttribute(attributeNames.requestId, value)
      else if (key === 'model' && typeof value === 'string') {
        // Interim: a run that recorded the model that answered is an LLM call, until core's event carries the kind.
        if (!open.llmCall) {
          open.llmCall = true
          span.setAttribute(attributeNames.operationName, 'chat')
        }
        span.setAttribute(attributeNames.responseModel, value)
        if (!open.named) span.updateName(`chat ${value}`)
      } else if (typeof value === 'string') {
        span.setAttribute(attributeNames.annotationPrefix + key, redactString(value))
      } else if (typeof value === 'number' || typeof value === 'boolean') {
        span.setAttribute(attributeNames.annotationPrefix + key, value)
      }
    }
  }

  // ---- what runs inside a span -------------------------------------------------------------------------------------

  private runInSpan(
    fn: InstrumentableFunction,
    run: (input: unknown, context: RunContext) => unknown,
    llmCall: LLMCallLike | undefined,
    input: unknown,
    context: RunContext,
  ): unknown {
    const open = this.spans.get(context.runId)
    if (open === undefined) return run.call(fn, input, context)
    if (llmCall === undefined || !open.recording) return contextApi.with(open.context, run, fn, input, context)
    const request = llmCall.buildRequest(input as never)
    const span = open.span
    span.setAttributes(requestAttributes(llmCall, request))
    if (this.captureContent) {
      span.setAttribute(attributeNames.inputMessages, inputMessagesJson(request.messages, this.maxContentLength))
    }
    const output = contextApi.with(open.context, run, fn, input, context)
    if (!isPromiseLike(output)) return this.recordOutput(span, output)
    return Promise.resolve(output).then((value) => this.recordOutput(span, value))
  }

  private recordOutput(span: Span, output: unknown): unknown {
    const attributes = resultAttributes(output)
    if (attributes !== undefined) span.setAttributes(attributes)
    if (this.captureContent) {
      span.setAttribute(attributeNames.outputMessages, outputMessagesJson(answersOf(output), this.maxContentLength))
    }
    return output
  }

  // ---- set-up ------------------------------------------------------------------------------------------------------

  /** The tracer for a new run tree, or `undefined` when no tracer provider is registered: then nothing is built. */
  private tracer(): Tracer | undefined {
    const provider = this.tracerProvider ?? trace.getTracerProvider()
    // The global provider is a proxy until an SDK registers; asking it for its delegate's tracer builds nothing.
    const proxy = provider as { getDelegateTracer?: (name: string, version?: string) => Tracer | undefined }
    if (typeof proxy.getDelegateTracer === 'function') return proxy.getDelegateTracer(tracerName, tracerVersion)
    return provider.getTracer(tracerName, tracerVersion)
  }

  /** Records the kinds of a graph's nodes by name, and the LLM call `fn` is, if it is one. */
  private learn(node: FunctionNode, fn: InstrumentableFunction | undefined): void {
    const llmCall = fn !== undefined && isLLMCallLike(fn) ? fn : undefined
    const known = this.facts.get(node.name)
    if (known === undefined) this.facts.set(node.name, { kind: node.kind, llmCall })
    else if (known !== null) {
      const agree =
        known.kind === node.kind && (llmCall === undefined || known.llmCall === undefined || known.llmCall === llmCall)
      // Two Functions share this name and differ: say nothing rather than something wrong.
      this.facts.set(node.name, agree ? { kind: node.kind, llmCall: llmCall ?? known.llmCall } : null)
    }
    for (const child of node.children ?? []) this.learn(child, undefined)
    for (const branch of node.branches ?? []) if (branch.node !== undefined) this.learn(branch.node, undefined)
  }
}

function recordUsage(span: Span, usage: Readonly<UsageTotals>, llmCall: boolean): void {
  if (llmCall) {
    span.setAttribute(attributeNames.usageInputTokens, usage.inputTokens)
    span.setAttribute(attributeNames.usageOutputTokens, usage.outputTokens)
  }
  span.setAttribute(attributeNames.usageCalls, usage.calls)
  span.setAttribute(attributeNames.usageTotalInputTokens, usage.inputTokens)
  span.setAttribute(attributeNames.usageTotalOutputTokens, usage.outputTokens)
  if (usage.calls > usage.unpricedCalls) span.setAttribute(attributeNames.costUsd, usage.costUsd)
  if (usage.unpricedCalls > 0) span.setAttribute(attributeNames.usageUnpricedCalls, usage.unpricedCalls)
}

/** `Name in state: first line of the message`, secrets redacted. */
function headline(error: TinyLLMError): string {
  const end = error.message.indexOf('\n')
  const message = end === -1 ? error.message : error.message.slice(0, end)
  return redactString(`${error.name}${error.state === undefined ? '' : ` in ${error.state}`}: ${message}`)
}
