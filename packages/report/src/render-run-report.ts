import {
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  optionError,
  type RunRecord,
  type UsageTotals,
  unreadableOption,
} from '@tinyllm/core'
import { drawRunGraph } from './graph-svg.js'
import { escapeHtml, formatDuration, scriptJson } from './html.js'
import { outcomeColors } from './outcome-colors.js'
import { reportScript, reportStyle } from './report-page.js'
import { type RunRow, toRow, usageOf } from './run-rows.js'
import { foldRuns } from './run-shape.js'
import { nameText } from './run-text.js'

/** Options of {@link renderRunReport}. */
export interface RunReportOptions {
  /** The page's title, redacted like every name on the page. Default: the root run's function name. */
  readonly title?: string
  /**
   * Longest output, input, annotations or error (its detail, and its headline wherever a state or a retry repeats it)
   * shown per run, in characters; the rest is cut. Default 2,000.
   */
  readonly maxValueLength?: number
  /** Most runs listed in the timeline (the graph counts them all). Default 20,000. */
  readonly maxRows?: number
}

const optionKeys: ReadonlySet<string> = new Set(['title', 'maxValueLength', 'maxRows'])
const marks: ReadonlyMap<string, string> = new Map([
  ['complete', '✔'],
  ['failed', '✖'],
  ['running', '…'],
])
/** The mark of a status that is not one of its own (a record read back from storage): `constructor` is not a key. */
const unknownMark = '?'

/**
 * Renders run records (one, or several: each root is drawn, and runs of the same Function fold together) as one
 * self-contained HTML page that opens offline: the graph with each node coloured by how its runs ended, a waterfall
 * timeline of every run (start, duration, attempts, the waits between them with the reason each attempt failed), and
 * the details of the selected run (output redacted and cut, tokens, cost, the typed error). Nothing in it loads
 * anything: style, script and data are inline. A trace too big to lay out (more than 200 graph nodes, or runs nested
 * more than 10 deep) gets a note in place of the graph; its timeline and details are complete.
 *
 * @throws ConfigurationError when `records` is not a run record or a list of them, or a run in them (a record read back
 * from storage) lacks what the page reads — its id, function name, status, children, states, annotations, times or a count
 * of attempts — or holds a run inside
 * itself, or one run at two places of one tree; the message says which run (`records[0].children[2] with no list of
 * states`). Records whose reading throws (a getter, a `Proxy`), or answers otherwise when read again, are a
 * ConfigurationError too.
 * @example
 * const record = await pipeline.trace(input)
 * await writeFile('run-report.html', renderRunReport(record))
 */
export function renderRunReport(records: RunRecord | ReadonlyArray<RunRecord>, given: RunReportOptions = {}): string {
  checkKnownOptions(given, optionKeys, 'renderRunReport')
  const options = readOptions(given)
  let roots: ReadonlyArray<RunRecord>
  let malformed: string | undefined
  // Records whose reading throws (a getter, a `Proxy`, a revoked one) are bad input like records that lack a field.
  try {
    roots = Array.isArray(records) ? records : [records as RunRecord]
    malformed = roots.length === 0 ? 'an empty list' : malformedRecord(roots, Array.isArray(records))
  } catch (error) {
    throw unreadableOption(error, 'records', 'renderRunReport')
  }
  if (malformed !== undefined) {
    throw new ConfigurationError({
      option: 'records',
      message: `renderRunReport takes a run record or a list of them (what trace() resolves with), not ${malformed}`,
    })
  }
  const maxValueLength =
    checkNumber(options.maxValueLength, 'maxValueLength', { integer: true, min: 1 }, 'renderRunReport') ?? 2_000
  const maxRows = checkNumber(options.maxRows, 'maxRows', { integer: true, min: 1 }, 'renderRunReport') ?? 20_000
  if (options.title !== undefined && typeof options.title !== 'string')
    throw optionError('title', 'a string', options.title, 'renderRunReport')
  // A record that was read whole above may throw when read again (a getter that counts its reads): bad input still.
  try {
    return renderPage(roots, options.title, maxValueLength, maxRows)
  } catch (error) {
    throw unreadableOption(error, 'records', 'renderRunReport')
  }
}

