import { type Context, context as contextApi } from '@opentelemetry/api'
import { type RunWrapper, setRunWrapper } from '@tinyllm/core'

/** The spans one RunTracer has open, by run id: each with its context (the parent's, with the span in it). */
export type OpenSpanContexts = ReadonlyMap<string, { readonly context: Context }>

/**
 * The open spans of every RunTracer that has some. Core holds one run wrapper for the process, so the tracers share
 * one: installed while any of them has a span open, removed when none has.
 */
let holders: ReadonlyArray<OpenSpanContexts> = []
let removeWrapper: (() => void) | undefined

/** Makes a traced run's span the active context while the run executes, so spans started inside it nest under it. */
const activateRunSpan: RunWrapper = (run, call) => {
  for (let index = 0; index < holders.length; index++) {
    const open = holders[index]?.get(run.runId)
    if (open !== undefined) return contextApi.with(open.context, call)
  }
  return call()
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
