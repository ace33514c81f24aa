import { type Context, context as contextApi, type Span } from '@opentelemetry/api'
import { type RunContext, type RunWrapper, setRunWrapper } from '@tinyllm/core'
import { attributeNames } from './attributes.js'

/** A span one RunTracer has open: its context (the parent's, with the span in it), and whether it is an LLM call's. */
export interface OpenSpanContext {
  readonly context: Context
  readonly span: Span
  /** Whether the span records: a sampled-out one is given nothing. */
  readonly recording: boolean
  readonly llmCall: boolean
}

/** The spans one RunTracer has open, by run id. */
export type OpenSpanContexts = ReadonlyMap<string, OpenSpanContext>

/**
 * The open spans of every RunTracer that has some. Core holds one run wrapper for the process, so the tracers share
 * one: installed while any of them has a span open, removed when none has.
 */
let holders: ReadonlyArray<OpenSpanContexts> = []
let removeWrapper: (() => void) | undefined

/**
 * Makes a traced run's span the active context while the run executes, so spans started inside it nest under it; and,
 * as an LLM call's attempt starts, marks its span `gen_ai.request.stream` when its caller streams it — which only the
 * run's context tells, and which decides whether the call sends a streaming request. A run traced by several tracers
 * (one per backend) has its span marked in each; one context is active at a time, the first tracer's.
 */
const activateRunSpan: RunWrapper = (run, call) => {
  let active: Context | undefined
  for (let index = 0; index < holders.length; index++) {
    const open = holders[index]?.get(run.runId)
    if (open === undefined) continue
    if (open.llmCall && open.recording) markStreamed(open.span, run)
    active ??= open.context
  }
  return active === undefined ? call() : contextApi.with(active, call)
}

/**
 * Marks a streamed call's span: a span that throws as the attribute is set (a tracer of another vendor's) still has its
 * run go on.
 */
function markStreamed(span: Span, run: RunContext): void {
  if (run.stream === undefined) return
  try {
    span.setAttribute(attributeNames.requestStream, true)
  } catch {
    // The span records what it can; the run is not failed for its tracing.
  }
}

/** Called as a tracer opens its first span: its runs' spans are made active from now on. */
export function holdRunWrapper(spans: OpenSpanContexts): void {
  if (holders.includes(spans)) return
  holders = [...holders, spans]
  if (removeWrapper === undefined) removeWrapper = setRunWrapper(activateRunSpan)
}

/** Called as a tracer closes its last span; the wrapper goes when no tracer has a span open. */
export function releaseRunWrapper(spans: OpenSpanContexts): void {
  holders = holders.filter((candidate) => candidate !== spans)
  if (holders.length === 0 && removeWrapper !== undefined) {
    removeWrapper()
    removeWrapper = undefined
  }
}
