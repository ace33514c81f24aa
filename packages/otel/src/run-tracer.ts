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
  checkKnownOptions,
  checkNumber,
  type LifecycleEvent,
  type LifecycleListener,
  onLifecycleEvent,
  optionError,
  type TinyLLMError,
  type UsageTotals,
  unreadableOption,
} from '@tinyllm/core'
import { redact, redactAndCut } from '@tinyllm/logger'
import { holdRunWrapper, type OpenSpanContext, releaseRunWrapper } from './active-run-span.js'
import { attributeNames } from './attributes.js'
import { type ContentLimits, inputMessagesJson, outputMessagesJson } from './chat-content.js'
import { answersOf, isList, llmCallOf, messagesOf, requestAttributes } from './llm-call-facts.js'

const tracerName = '@tinyllm/otel'
const tracerVersion = '0.1.0'

/** Options of {@link RunTracer}. */
export interface RunTracerOptions {
  /** Where spans go. Default: the global tracer provider, looked up as each run tree starts. */
  readonly tracerProvider?: TracerProvider
  /**
   * Record LLM calls' messages and answers (`gen_ai.input.messages`, `gen_ai.output.messages`): their text, tool calls
   * and results, and the model's reasoning, with secrets redacted as in every log line. Default false: prompts and
   * answers often hold personal data.
   */
  readonly captureContent?: boolean
  /**
   * Longest text recorded per message part when `captureContent` is on (a tool call's id and name as well as its
   * arguments), in characters of the attribute's JSON (a quote or a newline counts two, another control character
   * six). Default 16,384.
   */
  readonly maxContentLength?: number
  /**
   * Most characters recorded in all of `gen_ai.input.messages`, and again of `gen_ai.output.messages`, when
   * `captureContent` is on: every text, role, tool call id, name and arguments, and finish reason counts, and so does
   * the JSON of each message and part around them (a tool call with no text still adds its keys), each character as
   * JSON writes it. The string at which
   * the total runs out is cut, with how many characters it had left, and what follows it is left out, so a long
   * conversation keeps its start. Default 131,072.
   */
  readonly maxContentTotalLength?: number
}

const optionKeys: ReadonlySet<string> = new Set([
  'tracerProvider',
  'captureContent',
  'maxContentLength',
  'maxContentTotalLength',
])

/**
 * The span of a run in progress: its context (the parent's with this span in it, the parent of its children's spans
 * and of what runs inside it), whether it records (a sampled-out span still carries the trace context, but nothing
 * else is worth doing) and whether the run is an LLM call.
 */
interface OpenSpan extends OpenSpanContext {
  readonly tracer: Tracer
  /** The last event heard: the same event heard again (through `start()` and `listener` both) is not added twice. */
  lastEvent: LifecycleEvent
}

/** Kinds of annotation value an attribute takes. */
type AnnotationType = 'string' | 'boolean' | 'strings'

/** Annotations with an attribute of their own, and the kind of value each must hold to be written. */
const annotationAttributes: ReadonlyMap<string, { readonly name: string; readonly type: AnnotationType }> = new Map([
  ['choice', { name: attributeNames.decisionChoice, type: 'string' }],
  ['replayed', { name: attributeNames.replayed, type: 'boolean' }],
  ['requestId', { name: attributeNames.requestId, type: 'string' }],
  ['model', { name: attributeNames.responseModel, type: 'string' }],
  ['responseId', { name: attributeNames.responseId, type: 'string' }],
  ['finishReasons', { name: attributeNames.responseFinishReasons, type: 'strings' }],
])

