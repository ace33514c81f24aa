import { escapeControls, redactAndCut, redactQuoted, redactString } from '@tinyllm/logger'
import { isPromiseLike } from './cancellation.js'
import { ConfigurationError, describeIssues, safeStringify, type TinyLLMError, ValidationError } from './errors.js'
import { checkBoolean, checkKnownOptions, checkOneOf, optionError, unreadableOption } from './options.js'
import type { RunRecord } from './run-record.js'

/** How {@link formatRunTree} renders. */
export interface FormatRunTreeOptions {
  /** ANSI colours. Default: false. */
  readonly colors?: boolean
  /** `full` lists every state visited; `compact` (default) folds the happy path and shows retries and failures. */
  readonly states?: 'full' | 'compact'
}

const ansi = {
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
}

const marks = { complete: ['green', '✔'], failed: ['red', '✖'], running: ['yellow', '…'] } as const
const formatOptionKeys: ReadonlySet<string> = new Set(['colors', 'states'])

/**
 * Renders a finished run and its children as a readable tree: status, Function and kind, duration, the state path,
 * attempts, annotations (such as a Decision's choice; a provider's response id, and finish reasons that are all
 * `stop`, are left out as noise), tokens, cost and the error — once, where it happened: a run that failed with a
 * child's error names the child (`FunctionError from parse (below)`). Secrets are replaced wherever they are (annotations,
 * schema issues, a Function's or an error's name, an error's state), as in a log line, a line shows at most 1,000
 * characters of an annotation or an error message, and control characters (an ESC that would start a terminal escape,
 * a newline that would start a line of its own) are written as escapes. A run more than 100 levels down is indented
 * by its level's number, not by its guides. An option it does not know, or of the wrong kind, is a ConfigurationError.
 *
 * @example
 * const record = await pipeline.trace(input)
 * console.log(formatRunTree(record))
 * // ✔ Credit analysis (chain) 12.4 ms
 * // ├─ ✔ CreditClassification (decision) 10.1 ms choice=bad tokens=57 cost=$0.000031
 * // …
 */