/** The page of checked records. */
function renderPage(
  roots: ReadonlyArray<RunRecord>,
  givenTitle: string | undefined,
  maxValueLength: number,
  maxRows: number,
): string {
  const title = nameText(
    givenTitle ?? (roots.length === 1 ? roots[0]!.function : `${roots[0]!.function} and ${roots.length - 1} more`),
  )

  const shape = foldRuns(roots)
  const now = Date.now()
  // A loop, not Math.min(...starts): a batch of some 200,000 records is more arguments than a call takes.
  let origin = Number.POSITIVE_INFINITY
  let end = Number.NEGATIVE_INFINITY
  for (const root of roots) {
    origin = Math.min(origin, root.startedAt)
    end = Math.max(end, root.endedAt ?? now)
  }
  const span = Math.max(end - origin, 0.001)

  // Depth first, in start order, each run with the shape node it was folded into.
  const rows: RunRow[] = []
  const total = shape.runs.length
  for (const { record, node } of shape.runs) {
    if (rows.length === maxRows) break
    rows.push(toRow(record, node.depth, node.id, { maxValueLength, origin, now }))
  }

  const usage = roots.reduce<UsageTotals | undefined>((sum, root) => addUsage(sum, usageOf(root)), undefined)
  // A root that failed or has not finished is not complete; retries are counted over every run, as the runs are,
  // not over the rows that maxRows lists.
  const completeRoots = roots.filter((root) => root.status === 'complete').length
  const retried = shape.nodes.reduce((sum, node) => sum + node.retried, 0)
  const summary = [
    `<span><b>${roots.length === 1 ? escapeHtml(nameText(roots[0]!.status)) : `${completeRoots} of ${roots.length} complete`}</b></span>`,
    `<span><b>${total.toLocaleString('en-US')}</b> runs</span>`,
    `<span><b>${formatDuration(end - origin)}</b> wall time</span>`,
    `<span><b>${retried.toLocaleString('en-US')}</b> retried</span>`,
  ]
  if (usage !== undefined) {
    summary.push(
      `<span><b>${usage.totalTokens.toLocaleString('en-US')}</b> tokens in ${usage.calls.toLocaleString('en-US')} call${usage.calls === 1 ? '' : 's'}</span>`,
    )
    summary.push(
      `<span><b>${usage.unpricedCalls === usage.calls ? 'unknown' : `${usage.unpricedCalls > 0 ? '≥ ' : ''}$${usage.costUsd.toFixed(6)}`}</b> cost</span>`,
    )
  }
  const legend = Object.values(outcomeColors)
    .map((color) => `<span style="--swatch:${color.fill};--swatch-stroke:${color.stroke}">${color.label}</span>`)
    .join('')

  const timelineRows = rows.map((row, index) => renderRow(row, index, origin, span)).join('\n')
  const omitted = total - rows.length
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@tinyllm/report">
<title>${escapeHtml(title)} · tinyllm run report</title>
<style>${reportStyle}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<div class="summary">${summary.join('')}</div>
<div class="legend">${legend}<span style="--swatch:#fff;--swatch-stroke:#64748b">dashed: retried</span></div>
</header>
<main>
<section class="graph-section"><h2>Graph</h2><div class="graph">${drawRunGraph(shape)}</div></section>
<section class="details"><div class="details-body"><p class="note">Select a run in the timeline or a node in the graph.</p></div></section>
<section class="timeline-section"><h2>Timeline</h2>
<div class="toolbar">Show <button type="button" data-filter="all" aria-pressed="true">all</button><button type="button" data-filter="failed" aria-pressed="false">failed</button><button type="button" data-filter="retried" aria-pressed="false">retried</button></div>
<div class="timeline" role="table" data-filter="all">
${timelineRows}
</div>
${omitted > 0 ? `<p class="note">${omitted.toLocaleString('en-US')} more runs are not listed (maxRows ${maxRows.toLocaleString('en-US')}); the graph counts them.</p>` : ''}
<p class="note shape-note" data-max-rows="${maxRows}" hidden></p>
</section>
</main>
<script type="application/json" id="run-data">${scriptJson(rows)}</script>
<script>${reportScript}</script>
</body>
</html>
`
}

/** The options, each read once: one whose reading throws (a getter, a `Proxy`) is a ConfigurationError. */
function readOptions(given: RunReportOptions): {
  [Key in keyof RunReportOptions]-?: RunReportOptions[Key] | undefined
} {
  try {
    const { title, maxValueLength, maxRows } = given
    return { title, maxValueLength, maxRows }
  } catch (error) {
    throw unreadableOption(error, 'options', 'renderRunReport')
  }
}

/**
 * Where the records, or a run below them, lack what the page reads of a run (a record read back from storage may hold
 * anything) or hold a run inside itself, or one run twice in one tree: `records[0].children[2] with no list of states`,
 * say; `undefined` when every run has what the page reads. Lists are read index by index, so a hole is refused where
 * it is, where `every` would skip it and walk all 2³²−1 indices of a sparse list first.
 */
function malformedRecord(roots: ReadonlyArray<unknown>, isList: boolean): string | undefined {
  // The runs on the path to the one read: a run among them again is a cycle, which the page would walk forever.
  const ancestors = new Set<unknown>()
  for (let root = 0; root < roots.length; root++) {
    // The runs of this tree met so far: a run met again on another path is walked once for every path to it, and forty
    // records that each hold the next twice make 2⁴⁰ paths. A record listed twice, or copies that share their
    // children, are separate trees, each walked once.
    const met = new Set<unknown>()
    // Children are read one at a time, as they come up: a list of 2³²−1 holes is refused at its first, not pushed whole.
    const pending: Array<
      { record: unknown; path: string } | { leaving: unknown } | { children: unknown[]; path: string; index: number }
    > = [{ record: roots[root], path: isList ? `records[${root}]` : 'records' }]
    while (pending.length > 0) {
      const next = pending.pop()!
      if ('leaving' in next) {
        ancestors.delete(next.leaving)
        continue
      }
      if ('children' in next) {
        const { children, path, index } = next
        if (index >= children.length) continue
        pending.push({ children, path, index: index + 1 })
        pending.push({ record: children[index], path: `${path}.children[${index}]` })
        continue
      }
      const { record, path } = next
      const lack = lackingField(record)
      if (lack !== undefined) return `${path} with ${lack}`
      if (ancestors.has(record)) return `${path}, a run inside itself`
      if (met.has(record)) return `${path}, a run met twice in one tree`
      ancestors.add(record)
      met.add(record)
      pending.push({ leaving: record })
      const { children, states } = record as RunRecord
      for (let index = 0; index < states.length; index++) {
        const entry = states[index] as unknown
        if (typeof entry !== 'object' || entry === null || !isFiniteNumber(entry, 'at'))
          return `${path}.states[${index}] with no time`
        if ((entry as { attempt?: unknown }).attempt !== undefined && !isFiniteNumber(entry, 'attempt'))
          return `${path}.states[${index}] with an attempt that is not a number`
        if (!isErrorLike((entry as { error?: unknown }).error))
          return `${path}.states[${index}] with an error with no message`
      }
      pending.push({ children, path, index: 0 })
    }
  }
  return undefined
}

/** What a run lacks of the fields the page reads, or `undefined`. */
function lackingField(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return 'no run record'
  const run = record as Readonly<Record<string, unknown>>
  if (typeof run.runId !== 'string') return 'no run id'
  if (typeof run.function !== 'string') return 'no function name'
  if (typeof run.status !== 'string') return 'a status that is not text'
  if (!Array.isArray(run.children)) return 'no list of children'
  if (!Array.isArray(run.states)) return 'no list of states'
  if (typeof run.annotations !== 'object' || run.annotations === null) return 'no annotations'
  if (!isFiniteNumber(run, 'startedAt')) return 'no start time'
  if (run.endedAt !== undefined && !isFiniteNumber(run, 'endedAt')) return 'an end time that is not a number'
  if (run.durationMs !== undefined && !isFiniteNumber(run, 'durationMs')) return 'a duration that is not a number'
  // Written into the row's markup as it is: an object whose text is markup would be markup.
  if (run.attempts !== undefined && !isFiniteNumber(run, 'attempts')) return 'attempts that are not a number'
  if (!isErrorLike(run.error)) return 'an error with no message'
  return undefined
}

/** Whether a field (a time, a duration, a count of attempts) is a finite number. */
function isFiniteNumber(value: object, field: string): boolean {
  const number = (value as Readonly<Record<string, unknown>>)[field]
  return typeof number === 'number' && Number.isFinite(number)
}

/** No error, or one whose message is text, as the page's headline reads it. */
function isErrorLike(error: unknown): boolean {
  return (
    error === undefined || (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string')
  )
}

function renderRow(row: RunRow, index: number, origin: number, span: number): string {
  const percent = (ms: number): string => `${Math.max(0, Math.min(100, (ms / span) * 100)).toFixed(3)}%`
  const durationMs = row.durationMs ?? Math.max(0, Date.now() - origin - row.startMs)
  const waits = row.retries
    .map(
      (retry) =>
        `<i class="wait" style="left:${((retry.startMs - row.startMs) / Math.max(durationMs, 0.001)) * 100}%;width:${((retry.endMs - retry.startMs) / Math.max(durationMs, 0.001)) * 100}%" title="${escapeHtml(`attempt ${retry.attempt} failed: ${retry.reason}`)}"></i>`,
    )
    .join('')
  const meta = [row.durationMs === undefined ? 'not finished' : formatDuration(row.durationMs)]
  if (row.attempts > 1) meta.push(`${row.attempts} attempts`)
  const tooltip = row.error === undefined ? '' : ` title="${escapeHtml(row.error.headline)}"`
  return `<div class="row" role="row" data-index="${index}" data-run-id="${escapeHtml(row.runId)}" data-shape="${row.shape}" data-status="${escapeHtml(row.status)}"${row.attempts > 1 ? ' data-retried=""' : ''} style="--depth:${row.depth}"${tooltip}><div class="label"><span class="mark">${marks.get(row.status) ?? unknownMark}</span> <span class="name">${escapeHtml(row.function)}</span> <span class="kind">${escapeHtml(row.kind)}</span></div><div class="meta">${meta.join(' · ')}</div><div class="lane"><div class="bar" style="left:${percent(row.startMs)};width:${percent(durationMs)}">${waits}</div></div></div>`
}

function addUsage(sum: UsageTotals | undefined, usage: UsageTotals | undefined): UsageTotals | undefined {
  if (usage === undefined) return sum
  if (sum === undefined) return { ...usage }
  return {
    calls: sum.calls + usage.calls,
    inputTokens: sum.inputTokens + usage.inputTokens,
    outputTokens: sum.outputTokens + usage.outputTokens,
    totalTokens: sum.totalTokens + usage.totalTokens,
    costUsd: sum.costUsd + usage.costUsd,
    unpricedCalls: sum.unpricedCalls + usage.unpricedCalls,
  }
}