/**
 * Turns tinyllm runs into OpenTelemetry spans: one span per run (Function, combinator, LLM call), parented like the
 * run tree, each lifecycle transition a span event (a retry with its reason), the error recorded and the status set,
 * the GenAI semantic conventions on LLM calls and tinyllm's own attributes (`tinyllm.kind`, `tinyllm.decision.choice`,
 * `tinyllm.attempt`, `tinyllm.cost_usd`, `tinyllm.replayed`).
 *
 * A root run started inside an active span nests under it, and while a run executes its span is the active one, so
 * spans started inside it (the provider SDK's HTTP client span, say) nest under it. With no tracer provider
 * registered, `start()` hears no run tree (core builds no event for it) and `listener` builds no span.
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
  private readonly contentLimits: ContentLimits
  private readonly spans = new Map<string, OpenSpan>()
  /** How many calls of `start()` have not been stopped: new run trees are traced while there is one. */
  private starts = 0
  /** The tracer's one process-wide subscription, kept while it is started or traces a tree it heard so. */
  private unsubscribe: (() => void) | undefined

  constructor(given: RunTracerOptions = {}) {
    checkKnownOptions(given, optionKeys, 'RunTracer')
    const options = readOptions(given)
    this.tracerProvider = checkTracerProvider(options.tracerProvider)
    this.captureContent = checkCaptureContent(options.captureContent)
    this.contentLimits = {
      maxLength:
        checkNumber(options.maxContentLength, 'maxContentLength', { integer: true, min: 1 }, 'RunTracer') ?? 16_384,
      maxTotalLength:
        checkNumber(options.maxContentTotalLength, 'maxContentTotalLength', { integer: true, min: 1 }, 'RunTracer') ??
        131_072,
    }
    this.listener = (event) => this.onEvent(event)
  }

  /**
   * Traces every run tree of the process that starts while a tracer provider is registered (the one given, or the
   * global one as each tree starts); core builds no event for the others. Returns the function that stops it: no tree
   * that starts afterwards is traced, and the trees in progress are traced to their end, so that no span is left open.
   * Started more than once, the tracer still hears each event once, through one subscription, and traces new trees
   * until every `start()` was stopped.
   */
  start(): () => void {
    this.starts++
    this.unsubscribe ??= onLifecycleEvent(this.listener, {
      accepts: () => this.starts > 0 && this.tracer() !== undefined,
    })
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      this.starts--
      this.unsubscribeWhenIdle()
    }
  }

  /** Ends the subscription once the tracer is stopped and the trees it heard are traced to their end. */
  private unsubscribeWhenIdle(): void {
    if (this.starts > 0 || this.spans.size > 0 || this.unsubscribe === undefined) return
    this.unsubscribe()
    this.unsubscribe = undefined
  }

  /** Spans of runs in progress. */
  get openSpans(): number {
    return this.spans.size
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
    } else if (open.lastEvent === event) return
    else open.lastEvent = event
    // A span that throws as an event is added (a tracer of another vendor's) still ends with its run.
    try {
      if (open.recording) {
        const attributes: Attributes = { [attributeNames.from]: event.from, [attributeNames.attempt]: event.attempt }
        const error = event.error
        if (event.to === 'retrying' && error !== undefined) {
          attributes[attributeNames.errorType] = error.name
          attributes[attributeNames.retryReason] = headline(error)
        }
        open.span.addEvent(event.to, redactedAttributes(attributes), event.at)
      }
    } finally {
      if (event.to === 'complete' || event.to === 'failed') this.close(open, event)
    }
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
      [attributeNames.kind]: event.kind,
    }
    // What the conventions ask for at span creation, where a sampler can see it.
    const llmCall = llmCallOf(event.source)
    if (llmCall !== undefined) Object.assign(attributes, requestAttributes(llmCall, event.input))
    redactedAttributes(attributes)
    const span = tracer.startSpan(
      spanName(attributes, llmCall !== undefined),
      { kind: llmCall === undefined ? SpanKind.INTERNAL : SpanKind.CLIENT, startTime: event.at, attributes },
      parentContext,
    )
    const open: OpenSpan = {
      span,
      context: trace.setSpan(parentContext, span),
      tracer,
      recording: isRecording(span),
      llmCall: llmCall !== undefined,
      lastEvent: event,
    }
    // Held before anything else is asked of the span, so that a span which throws then still ends with its run.
    if (this.spans.size === 0) holdRunWrapper(this.spans)
    this.spans.set(event.runId, open)
    if (open.llmCall && open.recording && this.captureContent) {
      const messages = messagesOf(event.input)
      if (messages !== undefined) {
        span.setAttribute(attributeNames.inputMessages, inputMessagesJson(messages, this.contentLimits))
      }
    }
    return open
  }

  private close(open: OpenSpan, event: LifecycleEvent): void {
    this.spans.delete(event.runId)
    if (this.spans.size === 0) {
      releaseRunWrapper(this.spans)
      this.unsubscribeWhenIdle()
    }
    const span = open.span
    // Whatever the run's output or error holds, its span ends: a span left open is never exported.
    try {
      if (open.recording) {
        const attributes: Attributes = { [attributeNames.attempt]: event.attempt }
        if (event.usage !== undefined) {
          // The GenAI usage attributes are the provider's figures: an estimate standing in for usage it did not report
          // stays in tinyllm's own totals, annotated `usageEstimated`.
          const reported = event.annotations?.usageEstimated !== true
          usageAttributesOf(attributes, event.usage, open.llmCall && reported)
        }
        const error = event.error
        if (event.to === 'failed' && error !== undefined) {
          attributes[attributeNames.errorType] = error.name
          if (error.state !== undefined) attributes[attributeNames.errorState] = error.state
        }
        // Last: a tracer provider keeps a span's first attributes (128, by the SDK's default limits), so a run that
        // annotates hundreds of facts loses some of those, never its error, usage or cost.
        if (event.annotations !== undefined) annotationAttributesOf(attributes, event.annotations)
        span.setAttributes(redactedAttributes(attributes))
        if (open.llmCall && this.captureContent && event.to === 'complete') {
          const finishReasons = event.annotations?.finishReasons
          const answers = answersOf(event.output, isList(finishReasons) ? finishReasons : undefined)
          span.setAttribute(attributeNames.outputMessages, outputMessagesJson(answers, this.contentLimits))
        }
        if (event.to === 'failed' && error !== undefined) {
          span.recordException(exceptionOf(error), event.at)
          span.setStatus({ code: SpanStatusCode.ERROR, message: redactAndCut(headline(error), maxAttributeLength) })
        }
      }
    } finally {
      span.end(event.at)
    }
  }

  /** The tracer for a new run tree, or `undefined` when no tracer provider is registered: then nothing is built. */
  private tracer(): Tracer | undefined {
    const provider = this.tracerProvider ?? trace.getTracerProvider()
    // The global provider is a proxy until an SDK registers; asking it for its delegate's tracer builds nothing.
    const proxy = provider as { getDelegateTracer?: (name: string, version?: string) => Tracer | undefined }
    if (typeof proxy.getDelegateTracer === 'function') return proxy.getDelegateTracer(tracerName, tracerVersion)
    return provider.getTracer(tracerName, tracerVersion)
  }
}