export function formatRunTree(record: RunRecord, options: FormatRunTreeOptions = {}): string {
  let colors: boolean | undefined
  let mode: 'full' | 'compact'
  try {
    checkKnownOptions(options, formatOptionKeys, 'formatRunTree')
    colors = checkBoolean(options.colors, 'colors', 'formatRunTree')
    mode = checkOneOf(options.states, 'states', ['full', 'compact'], 'formatRunTree') ?? 'compact'
  } catch (error) {
    // Options whose reading throws (a getter, a Proxy) are bad options too.
    throw unreadableOption(error, 'options', 'formatRunTree')
  }
  const lines: string[] = []
  const paint = (code: keyof typeof ansi, text: string): string =>
    colors === true ? `${ansi[code]}${text}${ansi.reset}` : text
  const visit = (node: RunRecord, prefix: string, childPrefix: string): void => {
    checkRecord(node)
    const [colour, mark] = marks[node.status]
    const parts = [
      `${paint(colour, mark)} ${paint('bold', shown(node.function))}`,
      paint('dim', `(${shown(node.kind)})`),
    ]
    if (node.durationMs !== undefined) parts.push(formatDuration(node.durationMs))
    if (node.attempts > 1) parts.push(paint('yellow', `attempts=${node.attempts}`))
    // Annotations quote what a run was handed (a server's model name, a request id): secrets go, as in a log line.
    // Each string is read only as far as a line shows it: ten thousand runs holding one 1 MB text print in no time.
    for (const [key, value] of Object.entries(redactQuoted(node.annotations, maxShown) as Record<string, unknown>))
      if (!isRoutine(key, value)) parts.push(`${shown(redactAndCut(key, maxKeyShown))}=${formatValue(value)}`)
    if (node.usage !== undefined) {
      parts.push(`tokens=${node.usage.totalTokens}`)
      parts.push(
        node.usage.unpricedCalls > 0
          ? `cost=${node.usage.calls === node.usage.unpricedCalls ? 'unknown' : `≥$${node.usage.costUsd.toFixed(6)}`}`
          : `cost=$${node.usage.costUsd.toFixed(6)}`,
      )
    }
    lines.push(prefix + parts.join(' '))
    const detail = childPrefix + (node.children.length > 0 ? '│  ' : '   ')
    const path = statePath(node, mode)
    if (path !== undefined) lines.push(detail + paint('dim', path))
    for (const entry of node.states)
      if (entry.state === 'retrying' && entry.error !== undefined)
        lines.push(
          detail + paint('yellow', `↻ attempt ${entry.attempt} failed, retrying: ${errorHeadline(entry.error)}`),
        )
    if (node.error !== undefined) lines.push(detail + paint('red', failure(node, node.error)))
  }
  // Depth first with a stack of its own, not by recursion: a record read back from JSON may nest deeper than the call
  // stack goes. A run met twice (edited by hand: inside itself, which would print forever, or at two places, which
  // forty records that each hold the next twice would print 2⁴⁰ times) is a ConfigurationError naming it.
  const pending: Array<{ node: RunRecord; prefix: string; childPrefix: string; depth: number }> = [
    { node: record, prefix: '', childPrefix: '', depth: 0 },
  ]
  const met = new Set<RunRecord>()
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node, prefix, childPrefix, depth } = next
    if (met.has(node))
      throw new ConfigurationError({
        option: 'record',
        message: `record must be a tree of runs, got a run met twice (${depth} levels down)`,
        functionName: 'formatRunTree',
      })
    visit(node, prefix, childPrefix)
    met.add(node)
    // Past maxGuides levels the guides are folded into the level's number: a line's guides would grow with its depth,
    // and the text of a record nested thousands of levels deep with the square of it.
    const indent = depth < maxGuides ? childPrefix : `⋯${depth + 1} `
    for (let index = node.children.length - 1; index >= 0; index--) {
      const last = index === node.children.length - 1
      const child = node.children[index] as RunRecord
      pending.push({
        node: child,
        prefix: `${indent}${last ? '└─ ' : '├─ '}`,
        childPrefix: `${indent}${last ? '   ' : '│  '}`,
        depth: depth + 1,
      })
    }
  }
  return lines.join('\n')
}

/**
 * Throws a ConfigurationError naming `record` unless `node` has what a run record shows (as `trace` resolves with it,
 * or as its JSON reads back): a trace not awaited, or an output, is named so instead of failing with a TypeError.
 */
function checkRecord(node: unknown): void {
  let shaped = false
  let promise = false
  try {
    const record = node as Partial<Record<keyof RunRecord, unknown>>
    promise = isPromiseLike(node)
    shaped =
      typeof node === 'object' &&
      node !== null &&
      typeof record.function === 'string' &&
      typeof record.kind === 'string' &&
      typeof record.status === 'string' &&
      Object.hasOwn(marks, record.status) &&
      Array.isArray(record.states) &&
      Array.isArray(record.children) &&
      typeof record.annotations === 'object' &&
      record.annotations !== null &&
      // What the tree reads below the top: a record cut or edited in its JSON fails here, not with a TypeError.
      (record.durationMs === undefined || typeof record.durationMs === 'number') &&
      (record.attempts === undefined || typeof record.attempts === 'number') &&
      (record.usage === undefined || isUsageTotals(record.usage)) &&
      record.states.every(isStateEntry)
  } catch {
    // A record whose fields cannot be read (a getter, a Proxy) is none.
  }
  if (!shaped)
    throw optionError(
      'record',
      `a RunRecord (what trace resolves with)${promise ? ' — this is a promise: await trace(…)' : ''}`,
      node,
      'formatRunTree',
    )
}

function isStateEntry(entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null) return false
  const { state, attempt } = entry as { state?: unknown; attempt?: unknown }
  return typeof state === 'string' && (attempt === undefined || typeof attempt === 'number')
}