/**
 * Whether a span records. One whose `isRecording` throws (a tracer of another vendor's) is taken to record: what is
 * written to it may still work, and its run is traced to its end, its span ended, either way.
 */
function isRecording(span: Span): boolean {
  try {
    return span.isRecording()
  } catch {
    return true
  }
}

/** The options, each read once: one whose reading throws (a getter, a `Proxy`) is a ConfigurationError. */
function readOptions(given: RunTracerOptions): {
  [Key in keyof RunTracerOptions]-?: RunTracerOptions[Key] | undefined
} {
  try {
    const { tracerProvider, captureContent, maxContentLength, maxContentTotalLength } = given
    return { tracerProvider, captureContent, maxContentLength, maxContentTotalLength }
  } catch (error) {
    throw unreadableOption(error, 'options', 'RunTracer')
  }
}

/**
 * The `tracerProvider` option, checked where it is given: one without `getTracer` would only fail as each run tree
 * starts, failing the run rather than the tracer's construction.
 */
function checkTracerProvider(provider: unknown): TracerProvider | undefined {
  if (provider === undefined) return undefined
  if (typeof (provider as { getTracer?: unknown } | null)?.getTracer === 'function') return provider as TracerProvider
  throw optionError('tracerProvider', 'a TracerProvider (with getTracer)', provider, 'RunTracer')
}

function checkCaptureContent(capture: unknown): boolean {
  if (capture === undefined || typeof capture === 'boolean') return capture === true
  throw optionError('captureContent', 'true or false', capture, 'RunTracer')
}

/**
 * Every attribute the tracer writes but the captured messages (which `chat-content` redacts as structured data before
 * cutting) passes through here: any text in it may have come from a run — a model name or request id the server sent,
 * an annotation, a setting, an error's name — and so may hold a key, so each string, alone or in an array, is redacted
 * as in every log line, then cut at 1,000 characters. Redacts in place and returns `attributes`; a span's name is taken
 * from them once redacted (see {@link spanName}).
 */
function redactedAttributes(attributes: Attributes): Attributes {
  for (const name of Object.keys(attributes)) {
    const value = attributes[name]
    if (typeof value === 'string') attributes[name] = redactAndCut(value, maxAttributeLength)
    else if (Array.isArray(value) && value.some((item) => typeof item === 'string')) {
      attributes[name] = cutList(value as ReadonlyArray<string | null | undefined>)
    }
  }
  return attributes
}

/**
 * A list attribute's strings, each redacted and cut as a string attribute is, kept while they hold
 * {@link maxListLength} characters in all (the last one kept cut to fit, with its ellipsis): ten thousand stop
 * sequences of a thousand characters would otherwise make a span of megabytes.
 */
function cutList(list: ReadonlyArray<string | null | undefined>): Array<string | null | undefined> {
  const kept: Array<string | null | undefined> = []
  let length = 0
  for (const item of list) {
    if (length >= maxListLength) break
    const safe =
      typeof item === 'string' ? redactAndCut(item, Math.min(maxAttributeLength, maxListLength - length)) : item
    kept.push(safe)
    length += safe?.length ?? 0
  }
  return kept
}