function isUsageTotals(usage: unknown): boolean {
  if (typeof usage !== 'object' || usage === null) return false
  const totals = usage as Partial<Record<'totalTokens' | 'costUsd' | 'calls' | 'unpricedCalls', unknown>>
  return (
    typeof totals.totalTokens === 'number' &&
    typeof totals.costUsd === 'number' &&
    typeof totals.calls === 'number' &&
    typeof totals.unpricedCalls === 'number'
  )
}

/** Annotations that say nothing a reader of the tree needs: a response id, and the usual finish reason. */
function isRoutine(key: string, value: unknown): boolean {
  if (key === 'responseId') return true
  return key === 'finishReasons' && Array.isArray(value) && value.every((reason) => reason === 'stop')
}

/**
 * An error on one line of at most {@link maxShown} characters. An error read back from another process's JSON may hold
 * anything in its fields (a 10 MB state, an object for a message): each is quoted as an error quotes a value.
 */
function errorHeadline(error: TinyLLMError): string {
  const state = field(error, 'state')
  const where = state !== undefined ? ` in ${quote(state, 200)}` : ''
  const name = quote(field(error, 'name'), 200)
  // A ValidationError read back from JSON that lost its issues is shown by its message.
  const issues = ValidationError.isInstance(error) ? field(error, 'issues') : undefined
  const text = Array.isArray(issues)
    ? `${name}${where}: ${describeIssues(issues, 5).join('; ')}`
    : `${name}${where}: ${firstLine(quote(field(error, 'message'), maxShown * 2))}`
  return shown(redactAndCut(text, maxShown))
}

/**
 * The line of a failed run: its error's headline, or — when the error is a failed child's, handed up — the error's name
 * and where it came from, so that a failure three levels down is told once, where it happened.
 */
function failure(node: RunRecord, error: TinyLLMError): string {
  const headline = errorHeadline(error)
  let from: string | undefined
  try {
    from = node.children.find(
      (child) => child?.status === 'failed' && child.error !== undefined && errorHeadline(child.error) === headline,
    )?.function
  } catch {
    // A child that cannot be read is refused when its turn comes; until then, the error is told here.
  }
  if (typeof from !== 'string') return headline
  return shown(`${quote(field(error, 'name'), 200)} from ${redactAndCut(from, 200)} (below)`)
}

/** A field of an error, or a note that it could not be read: a getter a run's code put on it may throw. */
function field(error: TinyLLMError, key: 'state' | 'name' | 'message' | 'issues'): unknown {
  try {
    return error[key as keyof TinyLLMError]
  } catch {
    return '[an unreadable value]'
  }
}

function quote(value: unknown, maxLength: number): string {
  return typeof value === 'string' ? redactAndCut(value, maxLength) : safeStringify(value, maxLength)
}

const happyPath = 'init>input_validation>running>output_validation>processing_output>complete'

function statePath(node: RunRecord, mode: 'full' | 'compact'): string | undefined {
  const states = node.states.map((entry) => entry.state)
  if (mode === 'compact' && states.join('>') === happyPath) return undefined
  // A state is text like any other a record holds: one edited in its JSON may hold a newline, or a secret.
  return shown(states.join(' → '))
}

function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  if (ms < 1000) return `${ms.toFixed(1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

/** The most characters of one annotation or error message a line shows: a server's 1 MB model name is not printed. */
const maxShown = 1_000
/** An annotation's key is a name: the line has room for its value after it. */
const maxKeyShown = 100
/** The most levels a line draws the tree's guides for; a run deeper down shows its level (`⋯101 └─ ✔ …`) instead. */
const maxGuides = 100

function formatValue(value: unknown): string {
  return shown(typeof value === 'string' ? redactAndCut(value, maxShown) : safeStringify(value, maxShown))
}

/**
 * Text a run was handed, fit for a terminal and a log: its secrets replaced, as its record's JSON replaces them (in a
 * Function's name, an error's name and state too), and a control character (an ESC, a newline) written as its escape.
 */
function shown(text: string): string {
  return escapeControls(redactString(text), false)
}

/** The first line of `text` that holds anything: a message may begin with a newline. */
function firstLine(text: string): string {
  return text.split('\n', 20).find((line) => line.trim() !== '') ?? ''
}