/**
 * A span's name, from its attributes once redacted: `{operation} {model}` for an LLM call, as the GenAI conventions name
 * it (`chat gpt-4o`), else the Function's name; each part cut at {@link maxSpanNamePart} characters. A name is what
 * backends group and index spans by: a model or Function name of 1,000 characters would make a name of as many, when
 * the attributes keep the whole (cut) text anyway.
 */
function spanName(attributes: Attributes, llmCall: boolean): string {
  const part = (name: string): string => redactAndCut(String(attributes[name]), maxSpanNamePart)
  return llmCall
    ? `${part(attributeNames.operationName)} ${part(attributeNames.requestModel)}`
    : part(attributeNames.functionName)
}

/** The longest part of a span's name: 200 characters, as many as a Function's name may have. */
const maxSpanNamePart = 200

/**
 * The longest text an attribute keeps, as an error's message quotes what it was given: a model
 * name or stop sequence of megabytes from a run's input would otherwise make a span no collector accepts, and with it
 * the batch of other spans it is exported in.
 */
const maxAttributeLength = 1_000

/** The most characters a list attribute's strings hold in all (see {@link maxAttributeLength}). */
const maxListLength = 10_000

/**
 * What the run recorded about itself, added to `attributes`: a Decision's choice, a replay, an LLM call's request and
 * response ids, the model that answered and the finish reasons under their own names; then any other text, number or
 * flag under `tinyllm.annotation.<key>`, after them, so that an attribute limit drops these first.
 */
function annotationAttributesOf(attributes: Attributes, annotations: Readonly<Record<string, unknown>>): void {
  const others: Attributes = {}
  for (const key of Object.keys(annotations)) {
    const value = annotations[key]
    const known = annotationAttributes.get(key)
    if (known !== undefined) {
      // A list is read as a log line reads one (its first 10,000 items): a sparse list of 2³²−1 holes takes no time.
      const read = isList(value) ? redact(value) : value
      if (isOfType(read, known.type)) attributes[known.name] = read
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      // The key is text from the run too; and under a key named like a secret (`apiKey`, or `auth` for a string), the
      // value is one, as a log line's field is (its key redacted too, so the copy's one value is read, not its key).
      const [safe] = Object.values(redact({ [key]: value })) as [string | number | boolean]
      others[attributeNames.annotationPrefix + redactAndCut(key, maxAttributeLength)] = safe
    }
  }
  Object.assign(attributes, others)
}

function isOfType(value: unknown, type: AnnotationType): value is string | boolean | string[] {
  if (type === 'strings') return isList(value) && value.every((item) => typeof item === 'string')
  return typeof value === type
}

/** tinyllm's usage totals, and with `genAi` (an LLM call's own, reported usage) the GenAI usage attributes. */
function usageAttributesOf(attributes: Attributes, usage: Readonly<UsageTotals>, genAi: boolean): void {
  if (genAi) {
    attributes[attributeNames.usageInputTokens] = usage.inputTokens
    attributes[attributeNames.usageOutputTokens] = usage.outputTokens
  }
  attributes[attributeNames.usageCalls] = usage.calls
  attributes[attributeNames.usageTotalInputTokens] = usage.inputTokens
  attributes[attributeNames.usageTotalOutputTokens] = usage.outputTokens
  if (usage.calls > usage.unpricedCalls) attributes[attributeNames.costUsd] = usage.costUsd
  if (usage.unpricedCalls > 0) attributes[attributeNames.usageUnpricedCalls] = usage.unpricedCalls
}

/**
 * The exception a failed run's span records: the error's name, message and stack as a log line writes them (see
 * {@link redact}), secrets replaced and each cut at 1,000 characters, the stack keeping its frames with the message in
 * it cut alike, so an error quoting megabytes (a response body) makes no span a collector would refuse.
 */
function exceptionOf(error: TinyLLMError): { name: string; message: string; stack?: string } {
  const { name, message, stack } = redact(error) as unknown as { name: string; message: string; stack?: unknown }
  return typeof stack === 'string' ? { name, message, stack } : { name, message }
}

/**
 * `Name in state: first line of the message`, the message redacted before its first line is taken (the first line of a
 * secret that spans lines is not recognised alone), and only its head that an attribute keeps read; redact the rest
 * before it reaches a span.
 */
function headline(error: TinyLLMError): string {
  const text = redactAndCut(error.message, maxAttributeLength)
  const end = text.indexOf('\n')
  const message = end === -1 ? text : text.slice(0, end)
  return `${error.name}${error.state === undefined ? '' : ` in ${error.state}`}: ${message}`
}
